//! Subjects and what they decided: facts, the consent ledger and its statistics, sealed
//! contact data, restriction and preferences. The ingestion gate's and serving's batched
//! reads ([`SqlBackend::subject_ledgers_impl`], [`SqlBackend::serving_inputs_impl`]) stay with
//! each backend: they are the hot paths.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::ids::PurposeId;
use candor_domain::policy::{PolicyVersion, PurposeVersion};
use candor_domain::time::Timestamp;

use super::{
    Conn, DbResult, Row, ServingReads, SqlBackend, bad_row, data_keys, params, preferences, rights,
};
use crate::{
    ConsentBucketCount, ConsentLatestCount, ConsentStats, ConsentStore, HistoryRef, Page,
    PageRequest, Preferences, ServingInputs, ServingState, StoreResult, SubjectLedger,
    SubjectRecord,
};

/// The columns of a consent row, in the order [`consent_from_row`] reads them.
pub(crate) const CONSENT_COLUMNS: &str =
    "id, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at";

/// A consent row whose [`CONSENT_COLUMNS`] start at column `at`.
pub(crate) fn consent_from_row(r: &dyn Row, at: usize) -> DbResult<(i64, ConsentRecord)> {
    let purpose = r.text(at + 1)?;
    let decision = r.text(at + 2)?;
    let source = r.text(at + 5)?;
    Ok((
        r.i64(at)?,
        ConsentRecord {
            purpose: PurposeId::parse(&purpose).map_err(|_| bad_row("purpose", &purpose))?,
            decision: Decision::parse(&decision).ok_or_else(|| bad_row("decision", &decision))?,
            purpose_version: PurposeVersion::from_stored(r.text(at + 3)?),
            policy_version: PolicyVersion::from_stored(r.text(at + 4)?),
            source: Source::parse(&source).ok_or_else(|| bad_row("source", &source))?,
            bulk: r.bool(at + 6)?,
            evidence: r.text(at + 7)?,
            at: r.time(at + 8)?,
        },
    ))
}

