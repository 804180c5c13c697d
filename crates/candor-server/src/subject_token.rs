//! Subject tokens: short-lived bearer tokens that let one person reach their own data.
//!
//! `cst_` + base64url(version ‖ binding ‖ expiry ‖ mac), where
//! - `binding` = keyed_hash(server secret, "subject-token-binding", subject key): the token
//!   names its subject without carrying the shop's id or the subject key in clear;
//! - `expiry` is milliseconds since the epoch, big-endian;
//! - `mac` = HMAC-SHA-256 over the preceding bytes under a signing key derived from the server
//!   secret with its own tag, so no other keyed hash Candor makes can pass for a token.
//!
//! Nothing about tokens is stored: rotating the server secret revokes every token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_domain::SubjectKey;
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use subtle::ConstantTimeEq;

/// What every subject token starts with; tells it apart from an API key (`cnd_`).
pub const TOKEN_PREFIX: &str = "cst_";
const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 32 + 8;
const TOKEN_LEN: usize = PAYLOAD_LEN + 32;

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the subject token is malformed or its signature does not verify")]
    Invalid,
    #[error("the subject token has expired; ask for a new one")]
    Expired,
}

/// A token whose signature verified and which has not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectToken {
    binding: [u8; 32],
    pub expires_at: Timestamp,
}

impl SubjectToken {
    /// Whether the token was issued for `subject`.
    pub fn is_for(&self, secret: &[u8], subject: &SubjectKey) -> bool {
        bool::from(self.binding.ct_eq(&binding(secret, subject)))
    }
}

fn signing_key(secret: &[u8]) -> [u8; 32] {
    keyed_hash(secret, "subject-token-signing-key", b"")
}

fn binding(secret: &[u8], subject: &SubjectKey) -> [u8; 32] {
    keyed_hash(secret, "subject-token-binding", subject.as_bytes())
}

fn mac(secret: &[u8], payload: &[u8]) -> [u8; 32] {
    keyed_hash(&signing_key(secret), "subject-token-v1", payload)
}

/// A token for `subject` valid until `expires_at`.
pub fn issue(secret: &[u8], subject: &SubjectKey, expires_at: Timestamp) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&binding(secret, subject));
    bytes.extend_from_slice(&expires_at.as_millis().to_be_bytes());
    let tag = mac(secret, &bytes);
    bytes.extend_from_slice(&tag);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks a presented token: well-formed, signed with this server's secret, not expired.
pub fn verify(secret: &[u8], token: &str, now: Timestamp) -> Result<SubjectToken, TokenError> {
    let body = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::Invalid)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Invalid)?;
    if bytes.len() != TOKEN_LEN || bytes[0] != VERSION {
        return Err(TokenError::Invalid);
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
    if !bool::from(mac(secret, payload).ct_eq(tag)) {
        return Err(TokenError::Invalid);
    }
    let mut binding = [0u8; 32];
    binding.copy_from_slice(&payload[1..33]);
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&payload[33..41]);
    let expires_at = Timestamp::from_millis(i64::from_be_bytes(expiry));
    if expires_at.as_millis() <= now.as_millis() {
        return Err(TokenError::Expired);
    }
    Ok(SubjectToken {
        binding,
        expires_at,
    })
}

// --- Minting on demand (the demo shop's privacy-center link). ---

/// Issues tokens for one person on demand, each valid for the configured lifetime from the
/// moment it is made, so a long-running page can always hand out a fresh link.
pub fn minter(
    secret: &[u8],
    subject: SubjectKey,
    rights: &crate::config::SubjectRights,
    clock: crate::state::Clock,
) -> impl Fn() -> String + Send + Sync + 'static {
    let secret = secret.to_vec();
    let rights = rights.clone();
    move || {
        let now = clock.now();
        // The configured lifetime is validated when the configuration loads.
        let expires_at = crate::routes::rights::token_expiry(&rights, None, now)
            .unwrap_or_else(|_| now.plus_millis(60 * 60 * 1_000));
        issue(&secret, &subject, expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_domain::ExternalId;

    fn key(id: &str) -> SubjectKey {
        SubjectKey::derive(b"k", &ExternalId::parse(id).unwrap())
    }

    #[test]
    fn round_trip_expiry_and_forgery() {
        let secret = [3u8; 32];
        let now = Timestamp::from_millis(1_000_000);
        let t = issue(&secret, &key("ann"), now.plus_millis(60_000));
        assert!(!t.contains("ann"));
        assert!(!t.contains(&key("ann").to_hex()));
        let v = verify(&secret, &t, now).unwrap();
        assert!(v.is_for(&secret, &key("ann")));
        assert!(!v.is_for(&secret, &key("bob")));
        assert_eq!(
            verify(&secret, &t, now.plus_millis(60_000)),
            Err(TokenError::Expired)
        );
        assert_eq!(verify(&[4u8; 32], &t, now), Err(TokenError::Invalid));
        // Flip one bit anywhere in the body: never valid.
        let raw = URL_SAFE_NO_PAD.decode(&t[4..]).unwrap();
        for i in 0..raw.len() {
            let mut b = raw.clone();
            b[i] ^= 1;
            let forged = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(b));
            assert_eq!(
                verify(&secret, &forged, now),
                Err(TokenError::Invalid),
                "{i}"
            );
        }
        assert_eq!(verify(&secret, "cst_", now), Err(TokenError::Invalid));
        assert_eq!(verify(&secret, "cst_***", now), Err(TokenError::Invalid));
        assert_eq!(verify(&secret, "nope", now), Err(TokenError::Invalid));
    }
}
