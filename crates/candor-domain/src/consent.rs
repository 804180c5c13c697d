//! The consent ledger and the state derived from it.
//!
//! The ledger is append-only: every grant, denial and withdrawal is a [`ConsentRecord`] with
//! its source, evidence and the version of the purpose it was given for. The current state is
//! never stored; it is derived by [`derive`] from the records, the policy and a few facts about
//! the subject. The rules:
//!
//! - consent-based purposes are denied until granted (opt-in); the latest choice wins;
//! - a grant counts only for the meaning of the purpose it was given under (re-consent);
//! - a Global Privacy Control signal denies every purpose flagged as sale/sharing or targeted
//!   advertising, and neither a default nor a bulk "accept all" (nor a platform signal) lifts
//!   it: only a later explicit grant of that one purpose does;
//! - a minor (declared age band reaching below the jurisdiction's age of digital consent) needs
//!   a `parental` grant for consent-based purposes and never gets targeted advertising;
//! - purposes on other legal bases are allowed unless objected to (legitimate interest).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::ids::PurposeId;
use crate::policy::{ConsentModeKey, LegalBasis, Policy, PolicyVersion, Purpose, PurposeVersion};
use crate::time::Timestamp;

/// A choice about one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Granted,
    Denied,
    Withdrawn,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Granted => "granted",
            Decision::Denied => "denied",
            Decision::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "granted" => Some(Decision::Granted),
            "denied" => Some(Decision::Denied),
            "withdrawn" => Some(Decision::Withdrawn),
            _ => None,
        }
    }
}

/// Where a choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A call to the consent API by the shop's backend.
    Api,
    /// The person's choice in a consent banner or the privacy center.
    Banner,
    /// A Global Privacy Control signal from the browser.
    Gpc,
    /// An IAB TCF string from a consent-management platform.
    Tcf,
    /// An IAB GPP string.
    Gpp,
    /// Google Consent Mode states.
    ConsentMode,
    /// A bulk import.
    Import,
    /// A parent or guardian's grant for a minor.
    Parental,
    /// The person exercising a right directly (an objection to all marketing).
    Subject,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::Api,
        Source::Banner,
        Source::Gpc,
        Source::Tcf,
        Source::Gpp,
        Source::ConsentMode,
        Source::Import,
        Source::Parental,
        Source::Subject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Banner => "banner",
            Source::Gpc => "gpc",
            Source::Tcf => "tcf",
            Source::Gpp => "gpp",
            Source::ConsentMode => "consent_mode",
            Source::Import => "import",
            Source::Parental => "parental",
            Source::Subject => "subject",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Signals relayed from a platform record a blanket state, not the person's choice of one
    /// purpose, so they cannot lift a Global Privacy Control opt-out.
    fn is_platform_signal(self) -> bool {
        matches!(
            self,
            Source::Gpc | Source::Tcf | Source::Gpp | Source::ConsentMode
        )
    }
}

/// One append-only ledger record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub purpose: PurposeId,
    pub decision: Decision,
    /// The meaning of the purpose this choice was made for.
    pub purpose_version: PurposeVersion,
    pub policy_version: PolicyVersion,
    pub source: Source,
    /// Part of a choice about many purposes at once ("accept all"), rather than this purpose
    /// alone.
    pub bulk: bool,
    /// What proves the choice: a banner interaction id, a TC string, a header. Opaque text.
    pub evidence: String,
    pub at: Timestamp,
}

/// An age band a person declared, such as `13-15`, `18+` or `under-13`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBand {
    pub min_age: u8,
    pub max_age: Option<u8>,
}

impl AgeBand {
    /// Parses `A-B`, `A+` and `under-N` (ages 0 to 130).
    pub fn parse(s: &str) -> Option<AgeBand> {
        let s = s.trim();
        let age = |t: &str| t.trim().parse::<u8>().ok().filter(|a| *a <= 130);
        if let Some(n) = s
            .strip_prefix("under-")
            .or_else(|| s.strip_prefix("under "))
        {
            let n = age(n)?;
            return (n > 0).then(|| AgeBand {
                min_age: 0,
                max_age: Some(n - 1),
            });
        }
        if let Some(a) = s.strip_suffix('+') {
            return Some(AgeBand {
                min_age: age(a)?,
                max_age: None,
            });
        }
        let (a, b) = s.split_once('-')?;
        let (a, b) = (age(a)?, age(b)?);
        (a <= b).then_some(AgeBand {
            min_age: a,
            max_age: Some(b),
        })
    }

