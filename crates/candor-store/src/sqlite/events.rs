//! Events, catalog and profiles on SQLite, with group commit for ingestion.

use std::sync::{Arc, Mutex};

use candor_domain::SubjectKey;
use candor_domain::ids::PurposeId;
use candor_domain::policy::Interaction;
use candor_domain::profile::Profile;
use candor_domain::time::{DAY_MS, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{SqliteStore, bad_row};
use crate::{
    CatalogItem, DropCount, EventBatch, HistoryEvent, InsertOutcome, Narrowed, StoreResult,
    StoredEvent,
};

/// One caller's batch waiting for a group commit, and the slot its result goes into.
pub(super) struct Pending {
    batch: EventBatch,
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

pub(super) fn insert_events(
    store: &SqliteStore,
    batch: EventBatch,
) -> StoreResult<Vec<InsertOutcome>> {
    let slot = Arc::new(Mutex::new(None));
    store
        .queue
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Pending {
            batch,
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
            let mapped = super::map_err(e);
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

fn commit_group(
    conn: &mut Connection,
    jobs: &[Pending],
) -> rusqlite::Result<Vec<Vec<InsertOutcome>>> {
    let tx = conn.transaction()?;
    let mut all = Vec::with_capacity(jobs.len());
    for job in jobs {
        all.push(write_batch(&tx, &job.batch)?);
    }
    tx.commit()?;
    Ok(all)
}

fn purposes_text(p: &[PurposeId]) -> String {
    p.iter()
        .map(PurposeId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn write_batch(
    tx: &Transaction<'_>,
    batch: &EventBatch,
) -> rusqlite::Result<Vec<InsertOutcome>> {
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
    let mut i = 0;
    while i < profile_updates.len() {
        let subject = profile_updates[i].0;
        let mut profile = load_profile(tx, &subject)?.unwrap_or_default();
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
            // The catalog's categories, or failing that the event's own `category` property.
            let cats = if catalog.is_empty() {
                categories_of(tx, None, props)?
            } else {
                catalog
            };
            profile.apply(*interaction, &cats, *at, batch.half_life_days);
            i += 1;
        }
        save_profile(tx, &subject, &profile, now)?;
    }
    Ok(outcomes)
}

/// The categories an event is about: its item's catalog categories, or failing that its own
/// `category` property.
fn categories_of(
    conn: &Connection,
    item: Option<&str>,
    properties: &str,
) -> rusqlite::Result<Vec<String>> {
    if let Some(id) = item {
        let cats: Option<String> = conn
            .prepare_cached("SELECT categories FROM items WHERE item_id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if let Some(c) = cats {
            let parsed: Vec<String> = serde_json::from_str(&c).unwrap_or_default();
            if !parsed.is_empty() {
                return Ok(parsed);
            }
        }
    }
    let props: serde_json::Value = serde_json::from_str(properties).unwrap_or_default();
    Ok(props
        .get("category")
        .and_then(|c| c.as_str())
        .map(|c| vec![c.to_owned()])
        .unwrap_or_default())
}

pub(super) fn load_profile(
    conn: &Connection,
    subject: &SubjectKey,
) -> rusqlite::Result<Option<Profile>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT profile FROM profiles WHERE subject_key = ?1")?
        .query_row([subject.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    text.map(|t| serde_json::from_str(&t).map_err(|_| bad_row("profile", "unreadable")))
        .transpose()
}

pub(super) fn save_profile(
    conn: &Connection,
    subject: &SubjectKey,
    profile: &Profile,
    now: Timestamp,
) -> rusqlite::Result<()> {
    // Interests the person asked us to forget never come back, whatever the events say.
    let unmuted = super::rights::without_muted(conn, subject, profile)?;
    let profile = unmuted.as_ref().unwrap_or(profile);
    if profile.is_empty() {
        conn.execute(
            "DELETE FROM profiles WHERE subject_key = ?1",
            [subject.as_bytes().as_slice()],
        )?;
        return Ok(());
    }
    let text = serde_json::to_string(profile).map_err(|_| bad_row("profile", "unserializable"))?;
    conn.prepare_cached(
        "INSERT INTO profiles (subject_key, profile, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (subject_key) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
    )?
    .execute(params![subject.as_bytes().as_slice(), text, now.as_millis()])?;
    Ok(())
}

/// Recomputes a profile from the subject's remaining profile-feeding events.
pub(super) fn rebuild_profile(
    conn: &Connection,
    subject: &SubjectKey,
    half_life_days: f64,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let rows: Vec<(String, Option<String>, String, i64)> = conn
        .prepare_cached(
            "SELECT interaction, item_id, properties, occurred_at FROM events
             WHERE subject_key = ?1 AND interaction IS NOT NULL ORDER BY occurred_at, id",
        )?
        .query_map([subject.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut profile = Profile::default();
    for (interaction, item, props, at) in rows {
        let Some(i) = Interaction::parse(&interaction) else {
            continue;
        };
        let cats = categories_of(conn, item.as_deref(), &props)?;
        profile.apply(i, &cats, Timestamp::from_millis(at), half_life_days);
    }
    save_profile(conn, subject, &profile, now)
}

pub(super) const EVENT_COLUMNS: &str = "id, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction";

pub(super) fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let purposes: String = r.get(4)?;
    let interaction: Option<String> = r.get(9)?;
    Ok(StoredEvent {
        id: r.get(0)?,
        event_type: r.get(1)?,
        item_id: r.get(2)?,
        properties: r.get(3)?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: Timestamp::from_millis(r.get(5)?),
        received_at: Timestamp::from_millis(r.get(6)?),
        expires_at: Timestamp::from_millis(r.get(7)?),
        session_only: r.get::<_, i64>(8)? != 0,
        interaction: interaction.as_deref().and_then(Interaction::parse),
    })
}

/// One row of [`crate::model::history_sql`].
pub(super) fn history_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEvent> {
    let interaction: String = r.get(1)?;
    let purposes: String = r.get(2)?;
    Ok(HistoryEvent {
        item_id: r.get(0)?,
        interaction: Interaction::parse(&interaction)
            .ok_or_else(|| bad_row("interaction", &interaction))?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: Timestamp::from_millis(r.get(3)?),
        expires_at: Timestamp::from_millis(r.get(4)?),
    })
}

pub(super) fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, CatalogItem)> {
    let cats: String = r.get(3)?;
    let restricted: String = r.get(5)?;
    Ok((
        r.get(0)?,
        CatalogItem {
            id: r.get(1)?,
            title: r.get(2)?,
            categories: serde_json::from_str(&cats).map_err(|_| bad_row("categories", &cats))?,
            attributes: r.get(4)?,
            restricted: serde_json::from_str(&restricted)
                .map_err(|_| bad_row("restricted", &restricted))?,
            provider: r.get(6)?,
        },
    ))
}

pub(super) const ITEM_COLUMNS: &str =
    "rowid, item_id, title, categories, attributes, restricted, provider";

pub(super) fn upsert_items(
    conn: &mut Connection,
    items: &[CatalogItem],
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO items (item_id, title, categories, attributes, restricted, provider, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (item_id) DO UPDATE SET title = excluded.title, categories = excluded.categories,
                attributes = excluded.attributes, restricted = excluded.restricted,
                provider = excluded.provider, updated_at = excluded.updated_at",
        )?;
        for it in items {
            stmt.execute(params![
                it.id,
                it.title,
                serde_json::to_string(&it.categories).unwrap_or_else(|_| "[]".into()),
                it.attributes,
                serde_json::to_string(&it.restricted).unwrap_or_else(|_| "[]".into()),
                it.provider,
                now.as_millis()
            ])?;
        }
    }
    tx.commit()
}

pub(super) fn rewrite(
    conn: &mut Connection,
    subject: &SubjectKey,
    delete: &[i64],
    narrow: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut del = tx.prepare_cached("DELETE FROM events WHERE id = ?1 AND subject_key = ?2")?;
        for id in delete {
            del.execute(params![id, subject.as_bytes().as_slice()])?;
        }
        let mut upd = tx.prepare_cached(
            "UPDATE events SET purposes = ?3, expires_at = ?4,
                interaction = CASE WHEN ?5 THEN interaction ELSE NULL END
             WHERE id = ?1 AND subject_key = ?2",
        )?;
        for n in narrow {
            upd.execute(params![
                n.id,
                subject.as_bytes().as_slice(),
                purposes_text(&n.purposes),
                n.expires_at.as_millis(),
                n.feeds_profile
            ])?;
        }
    }
    rebuild_profile(&tx, subject, half_life_days, now)?;
    tx.commit()
}

pub(super) fn delete_expired(
    conn: &mut Connection,
    now: Timestamp,
    limit: u32,
    half_life_days: f64,
    dedupe_window_ms: i64,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let victims: Vec<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT id, subject_key FROM events WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2")?
        .query_map(params![now.as_millis(), i64::from(limit)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    {
        let mut del = tx.prepare_cached("DELETE FROM events WHERE id = ?1")?;
        for (id, _) in &victims {
            del.execute([id])?;
        }
    }
    let mut subjects: Vec<Vec<u8>> = victims.into_iter().map(|(_, s)| s).collect();
    let n = subjects.len() as u64;
    subjects.sort();
    subjects.dedup();
    for s in subjects {
        if let Ok(bytes) = <[u8; 32]>::try_from(s.as_slice()) {
            rebuild_profile(&tx, &SubjectKey::from_bytes(bytes), half_life_days, now)?;
        }
    }
    tx.execute(
        "DELETE FROM seen_messages WHERE seen_at < ?1",
        [now.as_millis() - dedupe_window_ms],
    )?;
    tx.commit()?;
    Ok(n)
}

pub(super) fn merge(
    conn: &mut Connection,
    from: &SubjectKey,
    to: &SubjectKey,
    moved: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut upd = tx.prepare_cached(
            "UPDATE events SET subject_key = ?3, purposes = ?4, expires_at = ?5,
                interaction = CASE WHEN ?6 THEN interaction ELSE NULL END
             WHERE id = ?1 AND subject_key = ?2",
        )?;
        for n in moved {
            upd.execute(params![
                n.id,
                from.as_bytes().as_slice(),
                to.as_bytes().as_slice(),
                purposes_text(&n.purposes),
                n.expires_at.as_millis(),
                n.feeds_profile
            ])?;
        }
    }
    let mut all: Vec<&str> = moved
        .iter()
        .flat_map(|n| n.purposes.iter().map(PurposeId::as_str))
        .collect();
    all.sort_unstable();
    all.dedup();
    tx.execute(
        "INSERT INTO merges (from_key, to_key, n_events, purposes, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            from.as_bytes().as_slice(),
            to.as_bytes().as_slice(),
            moved.len() as i64,
            all.join(","),
            now.as_millis()
        ],
    )?;
    rebuild_profile(&tx, from, half_life_days, now)?;
    rebuild_profile(&tx, to, half_life_days, now)?;
    tx.commit()
}

pub(super) fn drop_counts(conn: &Connection, since_day: i64) -> rusqlite::Result<Vec<DropCount>> {
    conn.prepare_cached("SELECT day, event_type, reason, n FROM drop_counters WHERE day >= ?1 ORDER BY day, event_type, reason")?
        .query_map([since_day], |r| {
            Ok(DropCount { day: r.get(0)?, event_type: r.get(1)?, reason: r.get(2)?, n: r.get::<_, i64>(3)? as u64 })
        })?
        .collect()
}
