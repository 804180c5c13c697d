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

use super::{DbError, DbResult, PostgresStore, bad_row};
use candor_domain::policy::Interaction;

use crate::{
    Acknowledgement, AudienceEvent, AudienceQuery, AudienceRow, CampaignRecord, CapUse,
    DeliveryRecord, FairnessFlag, MarketingState, NewDelivery, NewRun, RunOutcome, RunRecord,
    SegmentRecord, StoreResult, SubjectOutcome,
};

pub(super) fn key_from(bytes: Vec<u8>) -> DbResult<SubjectKey> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(SubjectKey::from_bytes)
        .map_err(|_| bad_row("subject key", "of wrong length"))
}

fn segment_from_row(r: &Row) -> DbResult<SegmentRecord> {
    Ok(SegmentRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        purpose: r.try_get(2)?,
        rule: r.try_get(3)?,
        created_at: Timestamp::from_millis(r.try_get(4)?),
    })
}

fn campaign_from_row(r: &Row) -> DbResult<CampaignRecord> {
    Ok(CampaignRecord {
        id: r.try_get(0)?,
        segment_id: r.try_get(1)?,
        spec: r.try_get(2)?,
        created_at: Timestamp::from_millis(r.try_get(3)?),
    })
}

const DELIVERY_COLUMNS: &str = "id, subject_key, campaign_id, run_id, channel, at, idempotency_key, payload, attempts, next_attempt_at, delivered_at, last_error, held";

