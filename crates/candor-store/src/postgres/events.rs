//! Ingestion on PostgreSQL: one batch in a few set-based statements.
//!
//! Locking order, the same in every transaction so that concurrent ones never wait on each
//! other in a cycle: subjects (sorted by key, for the batch's consents), then message hashes
//! (sorted), then a subject's existing events, then profiles (sorted by subject key), then drop
//! counters (sorted), then the audit chain. The rows every instance shares — drop counters,
//! the audit chain — come last, so their locks are held the shortest.

use std::collections::{BTreeMap, HashMap, HashSet};

use candor_domain::SubjectKey;
use candor_domain::consent::SubjectFacts;
use candor_domain::policy::Interaction;
use candor_domain::profile::ProfileEvent;
use candor_domain::time::{DAY_MS, Timestamp};
use postgres::Transaction;

use super::conn::PgConn;
use super::{DbError, DbResult, PostgresStore};
use crate::sql::events::purposes_text;
use crate::sql::{Ingest, audit, consent, profiles};
use crate::{EventBatch, IngestCommit, InsertOutcome, StoreResult};

/// One event's contribution to its subject's profile.
struct ProfileUpdate<'b> {
    interaction: Interaction,
    item: Option<&'b str>,
    properties: &'b str,
    at: Timestamp,
}

impl Ingest for PostgresStore {
    fn commit_ingest_impl(&self, commit: IngestCommit) -> StoreResult<Vec<InsertOutcome>> {
        let now = commit.batch.now.unwrap_or(Timestamp::EPOCH);
        // Subject rows in key order, as every other step takes its rows: two batches naming
        // the same people in different orders (on one instance or two) then wait on each
        // other instead of deadlocking and running again. Stable, so one subject's facts and
        // records keep their order.
        let mut subjects: Vec<_> = commit.subjects.iter().collect();
        subjects.sort_by_key(|(key, _)| *key);
        let mut consents: Vec<_> = commit.consents.iter().collect();
        consents.sort_by_key(|(key, _)| *key);
        self.write(|tx| {
            {
                let mut conn = PgConn::new(&mut *tx);
                for (key, facts) in &subjects {
                    consent::upsert_subject(&mut conn, key, facts, now)?;
                }
                for (key, records) in &consents {
                    consent::append_consents(
                        &mut conn,
                        key,
                        &SubjectFacts::default(),
                        records,
                        now,
                    )?;
                }
            }
            let outcomes = insert_events(tx, &commit.batch)?;
            // The audit chain last: appending locks the table against every other append
            // (one chain for all instances), so the lock is held only from here to the
            // commit, not while the batch's events and profiles are written.
            let mut conn = PgConn::new(&mut *tx);
            for draft in &commit.audit {
                audit::append(&mut conn, draft)?;
            }
            Ok(outcomes)
        })
    }
}

