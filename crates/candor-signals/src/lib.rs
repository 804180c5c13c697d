//! Decoders for the consent signals browsers and consent-management platforms send:
//!
//! - IAB TCF v2.2 TC strings ([`TcString`]),
//! - IAB GPP strings ([`GppString`]) with their TCF EU v2, US Privacy and US National
//!   sections,
//! - US Privacy strings ([`UsPrivacy`]),
//! - Google Consent Mode v2 states ([`ConsentMode`]),
//! - Global Privacy Control ([`parse_sec_gpc`], [`GPC_WELL_KNOWN_JSON`]),
//!
//! and one neutral view of them all ([`NormalizedSignal`]) for the policy to map onto
//! Candor purposes.
//!
//! **Architecture invariant:** this crate is pure. It does no IO, reads no clock, draws no
//! random numbers and opens no connections; every function is a total function of its
//! arguments, and a malformed input is an `Err`, never a panic.
//!
//! Every input is bounded by [`SIGNAL_LEN_MAX`] before any decoding work.

mod bits;
mod consent_mode;
mod error;
mod gpc;
mod gpp;
mod normalize;
mod tcf;
mod usnat;
mod usp;

pub use bits::IdFlags;
pub use consent_mode::{CONSENT_MODE_ENTRIES_MAX, ConsentMode, ConsentModeValue};
pub use error::{ErrorReason, SignalError, SignalFormat};
pub use gpc::{
    GPC_WELL_KNOWN_JSON, GPC_WELL_KNOWN_LAST_UPDATE, GPC_WELL_KNOWN_PATH, parse_sec_gpc,
};
pub use gpp::{
    GPP_HEADER_TYPE, GPP_SECTION_TCF_EU_V2, GPP_SECTION_US_NATIONAL, GPP_SECTION_US_PRIVACY,
    GPP_VERSION, GppSection, GppString,
};
pub use normalize::{
    ConsentSignal, NormalizedSignal, OptOutSignal, SignalKind, TCF_PURPOSE_ID_MAX, TcfSignal,
    normalize_gpc,
};
pub use tcf::{
    Alpha2, PublisherRestriction, PublisherTc, RestrictionType, TCF_POLICY_VERSION_MIN,
    TCF_PURPOSE_SLOTS, TCF_SPECIAL_FEATURE_SLOTS, TCF_VERSION, TcString, VendorEncoding, VendorSet,
};
pub use usnat::{Consent, MspaMode, Notice, OptOut, UsNatLayout, UsNational};
pub use usp::{UsPrivacy, UspFlag};

/// The longest signal accepted, in bytes. Real TC strings with a full vendor list run to
/// a few kilobytes; anything past this is refused before decoding so a hostile header
/// cannot make us do unbounded work.
pub const SIGNAL_LEN_MAX: usize = 16 * 1024;
