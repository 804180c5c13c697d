//! Ingestion on PostgreSQL: one batch in a few set-based statements, one per table, each a
//! single round trip on a statement the pooled connection keeps prepared.
//!
//! Locking order, the same in every transaction so that concurrent ones (in any number of
//! instances) never wait on each other in a cycle:
//!
//! 1. subjects whose facts or consents the batch writes (sorted by key);
//! 2. message hashes (sorted);
//! 3. a subject's existing session-only events (sorted by subject key, then id);
//! 4. profiles (sorted by subject key): placeholders for the missing ones first, then one
//!    `FOR UPDATE` over all of them;
//! 5. drop counters (sorted);
//! 6. last, the audit log's table lock, when the batch appends to the chain.
//!
//! The rows every batch of every instance shares come last — the day's drop counters, then
//! the audit log's lock, which every appending transaction takes — so they are held only for
//! what follows them and the commit, never while the transaction waits for a row another
//! one holds.

use std::collections::{BTreeMap, HashMap, HashSet};

use candor_accountability::audit::AuditDraft;
use candor_domain::SubjectKey;
use candor_domain::consent::{ConsentRecord, SubjectFacts};
use candor_domain::policy::Interaction;
use candor_domain::profile::{Profile, ProfileEvent};
use candor_domain::time::{DAY_MS, Timestamp};
use postgres::Transaction;

use super::campaigns::key_from;
use super::conn::PgConn;
use super::{DbError, DbResult, PostgresStore};
use crate::accountability::{chain_next, details_to_json};
use crate::sql::events::purposes_text;
use crate::sql::{Conn, Ingest, Lock, bad_row, profiles};
use crate::{EventBatch, IngestCommit, InsertOutcome, StoreResult};

type Tx<'c, 't> = PgConn<'c, Transaction<'t>>;

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
        self.write_pg(|c| {
            upsert_subjects(c, &commit.subjects, &commit.consents, now)?;
            append_consents(c, &commit.consents)?;
            let outcomes = insert_events(c, &commit.batch)?;
            append_audit(c, &commit.audit)?;
            Ok(outcomes)
        })
    }
}

/// Creates the subjects the batch states facts for or appends consents to, and updates the
/// facts that are `Some`: one upsert, in key order. Each key's facts are merged in the order
/// given (a later `Some` wins), as one upsert per entry would leave them.
fn upsert_subjects(
    c: &mut Tx<'_, '_>,
    subjects: &[(SubjectKey, SubjectFacts)],
    consents: &[(SubjectKey, Vec<ConsentRecord>)],
    now: Timestamp,
) -> DbResult<()> {
    let mut merged: BTreeMap<SubjectKey, SubjectFacts> = BTreeMap::new();
    for (key, facts) in subjects {
        let m = merged.entry(*key).or_default();
        if facts.age_band.is_some() {
            m.age_band = facts.age_band;
        }
        if facts.country.is_some() {
            m.country.clone_from(&facts.country);
        }
    }
    for (key, _) in consents {
        merged.entry(*key).or_default();
    }
    if merged.is_empty() {
        return Ok(());
    }
    let keys: Vec<&[u8]> = merged.keys().map(|k| k.as_bytes().as_slice()).collect();
    let bands: Vec<Option<String>> = merged
        .values()
        .map(|f| f.age_band.map(|b| b.to_string()))
        .collect();
    let countries: Vec<Option<&str>> = merged.values().map(|f| f.country.as_deref()).collect();
    // The conflict action locks the existing row even where its WHERE is false, so a subject
    // whose facts do not change is locked without writing a new row version.
    c.pg_execute(
        "INSERT INTO subjects (subject_key, age_band, country, created_at)
         SELECT k, b, co, $4 FROM unnest($1::bytea[], $2::text[], $3::text[]) AS u (k, b, co)
         ORDER BY k
         ON CONFLICT (subject_key) DO UPDATE SET
            age_band = coalesce(excluded.age_band, subjects.age_band),
            country = coalesce(excluded.country, subjects.country)
         WHERE excluded.age_band IS NOT NULL OR excluded.country IS NOT NULL",
        &[&keys, &bands, &countries, &now.as_millis()],
    )?;
    Ok(())
}

