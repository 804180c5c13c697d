//! Campaign decisions: for one person and one campaign, send or not, and why.
//!
//! [`decide`] applies the rules in a fixed precedence, and the first that excludes the person
//! is the reason recorded:
//!
//! 1. `not_in_segment`: the segment rule does not match;
//! 2. `no_consent`: the campaign's purpose is not allowed for the person;
//! 3. `unsubscribed`: the person unsubscribed from the channel;
//! 4. `minor`: minors never get targeted advertising, and never marketing for any restricted
//!    category (alcohol, gambling ...), whether or not the policy lists minors for it: a
//!    restricted category exists because it harms vulnerable people, and a child is the first
//!    of those;
//! 5. `restricted_content`: self-excluded people never get marketing for a restricted
//!    category that lists them;
//! 6. `frequency_cap`: a global channel cap or the campaign's own cap is reached;
//! 7. `quiet_hours`: it is night where the person is;
//! 8. `control_group`: the person is in the campaign's holdout.
//!
//! The holdout comes last so it is drawn only from people who could have been sent the
//! message; that is what makes the control group a fair comparison.

mod caps;
mod quiet;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use candor_domain::SubjectKey;
use candor_domain::consent::Reason;
use candor_domain::ids::PurposeId;
use candor_domain::policy::{Audience, Channel, Policy};
use candor_domain::time::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

pub use caps::{Cap, CapHit, CapScope, DeliveryHistory, FrequencyCaps, cap_allows, channel_index};
pub use quiet::{ChannelSet, QuietHours};

use crate::kanon::{SuppressedCount, suppress, suppress_cells};
use crate::lint::{LintIssue, LintReport, lint};
use crate::rule::{ProfileView, Rule, RuleError};
use crate::template::{Template, TemplateError};

/// Largest holdout share, in percent: past half, a campaign is mostly not a campaign.
pub const HOLDOUT_PERCENT_MAX: u8 = 50;

/// Longest campaign id, in bytes.
pub const CAMPAIGN_ID_BYTES_MAX: usize = 64;

/// Most restricted categories one campaign may declare.
pub const PROMOTES_LEN_MAX: usize = 32;

/// What an operator asks for when creating a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSpec {
    /// Lowercase letters, digits, `_` and `-`.
    pub id: String,
    /// The segment rule.
    pub segment: String,
    /// The channel messages go out on.
    pub channel: Channel,
    /// The purpose it serves; its channel must be this campaign's.
    pub purpose: String,
    /// The message template.
    pub template: String,
    /// A cap of its own, on top of the global caps.
    pub cap: Option<Cap>,
    /// Restricted categories (policy `restricted_categories` ids) the campaign promotes.
    pub promotes: Vec<String>,
    /// Share of eligible people held out as a control group, 0 to 50.
    pub holdout_percent: u8,
}

/// Why a campaign was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    /// The id is not lowercase letters, digits, `_` and `-` of the right length.
    #[error("campaign ids are 1 to {CAMPAIGN_ID_BYTES_MAX} lowercase letters, digits, `_` or `-`")]
    InvalidId,
    /// The segment rule does not parse or type-check.
    #[error("segment rule: {0}")]
    Rule(#[from] RuleError),
    /// The linter refused the segment.
    #[error("segment rule refused:\n{0}")]
    Lint(LintReport),
    /// The purpose is not declared.
    #[error("the policy declares no purpose `{0}`")]
    UnknownPurpose(String),
    /// The purpose is not for this channel.
    #[error("purpose `{purpose}` is not a marketing purpose for {channel}")]
    ChannelMismatch {
        /// The purpose named.
        purpose: String,
        /// The campaign's channel.
        channel: &'static str,
    },
    /// The template was refused.
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    /// The holdout is above [`HOLDOUT_PERCENT_MAX`].
    #[error("the holdout is {0}%; the limit is {HOLDOUT_PERCENT_MAX}%")]
    HoldoutTooLarge(u8),
    /// A promoted category is not a restricted category of the policy.
    #[error("`{0}` is not a restricted category of the policy")]
    UnknownRestrictedCategory(String),
    /// More promoted categories than [`PROMOTES_LEN_MAX`].
    #[error("a campaign may declare at most {PROMOTES_LEN_MAX} restricted categories")]
    TooManyPromoted,
}

