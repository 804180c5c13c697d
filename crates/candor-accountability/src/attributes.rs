//! Self-declared protected attributes, readable only by the fairness audit.
//!
//! Subjects may declare attributes such as gender or age band, under a separate consent, so
//! that Candor can check that campaigns and recommendations treat groups alike. The same values
//! must never steer segments, models or campaigns. This module makes that a property of the
//! types rather than a rule to remember: [`AuditAttributes`] has private fields and no getter,
//! so code outside this crate can store and pass the values but never read them. The only way
//! in is [`GroupTally::add_declared`](crate::GroupTally::add_declared), which counts a subject
//! into an aggregate that is reported with small groups suppressed.
//!
//! Reading a raw value from outside does not compile:
//!
//! ```compile_fail
//! use candor_accountability::{AttributeKind, AuditAttributes};
//!
//! let attributes = AuditAttributes::new()
//!     .with(AttributeKind::Gender, "woman")
//!     .unwrap();
//! // The field is private to this crate.
//! let raw = &attributes.values;
//! ```
//!
//! Nor does asking for one through a getter, because there is none:
//!
//! ```compile_fail
//! use candor_accountability::{AttributeKind, AuditAttributes};
//!
//! let attributes = AuditAttributes::new()
//!     .with(AttributeKind::AgeBand, "25-34")
//!     .unwrap();
//! let raw: Option<&str> = attributes.get(AttributeKind::AgeBand);
//! ```
//!
//! Storing and passing them does compile:
//!
//! ```
//! use candor_accountability::{AttributeKind, AuditAttributes, GroupTally};
//!
//! let attributes = AuditAttributes::new()
//!     .with(AttributeKind::AgeBand, "25-34")
//!     .unwrap();
//! let mut tally = GroupTally::new();
//! tally.add_declared(&attributes, AttributeKind::AgeBand, true, None).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;

use candor_domain::crypto::{self, DataKey, NONCE_LEN};

/// Longest attribute value accepted.
pub const ATTRIBUTE_VALUE_BYTES_MAX: usize = 64;

/// Which protected characteristic a value declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeKind {
    /// Gender identity.
    Gender,
    /// Age band such as `25-34` (bands, not birth dates: the audit needs no more).
    AgeBand,
    /// Ethnic origin.
    Ethnicity,
    /// Disability.
    Disability,
    /// Religion or belief.
    Religion,
    /// Sexual orientation.
    SexualOrientation,
}

impl AttributeKind {
    /// A stable snake_case name, for report titles.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::Gender => "gender",
            AttributeKind::AgeBand => "age_band",
            AttributeKind::Ethnicity => "ethnicity",
            AttributeKind::Disability => "disability",
            AttributeKind::Religion => "religion",
            AttributeKind::SexualOrientation => "sexual_orientation",
        }
    }
}

impl AttributeKind {
    /// Every kind, in a fixed order.
    pub const ALL: [AttributeKind; 6] = [
        AttributeKind::Gender,
        AttributeKind::AgeBand,
        AttributeKind::Ethnicity,
        AttributeKind::Disability,
        AttributeKind::Religion,
        AttributeKind::SexualOrientation,
    ];

    /// The kind with this snake_case name.
    pub fn parse(name: &str) -> Option<AttributeKind> {
        AttributeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a declared value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    /// Empty after trimming, too long, or holding control characters.
    #[error(
        "an attribute value must be 1..={ATTRIBUTE_VALUE_BYTES_MAX} bytes without control characters"
    )]
    InvalidValue,
    /// Sealed attributes that do not open under the key and context given, or whose contents
    /// are not a valid declaration.
    #[error("the sealed attributes cannot be opened")]
    Unreadable,
}

/// A subject's self-declared protected attributes.
///
/// Write-only from outside this crate: values go in through [`AuditAttributes::declare`] and
/// come out only as anonymous counts in a fairness report. `Debug` is implemented by hand so
/// that logging a value does not print the attributes either.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuditAttributes {
    values: BTreeMap<AttributeKind, String>,
}

impl fmt::Debug for AuditAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditAttributes({} declared)", self.values.len())
    }
}

