//! The keys that sign visitor and subject tokens.
//!
//! They live in the store, so every instance over a shared database signs and verifies alike,
//! each sealed under a key derived from the server secret, so the database alone cannot forge
//! a token. The server secret itself only derives subject keys and bindings: rotating the
//! signing keys (`candor keys rotate-signing`) re-keys nobody. The newest unretired key signs;
//! a retired key still verifies until the longest token lifetime has passed since it retired,
//! so tokens it signed stay valid until they expire.
//!
//! Keys read from the store are kept for [`crate::api_key::KEY_CACHE_TTL`]; a token naming a key
//! id not in the cache is always looked up afresh.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use candor_domain::crypto::{self, DataKey, NONCE_LEN};
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use candor_store::{Store, StoreError, StoreResult};
use rand::RngCore;

use crate::subject_token::SigningKey;

const SEAL_CONTEXT: &[u8] = b"candor token signing key";
/// Shortest time between two reads of the keys caused by a token naming an unknown key id.
pub(crate) const UNKNOWN_ID_REREAD: std::time::Duration = std::time::Duration::from_millis(250);

/// A signing key as loaded, with when it retired.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) key: SigningKey,
    pub(crate) retired_at: Option<Timestamp>,
}

struct Snapshot {
    read_at: Instant,
    keys: Arc<Vec<Loaded>>,
}

/// The signing keys this instance has read. A std mutex, not a Tokio one: it is held only to
/// copy an `Arc` in or out, never across an await.
#[derive(Default)]
pub struct TokenKeyring(Mutex<Option<Snapshot>>);

impl TokenKeyring {
    pub(crate) fn get(&self, fresh_only: bool) -> Option<Arc<Vec<Loaded>>> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|s| !fresh_only || s.read_at.elapsed() < crate::api_key::KEY_CACHE_TTL)
            .map(|s| Arc::clone(&s.keys))
    }

    /// How long ago the keys were read, if ever.
    pub(crate) fn age(&self) -> Option<std::time::Duration> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|s| s.read_at.elapsed())
    }

    pub(crate) fn put(&self, keys: Vec<Loaded>) -> Arc<Vec<Loaded>> {
        let keys = Arc::new(keys);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Snapshot {
            read_at: Instant::now(),
            keys: Arc::clone(&keys),
        });
        keys
    }
}

fn wrap_key(secret: &[u8]) -> DataKey {
    DataKey::from_bytes(keyed_hash(secret, "token-signing-key-wrap", b""))
}

/// The longest any token lives: how long a retired key must still verify.
pub fn token_lifetime_ms_max(rights: &crate::config::SubjectRights) -> i64 {
    let seconds = rights
        .token_ttl_seconds_max
        .max(rights.visitor_token_ttl_seconds);
    i64::try_from(seconds).unwrap_or(i64::MAX / 2_000) * 1_000
}

pub(crate) fn load(store: &dyn Store, secret: &[u8]) -> StoreResult<Vec<Loaded>> {
    let wrap = wrap_key(secret);
    let mut keys = Vec::new();
    for record in store.token_keys()? {
        let Ok(id) = u32::try_from(record.id) else {
            continue;
        };
        // A key sealed under another server secret cannot sign for this one; skip it.
        let Ok(bytes) = crypto::open(&wrap, SEAL_CONTEXT, &record.sealed) else {
            tracing::warn!(
                id,
                "a token signing key does not open with this server secret"
            );
            continue;
        };
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            continue;
        };
        keys.push(Loaded {
            key: SigningKey { id, bytes },
            retired_at: record.retired_at,
        });
    }
    Ok(keys)
}

/// Adds a fresh signing key; with `retire_others`, every earlier key retires now (it still
/// verifies the tokens it signed until they expire). Forgets keys retired so long ago that
/// nothing they signed can still be valid. Returns the new key's id.
pub fn create(
    store: &dyn Store,
    secret: &[u8],
    rights: &crate::config::SubjectRights,
    now: Timestamp,
    retire_others: bool,
) -> StoreResult<i64> {
    let mut rng = rand::thread_rng();
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let sealed = crypto::seal(&wrap_key(secret), nonce, SEAL_CONTEXT, &bytes);
    let id = store.insert_token_key(&sealed, now, retire_others)?;
    store.delete_token_keys_retired_before(now.plus_millis(-token_lifetime_ms_max(rights)))?;
    Ok(id)
}

pub(crate) fn newest_signing(keys: &[Loaded]) -> Option<SigningKey> {
    keys.iter()
        .filter(|k| k.retired_at.is_none())
        .max_by_key(|k| k.key.id)
        .map(|k| k.key.clone())
}

/// The signing key as the store holds it, for the command line (no cache there).
pub fn signing_key_from_store(
    store: &dyn Store,
    secret: &[u8],
    rights: &crate::config::SubjectRights,
    now: Timestamp,
) -> StoreResult<SigningKey> {
    signing_from_store(store, secret, rights, now).map(|(_, k)| k)
}

pub(crate) fn signing_from_store(
    store: &dyn Store,
    secret: &[u8],
    rights: &crate::config::SubjectRights,
    now: Timestamp,
) -> StoreResult<(Vec<Loaded>, SigningKey)> {
    let keys = load(store, secret)?;
    if let Some(k) = newest_signing(&keys) {
        return Ok((keys, k));
    }
    // Two instances may both create one here; both keys verify, the newer signs.
    create(store, secret, rights, now, false)?;
    let keys = load(store, secret)?;
    let key = newest_signing(&keys).ok_or_else(|| {
        StoreError::Other("no token signing key opens with this server secret".into())
    })?;
    Ok((keys, key))
}