/// A validated campaign: its segment parsed, type-checked and linted once, so that deciding
/// for each person only runs the compiled rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    id: String,
    segment: Rule,
    channel: Channel,
    purpose: PurposeId,
    template: Template,
    cap: Option<Cap>,
    promotes: Vec<Arc<str>>,
    /// First promoted category that self-excluded people must never get.
    restricted_for_self_excluded: Option<Arc<str>>,
    targeted_advertising: bool,
    holdout_percent: u8,
    warnings: Vec<LintIssue>,
}

impl Campaign {
    /// Validates a campaign against the policy.
    pub fn create(spec: &CampaignSpec, policy: &Policy) -> Result<Campaign, CampaignError> {
        let id_ok = !spec.id.is_empty()
            && spec.id.len() <= CAMPAIGN_ID_BYTES_MAX
            && spec
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(CampaignError::InvalidId);
        }
        let segment = Rule::parse(&spec.segment)?;
        let purpose = policy
            .purpose_by_name(&spec.purpose)
            .ok_or_else(|| CampaignError::UnknownPurpose(spec.purpose.clone()))?;
        if purpose.channel != Some(spec.channel) {
            return Err(CampaignError::ChannelMismatch {
                purpose: spec.purpose.clone(),
                channel: spec.channel.as_str(),
            });
        }
        let report = lint(segment.ast(), &purpose.id, policy);
        if !report.is_ok() {
            return Err(CampaignError::Lint(report));
        }
        let template = Template::parse(&spec.template, spec.channel)?;
        if spec.holdout_percent > HOLDOUT_PERCENT_MAX {
            return Err(CampaignError::HoldoutTooLarge(spec.holdout_percent));
        }
        if spec.promotes.len() > PROMOTES_LEN_MAX {
            return Err(CampaignError::TooManyPromoted);
        }
        let mut promotes: Vec<Arc<str>> = Vec::new();
        let mut restricted_for_self_excluded = None;
        for name in &spec.promotes {
            let restricted = policy
                .restricted_categories
                .iter()
                .find(|r| &r.id == name)
                .ok_or_else(|| CampaignError::UnknownRestrictedCategory(name.clone()))?;
            let name: Arc<str> = name.as_str().into();
            if restricted_for_self_excluded.is_none()
                && restricted.never_for.contains(&Audience::SelfExcluded)
            {
                restricted_for_self_excluded = Some(name.clone());
            }
            promotes.push(name);
        }
        Ok(Campaign {
            id: spec.id.clone(),
            segment,
            channel: spec.channel,
            purpose: purpose.id.clone(),
            template,
            cap: spec.cap,
            promotes,
            restricted_for_self_excluded,
            targeted_advertising: purpose.targeted_advertising,
            holdout_percent: spec.holdout_percent,
            warnings: report.warnings,
        })
    }

    /// The campaign id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The segment rule.
    pub fn segment(&self) -> &Rule {
        &self.segment
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The purpose served.
    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }

    /// The template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The campaign's own cap.
    pub fn cap(&self) -> Option<Cap> {
        self.cap
    }

    /// Restricted categories promoted.
    pub fn promotes(&self) -> &[Arc<str>] {
        &self.promotes
    }

    /// The holdout share in percent.
    pub fn holdout_percent(&self) -> u8 {
        self.holdout_percent
    }

    /// Linter warnings to show the operator.
    pub fn warnings(&self) -> &[LintIssue] {
        &self.warnings
    }
}

/// Whether the campaign's purpose is allowed for the person, and why, as derived from the
/// consent ledger by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCheck {
    /// Allowed or not.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