    /// Whether anyone in this band could be below `age_of_consent`: a band that straddles the
    /// line is treated as a minor, because protecting an adult costs less than targeting a child.
    pub fn may_be_below(self, age_of_consent: u8) -> bool {
        self.min_age < age_of_consent
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max_age {
            Some(max) => write!(f, "{}-{}", self.min_age, max),
            None => write!(f, "{}+", self.min_age),
        }
    }
}

/// What the consent rules need to know about a subject besides their choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    pub age_band: Option<AgeBand>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
}

impl SubjectFacts {
    /// The age of digital consent that applies, if the person is (possibly) below it.
    pub fn minor_below(&self, policy: &Policy) -> Option<u8> {
        let age = policy.jurisdictions.age_of_consent(self.country.as_deref());
        self.age_band.filter(|b| b.may_be_below(age)).map(|_| age)
    }

    /// The facts after `update`: each fact it states replaces the one held.
    pub fn updated(&self, update: &SubjectFacts) -> SubjectFacts {
        SubjectFacts {
            age_band: update.age_band.or(self.age_band),
            country: update.country.clone().or_else(|| self.country.clone()),
        }
    }

    /// Whether going from these facts to `after` lifts the protection of a minor: someone who
    /// may be below the age of digital consent no longer would be (an older age band, or a
    /// country with a lower age). Only a shop's backend may make such a change, and it is
    /// audited.
    pub fn loosens_minor_protection(&self, after: &SubjectFacts, policy: &Policy) -> bool {
        self.minor_below(policy).is_some() && after.minor_below(policy).is_none()
    }
}

/// Why a purpose is allowed or not, for the machine and for a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Consent granted.
    Granted { at: Timestamp, source: Source },
    /// Allowed on a legal basis other than consent.
    LegalBasis(LegalBasis),
    /// Consent purpose with no choice recorded.
    NoChoiceYet,
    /// The person declined.
    Declined { at: Timestamp },
    /// The person withdrew an earlier grant.
    Withdrawn { at: Timestamp },
    /// The person objected to a legitimate-interest purpose.
    Objected { at: Timestamp },
    /// A Global Privacy Control signal opted the person out.
    GlobalPrivacyControl { at: Timestamp },
    /// Consent was given for an earlier meaning of the purpose.
    PurposeChanged { granted_at: Timestamp },
    /// A minor's consent purpose needs a parent or guardian's grant.
    NeedsParentalConsent { age_of_consent: u8 },
    /// Targeted advertising is never allowed for minors.
    MinorNoTargetedAdvertising { age_of_consent: u8 },
}

impl Reason {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Granted { .. } => "granted",
            Reason::LegalBasis(_) => "legal_basis",
            Reason::NoChoiceYet => "no_choice_yet",
            Reason::Declined { .. } => "declined",
            Reason::Withdrawn { .. } => "withdrawn",
            Reason::Objected { .. } => "objected",
            Reason::GlobalPrivacyControl { .. } => "global_privacy_control",
            Reason::PurposeChanged { .. } => "purpose_changed",
            Reason::NeedsParentalConsent { .. } => "needs_parental_consent",
            Reason::MinorNoTargetedAdvertising { .. } => "minor_no_targeted_advertising",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Granted { at, source } => {
                write!(f, "granted: on {} via {}", at.date(), source.as_str())
            }
            Reason::LegalBasis(b) => {
                write!(
                    f,
                    "allowed: legal basis is {} (no consent needed)",
                    b.as_str()
                )
            }
            Reason::NoChoiceYet => f.write_str("denied: no choice yet"),
            Reason::Declined { at } => write!(f, "denied: declined on {}", at.date()),
            Reason::Withdrawn { at } => write!(f, "denied: withdrawn on {}", at.date()),
            Reason::Objected { at } => write!(f, "denied: objected on {}", at.date()),
            Reason::GlobalPrivacyControl { at } => {
                write!(f, "denied: Global Privacy Control on {}", at.date())
            }
            Reason::PurposeChanged { granted_at } => write!(
                f,
                "denied: the purpose changed after consent on {}; a new choice is needed",
                granted_at.date()
            ),
            Reason::NeedsParentalConsent { age_of_consent } => write!(
                f,
                "denied: people under {age_of_consent} need a parent or guardian's consent"
            ),
            Reason::MinorNoTargetedAdvertising { age_of_consent } => {
                write!(f, "denied: never used for people under {age_of_consent}")
            }
        }
    }
}

