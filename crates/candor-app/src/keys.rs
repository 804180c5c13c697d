//! Key lifecycle: create, list, revoke and rotate API keys, and rotate the token signing
//! keys and the key-encryption key that wraps data keys. Each change is written to the audit
//! log with who made it. The command line and the admin API both call these, so the two
//! cannot drift apart.

use candor_domain::time::Timestamp;
use candor_store::{ApiKeyRecord, Store, StoreError};

use crate::api_key::{KeyError, NewKey};
use crate::audit::{self, Actor, AuditAction, AuditEvent, AuditTarget};

/// How a key stands at an instant.
pub fn status(record: &ApiKeyRecord, now: Timestamp) -> &'static str {
    if record.revoked_at.is_some() {
        "revoked"
    } else if !record.is_live(now) {
        "expired"
    } else {
        "active"
    }
}

/// Where a key may live: `server` (a shop's backend) or `publishable` (web pages).
pub fn kind(record: &ApiKeyRecord) -> &'static str {
    if record.is_publishable() {
        "publishable"
    } else {
        "server"
    }
}

fn scopes_text(record: &ApiKeyRecord) -> String {
    record
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates a key and audits it; returns the record and the full key (shown once).
pub fn create(
    store: &dyn Store,
    new: NewKey,
    actor: Actor,
    now: Timestamp,
) -> Result<(ApiKeyRecord, String), KeyError> {
    let (record, key) = crate::api_key::create_key(store, new, now)?;
    let mut event = AuditEvent::new(
        actor,
        AuditAction::KeyCreated,
        AuditTarget::ApiKey(record.id.clone()),
    )
    .detail("scopes", scopes_text(&record))
    .detail("kind", kind(&record));
    if let Some(e) = record.expires_at {
        event = event.detail("expires_at", e.to_rfc3339());
    }
    audit::record(store, event, now)?;
    Ok((record, key))
}

/// Revokes key `id` and audits it. A key revoked before stays revoked from its first time.
pub fn revoke(
    store: &dyn Store,
    id: &str,
    actor: Actor,
    now: Timestamp,
) -> Result<ApiKeyRecord, StoreError> {
    store.revoke_api_key(id, now)?;
    let record = store.api_key(id)?.ok_or(StoreError::NotFound)?;
    audit::record(
        store,
        AuditEvent::new(
            actor,
            AuditAction::KeyRevoked,
            AuditTarget::ApiKey(id.to_owned()),
        )
        .detail("scopes", scopes_text(&record)),
        now,
    )?;
    Ok(record)
}

/// Rotates key `id`: a successor with the same scopes, origins and label, and the old key
/// stops working after `grace_ms`. Audited. Returns the new record, its key, and the old
/// record as it now stands.
pub fn rotate(
    store: &dyn Store,
    id: &str,
    grace_ms: i64,
    actor: Actor,
    now: Timestamp,
) -> Result<(ApiKeyRecord, String, ApiKeyRecord), KeyError> {
    let (record, key) = crate::api_key::rotate_key(store, id, grace_ms, now)?;
    let old = store.api_key(id)?.ok_or(StoreError::NotFound)?;
    audit::record(
        store,
        AuditEvent::new(
            actor,
            AuditAction::KeyRotated,
            AuditTarget::ApiKey(id.to_owned()),
        )
        .detail("successor", record.id.clone())
        .detail("grace_seconds", (grace_ms.max(0) / 1_000).to_string()),
        now,
    )?;
    Ok((record, key, old))
}

/// Rotates the key-encryption key: a new one wraps every data key made from now on, and every
/// stored data key is re-wrapped under it, a batch per transaction. Audited once the new key
/// exists; an interrupted rotation is finished by the next start
/// ([`candor_store::Store::unlock_data_keys`]). Returns the new key's id and how many data keys
/// were re-wrapped.
pub fn rotate_kek(
    store: &dyn Store,
    actor: Actor,
    now: Timestamp,
) -> Result<(i64, u64), StoreError> {
    let id = store.add_kek(now)?;
    audit::record(
        store,
        AuditEvent::new(
            actor,
            AuditAction::KekRotated,
            AuditTarget::ApiKey(format!("kek-{id}")),
        ),
        now,
    )?;
    Ok((id, candor_store::wrap::rewrap_all(store)?))
}

/// Rotates the token signing keys: a new key signs from now on, earlier ones verify what
/// they signed until it expires. Audited. Returns the new key's id.
pub fn rotate_token_keys(
    store: &dyn Store,
    secret: &[u8],
    rights: &crate::config::SubjectRights,
    actor: Actor,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let id = crate::token_keys::create(store, secret, rights, now, true)?;
    audit::record(
        store,
        AuditEvent::new(
            actor,
            AuditAction::TokenKeysRotated,
            AuditTarget::ApiKey(format!("token-signing-key-{id}")),
        ),
        now,
    )?;
    Ok(id)
}
