//! Segments, campaigns, runs, the outbox and unsubscribes on SQLite.
//!
//! Cap reservations are exact because SQLite has one writer: a run's transaction holds the
//! writer connection from the first count to the commit, so no other run can slip a delivery
//! in between a count and the insert it justifies.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{AgeBand, SubjectFacts};
use candor_domain::time::Timestamp;
use rusqlite::{Connection, params};

use super::{SqliteStore, bad_row, map_err};
use candor_domain::policy::Interaction;

use crate::{
    AudienceEvent, AudienceQuery, AudienceRow, CampaignRecord, CapUse, CommittedRun, NewDelivery,
    NewFlag, NewOutcome, NewRun, RunOutcome, RunRecord, RunSink, SegmentRecord, StoreResult,
    SubjectOutcome,
};

pub(super) fn key_from(bytes: Vec<u8>) -> rusqlite::Result<SubjectKey> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(SubjectKey::from_bytes)
        .map_err(|_| bad_row("subject key", "of wrong length"))
}

/// `(?, ?, ...), (?, ...)`: `rows` tuples of `cols` placeholders, for multi-row statements.
fn placeholders(rows: usize, cols: usize) -> String {
    let row = format!("({})", super::marks(cols));
    vec![row; rows].join(", ")
}

/// The cap use of each of `subjects` in one grouped read (over `deliveries_by_subject`).
fn cap_use(
    conn: &Connection,
    run: &NewRun,
    subjects: &[&SubjectKey],
) -> rusqlite::Result<HashMap<SubjectKey, CapUse>> {
    let (channel_since, campaign_since) = (
        run.window_start(run.channel_cap),
        run.campaign_window_start(),
    );
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT subject_key, sum(channel = ?1 AND at > ?2), sum(campaign_id = ?3 AND at > ?4)
         FROM deliveries WHERE at > ?5 AND subject_key IN ({})
         GROUP BY subject_key",
        super::marks(subjects.len())
    ))?;
    let since = channel_since.min(campaign_since);
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![
        &run.channel,
        &channel_since,
        &run.campaign_id,
        &campaign_since,
        &since,
    ];
    let keys: Vec<&[u8]> = subjects.iter().map(|k| k.as_bytes().as_slice()).collect();
    values.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
    let mut used = HashMap::with_capacity(subjects.len());
    let mut rows = stmt.query(values.as_slice())?;
    while let Some(r) = rows.next()? {
        let count = |i| {
            r.get::<_, i64>(i)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        used.insert(
            key_from(r.get(0)?)?,
            CapUse {
                channel: count(1)?,
                campaign: count(2)?,
            },
        );
    }
    Ok(used)
}

/// Queues a page of deliveries; `held` ones wait for a fairness flag's acknowledgement.
///
/// `OR IGNORE` rather than `ON CONFLICT DO NOTHING`: both skip a repeated idempotency key (the
/// only constraint these rows can meet), but a statement that could abort halfway needs a
/// statement journal to undo its first rows, and keeping and freeing that journal for every
/// chunk was a large part of a big run's writing.
fn insert_deliveries(
    conn: &Connection,
    run: &NewRun,
    deliveries: &[(&SubjectKey, &NewDelivery)],
    held: bool,
) -> rusqlite::Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO deliveries (subject_key, idempotency_key, payload, campaign_id, run_id, channel, at, attempts, next_attempt_at, held)
         SELECT column1, column2, column3, ?1, ?2, ?3, ?4, 0, ?4, ?5 FROM (VALUES {})",
        placeholders(deliveries.len(), 3)
    ))?;
    let now = run.now.as_millis();
    let mut values: Vec<&dyn rusqlite::ToSql> =
        vec![&run.campaign_id, &run.run_id, &run.channel, &now, &held];
    for (subject, d) in deliveries {
        values.push(subject.as_bytes());
        values.push(&d.idempotency_key);
        values.push(&d.payload);
    }
    stmt.execute(values.as_slice())?;
    Ok(())
}

/// The code of an exclusion reason, added to `outcome_reasons` the first time it is seen.
fn reason_code(conn: &Connection, reason: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO outcome_reasons (reason) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute([reason])?;
    conn.prepare_cached("SELECT code FROM outcome_reasons WHERE reason = ?1")?
        .query_row([reason], |r| r.get(0))
}

