//! Ingestion on SQLite: group commit of event batches and the profiles they update.

use std::sync::{Arc, Mutex};

use candor_domain::SubjectKey;
use candor_domain::consent::SubjectFacts;
use candor_domain::policy::Interaction;
use candor_domain::profile::ProfileEvent;
use candor_domain::time::{DAY_MS, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::conn::SqliteConn;
use crate::sql::events::purposes_text;
use crate::sql::{DbResult, Ingest, audit, consent, profiles};
use crate::{EventBatch, IngestCommit, InsertOutcome, StoreResult};

/// One caller's planned batch waiting for a group commit, and the slot its result goes into.
pub(super) struct Pending {
    commit: IngestCommit,
    result: Arc<Mutex<Option<StoreResult<Vec<InsertOutcome>>>>>,
}

/// The queue of batches waiting to be committed together.
///
/// Group commit without a dedicated thread: every caller enqueues its batch, then takes the
/// writer lock. Whoever gets the lock commits *everything* queued in one transaction (one
/// fsync) and fills each caller's slot before releasing the lock, so a caller that gets the
/// lock afterwards finds its result ready and returns at once. Under load one fsync serves
/// many requests; with no load a batch commits alone with no added latency.
#[derive(Default)]
pub(super) struct CommitQueue(Mutex<Vec<Pending>>);

/// One table per kind: retention deletes rows, nothing is partitioned or queued.
impl crate::sql::Partitions for SqliteStore {}

impl Ingest for SqliteStore {
    fn commit_ingest_impl(&self, commit: IngestCommit) -> StoreResult<Vec<InsertOutcome>> {
        commit_ingest(self, commit)
    }
}

fn commit_ingest(store: &SqliteStore, commit: IngestCommit) -> StoreResult<Vec<InsertOutcome>> {
    let slot = Arc::new(Mutex::new(None));
    store
        .queue
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Pending {
            commit,
            result: Arc::clone(&slot),
        });
    let mut conn = store.writer.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(done) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return done;
    }
    let jobs = std::mem::take(&mut *store.queue.0.lock().unwrap_or_else(|p| p.into_inner()));
    match commit_group(&mut conn, &jobs) {
        Ok(results) => {
            for (job, r) in jobs.iter().zip(results) {
                *job.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(r));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            let mapped = super::map_db_err(e);
            for job in &jobs {
                let err = match &mapped {
                    crate::StoreError::Unavailable(_) => {
                        crate::StoreError::Unavailable(msg.clone())
                    }
                    crate::StoreError::Conflict(_) => crate::StoreError::Conflict(msg.clone()),
                    crate::StoreError::NotFound => crate::StoreError::NotFound,
                    crate::StoreError::Other(_) => crate::StoreError::Other(msg.clone()),
                };
                *job.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(err));
            }
        }
    }
    drop(conn);
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_else(|| {
            Err(crate::StoreError::Other(
                "group commit finished without a result".into(),
            ))
        })
}

fn commit_group(conn: &mut Connection, jobs: &[Pending]) -> DbResult<Vec<Vec<InsertOutcome>>> {
    let tx = conn.transaction()?;
    let mut all = Vec::with_capacity(jobs.len());
    for job in jobs {
        all.push(write_commit(&tx, &job.commit)?);
    }
    tx.commit()?;
    Ok(all)
}

/// One planned batch inside the group's transaction: its subjects' facts, its consents, its audit entries (after
/// the chain's head, in order), then its events.
fn write_commit(tx: &Transaction<'_>, commit: &IngestCommit) -> DbResult<Vec<InsertOutcome>> {
    let now = commit.batch.now.unwrap_or(Timestamp::EPOCH);
    let mut conn = SqliteConn(tx);
    for (key, facts) in &commit.subjects {
        consent::upsert_subject(&mut conn, key, facts, now)?;
    }
    for (key, records) in &commit.consents {
        consent::append_consents(&mut conn, key, &SubjectFacts::default(), records, now)?;
    }
    for draft in &commit.audit {
        audit::append(&mut conn, draft)?;
    }
    write_batch(tx, &commit.batch)
}

