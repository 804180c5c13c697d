//! Token signing keys as the running application uses them: cached in the [`App`] for
//! [`crate::api_key::KEY_CACHE_TTL`], read from the store when stale or unknown. The keys'
//! storage and rotation are `token_keys`'; the token format is `subject_token`'s.

use candor_domain::SubjectKey;
use candor_store::{Store, StoreResult};

use crate::App;
use crate::error::AppResult;
use crate::subject_token::{SigningKey, TokenScopes, issue, token_expiry};
use crate::token_keys::{
    Loaded, UNKNOWN_ID_REREAD, load, newest_signing, signing_from_store, token_lifetime_ms_max,
};

/// Reads the keys and returns the signing key, creating the first one if there is none.
fn load_signing(store: &dyn Store, state: &App) -> StoreResult<(Vec<Loaded>, SigningKey)> {
    signing_from_store(
        store,
        state.secret.as_bytes(),
        &state.config.subject_rights,
        state.now(),
    )
}

/// The key new tokens are signed with.
pub async fn signing_key(state: &App) -> AppResult<SigningKey> {
    if let Some(k) = state.token_keys.get(true).and_then(|k| newest_signing(&k)) {
        return Ok(k);
    }
    let app = state.clone();
    let (keys, key) = state
        .blocking(move |store| load_signing(store, &app))
        .await?;
    state.token_keys.put(keys);
    Ok(key)
}

/// The signing key for a caller that cannot await (the demo shop's page script): the cached
/// one at any age, reading the store only when nothing was ever read.
pub fn signing_key_blocking(state: &App) -> StoreResult<SigningKey> {
    if let Some(k) = state.token_keys.get(false).and_then(|k| newest_signing(&k)) {
        return Ok(k);
    }
    let (keys, key) = load_signing(state.store.as_ref(), state)?;
    state.token_keys.put(keys);
    Ok(key)
}

/// The key with `id`, if it exists and may still verify at `now`.
pub async fn verifying_key(state: &App, id: u32) -> AppResult<Option<SigningKey>> {
    let now = state.now();
    let lifetime = token_lifetime_ms_max(&state.config.subject_rights);
    let pick = |keys: &[Loaded]| {
        keys.iter()
            .find(|k| k.key.id == id)
            .filter(|k| {
                k.retired_at
                    .is_none_or(|r| r.as_millis() + lifetime > now.as_millis())
            })
            .map(|k| k.key.clone())
    };
    if let Some(keys) = state.token_keys.get(true) {
        if let Some(k) = pick(&keys) {
            return Ok(Some(k));
        }
        // A key id not in a just-read set: a forged token, or a key another instance made a
        // moment ago. Read again only when the set is older than UNKNOWN_ID_REREAD, so forged
        // ids cannot turn every request into a store read.
        if state
            .token_keys
            .age()
            .is_some_and(|a| a < UNKNOWN_ID_REREAD)
        {
            return Ok(None);
        }
    }
    let secret = state.secret.clone();
    let keys = state
        .read(move |store| load(store, secret.as_bytes()))
        .await?;
    let keys = state.token_keys.put(keys);
    Ok(pick(&keys))
}

/// Issues subject session tokens for one person on demand, each with every scope and the
/// configured default lifetime from the moment it is made, so a long-running page can always
/// hand out a fresh one. A token that cannot be signed (storage down) comes out empty, which
/// every endpoint refuses.
pub fn minter(
    state: crate::App,
    subject: SubjectKey,
) -> impl Fn() -> String + Send + Sync + 'static {
    move || {
        let now = state.now();
        let expires_at = token_expiry(&state.config.subject_rights, None, now)
            .unwrap_or_else(|_| now.plus_millis(15 * 60 * 1_000));
        match signing_key_blocking(&state) {
            Ok(key) => issue(
                &key,
                state.secret.as_bytes(),
                &subject,
                TokenScopes::all(),
                now,
                expires_at,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot mint a subject token");
                String::new()
            }
        }
    }
}
