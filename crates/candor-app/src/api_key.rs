//! API keys: their format (`cnd_sk_<id>_<secret>`, `cnd_pk_<id>_<secret>`, and the older
//! `cnd_<id>_<secret>`), the checks on a new key, creating and rotating them. Only a SHA-256
//! of the secret part is stored. Reading a key off a request is the server's.

use candor_domain::time::Timestamp;
use candor_store::{ApiKeyRecord, Scope, Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "cnd_";
pub const SERVER_PREFIX: &str = "cnd_sk_";
pub const PUBLISHABLE_PREFIX: &str = "cnd_pk_";
const ID_HEX_LEN: usize = 16;
const SECRET_HEX_LEN: usize = 64;

/// Which kind of key a presented key claims to be, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Server,
    Publishable,
}

/// A key as parsed from a header, before it is checked.
pub struct PresentedKey<'a> {
    pub kind: KeyKind,
    pub id: &'a str,
    pub secret: &'a str,
}

pub fn parse_key(raw: &str) -> Option<PresentedKey<'_>> {
    let (kind, rest) = if let Some(rest) = raw.strip_prefix(SERVER_PREFIX) {
        (KeyKind::Server, rest)
    } else if let Some(rest) = raw.strip_prefix(PUBLISHABLE_PREFIX) {
        (KeyKind::Publishable, rest)
    } else {
        (KeyKind::Server, raw.strip_prefix(KEY_PREFIX)?)
    };
    let (id, secret) = rest.split_once('_')?;
    let hex_ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_ok(id, ID_HEX_LEN) && hex_ok(secret, SECRET_HEX_LEN)).then_some(PresentedKey {
        kind,
        id,
        secret,
    })
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// How long a key record or signing key read from the store is trusted before it is read
/// again: the longest a revocation made elsewhere (another instance, the command line) takes
/// to apply here. Below five seconds, so a revocation is honoured everywhere within five.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(4);
/// Options for a new key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub scopes: Vec<Scope>,
    pub allowed_origins: Vec<String>,
    pub label: String,
    pub expires_at: Option<Timestamp>,
}

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest origin accepted, and most origins per key.
const ORIGIN_BYTES_MAX: usize = 256;
const ORIGINS_LEN_MAX: usize = 32;
/// Longest key label, in characters (as the OpenAPI document counts them).
const LABEL_CHARS_MAX: usize = 200;

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn origin_ok(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && o.len() <= ORIGIN_BYTES_MAX
        && !rest.contains(['/', '?', '#', ' ', '@'])
}

impl NewKey {
    /// Checks the combination: a publishable key has that scope alone and at least one
    /// origin; a server key has at least one server scope.
    pub fn check(&self, now: Timestamp) -> Result<(), String> {
        if self.scopes.is_empty() {
            return Err("a key needs at least one scope".into());
        }
        let publishable = self.scopes.contains(&Scope::Publishable);
        if publishable && self.scopes.len() > 1 {
            return Err(
                "a publishable key has the `publishable` scope alone: it lives in web \
                        pages, so it can only start visitor sessions"
                    .into(),
            );
        }
        if publishable && self.allowed_origins.is_empty() {
            return Err(
                "a publishable key needs at least one allowed origin, such as \
                        https://shop.example"
                    .into(),
            );
        }
        if self.allowed_origins.len() > ORIGINS_LEN_MAX {
            return Err(format!("at most {ORIGINS_LEN_MAX} origins per key"));
        }
        if let Some(bad) = self.allowed_origins.iter().find(|o| !origin_ok(o)) {
            return Err(format!(
                "`{bad}` is not an origin; write scheme://host[:port], such as https://shop.example"
            ));
        }
        if self.label.chars().count() > LABEL_CHARS_MAX {
            return Err(format!("a label is at most {LABEL_CHARS_MAX} characters"));
        }
        if self
            .expires_at
            .is_some_and(|e| e.as_millis() <= now.as_millis())
        {
            return Err("the expiry must be in the future".into());
        }
        Ok(())
    }
}