fn write_batch(tx: &Transaction<'_>, batch: &EventBatch) -> DbResult<Vec<InsertOutcome>> {
    let now = batch.now.unwrap_or(Timestamp::EPOCH);
    let mut seen = tx.prepare_cached(
        "INSERT INTO seen_messages (message_hash, seen_at) VALUES (?1, ?2)
         ON CONFLICT (message_hash) DO UPDATE SET seen_at = excluded.seen_at WHERE seen_messages.seen_at < ?3",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (subject_key, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut extend_session = tx.prepare_cached(
        "UPDATE events SET expires_at = ?2 WHERE subject_key = ?1 AND session_only = 1 AND expires_at < ?2",
    )?;
    let mut outcomes = Vec::with_capacity(batch.events.len());
    let mut profile_updates: Vec<(SubjectKey, Interaction, Option<String>, String, Timestamp)> =
        Vec::new();
    for e in &batch.events {
        // A message id counts as new if unseen, or last seen before the dedupe window.
        let fresh = seen.execute(params![
            e.message_hash.as_slice(),
            now.as_millis(),
            now.as_millis() - batch.dedupe_window_ms
        ])? == 1;
        if !fresh {
            outcomes.push(InsertOutcome::Duplicate);
            continue;
        }
        insert.execute(params![
            e.subject.as_bytes().as_slice(),
            e.event_type,
            e.item_id,
            e.properties,
            purposes_text(&e.purposes),
            e.occurred_at.as_millis(),
            now.as_millis(),
            e.expires_at.as_millis(),
            i64::from(e.session_only),
            e.profile.map(Interaction::as_str),
        ])?;
        outcomes.push(InsertOutcome::Stored {
            id: tx.last_insert_rowid(),
        });
        if e.session_only {
            // Activity keeps the visit alive: every session-only event lives until the
            // subject has been inactive for the timeout.
            extend_session.execute(params![
                e.subject.as_bytes().as_slice(),
                e.expires_at.as_millis()
            ])?;
        }
        if let Some(i) = e.profile {
            profile_updates.push((
                e.subject,
                i,
                e.item_id.clone(),
                e.properties.clone(),
                e.occurred_at,
            ));
        }
    }
    let day = now.as_millis().div_euclid(DAY_MS);
    let mut count = tx.prepare_cached(
        "INSERT INTO drop_counters (day, event_type, reason, n) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (day, event_type, reason) DO UPDATE SET n = n + 1",
    )?;
    for (event_type, reason) in &batch.drops {
        count.execute(params![day, event_type, reason])?;
    }
    // Apply profile updates subject by subject: one read and one write per subject.
    profile_updates.sort_by_key(|u| u.0);
    // A batch names the same few items many times: look each up once.
    let mut item_categories: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    let mut lookup = tx.prepare_cached("SELECT categories FROM items WHERE item_id = ?1")?;
    let conn = &mut SqliteConn(tx);
    let mut i = 0;
    while i < profile_updates.len() {
        let subject = profile_updates[i].0;
        let mut profile = profiles::load(conn, &subject)?.unwrap_or_default();
        while i < profile_updates.len() && profile_updates[i].0 == subject {
            let (_, interaction, item, props, at) = &profile_updates[i];
            let catalog = match item {
                Some(id) => match item_categories.get(id) {
                    Some(c) => c.clone(),
                    None => {
                        let text: Option<String> =
                            lookup.query_row([id], |r| r.get(0)).optional()?;
                        let c: Vec<String> = text
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or_default();
                        item_categories.insert(id.clone(), c.clone());
                        c
                    }
                },
                None => Vec::new(),
            };
            // The event's own `category` property counts only without catalog categories.
            let category = if catalog.is_empty() {
                profiles::category_property(props)
            } else {
                None
            };
            let event = ProfileEvent {
                interaction: *interaction,
                catalog: &catalog,
                category: category.as_deref(),
                at: *at,
            };
            profile.fold(&event, batch.half_life_days);
            i += 1;
        }
        profiles::save(conn, &subject, &profile, now)?;
    }
    Ok(outcomes)
}
