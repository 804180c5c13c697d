//! Data-subject rights on PostgreSQL: erasure, restriction, muted interests, the request log.

use candor_domain::SubjectKey;
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use postgres::{GenericClient, Row, Transaction};

use super::{DbError, DbResult, bad_row};
use crate::rights::{SUBJECT_TABLES, TOMBSTONES_KEPT, counts_parse, counts_text};
use crate::{
    ConsentTombstone, DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrRequest, ErasureCounts,
    ErasureIntent, ErasurePlan, NewDsrRequest,
};

fn sql(cond: &str) -> String {
    cond.replace("{k}", "$1")
}

/// Deletes the subject's rows of one `SUBJECT_TABLES` entry; returns the records deleted, by
/// the table's weight.
pub(super) fn delete_weighted(
    c: &mut impl GenericClient,
    table: &str,
    cond: &str,
    weight: &str,
    k: &[u8],
) -> DbResult<u64> {
    let delete = format!("DELETE FROM {table} WHERE {}", sql(cond));
    if weight == "1" {
        return Ok(c.execute(&delete, &[&k])?);
    }
    let mut n = 0i64;
    for r in c.query(&format!("{delete} RETURNING {weight}"), &[&k])? {
        n += r.try_get::<_, i64>(0)?;
    }
    Ok(n as u64)
}

pub(super) fn footprint(
    c: &mut impl GenericClient,
    key: &SubjectKey,
) -> DbResult<std::collections::BTreeMap<String, u64>> {
    let mut out = std::collections::BTreeMap::new();
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let n: i64 = c
            .query_one(
                &format!(
                    "SELECT coalesce(sum({weight}), 0)::bigint FROM {table} WHERE {}",
                    sql(cond)
                ),
                &[&key.as_bytes().as_slice()],
            )?
            .try_get(0)?;
        if n > 0 {
            out.insert((*kind).to_owned(), n as u64);
        }
    }
    Ok(out)
}

pub(super) fn erase(
    tx: &mut Transaction<'_>,
    key: &SubjectKey,
    plan: &ErasurePlan,
) -> DbResult<ErasureCounts> {
    let k = key.as_bytes().as_slice();
    // Lock the profile row first, as every profile writer does, so an ingestion committing
    // meanwhile cannot recreate the profile after it is deleted here.
    let had_profile = super::events::lock_profile(tx, key)?.is_some();
    let mut counts = ErasureCounts::new();
    if let Some(proof) = &plan.tombstone {
        let n = tx.execute(
            "INSERT INTO consent_tombstones (proof, purpose, decision, source, purpose_version, policy_version, at)
             SELECT $2, purpose, decision, source, purpose_version, policy_version, at
             FROM consents WHERE subject_key = $1 ORDER BY id",
            &[&k, &proof.as_slice()],
        )?;
        if n > 0 {
            counts.insert(TOMBSTONES_KEPT.to_owned(), n);
        }
    }
    for (kind, table, cond, weight) in SUBJECT_TABLES {
        let mut n = delete_weighted(tx, table, cond, weight, k)?;
        if *table == "profiles" && !had_profile {
            // Only the lock placeholder inserted above: not data the person had.
            n = 0;
        }
        if n > 0 {
            counts.insert((*kind).to_owned(), n);
        }
    }
    tx.execute(
        "UPDATE erasure_intents SET counts = $2 WHERE subject_key = $1 AND counts IS NULL",
        &[&k, &counts_text(&counts)],
    )?;
    Ok(counts)
}

pub(super) fn begin_erasure(
    tx: &mut Transaction<'_>,
    key: &SubjectKey,
    plan: &ErasurePlan,
    request: &NewDsrRequest,
) -> DbResult<i64> {
    let k = key.as_bytes().as_slice();
    if let Some(r) = tx.query_opt(
        "SELECT request_id FROM erasure_intents WHERE subject_key = $1",
        &[&k],
    )? {
        return Ok(r.try_get(0)?);
    }
    let id = insert_dsr(tx, request)?;
    // A racing request for the same subject inserts nothing and finds the winner's request.
    let n = tx.execute(
        "INSERT INTO erasure_intents (subject_key, request_id, tombstone, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (subject_key) DO NOTHING",
        &[
            &k,
            &id,
            &plan.tombstone.as_ref().map(|t| t.as_slice()),
            &request.received_at.as_millis(),
        ],
    )?;
    if n == 0 {
        tx.execute("DELETE FROM dsr_requests WHERE id = $1", &[&id])?;
        return Ok(tx
            .query_one(
                "SELECT request_id FROM erasure_intents WHERE subject_key = $1",
                &[&k],
            )?
            .try_get(0)?);
    }
    Ok(id)
}

pub(super) fn erasure_intents(c: &mut impl GenericClient) -> DbResult<Vec<ErasureIntent>> {
    c.query(
        "SELECT subject_key, request_id, tombstone, started_at, counts FROM erasure_intents ORDER BY started_at",
        &[],
    )?
    .iter()
    .map(|r| {
        let key: Vec<u8> = r.try_get(0)?;
        let tomb: Option<Vec<u8>> = r.try_get(2)?;
        let counts: Option<String> = r.try_get(4)?;
        Ok(ErasureIntent {
            subject: SubjectKey::from_bytes(
                key.try_into()
                    .map_err(|_| bad_row("subject key", "of wrong length"))?,
            ),
            request_id: r.try_get(1)?,
            plan: ErasurePlan {
                tombstone: tomb
                    .map(|t| t.try_into())
                    .transpose()
                    .map_err(|_| bad_row("tombstone hash", "of wrong length"))?,
            },
            started_at: Timestamp::from_millis(r.try_get(3)?),
            counts: counts.as_deref().and_then(counts_parse),
        })
    })
    .collect()
}