fn insert_events(tx: &mut Transaction<'_>, batch: &EventBatch) -> DbResult<Vec<InsertOutcome>> {
    let now = batch.now.unwrap_or(Timestamp::EPOCH).as_millis();

    // 1. Idempotency. One upsert claims every distinct message hash of the batch, in sorted
    // order (a fixed lock order). A hash comes back from RETURNING if it was unseen or last
    // seen before the window. A concurrent transaction claiming the same hash waits for this
    // one to finish, then finds it seen: each message id is stored exactly once, whichever
    // instance receives the repeats.
    let mut hashes: Vec<&[u8]> = batch
        .events
        .iter()
        .map(|e| e.message_hash.as_slice())
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut fresh: HashSet<Vec<u8>> = HashSet::with_capacity(hashes.len());
    if !hashes.is_empty() {
        for r in tx.query(
            "INSERT INTO seen_messages (message_hash, seen_at)
             SELECT h, $2 FROM unnest($1::bytea[]) AS t (h) ORDER BY h
             ON CONFLICT (message_hash) DO UPDATE SET seen_at = excluded.seen_at
             WHERE seen_messages.seen_at < $3
             RETURNING message_hash",
            &[&hashes, &now, &(now - batch.dedupe_window_ms)],
        )? {
            fresh.insert(r.try_get(0)?);
        }
    }
    // Within the batch the first event with a hash is stored, later ones are repeats.
    let stored: Vec<bool> = batch
        .events
        .iter()
        .map(|e| fresh.remove(e.message_hash.as_slice()))
        .collect();
    let n_stored = stored.iter().filter(|s| **s).count();

    // 2. Session-only events. Activity keeps the visit alive: every session-only event lives
    // until the subject has been inactive for the timeout. Stored one by one (as SQLite does),
    // each new session-only event raises the expiry of the subject's session-only events that
    // exist by then, so an event's final expiry is the largest among itself and the later
    // session-only events of its subject in this batch; earlier rows get the batch's largest.
    let mut expires: Vec<i64> = batch
        .events
        .iter()
        .map(|e| e.expires_at.as_millis())
        .collect();
    let mut later_max: HashMap<SubjectKey, i64> = HashMap::new();
    for (i, e) in batch.events.iter().enumerate().rev() {
        if !(stored[i] && e.session_only) {
            continue;
        }
        let m = later_max.entry(e.subject).or_insert(expires[i]);
        *m = (*m).max(expires[i]);
        expires[i] = *m;
    }
    let extend: BTreeMap<SubjectKey, i64> = later_max.into_iter().collect();
    for (subject, until) in &extend {
        tx.execute(
            "UPDATE events SET expires_at = $2
             WHERE subject_key = $1 AND session_only AND expires_at < $2",
            &[&subject.as_bytes().as_slice(), until],
        )?;
    }

    // 3. The events themselves, in one statement. Ids are reserved first so they follow the
    // batch's order (RETURNING promises no order).
    let mut outcomes = Vec::with_capacity(batch.events.len());
    if n_stored > 0 {
        let mut ids: Vec<i64> = tx
            .query(
                "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1::bigint)",
                &[&(n_stored as i64)],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        let mut next = ids.iter();
        let mut cols = EventColumns::default();
        for (i, e) in batch.events.iter().enumerate() {
            if !stored[i] {
                outcomes.push(InsertOutcome::Duplicate);
                continue;
            }
            let id = *next
                .next()
                .ok_or_else(|| DbError::BadRow("fewer event ids than events".into()))?;
            outcomes.push(InsertOutcome::Stored { id });
            cols.id.push(id);
            cols.subject.push(e.subject.as_bytes().as_slice());
            cols.event_type.push(&e.event_type);
            cols.item.push(e.item_id.as_deref());
            cols.properties.push(&e.properties);
            cols.purposes.push(purposes_text(&e.purposes));
            cols.occurred.push(e.occurred_at.as_millis());
            cols.expires.push(expires[i]);
            cols.session_only.push(e.session_only);
            cols.interaction.push(e.profile.map(Interaction::as_str));
        }
        tx.execute(
            "INSERT INTO events (id, subject_key, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction)
             SELECT id, s, t, i, p, pu, o, $7, x, so, it
             FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], $8::bigint[], $9::bigint[], $10::bool[], $11::text[])
                AS u (id, s, t, i, p, pu, o, x, so, it)",
            &[
                &cols.id,
                &cols.subject,
                &cols.event_type,
                &cols.item,
                &cols.properties,
                &cols.purposes,
                &now,
                &cols.occurred,
                &cols.expires,
                &cols.session_only,
                &cols.interaction,
            ],
        )?;
    } else {
        outcomes.resize(batch.events.len(), InsertOutcome::Duplicate);
    }

    // 4. Profiles, subject by subject in key order: lock, fold the new interactions, save.
    let mut updates: BTreeMap<SubjectKey, Vec<ProfileUpdate<'_>>> = BTreeMap::new();
    for (i, e) in batch.events.iter().enumerate() {
        if let (true, Some(interaction)) = (stored[i], e.profile) {
            updates.entry(e.subject).or_default().push(ProfileUpdate {
                interaction,
                item: e.item_id.as_deref(),
                properties: &e.properties,
                at: e.occurred_at,
            });
        }
    }
    if !updates.is_empty() {
        let c = &mut PgConn::new(tx);
        let catalog =
            profiles::catalog_categories(c, updates.values().flatten().filter_map(|u| u.item))?;
        for (subject, ups) in &updates {
            let mut profile = profiles::lock(c, subject)?.unwrap_or_default();
            for u in ups {
                let catalog = u
                    .item
                    .and_then(|id| catalog.get(id))
                    .map_or(&[][..], Vec::as_slice);
                // The event's own `category` property counts only without catalog categories.
                let category = if catalog.is_empty() {
                    profiles::category_property(u.properties)
                } else {
                    None
                };
                let event = ProfileEvent {
                    interaction: u.interaction,
                    catalog,
                    category: category.as_deref(),
                    at: u.at,
                };
                profile.fold(&event, batch.half_life_days);
            }
            profiles::save(c, subject, &profile, Timestamp::from_millis(now))?;
        }
    }

    // 5. Anonymous drop counters, summed per key and written in key order, after the
    // profiles: every batch with drops on a day updates the same few rows, whose locks are
    // then held only until the commit.
    let day = now.div_euclid(DAY_MS);
    let mut drops: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (event_type, reason) in &batch.drops {
        *drops.entry((event_type, reason)).or_default() += 1;
    }
    for ((event_type, reason), n) in drops {
        tx.execute(
            "INSERT INTO drop_counters (day, event_type, reason, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (day, event_type, reason) DO UPDATE SET n = drop_counters.n + excluded.n",
            &[&day, &event_type, &reason, &n],
        )?;
    }
    Ok(outcomes)
}

/// The stored columns of a batch's new events, one array per column for `unnest`.
#[derive(Default)]
struct EventColumns<'b> {
    id: Vec<i64>,
    subject: Vec<&'b [u8]>,
    event_type: Vec<&'b str>,
    item: Vec<Option<&'b str>>,
    properties: Vec<&'b str>,
    purposes: Vec<String>,
    occurred: Vec<i64>,
    expires: Vec<i64>,
    session_only: Vec<bool>,
    interaction: Vec<Option<&'static str>>,
}
