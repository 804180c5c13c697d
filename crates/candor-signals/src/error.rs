//! The one error type every decoder in this crate returns.
//!
//! Each error names the wire format and the field that failed, in the spelling the format's
//! specification uses (`tcfPolicyVersion`, `SaleOptOut`, `ad_storage`), so a log line or an
//! API response can point a CMP vendor at the exact field to fix.

use std::fmt;

/// The wire format a [`SignalError`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalFormat {
    /// An IAB TCF v2.2 TC string.
    Tcf,
    /// The header of an IAB GPP string, or its overall `~` layout.
    Gpp,
    /// The US National (`usnat`) section of a GPP string.
    UsNational,
    /// A US Privacy (`uspv1`) string.
    UsPrivacy,
    /// A Google Consent Mode v2 state.
    ConsentMode,
}

impl fmt::Display for SignalFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalFormat::Tcf => "TC string",
            SignalFormat::Gpp => "GPP string",
            SignalFormat::UsNational => "GPP US National section",
            SignalFormat::UsPrivacy => "US Privacy string",
            SignalFormat::ConsentMode => "Consent Mode state",
        })
    }
}

/// Why a field could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorReason {
    /// The input is longer than [`crate::SIGNAL_LEN_MAX`].
    #[error("the input is {len} bytes long, more than the limit of {max} bytes")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The input, or one of its segments, is empty.
    #[error("it is empty")]
    Empty,
    /// A character outside the base64url (or standard base64) alphabet.
    #[error("character {character:?} at position {position} is not base64url")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte position within the segment.
        position: usize,
    },
    /// The bits ran out before the field could be read completely.
    #[error("the input ends before the {bits} bits of this field")]
    Truncated {
        /// How many bits the field needed.
        bits: usize,
    },
    /// A version this crate does not decode.
    #[error("version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        /// The version in the input.
        found: u64,
        /// The version(s) supported, in words.
        expected: &'static str,
    },
    /// The TCF policy version predates TCF v2.2.
    #[error("policy version {found} is older than the minimum supported {min} (TCF v2.2)")]
    PolicyVersionTooOld {
        /// The policy version in the input.
        found: u64,
        /// The minimum accepted.
        min: u8,
    },
    /// A vendor range whose end is before its start.
    #[error("a range ends at {end}, before its start {start}")]
    RangeEndBeforeStart {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// Vendor ids start at 1.
    #[error("vendor id 0 is not a valid id")]
    VendorIdZero,
    /// A value outside the field's allowed set.
    #[error("value {value} is not allowed here ({allowed})")]
    InvalidValue {
        /// The value found.
        value: u64,
        /// The allowed values, in words.
        allowed: &'static str,
    },
    /// A text value outside the field's allowed set.
    #[error("value {value:?} is not allowed here ({allowed})")]
    InvalidText {
        /// The value found (cut to a short prefix).
        value: String,
        /// The allowed values, in words.
        allowed: &'static str,
    },
    /// A TC string segment type that is not 1, 2 or 3, or a GPP header type other than 3.
    #[error("segment type {found} is not one this format defines")]
    UnknownSegmentType {
        /// The type found.
        found: u64,
    },
    /// A segment that may appear at most once appeared again.
    #[error("this segment appears more than once")]
    DuplicateSegment,
    /// A field that may appear at most once appeared again.
    #[error("the key appears more than once")]
    DuplicateKey,
    /// A number too large for the field.
    #[error("the value does not fit the field's range")]
    Overflow,
    /// The GPP header lists a different number of sections than the string carries.
    #[error("the header lists {listed} sections but the string carries {present}")]
    SectionCountMismatch {
        /// Section ids in the header.
        listed: usize,
        /// Sections after the header.
        present: usize,
    },
    /// More entries than the format or Candor allows.
    #[error("{count} entries is more than the limit of {max}")]
    TooManyEntries {
        /// Entries found.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// A consent signal that could not be decoded, naming the format and field that failed.
///
/// Displays as one sentence, for example:
/// `TC string rejected at field `tcfPolicyVersion`: policy version 2 is older than the
/// minimum supported 4 (TCF v2.2)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} rejected at field `{field}`: {reason}")]
pub struct SignalError {
    format: SignalFormat,
    field: &'static str,
    reason: ErrorReason,
}

impl SignalError {
    pub(crate) fn new(format: SignalFormat, field: &'static str, reason: ErrorReason) -> Self {
        SignalError {
            format,
            field,
            reason,
        }
    }

    /// The wire format that failed.
    pub fn format(&self) -> SignalFormat {
        self.format
    }

    /// The field that failed, spelled as in the format's specification.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why the field failed.
    pub fn reason(&self) -> &ErrorReason {
        &self.reason
    }
}

/// Refuses inputs longer than [`crate::SIGNAL_LEN_MAX`] before any decoding work.
pub(crate) fn check_len(
    input: &str,
    format: SignalFormat,
    field: &'static str,
) -> Result<(), SignalError> {
    if input.len() > crate::SIGNAL_LEN_MAX {
        return Err(SignalError::new(
            format,
            field,
            ErrorReason::TooLong {
                len: input.len(),
                max: crate::SIGNAL_LEN_MAX,
            },
        ));
    }
    if input.trim().is_empty() {
        return Err(SignalError::new(format, field, ErrorReason::Empty));
    }
    Ok(())
}

/// A short, printable prefix of untrusted text for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const EXCERPT_CHARS_MAX: usize = 32;
    text.chars().take(EXCERPT_CHARS_MAX).collect()
}
