//! Data-subject rights: footprint and erasure, erasure intents, consent tombstones,
//! restriction and the request log.

use std::collections::BTreeMap;

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, Row, SqlBackend, bad_row, params, profiles};
use crate::rights::{SUBJECT_TABLES, TOMBSTONES_KEPT, counts_parse, counts_text};
use crate::{
    ConsentTombstone, DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrKindSummary, DsrRequest,
    ErasureCounts, ErasureIntent, ErasurePlan, NewDsrRequest, Page, PageRequest, RightsStore,
    StoreResult,
};

/// A `SUBJECT_TABLES` condition with the subject key as parameter 1.
fn sql(cond: &str) -> String {
    cond.replace("{k}", "?1")
}

/// Deletes the subject's rows of one `SUBJECT_TABLES` entry; returns the records deleted, by
/// the table's weight.
pub(crate) fn delete_weighted(
    c: &mut dyn Conn,
    table: &str,
    cond: &str,
    weight: &str,
    key: &SubjectKey,
) -> DbResult<u64> {
    let delete = format!("DELETE FROM {table} WHERE {}", sql(cond));
    if weight == "1" {
        return c.execute(&delete, params![key]);
    }
    let weights = c.query(&format!("{delete} RETURNING {weight}"), params![key], |r| {
        r.i64(0)
    })?;
    Ok(weights.iter().sum::<i64>() as u64)
}

/// How many records each kind of personal data holds for the subject; kinds with none are
/// left out.
pub(crate) fn footprint(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let n = c.query_one(
            &format!(
                "SELECT CAST(coalesce(sum({weight}), 0) AS BIGINT) FROM {table} WHERE {}",
                sql(cond)
            ),
            params![key],
            |r| r.i64(0),
        )?;
        if n > 0 {
            out.insert((*kind).to_owned(), n as u64);
        }
    }
    Ok(out)
}

/// Deletes everything held under `key` and returns what it deleted.
pub(crate) fn erase(
    c: &mut dyn Conn,
    key: &SubjectKey,
    plan: &ErasurePlan,
) -> DbResult<ErasureCounts> {
    // Lock the profile row first, as every profile writer does, so an ingestion committing
    // meanwhile cannot recreate the profile after it is deleted here.
    let had_profile = profiles::lock(c, key)?.is_some();
    let mut counts = ErasureCounts::new();
    if let Some(proof) = &plan.tombstone {
        let n = c.execute(
            "INSERT INTO consent_tombstones (proof, purpose, decision, source, purpose_version, policy_version, at)
             SELECT ?2, purpose, decision, source, purpose_version, policy_version, at
             FROM consents WHERE subject_key = ?1 ORDER BY id",
            params![key, proof],
        )?;
        if n > 0 {
            counts.insert(TOMBSTONES_KEPT.to_owned(), n);
        }
    }
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let mut n = delete_weighted(c, table, cond, weight, key)?;
        if *table == "profiles" && !had_profile {
            // At most the lock placeholder inserted above: not data the person had.
            n = 0;
        }
        if n > 0 {
            counts.insert((*kind).to_owned(), n);
        }
    }
    if c.dialect() == super::Dialect::Postgres {
        // Months of events and exposures retention has detached and not yet dropped. After
        // the deletions above, this transaction holds every partition of both tables, so no
        // month can be detached before it commits: the detached ones are all listed here.
        // Their rows are past retention, already gone from every read and from the counts
        // a person is shown, so they are not counted here either.
        c.query_one("SELECT candor_erase_detached(?1)", params![key], |r| {
            r.i64(0)
        })?;
        // A profile queued for rebuilding after a partition drop: the queue holds only the
        // key (and `rebuild_queued_profiles` makes no profile for a subject without one), but
        // nothing keyed by the person outlives their erasure.
        c.execute(
            "DELETE FROM profile_rebuilds WHERE subject_key = ?1",
            params![key],
        )?;
    }
    // Only the first pass records counts: a resumed erasure finds nothing left to count.
    c.execute(
        "UPDATE erasure_intents SET counts = ?2 WHERE subject_key = ?1 AND counts IS NULL",
        params![key, &counts_text(&counts)],
    )?;
    Ok(counts)
}

