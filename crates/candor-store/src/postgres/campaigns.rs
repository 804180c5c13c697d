//! Segments, campaigns, runs, the outbox and unsubscribes on PostgreSQL.
//!
//! Cap reservations are exact across instances: a run (or a decision) first locks its
//! channel's row in `cap_locks`, so every reservation on a channel — and so every campaign cap,
//! since a campaign has one channel — counts and inserts while no other transaction can. At
//! READ COMMITTED each statement after the lock sees every delivery committed before it.
//! One lock per channel, not per subject: a run may reserve a million slots, and a million
//! row or advisory locks would exhaust the lock table.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{AgeBand, SubjectFacts};
use candor_domain::time::Timestamp;
use postgres::{GenericClient, Row};

use super::{DbResult, PostgresStore, bad_row};
use candor_domain::policy::Interaction;

use crate::{
    AudienceEvent, AudienceQuery, AudienceRow, CampaignRecord, CapUse, NewDelivery, NewRun,
    RunOutcome, RunRecord, SegmentRecord, StoreResult, SubjectOutcome,
};

pub(super) fn key_from(bytes: Vec<u8>) -> DbResult<SubjectKey> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(SubjectKey::from_bytes)
        .map_err(|_| bad_row("subject key", "of wrong length"))
}

/// The cap use of each of `subjects` in one grouped read (over `deliveries_by_subject`).
fn cap_use(
    c: &mut impl GenericClient,
    run: &NewRun,
    subjects: &[&SubjectKey],
) -> DbResult<HashMap<SubjectKey, CapUse>> {
    let (channel_since, campaign_since) = (
        run.window_start(run.channel_cap),
        run.campaign_window_start(),
    );
    let keys: Vec<&[u8]> = subjects.iter().map(|k| k.as_bytes().as_slice()).collect();
    let rows = c.query(
        "SELECT subject_key, count(*) FILTER (WHERE channel = $1 AND at > $2),
                count(*) FILTER (WHERE campaign_id = $3 AND at > $4)
         FROM deliveries WHERE subject_key IN (SELECT unnest($5::bytea[])) AND at > $6
         GROUP BY subject_key",
        &[
            &run.channel,
            &channel_since,
            &run.campaign_id,
            &campaign_since,
            &keys,
            &channel_since.min(campaign_since),
        ],
    )?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    rows.iter()
        .map(|r| {
            Ok((
                key_from(r.try_get(0)?)?,
                CapUse {
                    channel: count(r.try_get(1)?),
                    campaign: count(r.try_get(2)?),
                },
            ))
        })
        .collect()
}

/// A chunk's deliveries in one statement, from arrays.
/// Queues a page of deliveries; `held` ones wait for a fairness flag's acknowledgement.
fn insert_deliveries(
    c: &mut impl GenericClient,
    run: &NewRun,
    deliveries: &[(&SubjectKey, &NewDelivery)],
    held: bool,
) -> DbResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let subjects: Vec<&[u8]> = deliveries
        .iter()
        .map(|(s, _)| s.as_bytes().as_slice())
        .collect();
    let keys: Vec<&str> = deliveries
        .iter()
        .map(|(_, d)| d.idempotency_key.as_str())
        .collect();
    let payloads: Vec<Option<&str>> = deliveries
        .iter()
        .map(|(_, d)| d.payload.as_deref())
        .collect();
    c.execute(
        "INSERT INTO deliveries (subject_key, idempotency_key, payload, campaign_id, run_id, channel, at, attempts, next_attempt_at, held)
         SELECT s, k, p, $4, $5, $6, $7, 0, $7, $8 FROM unnest($1::bytea[], $2::text[], $3::text[]) WITH ORDINALITY AS u(s, k, p, n)
         ORDER BY n
         ON CONFLICT (subject_key, idempotency_key) DO NOTHING",
        &[
            &subjects,
            &keys,
            &payloads,
            &run.campaign_id,
            &run.run_id,
            &run.channel,
            &run.now.as_millis(),
            &held,
        ],
    )?;
    Ok(())
}

/// A chunk's outcomes in one statement, from arrays.
fn insert_outcomes(
    c: &mut impl GenericClient,
    run: &NewRun,
    outcomes: &[RunOutcome],
) -> DbResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let subjects: Vec<&[u8]> = outcomes
        .iter()
        .map(|o| o.subject.as_bytes().as_slice())
        .collect();
    let selected: Vec<bool> = outcomes.iter().map(|o| o.selected).collect();
    let reasons: Vec<Option<&str>> = outcomes.iter().map(|o| o.reason.as_deref()).collect();
    c.execute(
        "INSERT INTO run_outcomes (run_id, subject_key, selected, reason)
         SELECT $1, s, sel, r FROM unnest($2::bytea[], $3::bool[], $4::text[]) AS u(s, sel, r)",
        &[&run.run_id, &subjects, &selected, &reasons],
    )?;
    Ok(())
}

