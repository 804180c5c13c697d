//! Browser tokens: what a web page holds instead of an API key. Each reaches one person only.
//!
//! - A **visitor token** (`cvt_`) names an anonymous visitor whose id Candor picked itself
//!   (random), so a page cannot claim someone else's id. It is minted by
//!   `POST /v1/visitor-sessions` with a publishable key and dies with that key.
//! - A **subject session token** (`cst_`) names one known person. A shop's backend mints it
//!   with a server key (`POST /v1/subject-tokens`) for the person it has logged in; it carries
//!   scopes and a short lifetime.
//!
//! Both are `prefix` + base64url(payload ‖ mac), where the payload starts with a version byte
//! and the id of the signing key, and the mac is HMAC-SHA-256 under that signing key with a
//! tag of its own per kind, so neither kind can pass for the other or for any other keyed hash
//! Candor makes. Signing keys are kept apart from the server secret that derives subject keys
//! ([`crate::token_keys`]): they rotate without re-keying anyone, and a token signed by a
//! retired key stays valid until it expires.
//!
//! A subject token names its person by a binding — a keyed hash of the subject key under the
//! server secret — so it carries neither the shop's id nor the pseudonym in clear.
//!
//! Nothing per token is stored. One person's tokens are revoked together by a per-subject
//! "not before" instant (`Store::revoke_subject_tokens`): erasure and "sign out everywhere"
//! set it, and every token issued before it is void.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use subtle::ConstantTimeEq;

/// What every subject session token starts with.
pub const TOKEN_PREFIX: &str = "cst_";
/// What every visitor token starts with.
pub const VISITOR_PREFIX: &str = "cvt_";
/// What every anonymous id Candor mints starts with.
pub const ANONYMOUS_ID_PREFIX: &str = "v-";

const SUBJECT_VERSION: u8 = 2;
const VISITOR_VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// version, key id, binding, scopes, issued at, expires at.
const SUBJECT_PAYLOAD_LEN: usize = 1 + 4 + 32 + 1 + 8 + 8;
/// version, key id, anonymous id, publishable key id, issued at, expires at.
const VISITOR_PAYLOAD_LEN: usize = 1 + 4 + 16 + 8 + 8 + 8;
/// Bytes of the random part of a minted anonymous id.
pub const ANONYMOUS_ID_BYTES: usize = 16;
/// Bytes of a publishable key's id (16 hex digits).
const KEY_ID_BYTES: usize = 8;

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature does not verify")]
    Invalid,
    #[error("the token has expired; ask for a new one")]
    Expired,
}

impl TokenError {
    /// The stable error code of the refusal.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Invalid => "token_invalid",
            TokenError::Expired => "token_expired",
        }
    }
}

/// What a subject session token lets its holder do for its one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenScope {
    /// Read recommendations and preferences; give feedback, pause, remove from history.
    Recommendations,
    /// Read and record consent choices and signals.
    Consent,
    /// Send the person's events; set their time zone.
    Events,
    /// The privacy center: export, erasure, rectification, restriction, objection,
    /// explanations, audit attributes, sign out everywhere.
    Privacy,
}

impl TokenScope {
    pub const ALL: [TokenScope; 4] = [
        TokenScope::Recommendations,
        TokenScope::Consent,
        TokenScope::Events,
        TokenScope::Privacy,
    ];