pub(super) fn finish_erasure(
    tx: &mut Transaction<'_>,
    key: &SubjectKey,
    request_id: i64,
    detail: &str,
    now: Timestamp,
) -> DbResult<()> {
    tx.execute(
        "DELETE FROM erasure_intents WHERE subject_key = $1",
        &[&key.as_bytes().as_slice()],
    )?;
    tx.execute(
        "UPDATE dsr_requests SET status = $2, completed_at = $3, detail = $4 WHERE id = $1",
        &[
            &request_id,
            &DSR_STATUS_COMPLETED,
            &now.as_millis(),
            &detail,
        ],
    )?;
    Ok(())
}

pub(super) fn consent_tombstones(
    c: &mut impl GenericClient,
    proof: &[u8; 32],
) -> DbResult<Vec<ConsentTombstone>> {
    c.query(
        "SELECT purpose, decision, source, purpose_version, policy_version, at
         FROM consent_tombstones WHERE proof = $1 ORDER BY id",
        &[&proof.as_slice()],
    )?
    .iter()
    .map(|r| {
        Ok(ConsentTombstone {
            purpose: r.try_get(0)?,
            decision: r.try_get(1)?,
            source: r.try_get(2)?,
            purpose_version: r.try_get(3)?,
            policy_version: r.try_get(4)?,
            at: Timestamp::from_millis(r.try_get(5)?),
        })
    })
    .collect()
}

pub(super) fn restriction(
    c: &mut impl GenericClient,
    key: &SubjectKey,
) -> DbResult<Option<Timestamp>> {
    Ok(c.query_opt(
        "SELECT since FROM restrictions WHERE subject_key = $1",
        &[&key.as_bytes().as_slice()],
    )?
    .map(|r| r.try_get(0))
    .transpose()?
    .map(Timestamp::from_millis))
}

pub(super) fn set_restriction(
    tx: &mut Transaction<'_>,
    key: &SubjectKey,
    since: Option<Timestamp>,
) -> DbResult<bool> {
    let k = key.as_bytes().as_slice();
    let n = match since {
        Some(t) => tx.execute(
            "INSERT INTO restrictions (subject_key, since) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&k, &t.as_millis()],
        )?,
        None => tx.execute("DELETE FROM restrictions WHERE subject_key = $1", &[&k])?,
    };
    Ok(n > 0)
}

pub(super) fn muted(c: &mut impl GenericClient, key: &SubjectKey) -> DbResult<Vec<String>> {
    c.query(
        "SELECT category FROM muted_interests WHERE subject_key = $1 ORDER BY category",
        &[&key.as_bytes().as_slice()],
    )?
    .iter()
    .map(|r| r.try_get(0).map_err(DbError::from))
    .collect()
}

/// `profile` without the subject's muted categories, when it holds any.
pub(super) fn without_muted(
    c: &mut impl GenericClient,
    key: &SubjectKey,
    profile: &Profile,
) -> DbResult<Option<Profile>> {
    let muted = muted(c, key)?;
    if !muted.iter().any(|m| profile.affinities.contains_key(m)) {
        return Ok(None);
    }
    let mut p = profile.clone();
    p.affinities.retain(|c, _| !muted.contains(c));
    Ok(Some(p))
}

pub(super) fn mute_interest(
    tx: &mut Transaction<'_>,
    key: &SubjectKey,
    category: &str,
    now: Timestamp,
) -> DbResult<bool> {
    // Lock the profile before recording the mute, so a concurrent ingestion either finishes
    // first (and its categories are removed here) or sees the mute when it saves.
    let profile = super::events::lock_profile(tx, key)?;
    tx.execute(
        "INSERT INTO muted_interests (subject_key, category, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&key.as_bytes().as_slice(), &category, &now.as_millis()],
    )?;
    let mut profile = profile.unwrap_or_default();
    let removed = profile.remove_interest(category);
    // Always saved: an empty profile deletes the lock placeholder.
    super::events::save_profile(tx, key, &profile, now)?;
    Ok(removed)
}

pub(super) fn insert_dsr(c: &mut impl GenericClient, r: &NewDsrRequest) -> DbResult<i64> {
    let status = if r.completed_at.is_some() {
        DSR_STATUS_COMPLETED
    } else {
        DSR_STATUS_IN_PROGRESS
    };
    Ok(c.query_one(
        "INSERT INTO dsr_requests (kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            &r.kind,
            &r.subject_ref.as_slice(),
            &r.jurisdiction,
            &r.received_at.as_millis(),
            &r.deadline_at.as_millis(),
            &r.completed_at.map(Timestamp::as_millis),
            &status,
            &r.detail,
        ],
    )?
    .try_get(0)?)
}

pub(super) const DSR_COLUMNS: &str =
    "id, kind, subject_ref, jurisdiction, received_at, deadline_at, completed_at, status, detail";

pub(super) fn dsr_from_row(r: &Row) -> DbResult<(i64, DsrRequest)> {
    let subject_ref: Vec<u8> = r.try_get(2)?;
    let id: i64 = r.try_get(0)?;
    Ok((
        id,
        DsrRequest {
            id,
            kind: r.try_get(1)?,
            subject_ref: subject_ref
                .try_into()
                .map_err(|_| bad_row("subject ref", "of wrong length"))?,
            jurisdiction: r.try_get(3)?,
            received_at: Timestamp::from_millis(r.try_get(4)?),
            deadline_at: Timestamp::from_millis(r.try_get(5)?),
            completed_at: r.try_get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
            status: r.try_get(7)?,
            detail: r.try_get(8)?,
        },
    ))
}