/// What the server precomputes about one person for one campaign decision.
#[derive(Clone, Copy)]
pub struct SubjectSnapshot<'a> {
    /// The person's pseudonymous key.
    pub key: &'a SubjectKey,
    /// Consent for the campaign's purpose.
    pub consent: &'a ConsentCheck,
    /// Channels the person unsubscribed from.
    pub unsubscribed: ChannelSet,
    /// Below the age of digital consent (or possibly so).
    pub minor: bool,
    /// Excluded themselves from restricted categories (e.g. gambling self-exclusion).
    pub self_excluded: bool,
    /// The person restricted processing of their data (a data-subject right): kept, not used.
    pub restricted: bool,
    /// The person's time zone, for quiet hours.
    pub time_zone: &'a TimeZone,
    /// Recent deliveries, for caps.
    pub history: DeliveryHistory<'a>,
    /// The profile, for the segment rule.
    pub profile: &'a dyn ProfileView,
}

impl fmt::Debug for SubjectSnapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectSnapshot")
            .field("key", self.key)
            .field("consent", self.consent)
            .field("unsubscribed", &self.unsubscribed)
            .field("minor", &self.minor)
            .field("self_excluded", &self.self_excluded)
            .field("time_zone", &self.time_zone.iana_name())
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

/// The contact rules that hold across campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactRules {
    /// Global caps per channel.
    pub caps: FrequencyCaps,
    /// Quiet hours.
    pub quiet_hours: QuietHours,
}

/// Why minors are excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MinorRule {
    /// The purpose is targeted advertising.
    TargetedAdvertising,
    /// The campaign promotes this restricted category.
    RestrictedCategory(Arc<str>),
}

/// Why a person is not sent a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// The segment rule does not match.
    NotInSegment,
    /// The person restricted processing of their data.
    Restricted,
    /// The purpose is not allowed, with the consent reason.
    NoConsent(Reason),
    /// Unsubscribed from the channel.
    Unsubscribed(Channel),
    /// A minor, and the campaign is not for minors.
    Minor(MinorRule),
    /// Self-excluded, and the campaign promotes this restricted category.
    RestrictedContent(Arc<str>),
    /// A cap is reached.
    FrequencyCap(CapHit),
    /// Quiet hours, with the person's local time and the quiet hours.
    QuietHours {
        /// The person's local time.
        local: Time,
        /// The quiet hours in force.
        quiet: QuietHours,
    },
    /// Held out as the control group.
    ControlGroup,
}

/// The reasons, without their details, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExclusionCode {
    /// See [`Exclusion::NotInSegment`].
    NotInSegment,
    /// See [`Exclusion::Restricted`].
    Restricted,
    /// See [`Exclusion::NoConsent`].
    NoConsent,
    /// See [`Exclusion::Unsubscribed`].
    Unsubscribed,
    /// See [`Exclusion::Minor`].
    Minor,
    /// See [`Exclusion::RestrictedContent`].
    RestrictedContent,
    /// See [`Exclusion::FrequencyCap`].
    FrequencyCap,
    /// See [`Exclusion::QuietHours`].
    QuietHours,
    /// See [`Exclusion::ControlGroup`].
    ControlGroup,
}

impl ExclusionCode {
    /// Every code, in precedence order.
    pub const ALL: [ExclusionCode; 9] = [
        ExclusionCode::NotInSegment,
        ExclusionCode::Restricted,
        ExclusionCode::NoConsent,
        ExclusionCode::Unsubscribed,
        ExclusionCode::Minor,
        ExclusionCode::RestrictedContent,
        ExclusionCode::FrequencyCap,
        ExclusionCode::QuietHours,
        ExclusionCode::ControlGroup,
    ];

