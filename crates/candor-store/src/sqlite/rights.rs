//! Data-subject rights on SQLite: erasure, restriction, muted interests, the request log.

use candor_domain::SubjectKey;
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::bad_row;
use crate::rights::{SUBJECT_TABLES, TOMBSTONES_KEPT, counts_parse, counts_text};
use crate::{
    ConsentTombstone, DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrRequest, ErasureCounts,
    ErasureIntent, ErasurePlan, NewDsrRequest,
};

fn sql(cond: &str) -> String {
    cond.replace("{k}", "?1")
}

/// Deletes the subject's rows of one `SUBJECT_TABLES` entry; returns the records deleted, by
/// the table's weight.
pub(super) fn delete_weighted(
    conn: &Connection,
    table: &str,
    cond: &str,
    weight: &str,
    k: &[u8],
) -> rusqlite::Result<u64> {
    let delete = format!("DELETE FROM {table} WHERE {}", sql(cond));
    if weight == "1" {
        return conn.execute(&delete, [k]).map(|n| n as u64);
    }
    conn.prepare_cached(&format!("{delete} RETURNING {weight}"))?
        .query_map([k], |r| r.get::<_, i64>(0))?
        .sum::<rusqlite::Result<i64>>()
        .map(|n| n as u64)
}

pub(super) fn footprint(
    conn: &Connection,
    key: &SubjectKey,
) -> rusqlite::Result<std::collections::BTreeMap<String, u64>> {
    let mut out = std::collections::BTreeMap::new();
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let n: i64 = conn.query_row(
            &format!(
                "SELECT coalesce(sum({weight}), 0) FROM {table} WHERE {}",
                sql(cond)
            ),
            [key.as_bytes().as_slice()],
            |r| r.get(0),
        )?;
        if n > 0 {
            out.insert((*kind).to_owned(), n as u64);
        }
    }
    Ok(out)
}

pub(super) fn erase(
    conn: &mut Connection,
    key: &SubjectKey,
    plan: &ErasurePlan,
) -> rusqlite::Result<ErasureCounts> {
    let tx = conn.transaction()?;
    let k = key.as_bytes().as_slice();
    let mut counts = ErasureCounts::new();
    if let Some(proof) = &plan.tombstone {
        let n = tx.execute(
            "INSERT INTO consent_tombstones (proof, purpose, decision, source, purpose_version, policy_version, at)
             SELECT ?2, purpose, decision, source, purpose_version, policy_version, at
             FROM consents WHERE subject_key = ?1 ORDER BY id",
            params![k, proof.as_slice()],
        )?;
        if n > 0 {
            counts.insert(TOMBSTONES_KEPT.to_owned(), n as u64);
        }
    }
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let n = delete_weighted(&tx, table, cond, weight, k)?;
        if n > 0 {
            counts.insert((*kind).to_owned(), n);
        }
    }
    // Only the first pass records counts: a resumed erasure finds nothing left to count.
    tx.execute(
        "UPDATE erasure_intents SET counts = ?2 WHERE subject_key = ?1 AND counts IS NULL",
        params![k, counts_text(&counts)],
    )?;
    tx.commit()?;
    Ok(counts)
}

pub(super) fn begin_erasure(
    conn: &mut Connection,
    key: &SubjectKey,
    plan: &ErasurePlan,
    request: &NewDsrRequest,
) -> rusqlite::Result<i64> {
    let tx = conn.transaction()?;
    let existing: Option<i64> = tx
        .query_row(
            "SELECT request_id FROM erasure_intents WHERE subject_key = ?1",
            [key.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = insert_dsr(&tx, request)?;
    tx.execute(
        "INSERT INTO erasure_intents (subject_key, request_id, tombstone, started_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            key.as_bytes().as_slice(),
            id,
            plan.tombstone.as_ref().map(|t| t.as_slice()),
            request.received_at.as_millis()
        ],
    )?;
    tx.commit()?;
    Ok(id)
}

pub(super) fn erasure_intents(conn: &Connection) -> rusqlite::Result<Vec<ErasureIntent>> {
    conn.prepare_cached(
        "SELECT subject_key, request_id, tombstone, started_at, counts FROM erasure_intents ORDER BY started_at",
    )?
    .query_map([], |r| {
        let key: Vec<u8> = r.get(0)?;
        let tomb: Option<Vec<u8>> = r.get(2)?;
        let counts: Option<String> = r.get(4)?;
        Ok(ErasureIntent {
            subject: SubjectKey::from_bytes(
                key.try_into()
                    .map_err(|_| bad_row("subject key", "of wrong length"))?,
            ),
            request_id: r.get(1)?,
            plan: ErasurePlan {
                tombstone: tomb
                    .map(|t| t.try_into())
                    .transpose()
                    .map_err(|_| bad_row("tombstone hash", "of wrong length"))?,
            },
            started_at: Timestamp::from_millis(r.get(3)?),
            counts: counts.as_deref().and_then(counts_parse),
        })
    })?
    .collect()
}

pub(super) fn finish_erasure(
    conn: &mut Connection,
    key: &SubjectKey,
    request_id: i64,
    detail: &str,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM erasure_intents WHERE subject_key = ?1",
        [key.as_bytes().as_slice()],
    )?;
    tx.execute(
        "UPDATE dsr_requests SET status = ?2, completed_at = ?3, detail = ?4 WHERE id = ?1",
        params![request_id, DSR_STATUS_COMPLETED, now.as_millis(), detail],
    )?;
    tx.commit()
}

