//! SQLite side of the accountability tables (migration 3).

use candor_accountability::audit::{AuditDraft, AuditEntry};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, paginate};
use crate::accountability::{
    AUDIT_COLUMNS, AuditRow, DeletedExposures, EXPOSURE_LIST_COLUMNS, Exposure, ExposureListRow,
    chain_next, delete_exposures_before_sql, details_to_json, entries_from_rows, expand_lists,
    exposure_lists, exposures_after, list_page_bounds,
};
use crate::{Page, PageRequest, StoreError, StoreResult};

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        pos: r.get(0)?,
        seq: r.get(1)?,
        at: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        purpose: r.get(6)?,
        details: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

fn exposure_list_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExposureListRow> {
    Ok(ExposureListRow {
        id: r.get(0)?,
        subject_key: r.get(1)?,
        slot: r.get(2)?,
        at: r.get(3)?,
        personalized: r.get(4)?,
        items: r.get(5)?,
    })
}

fn expanded(rows: Vec<ExposureListRow>) -> rusqlite::Result<Vec<(i64, Exposure)>> {
    expand_lists(rows).ok_or_else(|| super::bad_row("exposure list", "unreadable"))
}

impl SqliteStore {
    pub(super) fn audit_append_impl(&self, draft: AuditDraft) -> StoreResult<AuditEntry> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        append(&mut conn, draft)
    }

    pub(super) fn audit_entries_impl(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE pos > ?1 ORDER BY pos LIMIT ?2"
            ))?
            .query_map(params![page.after.unwrap_or(0), limit + 1], audit_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(paginate(entries_from_rows(rows)?, limit))
    }

    pub(super) fn audit_head_impl(&self) -> StoreResult<Option<AuditEntry>> {
        let row = self.read(|c| {
            c.query_row(
                &format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY pos DESC LIMIT 1"),
                [],
                audit_row,
            )
            .optional()
        })?;
        Ok(entries_from_rows(row.into_iter().collect())?
            .pop()
            .map(|(_, e)| e))
    }

    pub(super) fn audit_last_impl(&self, action: &str) -> StoreResult<Option<AuditEntry>> {
        let row = self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE action = ?1 ORDER BY pos DESC LIMIT 1"
                ),
                [action],
                audit_row,
            )
            .optional()
        })?;
        Ok(entries_from_rows(row.into_iter().collect())?
            .pop()
            .map(|(_, e)| e))
    }

    pub(super) fn put_audit_attributes_impl(
        &self,
        key: &SubjectKey,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO audit_attributes (subject_key, sealed, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                params![key.as_bytes().as_slice(), sealed, now.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn audit_attributes_impl(&self, key: &SubjectKey) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_row(
                "SELECT sealed FROM audit_attributes WHERE subject_key = ?1",
                [key.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()
        })
    }

    pub(super) fn audit_attributes_after_impl(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectKey, Vec<u8>)>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let rows: Vec<(Vec<u8>, Vec<u8>)> = self.read(|c| {
            c.prepare_cached(
                "SELECT subject_key, sealed FROM audit_attributes WHERE subject_key > ?1 ORDER BY subject_key LIMIT ?2",
            )?
            .query_map(params![after, i64::from(limit.clamp(1, crate::PAGE_LEN_MAX))], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| Some((SubjectKey::from_bytes(k.as_slice().try_into().ok()?), v)))
            .collect())
    }

    pub(super) fn delete_audit_attributes_impl(&self, key: &SubjectKey) -> StoreResult<bool> {
        self.write(|c| {
            c.execute(
                "DELETE FROM audit_attributes WHERE subject_key = ?1",
                [key.as_bytes().as_slice()],
            )
            .map(|n| n > 0)
        })
    }

    pub(super) fn record_exposures_impl(&self, exposures: &[Exposure]) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO exposure_lists (subject_key, slot, at, personalized, items, n_items)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for list in exposure_lists(exposures) {
                    let e = list.first;
                    stmt.execute(params![
                        e.subject.as_bytes().as_slice(),
                        e.slot,
                        e.at.as_millis(),
                        e.personalized,
                        list.items,
                        list.n_items
                    ])?;
                }
            }
            tx.commit()
        })
    }

    pub(super) fn exposures_for_slot_impl(
        &self,
        slot: &str,
        since: Timestamp,
        page: PageRequest,
    ) -> StoreResult<Page<Exposure>> {
        let limit = page.limit_clamped();
        let (from_list, lists) = list_page_bounds(page.after, limit);
        let rows = self.read(|c| {
            let rows = c
                .prepare_cached(&format!(
                    "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists
                     WHERE slot = ?1 AND at >= ?2 AND id >= ?3 ORDER BY id LIMIT ?4"
                ))?
                .query_map(
                    params![slot, since.as_millis(), from_list, lists],
                    exposure_list_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            expanded(rows)
        })?;
        Ok(paginate(exposures_after(rows, page.after), limit))
    }

    pub(super) fn exposures_for_subject_impl(
        &self,
        key: &SubjectKey,
    ) -> StoreResult<Vec<Exposure>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(&format!(
                    "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists WHERE subject_key = ?1 ORDER BY id"
                ))?
                .query_map([key.as_bytes().as_slice()], exposure_list_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(expanded(rows)?.into_iter().map(|(_, e)| e).collect())
        })
    }

    pub(super) fn delete_exposures_before_impl(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedExposures> {
        self.write(|c| {
            let mut deleted = DeletedExposures::default();
            let sql = delete_exposures_before_sql("?1", "?2");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![before.as_millis(), i64::from(limit)])?;
            while let Some(r) = rows.next()? {
                deleted.lists += 1;
                deleted.exposures += r.get::<_, i64>(0)? as u64;
            }
            Ok(deleted)
        })
    }

    pub(super) fn delete_exposures_impl(&self, key: &SubjectKey) -> StoreResult<u64> {
        let (_, table, cond, weight) = crate::rights::subject_table("exposures");
        self.write(|c| super::rights::delete_weighted(c, table, cond, weight, key.as_bytes()))
    }
}

/// Appends under an IMMEDIATE transaction: it takes SQLite's write lock before reading the
/// head, so another process appending to the same file waits instead of forking the chain.
fn append(conn: &mut Connection, draft: AuditDraft) -> StoreResult<AuditEntry> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(super::map_err)?;
    let entry = audit_append_tx(&tx, draft)?;
    tx.commit().map_err(super::map_err)?;
    Ok(entry)
}

/// Links `draft` to the chain's head and appends it inside `tx` (a write transaction, so no
/// other append reads the same head).
pub(super) fn audit_append_tx(
    tx: &rusqlite::Transaction<'_>,
    draft: AuditDraft,
) -> StoreResult<AuditEntry> {
    let head: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY pos DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(super::map_err)?;
    let entry = chain_next(head, draft).map_err(StoreError::Other)?;
    let seq = i64::try_from(entry.seq)
        .map_err(|_| StoreError::Other("audit sequence exhausted".into()))?;
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, purpose, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            seq,
            entry.at_ms,
            entry.actor.to_string(),
            entry.action.code(),
            entry.target.as_str(),
            entry.purpose.as_ref().map(|p| p.as_str()),
            details_to_json(&entry.details),
            entry.prev_hash.as_slice(),
            entry.hash.as_slice()
        ],
    )
    .map_err(super::map_err)?;
    Ok(entry)
}
