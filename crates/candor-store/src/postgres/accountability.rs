//! PostgreSQL side of the accountability tables (migration 3).

use candor_accountability::audit::{AuditDraft, AuditEntry};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use postgres::{Row, Transaction};

use super::{DbError, DbResult, PostgresStore};
use crate::accountability::{
    AUDIT_COLUMNS, AuditRow, DeletedExposures, EXPOSURE_LIST_COLUMNS, Exposure, ExposureListRow,
    chain_next, delete_exposures_before_sql, details_to_json, entries_from_rows, expand_lists,
    exposure_lists, exposures_after, list_page_bounds,
};
use crate::sqlite::paginate;
use crate::{Page, PageRequest, StoreResult};

fn audit_row(r: &Row) -> DbResult<AuditRow> {
    Ok(AuditRow {
        pos: r.try_get(0)?,
        seq: r.try_get(1)?,
        at: r.try_get(2)?,
        actor: r.try_get(3)?,
        action: r.try_get(4)?,
        target: r.try_get(5)?,
        purpose: r.try_get(6)?,
        details: r.try_get(7)?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

fn exposure_list_row(r: &Row) -> DbResult<ExposureListRow> {
    Ok(ExposureListRow {
        id: r.try_get(0)?,
        subject_key: r.try_get(1)?,
        slot: r.try_get(2)?,
        at: r.try_get(3)?,
        personalized: r.try_get(4)?,
        items: r.try_get(5)?,
    })
}

fn expanded(rows: Vec<ExposureListRow>) -> DbResult<Vec<(i64, Exposure)>> {
    expand_lists(rows).ok_or_else(|| DbError::BadRow("unreadable exposure list".into()))
}

impl PostgresStore {
    /// Appends with the table locked against other appends (SHARE ROW EXCLUSIVE conflicts
    /// with itself but not with readers), so instances sharing the database queue up and each
    /// links to the head the previous one wrote.
    pub(super) fn audit_append_impl(&self, draft: AuditDraft) -> StoreResult<AuditEntry> {
        self.write(|tx| audit_append_tx(tx, draft.clone()))
    }

    pub(super) fn audit_entries_impl(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE pos > $1 ORDER BY pos LIMIT $2"
                ),
                &[&page.after.unwrap_or(0), &(limit + 1)],
            )?
            .iter()
            .map(audit_row)
            .collect::<DbResult<Vec<_>>>()
        })?;
        Ok(paginate(entries_from_rows(rows)?, limit))
    }

    pub(super) fn audit_head_impl(&self) -> StoreResult<Option<AuditEntry>> {
        let row = self.read(|c| {
            c.query_opt(
                &format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY pos DESC LIMIT 1"),
                &[],
            )?
            .map(|r| audit_row(&r))
            .transpose()
        })?;
        Ok(entries_from_rows(row.into_iter().collect())?
            .pop()
            .map(|(_, e)| e))
    }

    pub(super) fn audit_last_impl(&self, action: &str) -> StoreResult<Option<AuditEntry>> {
        let row = self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE action = $1 ORDER BY pos DESC LIMIT 1"
                ),
                &[&action],
            )?
            .map(|r| audit_row(&r))
            .transpose()
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
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_attributes (subject_key, sealed, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (subject_key) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                &[&key.as_bytes().as_slice(), &sealed, &now.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn audit_attributes_impl(&self, key: &SubjectKey) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_opt(
                "SELECT sealed FROM audit_attributes WHERE subject_key = $1",
                &[&key.as_bytes().as_slice()],
            )?
            .map(|r| r.try_get(0).map_err(DbError::from))
            .transpose()
        })
    }

    pub(super) fn audit_attributes_after_impl(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectKey, Vec<u8>)>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let limit = i64::from(limit.clamp(1, crate::PAGE_LEN_MAX));
        let rows: Vec<(Vec<u8>, Vec<u8>)> = self.read(|c| {
            c.query(
                "SELECT subject_key, sealed FROM audit_attributes WHERE subject_key > $1 ORDER BY subject_key LIMIT $2",
                &[&after, &limit],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| Some((SubjectKey::from_bytes(k.as_slice().try_into().ok()?), v)))
            .collect())
    }

    pub(super) fn delete_audit_attributes_impl(&self, key: &SubjectKey) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM audit_attributes WHERE subject_key = $1",
                &[&key.as_bytes().as_slice()],
            )? > 0)
        })
    }

    pub(super) fn record_exposures_impl(&self, exposures: &[Exposure]) -> StoreResult<()> {
        self.write(|tx| {
            let stmt = tx.prepare(
                "INSERT INTO exposure_lists (subject_key, slot, at, personalized, items, n_items)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?;
            for list in exposure_lists(exposures) {
                let e = list.first;
                tx.execute(
                    &stmt,
                    &[
                        &e.subject.as_bytes().as_slice(),
                        &e.slot,
                        &e.at.as_millis(),
                        &e.personalized,
                        &list.items,
                        &list.n_items,
                    ],
                )?;
            }
            Ok(())
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
                .query(
                    &format!(
                        "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists
                         WHERE slot = $1 AND at >= $2 AND id >= $3 ORDER BY id LIMIT $4"
                    ),
                    &[&slot, &since.as_millis(), &from_list, &lists],
                )?
                .iter()
                .map(exposure_list_row)
                .collect::<DbResult<Vec<_>>>()?;
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
                .query(
                    &format!(
                        "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists WHERE subject_key = $1 ORDER BY id"
                    ),
                    &[&key.as_bytes().as_slice()],
                )?
                .iter()
                .map(exposure_list_row)
                .collect::<DbResult<Vec<_>>>()?;
            Ok(expanded(rows)?.into_iter().map(|(_, e)| e).collect())
        })
    }

    pub(super) fn delete_exposures_before_impl(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedExposures> {
        self.write(|tx| {
            let mut deleted = DeletedExposures::default();
            for r in tx.query(
                &delete_exposures_before_sql("$1", "$2"),
                &[&before.as_millis(), &i64::from(limit)],
            )? {
                deleted.lists += 1;
                deleted.exposures += r.try_get::<_, i64>(0)? as u64;
            }
            Ok(deleted)
        })
    }

    pub(super) fn delete_exposures_impl(&self, key: &SubjectKey) -> StoreResult<u64> {
        let (_, table, cond, weight) = crate::rights::subject_table("exposures");
        self.write(|tx| super::rights::delete_weighted(tx, table, cond, weight, key.as_bytes()))
    }
}

/// Links `draft` to the chain's head and appends it inside `tx`. The table lock orders
/// appends across connections, so two never link to the same head.
pub(super) fn audit_append_tx(tx: &mut Transaction<'_>, draft: AuditDraft) -> DbResult<AuditEntry> {
    tx.batch_execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")?;
    let head: Option<(i64, Vec<u8>)> = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY pos DESC LIMIT 1",
            &[],
        )?
        .map(|r| Ok::<_, DbError>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
    let entry = chain_next(head, draft).map_err(DbError::BadRow)?;
    let seq =
        i64::try_from(entry.seq).map_err(|_| DbError::BadRow("audit sequence exhausted".into()))?;
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, purpose, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &seq,
            &entry.at_ms,
            &entry.actor.to_string(),
            &entry.action.code(),
            &entry.target.as_str(),
            &entry.purpose.as_ref().map(|p| p.as_str()),
            &details_to_json(&entry.details),
            &entry.prev_hash.as_slice(),
            &entry.hash.as_slice(),
        ],
    )?;
    Ok(entry)
}
