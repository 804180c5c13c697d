//! Sealing contact data with a per-subject data key (XChaCha20-Poly1305).
//!
//! Each subject has its own random 256-bit key; destroying it makes every ciphertext sealed
//! with it unreadable (crypto-shredding). The caller supplies the key and a fresh random nonce:
//! this module draws no randomness of its own.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Bytes in a data key.
pub const DATA_KEY_LEN: usize = 32;
/// Bytes in a nonce; 192 bits makes random nonces safe.
pub const NONCE_LEN: usize = 24;

/// A subject's data key. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct DataKey([u8; DATA_KEY_LEN]);

impl DataKey {
    pub fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> DataKey {
        DataKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed data is shorter than its nonce")]
    Truncated,
    #[error("sealed data does not authenticate under this key")]
    Unauthentic,
}

/// Seals `plaintext`, binding it to `context` (for example the subject key and field name) so a
/// ciphertext cannot be moved to another subject or field. Output: nonce || ciphertext.
pub fn seal(key: &DataKey, nonce: [u8; NONCE_LEN], context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.0.as_ref().into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .expect("encryption of an in-memory buffer cannot fail");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] produced with the same key and context.
pub fn open(key: &DataKey, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Truncated);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.0.as_ref().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: context,
            },
        )
        .map_err(|_| CryptoError::Unauthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_shred() {
        let key = DataKey::from_bytes([7; 32]);
        let sealed = seal(&key, [1; 24], b"subject:email", b"ada@example.com");
        assert_eq!(
            open(&key, b"subject:email", &sealed).unwrap(),
            b"ada@example.com"
        );
        // Another key (the original destroyed and replaced) cannot read it.
        let other = DataKey::from_bytes([8; 32]);
        assert_eq!(
            open(&other, b"subject:email", &sealed),
            Err(CryptoError::Unauthentic)
        );
        // Moving the ciphertext to another field fails too.
        assert_eq!(
            open(&key, b"subject:name", &sealed),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(open(&key, b"", &[0; 3]), Err(CryptoError::Truncated));
        assert!(!String::from_utf8_lossy(&sealed).contains("ada@"));
    }
}