/// Creates and stores a key; returns the full key, which is shown once and never stored.
pub fn create_key(
    store: &dyn Store,
    new: NewKey,
    now: Timestamp,
) -> Result<(ApiKeyRecord, String), KeyError> {
    new.check(now).map_err(KeyError::Invalid)?;
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
        expires_at: new.expires_at,
        revoked_at: None,
    };
    store.insert_api_key(&record)?;
    let prefix = if record.is_publishable() {
        PUBLISHABLE_PREFIX
    } else {
        SERVER_PREFIX
    };
    Ok((record, format!("{prefix}{id}_{secret}")))
}

/// How long a rotated key keeps working beside its successor, when none is given.
pub const ROTATION_GRACE_SECONDS_DEFAULT: u64 = 86_400;

/// Replaces key `id` with a new key of the same scopes, origins and label; the old key stops
/// working after `grace_ms` (at once for 0). Returns the new record and key.
pub fn rotate_key(
    store: &dyn Store,
    id: &str,
    grace_ms: i64,
    now: Timestamp,
) -> Result<(ApiKeyRecord, String), KeyError> {
    let old = store.api_key(id)?.ok_or(StoreError::NotFound)?;
    if !old.is_live(now) {
        return Err(KeyError::Invalid(
            "this key is revoked or expired; create a new key instead".into(),
        ));
    }
    let created = create_key(
        store,
        NewKey {
            scopes: old.scopes.clone(),
            allowed_origins: old.allowed_origins.clone(),
            label: old.label.clone(),
            expires_at: old.expires_at.filter(|e| e.as_millis() > now.as_millis()),
        },
        now,
    )?;
    if grace_ms <= 0 {
        store.revoke_api_key(id, now)?;
    } else {
        store.expire_api_key(id, now.plus_millis(grace_ms))?;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format() {
        let (id, secret) = ("a".repeat(16), "b".repeat(64));
        let kind = |raw: &str| parse_key(raw).map(|k| k.kind);
        assert_eq!(kind(&format!("cnd_{id}_{secret}")), Some(KeyKind::Server));
        assert_eq!(
            kind(&format!("cnd_sk_{id}_{secret}")),
            Some(KeyKind::Server)
        );
        assert_eq!(
            kind(&format!("cnd_pk_{id}_{secret}")),
            Some(KeyKind::Publishable)
        );
        assert!(parse_key("").is_none());
        assert!(parse_key("cnd__").is_none());
        assert!(parse_key(&format!("cnd_{}_{secret}", "a".repeat(15))).is_none());
        assert!(parse_key(&format!("xyz_{id}_{secret}")).is_none());
        assert!(parse_key(&format!("cnd_{}_{secret}", "g".repeat(16))).is_none());
        assert!(parse_key(&format!("cnd_xk_{id}_{secret}")).is_none());
    }

    #[test]
    fn new_keys_are_checked() {
        let now = Timestamp::from_millis(1_000);
        let key = |scopes: Vec<Scope>, origins: &[&str]| NewKey {
            scopes,
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            label: String::new(),
            expires_at: None,
        };
        assert!(key(vec![Scope::Ingest], &[]).check(now).is_ok());
        assert!(key(vec![], &[]).check(now).is_err());
        assert!(key(vec![Scope::Publishable], &[]).check(now).is_err());
        assert!(
            key(
                vec![Scope::Publishable, Scope::Ingest],
                &["https://a.example"]
            )
            .check(now)
            .is_err()
        );
        assert!(
            key(vec![Scope::Publishable], &["https://a.example:8443"])
                .check(now)
                .is_ok()
        );
        for bad in [
            "a.example",
            "https://a.example/path",
            "ftp://a.example",
            "https://",
        ] {
            assert!(
                key(vec![Scope::Publishable], &[bad]).check(now).is_err(),
                "{bad}"
            );
        }
        let mut expired = key(vec![Scope::Ingest], &[]);
        expired.expires_at = Some(now);
        assert!(expired.check(now).is_err());
    }
}
