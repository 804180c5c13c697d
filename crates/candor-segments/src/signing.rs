//! Signatures for what leaves Candor: webhook deliveries, unsubscribe links, and the
//! idempotency key that lets a delivery be retried without being sent twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use candor_domain::SubjectKey;
use candor_domain::policy::Channel;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How far a webhook timestamp may lie from `now` by default, in seconds; enough for clock
/// skew and retries in flight, short enough that a captured request cannot be replayed later.
pub const WEBHOOK_TOLERANCE_S_DEFAULT: i64 = 5 * 60;

fn mac(secret: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Signs a webhook body: hex HMAC-SHA-256 over `"{timestamp_s}.{body}"`. Including the
/// timestamp in what is signed is what makes a stale request detectable.
pub fn sign_webhook(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(timestamp_s.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Why a webhook signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature is not 64 hex digits.
    #[error("the signature is not a hex HMAC-SHA-256")]
    Malformed,
    /// The signature does not match the body and timestamp.
    #[error("the signature does not match")]
    Mismatch,
    /// The timestamp is further from now than the tolerance.
    #[error("the timestamp is {skew_s} s from now; the tolerance is {tolerance_s} s")]
    Stale {
        /// How far off, in seconds.
        skew_s: i64,
        /// The tolerance applied.
        tolerance_s: i64,
    },
}

/// Verifies a webhook signature in constant time and checks the timestamp lies within
/// `tolerance_s` of `now_s` (both Unix seconds).
pub fn verify_webhook(
    secret: &[u8],
    timestamp_s: i64,
    body: &[u8],
    signature_hex: &str,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), WebhookError> {
    let mut given = [0u8; 32];
    hex::decode_to_slice(signature_hex.trim(), &mut given).map_err(|_| WebhookError::Malformed)?;
    let mut m = mac(secret);
    m.update(timestamp_s.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&given).map_err(|_| WebhookError::Mismatch)?;
    // Checked after the signature, so an attacker learns nothing about timing from a forgery.
    let skew_s = now_s.saturating_sub(timestamp_s).saturating_abs();
    if skew_s > tolerance_s {
        return Err(WebhookError::Stale {
            skew_s,
            tolerance_s,
        });
    }
    Ok(())
}

/// Version byte of the unsubscribe token layout, so the layout can change without old links
/// being misread.
const TOKEN_VERSION: u8 = 1;
/// Bytes of HMAC kept in a token: 128 bits is far beyond guessing, and keeps links short.
const TOKEN_MAC_BYTES: usize = 16;
const TOKEN_PAYLOAD_BYTES: usize = 1 + 32 + 1;
/// Separates unsubscribe MACs from any other MAC made with the same secret.
const TOKEN_CONTEXT: &[u8] = b"candor unsubscribe v1\0";

fn channel_byte(channel: Channel) -> u8 {
    match channel {
        Channel::Email => 1,
        Channel::Sms => 2,
        Channel::Push => 3,
        Channel::Web => 4,
    }
}

fn channel_from_byte(b: u8) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| channel_byte(*c) == b)
}

/// Issues an unsubscribe token for (subject, channel): URL-safe base64 of the payload and a
/// truncated HMAC. It needs no database row, and it does not expire, because an unsubscribe
/// link in an old message must still work.
pub fn unsubscribe_token(secret: &[u8], subject: &SubjectKey, channel: Channel) -> String {
    let mut bytes = [0u8; TOKEN_PAYLOAD_BYTES + TOKEN_MAC_BYTES];
    bytes[0] = TOKEN_VERSION;
    bytes[1..33].copy_from_slice(subject.as_bytes());
    bytes[33] = channel_byte(channel);
    let tag = token_mac(secret, &bytes[..TOKEN_PAYLOAD_BYTES]);
    bytes[TOKEN_PAYLOAD_BYTES..].copy_from_slice(&tag[..TOKEN_MAC_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_mac(secret: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut m = mac(secret);
    m.update(TOKEN_CONTEXT);
    m.update(payload);
    m.finalize().into_bytes().into()
}

/// Why an unsubscribe token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this layout.
    #[error("not an unsubscribe token")]
    Malformed,
    /// Altered, or made with another secret.
    #[error("the unsubscribe token's signature does not match")]
    Mismatch,
}

/// Checks an unsubscribe token and returns who it unsubscribes from which channel.
pub fn verify_unsubscribe_token(
    secret: &[u8],
    token: &str,
) -> Result<(SubjectKey, Channel), TokenError> {
    // Longest valid token is 67 characters; refusing long input early bounds the work.
    if token.len() > 128 {
        return Err(TokenError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| TokenError::Malformed)?;
    if bytes.len() != TOKEN_PAYLOAD_BYTES + TOKEN_MAC_BYTES || bytes[0] != TOKEN_VERSION {
        return Err(TokenError::Malformed);
    }
    let (payload, tag) = bytes.split_at(TOKEN_PAYLOAD_BYTES);
    let mut m = mac(secret);
    m.update(TOKEN_CONTEXT);
    m.update(payload);
    m.verify_truncated_left(tag)
        .map_err(|_| TokenError::Mismatch)?;
    let channel = channel_from_byte(payload[33]).ok_or(TokenError::Malformed)?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&payload[1..33]);
    Ok((SubjectKey::from_bytes(key), channel))
}

/// The idempotency key of one delivery: SHA-256 over the campaign id, the run id and the
/// subject key, each length-prefixed so no two different triples collide by concatenation.
/// A retried delivery carries the same key, so the receiver (and the outbox) can drop the
/// duplicate.
pub fn delivery_idempotency_key(campaign_id: &str, run_id: &str, subject: &SubjectKey) -> String {
    let mut h = Sha256::new();
    for part in [
        campaign_id.as_bytes(),
        run_id.as_bytes(),
        subject.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}
