//! Events, catalog and profiles on PostgreSQL.
//!
//! Locking order, the same in every transaction so that concurrent ones never wait on each
//! other in a cycle: message hashes (sorted), then a subject's existing events, then drop
//! counters (sorted), then profiles (sorted by subject key).

use std::collections::{BTreeMap, HashMap, HashSet};

use candor_domain::SubjectKey;
use candor_domain::ids::PurposeId;
use candor_domain::policy::Interaction;
use candor_domain::profile::Profile;
use candor_domain::time::{DAY_MS, Timestamp};
use postgres::{GenericClient, Row, Transaction};

use super::{DbError, DbResult, bad_row};
use crate::{
    CatalogItem, DropCount, EventBatch, HistoryEvent, InsertOutcome, Narrowed, StoredEvent,
};

fn purposes_text(p: &[PurposeId]) -> String {
    p.iter()
        .map(PurposeId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// One event's contribution to its subject's profile.
struct ProfileUpdate<'b> {
    interaction: Interaction,
    item: Option<&'b str>,
    properties: &'b str,
    at: Timestamp,
}

pub(super) fn insert_events(
    tx: &mut Transaction<'_>,
    batch: &EventBatch,
) -> DbResult<Vec<InsertOutcome>> {
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

    // 4. Anonymous drop counters, summed per key and written in key order.
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

    // 5. Profiles, subject by subject in key order: lock, fold the new interactions, save.
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
        let catalog = catalog_categories(tx, updates.values().flatten().filter_map(|u| u.item))?;
        for (subject, ups) in &updates {
            let mut profile = lock_profile(tx, subject)?.unwrap_or_default();
            for u in ups {
                let cats = categories_of(&catalog, u.item, u.properties);
                profile.apply(u.interaction, &cats, u.at, batch.half_life_days);
            }
            save_profile(tx, subject, &profile, Timestamp::from_millis(now))?;
        }
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

/// The catalog categories of the given items, read in one query.
fn catalog_categories<'a>(
    c: &mut impl GenericClient,
    items: impl Iterator<Item = &'a str>,
) -> DbResult<HashMap<String, Vec<String>>> {
    let mut ids: Vec<&str> = items.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for r in c.query(
        "SELECT item_id, categories FROM items WHERE item_id = ANY($1)",
        &[&ids],
    )? {
        let id: String = r.try_get(0)?;
        let cats: String = r.try_get(1)?;
        out.insert(id, serde_json::from_str(&cats).unwrap_or_default());
    }
    Ok(out)
}

/// The categories an event is about: its item's catalog categories, or failing that its own
/// `category` property.
fn categories_of(
    catalog: &HashMap<String, Vec<String>>,
    item: Option<&str>,
    properties: &str,
) -> Vec<String> {
    if let Some(cats) = item.and_then(|id| catalog.get(id))
        && !cats.is_empty()
    {
        return cats.clone();
    }
    let props: serde_json::Value = serde_json::from_str(properties).unwrap_or_default();
    props
        .get("category")
        .and_then(|c| c.as_str())
        .map(|c| vec![c.to_owned()])
        .unwrap_or_default()
}

pub(super) fn parse_profile(text: &str) -> DbResult<Option<Profile>> {
    // An empty text is a lock placeholder of a transaction still running (see the schema);
    // it never commits, but reading it as "no profile" is the right answer regardless.
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|_| bad_row("profile", "that does not parse"))
}

pub(super) fn load_profile(
    c: &mut impl GenericClient,
    subject: &SubjectKey,
) -> DbResult<Option<Profile>> {
    match c.query_opt(
        "SELECT profile FROM profiles WHERE subject_key = $1",
        &[&subject.as_bytes().as_slice()],
    )? {
        Some(r) => parse_profile(&r.try_get::<_, String>(0)?),
        None => Ok(None),
    }
}

/// Locks a subject's profile row until the transaction ends and returns the profile.
///
/// A read-modify-write of a profile must not interleave with another (two instances folding
/// events for one subject would lose one's update), and `FOR UPDATE` alone cannot lock a row
/// that does not exist yet. So an empty placeholder row is inserted first if none exists; the
/// caller's `save_profile` replaces or deletes it before commit.
pub(super) fn lock_profile(
    tx: &mut Transaction<'_>,
    subject: &SubjectKey,
) -> DbResult<Option<Profile>> {
    let key = subject.as_bytes().as_slice();
    tx.execute(
        "INSERT INTO profiles (subject_key, profile, updated_at) VALUES ($1, '', 0)
         ON CONFLICT (subject_key) DO NOTHING",
        &[&key],
    )?;
    let text: String = tx
        .query_one(
            "SELECT profile FROM profiles WHERE subject_key = $1 FOR UPDATE",
            &[&key],
        )?
        .try_get(0)?;
    parse_profile(&text)
}

