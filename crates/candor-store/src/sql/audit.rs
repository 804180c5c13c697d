//! Accountability (migration 3): the audit chain, audit attributes and exposures.

use candor_accountability::audit::{AuditDraft, AuditEntry};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbError, DbResult, Lock, Row, SqlBackend, params};
use crate::accountability::{
    AUDIT_COLUMNS, AuditRow, DeletedExposures, EXPOSURE_LIST_COLUMNS, Exposure, ExposureListRow,
    chain_next, details_to_json, entries_from_rows, expand_lists, exposure_lists, exposures_after,
    list_page_bounds,
};
use crate::{AuditStore, Page, PageRequest, StoreResult};

fn audit_row(r: &dyn Row) -> DbResult<AuditRow> {
    Ok(AuditRow {
        pos: r.i64(0)?,
        seq: r.i64(1)?,
        at: r.i64(2)?,
        actor: r.text(3)?,
        action: r.text(4)?,
        target: r.text(5)?,
        purpose: r.opt_text(6)?,
        details: r.text(7)?,
        prev_hash: r.blob(8)?,
        hash: r.blob(9)?,
    })
}

fn exposure_list_row(r: &dyn Row) -> DbResult<ExposureListRow> {
    Ok(ExposureListRow {
        id: r.i64(0)?,
        subject_key: r.blob(1)?,
        slot: r.text(2)?,
        at: r.i64(3)?,
        personalized: r.bool(4)?,
        items: r.text(5)?,
    })
}

fn expanded(rows: Vec<ExposureListRow>) -> DbResult<Vec<(i64, Exposure)>> {
    expand_lists(rows).ok_or_else(|| DbError::BadRow("unreadable exposure list".into()))
}

/// The one entry a query for at most one audit row found.
fn one_entry(row: Option<AuditRow>) -> StoreResult<Option<AuditEntry>> {
    Ok(entries_from_rows(row.into_iter().collect())?
        .pop()
        .map(|(_, e)| e))
}

/// Appends with the table locked against other appends, so writers sharing the database
/// queue up and each links to the head the previous one wrote.
pub(crate) fn append(c: &mut dyn Conn, draft: &AuditDraft) -> DbResult<AuditEntry> {
    c.lock_table("audit_log", Lock::Exclusive)?;
    let head = c.query_opt(
        "SELECT seq, hash FROM audit_log ORDER BY pos DESC LIMIT 1",
        params![],
        |r| Ok((r.i64(0)?, r.blob(1)?)),
    )?;
    let entry = chain_next(head, draft.clone()).map_err(DbError::BadRow)?;
    let seq =
        i64::try_from(entry.seq).map_err(|_| DbError::BadRow("audit sequence exhausted".into()))?;
    c.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, purpose, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            seq,
            entry.at_ms,
            &entry.actor.to_string(),
            entry.action.code(),
            entry.target.as_str(),
            entry.purpose.as_ref().map(|p| p.as_str()),
            &details_to_json(&entry.details),
            &entry.prev_hash,
            &entry.hash,
        ],
    )?;
    Ok(entry)
}

impl<B: SqlBackend> AuditStore for B {
    fn audit_append(&self, draft: AuditDraft) -> StoreResult<AuditEntry> {
        self.write_sql(&mut |c| append(c, &draft))
    }

