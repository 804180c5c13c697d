//! One format-neutral view of every signal.
//!
//! Each decoder's `normalize` reports what the signal *says*, in neutral flags; it does not
//! decide what Candor may do. Mapping these flags onto Candor purposes (for example whether
//! GPC also means a sale opt-out in a given jurisdiction) belongs to the policy.
//!
//! Three states everywhere: a signal can be silent on a question, which is different from
//! answering it either way.

use crate::bits::IdFlags;
use crate::consent_mode::ConsentMode;
use crate::gpp::GppString;
use crate::tcf::TcString;
use crate::usnat::{self, UsNational};
use crate::usp::{UsPrivacy, UspFlag};

/// TCF v2.2 defines purposes 1..=11; the wire field has room for 24.
pub const TCF_PURPOSE_ID_MAX: u8 = 11;

/// Where a normalized signal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// The `Sec-GPC` header.
    Gpc,
    /// A TC string.
    Tcf,
    /// A GPP string (any of its sections).
    Gpp,
    /// A US Privacy string outside GPP.
    Usp,
    /// A Google Consent Mode state.
    ConsentMode,
}

/// What a signal says about one opt-out right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum OptOutSignal {
    /// The signal says nothing about it (absent, or "not applicable").
    #[default]
    NotSignalled,
    /// The user explicitly did not opt out.
    NotOptedOut,
    /// The user opted out.
    OptedOut,
}

impl OptOutSignal {
    /// Combines two answers to the same question, keeping the more protective one: an
    /// opt-out anywhere wins, then an explicit "did not opt out", then silence.
    pub fn most_protective(self, other: OptOutSignal) -> OptOutSignal {
        self.max(other)
    }
}

/// What a signal says about one consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ConsentSignal {
    /// The signal says nothing about it.
    #[default]
    NotSignalled,
    /// Consent was given.
    Granted,
    /// Consent was refused.
    Refused,
}

impl ConsentSignal {
    /// Combines two answers, keeping the more protective one: a refusal anywhere wins,
    /// then a grant, then silence.
    pub fn most_protective(self, other: ConsentSignal) -> ConsentSignal {
        self.max(other)
    }
}

/// The TCF part of a normalized signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcfSignal {
    /// Purposes 1..=11 with the user's consent.
    pub purpose_consents: IdFlags,
    /// Purposes 1..=11 with legitimate interest established (not objected to).
    pub purpose_legitimate_interests: IdFlags,
    /// Special features 1..=12 opted in to.
    pub special_feature_opt_ins: IdFlags,
    /// The publisher's own purposes 1..=11 with consent, when the publisher TC segment is
    /// present.
    pub publisher_purpose_consents: Option<IdFlags>,
    /// The publisher's own purposes 1..=11 with legitimate interest, when present.
    pub publisher_purpose_legitimate_interests: Option<IdFlags>,
    /// Whether the string applies to this service only.
    pub is_service_specific: bool,
    /// The TCF policy version the choices were made under.
    pub tcf_policy_version: u8,
}

/// A signal reduced to neutral flags. Fields a format cannot express stay at their
/// defaults ([`OptOutSignal::NotSignalled`], [`ConsentSignal::NotSignalled`], `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NormalizedSignal {
    /// The format the flags came from.
    pub kind: SignalKind,
    /// Global Privacy Control, from `Sec-GPC` or the GPP US National GPC sub-section.
    pub gpc: OptOutSignal,
    /// Opt-out of the sale of personal data (US Privacy OptOutSale, usnat SaleOptOut).
    pub sale_opt_out: OptOutSignal,
    /// Opt-out of sharing for cross-context behavioural advertising (usnat SharingOptOut).
    pub sharing_opt_out: OptOutSignal,
    /// Opt-out of targeted advertising (usnat TargetedAdvertisingOptOut).
    pub targeted_advertising_opt_out: OptOutSignal,
    /// Opt-out of processing sensitive data: opted out if any usnat category is.
    pub sensitive_processing_opt_out: OptOutSignal,
    /// Consent to process a known child's sensitive data: refused if any usnat age band is.
    pub known_child_data_consent: ConsentSignal,
    /// usnat PersonalDataConsents.
    pub personal_data_consent: ConsentSignal,
    /// TCF purposes and special features, from a TC string or a GPP TCF EU v2 section.
    pub tcf: Option<TcfSignal>,
    /// Consent Mode v2 states.
    pub consent_mode: Option<ConsentMode>,
    /// GPP section ids present but not used here: unknown, or known and undecodable. The
    /// policy may treat a non-empty list as a reason to be cautious.
    pub unused_gpp_sections: Vec<u16>,
}

impl NormalizedSignal {
    /// A signal of `kind` that says nothing.
    pub fn silent(kind: SignalKind) -> NormalizedSignal {
        NormalizedSignal {
            kind,
            gpc: OptOutSignal::NotSignalled,
            sale_opt_out: OptOutSignal::NotSignalled,
            sharing_opt_out: OptOutSignal::NotSignalled,
            targeted_advertising_opt_out: OptOutSignal::NotSignalled,
            sensitive_processing_opt_out: OptOutSignal::NotSignalled,
            known_child_data_consent: ConsentSignal::NotSignalled,
            personal_data_consent: ConsentSignal::NotSignalled,
            tcf: None,
            consent_mode: None,
            unused_gpp_sections: Vec::new(),
        }
    }
}

