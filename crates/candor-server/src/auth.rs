//! API keys: `cnd_<id>_<secret>`, sent as `Authorization: Bearer KEY`.
//!
//! Only the SHA-256 of the secret part is stored; the id finds the record and the secret is
//! compared in constant time. A missing, empty or unknown key never means open access.
//!
//! Key records found in the store are kept in memory for a few seconds ([`KeyCache`]), so a
//! busy endpoint does not read the same record on every request; the secret is still compared
//! on every request, and an unknown id is always looked up afresh.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use candor_domain::time::Timestamp;
use candor_store::{ApiKeyRecord, Scope, Store, StoreResult};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

const KEY_PREFIX: &str = "cnd_";
const ID_HEX_LEN: usize = 16;
const SECRET_HEX_LEN: usize = 64;

/// A key as parsed from a header, before it is checked.
struct PresentedKey<'a> {
    id: &'a str,
    secret: &'a str,
}

fn parse_key(raw: &str) -> Option<PresentedKey<'_>> {
    let rest = raw.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_ok(id, ID_HEX_LEN) && hex_ok(secret, SECRET_HEX_LEN))
        .then_some(PresentedKey { id, secret })
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// How long a key record read from the store is trusted before it is read again: the longest
/// a change made by another process (another instance, the command line) takes to apply here.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Most key records kept; the cache starts over when full (there are few keys in practice).
const KEY_CACHE_MAX: usize = 1024;

/// Recently read API key records, by key id.
#[derive(Default)]
pub struct KeyCache(std::sync::Mutex<std::collections::HashMap<String, CachedKey>>);

struct CachedKey {
    read_at: std::time::Instant,
    record: std::sync::Arc<ApiKeyRecord>,
}

impl KeyCache {
    fn get(&self, id: &str) -> Option<std::sync::Arc<ApiKeyRecord>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|c| c.read_at.elapsed() < KEY_CACHE_TTL)
            .map(|c| std::sync::Arc::clone(&c.record))
    }

    fn put(&self, record: std::sync::Arc<ApiKeyRecord>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEY_CACHE_MAX {
            map.clear();
        }
        map.insert(
            record.id.clone(),
            CachedKey {
                read_at: std::time::Instant::now(),
                record,
            },
        );
    }
}

/// The record of key `id`: from the cache while fresh, otherwise from the store.
async fn key_record(
    state: &AppState,
    id: &str,
) -> Result<Option<std::sync::Arc<ApiKeyRecord>>, ApiError> {
    if let Some(record) = state.api_keys.get(id) {
        return Ok(Some(record));
    }
    let lookup = id.to_owned();
    let record = state.blocking(move |store| store.api_key(&lookup)).await?;
    Ok(record.map(|record| {
        let record = std::sync::Arc::new(record);
        state.api_keys.put(std::sync::Arc::clone(&record));
        record
    }))
}

/// Options for a new key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub scopes: Vec<Scope>,
    pub allowed_origins: Vec<String>,
    pub label: String,
}

/// Creates and stores a key; returns the full key, which is shown once and never stored.
pub fn create_key(
    store: &dyn Store,
    new: NewKey,
    now: Timestamp,
) -> StoreResult<(ApiKeyRecord, String)> {
    let mut rng = rand::thread_rng();
    let mut id = [0u8; ID_HEX_LEN / 2];
    let mut secret = [0u8; SECRET_HEX_LEN / 2];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let (id, secret) = (hex::encode(id), hex::encode(secret));
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    let record = ApiKeyRecord {
        id: id.clone(),
        secret_hash: hash_secret(&secret),
        scopes,
        allowed_origins: new.allowed_origins,
        label: new.label,
        created_at: now,
    };
    store.insert_api_key(&record)?;
    Ok((record, format!("{KEY_PREFIX}{id}_{secret}")))
}

/// The key in `Bearer KEY`, or in `Basic base64(KEY:)`: the form Segment-style libraries send
/// their write key in, so sites instrumented for them can point at Candor unchanged.
fn bearer_or_basic(header: &str) -> Option<String> {
    if let Some(k) = header.strip_prefix("Bearer ") {
        return Some(k.trim().to_owned());
    }
    let encoded = header.strip_prefix("Basic ")?;
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.as_str(), |(user, _)| user)
            .to_owned(),
    )
}

