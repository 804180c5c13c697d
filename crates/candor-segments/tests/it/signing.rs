//! Webhook signatures, unsubscribe tokens and idempotency keys.

use candor_domain::SubjectKey;
use candor_domain::policy::Channel;
use candor_segments::signing::{
    TokenError, WEBHOOK_TOLERANCE_S_DEFAULT, WebhookError, delivery_idempotency_key, sign_webhook,
    unsubscribe_token, verify_unsubscribe_token, verify_webhook,
};

const SECRET: &[u8] = b"whsec-test";
const T: i64 = 1_780_000_000;

#[test]
fn webhook_signature_round_trip() {
    let body = br#"{"event":"delivered"}"#;
    let sig = sign_webhook(SECRET, T, body);
    assert_eq!(sig.len(), 64);
    assert_eq!(
        verify_webhook(SECRET, T, body, &sig, T + 10, WEBHOOK_TOLERANCE_S_DEFAULT),
        Ok(())
    );
    // The documented construction: HMAC-SHA-256 over "{timestamp}.{body}".
    assert_eq!(sig, {
        use hmac::{Hmac, Mac};
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET).unwrap();
        m.update(format!("{T}.{}", std::str::from_utf8(body).unwrap()).as_bytes());
        hex::encode(m.finalize().into_bytes())
    });
}

#[test]
fn webhook_refuses_tampering_and_stale_timestamps() {
    let body = br#"{"event":"delivered"}"#;
    let sig = sign_webhook(SECRET, T, body);
    let tol = WEBHOOK_TOLERANCE_S_DEFAULT;
    assert_eq!(
        verify_webhook(SECRET, T, br#"{"event":"bounced"}"#, &sig, T, tol),
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        verify_webhook(SECRET, T + 1, body, &sig, T, tol),
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        verify_webhook(b"other", T, body, &sig, T, tol),
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        verify_webhook(SECRET, T, body, "zz", T, tol),
        Err(WebhookError::Malformed)
    );
    assert_eq!(
        verify_webhook(SECRET, T, body, &sig, T + tol + 1, tol),
        Err(WebhookError::Stale {
            skew_s: tol + 1,
            tolerance_s: tol
        })
    );
    assert!(verify_webhook(SECRET, T, body, &sig, T - tol, tol).is_ok());
}

#[test]
fn unsubscribe_tokens_verify_and_refuse_tampering() {
    let key = SubjectKey::from_bytes([7; 32]);
    let token = unsubscribe_token(SECRET, &key, Channel::Email);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        verify_unsubscribe_token(SECRET, &token),
        Ok((key, Channel::Email))
    );
    assert_eq!(
        verify_unsubscribe_token(b"other", &token),
        Err(TokenError::Mismatch)
    );

    // Flip each character in turn: no single change survives.
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered != token {
            assert!(verify_unsubscribe_token(SECRET, &tampered).is_err(), "{i}");
        }
    }
    // A token for one channel cannot be turned into another channel's.
    let sms = unsubscribe_token(SECRET, &key, Channel::Sms);
    assert_ne!(sms, token);
    assert_eq!(
        verify_unsubscribe_token(SECRET, "not a token"),
        Err(TokenError::Malformed)
    );
    assert_eq!(
        verify_unsubscribe_token(SECRET, &"A".repeat(500)),
        Err(TokenError::Malformed)
    );
}

#[test]
fn idempotency_keys_are_stable_and_distinct() {
    let key = SubjectKey::from_bytes([1; 32]);
    let a = delivery_idempotency_key("spring", "run-1", &key);
    assert_eq!(a, delivery_idempotency_key("spring", "run-1", &key));
    assert_ne!(a, delivery_idempotency_key("spring", "run-2", &key));
    assert_ne!(a, delivery_idempotency_key("sprin", "grun-1", &key));
    assert_ne!(
        a,
        delivery_idempotency_key("spring", "run-1", &SubjectKey::from_bytes([2; 32]))
    );
}