/// The derived state of one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeState {
    pub purpose: PurposeId,
    pub allowed: bool,
    pub reason: Reason,
}

/// The derived state of every purpose in the policy, in policy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    pub purposes: Vec<PurposeState>,
}

impl ConsentState {
    pub fn allows(&self, purpose: &PurposeId) -> bool {
        self.purposes
            .iter()
            .any(|s| &s.purpose == purpose && s.allowed)
    }

    pub fn allows_name(&self, purpose: &str) -> bool {
        self.purposes
            .iter()
            .any(|s| s.purpose.as_str() == purpose && s.allowed)
    }

    pub fn get(&self, purpose: &PurposeId) -> Option<&PurposeState> {
        self.purposes.iter().find(|s| &s.purpose == purpose)
    }

    pub fn allowed(&self) -> impl Iterator<Item = &PurposeId> {
        self.purposes
            .iter()
            .filter(|s| s.allowed)
            .map(|s| &s.purpose)
    }
}

/// Derives the current state from the ledger. `records` must be in ledger order (oldest
/// first); records about purposes the policy no longer declares are ignored.
pub fn derive(policy: &Policy, facts: &SubjectFacts, records: &[ConsentRecord]) -> ConsentState {
    let minor_age = facts.minor_below(policy);
    let purposes = policy
        .purposes
        .iter()
        .map(|p| purpose_state(p, minor_age, records))
        .collect();
    ConsentState { purposes }
}

/// The state of one purpose of the policy, exactly as [`derive`] computes it among all the
/// others (each purpose's state depends only on the facts and that purpose's records), for
/// callers that decide about one purpose for many people. `None` if the policy has no such
/// purpose.
pub fn derive_one(
    policy: &Policy,
    facts: &SubjectFacts,
    records: &[ConsentRecord],
    purpose: &PurposeId,
) -> Option<PurposeState> {
    let p = policy.purposes.iter().find(|p| &p.id == purpose)?;
    Some(purpose_state(p, facts.minor_below(policy), records))
}

fn purpose_state(p: &Purpose, minor_age: Option<u8>, records: &[ConsentRecord]) -> PurposeState {
    let reason = decide(p, minor_age, records.iter().filter(|r| r.purpose == p.id));
    let allowed = matches!(reason, Reason::Granted { .. } | Reason::LegalBasis(_));
    PurposeState {
        purpose: p.id.clone(),
        allowed,
        reason,
    }
}