/// The caller, authenticated by an API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Succeeds if the key has any of `allowed` (admin can do everything).
    pub fn require(&self, allowed: &[Scope]) -> Result<(), ApiError> {
        if self.scopes.contains(&Scope::Admin) || self.scopes.iter().any(|s| allowed.contains(s)) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(ApiError::forbidden(
            "insufficient_scope",
            format!(
                "this API key lacks the scope this endpoint needs ({})",
                names.join(" or ")
            ),
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthenticated("send an API key as `Authorization: Bearer KEY`".into())
        })?;
        let raw = header
            .to_str()
            .ok()
            .and_then(bearer_or_basic)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthenticated("the Authorization header must be `Bearer KEY`".into())
            })?;
        let presented = parse_key(&raw)
            .ok_or_else(|| ApiError::Unauthenticated("the API key is malformed".into()))?;
        let record = key_record(state, presented.id)
            .await?
            .filter(|r| bool::from(r.secret_hash.ct_eq(&hash_secret(presented.secret))))
            .ok_or_else(|| ApiError::Unauthenticated("the API key is not valid".into()))?;
        // A key bound to browser origins may only be used from those origins.
        if !record.allowed_origins.is_empty()
            && let Some(origin) = parts
                .headers
                .get(header::ORIGIN)
                .and_then(|o| o.to_str().ok())
            && !record.allowed_origins.iter().any(|o| o == origin)
        {
            return Err(ApiError::forbidden(
                "origin_not_allowed",
                "this API key may not be used from this web origin",
            ));
        }
        Ok(Caller {
            key_id: record.id.clone(),
            scopes: record.scopes.clone(),
        })
    }
}

// --- Subject access: an admin key, or a subject token for exactly that subject. ---

/// Who is asking for a subject's data: an operator with an admin key, or the person
/// themselves with a subject token. Handlers call [`SubjectAccess::authorize`] with the
/// subject of the path before touching any data.
#[derive(Debug, Clone)]
pub enum SubjectAccess {
    Operator(Caller),
    Subject(crate::subject_token::SubjectToken),
}

impl SubjectAccess {
    /// Succeeds for an admin key, or a token issued for `subject`; a token for anyone else is
    /// 403, whatever the subject exists or not.
    pub fn authorize(
        &self,
        state: &AppState,
        subject: &candor_domain::SubjectKey,
    ) -> Result<(), ApiError> {
        match self {
            SubjectAccess::Operator(caller) => caller.require(&[Scope::Admin]),
            SubjectAccess::Subject(token) if token.is_for(state.secret.as_bytes(), subject) => {
                Ok(())
            }
            SubjectAccess::Subject(_) => Err(ApiError::forbidden(
                "token_wrong_subject",
                "this subject token was issued for another person",
            )),
        }
    }

    /// For routes a shop's keys also use: a key needs one of `scopes` (admin passes), a
    /// subject token must be for `subject`.
    pub fn permit(
        &self,
        state: &AppState,
        subject: &candor_domain::SubjectKey,
        scopes: &[Scope],
    ) -> Result<(), ApiError> {
        match self {
            SubjectAccess::Operator(caller) => caller.require(scopes),
            SubjectAccess::Subject(_) => self.authorize(state, subject),
        }
    }

    /// What to log as the acting credential: the key id, or `subject-token`.
    pub fn label(&self) -> &str {
        match self {
            SubjectAccess::Operator(caller) => &caller.key_id,
            SubjectAccess::Subject(_) => "subject-token",
        }
    }

    /// Who acted, for the request log: `operator` or `subject`.
    pub fn actor(&self) -> &'static str {
        match self {
            SubjectAccess::Operator(_) => "operator",
            SubjectAccess::Subject(_) => "subject",
        }
    }

    /// Who acted, as the audit log names them.
    pub fn audit_actor(&self) -> crate::audit::Actor {
        match self {
            SubjectAccess::Operator(caller) => crate::audit::actor_of(caller),
            SubjectAccess::Subject(_) => crate::audit::Actor::Subject,
        }
    }
}

impl FromRequestParts<AppState> for SubjectAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(crate::subject_token::TOKEN_PREFIX));
        let Some(token) = token else {
            return Caller::from_request_parts(parts, state)
                .await
                .map(SubjectAccess::Operator);
        };
        use crate::subject_token::{TokenError, verify};
        match verify(state.secret.as_bytes(), token, state.now()) {
            Ok(t) => Ok(SubjectAccess::Subject(t)),
            Err(e @ TokenError::Invalid) => {
                Err(ApiError::TokenRejected("token_invalid", e.to_string()))
            }
            Err(e @ TokenError::Expired) => {
                Err(ApiError::TokenRejected("token_expired", e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format() {
        assert!(parse_key(&format!("cnd_{}_{}", "a".repeat(16), "b".repeat(64))).is_some());
        assert!(parse_key("").is_none());
        assert!(parse_key("cnd__").is_none());
        assert!(parse_key(&format!("cnd_{}_{}", "a".repeat(15), "b".repeat(64))).is_none());
        assert!(parse_key(&format!("xyz_{}_{}", "a".repeat(16), "b".repeat(64))).is_none());
        assert!(parse_key(&format!("cnd_{}_{}", "g".repeat(16), "b".repeat(64))).is_none());
    }
}