    /// A stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ExclusionCode::NotInSegment => "not_in_segment",
            ExclusionCode::Restricted => "restricted",
            ExclusionCode::NoConsent => "no_consent",
            ExclusionCode::Unsubscribed => "unsubscribed",
            ExclusionCode::Minor => "minor",
            ExclusionCode::RestrictedContent => "restricted_content",
            ExclusionCode::FrequencyCap => "frequency_cap",
            ExclusionCode::QuietHours => "quiet_hours",
            ExclusionCode::ControlGroup => "control_group",
        }
    }
}

impl Exclusion {
    /// The code of this reason.
    pub fn code(&self) -> ExclusionCode {
        match self {
            Exclusion::NotInSegment => ExclusionCode::NotInSegment,
            Exclusion::Restricted => ExclusionCode::Restricted,
            Exclusion::NoConsent(_) => ExclusionCode::NoConsent,
            Exclusion::Unsubscribed(_) => ExclusionCode::Unsubscribed,
            Exclusion::Minor(_) => ExclusionCode::Minor,
            Exclusion::RestrictedContent(_) => ExclusionCode::RestrictedContent,
            Exclusion::FrequencyCap(_) => ExclusionCode::FrequencyCap,
            Exclusion::QuietHours { .. } => ExclusionCode::QuietHours,
            Exclusion::ControlGroup => ExclusionCode::ControlGroup,
        }
    }
}

impl fmt::Display for Exclusion {
    /// The explanation as shown to the person.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::NotInSegment => f.write_str("you are not in the campaign's audience"),
            Exclusion::Restricted => {
                f.write_str("you asked for processing of your data to be restricted")
            }
            Exclusion::NoConsent(reason) => write!(f, "you have not agreed to this ({reason})"),
            Exclusion::Unsubscribed(c) => {
                write!(f, "you unsubscribed from {} messages", c.as_str())
            }
            Exclusion::Minor(MinorRule::TargetedAdvertising) => f.write_str(
                "targeted advertising is never used for people under the age of digital consent",
            ),
            Exclusion::Minor(MinorRule::RestrictedCategory(c)) => write!(
                f,
                "the campaign promotes {c}, which is never marketed to people under the age of digital consent"
            ),
            Exclusion::RestrictedContent(c) => write!(
                f,
                "the campaign promotes {c}, and you asked never to be shown it"
            ),
            Exclusion::FrequencyCap(hit) => write!(f, "{hit}"),
            Exclusion::QuietHours { local, quiet } => write!(
                f,
                "it was {} where you are, inside the quiet hours {quiet}",
                local.strftime("%H:%M")
            ),
            Exclusion::ControlGroup => f.write_str(
                "you were chosen at random for the comparison group, which gets no message",
            ),
        }
    }
}

/// The outcome for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the message.
    Selected,
    /// Do not, and why.
    Excluded(Exclusion),
}

impl Decision {
    /// The exclusion code, if excluded.
    pub fn code(&self) -> Option<ExclusionCode> {
        match self {
            Decision::Selected => None,
            Decision::Excluded(e) => Some(e.code()),
        }
    }
}

impl fmt::Display for Decision {
    /// The explanation as shown to the person. Why a selected person is in the segment comes
    /// from [`Rule::explain`], evaluated when they ask.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Selected => {
                f.write_str("you are in the campaign's audience and were sent it")
            }
            Decision::Excluded(e) => write!(f, "not sent: {e}"),
        }
    }
}