fn decide<'a>(
    purpose: &Purpose,
    minor_age: Option<u8>,
    records: impl Iterator<Item = &'a ConsentRecord>,
) -> Reason {
    if let Some(age_of_consent) = minor_age
        && purpose.targeted_advertising
    {
        return Reason::MinorNoTargetedAdvertising { age_of_consent };
    }
    // Replay the ledger. `gpc` stays set from a GPC opt-out until an explicit grant of this
    // purpose alone; while it is set, bulk and platform grants are ignored.
    let mut latest: Option<&ConsentRecord> = None;
    let mut gpc: Option<Timestamp> = None;
    for r in records {
        match r.decision {
            Decision::Granted if gpc.is_some() && (r.bulk || r.source.is_platform_signal()) => {}
            Decision::Granted => {
                gpc = None;
                latest = Some(r);
            }
            Decision::Denied | Decision::Withdrawn => {
                if r.source == Source::Gpc && purpose.honours_gpc() {
                    gpc = Some(r.at);
                }
                latest = Some(r);
            }
        }
    }
    if let Some(at) = gpc.filter(|_| purpose.honours_gpc()) {
        return Reason::GlobalPrivacyControl { at };
    }
    if !purpose.needs_consent() {
        return match latest {
            // A denial of a legitimate-interest purpose is an objection (GDPR Art. 21).
            Some(r)
                if r.decision != Decision::Granted
                    && purpose.legal_basis == LegalBasis::LegitimateInterest =>
            {
                Reason::Objected { at: r.at }
            }
            _ => Reason::LegalBasis(purpose.legal_basis),
        };
    }
    match latest {
        None => Reason::NoChoiceYet,
        Some(r) => match r.decision {
            Decision::Denied => Reason::Declined { at: r.at },
            Decision::Withdrawn => Reason::Withdrawn { at: r.at },
            Decision::Granted if r.purpose_version != purpose.version => {
                Reason::PurposeChanged { granted_at: r.at }
            }
            Decision::Granted => match minor_age {
                Some(age_of_consent) if r.source != Source::Parental => {
                    Reason::NeedsParentalConsent { age_of_consent }
                }
                _ => Reason::Granted {
                    at: r.at,
                    source: r.source,
                },
            },
        },
    }
}

/// Opt-out records for a Global Privacy Control signal: one per purpose the signal covers
/// that has not seen one yet. Once recorded, later explicit grants stand; recording the
/// signal again on every request would undo them.
pub fn gpc_opt_outs(
    policy: &Policy,
    existing: &[ConsentRecord],
    now: Timestamp,
) -> Vec<ConsentRecord> {
    policy
        .purposes
        .iter()
        .filter(|p| p.honours_gpc())
        .filter(|p| {
            !existing
                .iter()
                .any(|r| r.purpose == p.id && r.source == Source::Gpc)
        })
        .map(|p| ConsentRecord {
            purpose: p.id.clone(),
            decision: Decision::Denied,
            purpose_version: p.version.clone(),
            policy_version: policy.version.clone(),
            source: Source::Gpc,
            bulk: true,
            evidence: r#"{"header":"Sec-GPC: 1"}"#.to_owned(),
            at: now,
        })
        .collect()
}

/// What one consent signal says, in terms the policy can map. The server builds it from its
/// decoders, so the rules here stay independent of any wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalDecisions {
    /// The kind of signal: `Tcf`, `Gpp` or `ConsentMode`. (A GPC opt-out is recorded by
    /// [`gpc_opt_outs`], because the derivation gives it its own rule.)
    pub source: Source,
    /// The signal as received, kept as the records' evidence.
    pub evidence: String,
    /// The choices of a TC string, when the signal carries one.
    pub tcf: Option<TcfChoices>,
    /// The Consent Mode states the signal carries: `true` for granted, `false` for denied.
    pub consent_mode: BTreeMap<ConsentModeKey, bool>,
    /// US opt-outs the person exercised.
    pub us_opt_outs: UsOptOuts,
}

impl SignalDecisions {
    /// A signal of `source` that says nothing yet.
    pub fn new(source: Source, evidence: String) -> SignalDecisions {
        SignalDecisions {
            source,
            evidence,
            tcf: None,
            consent_mode: BTreeMap::new(),
            us_opt_outs: UsOptOuts::default(),
        }
    }
}

/// The choices of a TC string that the policy's `[signals]` table can refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcfChoices {
    /// TCF purposes (1 to 11) with the person's consent.
    pub purpose_consents: BTreeSet<u8>,
    /// Whether the string carries consent for the policy's `tcf_vendor_id`; looked at only
    /// when the policy sets one.
    pub vendor_consent: bool,
}

/// US opt-out rights (CCPA and the state laws the GPP US National section covers) that the
/// person exercised. A right not exercised is `false`: in an opt-out regime, not opting out
/// is not consent, so these flags only ever deny.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsOptOuts {
    pub sale: bool,
    pub sharing: bool,
    pub targeted_advertising: bool,
    pub sensitive_processing: bool,
}