impl AuditAttributes {
    /// No attribute declared.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the subject's declaration for one kind, replacing an earlier one. The value is
    /// trimmed; anything else is kept as the subject wrote it.
    pub fn declare(&mut self, kind: AttributeKind, value: &str) -> Result<(), AttributeError> {
        let value = value.trim();
        if value.is_empty()
            || value.len() > ATTRIBUTE_VALUE_BYTES_MAX
            || value.chars().any(char::is_control)
        {
            return Err(AttributeError::InvalidValue);
        }
        self.values.insert(kind, value.to_owned());
        Ok(())
    }

    /// Builder form of [`AuditAttributes::declare`].
    pub fn with(mut self, kind: AttributeKind, value: &str) -> Result<Self, AttributeError> {
        self.declare(kind, value)?;
        Ok(self)
    }

    /// Forgets one declaration (the subject withdrew it).
    pub fn withdraw(&mut self, kind: AttributeKind) {
        self.values.remove(&kind);
    }

    /// How many kinds are declared.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Seals the declarations with the subject's data key, bound to `context` (the subject and
    /// table), for storage. The plaintext encoding never leaves this crate, so storing
    /// attributes does not open a way to read them.
    pub fn seal(&self, key: &DataKey, nonce: [u8; NONCE_LEN], context: &[u8]) -> Vec<u8> {
        let mut plain = String::new();
        for (kind, value) in &self.values {
            // Values hold no control characters, so a newline cannot occur inside one.
            plain.push_str(kind.as_str());
            plain.push('=');
            plain.push_str(value);
            plain.push('\n');
        }
        crypto::seal(key, nonce, context, plain.as_bytes())
    }

    /// Opens what [`AuditAttributes::seal`] produced, with the same key and context. After
    /// erasure (the data key destroyed) this fails: crypto-shredding.
    pub fn open(key: &DataKey, context: &[u8], sealed: &[u8]) -> Result<Self, AttributeError> {
        let plain = crypto::open(key, context, sealed).map_err(|_| AttributeError::Unreadable)?;
        let text = String::from_utf8(plain).map_err(|_| AttributeError::Unreadable)?;
        let mut out = AuditAttributes::new();
        for line in text.lines() {
            let (kind, value) = line.split_once('=').ok_or(AttributeError::Unreadable)?;
            let kind = AttributeKind::parse(kind).ok_or(AttributeError::Unreadable)?;
            out.declare(kind, value)
                .map_err(|_| AttributeError::Unreadable)?;
        }
        Ok(out)
    }

    /// The grouping key for one kind. Crate-private: a key handed out per subject would let
    /// other crates compare subjects by a protected attribute.
    pub(crate) fn group_key(&self, kind: AttributeKind) -> Option<GroupKey> {
        self.values.get(&kind).map(|v| GroupKey(v.clone()))
    }
}

/// A group identity used while counting. Crate-private, with a `Debug` that hides the value:
/// only the aggregated report, after suppression, shows group labels.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct GroupKey(pub(crate) String);

impl fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_attributes_open_only_with_their_key_and_context() {
        let key = DataKey::from_bytes([3; 32]);
        let attributes = AuditAttributes::new()
            .with(AttributeKind::Gender, "non-binary")
            .unwrap()
            .with(AttributeKind::AgeBand, "25-34")
            .unwrap();
        let sealed = attributes.seal(&key, [9; NONCE_LEN], b"subject-a");
        assert!(!String::from_utf8_lossy(&sealed).contains("non-binary"));
        assert_eq!(
            AuditAttributes::open(&key, b"subject-a", &sealed).unwrap(),
            attributes
        );
        assert_eq!(
            AuditAttributes::open(&key, b"subject-b", &sealed),
            Err(AttributeError::Unreadable)
        );
        let shredded = DataKey::from_bytes([4; 32]);
        assert_eq!(
            AuditAttributes::open(&shredded, b"subject-a", &sealed),
            Err(AttributeError::Unreadable)
        );
        let empty = AuditAttributes::new().seal(&key, [1; NONCE_LEN], b"c");
        assert!(
            AuditAttributes::open(&key, b"c", &empty)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            AttributeKind::parse("age_band"),
            Some(AttributeKind::AgeBand)
        );
        assert_eq!(AttributeKind::parse("shoe_size"), None);
    }
}
