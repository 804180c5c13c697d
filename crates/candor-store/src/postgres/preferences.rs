//! Recommendation preferences on PostgreSQL: one JSON document per subject.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use postgres::GenericClient;

use super::{DbResult, bad_row};
use crate::Preferences;

pub(super) fn load(c: &mut impl GenericClient, subject: &SubjectKey) -> DbResult<Preferences> {
    let row = c.query_opt(
        "SELECT preferences FROM preferences WHERE subject_key = $1",
        &[&subject.as_bytes().as_slice()],
    )?;
    match row {
        Some(r) => serde_json::from_str(r.get::<_, &str>(0))
            .map_err(|_| bad_row("preferences", "document")),
        None => Ok(Preferences::default()),
    }
}

pub(super) fn save(
    c: &mut impl GenericClient,
    subject: &SubjectKey,
    preferences: &Preferences,
    now: Timestamp,
) -> DbResult<()> {
    let key = subject.as_bytes().as_slice();
    if preferences.is_empty() {
        c.execute("DELETE FROM preferences WHERE subject_key = $1", &[&key])?;
        return Ok(());
    }
    let text =
        serde_json::to_string(preferences).map_err(|_| bad_row("preferences", "document"))?;
    c.execute(
        "INSERT INTO preferences (subject_key, preferences, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (subject_key) DO UPDATE SET preferences = excluded.preferences, updated_at = excluded.updated_at",
        &[&key, &text, &now.as_millis()],
    )?;
    Ok(())
}