fn intent_request(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Option<i64>> {
    c.query_opt(
        "SELECT request_id FROM erasure_intents WHERE subject_key = ?1",
        params![key],
        |r| r.i64(0),
    )
}

pub(crate) fn begin_erasure(
    c: &mut dyn Conn,
    key: &SubjectKey,
    plan: &ErasurePlan,
    request: &NewDsrRequest,
) -> DbResult<i64> {
    if let Some(id) = intent_request(c, key)? {
        return Ok(id);
    }
    let id = insert_dsr(c, request)?;
    // A racing request for the same subject inserts nothing and finds the winner's request.
    let n = c.execute(
        "INSERT INTO erasure_intents (subject_key, request_id, tombstone, started_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject_key) DO NOTHING",
        params![key, id, plan.tombstone.as_ref(), request.received_at],
    )?;
    if n == 0 {
        c.execute("DELETE FROM dsr_requests WHERE id = ?1", params![id])?;
        return intent_request(c, key)?.ok_or_else(|| bad_row("erasure intent", "that vanished"));
    }
    Ok(id)
}

fn intent_from_row(r: &dyn Row) -> DbResult<ErasureIntent> {
    Ok(ErasureIntent {
        subject: r.key(0)?,
        request_id: r.i64(1)?,
        plan: ErasurePlan {
            tombstone: r
                .opt_blob(2)?
                .map(|t| t.try_into())
                .transpose()
                .map_err(|_| bad_row("tombstone hash", "of wrong length"))?,
        },
        started_at: r.time(3)?,
        counts: r.opt_text(4)?.as_deref().and_then(counts_parse),
    })
}

pub(crate) fn finish_erasure(
    c: &mut dyn Conn,
    key: &SubjectKey,
    request_id: i64,
    detail: &str,
    now: Timestamp,
) -> DbResult<()> {
    c.execute(
        "DELETE FROM erasure_intents WHERE subject_key = ?1",
        params![key],
    )?;
    c.execute(
        "UPDATE dsr_requests SET status = ?2, completed_at = ?3, detail = ?4 WHERE id = ?1",
        params![request_id, DSR_STATUS_COMPLETED, now, detail],
    )?;
    Ok(())
}

/// Since when processing of the subject's data is restricted, if it is.
pub(crate) fn restriction(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Option<Timestamp>> {
    c.query_opt(
        "SELECT since FROM restrictions WHERE subject_key = ?1",
        params![key],
        |r| r.time(0),
    )
}

/// Restricts (`Some(since)`) or lifts (`None`); returns whether anything changed.
pub(crate) fn set_restriction(
    c: &mut dyn Conn,
    key: &SubjectKey,
    since: Option<Timestamp>,
) -> DbResult<bool> {
    let n = match since {
        Some(t) => c.execute(
            "INSERT INTO restrictions (subject_key, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![key, t],
        )?,
        None => c.execute(
            "DELETE FROM restrictions WHERE subject_key = ?1",
            params![key],
        )?,
    };
    Ok(n > 0)
}

pub(crate) fn insert_dsr(c: &mut dyn Conn, r: &NewDsrRequest) -> DbResult<i64> {
    let status = if r.completed_at.is_some() {
        DSR_STATUS_COMPLETED
    } else {
        DSR_STATUS_IN_PROGRESS
    };
    c.query_one(
        "INSERT INTO dsr_requests (kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![
            &r.kind,
            &r.subject_ref,
            &r.jurisdiction,
            r.received_at,
            r.deadline_at,
            r.completed_at,
            status,
            &r.detail,
        ],
        |row| row.i64(0),
    )
}

const DSR_COLUMNS: &str =
    "id, kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail";

fn dsr_from_row(r: &dyn Row) -> DbResult<(i64, DsrRequest)> {
    let id = r.i64(0)?;
    Ok((
        id,
        DsrRequest {
            id,
            kind: r.text(1)?,
            subject_ref: r
                .blob(2)?
                .try_into()
                .map_err(|_| bad_row("subject ref", "of wrong length"))?,
            jurisdiction: r.text(3)?,
            received_at: r.time(4)?,
            deadline_at: r.time(5)?,
            completed_at: r.opt_time(6)?,
            status: r.text(7)?,
            detail: r.text(8)?,
        },
    ))
}

impl<B: SqlBackend> RightsStore for B {
    fn subject_footprint(&self, key: &SubjectKey) -> StoreResult<BTreeMap<String, u64>> {
        self.read_sql(&mut |c| footprint(c, key))
    }

    fn erase_subject(&self, key: &SubjectKey, plan: &ErasurePlan) -> StoreResult<ErasureCounts> {
        self.write_sql(&mut |c| erase(c, key, plan))
    }

    fn begin_erasure(
        &self,
        key: &SubjectKey,
        plan: &ErasurePlan,
        request: &NewDsrRequest,
    ) -> StoreResult<i64> {
        self.write_sql(&mut |c| begin_erasure(c, key, plan, request))
    }

    fn erasure_intents(&self) -> StoreResult<Vec<ErasureIntent>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT subject_key, request_id, tombstone, started_at, counts FROM erasure_intents
                 ORDER BY started_at",
                params![],
                intent_from_row,
            )
        })
    }

    fn finish_erasure(
        &self,
        key: &SubjectKey,
        request_id: i64,
        detail: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| finish_erasure(c, key, request_id, detail, now))
    }

    fn consent_tombstones(&self, proof: &[u8; 32]) -> StoreResult<Vec<ConsentTombstone>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT purpose, decision, source, purpose_version, policy_version, at
                 FROM consent_tombstones WHERE proof = ?1 ORDER BY id",
                params![proof],
                |r| {
                    Ok(ConsentTombstone {
                        purpose: r.text(0)?,
                        decision: r.text(1)?,
                        source: r.text(2)?,
                        purpose_version: r.text(3)?,
                        policy_version: r.text(4)?,
                        at: r.time(5)?,
                    })
                },
            )
        })
    }

    fn purge_deleted(&self) -> StoreResult<()> {
        SqlBackend::purge_deleted(self)
    }

    fn insert_dsr(&self, request: &NewDsrRequest) -> StoreResult<i64> {
        self.write_sql(&mut |c| insert_dsr(c, request))
    }

    fn dsr_requests(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DsrRequest>> {
        let limit = page.limit_clamped();
        let rows = self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {DSR_COLUMNS} FROM dsr_requests
                     WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND id < ?2
                     ORDER BY id DESC LIMIT ?3"
                ),
                params![status, page.after.unwrap_or(i64::MAX), limit + 1],
                dsr_from_row,
            )
        })?;
        Ok(super::paginate(rows, limit))
    }

    fn latest_dsr(&self, subject_ref: &[u8; 32], kind: &str) -> StoreResult<Option<DsrRequest>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                &format!(
                    "SELECT {DSR_COLUMNS} FROM dsr_requests WHERE subject_ref = ?1 AND kind = ?2
                     ORDER BY id DESC LIMIT 1"
                ),
                params![subject_ref, kind],
                |r| dsr_from_row(r).map(|(_, d)| d),
            )
        })
    }

    fn dsr_summary(&self, since: Timestamp, now: Timestamp) -> StoreResult<Vec<DsrKindSummary>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT kind,
                        count(*) FILTER (WHERE completed_at IS NULL),
                        count(*) FILTER (WHERE completed_at IS NOT NULL),
                        count(*) FILTER (WHERE completed_at IS NULL AND deadline_at < ?2),
                        count(*) FILTER (WHERE completed_at > deadline_at),
                        min(received_at) FILTER (WHERE completed_at IS NULL)
                 FROM dsr_requests WHERE received_at >= ?1 OR completed_at IS NULL
                 GROUP BY kind ORDER BY kind COLLATE \"C\"",
                params![since, now],
                |r| {
                    let n = |i: usize| -> DbResult<u64> { Ok(r.i64(i)? as u64) };
                    Ok(DsrKindSummary {
                        kind: r.text(0)?,
                        n_open: n(1)?,
                        n_closed: n(2)?,
                        n_overdue: n(3)?,
                        n_closed_late: n(4)?,
                        oldest_open_received_at: r.opt_time(5)?,
                    })
                },
            )
        })
    }
}