pub(super) fn save_profile(
    c: &mut impl GenericClient,
    subject: &SubjectKey,
    profile: &Profile,
    now: Timestamp,
) -> DbResult<()> {
    let key = subject.as_bytes().as_slice();
    // Interests the person asked us to forget never come back, whatever the events say.
    let unmuted = super::rights::without_muted(c, subject, profile)?;
    let profile = unmuted.as_ref().unwrap_or(profile);
    if profile.is_empty() {
        c.execute("DELETE FROM profiles WHERE subject_key = $1", &[&key])?;
        return Ok(());
    }
    let text = serde_json::to_string(profile)
        .map_err(|_| DbError::BadRow("a profile that does not serialize".into()))?;
    c.execute(
        "INSERT INTO profiles (subject_key, profile, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (subject_key) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        &[&key, &text, &now.as_millis()],
    )?;
    Ok(())
}

/// Recomputes the profiles of `subjects` from their remaining profile-feeding events.
///
/// Each profile row is locked (in key order) *before* its events are read, so an ingestion
/// that commits meanwhile either is seen by the read or folds its events into the rebuilt
/// profile afterwards.
fn rebuild_profiles(
    tx: &mut Transaction<'_>,
    mut subjects: Vec<SubjectKey>,
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    subjects.sort_unstable();
    subjects.dedup();
    for s in &subjects {
        lock_profile(tx, s)?;
    }
    for s in &subjects {
        let rows = tx.query(
            "SELECT interaction, item_id, properties, occurred_at FROM events
             WHERE subject_key = $1 AND interaction IS NOT NULL ORDER BY occurred_at, id",
            &[&s.as_bytes().as_slice()],
        )?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            let interaction: String = r.try_get(0)?;
            let item: Option<String> = r.try_get(1)?;
            let props: String = r.try_get(2)?;
            let at: i64 = r.try_get(3)?;
            events.push((interaction, item, props, at));
        }
        let catalog = catalog_categories(tx, events.iter().filter_map(|e| e.1.as_deref()))?;
        let mut profile = Profile::default();
        for (interaction, item, props, at) in &events {
            let Some(i) = Interaction::parse(interaction) else {
                continue;
            };
            let cats = categories_of(&catalog, item.as_deref(), props);
            profile.apply(i, &cats, Timestamp::from_millis(*at), half_life_days);
        }
        save_profile(tx, s, &profile, now)?;
    }
    Ok(())
}

pub(super) const EVENT_COLUMNS: &str = "id, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction";

pub(super) fn event_from_row(r: &Row) -> DbResult<StoredEvent> {
    let purposes: String = r.try_get(4)?;
    let interaction: Option<String> = r.try_get(9)?;
    Ok(StoredEvent {
        id: r.try_get(0)?,
        event_type: r.try_get(1)?,
        item_id: r.try_get(2)?,
        properties: r.try_get(3)?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: Timestamp::from_millis(r.try_get(5)?),
        received_at: Timestamp::from_millis(r.try_get(6)?),
        expires_at: Timestamp::from_millis(r.try_get(7)?),
        session_only: r.try_get(8)?,
        interaction: interaction.as_deref().and_then(Interaction::parse),
    })
}

/// One row of [`crate::model::history_sql`].
pub(super) fn history_from_row(r: &Row) -> DbResult<HistoryEvent> {
    let interaction: String = r.try_get(1)?;
    let purposes: String = r.try_get(2)?;
    Ok(HistoryEvent {
        item_id: r.try_get(0)?,
        interaction: Interaction::parse(&interaction)
            .ok_or_else(|| bad_row("interaction", &interaction))?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: Timestamp::from_millis(r.try_get(3)?),
        expires_at: Timestamp::from_millis(r.try_get(4)?),
    })
}

pub(super) const ITEM_COLUMNS: &str =
    "seq, item_id, title, categories, attributes, restricted, provider";

pub(super) fn item_from_row(r: &Row) -> DbResult<(i64, CatalogItem)> {
    let cats: String = r.try_get(3)?;
    let restricted: String = r.try_get(5)?;
    Ok((
        r.try_get(0)?,
        CatalogItem {
            id: r.try_get(1)?,
            title: r.try_get(2)?,
            categories: serde_json::from_str(&cats).map_err(|_| bad_row("categories", &cats))?,
            attributes: r.try_get(4)?,
            restricted: serde_json::from_str(&restricted)
                .map_err(|_| bad_row("restricted", &restricted))?,
            provider: r.try_get(6)?,
        },
    ))
}