use crate::sql::campaigns::{campaign_from_row, run_from_row, segment_from_row};
use crate::sql::params;
use crate::sql::{CampaignBackend, SqlBackend};

impl CampaignBackend for PostgresStore {
    fn segments_impl(&self) -> StoreResult<Vec<SegmentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT id, name, purpose, rule, created_at FROM segments ORDER BY created_at, id COLLATE \"C\"",
                params![],
                segment_from_row,
            )
        })
    }

    fn campaigns_impl(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT id, segment_id, spec, created_at FROM campaigns ORDER BY seq",
                params![],
                campaign_from_row,
            )
        })
    }

    /// One page of subjects with a handful of range scans over the key-ordered indexes,
    /// instead of nine round trips per subject. The reads run in one REPEATABLE READ
    /// transaction so the page is one consistent snapshot.
    fn audience_page_impl(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        query: &AudienceQuery,
    ) -> StoreResult<Vec<AudienceRow>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let last_key = query.last_key().to_vec();
        self.write(|tx| {
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
            let mut rows: Vec<AudienceRow> = tx
                .query(
                    "SELECT subject_key, age_band, country FROM subjects WHERE subject_key > $1 AND subject_key <= $3 ORDER BY subject_key LIMIT $2",
                    &[&after, &i64::from(limit), &last_key],
                )?
                .iter()
                .map(|r| {
                    let band: Option<String> = r.try_get(1)?;
                    let facts = SubjectFacts {
                        age_band: band.as_deref().and_then(AgeBand::parse),
                        country: r.try_get(2)?,
                    };
                    Ok(AudienceRow::new(key_from(r.try_get(0)?)?, facts))
                })
                .collect::<DbResult<_>>()?;
            let Some(last) = rows.last().map(|r| r.key.as_bytes().to_vec()) else {
                return Ok(rows);
            };
            let index: HashMap<[u8; 32], usize> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| (*r.key.as_bytes(), i))
                .collect();
            // Runs `sql` over the page's key range (an extra parameter after the two bounds)
            // and hands each row that belongs to a subject of the page to `fill`. Keys in the
            // range that are not in the page belong to rows of subjects with no subject record
            // (not in the audience): skipped. The subject key is the first column, or the
            // last where `fill` reads a shared row layout.
            let mut scan = |sql: &str,
                            extra: Option<i64>,
                            fill: &mut dyn FnMut(&mut AudienceRow, &Row) -> DbResult<()>|
             -> DbResult<()> {
                let found = match &extra {
                    Some(x) => tx.query(sql, &[&after, &last, x])?,
                    None => tx.query(sql, &[&after, &last])?,
                };
                for r in found {
                    let col = if sql.starts_with("SELECT subject_key") {
                        0
                    } else {
                        r.len() - 1
                    };
                    let bytes: &[u8] = r.try_get(col)?;
                    let i = <[u8; 32]>::try_from(bytes)
                        .ok()
                        .and_then(|k| index.get(&k).copied());
                    if let Some(i) = i {
                        fill(&mut rows[i], &r)?;
                    }
                }
                Ok(())
            };
            scan(
                &format!(
                    "SELECT {}, subject_key FROM consents WHERE subject_key > $1 AND subject_key <= $2 ORDER BY subject_key, id",
                    crate::sql::consent::CONSENT_COLUMNS
                ),
                None,
                &mut |row, r| {
                    row.consents.push(crate::sql::consent::consent_from_row(r, 0)?.1);
                    Ok(())
                },
            )?;
            if let Some(since) = query.events_since {
                scan(
                    "SELECT subject_key, occurred_at, interaction, item_id, properties FROM events
                     WHERE subject_key > $1 AND subject_key <= $2 AND interaction IS NOT NULL AND occurred_at > $3
                     ORDER BY subject_key, id",
                    Some(since.as_millis()),
                    &mut |row, r| {
                        let Some(interaction) = Interaction::parse(r.try_get(2)?) else {
                            return Ok(());
                        };
                        row.events.push(AudienceEvent {
                            occurred_at: Timestamp::from_millis(r.try_get(1)?),
                            interaction,
                            item_id: r.try_get(3)?,
                            category: crate::campaigns::category_property(r.try_get(4)?),
                        });
                        Ok(())
                    },
                )?;
            }
            scan(
                "SELECT subject_key, profile FROM profiles WHERE subject_key > $1 AND subject_key <= $2",
                None,
                &mut |row, r| {
                    row.profile = crate::sql::profiles::parse(r.try_get(1)?)?;
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, channel FROM unsubscribes WHERE subject_key > $1 AND subject_key <= $2 ORDER BY subject_key, channel COLLATE \"C\"",
                None,
                &mut |row, r| {
                    row.marketing.unsubscribed.push(r.try_get(1)?);
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, time_zone FROM subject_time_zones WHERE subject_key > $1 AND subject_key <= $2",
                None,
                &mut |row, r| {
                    row.marketing.time_zone = Some(r.try_get(1)?);
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, campaign_id, channel, at FROM deliveries
                 WHERE subject_key > $1 AND subject_key <= $2 AND at > $3 ORDER BY subject_key, at, id",
                Some(query.deliveries_since.as_millis()),
                &mut |row, r| {
                    row.marketing.deliveries.push((
                        r.try_get(1)?,
                        r.try_get(2)?,
                        Timestamp::from_millis(r.try_get(3)?),
                    ));
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, since FROM restrictions WHERE subject_key > $1 AND subject_key <= $2",
                None,
                &mut |row, r| {
                    row.restriction = Some(Timestamp::from_millis(r.try_get(1)?));
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, preferences FROM preferences WHERE subject_key > $1 AND subject_key <= $2",
                None,
                &mut |row, r| {
                    row.preferences = serde_json::from_str(r.try_get(1)?)
                        .map_err(|_| bad_row("preferences", "document"))?;
                    Ok(())
                },
            )?;
            Ok(rows)
        })
    }

    fn commit_run_impl(&self, run: &NewRun) -> StoreResult<Vec<RunOutcome>> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO cap_locks (channel) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&run.channel],
            )?;
            tx.execute(
                "SELECT channel FROM cap_locks WHERE channel = $1 FOR UPDATE",
                &[&run.channel],
            )?;
            // After the channel lock, which acknowledgements take too: none can land between
            // this check and the inserts it decides.
            let held = run.hold_if_flagged
                && (run.flag.is_some()
                    || tx
                        .query_one(
                            "SELECT EXISTS (SELECT 1 FROM fairness_flags WHERE campaign_id = $1 AND acknowledged_at IS NULL)",
                            &[&run.campaign_id],
                        )?
                        .try_get::<_, bool>(0)?);
            if let Some(flag) = &run.flag {
                tx.execute(
                    "INSERT INTO fairness_flags (run_id, campaign_id, parity_ratio, flagged_at, held) VALUES ($1, $2, $3, $4, $5)",
                    &[&run.run_id, &run.campaign_id, &flag.parity_ratio, &run.now.as_millis(), &held],
                )?;
            }
            if run.record_outcomes {
                tx.execute(
                    "INSERT INTO campaign_runs (id, campaign_id, at) VALUES ($1, $2, $3)",
                    &[&run.run_id, &run.campaign_id, &run.now.as_millis()],
                )?;
            }
            run.reserve(
                tx,
                |tx, subjects| cap_use(tx, run, subjects),
                |tx, deliveries, outcomes| {
                    insert_deliveries(tx, run, deliveries, held)?;
                    if run.record_outcomes {
                        insert_outcomes(tx, run, outcomes)?;
                    }
                    Ok(())
                },
            )
        })
    }

    /// Run ids are random: two runs in the same millisecond tie-break arbitrarily but stably.
    fn stream_run_impl(
        &self,
        run: &NewRun,
        decide: &mut dyn FnMut(&dyn crate::RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<crate::NewFlag>>,
    ) -> StoreResult<crate::CommittedRun> {
        crate::stream_buffered(self, run, decide, measure)
    }

    fn latest_run_impl(&self, campaign_id: &str) -> StoreResult<Option<RunRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT id, campaign_id, at FROM campaign_runs WHERE campaign_id = ?1
                 ORDER BY at DESC, id DESC LIMIT 1",
                params![campaign_id],
                run_from_row,
            )
        })
    }

    fn run_outcomes_impl(&self, run_id: &str) -> StoreResult<Vec<RunOutcome>> {
        self.read(|c| {
            c.query(
                "SELECT subject_key, selected, reason FROM run_outcomes WHERE run_id = $1 ORDER BY subject_key",
                &[&run_id],
            )?
            .iter()
            .map(|r| {
                Ok(RunOutcome {
                    subject: key_from(r.try_get(0)?)?,
                    selected: r.try_get(1)?,
                    reason: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn subject_outcomes_impl(
        &self,
        key: &SubjectKey,
        limit: u32,
    ) -> StoreResult<Vec<SubjectOutcome>> {
        self.read(|c| {
            c.query(
                "SELECT o.run_id, r.campaign_id, r.at, o.selected, o.reason
                 FROM run_outcomes o JOIN campaign_runs r ON r.id = o.run_id
                 WHERE o.subject_key = $1 ORDER BY r.at DESC, o.run_id COLLATE \"C\" LIMIT $2",
                &[&key.as_bytes().as_slice(), &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(SubjectOutcome {
                    run_id: r.try_get(0)?,
                    campaign_id: r.try_get(1)?,
                    at: Timestamp::from_millis(r.try_get(2)?),
                    selected: r.try_get(3)?,
                    reason: r.try_get(4)?,
                })
            })
            .collect()
        })
    }
}
