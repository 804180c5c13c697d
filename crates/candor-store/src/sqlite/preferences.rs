//! Recommendation preferences on SQLite: one JSON document per subject.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::bad_row;
use crate::Preferences;

pub(super) fn load(conn: &Connection, subject: &SubjectKey) -> rusqlite::Result<Preferences> {
    let text: Option<String> = conn
        .prepare_cached("SELECT preferences FROM preferences WHERE subject_key = ?1")?
        .query_row([subject.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|_| bad_row("preferences", "unreadable")),
        None => Ok(Preferences::default()),
    }
}

pub(super) fn save(
    conn: &Connection,
    subject: &SubjectKey,
    preferences: &Preferences,
    now: Timestamp,
) -> rusqlite::Result<()> {
    if preferences.is_empty() {
        conn.execute(
            "DELETE FROM preferences WHERE subject_key = ?1",
            [subject.as_bytes().as_slice()],
        )?;
        return Ok(());
    }
    let text =
        serde_json::to_string(preferences).map_err(|_| bad_row("preferences", "unserializable"))?;
    conn.prepare_cached(
        "INSERT INTO preferences (subject_key, preferences, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (subject_key) DO UPDATE SET preferences = excluded.preferences, updated_at = excluded.updated_at",
    )?
    .execute(params![subject.as_bytes().as_slice(), text, now.as_millis()])?;
    Ok(())
}
