//! Segments, campaigns, runs, fairness flags and the outbox. Committing a run (exact caps
//! across writers), reading an audience page, the run outcomes (stored differently by each
//! backend) and the insertion order of segments, campaigns and runs stay with each backend.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{CampaignBackend, DbResult, Ingest, Row, ServingReads, SqlBackend, params};
use crate::{
    Acknowledgement, AudienceQuery, AudienceRow, CampaignRecord, CampaignStore, CommittedRun,
    DeliveryRecord, FairnessFlag, MarketingState, NewFlag, NewRun, RunOutcome, RunRecord, RunSink,
    SegmentRecord, StoreResult, SubjectOutcome,
};

pub(crate) fn segment_from_row(r: &dyn Row) -> DbResult<SegmentRecord> {
    Ok(SegmentRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        purpose: r.text(2)?,
        rule: r.text(3)?,
        created_at: r.time(4)?,
    })
}

pub(crate) fn campaign_from_row(r: &dyn Row) -> DbResult<CampaignRecord> {
    Ok(CampaignRecord {
        id: r.text(0)?,
        segment_id: r.text(1)?,
        spec: r.text(2)?,
        created_at: r.time(3)?,
    })
}

pub(crate) fn run_from_row(r: &dyn Row) -> DbResult<RunRecord> {
    Ok(RunRecord {
        id: r.text(0)?,
        campaign_id: r.text(1)?,
        at: r.time(2)?,
    })
}

pub(crate) const DELIVERY_COLUMNS: &str = "id, subject_key, campaign_id, run_id, channel, at, idempotency_key, payload, attempts, next_attempt_at, delivered_at, last_error, held";

pub(crate) fn delivery_from_row(r: &dyn Row) -> DbResult<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.i64(0)?,
        subject: r.key(1)?,
        campaign_id: r.text(2)?,
        run_id: r.text(3)?,
        channel: r.text(4)?,
        at: r.time(5)?,
        idempotency_key: r.text(6)?,
        payload: r.opt_text(7)?,
        attempts: u32::try_from(r.i64(8)?).unwrap_or(0),
        next_attempt_at: r.time(9)?,
        delivered_at: r.opt_time(10)?,
        last_error: r.opt_text(11)?,
        held: r.bool(12)?,
    })
}