/// Writes a chunk of a run's outcomes under the run's `seq` (see migration 9).
fn insert_outcomes(conn: &Connection, seq: i64, outcomes: &[RunOutcome]) -> rusqlite::Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    // A handful of distinct reasons per chunk: one code lookup each.
    let mut codes: Vec<(&str, i64)> = Vec::new();
    let mut coded: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        coded.push(match o.reason.as_deref() {
            None => None,
            Some(reason) => Some(match codes.iter().find(|(r, _)| *r == reason) {
                Some((_, code)) => *code,
                None => {
                    let code = reason_code(conn, reason)?;
                    codes.push((reason, code));
                    code
                }
            }),
        });
    }
    let mut stmt = conn.prepare_cached(&format!(
        // `OR FAIL`: a repeated subject (which a run never writes) fails the run, whose
        // transaction then rolls back whole, so the statement needs no journal of its own.
        "INSERT OR FAIL INTO run_outcomes (run, subject_key, reason)
         SELECT ?1, column1, column2 FROM (VALUES {})",
        placeholders(outcomes.len(), 2)
    ))?;
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&seq];
    for (o, code) in outcomes.iter().zip(&coded) {
        values.push(o.subject.as_bytes());
        values.push(code);
    }
    stmt.execute(values.as_slice())?;
    Ok(())
}

/// Whether the campaign has a flag no operator has acknowledged yet.
fn unacknowledged_flag(conn: &Connection, campaign_id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM fairness_flags WHERE campaign_id = ?1 AND acknowledged_at IS NULL)",
        [campaign_id],
        |r| r.get::<_, bool>(0),
    )
}

fn insert_flag(
    conn: &Connection,
    run: &NewRun,
    flag: &NewFlag,
    held: bool,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO fairness_flags (run_id, campaign_id, parity_ratio, flagged_at, held) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![run.run_id, run.campaign_id, flag.parity_ratio, run.now.as_millis(), held],
    )?;
    Ok(())
}

/// Records the run; returns its `seq`, which its outcomes are stored under.
fn insert_run(conn: &Connection, run: &NewRun) -> rusqlite::Result<i64> {
    conn.query_row(
        "INSERT INTO campaign_runs (id, campaign_id, at) VALUES (?1, ?2, ?3) RETURNING seq",
        params![run.run_id, run.campaign_id, run.now.as_millis()],
        |r| r.get(0),
    )
}

/// The writer connection inside a streamed run's transaction, with the final outcomes so far.
struct StreamedRun<'a> {
    state: std::sync::Mutex<(&'a mut Connection, Vec<RunOutcome>)>,
    run: &'a NewRun,
    /// The run's `seq`, when it keeps its outcomes.
    seq: Option<i64>,
    held: bool,
}

impl RunSink for StreamedRun<'_> {
    fn write(&self, outcomes: Vec<NewOutcome>) -> StoreResult<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (conn, out) = &mut *state;
        let (run, seq, held) = (self.run, self.seq, self.held);
        run.reserve_chunks(
            &mut &**conn,
            &outcomes,
            &|c, subjects| cap_use(c, run, subjects),
            &|c, deliveries, outcomes| {
                insert_deliveries(c, run, deliveries, held)?;
                if let Some(seq) = seq {
                    insert_outcomes(c, seq, outcomes)?;
                }
                Ok(())
            },
            out,
        )
        .map_err(map_err)
    }
}

/// The body of [`SqliteStore::stream_run_impl`], inside its transaction.
fn stream_in_transaction(
    conn: &mut Connection,
    run: &NewRun,
    decide: &mut dyn FnMut(&dyn RunSink) -> StoreResult<()>,
    measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<NewFlag>>,
) -> StoreResult<CommittedRun> {
    let held_before =
        run.hold_if_flagged && unacknowledged_flag(conn, &run.campaign_id).map_err(map_err)?;
    let seq = match run.record_outcomes {
        true => Some(insert_run(conn, run).map_err(map_err)?),
        false => None,
    };
    let sink = StreamedRun {
        state: std::sync::Mutex::new((conn, Vec::new())),
        run,
        seq,
        held: held_before,
    };
    decide(&sink)?;
    let (conn, outcomes) = sink.state.into_inner().unwrap_or_else(|p| p.into_inner());
    let flag = measure(&outcomes)?;
    let held = held_before || (run.hold_if_flagged && flag.is_some());
    if let Some(flag) = &flag {
        insert_flag(conn, run, flag, held).map_err(map_err)?;
    }
    if held && !held_before {
        conn.execute(
            "UPDATE deliveries SET held = 1 WHERE run_id = ?1",
            [&run.run_id],
        )
        .map_err(map_err)?;
    }
    // Held as the default `stream_run` reports it: a run that queued nothing holds nothing.
    let held = held && outcomes.iter().any(|o| o.selected);
    Ok(CommittedRun { outcomes, held })
}

use crate::sql::campaigns::{campaign_from_row, run_from_row, segment_from_row};
use crate::sql::{CampaignBackend, SqlBackend};

