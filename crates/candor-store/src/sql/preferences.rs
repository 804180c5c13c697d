//! Recommendation preferences: one JSON document per subject.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, bad_row, params};
use crate::Preferences;

/// A subject's preferences; the default when they never set any.
pub(crate) fn load(c: &mut dyn Conn, subject: &SubjectKey) -> DbResult<Preferences> {
    let text = c.query_opt(
        "SELECT preferences FROM preferences WHERE subject_key = ?1",
        params![subject],
        |r| r.text(0),
    )?;
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|_| bad_row("preferences", "document")),
        None => Ok(Preferences::default()),
    }
}

/// Replaces a subject's preferences; default preferences delete the row.
pub(crate) fn save(
    c: &mut dyn Conn,
    subject: &SubjectKey,
    preferences: &Preferences,
    now: Timestamp,
) -> DbResult<()> {
    if preferences.is_empty() {
        return put_document(c, "preferences", subject, None, now);
    }
    let text =
        serde_json::to_string(preferences).map_err(|_| bad_row("preferences", "document"))?;
    put_document(c, "preferences", subject, Some(&text), now)
}

/// Replaces the subject's JSON document in `table` (`preferences`, whose column has the same
/// name, or `profiles`, whose column is `profile`), or deletes the row for `None`.
pub(crate) fn put_document(
    c: &mut dyn Conn,
    table: &str,
    subject: &SubjectKey,
    document: Option<&str>,
    now: Timestamp,
) -> DbResult<()> {
    let column = match table {
        "profiles" => "profile",
        other => other,
    };
    match document {
        None => c.execute(
            &format!("DELETE FROM {table} WHERE subject_key = ?1"),
            params![subject],
        ),
        Some(text) => c.execute(
            &format!(
                "INSERT INTO {table} (subject_key, {column}, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key) DO UPDATE SET {column} = excluded.{column},
                    updated_at = excluded.updated_at"
            ),
            params![subject, text, now],
        ),
    }
    .map(drop)
}