/// Creates the subject if needed and updates the facts that are `Some`.
/// Appends `records` to `key`'s ledger, creating the subject with `facts` if new.
pub(crate) fn append_consents(
    c: &mut dyn Conn,
    key: &SubjectKey,
    facts: &SubjectFacts,
    records: &[ConsentRecord],
    now: Timestamp,
) -> DbResult<()> {
    upsert_subject(c, key, facts, now)?;
    for r in records {
        c.execute(
            "INSERT INTO consents (subject_key, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                key,
                r.purpose.as_str(),
                r.decision.as_str(),
                r.purpose_version.as_str(),
                r.policy_version.as_str(),
                r.source.as_str(),
                r.bulk,
                &r.evidence,
                r.at,
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn upsert_subject(
    c: &mut dyn Conn,
    key: &SubjectKey,
    facts: &SubjectFacts,
    now: Timestamp,
) -> DbResult<()> {
    let band = facts.age_band.map(|b| b.to_string());
    c.execute(
        "INSERT INTO subjects (subject_key, age_band, country, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject_key) DO UPDATE SET
            age_band = coalesce(excluded.age_band, subjects.age_band),
            country = coalesce(excluded.country, subjects.country)",
        params![key, band.as_ref(), facts.country.as_ref(), now],
    )?;
    Ok(())
}

/// Decisions per purpose, time bucket and decision (`?1` = since, `?2` = bucket length).
const CONSENT_BUCKETS_SQL: &str = "SELECT purpose, (at - ?1) / ?2 AS bucket, decision, count(*)
     FROM consents WHERE at >= ?1 GROUP BY purpose, bucket, decision
     ORDER BY purpose COLLATE \"C\", bucket, decision COLLATE \"C\"";
/// Subjects per purpose, purpose version and latest decision: the newest row of each subject
/// and purpose is its current choice (the ledger is append-only).
const CONSENT_LATEST_SQL: &str = "SELECT purpose, purpose_version, decision, count(*) FROM (
       SELECT purpose, purpose_version, decision,
              row_number() OVER (PARTITION BY subject_key, purpose ORDER BY id DESC) AS newest
       FROM consents) AS latest
     WHERE newest = 1 GROUP BY purpose, purpose_version, decision
     ORDER BY purpose COLLATE \"C\", purpose_version COLLATE \"C\", decision COLLATE \"C\"";

fn count(r: &dyn Row, i: usize) -> DbResult<u64> {
    Ok(u64::try_from(r.i64(i)?).unwrap_or(0))
}

fn consent_stats(c: &mut dyn Conn, since: Timestamp, bucket_ms: i64) -> DbResult<ConsentStats> {
    let buckets = c.query(CONSENT_BUCKETS_SQL, params![since, bucket_ms.max(1)], |r| {
        Ok(ConsentBucketCount {
            purpose: r.text(0)?,
            bucket: r.i64(1)?,
            decision: r.text(2)?,
            n: count(r, 3)?,
        })
    })?;
    let latest = c.query(CONSENT_LATEST_SQL, params![], |r| {
        Ok(ConsentLatestCount {
            purpose: r.text(0)?,
            purpose_version: r.text(1)?,
            decision: r.text(2)?,
            n: count(r, 3)?,
        })
    })?;
    Ok(ConsentStats { buckets, latest })
}

impl<B: SqlBackend + ServingReads> ConsentStore for B {
    fn subject(&self, key: &SubjectKey) -> StoreResult<Option<SubjectRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT age_band, country, created_at FROM subjects WHERE subject_key = ?1",
                params![key],
                |r| {
                    Ok(SubjectRecord {
                        facts: SubjectFacts {
                            age_band: r.opt_text(0)?.as_deref().and_then(AgeBand::parse),
                            country: r.opt_text(1)?,
                        },
                        created_at: r.time(2)?,
                    })
                },
            )
        })
    }

    fn upsert_subject(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| upsert_subject(c, key, facts, now))
    }

    fn append_consents(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        records: &[ConsentRecord],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| append_consents(c, key, facts, records, now))
    }

    fn consent_records(&self, key: &SubjectKey) -> StoreResult<Vec<ConsentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = ?1 ORDER BY id"
                ),
                params![key],
                |r| consent_from_row(r, 0).map(|(_, rec)| rec),
            )
        })
    }

    fn subject_ledgers(
        &self,
        keys: &[SubjectKey],
    ) -> StoreResult<HashMap<SubjectKey, SubjectLedger>> {
        self.subject_ledgers_impl(keys)
    }

    fn serving_inputs(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
    ) -> StoreResult<ServingInputs> {
        self.serving_inputs_impl(key, wants_history)
    }

    fn serving_inputs_each(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
        each: &mut dyn FnMut(HistoryRef<'_>),
    ) -> StoreResult<ServingState> {
        self.serving_inputs_each_impl(key, wants_history, each)
    }

    fn consent_history(
        &self,
        key: &SubjectKey,
        page: PageRequest,
    ) -> StoreResult<Page<ConsentRecord>> {
        let limit = page.limit_clamped();
        let rows = self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = ?1 AND id < ?2
                     ORDER BY id DESC LIMIT ?3"
                ),
                params![key, page.after.unwrap_or(i64::MAX), limit + 1],
                |r| consent_from_row(r, 0),
            )
        })?;
        Ok(super::paginate(rows, limit))
    }

    fn consent_stats(&self, since: Timestamp, bucket_ms: i64) -> StoreResult<ConsentStats> {
        self.read_sql(&mut |c| consent_stats(c, since, bucket_ms))
    }

    fn restriction(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read_sql(&mut |c| rights::restriction(c, key))
    }

    fn set_restriction(&self, key: &SubjectKey, since: Option<Timestamp>) -> StoreResult<bool> {
        self.write_sql(&mut |c| rights::set_restriction(c, key, since))
    }

    fn preferences(&self, key: &SubjectKey) -> StoreResult<Preferences> {
        self.read_sql(&mut |c| preferences::load(c, key))
    }

    fn put_preferences(
        &self,
        key: &SubjectKey,
        preferences: &Preferences,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| preferences::save(c, key, preferences, now))
    }

    fn data_key(&self, key: &SubjectKey, fresh: [u8; 32], now: Timestamp) -> StoreResult<[u8; 32]> {
        data_keys::data_key(self, key, fresh, now)
    }

    fn existing_data_key(&self, key: &SubjectKey) -> StoreResult<Option<[u8; 32]>> {
        data_keys::existing_data_key(self, key)
    }

    fn put_contact(&self, key: &SubjectKey, field: &str, sealed: &[u8]) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO contact (subject_key, field, sealed) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key, field) DO UPDATE SET sealed = excluded.sealed",
                params![key, field, sealed],
            )
            .map(drop)
        })
    }

    fn contact(&self, key: &SubjectKey) -> StoreResult<Vec<(String, Vec<u8>)>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT field, sealed FROM contact WHERE subject_key = ?1 ORDER BY field COLLATE \"C\"",
                params![key],
                |r| Ok((r.text(0)?, r.blob(1)?)),
            )
        })
    }
}