impl CampaignBackend for SqliteStore {
    fn segments_impl(&self) -> StoreResult<Vec<SegmentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT id, name, purpose, rule, created_at FROM segments ORDER BY rowid",
                crate::sql::params![],
                segment_from_row,
            )
        })
    }

    fn campaigns_impl(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT id, segment_id, spec, created_at FROM campaigns ORDER BY rowid",
                crate::sql::params![],
                campaign_from_row,
            )
        })
    }

    /// One page of subjects with a handful of range scans over the key-ordered indexes,
    /// instead of nine point reads per subject.
    fn audience_page_impl(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        query: &AudienceQuery,
    ) -> StoreResult<Vec<AudienceRow>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let last_key = query.last_key();
        self.read(|c| {
            let mut rows: Vec<AudienceRow> = c
                .prepare_cached(
                    "SELECT subject_key, age_band, country FROM subjects WHERE subject_key > ?1 AND subject_key <= ?3 ORDER BY subject_key LIMIT ?2",
                )?
                .query_map(params![after, i64::from(limit), last_key.as_slice()], |r| {
                    let band: Option<String> = r.get(1)?;
                    let facts = SubjectFacts {
                        age_band: band.as_deref().and_then(AgeBand::parse),
                        country: r.get(2)?,
                    };
                    Ok(AudienceRow::new(key_from(r.get(0)?)?, facts))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let Some(last) = rows.last().map(|r| r.key.as_bytes().to_vec()) else {
                return Ok(rows);
            };
            let index: HashMap<[u8; 32], usize> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| (*r.key.as_bytes(), i))
                .collect();
            // Each scan returns (subject key, row). Keys in the range that are not in the page
            // belong to rows of subjects with no subject record (not in the audience): skipped.
            let slot = |r: &rusqlite::Row<'_>, col: usize| -> rusqlite::Result<Option<usize>> {
                let bytes = r.get_ref(col)?.as_blob()?;
                Ok(<[u8; 32]>::try_from(bytes)
                    .ok()
                    .and_then(|k| index.get(&k).copied()))
            };
            // Runs `sql` over the page's key range (an extra parameter after the two bounds),
            // and hands each row that belongs to a subject of the page to `fill`. The subject
            // key is the first column, or the last where `fill` reads a shared row layout.
            let mut scan = |sql: &str,
                            extra: Option<i64>,
                            fill: &mut dyn FnMut(&mut AudienceRow, &rusqlite::Row<'_>) -> rusqlite::Result<()>|
             -> rusqlite::Result<()> {
                let mut stmt = c.prepare_cached(sql)?;
                let key_col = if sql.starts_with("SELECT subject_key") {
                    0
                } else {
                    stmt.column_count() - 1
                };
                let mut q = match extra {
                    Some(x) => stmt.query(params![after, last, x])?,
                    None => stmt.query(params![after, last])?,
                };
                while let Some(r) = q.next()? {
                    if let Some(i) = slot(r, key_col)? {
                        fill(&mut rows[i], r)?;
                    }
                }
                Ok(())
            };
            scan(
                &format!(
                    "SELECT {}, subject_key FROM consents WHERE subject_key > ?1 AND subject_key <= ?2 ORDER BY subject_key, id",
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
                     WHERE subject_key > ?1 AND subject_key <= ?2 AND interaction IS NOT NULL AND occurred_at > ?3
                     ORDER BY subject_key, id",
                    Some(since.as_millis()),
                    &mut |row, r| {
                        let interaction = r.get_ref(2)?.as_str()?;
                        let Some(interaction) = Interaction::parse(interaction) else {
                            return Ok(());
                        };
                        row.events.push(AudienceEvent {
                            occurred_at: Timestamp::from_millis(r.get(1)?),
                            interaction,
                            item_id: r.get(3)?,
                            category: crate::campaigns::category_property(
                                r.get_ref(4)?.as_str()?,
                            ),
                        });
                        Ok(())
                    },
                )?;
            }
            scan(
                "SELECT subject_key, profile FROM profiles WHERE subject_key > ?1 AND subject_key <= ?2",
                None,
                &mut |row, r| {
                    row.profile = Some(
                        serde_json::from_str(r.get_ref(1)?.as_str()?)
                            .map_err(|_| bad_row("profile", "unreadable"))?,
                    );
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, channel FROM unsubscribes WHERE subject_key > ?1 AND subject_key <= ?2 ORDER BY subject_key, channel",
                None,
                &mut |row, r| {
                    row.marketing.unsubscribed.push(r.get(1)?);
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, time_zone FROM subject_time_zones WHERE subject_key > ?1 AND subject_key <= ?2",
                None,
                &mut |row, r| {
                    row.marketing.time_zone = Some(r.get(1)?);
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, campaign_id, channel, at FROM deliveries
                 WHERE subject_key > ?1 AND subject_key <= ?2 AND at > ?3 ORDER BY subject_key, at, id",
                Some(query.deliveries_since.as_millis()),
                &mut |row, r| {
                    row.marketing.deliveries.push((
                        r.get(1)?,
                        r.get(2)?,
                        Timestamp::from_millis(r.get(3)?),
                    ));
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, since FROM restrictions WHERE subject_key > ?1 AND subject_key <= ?2",
                None,
                &mut |row, r| {
                    row.restriction = Some(Timestamp::from_millis(r.get(1)?));
                    Ok(())
                },
            )?;
            scan(
                "SELECT subject_key, preferences FROM preferences WHERE subject_key > ?1 AND subject_key <= ?2",
                None,
                &mut |row, r| {
                    row.preferences = serde_json::from_str(r.get_ref(1)?.as_str()?)
                        .map_err(|_| bad_row("preferences", "unreadable"))?;
                    Ok(())
                },
            )?;
            Ok(rows)
        })
    }

    fn commit_run_impl(&self, run: &NewRun) -> StoreResult<Vec<RunOutcome>> {
        self.write(|c| {
            let tx = c.transaction()?;
            // Inside the writer's transaction: no acknowledgement can land between this check
            // and the inserts it decides.
            let held = run.hold_if_flagged
                && (run.flag.is_some() || unacknowledged_flag(&tx, &run.campaign_id)?);
            if let Some(flag) = &run.flag {
                insert_flag(&tx, run, flag, held)?;
            }
            let seq = match run.record_outcomes {
                true => Some(insert_run(&tx, run)?),
                false => None,
            };
            let out = run.reserve(
                &mut &*tx,
                |tx, subjects| cap_use(tx, run, subjects),
                |tx, deliveries, outcomes| {
                    insert_deliveries(tx, run, deliveries, held)?;
                    if let Some(seq) = seq {
                        insert_outcomes(tx, seq, outcomes)?;
                    }
                    Ok(())
                },
            )?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// A streamed run holds the writer from its first batch to its commit, in one transaction:
    /// batches are reserved and written as the audience is decided (by whichever deciding
    /// thread hands them over), so writing overlaps deciding, and caps stay exact because no
    /// other writer can come in between. Deliveries are written held only when the campaign
    /// already has an unacknowledged flag; a run the measure flags (with the policy holding
    /// flagged campaigns) holds the rest before the commit makes any of them visible.
    fn stream_run_impl(
        &self,
        run: &NewRun,
        decide: &mut dyn FnMut(&dyn RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<NewFlag>>,
    ) -> StoreResult<CommittedRun> {
        let mut conn = self.writer_connection();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
        let result = stream_in_transaction(&mut conn, run, decide, measure).and_then(|committed| {
            conn.execute_batch("COMMIT")
                .map_err(map_err)
                .map(|()| committed)
        });
        if result.is_err() {
            // Whatever failed, deciding, measuring or the commit itself, none of the run stays.
            let _ = conn.execute_batch("ROLLBACK");
        }
        result
    }

    /// Run ids are random: two runs in the same millisecond tie-break arbitrarily but stably.
    fn latest_run_impl(&self, campaign_id: &str) -> StoreResult<Option<RunRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT id, campaign_id, at FROM campaign_runs WHERE campaign_id = ?1
                 ORDER BY at DESC, rowid DESC LIMIT 1",
                crate::sql::params![campaign_id],
                run_from_row,
            )
        })
    }

    fn run_outcomes_impl(&self, run_id: &str) -> StoreResult<Vec<RunOutcome>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT o.subject_key, c.reason
                 FROM campaign_runs r
                 JOIN run_outcomes o ON o.run = r.seq
                 LEFT JOIN outcome_reasons c ON c.code = o.reason
                 WHERE r.id = ?1 ORDER BY o.subject_key",
            )?
            .query_map([run_id], |r| {
                let reason: Option<String> = r.get(1)?;
                Ok(RunOutcome {
                    subject: key_from(r.get(0)?)?,
                    selected: reason.is_none(),
                    reason,
                })
            })?
            .collect()
        })
    }

    fn subject_outcomes_impl(
        &self,
        key: &SubjectKey,
        limit: u32,
    ) -> StoreResult<Vec<SubjectOutcome>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT r.id, r.campaign_id, r.at, c.reason
                 FROM run_outcomes o
                 JOIN campaign_runs r ON r.seq = o.run
                 LEFT JOIN outcome_reasons c ON c.code = o.reason
                 WHERE o.subject_key = ?1 ORDER BY r.at DESC, r.id LIMIT ?2",
            )?
            .query_map(params![key.as_bytes().as_slice(), i64::from(limit)], |r| {
                let reason: Option<String> = r.get(3)?;
                Ok(SubjectOutcome {
                    run_id: r.get(0)?,
                    campaign_id: r.get(1)?,
                    at: Timestamp::from_millis(r.get(2)?),
                    selected: reason.is_none(),
                    reason,
                })
            })?
            .collect()
        })
    }
}