pub(super) fn upsert_items(
    tx: &mut Transaction<'_>,
    items: &[CatalogItem],
    now: Timestamp,
) -> DbResult<()> {
    let stmt = tx.prepare(
        "INSERT INTO items (item_id, title, categories, attributes, restricted, provider, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (item_id) DO UPDATE SET title = excluded.title, categories = excluded.categories,
            attributes = excluded.attributes, restricted = excluded.restricted,
            provider = excluded.provider, updated_at = excluded.updated_at",
    )?;
    for it in items {
        tx.execute(
            &stmt,
            &[
                &it.id,
                &it.title,
                &serde_json::to_string(&it.categories).unwrap_or_else(|_| "[]".into()),
                &it.attributes,
                &serde_json::to_string(&it.restricted).unwrap_or_else(|_| "[]".into()),
                &it.provider,
                &now.as_millis(),
            ],
        )?;
    }
    Ok(())
}

pub(super) fn rewrite(
    tx: &mut Transaction<'_>,
    subject: &SubjectKey,
    delete: &[i64],
    narrow: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    let key = subject.as_bytes().as_slice();
    if !delete.is_empty() {
        tx.execute(
            "DELETE FROM events WHERE id = ANY($1) AND subject_key = $2",
            &[&delete, &key],
        )?;
    }
    if !narrow.is_empty() {
        let stmt = tx.prepare(
            "UPDATE events SET purposes = $3, expires_at = $4,
                interaction = CASE WHEN $5 THEN interaction ELSE NULL END
             WHERE id = $1 AND subject_key = $2",
        )?;
        for n in narrow {
            tx.execute(
                &stmt,
                &[
                    &n.id,
                    &key,
                    &purposes_text(&n.purposes),
                    &n.expires_at.as_millis(),
                    &n.feeds_profile,
                ],
            )?;
        }
    }
    rebuild_profiles(tx, vec![*subject], half_life_days, now)
}

pub(super) fn delete_expired(
    tx: &mut Transaction<'_>,
    now: Timestamp,
    limit: u32,
    half_life_days: f64,
    dedupe_window_ms: i64,
) -> DbResult<u64> {
    // SKIP LOCKED: instances running retention at the same moment take disjoint sets of rows
    // instead of queueing behind each other; rows skipped now expire on the next run.
    let victims = tx.query(
        "SELECT id, subject_key FROM events WHERE expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        &[&now.as_millis(), &i64::from(limit)],
    )?;
    let mut ids = Vec::with_capacity(victims.len());
    let mut subjects = Vec::with_capacity(victims.len());
    for r in &victims {
        ids.push(r.try_get::<_, i64>(0)?);
        let key: Vec<u8> = r.try_get(1)?;
        if let Ok(bytes) = <[u8; 32]>::try_from(key.as_slice()) {
            subjects.push(SubjectKey::from_bytes(bytes));
        }
    }
    let n = if ids.is_empty() {
        0
    } else {
        tx.execute("DELETE FROM events WHERE id = ANY($1)", &[&ids])?
    };
    rebuild_profiles(tx, subjects, half_life_days, now)?;
    tx.execute(
        "DELETE FROM seen_messages WHERE seen_at < $1",
        &[&(now.as_millis() - dedupe_window_ms)],
    )?;
    Ok(n)
}

pub(super) fn merge(
    tx: &mut Transaction<'_>,
    from: &SubjectKey,
    to: &SubjectKey,
    moved: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    if !moved.is_empty() {
        let stmt = tx.prepare(
            "UPDATE events SET subject_key = $3, purposes = $4, expires_at = $5,
                interaction = CASE WHEN $6 THEN interaction ELSE NULL END
             WHERE id = $1 AND subject_key = $2",
        )?;
        for n in moved {
            tx.execute(
                &stmt,
                &[
                    &n.id,
                    &from.as_bytes().as_slice(),
                    &to.as_bytes().as_slice(),
                    &purposes_text(&n.purposes),
                    &n.expires_at.as_millis(),
                    &n.feeds_profile,
                ],
            )?;
        }
    }
    let mut all: Vec<&str> = moved
        .iter()
        .flat_map(|n| n.purposes.iter().map(PurposeId::as_str))
        .collect();
    all.sort_unstable();
    all.dedup();
    tx.execute(
        "INSERT INTO merges (from_key, to_key, n_events, purposes, at) VALUES ($1, $2, $3, $4, $5)",
        &[
            &from.as_bytes().as_slice(),
            &to.as_bytes().as_slice(),
            &(moved.len() as i64),
            &all.join(","),
            &now.as_millis(),
        ],
    )?;
    rebuild_profiles(tx, vec![*from, *to], half_life_days, now)
}

pub(super) fn drop_counts(c: &mut impl GenericClient, since_day: i64) -> DbResult<Vec<DropCount>> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    c.query(
        "SELECT day, event_type, reason, n FROM drop_counters WHERE day >= $1
         ORDER BY day, event_type COLLATE \"C\", reason COLLATE \"C\"",
        &[&since_day],
    )?
    .iter()
    .map(|r| {
        Ok(DropCount {
            day: r.try_get(0)?,
            event_type: r.try_get(1)?,
            reason: r.try_get(2)?,
            n: u64::try_from(r.try_get::<_, i64>(3)?).unwrap_or(0),
        })
    })
    .collect()
}