/// Decides one person for one campaign. `seed` draws the campaign's holdout, so the same
/// seed keeps the same people in the control group across runs.
pub fn decide(
    subject: &SubjectSnapshot<'_>,
    campaign: &Campaign,
    rules: &ContactRules,
    now: Timestamp,
    seed: u64,
) -> Decision {
    let exclusion = if subject.restricted {
        // Checked first: while restricted, not even the segment rule reads the person's data.
        Exclusion::Restricted
    } else if !campaign.segment.matches(subject.profile, now) {
        Exclusion::NotInSegment
    } else if !subject.consent.allowed {
        Exclusion::NoConsent(subject.consent.reason.clone())
    } else if subject.unsubscribed.contains(campaign.channel) {
        Exclusion::Unsubscribed(campaign.channel)
    } else if let Some(rule) = subject.minor.then(|| minor_rule(campaign)).flatten() {
        Exclusion::Minor(rule)
    } else if let Some(category) = campaign
        .restricted_for_self_excluded
        .as_ref()
        .filter(|_| subject.self_excluded)
    {
        Exclusion::RestrictedContent(category.clone())
    } else if let Err(hit) = cap_allows(
        &subject.history,
        campaign.channel,
        &rules.caps,
        campaign.cap,
        now,
    ) {
        Exclusion::FrequencyCap(hit)
    } else if let Some(local) = rules
        .quiet_hours
        .quiet_at(campaign.channel, subject.time_zone, now)
    {
        Exclusion::QuietHours {
            local,
            quiet: rules.quiet_hours,
        }
    } else if in_control_group(seed, subject.key, campaign.holdout_percent) {
        Exclusion::ControlGroup
    } else {
        return Decision::Selected;
    };
    Decision::Excluded(exclusion)
}

fn minor_rule(campaign: &Campaign) -> Option<MinorRule> {
    if campaign.targeted_advertising {
        return Some(MinorRule::TargetedAdvertising);
    }
    campaign
        .promotes
        .first()
        .map(|c| MinorRule::RestrictedCategory(c.clone()))
}

/// Where a person falls in the holdout, from 0 to 9,999: a fixed mix of the seed and the key
/// bytes (SplitMix64's finalizer over each 8-byte word), so it is the same on every machine
/// and release, and needs no randomness at decision time. Keys are HMAC outputs, already
/// uniform; the mixing is there so different seeds give unrelated control groups.
pub fn holdout_bucket(seed: u64, key: &SubjectKey) -> u32 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for word in key.as_bytes().chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = mix64(h ^ u64::from_le_bytes(w));
    }
    (h % 10_000) as u32
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether the person is in the control group of a campaign with this seed and share.
pub fn in_control_group(seed: u64, key: &SubjectKey, percent: u8) -> bool {
    holdout_bucket(seed, key) < u32::from(percent) * 100
}

/// Counts of a dry run or a send, suppressed for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Everyone decided.
    pub total: SuppressedCount,
    /// Selected.
    pub selected: SuppressedCount,
    /// Excluded, per reason, in precedence order.
    pub excluded: BTreeMap<ExclusionCode, SuppressedCount>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "total: {}", self.total)?;
        writeln!(f, "selected: {}", self.selected)?;
        for (code, n) in &self.excluded {
            writeln!(f, "{}: {n}", code.as_str())?;
        }
        Ok(())
    }
}

/// Counts decisions per outcome with every count k-suppressed, including those that could
/// otherwise be recovered by subtracting from the total.
pub fn audience_summary<'d>(decisions: impl IntoIterator<Item = &'d Decision>, k: u32) -> Summary {
    let mut counts = [0u64; 1 + ExclusionCode::ALL.len()];
    for d in decisions {
        let slot = match d.code() {
            None => 0,
            Some(code) => 1 + code as usize,
        };
        counts[slot] += 1;
    }
    let total: u64 = counts.iter().sum();
    let cells = suppress_cells(&counts, k);
    Summary {
        total: suppress(total, k),
        selected: cells[0],
        excluded: ExclusionCode::ALL
            .into_iter()
            .zip(cells[1..].iter().copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_buckets_never_change() {
        // Pinned: a change here would silently move people between control and treatment of
        // campaigns already running.
        let key = SubjectKey::from_bytes([0xab; 32]);
        assert_eq!(holdout_bucket(0, &key), PINNED_0);
        assert_eq!(holdout_bucket(42, &key), PINNED_42);
    }

    const PINNED_0: u32 = 2553;
    const PINNED_42: u32 = 6488;
}