/// Appends every consent record of the batch in one insert. Ids follow the batch's order
/// (subject by subject, oldest record first), which is the ledger's order.
fn append_consents(
    c: &mut Tx<'_, '_>,
    consents: &[(SubjectKey, Vec<ConsentRecord>)],
) -> DbResult<()> {
    let records = consents
        .iter()
        .flat_map(|(key, records)| records.iter().map(move |r| (key, r)));
    let mut cols = ConsentColumns::default();
    for (key, r) in records {
        cols.subject.push(key.as_bytes().as_slice());
        cols.purpose.push(r.purpose.as_str());
        cols.decision.push(r.decision.as_str());
        cols.purpose_version.push(r.purpose_version.as_str());
        cols.policy_version.push(r.policy_version.as_str());
        cols.source.push(r.source.as_str());
        cols.bulk.push(r.bulk);
        cols.evidence.push(&r.evidence);
        cols.at.push(r.at.as_millis());
    }
    if cols.subject.is_empty() {
        return Ok(());
    }
    c.pg_execute(
        "INSERT INTO consents (subject_key, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at)
         SELECT s, pu, d, pv, po, so, b, e, a
         FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::bigint[])
            WITH ORDINALITY AS u (s, pu, d, pv, po, so, b, e, a, n)
         ORDER BY n",
        &[
            &cols.subject,
            &cols.purpose,
            &cols.decision,
            &cols.purpose_version,
            &cols.policy_version,
            &cols.source,
            &cols.bulk,
            &cols.evidence,
            &cols.at,
        ],
    )?;
    Ok(())
}

/// Appends the batch's audit entries to the chain: the table lock (which every append takes,
/// in every instance, so the chain stays linear), one read of the head, the entries linked in
/// memory, one insert in chain order.
fn append_audit(c: &mut Tx<'_, '_>, drafts: &[AuditDraft]) -> DbResult<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    c.lock_table("audit_log", Lock::Exclusive)?;
    let mut head: Option<(i64, Vec<u8>)> = c
        .pg_query(
            "SELECT seq, hash FROM audit_log ORDER BY pos DESC LIMIT 1",
            &[],
        )?
        .first()
        .map(|r| Ok::<_, DbError>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
    let mut cols = AuditColumns::default();
    for draft in drafts {
        let entry = chain_next(head.take(), draft.clone()).map_err(DbError::BadRow)?;
        let seq = i64::try_from(entry.seq)
            .map_err(|_| DbError::BadRow("audit sequence exhausted".into()))?;
        head = Some((seq, entry.hash.to_vec()));
        cols.seq.push(seq);
        cols.at.push(entry.at_ms);
        cols.actor.push(entry.actor.to_string());
        cols.action.push(entry.action.code().to_owned());
        cols.target.push(entry.target.as_str().to_owned());
        cols.purpose
            .push(entry.purpose.as_ref().map(|p| p.as_str().to_owned()));
        cols.details.push(details_to_json(&entry.details));
        cols.prev_hash.push(entry.prev_hash.to_vec());
        cols.hash.push(entry.hash.to_vec());
    }
    // `pos` comes from the identity in the order rows are inserted: chain order.
    c.pg_execute(
        "INSERT INTO audit_log (seq, at, actor, action, target, purpose, details, prev_hash, hash)
         SELECT s, a, ac, act, t, pu, d, ph, h
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])
            WITH ORDINALITY AS u (s, a, ac, act, t, pu, d, ph, h, n)
         ORDER BY n",
        &[
            &cols.seq,
            &cols.at,
            &cols.actor,
            &cols.action,
            &cols.target,
            &cols.purpose,
            &cols.details,
            &cols.prev_hash,
            &cols.hash,
        ],
    )?;
    Ok(())
}