/// Normalizes the `Sec-GPC` header as read by [`crate::parse_sec_gpc`].
pub fn normalize_gpc(opted_out: bool) -> NormalizedSignal {
    let mut signal = NormalizedSignal::silent(SignalKind::Gpc);
    if opted_out {
        signal.gpc = OptOutSignal::OptedOut;
    }
    signal
}

impl TcString {
    /// The neutral view of this TC string.
    pub fn normalize(&self) -> NormalizedSignal {
        let mut signal = NormalizedSignal::silent(SignalKind::Tcf);
        signal.tcf = Some(self.tcf_signal());
        signal
    }

    fn tcf_signal(&self) -> TcfSignal {
        let publisher = self.publisher_tc();
        TcfSignal {
            purpose_consents: self.purposes_consent().truncated(TCF_PURPOSE_ID_MAX),
            purpose_legitimate_interests: self
                .purposes_li_transparency()
                .truncated(TCF_PURPOSE_ID_MAX),
            special_feature_opt_ins: self.special_feature_opt_ins(),
            publisher_purpose_consents: publisher
                .map(|p| p.purposes_consent().truncated(TCF_PURPOSE_ID_MAX)),
            publisher_purpose_legitimate_interests: publisher
                .map(|p| p.purposes_li_transparency().truncated(TCF_PURPOSE_ID_MAX)),
            is_service_specific: self.is_service_specific(),
            tcf_policy_version: self.tcf_policy_version(),
        }
    }
}

impl UsPrivacy {
    /// The neutral view of this US Privacy string: only OptOutSale carries a choice.
    pub fn normalize(&self) -> NormalizedSignal {
        let mut signal = NormalizedSignal::silent(SignalKind::Usp);
        self.apply(&mut signal);
        signal
    }

    fn apply(&self, signal: &mut NormalizedSignal) {
        let sale = match self.opt_out_sale() {
            UspFlag::Yes => OptOutSignal::OptedOut,
            UspFlag::No => OptOutSignal::NotOptedOut,
            UspFlag::NotApplicable => OptOutSignal::NotSignalled,
        };
        signal.sale_opt_out = signal.sale_opt_out.most_protective(sale);
    }
}

impl UsNational {
    /// The neutral view of this US National section.
    pub fn normalize(&self) -> NormalizedSignal {
        let mut signal = NormalizedSignal::silent(SignalKind::Gpp);
        self.apply(&mut signal);
        signal
    }

    fn apply(&self, signal: &mut NormalizedSignal) {
        let sensitive = self
            .sensitive_data_processing()
            .iter()
            .map(|value| opt_out(*value))
            .fold(OptOutSignal::NotSignalled, OptOutSignal::most_protective);
        let child = self
            .known_child_sensitive_data_consents()
            .iter()
            .map(|value| consent(*value))
            .fold(ConsentSignal::NotSignalled, ConsentSignal::most_protective);
        let gpc = match self.gpc() {
            Some(true) => OptOutSignal::OptedOut,
            // Gpc 0 means the browser sent no signal, not that the user chose to share.
            Some(false) | None => OptOutSignal::NotSignalled,
        };
        signal.sale_opt_out = signal
            .sale_opt_out
            .most_protective(opt_out(self.sale_opt_out()));
        signal.sharing_opt_out = signal
            .sharing_opt_out
            .most_protective(opt_out(self.sharing_opt_out()));
        signal.targeted_advertising_opt_out = signal
            .targeted_advertising_opt_out
            .most_protective(opt_out(self.targeted_advertising_opt_out()));
        signal.sensitive_processing_opt_out = signal
            .sensitive_processing_opt_out
            .most_protective(sensitive);
        signal.known_child_data_consent = signal.known_child_data_consent.most_protective(child);
        signal.personal_data_consent = signal
            .personal_data_consent
            .most_protective(consent(self.personal_data_consents()));
        signal.gpc = signal.gpc.most_protective(gpc);
    }
}

impl GppString {
    /// The neutral view of every decoded section together. Where two sections answer the
    /// same question (US Privacy and US National both carry a sale opt-out) the more
    /// protective answer is kept.
    pub fn normalize(&self) -> NormalizedSignal {
        let mut signal = NormalizedSignal::silent(SignalKind::Gpp);
        if let Some(tc) = self.tcf_eu_v2() {
            signal.tcf = Some(tc.tcf_signal());
        }
        if let Some(usp) = self.us_privacy() {
            usp.apply(&mut signal);
        }
        if let Some(usnat) = self.us_national() {
            usnat.apply(&mut signal);
        }
        signal.unused_gpp_sections = self
            .unknown_sections()
            .map(|(id, _)| id)
            .chain(self.invalid_sections().map(|(id, _)| id))
            .collect();
        signal.unused_gpp_sections.sort_unstable();
        signal
    }
}

impl ConsentMode {
    /// The neutral view of this Consent Mode state.
    pub fn normalize(&self) -> NormalizedSignal {
        let mut signal = NormalizedSignal::silent(SignalKind::ConsentMode);
        signal.consent_mode = Some(*self);
        signal
    }
}

fn opt_out(value: usnat::OptOut) -> OptOutSignal {
    match value {
        usnat::OptOut::NotApplicable => OptOutSignal::NotSignalled,
        usnat::OptOut::OptedOut => OptOutSignal::OptedOut,
        usnat::OptOut::DidNotOptOut => OptOutSignal::NotOptedOut,
    }
}

fn consent(value: usnat::Consent) -> ConsentSignal {
    match value {
        usnat::Consent::NotApplicable => ConsentSignal::NotSignalled,
        usnat::Consent::NoConsent => ConsentSignal::Refused,
        usnat::Consent::Consent => ConsentSignal::Granted,
    }
}
