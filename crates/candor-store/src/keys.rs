//! SQL of API keys, token signing keys and per-subject token revocations, the same text on
//! both backends: each function takes the backend's placeholders (`?1` or `$1`), like
//! [`crate::model::history_sql`]. Times are integer milliseconds, as everywhere in the store.
//! Also how both tell an unknown key id from an update that changed nothing.

use crate::{StoreError, StoreResult};

/// The columns of an `api_keys` row, in the order both backends' row mappers read them.
pub(crate) const API_KEY_COLUMNS: &str =
    "id, secret_hash, scopes, allowed_origins, label, created_at, expires_at, revoked_at";

/// Revokes key `id` at `at`; a key already revoked keeps its first revocation time. The row
/// matches either way, so no row updated means an unknown id.
pub(crate) fn revoke_api_key_sql(id: &str, at: &str) -> String {
    format!("UPDATE api_keys SET revoked_at = coalesce(revoked_at, {at}) WHERE id = {id}")
}

/// Sets key `id` to expire at `at` unless it already expires earlier. `NULL < at` is not
/// true, so a key without an expiry takes `at`. The row matches either way, so no row updated
/// means an unknown id.
pub(crate) fn expire_api_key_sql(id: &str, at: &str) -> String {
    format!(
        "UPDATE api_keys SET expires_at = CASE WHEN expires_at < {at} THEN expires_at ELSE {at} END
         WHERE id = {id}"
    )
}

/// What an update of one key by id did, for an update that matches its row whatever it
/// changes (revoking, expiring): no row means an unknown id.
pub(crate) fn found(rows_updated: u64) -> StoreResult<()> {
    if rows_updated == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Every token signing key, oldest first, as both backends' row mappers read them.
pub(crate) const TOKEN_KEYS_SQL: &str =
    "SELECT id, sealed, created_at, retired_at FROM token_keys ORDER BY id";

/// Retires at `now` every signing key not retired yet (a retired key keeps its time).
pub(crate) fn retire_token_keys_sql(now: &str) -> String {
    format!("UPDATE token_keys SET retired_at = {now} WHERE retired_at IS NULL")
}

/// Adds a signing key created at `now`, returning its id.
pub(crate) fn insert_token_key_sql(sealed: &str, now: &str) -> String {
    format!("INSERT INTO token_keys (sealed, created_at) VALUES ({sealed}, {now}) RETURNING id")
}

/// Deletes the signing keys retired before `before`; a key never retired is never deleted.
pub(crate) fn delete_token_keys_retired_before_sql(before: &str) -> String {
    format!("DELETE FROM token_keys WHERE retired_at < {before}")
}

/// The instant before which the tokens of subject `key` are void.
pub(crate) fn tokens_not_before_sql(key: &str) -> String {
    format!("SELECT not_before FROM token_revocations WHERE subject_key = {key}")
}

/// Voids the tokens of subject `key` up to `at` and keeps the marker until `keep_until`. A
/// marker that exists keeps the later of both instants and the later of both keep times, so
/// an earlier or shorter revocation never revives a token a later one voided.
pub(crate) fn revoke_subject_tokens_sql(key: &str, at: &str, keep_until: &str) -> String {
    format!(
        "INSERT INTO token_revocations (subject_key, not_before, keep_until)
         VALUES ({key}, {at}, {keep_until})
         ON CONFLICT (subject_key) DO UPDATE SET
            not_before = CASE WHEN excluded.not_before > token_revocations.not_before
                              THEN excluded.not_before ELSE token_revocations.not_before END,
            keep_until = CASE WHEN excluded.keep_until > token_revocations.keep_until
                              THEN excluded.keep_until ELSE token_revocations.keep_until END"
    )
}

/// Deletes the revocation markers kept until `now` or earlier (an expiry at `now` has passed,
/// as for events).
pub(crate) fn delete_expired_token_revocations_sql(now: &str) -> String {
    format!("DELETE FROM token_revocations WHERE keep_until <= {now}")
}