    fn bit(self) -> u8 {
        match self {
            TokenScope::Recommendations => 1,
            TokenScope::Consent => 2,
            TokenScope::Events => 4,
            TokenScope::Privacy => 8,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Recommendations => "recommendations",
            TokenScope::Consent => "consent",
            TokenScope::Events => "events",
            TokenScope::Privacy => "privacy",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A set of [`TokenScope`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenScopes(u8);

impl TokenScopes {
    pub fn all() -> TokenScopes {
        TokenScopes::from_iter(TokenScope::ALL)
    }

    pub fn contains(self, scope: TokenScope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn names(self) -> Vec<&'static str> {
        TokenScope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(TokenScope::as_str)
            .collect()
    }

    fn from_bits(bits: u8) -> Option<TokenScopes> {
        let known = TokenScopes::all().0;
        (bits != 0 && bits & !known == 0).then_some(TokenScopes(bits))
    }
}

impl FromIterator<TokenScope> for TokenScopes {
    fn from_iter<I: IntoIterator<Item = TokenScope>>(iter: I) -> Self {
        TokenScopes(iter.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

/// A token signing key: its id and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub id: u32,
    pub bytes: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, <secret>)", self.id)
    }
}

/// A subject session token whose signature verified and which has not expired. Which person
/// it is for is only answered by [`SubjectClaims::is_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectClaims {
    binding: [u8; 32],
    pub scopes: TokenScopes,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl SubjectClaims {
    /// Whether the token was issued for `subject` (`secret` is the server secret).
    pub fn is_for(&self, secret: &[u8], subject: &SubjectKey) -> bool {
        bool::from(self.binding.ct_eq(&binding(secret, subject)))
    }

    /// Under what its person's token revocations are kept: see [`revocation_ref`].
    pub fn revocation_ref(&self) -> SubjectKey {
        SubjectKey::from_bytes(self.binding)
    }
}

/// Under what one person's token revocations are kept: the binding their tokens carry, a
/// keyed hash of their subject key. Every token can be checked against it without knowing
/// whom it is for, and the marker left after an erasure is not the erased person's key.
pub fn revocation_ref(secret: &[u8], subject: &SubjectKey) -> SubjectKey {
    SubjectKey::from_bytes(binding(secret, subject))
}

/// A visitor token whose signature verified and which has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorClaims {
    /// The anonymous id Candor minted, such as `v-3f9a…`.
    pub anonymous_id: ExternalId,
    /// The id of the publishable key the session was started with.
    pub publishable_key_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

fn binding(secret: &[u8], subject: &SubjectKey) -> [u8; 32] {
    keyed_hash(secret, "subject-token-binding", subject.as_bytes())
}

fn mac(key: &SigningKey, tag: &str, payload: &[u8]) -> [u8; 32] {
    keyed_hash(&key.bytes, tag, payload)
}

const SUBJECT_TAG: &str = "candor-subject-token-v2";
const VISITOR_TAG: &str = "candor-visitor-token-v1";

fn finish(prefix: &str, key: &SigningKey, tag: &str, mut bytes: Vec<u8>) -> String {
    let tag = mac(key, tag, &bytes);
    bytes.extend_from_slice(&tag);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A subject session token for `subject` (`secret` is the server secret, for the binding).
pub fn issue(
    key: &SigningKey,
    secret: &[u8],
    subject: &SubjectKey,
    scopes: TokenScopes,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> String {
    let mut bytes = Vec::with_capacity(SUBJECT_PAYLOAD_LEN + MAC_LEN);
    bytes.push(SUBJECT_VERSION);
    bytes.extend_from_slice(&key.id.to_be_bytes());
    bytes.extend_from_slice(&binding(secret, subject));
    bytes.push(scopes.0);
    bytes.extend_from_slice(&issued_at.as_millis().to_be_bytes());
    bytes.extend_from_slice(&expires_at.as_millis().to_be_bytes());
    finish(TOKEN_PREFIX, key, SUBJECT_TAG, bytes)
}

/// A fresh anonymous id from `random` bytes.
pub fn anonymous_id(random: [u8; ANONYMOUS_ID_BYTES]) -> ExternalId {
    ExternalId::parse(&format!("{ANONYMOUS_ID_PREFIX}{}", hex::encode(random)))
        .expect("a prefixed hex string is a valid external id")
}

/// A visitor token for the anonymous id made from `random`, started with publishable key
/// `publishable_key_id` (16 hex digits).
pub fn issue_visitor(
    key: &SigningKey,
    random: [u8; ANONYMOUS_ID_BYTES],
    publishable_key_id: &str,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Option<String> {
    let key_id: [u8; KEY_ID_BYTES] = hex::decode(publishable_key_id).ok()?.try_into().ok()?;
    let mut bytes = Vec::with_capacity(VISITOR_PAYLOAD_LEN + MAC_LEN);
    bytes.push(VISITOR_VERSION);
    bytes.extend_from_slice(&key.id.to_be_bytes());
    bytes.extend_from_slice(&random);
    bytes.extend_from_slice(&key_id);
    bytes.extend_from_slice(&issued_at.as_millis().to_be_bytes());
    bytes.extend_from_slice(&expires_at.as_millis().to_be_bytes());
    Some(finish(VISITOR_PREFIX, key, VISITOR_TAG, bytes))
}

/// A token taken apart but not yet verified: which signing key it names, and its bytes.
#[derive(Debug)]
pub struct Presented {
    pub key_id: u32,
    bytes: Vec<u8>,
}

fn present(
    token: &str,
    prefix: &str,
    version: u8,
    payload_len: usize,
) -> Result<Presented, TokenError> {
    let body = token.strip_prefix(prefix).ok_or(TokenError::Invalid)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Invalid)?;
    if bytes.len() != payload_len + MAC_LEN || bytes[0] != version {
        return Err(TokenError::Invalid);
    }
    let key_id = u32::from_be_bytes(bytes[1..5].try_into().map_err(|_| TokenError::Invalid)?);
    Ok(Presented { key_id, bytes })
}

/// Takes a subject session token apart, so the caller can find its signing key.
pub fn present_subject(token: &str) -> Result<Presented, TokenError> {
    present(token, TOKEN_PREFIX, SUBJECT_VERSION, SUBJECT_PAYLOAD_LEN)
}

/// Takes a visitor token apart, so the caller can find its signing key.
pub fn present_visitor(token: &str) -> Result<Presented, TokenError> {
    present(token, VISITOR_PREFIX, VISITOR_VERSION, VISITOR_PAYLOAD_LEN)
}

fn millis(bytes: &[u8]) -> Timestamp {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    Timestamp::from_millis(i64::from_be_bytes(b))
}

/// Checks the signature under `key` (`None`: the token names a key this server does not
/// hold) and the expiry, returning what a payload of `payload_len` bytes says.
fn checked<'a>(
    p: &'a Presented,
    key: Option<&SigningKey>,
    tag: &str,
    payload_len: usize,
    now: Timestamp,
) -> Result<&'a [u8], TokenError> {
    let key = key
        .filter(|k| k.id == p.key_id)
        .ok_or(TokenError::Invalid)?;
    let (payload, tag_bytes) = p.bytes.split_at(payload_len);
    if !bool::from(mac(key, tag, payload).ct_eq(tag_bytes)) {
        return Err(TokenError::Invalid);
    }
    if millis(&payload[payload_len - 8..]).as_millis() <= now.as_millis() {
        return Err(TokenError::Expired);
    }
    Ok(payload)
}

/// Verifies a presented subject session token under its signing key.
pub fn verify_subject(
    p: &Presented,
    key: Option<&SigningKey>,
    now: Timestamp,
) -> Result<SubjectClaims, TokenError> {
    let payload = checked(p, key, SUBJECT_TAG, SUBJECT_PAYLOAD_LEN, now)?;
    let mut binding = [0u8; 32];
    binding.copy_from_slice(&payload[5..37]);
    Ok(SubjectClaims {
        binding,
        scopes: TokenScopes::from_bits(payload[37]).ok_or(TokenError::Invalid)?,
        issued_at: millis(&payload[38..46]),
        expires_at: millis(&payload[46..54]),
    })
}

/// Verifies a presented visitor token under its signing key.
pub fn verify_visitor(
    p: &Presented,
    key: Option<&SigningKey>,
    now: Timestamp,
) -> Result<VisitorClaims, TokenError> {
    let payload = checked(p, key, VISITOR_TAG, VISITOR_PAYLOAD_LEN, now)?;
    let mut random = [0u8; ANONYMOUS_ID_BYTES];
    random.copy_from_slice(&payload[5..21]);
    Ok(VisitorClaims {
        anonymous_id: anonymous_id(random),
        publishable_key_id: hex::encode(&payload[21..29]),
        issued_at: millis(&payload[29..37]),
        expires_at: millis(&payload[37..45]),
    })
}

/// Recovers the random part of a minted anonymous id, to renew its session.
pub fn anonymous_random(id: &ExternalId) -> Option<[u8; ANONYMOUS_ID_BYTES]> {
    let text = std::str::from_utf8(id.as_bytes()).ok()?;
    hex::decode(text.strip_prefix(ANONYMOUS_ID_PREFIX)?)
        .ok()?
        .try_into()
        .ok()
}

/// The expiry of a subject token issued at `now` with `ttl_seconds` (the configured default
/// when `None`), checked against the configured longest lifetime.
pub fn token_expiry(
    rights: &crate::config::SubjectRights,
    ttl_seconds: Option<u64>,
    now: Timestamp,
) -> Result<Timestamp, String> {
    let ttl = ttl_seconds.unwrap_or(rights.token_ttl_seconds);
    if ttl == 0 || ttl > rights.token_ttl_seconds_max {
        return Err(format!(
            "ttl_seconds must be between 1 and {}",
            rights.token_ttl_seconds_max
        ));
    }
    Ok(now.plus_millis(i64::try_from(ttl).unwrap_or(i64::MAX / 2_000) * 1_000))
}

// --- Minting on demand (the demo shop's logged-in shopper). ---

/// Parses requested token scopes; none asked for means all.
pub fn parse_scopes(names: Option<&[String]>) -> Result<TokenScopes, String> {
    let Some(names) = names else {
        return Ok(TokenScopes::all());
    };
    if names.is_empty() {
        return Err(
            "scopes must name at least one of recommendations, consent, events, privacy".into(),
        );
    }
    names
        .iter()
        .map(|n| {
            TokenScope::parse(n).ok_or_else(|| {
                format!("`{n}` is not a token scope; expected recommendations, consent, events or privacy")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> SubjectKey {
        SubjectKey::derive(b"k", &ExternalId::parse(id).unwrap())
    }

    fn signing(id: u32, byte: u8) -> SigningKey {
        SigningKey {
            id,
            bytes: [byte; 32],
        }
    }

    fn flipped(token: &str, prefix: &str) -> Vec<String> {
        let raw = URL_SAFE_NO_PAD.decode(&token[prefix.len()..]).unwrap();
        (0..raw.len())
            .map(|i| {
                let mut b = raw.clone();
                b[i] ^= 1;
                format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
            })
            .collect()
    }

    #[test]
    fn subject_tokens_round_trip_expire_and_resist_forgery() {
        let secret = [3u8; 32];
        let k = signing(7, 9);
        let now = Timestamp::from_millis(1_000_000);
        let scopes: TokenScopes = [TokenScope::Consent, TokenScope::Privacy]
            .into_iter()
            .collect();
        let t = issue(
            &k,
            &secret,
            &key("ann"),
            scopes,
            now,
            now.plus_millis(60_000),
        );
        assert!(!t.contains("ann"));
        let p = present_subject(&t).unwrap();
        assert_eq!(p.key_id, 7);
        let v = verify_subject(&p, Some(&k), now).unwrap();
        assert!(v.is_for(&secret, &key("ann")));
        assert!(!v.is_for(&secret, &key("bob")));
        assert_eq!(v.scopes, scopes);
        assert!(!v.scopes.contains(TokenScope::Events));
        assert_eq!(v.issued_at, now);
        assert_eq!(
            verify_subject(&p, Some(&k), now.plus_millis(60_000)),
            Err(TokenError::Expired)
        );
        // Another key with the same id, or no key at all: never valid.
        assert_eq!(
            verify_subject(&p, Some(&signing(7, 8)), now),
            Err(TokenError::Invalid)
        );
        assert_eq!(verify_subject(&p, None, now), Err(TokenError::Invalid));
        for forged in flipped(&t, TOKEN_PREFIX) {
            let ok = present_subject(&forged)
                .and_then(|p| verify_subject(&p, Some(&k), now))
                .is_ok();
            assert!(!ok, "{forged}");
        }
        for bad in ["cst_", "cst_***", "nope", ""] {
            assert_eq!(present_subject(bad).unwrap_err(), TokenError::Invalid);
        }
    }

    #[test]
    fn visitor_tokens_round_trip_and_never_pass_for_subject_tokens() {
        let k = signing(1, 4);
        let now = Timestamp::from_millis(5_000);
        let t =
            issue_visitor(&k, [0xab; 16], "0123456789abcdef", now, now.plus_millis(10)).unwrap();
        let v = verify_visitor(&present_visitor(&t).unwrap(), Some(&k), now).unwrap();
        assert_eq!(
            std::str::from_utf8(v.anonymous_id.as_bytes()).unwrap(),
            format!("v-{}", "ab".repeat(16))
        );
        assert_eq!(v.publishable_key_id, "0123456789abcdef");
        assert_eq!(anonymous_random(&v.anonymous_id), Some([0xab; 16]));
        for forged in flipped(&t, VISITOR_PREFIX) {
            let ok = present_visitor(&forged)
                .and_then(|p| verify_visitor(&p, Some(&k), now))
                .is_ok();
            assert!(!ok, "{forged}");
        }
        // The kinds do not mix, even re-prefixed.
        assert!(present_subject(&t).is_err());
        let renamed = t.replacen(VISITOR_PREFIX, TOKEN_PREFIX, 1);
        assert!(present_subject(&renamed).is_err());
        assert!(issue_visitor(&k, [0; 16], "not hex", now, now).is_none());
    }

    #[test]
    fn scopes_reject_unknown_bits() {
        assert!(TokenScopes::from_bits(0).is_none());
        assert!(TokenScopes::from_bits(16).is_none());
        assert_eq!(TokenScopes::from_bits(15), Some(TokenScopes::all()));
        assert_eq!(
            TokenScopes::all().names(),
            ["recommendations", "consent", "events", "privacy"]
        );
    }
}