    fn audit_entries(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        let limit = page.limit_clamped();
        let rows = self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE pos > ?1 ORDER BY pos LIMIT ?2"
                ),
                params![page.after.unwrap_or(0), limit + 1],
                audit_row,
            )
        })?;
        Ok(super::paginate(entries_from_rows(rows)?, limit))
    }

    fn audit_head(&self) -> StoreResult<Option<AuditEntry>> {
        one_entry(self.read_sql(&mut |c| {
            c.query_opt(
                &format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY pos DESC LIMIT 1"),
                params![],
                audit_row,
            )
        })?)
    }

    fn audit_last(&self, action: &str) -> StoreResult<Option<AuditEntry>> {
        one_entry(self.read_sql(&mut |c| {
            c.query_opt(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE action = ?1 ORDER BY pos DESC LIMIT 1"
                ),
                params![action],
                audit_row,
            )
        })?)
    }

    fn put_audit_attributes(
        &self,
        key: &SubjectKey,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO audit_attributes (subject_key, sealed, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                params![key, sealed, now],
            )
            .map(drop)
        })
    }

    fn audit_attributes(&self, key: &SubjectKey) -> StoreResult<Option<Vec<u8>>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT sealed FROM audit_attributes WHERE subject_key = ?1",
                params![key],
                |r| r.blob(0),
            )
        })
    }

    fn audit_attributes_after(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectKey, Vec<u8>)>> {
        let after = after.map_or(&[][..], |k| k.as_bytes().as_slice());
        let limit = limit.clamp(1, crate::PAGE_LEN_MAX);
        let rows = self.read_sql(&mut |c| {
            c.query(
                "SELECT subject_key, sealed FROM audit_attributes WHERE subject_key > ?1
                 ORDER BY subject_key LIMIT ?2",
                params![after, limit],
                |r| Ok((r.blob(0)?, r.blob(1)?)),
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| Some((SubjectKey::from_bytes(k.as_slice().try_into().ok()?), v)))
            .collect())
    }

    fn delete_audit_attributes(&self, key: &SubjectKey) -> StoreResult<bool> {
        self.write_sql(&mut |c| {
            c.execute(
                "DELETE FROM audit_attributes WHERE subject_key = ?1",
                params![key],
            )
            .map(|n| n > 0)
        })
    }
}

/// Records exposures, one row per served list.
pub(crate) fn record_exposures(c: &mut dyn Conn, exposures: &[Exposure]) -> DbResult<()> {
    for list in exposure_lists(exposures) {
        let e = list.first;
        c.execute(
            "INSERT INTO exposure_lists (subject_key, slot, at, personalized, items, n_items)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &e.subject,
                &e.slot,
                e.at,
                e.personalized,
                &list.items,
                list.n_items
            ],
        )?;
    }
    Ok(())
}

/// A page of a slot's exposures at or after `since`, oldest first.
pub(crate) fn exposures_for_slot(
    c: &mut dyn Conn,
    slot: &str,
    since: Timestamp,
    page: PageRequest,
) -> DbResult<Page<Exposure>> {
    let limit = page.limit_clamped();
    let (from_list, lists) = list_page_bounds(page.after, limit);
    let rows = c.query(
        &format!(
            "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists
             WHERE slot = ?1 AND at >= ?2 AND id >= ?3 ORDER BY id LIMIT ?4"
        ),
        params![slot, since, from_list, lists],
        exposure_list_row,
    )?;
    Ok(super::paginate(
        exposures_after(expanded(rows)?, page.after),
        limit,
    ))
}

/// Every exposure of a subject, oldest first.
pub(crate) fn exposures_for_subject(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Vec<Exposure>> {
    let rows = c.query(
        &format!(
            "SELECT {EXPOSURE_LIST_COLUMNS} FROM exposure_lists WHERE subject_key = ?1 ORDER BY id"
        ),
        params![key],
        exposure_list_row,
    )?;
    Ok(expanded(rows)?.into_iter().map(|(_, e)| e).collect())
}

/// Deletes, among the `limit` oldest lists, those served before `before`.
pub(crate) fn delete_exposures_before(
    c: &mut dyn Conn,
    before: Timestamp,
    limit: u32,
) -> DbResult<DeletedExposures> {
    let sizes = c.query(
        "DELETE FROM exposure_lists
         WHERE id IN (SELECT id FROM exposure_lists ORDER BY id LIMIT ?2) AND at < ?1
         RETURNING n_items",
        params![before, limit],
        |r| r.i64(0),
    )?;
    Ok(DeletedExposures {
        lists: sizes.len() as u64,
        exposures: sizes.iter().sum::<i64>() as u64,
    })
}