/// Which purposes a signal grants and denies, each in policy order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalEffects {
    pub granted: Vec<PurposeId>,
    pub denied: Vec<PurposeId>,
}

/// Maps a signal onto the policy's purposes:
///
/// - a TC string grants a purpose listed in `signals.tcf_purposes` when every listed TCF
///   purpose has consent (and the `tcf_vendor_id` bit, when configured), and denies it
///   otherwise;
/// - Consent Mode grants a purpose listed in `signals.consent_mode` when every listed key is
///   granted and denies it when any is denied; a key the signal leaves out decides nothing;
/// - a sale, sharing or targeted-advertising opt-out denies every purpose that honours GPC,
///   and a sensitive-data opt-out every `sensitive` purpose.
///
/// When parts of one signal disagree about a purpose (a GPP string whose TCF section grants
/// what its US section opts out of), the denial wins.
pub fn signal_effects(policy: &Policy, signal: &SignalDecisions) -> SignalEffects {
    let mapping = &policy.signals;
    let us = signal.us_opt_outs;
    let mut effects = SignalEffects::default();
    for p in &policy.purposes {
        let mut grant = false;
        let mut deny = false;
        if let (Some(tcf), Some(needed)) = (&signal.tcf, mapping.tcf_purposes.get(&p.id)) {
            let vendor_ok = mapping.tcf_vendor_id.is_none() || tcf.vendor_consent;
            if vendor_ok && needed.is_subset(&tcf.purpose_consents) {
                grant = true;
            } else {
                deny = true;
            }
        }
        if let Some(keys) = mapping.consent_mode.get(&p.id) {
            let states: Vec<Option<bool>> = keys
                .iter()
                .map(|k| signal.consent_mode.get(k).copied())
                .collect();
            if states.contains(&Some(false)) {
                deny = true;
            } else if states.iter().all(|s| *s == Some(true)) {
                grant = true;
            }
        }
        if (us.sale || us.sharing || us.targeted_advertising) && p.honours_gpc() {
            deny = true;
        }
        if us.sensitive_processing && p.sensitive {
            deny = true;
        }
        if deny {
            effects.denied.push(p.id.clone());
        } else if grant {
            effects.granted.push(p.id.clone());
        }
    }
    effects
}

/// Ledger records for a signal: one per purpose it grants or denies (see [`signal_effects`]),
/// as bulk records, because a platform relays a blanket state rather than a choice about one
/// purpose. A record the ledger already holds (same purpose, source, decision and evidence)
/// is left out: a page sends the same signal with every request, and recording it again
/// would undo any explicit choice the person made since.
pub fn records_from_signal(
    policy: &Policy,
    existing: &[ConsentRecord],
    signal: &SignalDecisions,
    now: Timestamp,
) -> Vec<ConsentRecord> {
    let effects = signal_effects(policy, signal);
    let decided = effects
        .granted
        .iter()
        .map(|id| (id, Decision::Granted))
        .chain(effects.denied.iter().map(|id| (id, Decision::Denied)));
    decided
        .filter_map(|(id, decision)| {
            let purpose = policy.purpose(id)?;
            let seen = existing.iter().any(|r| {
                &r.purpose == id
                    && r.source == signal.source
                    && r.decision == decision
                    && r.evidence == signal.evidence
            });
            (!seen).then(|| ConsentRecord {
                purpose: id.clone(),
                decision,
                purpose_version: purpose.version.clone(),
                policy_version: policy.version.clone(),
                source: signal.source,
                bulk: true,
                evidence: signal.evidence.clone(),
                at: now,
            })
        })
        .collect()
}

/// Orders the records of several signals received together so that the most protective
/// answer wins: the ledger's latest record decides, so every denial goes after every grant.
/// The order is otherwise kept.
pub fn order_most_protective(records: &mut [ConsentRecord]) {
    records.sort_by_key(|r| r.decision != Decision::Granted);
}

#[cfg(test)]
mod signal_tests;
#[cfg(test)]
mod tests;