pub(super) fn consent_tombstones(
    conn: &Connection,
    proof: &[u8; 32],
) -> rusqlite::Result<Vec<ConsentTombstone>> {
    conn.prepare_cached(
        "SELECT purpose, decision, source, purpose_version, policy_version, at
         FROM consent_tombstones WHERE proof = ?1 ORDER BY id",
    )?
    .query_map([proof.as_slice()], |r| {
        Ok(ConsentTombstone {
            purpose: r.get(0)?,
            decision: r.get(1)?,
            source: r.get(2)?,
            purpose_version: r.get(3)?,
            policy_version: r.get(4)?,
            at: Timestamp::from_millis(r.get(5)?),
        })
    })?
    .collect()
}

pub(super) fn purge_deleted(conn: &Connection) -> rusqlite::Result<()> {
    // TRUNCATE: copy every committed frame into the database file, then cut the log to zero
    // bytes, so no earlier version of an erased page survives in the -wal file.
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("a reader kept the write-ahead log from being truncated".into()),
        ));
    }
    Ok(())
}

pub(super) fn restriction(
    conn: &Connection,
    key: &SubjectKey,
) -> rusqlite::Result<Option<Timestamp>> {
    conn.prepare_cached("SELECT since FROM restrictions WHERE subject_key = ?1")?
        .query_row([key.as_bytes().as_slice()], |r| r.get(0))
        .optional()
        .map(|o| o.map(Timestamp::from_millis))
}

pub(super) fn set_restriction(
    conn: &Connection,
    key: &SubjectKey,
    since: Option<Timestamp>,
) -> rusqlite::Result<bool> {
    let k = key.as_bytes().as_slice();
    let n = match since {
        Some(t) => conn.execute(
            "INSERT INTO restrictions (subject_key, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![k, t.as_millis()],
        )?,
        None => conn.execute("DELETE FROM restrictions WHERE subject_key = ?1", [k])?,
    };
    Ok(n > 0)
}

/// The categories a subject muted; `save_profile` leaves them out.
pub(super) fn muted(conn: &Connection, key: &SubjectKey) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT category FROM muted_interests WHERE subject_key = ?1 ORDER BY category",
    )?
    .query_map([key.as_bytes().as_slice()], |r| r.get(0))?
    .collect()
}

/// `profile` without the subject's muted categories.
pub(super) fn without_muted(
    conn: &Connection,
    key: &SubjectKey,
    profile: &Profile,
) -> rusqlite::Result<Option<Profile>> {
    let muted = muted(conn, key)?;
    if muted.is_empty() || !muted.iter().any(|c| profile.affinities.contains_key(c)) {
        return Ok(None);
    }
    let mut p = profile.clone();
    p.affinities.retain(|c, _| !muted.contains(c));
    Ok(Some(p))
}

pub(super) fn mute_interest(
    conn: &mut Connection,
    key: &SubjectKey,
    category: &str,
    now: Timestamp,
) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO muted_interests (subject_key, category, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![key.as_bytes().as_slice(), category, now.as_millis()],
    )?;
    let removed = match super::events::load_profile(&tx, key)? {
        Some(mut p) => {
            let removed = p.remove_interest(category);
            if removed {
                super::events::save_profile(&tx, key, &p, now)?;
            }
            removed
        }
        None => false,
    };
    tx.commit()?;
    Ok(removed)
}

pub(super) fn insert_dsr(conn: &Connection, r: &NewDsrRequest) -> rusqlite::Result<i64> {
    let status = if r.completed_at.is_some() {
        DSR_STATUS_COMPLETED
    } else {
        DSR_STATUS_IN_PROGRESS
    };
    conn.execute(
        "INSERT INTO dsr_requests (kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.kind,
            r.subject_ref.as_slice(),
            r.jurisdiction,
            r.received_at.as_millis(),
            r.deadline_at.as_millis(),
            r.completed_at.map(Timestamp::as_millis),
            status,
            r.detail
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) const DSR_COLUMNS: &str =
    "id, kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail";

pub(super) fn dsr_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, DsrRequest)> {
    let subject_ref: Vec<u8> = r.get(2)?;
    let id: i64 = r.get(0)?;
    Ok((
        id,
        DsrRequest {
            id,
            kind: r.get(1)?,
            subject_ref: subject_ref
                .try_into()
                .map_err(|_| bad_row("subject ref", "of wrong length"))?,
            jurisdiction: r.get(3)?,
            received_at: Timestamp::from_millis(r.get(4)?),
            deadline_at: Timestamp::from_millis(r.get(5)?),
            completed_at: r.get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
            status: r.get(7)?,
            detail: r.get(8)?,
        },
    ))
}
