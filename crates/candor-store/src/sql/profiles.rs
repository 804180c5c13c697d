//! Interest profiles as stored: loaded, locked, saved without muted interests, rebuilt from
//! events. The arithmetic is the domain's ([`Profile::rebuild`], [`Profile::without_muted`]);
//! this module only reads and writes.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::policy::Interaction;
use candor_domain::profile::{Profile, ProfileEvent};
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, Value, bad_row, marks, params, preferences};

/// Item ids per catalog lookup: well under either backend's parameter limit.
const ITEMS_PER_LOOKUP: usize = 500;

/// A stored profile. An empty text is a lock placeholder of a transaction still running
/// ([`lock`]); it never commits, but reading it as "no profile" is the right answer regardless.
pub(crate) fn parse(text: &str) -> DbResult<Option<Profile>> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|_| bad_row("profile", "that does not parse"))
}

pub(crate) fn load(c: &mut dyn Conn, subject: &SubjectKey) -> DbResult<Option<Profile>> {
    match c.query_opt(
        "SELECT profile FROM profiles WHERE subject_key = ?1",
        params![subject],
        |r| r.text(0),
    )? {
        Some(text) => parse(&text),
        None => Ok(None),
    }
}

/// Loads a subject's profile for a read-modify-write, locking its row until the transaction
/// ends where other writers run concurrently (two instances folding events for one subject
/// would otherwise lose one's update).
///
/// `FOR UPDATE` alone cannot lock a row that does not exist yet, so an empty placeholder row
/// is inserted first if none exists; the caller's [`save`] replaces or deletes it before
/// commit.
pub(crate) fn lock(c: &mut dyn Conn, subject: &SubjectKey) -> DbResult<Option<Profile>> {
    if !c.row_locks() {
        return load(c, subject);
    }
    c.execute(
        "INSERT INTO profiles (subject_key, profile, updated_at) VALUES (?1, '', 0)
         ON CONFLICT (subject_key) DO NOTHING",
        params![subject],
    )?;
    let text = c.query_one(
        "SELECT profile FROM profiles WHERE subject_key = ?1 FOR UPDATE",
        params![subject],
        |r| r.text(0),
    )?;
    parse(&text)
}

/// Saves a profile without the subject's muted interests (they never come back, whatever
/// the events say); an empty profile deletes the row.
pub(crate) fn save(
    c: &mut dyn Conn,
    subject: &SubjectKey,
    profile: &Profile,
    now: Timestamp,
) -> DbResult<()> {
    let muted = muted(c, subject)?;
    let unmuted = profile.without_muted(&muted);
    let profile = unmuted.as_ref().unwrap_or(profile);
    if profile.is_empty() {
        return preferences::put_document(c, "profiles", subject, None, now);
    }
    let text = serde_json::to_string(profile)
        .map_err(|_| bad_row("profile", "that does not serialize"))?;
    preferences::put_document(c, "profiles", subject, Some(&text), now)
}

/// The categories a subject muted, in name order.
pub(crate) fn muted(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Vec<String>> {
    c.query(
        "SELECT category FROM muted_interests WHERE subject_key = ?1 ORDER BY category COLLATE \"C\"",
        params![key],
        |r| r.text(0),
    )
}

/// Records the mute and removes the category from the profile. The profile is locked before
/// the mute is recorded, so a concurrent ingestion either finishes first (and its categories
/// are removed here) or sees the mute when it saves.
pub(crate) fn mute_interest(
    c: &mut dyn Conn,
    key: &SubjectKey,
    category: &str,
    now: Timestamp,
) -> DbResult<bool> {
    let profile = lock(c, key)?;
    let locked = c.row_locks();
    c.execute(
        "INSERT INTO muted_interests (subject_key, category, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![key, category, now],
    )?;
    let mut profile = profile.unwrap_or_default();
    let removed = profile.remove_interest(category);
    // A lock placeholder must be replaced or deleted, so a locked profile is always saved.
    if removed || locked {
        save(c, key, &profile, now)?;
    }
    Ok(removed)
}

/// An event's own `category` property, from its properties' JSON text.
pub(crate) fn category_property(properties: &str) -> Option<String> {
    let props: serde_json::Value = serde_json::from_str(properties).ok()?;
    props.get("category")?.as_str().map(str::to_owned)
}

/// The catalog categories of the given items (those the catalog lists).
pub(crate) fn catalog_categories<'a>(
    c: &mut dyn Conn,
    items: impl Iterator<Item = &'a str>,
) -> DbResult<HashMap<String, Vec<String>>> {
    let mut ids: Vec<&str> = items.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ITEMS_PER_LOOKUP) {
        let values: Vec<Value<'_>> = chunk.iter().map(|id| Value::Text(id)).collect();
        c.query_each(
            &format!(
                "SELECT item_id, categories FROM items WHERE item_id IN ({})",
                marks(1, chunk.len())
            ),
            &values,
            &mut |r| {
                let cats = serde_json::from_str(&r.text(1)?).unwrap_or_default();
                out.insert(r.text(0)?, cats);
                Ok(())
            },
        )?;
    }
    Ok(out)
}

/// Recomputes the profiles of `subjects` from their remaining profile-feeding events.
///
/// Each profile is locked (in key order) before its events are read, so an ingestion that
/// commits meanwhile either is seen by the read or folds its events into the rebuilt profile
/// afterwards.
pub(crate) fn rebuild(
    c: &mut dyn Conn,
    mut subjects: Vec<SubjectKey>,
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    subjects.sort_unstable();
    subjects.dedup();
    for s in &subjects {
        lock(c, s)?;
    }
    for s in &subjects {
        let events = c.query(
            "SELECT interaction, item_id, properties, occurred_at FROM events
             WHERE subject_key = ?1 AND interaction IS NOT NULL ORDER BY occurred_at, id",
            params![s],
            |r| {
                let interaction = r.text(0)?;
                Ok((
                    Interaction::parse(&interaction),
                    r.opt_text(1)?,
                    category_property(&r.text(2)?),
                    r.time(3)?,
                ))
            },
        )?;
        let catalog = catalog_categories(c, events.iter().filter_map(|e| e.1.as_deref()))?;
        let profile = Profile::rebuild(
            events
                .iter()
                .filter_map(|(interaction, item, category, at)| {
                    Some(ProfileEvent {
                        interaction: (*interaction)?,
                        catalog: item
                            .as_deref()
                            .and_then(|id| catalog.get(id))
                            .map_or(&[][..], Vec::as_slice),
                        category: category.as_deref(),
                        at: *at,
                    })
                }),
            half_life_days,
        );
        save(c, s, &profile, now)?;
    }
    Ok(())
}
