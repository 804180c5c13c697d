//! Google Consent Mode v2 states: `ad_storage`, `analytics_storage`, `ad_user_data` and
//! `ad_personalization`, each `granted` or `denied`.
//!
//! Input is a list of key/value pairs, as a web form, a query string or a JSON object
//! deserialized by the caller would give; this crate does not parse JSON.

use crate::error::{ErrorReason, SignalError, SignalFormat, excerpt};

const FORMAT: SignalFormat = SignalFormat::ConsentMode;

/// The most key/value pairs accepted in one Consent Mode state; the four v2 keys plus the
/// handful of other Consent Mode keys fit many times over.
pub const CONSENT_MODE_ENTRIES_MAX: usize = 64;

/// One Consent Mode value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentModeValue {
    /// `granted`.
    Granted,
    /// `denied`.
    Denied,
}

/// A Consent Mode v2 state. A key absent from the input is `None`: the page did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConsentMode {
    ad_storage: Option<ConsentModeValue>,
    analytics_storage: Option<ConsentModeValue>,
    ad_user_data: Option<ConsentModeValue>,
    ad_personalization: Option<ConsentModeValue>,
}

impl ConsentMode {
    /// Decodes a state from key/value pairs. Keys and values are trimmed and compared
    /// without regard to ASCII case; keys other than the four v2 keys (for example
    /// `functionality_storage`) are ignored. A repeated v2 key or a value other than
    /// `granted`/`denied` is refused, as is input above [`CONSENT_MODE_ENTRIES_MAX`] pairs
    /// or [`crate::SIGNAL_LEN_MAX`] bytes.
    pub fn parse(entries: &[(&str, &str)]) -> Result<ConsentMode, SignalError> {
        Self::from_entries(entries.iter().copied())
    }

    /// [`ConsentMode::parse`] over any iterator of string pairs (for example a map of
    /// `String`s).
    pub fn from_entries<K, V>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ConsentMode, SignalError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut state = ConsentMode::default();
        let mut count = 0usize;
        let mut bytes = 0usize;
        for (key, value) in entries {
            let (key, value) = (key.as_ref(), value.as_ref());
            count += 1;
            if count > CONSENT_MODE_ENTRIES_MAX {
                return Err(SignalError::new(
                    FORMAT,
                    "consentMode",
                    ErrorReason::TooManyEntries {
                        count,
                        max: CONSENT_MODE_ENTRIES_MAX,
                    },
                ));
            }
            bytes = bytes.saturating_add(key.len()).saturating_add(value.len());
            if bytes > crate::SIGNAL_LEN_MAX {
                return Err(SignalError::new(
                    FORMAT,
                    "consentMode",
                    ErrorReason::TooLong {
                        len: bytes,
                        max: crate::SIGNAL_LEN_MAX,
                    },
                ));
            }
            let key = key.trim();
            let (field, slot) = if key.eq_ignore_ascii_case("ad_storage") {
                ("ad_storage", &mut state.ad_storage)
            } else if key.eq_ignore_ascii_case("analytics_storage") {
                ("analytics_storage", &mut state.analytics_storage)
            } else if key.eq_ignore_ascii_case("ad_user_data") {
                ("ad_user_data", &mut state.ad_user_data)
            } else if key.eq_ignore_ascii_case("ad_personalization") {
                ("ad_personalization", &mut state.ad_personalization)
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(SignalError::new(FORMAT, field, ErrorReason::DuplicateKey));
            }
            let value = value.trim();
            *slot = Some(if value.eq_ignore_ascii_case("granted") {
                ConsentModeValue::Granted
            } else if value.eq_ignore_ascii_case("denied") {
                ConsentModeValue::Denied
            } else {
                return Err(SignalError::new(
                    FORMAT,
                    field,
                    ErrorReason::InvalidText {
                        value: excerpt(value),
                        allowed: "granted or denied",
                    },
                ));
            });
        }
        Ok(state)
    }

    /// Storage (cookies, device identifiers) for advertising.
    pub fn ad_storage(&self) -> Option<ConsentModeValue> {
        self.ad_storage
    }

    /// Storage for analytics.
    pub fn analytics_storage(&self) -> Option<ConsentModeValue> {
        self.analytics_storage
    }

    /// Sending user data to Google for advertising.
    pub fn ad_user_data(&self) -> Option<ConsentModeValue> {
        self.ad_user_data
    }

    /// Personalized advertising (remarketing).
    pub fn ad_personalization(&self) -> Option<ConsentModeValue> {
        self.ad_personalization
    }
}
