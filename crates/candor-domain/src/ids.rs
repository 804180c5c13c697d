//! Identifiers, parsed once at the edge. Once a value of these types exists it is valid.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; the limit is {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} contains a control character")]
    ControlCharacter { what: &'static str },
    #[error(
        "{what} `{value}` must be lowercase ASCII letters, digits and underscores, starting with a letter"
    )]
    NotSnakeCase { what: &'static str, value: String },
}

/// Longest external subject id accepted, in characters (Unicode code points, as JSON
/// Schema's `maxLength` counts them), so the OpenAPI document states the limit exactly.
pub const EXTERNAL_ID_CHARS_MAX: usize = 256;

/// A shop's own identifier for a person (user id, anonymous id).
///
/// It only ever lives in memory on its way to becoming a [`SubjectKey`]; it is never stored,
/// logged or shown, so it deliberately has no `Display` and a redacting `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<ExternalId, IdError> {
        check_text("subject id", raw, EXTERNAL_ID_CHARS_MAX)?;
        Ok(ExternalId(raw.to_owned()))
    }

    /// The raw bytes, for keyed hashing and nothing else.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalId(<redacted>)")
    }
}

/// The pseudonymous key a subject is stored under:
/// HMAC-SHA-256(server secret, external id).
///
/// Without the server secret the key cannot be linked back to the shop's id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey([u8; 32]);

impl SubjectKey {
    pub fn derive(server_secret: &[u8], external: &ExternalId) -> SubjectKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .expect("HMAC accepts keys of any length");
        mac.update(external.as_bytes());
        SubjectKey(mac.finalize().into_bytes().into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> SubjectKey {
        SubjectKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<SubjectKey> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(SubjectKey(out))
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell keys apart in test failures.
        write!(f, "SubjectKey({}…)", &self.to_hex()[..8])
    }
}

macro_rules! snake_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<$name, IdError> {
                check_snake($what, raw, $max)?;
                Ok($name(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

snake_id!(
    /// A purpose declared in the policy, such as `personalization`.
    PurposeId,
    "purpose id",
    64
);
snake_id!(
    /// A data category, such as `browsing` or `health`.
    CategoryId,
    "data category",
    64
);

fn check_text(what: &'static str, raw: &str, max: usize) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty { what });
    }
    let len = raw.chars().count();
    if len > max {
        return Err(IdError::TooLong { what, len, max });
    }
    if raw.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { what });
    }
    Ok(())
}

fn check_snake(what: &'static str, raw: &str, max: usize) -> Result<(), IdError> {
    check_text(what, raw, max)?;
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(IdError::NotSnakeCase {
            what,
            value: raw.to_owned(),
        });
    }
    Ok(())
}

/// A keyed hash of `bytes` under `secret`, separated by `tag` so hashes made for different
/// uses (subjects, message ids, tombstones) never collide.
pub fn keyed_hash(secret: &[u8], tag: &str, bytes: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(tag.as_bytes());
    mac.update(&[0]);
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_key_is_keyed() {
        let id = ExternalId::parse("user-42").unwrap();
        let a = SubjectKey::derive(b"secret-a", &id);
        let b = SubjectKey::derive(b"secret-b", &id);
        assert_ne!(a, b);
        assert_eq!(a, SubjectKey::derive(b"secret-a", &id));
        assert_eq!(SubjectKey::from_hex(&a.to_hex()), Some(a));
        assert!(!format!("{id:?}").contains("user-42"));
    }

    #[test]
    fn ids_are_checked() {
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse(&"x".repeat(257)).is_err());
        assert!(ExternalId::parse("a\nb").is_err());
        assert!(PurposeId::parse("personalization").is_ok());
        assert!(PurposeId::parse("Personalization").is_err());
        assert!(PurposeId::parse("1st").is_err());
    }
}