impl<B: SqlBackend + CampaignBackend + ServingReads + Ingest> CampaignStore for B {
    fn insert_segment(&self, s: &SegmentRecord) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO segments (id, name, purpose, rule, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&s.id, &s.name, &s.purpose, &s.rule, s.created_at],
            )
            .map(drop)
        })
    }

    fn segment(&self, id: &str) -> StoreResult<Option<SegmentRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT id, name, purpose, rule, created_at FROM segments WHERE id = ?1",
                params![id],
                segment_from_row,
            )
        })
    }

    fn segments(&self) -> StoreResult<Vec<SegmentRecord>> {
        self.segments_impl()
    }

    fn insert_campaign(&self, r: &CampaignRecord) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO campaigns (id, segment_id, spec, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![&r.id, &r.segment_id, &r.spec, r.created_at],
            )
            .map(drop)
        })
    }

    fn campaign(&self, id: &str) -> StoreResult<Option<CampaignRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT id, segment_id, spec, created_at FROM campaigns WHERE id = ?1",
                params![id],
                campaign_from_row,
            )
        })
    }

    fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.campaigns_impl()
    }

    fn subject_keys(&self, after: Option<&SubjectKey>, limit: u32) -> StoreResult<Vec<SubjectKey>> {
        let after = after.map_or(&[][..], |k| k.as_bytes().as_slice());
        self.read_sql(&mut |c| {
            c.query(
                "SELECT subject_key FROM subjects WHERE subject_key > ?1 ORDER BY subject_key LIMIT ?2",
                params![after, limit],
                |r| r.key(0),
            )
        })
    }

    fn audience_page(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        query: &AudienceQuery,
    ) -> StoreResult<Vec<AudienceRow>> {
        self.audience_page_impl(after, limit, query)
    }

    fn marketing_state(&self, key: &SubjectKey, since: Timestamp) -> StoreResult<MarketingState> {
        self.read_sql(&mut |c| {
            let unsubscribed = c.query(
                "SELECT channel FROM unsubscribes WHERE subject_key = ?1 ORDER BY channel COLLATE \"C\"",
                params![key],
                |r| r.text(0),
            )?;
            let time_zone = c.query_opt(
                "SELECT time_zone FROM subject_time_zones WHERE subject_key = ?1",
                params![key],
                |r| r.text(0),
            )?;
            let deliveries = c.query(
                "SELECT campaign_id, channel, at FROM deliveries WHERE subject_key = ?1 AND at > ?2
                 ORDER BY at, id",
                params![key, since],
                |r| Ok((r.text(0)?, r.text(1)?, r.time(2)?)),
            )?;
            Ok(MarketingState {
                unsubscribed,
                time_zone,
                deliveries,
            })
        })
    }

    fn set_time_zone(&self, key: &SubjectKey, time_zone: &str) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO subject_time_zones (subject_key, time_zone) VALUES (?1, ?2)
                 ON CONFLICT (subject_key) DO UPDATE SET time_zone = excluded.time_zone",
                params![key, time_zone],
            )
            .map(drop)
        })
    }

    fn unsubscribe(&self, key: &SubjectKey, channel: &str, now: Timestamp) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO unsubscribes (subject_key, channel, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![key, channel, now],
            )
            .map(drop)
        })
    }

    fn commit_run(&self, run: &NewRun) -> StoreResult<Vec<RunOutcome>> {
        self.commit_run_impl(run)
    }

    fn stream_run(
        &self,
        run: &NewRun,
        decide: &mut dyn FnMut(&dyn RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<NewFlag>>,
    ) -> StoreResult<CommittedRun> {
        self.stream_run_impl(run, decide, measure)
    }

    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT id, campaign_id, at FROM campaign_runs WHERE id = ?1",
                params![id],
                run_from_row,
            )
        })
    }

    fn latest_run(&self, campaign_id: &str) -> StoreResult<Option<RunRecord>> {
        self.latest_run_impl(campaign_id)
    }

    fn fairness_flags(
        &self,
        campaign_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<FairnessFlag>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT campaign_id, run_id, parity_ratio, flagged_at, held, acknowledged_at, acknowledgement_note
                 FROM fairness_flags WHERE CAST(?1 AS TEXT) IS NULL OR campaign_id = ?1
                 ORDER BY flagged_at DESC, run_id COLLATE \"C\" LIMIT ?2",
                params![campaign_id, limit],
                |r| {
                    Ok(FairnessFlag {
                        campaign_id: r.text(0)?,
                        run_id: r.text(1)?,
                        parity_ratio: r.f64(2)?,
                        flagged_at: r.time(3)?,
                        held: r.bool(4)?,
                        acknowledged_at: r.opt_time(5)?,
                        acknowledgement_note: r.opt_text(6)?,
                    })
                },
            )
        })
    }

    /// Where several writers run, every channel's cap lock is taken first, in one order: a
    /// run of this campaign (whatever its channel) either committed before, and its held
    /// deliveries are released here, or commits after and sees the flag acknowledged. Runs
    /// lock one row, so no cycle. A single writer keeps runs from committing meanwhile.
    fn acknowledge_fairness_flags(
        &self,
        campaign_id: &str,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<Acknowledgement> {
        self.write_sql(&mut |c| {
            if c.row_locks() {
                c.query(
                    "SELECT channel FROM cap_locks ORDER BY channel FOR UPDATE",
                    params![],
                    |_| Ok(()),
                )?;
            }
            let n_flags = c.execute(
                "UPDATE fairness_flags SET acknowledged_at = ?2, acknowledgement_note = ?3, held = FALSE
                 WHERE campaign_id = ?1 AND acknowledged_at IS NULL",
                params![campaign_id, now, note],
            )?;
            let n_released = c.execute(
                "UPDATE deliveries SET held = FALSE WHERE campaign_id = ?1 AND held",
                params![campaign_id],
            )?;
            let latest = c.query_opt(
                "SELECT acknowledged_at, acknowledgement_note FROM fairness_flags
                 WHERE campaign_id = ?1 AND acknowledged_at IS NOT NULL
                 ORDER BY acknowledged_at DESC, flagged_at DESC LIMIT 1",
                params![campaign_id],
                |r| Ok((r.time(0)?, r.opt_text(1)?.unwrap_or_default())),
            )?;
            Ok(match latest {
                None => Acknowledgement::NotFlagged,
                Some((at, note)) => Acknowledgement::Done {
                    n_flags,
                    n_released,
                    at,
                    note,
                },
            })
        })
    }

    fn held_deliveries(&self, run_id: Option<&str>) -> StoreResult<u64> {
        self.read_sql(&mut |c| {
            c.query_one(
                "SELECT count(*) FROM deliveries
                 WHERE held AND delivered_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR run_id = ?1)",
                params![run_id],
                |r| Ok(u64::try_from(r.i64(0)?).unwrap_or(0)),
            )
        })
    }

    fn run_outcomes(&self, run_id: &str) -> StoreResult<Vec<RunOutcome>> {
        self.run_outcomes_impl(run_id)
    }

    fn subject_outcomes(&self, key: &SubjectKey, limit: u32) -> StoreResult<Vec<SubjectOutcome>> {
        self.subject_outcomes_impl(key, limit)
    }

    fn run_deliveries(&self, run_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE run_id = ?1 ORDER BY id"),
                params![run_id],
                delivery_from_row,
            )
        })
    }

    /// Where several writers run, SKIP LOCKED lets workers on several instances take
    /// disjoint deliveries instead of queueing behind one another.
    fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        self.write_sql(&mut |c| {
            let mut due = c.query(
                &format!(
                    "UPDATE deliveries SET next_attempt_at = ?2, attempts = attempts + 1
                     WHERE id IN (
                        SELECT id FROM deliveries
                        WHERE payload IS NOT NULL AND delivered_at IS NULL AND NOT held
                            AND next_attempt_at <= ?1
                        ORDER BY next_attempt_at, id LIMIT ?3{})
                     RETURNING {DELIVERY_COLUMNS}",
                    c.dialect().skip_locked()
                ),
                params![now, now.as_millis().saturating_add(lease_ms), limit],
                |r| {
                    // RETURNING shows the leased time; callers see when it was due.
                    let mut d = delivery_from_row(r)?;
                    d.next_attempt_at = now;
                    Ok(d)
                },
            )?;
            due.sort_by_key(|d| d.id);
            Ok(due)
        })
    }

    fn delivery_succeeded(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "UPDATE deliveries SET delivered_at = ?2, last_error = NULL
                 WHERE id = ?1 AND delivered_at IS NULL",
                params![id, now],
            )
            .map(drop)
        })
    }

    fn delivery_failed(&self, id: i64, next_attempt_at: Timestamp, error: &str) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "UPDATE deliveries SET next_attempt_at = ?2, last_error = ?3
                 WHERE id = ?1 AND delivered_at IS NULL",
                params![id, next_attempt_at, error],
            )
            .map(drop)
        })
    }

    fn erase_campaign_data(&self, key: &SubjectKey) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            for table in [
                "run_outcomes",
                "deliveries",
                "unsubscribes",
                "subject_time_zones",
            ] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE subject_key = ?1"),
                    params![key],
                )?;
            }
            Ok(())
        })
    }
}