fn insert_events(c: &mut Tx<'_, '_>, batch: &EventBatch) -> DbResult<Vec<InsertOutcome>> {
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
        for r in c.pg_query(
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
    if !later_max.is_empty() {
        let extend: BTreeMap<SubjectKey, i64> = later_max.into_iter().collect();
        let subjects: Vec<&[u8]> = extend.keys().map(|k| k.as_bytes().as_slice()).collect();
        let until: Vec<i64> = extend.values().copied().collect();
        // The rows are locked in (subject, id) order before any is updated.
        c.pg_execute(
            "WITH due AS (
                SELECT e.id, u.until FROM unnest($1::bytea[], $2::bigint[]) AS u (s, until)
                JOIN events e ON e.subject_key = u.s
                WHERE e.session_only AND e.expires_at < u.until
                ORDER BY e.subject_key, e.id
                FOR UPDATE OF e
             )
             UPDATE events SET expires_at = due.until FROM due WHERE events.id = due.id",
            &[&subjects, &until],
        )?;
    }

    // 3. The events themselves, in one statement. Ids are reserved first so they follow the
    // batch's order (RETURNING promises no order).
    let mut outcomes = Vec::with_capacity(batch.events.len());
    if n_stored > 0 {
        let mut ids: Vec<i64> = c
            .pg_query(
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
        c.pg_execute(
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

    // 4. Profiles: lock every profile the batch feeds, fold the new interactions, save.
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
        update_profiles(c, &updates, batch.half_life_days, now)?;
    }

    // 5. Anonymous drop counters, summed per key and written in key order (the arrays' order,
    // which `unnest` keeps), after the profiles: every batch with drops on a day updates the
    // same few rows, whose locks are then held only until the commit.
    let mut drops: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (event_type, reason) in &batch.drops {
        *drops.entry((event_type, reason)).or_default() += 1;
    }
    if !drops.is_empty() {
        let event_types: Vec<&str> = drops.keys().map(|k| k.0).collect();
        let reasons: Vec<&str> = drops.keys().map(|k| k.1).collect();
        let counts: Vec<i64> = drops.values().copied().collect();
        c.pg_execute(
            "INSERT INTO drop_counters (day, event_type, reason, n)
             SELECT $1, t, r, n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u (t, r, n)
             ON CONFLICT (day, event_type, reason) DO UPDATE SET n = drop_counters.n + excluded.n",
            &[&now.div_euclid(DAY_MS), &event_types, &reasons, &counts],
        )?;
    }

    Ok(outcomes)
}

/// Folds each subject's new interactions into its profile: the profiles locked in key order,
/// the catalog and the subjects' muted interests read once each, the changed profiles written
/// in one upsert and the emptied ones deleted in one statement.
fn update_profiles(
    c: &mut Tx<'_, '_>,
    updates: &BTreeMap<SubjectKey, Vec<ProfileUpdate<'_>>>,
    half_life_days: f64,
    now: i64,
) -> DbResult<()> {
    let keys: Vec<&[u8]> = updates.keys().map(|k| k.as_bytes().as_slice()).collect();
    let mut held = lock_profiles(c, &keys)?;
    let catalog = catalog_categories(c, updates.values().flatten().filter_map(|u| u.item))?;
    // Read after the locks: a mute takes the profile's lock before it records itself, so it
    // either committed before (and is read here) or waits for this batch and then removes
    // what the batch added.
    let mut muted: HashMap<SubjectKey, Vec<String>> = HashMap::new();
    for r in c.pg_query(
        "SELECT subject_key, category FROM muted_interests WHERE subject_key IN (SELECT unnest($1::bytea[]))
         ORDER BY subject_key, category COLLATE \"C\"",
        &[&keys],
    )? {
        muted
            .entry(key_from(r.try_get(0)?)?)
            .or_default()
            .push(r.try_get(1)?);
    }

    let (mut saved_keys, mut saved_texts, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    for (subject, ups) in updates {
        let mut profile = held.remove(subject).flatten().unwrap_or_default();
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
            profile.fold(&event, half_life_days);
        }
        // Muted interests never come back, whatever the events say.
        let unmuted = muted.get(subject).and_then(|m| profile.without_muted(m));
        let profile = unmuted.as_ref().unwrap_or(&profile);
        // A lock placeholder must be replaced or deleted: an empty profile deletes the row.
        if profile.is_empty() {
            deleted.push(subject.as_bytes().as_slice());
        } else {
            saved_keys.push(subject.as_bytes().as_slice());
            saved_texts.push(
                serde_json::to_string(profile)
                    .map_err(|_| bad_row("profile", "that does not serialize"))?,
            );
        }
    }
    if !saved_keys.is_empty() {
        c.pg_execute(
            "INSERT INTO profiles (subject_key, profile, updated_at)
             SELECT s, p, $3 FROM unnest($1::bytea[], $2::text[]) AS u (s, p)
             ON CONFLICT (subject_key) DO UPDATE SET profile = excluded.profile,
                updated_at = excluded.updated_at",
            &[&saved_keys, &saved_texts, &now],
        )?;
    }
    if !deleted.is_empty() {
        c.pg_execute(
            "DELETE FROM profiles WHERE subject_key IN (SELECT unnest($1::bytea[]))",
            &[&deleted],
        )?;
    }
    Ok(())
}

/// Locks the profiles of `keys` (sorted, distinct) until the transaction ends and returns what
/// each holds (`None` for none yet). Concurrent writers would otherwise lose one another's
/// updates (two instances folding events for one subject).
///
/// `FOR UPDATE` cannot lock a row that does not exist yet, so an empty placeholder is
/// inserted first for every subject that has none (in key order: a placeholder another
/// transaction is inserting makes this one wait for it, like a lock); the caller replaces or
/// deletes each before commit. Then one `FOR UPDATE` in key order locks them all.
fn lock_profiles(
    c: &mut Tx<'_, '_>,
    keys: &[&[u8]],
) -> DbResult<HashMap<SubjectKey, Option<Profile>>> {
    c.pg_execute(
        "INSERT INTO profiles (subject_key, profile, updated_at)
         SELECT s, '', 0 FROM unnest($1::bytea[]) AS u (s) ORDER BY s
         ON CONFLICT (subject_key) DO NOTHING",
        &[&keys],
    )?;
    let rows = c.pg_query(
        "SELECT subject_key, profile FROM profiles WHERE subject_key IN (SELECT unnest($1::bytea[]))
         ORDER BY subject_key FOR UPDATE",
        &[&keys],
    )?;
    if rows.len() != keys.len() {
        return Err(DbError::BadRow(format!(
            "locked {} of {} profiles",
            rows.len(),
            keys.len()
        )));
    }
    rows.iter()
        .map(|r| Ok((key_from(r.try_get(0)?)?, profiles::parse(r.try_get(1)?)?)))
        .collect()
}

/// The catalog categories of the given items (those the catalog lists), in one read.
fn catalog_categories<'a>(
    c: &mut Tx<'_, '_>,
    items: impl Iterator<Item = &'a str>,
) -> DbResult<HashMap<String, Vec<String>>> {
    let mut ids: Vec<&str> = items.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for r in c.pg_query(
        "SELECT item_id, categories FROM items WHERE item_id IN (SELECT unnest($1::text[]))",
        &[&ids],
    )? {
        let cats = serde_json::from_str(r.try_get(1)?).unwrap_or_default();
        out.insert(r.try_get(0)?, cats);
    }
    Ok(out)
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

/// A batch's consent records, one array per column.
#[derive(Default)]
struct ConsentColumns<'b> {
    subject: Vec<&'b [u8]>,
    purpose: Vec<&'b str>,
    decision: Vec<&'b str>,
    purpose_version: Vec<&'b str>,
    policy_version: Vec<&'b str>,
    source: Vec<&'b str>,
    bulk: Vec<bool>,
    evidence: Vec<&'b str>,
    at: Vec<i64>,
}

/// A batch's audit entries, one array per column, in chain order.
#[derive(Default)]
struct AuditColumns {
    seq: Vec<i64>,
    at: Vec<i64>,
    actor: Vec<String>,
    action: Vec<String>,
    target: Vec<String>,
    purpose: Vec<Option<String>>,
    details: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}