fn delivery_from_row(r: &Row) -> DbResult<DeliveryRecord> {
    let attempts: i32 = r.try_get(8)?;
    Ok(DeliveryRecord {
        id: r.try_get(0)?,
        subject: key_from(r.try_get(1)?)?,
        campaign_id: r.try_get(2)?,
        run_id: r.try_get(3)?,
        channel: r.try_get(4)?,
        at: Timestamp::from_millis(r.try_get(5)?),
        idempotency_key: r.try_get(6)?,
        payload: r.try_get(7)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: Timestamp::from_millis(r.try_get(9)?),
        delivered_at: r.try_get::<_, Option<i64>>(10)?.map(Timestamp::from_millis),
        last_error: r.try_get(11)?,
        held: r.try_get(12)?,
    })
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
         FROM deliveries WHERE subject_key = ANY($5) AND at > $6
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
         ON CONFLICT (idempotency_key) DO NOTHING",
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

impl PostgresStore {
    pub(super) fn insert_segment_impl(&self, s: &SegmentRecord) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO segments (id, name, purpose, rule, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&s.id, &s.name, &s.purpose, &s.rule, &s.created_at.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn segment_impl(&self, id: &str) -> StoreResult<Option<SegmentRecord>> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, name, purpose, rule, created_at FROM segments WHERE id = $1",
                &[&id],
            )?
            .map(|r| segment_from_row(&r))
            .transpose()
        })
    }

    pub(super) fn segments_impl(&self) -> StoreResult<Vec<SegmentRecord>> {
        self.read(|c| {
            c.query(
                "SELECT id, name, purpose, rule, created_at FROM segments ORDER BY created_at, id COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(segment_from_row)
            .collect()
        })
    }

    pub(super) fn insert_campaign_impl(&self, r: &CampaignRecord) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO campaigns (id, segment_id, spec, created_at) VALUES ($1, $2, $3, $4)",
                &[&r.id, &r.segment_id, &r.spec, &r.created_at.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn campaign_impl(&self, id: &str) -> StoreResult<Option<CampaignRecord>> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, segment_id, spec, created_at FROM campaigns WHERE id = $1",
                &[&id],
            )?
            .map(|r| campaign_from_row(&r))
            .transpose()
        })
    }

    pub(super) fn campaigns_impl(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.read(|c| {
            c.query(
                "SELECT id, segment_id, spec, created_at FROM campaigns ORDER BY seq",
                &[],
            )?
            .iter()
            .map(campaign_from_row)
            .collect()
        })
    }

    pub(super) fn subject_keys_impl(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<SubjectKey>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        self.read(|c| {
            c.query(
                "SELECT subject_key FROM subjects WHERE subject_key > $1 ORDER BY subject_key LIMIT $2",
                &[&after, &i64::from(limit)],
            )?
            .iter()
            .map(|r| key_from(r.try_get(0)?))
            .collect()
        })
    }

    pub(super) fn marketing_state_impl(
        &self,
        key: &SubjectKey,
        since: Timestamp,
    ) -> StoreResult<MarketingState> {
        let k = key.as_bytes().as_slice();
        self.read(|c| {
            let unsubscribed = c
                .query(
                    "SELECT channel FROM unsubscribes WHERE subject_key = $1 ORDER BY channel COLLATE \"C\"",
                    &[&k],
                )?
                .iter()
                .map(|r| r.try_get(0).map_err(DbError::from))
                .collect::<DbResult<Vec<String>>>()?;
            let time_zone = c
                .query_opt(
                    "SELECT time_zone FROM subject_time_zones WHERE subject_key = $1",
                    &[&k],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let deliveries = c
                .query(
                    "SELECT campaign_id, channel, at FROM deliveries WHERE subject_key = $1 AND at > $2 ORDER BY at, id",
                    &[&k, &since.as_millis()],
                )?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get(0)?,
                        r.try_get(1)?,
                        Timestamp::from_millis(r.try_get(2)?),
                    ))
                })
                .collect::<DbResult<Vec<_>>>()?;
            Ok(MarketingState {
                unsubscribed,
                time_zone,
                deliveries,
            })
        })
    }

    /// One page of subjects with a handful of range scans over the key-ordered indexes,
    /// instead of nine round trips per subject. The reads run in one REPEATABLE READ
    /// transaction so the page is one consistent snapshot.
    pub(super) fn audience_page_impl(
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
                    super::CONSENT_COLUMNS
                ),
                None,
                &mut |row, r| {
                    row.consents.push(super::consent_from_row(r)?.1);
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
                    row.profile = super::events::parse_profile(r.try_get(1)?)?;
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

    pub(super) fn set_time_zone_impl(&self, key: &SubjectKey, tz: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO subject_time_zones (subject_key, time_zone) VALUES ($1, $2)
                 ON CONFLICT (subject_key) DO UPDATE SET time_zone = excluded.time_zone",
                &[&key.as_bytes().as_slice(), &tz],
            )?;
            Ok(())
        })
    }

    pub(super) fn unsubscribe_impl(
        &self,
        key: &SubjectKey,
        channel: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO unsubscribes (subject_key, channel, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&key.as_bytes().as_slice(), &channel, &now.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn commit_run_impl(&self, run: &NewRun) -> StoreResult<Vec<RunOutcome>> {
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

    /// The first run matching `filter` (SQL after `WHERE`, with `$1` bound to `value`).
    fn run_where(&self, filter: &str, value: &str) -> StoreResult<Option<RunRecord>> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT id, campaign_id, at FROM campaign_runs WHERE {filter}"),
                &[&value],
            )?
            .map(|r| {
                Ok(RunRecord {
                    id: r.try_get(0)?,
                    campaign_id: r.try_get(1)?,
                    at: Timestamp::from_millis(r.try_get(2)?),
                })
            })
            .transpose()
        })
    }

    pub(super) fn run_impl(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.run_where("id = $1", id)
    }

    pub(super) fn latest_run_impl(&self, campaign_id: &str) -> StoreResult<Option<RunRecord>> {
        // Run ids are random: two runs in the same millisecond tie-break arbitrarily but
        // stably.
        self.run_where(
            "campaign_id = $1 ORDER BY at DESC, id DESC LIMIT 1",
            campaign_id,
        )
    }

    pub(super) fn fairness_flags_impl(
        &self,
        campaign_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<FairnessFlag>> {
        self.read(|c| {
            c.query(
                "SELECT campaign_id, run_id, parity_ratio, flagged_at, held, acknowledged_at, acknowledgement_note
                 FROM fairness_flags WHERE $1::text IS NULL OR campaign_id = $1
                 ORDER BY flagged_at DESC, run_id LIMIT $2",
                &[&campaign_id, &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(FairnessFlag {
                    campaign_id: r.try_get(0)?,
                    run_id: r.try_get(1)?,
                    parity_ratio: r.try_get(2)?,
                    flagged_at: Timestamp::from_millis(r.try_get(3)?),
                    held: r.try_get(4)?,
                    acknowledged_at: r.try_get::<_, Option<i64>>(5)?.map(Timestamp::from_millis),
                    acknowledgement_note: r.try_get(6)?,
                })
            })
            .collect()
        })
    }

    pub(super) fn acknowledge_fairness_flags_impl(
        &self,
        campaign_id: &str,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<Acknowledgement> {
        self.write(|tx| {
            // Every channel's cap lock, in one order: a run of this campaign (whatever its
            // channel) either committed before, and its held deliveries are released here, or
            // commits after and sees the flag acknowledged. Runs lock one row, so no cycle.
            tx.query(
                "SELECT channel FROM cap_locks ORDER BY channel FOR UPDATE",
                &[],
            )?;
            let n_flags = tx.execute(
                "UPDATE fairness_flags SET acknowledged_at = $2, acknowledgement_note = $3, held = FALSE
                 WHERE campaign_id = $1 AND acknowledged_at IS NULL",
                &[&campaign_id, &now.as_millis(), &note],
            )?;
            let n_released = tx.execute(
                "UPDATE deliveries SET held = FALSE WHERE campaign_id = $1 AND held",
                &[&campaign_id],
            )?;
            let latest = tx.query_opt(
                "SELECT acknowledged_at, acknowledgement_note FROM fairness_flags
                 WHERE campaign_id = $1 AND acknowledged_at IS NOT NULL
                 ORDER BY acknowledged_at DESC, flagged_at DESC LIMIT 1",
                &[&campaign_id],
            )?;
            Ok(match latest {
                None => Acknowledgement::NotFlagged,
                Some(r) => Acknowledgement::Done {
                    n_flags,
                    n_released,
                    at: Timestamp::from_millis(r.try_get(0)?),
                    note: r.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
                },
            })
        })
    }

    pub(super) fn held_deliveries_impl(&self, run_id: Option<&str>) -> StoreResult<u64> {
        self.read(|c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM deliveries WHERE held AND delivered_at IS NULL AND ($1::text IS NULL OR run_id = $1)",
                    &[&run_id],
                )?
                .try_get(0)?;
            Ok(n as u64)
        })
    }

    pub(super) fn run_outcomes_impl(&self, run_id: &str) -> StoreResult<Vec<RunOutcome>> {
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

    pub(super) fn subject_outcomes_impl(
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

    pub(super) fn run_deliveries_impl(&self, run_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        self.read(|c| {
            c.query(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE run_id = $1 ORDER BY id"),
                &[&run_id],
            )?
            .iter()
            .map(delivery_from_row)
            .collect()
        })
    }

    pub(super) fn claim_deliveries_impl(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        // SKIP LOCKED: workers on several instances take disjoint deliveries instead of
        // queueing behind one another.
        self.write(|tx| {
            tx.query(
                &format!(
                    "UPDATE deliveries SET next_attempt_at = $2, attempts = attempts + 1
                     WHERE id IN (
                        SELECT id FROM deliveries
                        WHERE payload IS NOT NULL AND delivered_at IS NULL AND NOT held AND next_attempt_at <= $1
                        ORDER BY next_attempt_at, id LIMIT $3
                        FOR UPDATE SKIP LOCKED)
                     RETURNING {DELIVERY_COLUMNS}"
                ),
                &[
                    &now.as_millis(),
                    &now.as_millis().saturating_add(lease_ms),
                    &i64::from(limit),
                ],
            )?
            .iter()
            .map(|r| {
                // RETURNING shows the leased time; callers see when it was due, as on SQLite.
                let mut d = delivery_from_row(r)?;
                d.next_attempt_at = now;
                Ok(d)
            })
            .collect::<DbResult<Vec<_>>>()
            .map(|mut v| {
                v.sort_by_key(|d| d.id);
                v
            })
        })
    }

    pub(super) fn delivery_succeeded_impl(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET delivered_at = $2, last_error = NULL WHERE id = $1 AND delivered_at IS NULL",
                &[&id, &now.as_millis()],
            )?;
            Ok(())
        })
    }

    pub(super) fn delivery_failed_impl(
        &self,
        id: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND delivered_at IS NULL",
                &[&id, &next_attempt_at.as_millis(), &error],
            )?;
            Ok(())
        })
    }

    pub(super) fn erase_campaign_data_impl(&self, key: &SubjectKey) -> StoreResult<()> {
        let k = key.as_bytes().as_slice();
        self.write(|tx| {
            for table in [
                "run_outcomes",
                "deliveries",
                "unsubscribes",
                "subject_time_zones",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE subject_key = $1"),
                    &[&k],
                )?;
            }
            Ok(())
        })
    }
}
