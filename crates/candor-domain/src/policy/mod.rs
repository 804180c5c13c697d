//! The privacy policy as code: data categories, purposes, event types, jurisdictions and
//! restricted item categories, parsed from TOML and validated as a whole.
//!
//! A [`Policy`] value is always valid: [`Policy::parse`] either returns one or every problem
//! it found, each with its line. The policy has a version (a content hash) and each purpose a
//! version of its meaning, so a consent given to an older meaning stops counting.

mod datamap;
mod raw;
mod signals;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sha2::{Digest, Sha256};
use toml::Spanned;

pub use datamap::{DataMap, DataMapEntry};
pub use signals::{ConsentModeKey, SignalMapping, TCF_PURPOSE_ID_MAX};

use crate::ids::{CategoryId, PurposeId};

/// The policy Candor uses when none is given; also the commented example in the repository.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../../candor.toml");

/// Largest policy file accepted, so a mistaken path cannot exhaust memory.
pub const POLICY_BYTES_MAX: usize = 4 * 1024 * 1024;

/// How sensitive a data category is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CategoryClass {
    /// Ordinary personal data.
    Ordinary,
    /// Special categories (GDPR Art. 9), precise geolocation and children's data.
    Sensitive,
    /// Protected characteristics used for discrimination: gender, age.
    Protected,
}

impl CategoryClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryClass::Ordinary => "ordinary",
            CategoryClass::Sensitive => "sensitive",
            CategoryClass::Protected => "protected",
        }
    }

    /// Whether the category may never feed segments, models or campaigns.
    pub fn is_restricted(self) -> bool {
        self != CategoryClass::Ordinary
    }

    fn parse(s: &str) -> Option<CategoryClass> {
        match s {
            "ordinary" => Some(CategoryClass::Ordinary),
            "sensitive" => Some(CategoryClass::Sensitive),
            "protected" => Some(CategoryClass::Protected),
            _ => None,
        }
    }
}

/// A data category in the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCategory {
    pub id: CategoryId,
    /// A coarse grouping for the data map: behaviour, contact, identifiers, device, location,
    /// special, protected.
    pub group: String,
    pub class: CategoryClass,
    pub description: String,
}

/// The built-in taxonomy: (id, group, class, description).
const BUILT_IN_CATEGORIES: &[(&str, &str, CategoryClass, &str)] = &[
    (
        "browsing",
        "behaviour",
        CategoryClass::Ordinary,
        "Pages and products viewed",
    ),
    (
        "purchases",
        "behaviour",
        CategoryClass::Ordinary,
        "Orders, carts and payments",
    ),
    (
        "searches",
        "behaviour",
        CategoryClass::Ordinary,
        "Search queries",
    ),
    ("email", "contact", CategoryClass::Ordinary, "Email address"),
    ("phone", "contact", CategoryClass::Ordinary, "Phone number"),
    (
        "name",
        "contact",
        CategoryClass::Ordinary,
        "First and last name",
    ),
    (
        "identifiers",
        "identifiers",
        CategoryClass::Ordinary,
        "Customer and device identifiers",
    ),
    (
        "device",
        "device",
        CategoryClass::Ordinary,
        "Browser, operating system, screen",
    ),
    (
        "coarse_location",
        "location",
        CategoryClass::Ordinary,
        "Country or city",
    ),
    (
        "postcode",
        "location",
        CategoryClass::Ordinary,
        "Postal code",
    ),
    (
        "racial_or_ethnic_origin",
        "special",
        CategoryClass::Sensitive,
        "Racial or ethnic origin (GDPR Art. 9)",
    ),
    (
        "political_opinions",
        "special",
        CategoryClass::Sensitive,
        "Political opinions (GDPR Art. 9)",
    ),
    (
        "religious_or_philosophical_beliefs",
        "special",
        CategoryClass::Sensitive,
        "Religious or philosophical beliefs (GDPR Art. 9)",
    ),
    (
        "trade_union_membership",
        "special",
        CategoryClass::Sensitive,
        "Trade-union membership (GDPR Art. 9)",
    ),
    (
        "genetic",
        "special",
        CategoryClass::Sensitive,
        "Genetic data (GDPR Art. 9)",
    ),
    (
        "biometric",
        "special",
        CategoryClass::Sensitive,
        "Biometric data (GDPR Art. 9)",
    ),
    (
        "health",
        "special",
        CategoryClass::Sensitive,
        "Data concerning health (GDPR Art. 9)",
    ),
    (
        "sex_life_or_sexual_orientation",
        "special",
        CategoryClass::Sensitive,
        "Sex life or sexual orientation (GDPR Art. 9)",
    ),
    (
        "precise_geolocation",
        "special",
        CategoryClass::Sensitive,
        "Precise geolocation",
    ),
    (
        "children",
        "special",
        CategoryClass::Sensitive,
        "Data about children",
    ),
    (
        "gender",
        "protected",
        CategoryClass::Protected,
        "Gender (protected characteristic)",
    ),
    (
        "age",
        "protected",
        CategoryClass::Protected,
        "Age or age band (protected characteristic)",
    ),
];

/// The legal basis a purpose relies on (GDPR Art. 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegalBasis {
    Consent,
    Contract,
    LegitimateInterest,
    LegalObligation,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegitimateInterest => "legitimate_interest",
            LegalBasis::LegalObligation => "legal_obligation",
        }
    }

    fn parse(s: &str) -> Option<LegalBasis> {
        match s {
            "consent" => Some(LegalBasis::Consent),
            "contract" => Some(LegalBasis::Contract),
            "legitimate_interest" => Some(LegalBasis::LegitimateInterest),
            "legal_obligation" => Some(LegalBasis::LegalObligation),
            _ => None,
        }
    }
}

/// A marketing channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Email,
    Sms,
    Push,
    Web,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Push, Channel::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Web => "web",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The hash of a purpose's meaning (text, categories, legal basis). A consent records the
/// version it was given under; when the meaning changes, that consent no longer counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PurposeVersion(String);

impl PurposeVersion {
    pub fn from_stored(s: String) -> PurposeVersion {
        PurposeVersion(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The content hash of the whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyVersion(String);

impl PolicyVersion {
    pub fn from_stored(s: String) -> PolicyVersion {
        PolicyVersion(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why data is processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub id: PurposeId,
    pub title: String,
    /// The plain-language text shown to people.
    pub text: String,
    pub legal_basis: LegalBasis,
    pub categories: BTreeSet<CategoryId>,
    pub retention_days: u32,
    /// Counts as sale or sharing of personal data (honours Global Privacy Control).
    pub sale_or_sharing: bool,
    /// Counts as targeted advertising (honours GPC; never for minors).
    pub targeted_advertising: bool,
    /// For marketing purposes, the channel messages go out on.
    pub channel: Option<Channel>,
    /// Explicitly allowed to use sensitive or protected categories (with consent).
    pub sensitive: bool,
    /// Profiles and recommendation models may learn from data allowed for this purpose.
    pub personalization: bool,
    /// Data kept for this purpose lives only until the visit ends.
    pub session_only: bool,
    pub session_timeout_minutes: u32,
    pub version: PurposeVersion,
}

impl Purpose {
    /// Whether a Global Privacy Control signal opts the person out of this purpose.
    pub fn honours_gpc(&self) -> bool {
        self.sale_or_sharing || self.targeted_advertising
    }

    pub fn needs_consent(&self) -> bool {
        self.legal_basis == LegalBasis::Consent
    }
}

/// The type of an event property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Number,
    Integer,
    Boolean,
}

impl PropertyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Integer => "integer",
            PropertyType::Boolean => "boolean",
        }
    }

    fn parse(s: &str) -> Option<PropertyType> {
        match s {
            "string" => Some(PropertyType::String),
            "number" => Some(PropertyType::Number),
            "integer" => Some(PropertyType::Integer),
            "boolean" => Some(PropertyType::Boolean),
            _ => None,
        }
    }
}

/// A declared property of an event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySpec {
    pub ty: PropertyType,
    pub category: CategoryId,
}

/// How an event counts in interest profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Page,
    View,
    Add,
    Purchase,
    Search,
    Rating,
}

impl Interaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Interaction::Page => "page",
            Interaction::View => "view",
            Interaction::Add => "add",
            Interaction::Purchase => "purchase",
            Interaction::Search => "search",
            Interaction::Rating => "rating",
        }
    }

    pub fn parse(s: &str) -> Option<Interaction> {
        [
            Interaction::Page,
            Interaction::View,
            Interaction::Add,
            Interaction::Purchase,
            Interaction::Search,
            Interaction::Rating,
        ]
        .into_iter()
        .find(|i| i.as_str() == s)
    }
}

/// A declared event type: what it may carry and which purposes it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    pub name: String,
    pub interaction: Option<Interaction>,
    pub purposes: Vec<PurposeId>,
    pub properties: BTreeMap<String, PropertySpec>,
}

/// Ages of digital consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdictions {
    pub default_age_of_consent: u8,
    /// ISO 3166-1 alpha-2 country code (uppercase) to age.
    pub age_of_consent: BTreeMap<String, u8>,
}

impl Jurisdictions {
    /// The age of digital consent for a country, or the default when unknown or undeclared.
    pub fn age_of_consent(&self, country: Option<&str>) -> u8 {
        country
            .and_then(|c| self.age_of_consent.get(&c.to_ascii_uppercase()).copied())
            .unwrap_or(self.default_age_of_consent)
    }
}

/// Who must never be shown items of a restricted category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    Minors,
    SelfExcluded,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Minors => "minors",
            Audience::SelfExcluded => "self_excluded",
        }
    }
}

/// An item category that some people must never be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictedCategory {
    pub id: String,
    pub never_for: BTreeSet<Audience>,
    pub description: String,
}

/// A valid privacy policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub controller: String,
    pub contact: String,
    pub categories: BTreeMap<CategoryId, DataCategory>,
    pub purposes: Vec<Purpose>,
    pub event_types: BTreeMap<String, EventType>,
    pub jurisdictions: Jurisdictions,
    pub restricted_categories: Vec<RestrictedCategory>,
    /// Counts shown to operators are suppressed below this.
    pub k_anonymity: u32,
    /// Attributes that likely stand in for protected characteristics.
    pub proxy_attributes: Vec<String>,
    /// How consent-management platforms' signals map onto the purposes.
    pub signals: SignalMapping,
    /// How far recommendation lists are broadened by default, from 0 (relevance only) to 1;
    /// each request may ask for another value.
    pub recommendation_diversity: Share,
    /// What happens when a fairness audit flags a campaign.
    pub fairness: FairnessRules,
    pub version: PolicyVersion,
}

/// A share between 0 and 1, kept in thousandths so that a policy compares exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share(u16);

impl Share {
    /// The nearest thousandth of `x`, which must be within `[0, 1]`.
    pub fn from_f64(x: f64) -> Option<Share> {
        (0.0..=1.0)
            .contains(&x)
            .then(|| Share((x * 1000.0).round() as u16))
    }

    pub fn as_f32(self) -> f32 {
        f32::from(self.0) / 1000.0
    }
}

/// The re-ranker's tuned balance of relevance and breadth, used unless the policy says otherwise.
pub const RECOMMENDATION_DIVERSITY_DEFAULT: Share = Share(500);

/// The `[fairness]` table: what a flagged campaign run (a demographic parity ratio below
/// four-fifths) may still do, and how long the exposure log the audits read is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairnessRules {
    /// Keep every delivery of a flagged run, and of later runs of the same campaign, out of
    /// the outbox until an operator acknowledges the flag.
    pub hold_flagged_campaigns: bool,
    /// Days a record of what was recommended to whom is kept for the fairness audit; the
    /// retention job deletes older ones.
    pub exposure_retention_days: u32,
}

/// Exposure records are kept this many days unless `[fairness] exposure_retention_days` says
/// otherwise: a quarter's audits, and no longer.
pub const EXPOSURE_RETENTION_DAYS_DEFAULT: u32 = 90;

impl Default for FairnessRules {
    fn default() -> Self {
        FairnessRules {
            hold_flagged_campaigns: false,
            exposure_retention_days: EXPOSURE_RETENTION_DAYS_DEFAULT,
        }
    }
}

/// One problem found in a policy file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyIssue {
    /// 1-based line, 0 when the problem concerns the file as a whole.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PolicyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

/// Every problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyErrors(pub Vec<PolicyIssue>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// Collects issues with positions computed from byte offsets into the source.
struct Issues<'a> {
    source: &'a str,
    found: Vec<PolicyIssue>,
}

impl Issues<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.source, span.start);
        self.found.push(PolicyIssue {
            line,
            column,
            message: message.into(),
        });
    }
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

impl Policy {
    /// The built-in default policy.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY_TOML).expect("the built-in policy is valid")
    }

    /// Parses and validates a policy file, reporting every problem with its line.
    pub fn parse(source: &str) -> Result<Policy, PolicyErrors> {
        if source.len() > POLICY_BYTES_MAX {
            return Err(PolicyErrors(vec![PolicyIssue {
                line: 0,
                column: 0,
                message: format!(
                    "the policy file is {} bytes; the limit is {POLICY_BYTES_MAX}",
                    source.len()
                ),
            }]));
        }
        let raw: raw::RawFile = toml::from_str(source).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(source, s.start));
            PolicyErrors(vec![PolicyIssue {
                line,
                column,
                message: e.message().trim().to_owned(),
            }])
        })?;
        let mut issues = Issues {
            source,
            found: Vec::new(),
        };
        let policy = build(raw, &mut issues);
        if issues.found.is_empty() {
            Ok(policy)
        } else {
            issues.found.sort_by_key(|i| (i.line, i.column));
            Err(PolicyErrors(issues.found))
        }
    }

    pub fn purpose(&self, id: &PurposeId) -> Option<&Purpose> {
        self.purposes.iter().find(|p| &p.id == id)
    }

    pub fn purpose_by_name(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id.as_str() == id)
    }

    pub fn category(&self, id: &CategoryId) -> Option<&DataCategory> {
        self.categories.get(id)
    }

    pub fn event_type(&self, name: &str) -> Option<&EventType> {
        self.event_types.get(name)
    }

    /// The restricted item categories that must never reach the given audience.
    pub fn restricted_for(&self, audience: Audience) -> impl Iterator<Item = &str> {
        self.restricted_categories
            .iter()
            .filter(move |r| r.never_for.contains(&audience))
            .map(|r| r.id.as_str())
    }

    /// The Art. 30 record of processing.
    pub fn data_map(&self) -> DataMap {
        datamap::build(self)
    }
}

fn hash_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed so that no two different part lists hash alike.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(&h.finalize()[..8])
}

fn purpose_version(
    id: &str,
    text: &str,
    basis: LegalBasis,
    cats: &BTreeSet<CategoryId>,
) -> PurposeVersion {
    let cats: Vec<&str> = cats.iter().map(CategoryId::as_str).collect();
    let cats = cats.join(",");
    PurposeVersion(hash_hex(&[
        id.as_bytes(),
        text.as_bytes(),
        basis.as_str().as_bytes(),
        cats.as_bytes(),
    ]))
}

fn positive_u32(issues: &mut Issues, v: &Spanned<i64>, what: &str, max: i64) -> Option<u32> {
    let n = *v.get_ref();
    if n <= 0 || n > max {
        issues.at(
            v.span(),
            format!("{what} must be between 1 and {max}, not {n}"),
        );
        return None;
    }
    u32::try_from(n).ok()
}

fn build(raw: raw::RawFile, issues: &mut Issues) -> Policy {
    let mut categories = BTreeMap::new();
    for (id, group, class, description) in BUILT_IN_CATEGORIES {
        let id = CategoryId::parse(id).expect("built-in category ids are valid");
        categories.insert(
            id.clone(),
            DataCategory {
                id,
                group: (*group).to_owned(),
                class: *class,
                description: (*description).to_owned(),
            },
        );
    }
    for (name, cat) in &raw.categories {
        let id = match CategoryId::parse(name.get_ref()) {
            Ok(id) => id,
            Err(e) => {
                issues.at(name.span(), e.to_string());
                continue;
            }
        };
        if categories.contains_key(&id) {
            issues.at(
                name.span(),
                format!("category `{id}` is built in and cannot be redefined"),
            );
            continue;
        }
        let cat = cat.get_ref();
        let class = match &cat.class {
            None => CategoryClass::Ordinary,
            Some(c) => match CategoryClass::parse(c.get_ref()) {
                Some(class) => class,
                None => {
                    issues.at(
                        c.span(),
                        format!(
                            "unknown category class `{}`; expected ordinary, sensitive or protected",
                            c.get_ref()
                        ),
                    );
                    CategoryClass::Ordinary
                }
            },
        };
        categories.insert(
            id.clone(),
            DataCategory {
                id,
                group: cat.group.clone().unwrap_or_else(|| "custom".to_owned()),
                class,
                description: cat.description.clone().unwrap_or_default(),
            },
        );
    }

    let mut purposes: Vec<Purpose> = Vec::new();
    for sp in &raw.purposes {
        let span = sp.span();
        let p = sp.get_ref();
        let id = match PurposeId::parse(p.id.get_ref()) {
            Ok(id) => id,
            Err(e) => {
                issues.at(p.id.span(), e.to_string());
                continue;
            }
        };
        if purposes.iter().any(|q| q.id == id) {
            issues.at(p.id.span(), format!("purpose `{id}` is declared twice"));
            continue;
        }
        let text = match &p.text {
            Some(t) if !t.get_ref().trim().is_empty() => t.get_ref().trim().to_owned(),
            Some(t) => {
                issues.at(t.span(), format!("purpose `{id}` has an empty `text`"));
                String::new()
            }
            None => {
                issues.at(
                    span.clone(),
                    format!("purpose `{id}` has no `text` (the plain-language text people see)"),
                );
                String::new()
            }
        };
        let legal_basis = match &p.legal_basis {
            Some(b) => LegalBasis::parse(b.get_ref()).unwrap_or_else(|| {
                issues.at(
                    b.span(),
                    format!(
                        "unknown legal basis `{}`; expected consent, contract, legitimate_interest or legal_obligation",
                        b.get_ref()
                    ),
                );
                LegalBasis::Consent
            }),
            None => {
                issues.at(span.clone(), format!("purpose `{id}` has no `legal_basis`"));
                LegalBasis::Consent
            }
        };
        let mut cats = BTreeSet::new();
        for c in &p.categories {
            match CategoryId::parse(c.get_ref())
                .ok()
                .filter(|c| categories.contains_key(c))
            {
                Some(cid) => {
                    let class = categories[&cid].class;
                    if class.is_restricted() && !(legal_basis == LegalBasis::Consent && p.sensitive)
                    {
                        issues.at(
                            c.span(),
                            format!(
                                "purpose `{id}` uses the {} category `{cid}`; that needs `legal_basis = \"consent\"` and `sensitive = true`",
                                class.as_str()
                            ),
                        );
                    }
                    cats.insert(cid);
                }
                None => issues.at(
                    c.span(),
                    format!(
                        "purpose `{id}` uses unknown data category `{}`",
                        c.get_ref()
                    ),
                ),
            }
        }
        if cats.is_empty() && p.categories.is_empty() {
            issues.at(
                span.clone(),
                format!("purpose `{id}` declares no data categories"),
            );
        }
        let retention_days = match &p.retention_days {
            Some(r) => positive_u32(issues, r, "retention_days", 36_500).unwrap_or(1),
            None => {
                issues.at(
                    span.clone(),
                    format!("purpose `{id}` has no `retention_days`"),
                );
                1
            }
        };
        let channel = p.channel.as_ref().and_then(|c| {
            let ch = Channel::parse(c.get_ref());
            if ch.is_none() {
                issues.at(
                    c.span(),
                    format!(
                        "unknown channel `{}`; expected email, sms, push or web",
                        c.get_ref()
                    ),
                );
            }
            ch
        });
        if p.session_only && !p.personalization {
            issues.at(
                span.clone(),
                format!("purpose `{id}` is `session_only` but not `personalization`; session-only data exists to personalize a visit"),
            );
        }
        let session_timeout_minutes = match &p.session_timeout_minutes {
            Some(t) => positive_u32(issues, t, "session_timeout_minutes", 24 * 60).unwrap_or(30),
            None => 30,
        };
        if p.sensitive && legal_basis != LegalBasis::Consent {
            issues.at(
                span.clone(),
                format!("purpose `{id}` is marked `sensitive` but its legal basis is not consent"),
            );
        }
        let version = purpose_version(id.as_str(), &text, legal_basis, &cats);
        purposes.push(Purpose {
            title: p
                .title
                .clone()
                .unwrap_or_else(|| id.as_str().replace('_', " ")),
            id,
            text,
            legal_basis,
            categories: cats,
            retention_days,
            sale_or_sharing: p.sale_or_sharing,
            targeted_advertising: p.targeted_advertising,
            channel,
            sensitive: p.sensitive,
            personalization: p.personalization,
            session_only: p.session_only,
            session_timeout_minutes,
            version,
        });
    }
    if raw.purposes.is_empty() {
        issues.found.push(PolicyIssue {
            line: 0,
            column: 0,
            message: "the policy declares no purposes".to_owned(),
        });
    }

    let mut event_types = BTreeMap::new();
    for se in &raw.event_types {
        let e = se.get_ref();
        let name = e.name.get_ref().trim().to_owned();
        if name.is_empty() || name.len() > 128 {
            issues.at(
                e.name.span(),
                "event type names must be 1 to 128 characters",
            );
            continue;
        }
        if event_types.contains_key(&name) {
            issues.at(
                e.name.span(),
                format!("event type `{name}` is declared twice"),
            );
            continue;
        }
        let interaction = e.interaction.as_ref().and_then(|i| {
            let parsed = Interaction::parse(i.get_ref());
            if parsed.is_none() {
                issues.at(
                    i.span(),
                    format!(
                        "unknown interaction `{}`; expected page, view, add, purchase, search or rating",
                        i.get_ref()
                    ),
                );
            }
            parsed
        });
        let mut serves = Vec::new();
        for p in &e.purposes {
            match purposes.iter().find(|q| q.id.as_str() == p.get_ref()) {
                Some(q) => serves.push(q.id.clone()),
                None => issues.at(
                    p.span(),
                    format!(
                        "event type `{name}` serves unknown purpose `{}`",
                        p.get_ref()
                    ),
                ),
            }
        }
        if e.purposes.is_empty() {
            issues.at(se.span(), format!("event type `{name}` serves no purpose"));
        }
        let mut properties = BTreeMap::new();
        for (pname, sprop) in &e.properties {
            let prop = sprop.get_ref();
            let ty = match &prop.ty {
                Some(t) => PropertyType::parse(t.get_ref()).unwrap_or_else(|| {
                    issues.at(
                        t.span(),
                        format!(
                            "property `{}` has unknown type `{}`; expected string, number, integer or boolean",
                            pname.get_ref(),
                            t.get_ref()
                        ),
                    );
                    PropertyType::String
                }),
                None => {
                    issues.at(
                        sprop.span(),
                        format!("property `{}` of `{name}` has no `type`", pname.get_ref()),
                    );
                    PropertyType::String
                }
            };
            let category = match &prop.category {
                Some(c) => match CategoryId::parse(c.get_ref())
                    .ok()
                    .filter(|c| categories.contains_key(c))
                {
                    Some(c) => c,
                    None => {
                        issues.at(
                            c.span(),
                            format!(
                                "property `{}` of `{name}` has unknown data category `{}`",
                                pname.get_ref(),
                                c.get_ref()
                            ),
                        );
                        continue;
                    }
                },
                None => {
                    issues.at(
                        sprop.span(),
                        format!(
                            "property `{}` of `{name}` has no data `category`; every stored datum needs one",
                            pname.get_ref()
                        ),
                    );
                    continue;
                }
            };
            properties.insert(pname.get_ref().clone(), PropertySpec { ty, category });
        }
        event_types.insert(
            name.clone(),
            EventType {
                name,
                interaction,
                purposes: serves,
                properties,
            },
        );
    }

    let jurisdictions = match &raw.jurisdictions {
        None => Jurisdictions {
            default_age_of_consent: 16,
            age_of_consent: BTreeMap::from([("US".to_owned(), 13)]),
        },
        Some(sj) => {
            let j = sj.get_ref();
            let default_age_of_consent = match &j.default_age_of_consent {
                Some(a) => positive_u32(issues, a, "default_age_of_consent", 21).unwrap_or(16),
                None => 16,
            } as u8;
            let mut ages = BTreeMap::from([("US".to_owned(), 13)]);
            for (country, age) in &j.age_of_consent {
                let c = country.get_ref();
                if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                    issues.at(
                        country.span(),
                        format!("`{c}` is not an ISO 3166-1 alpha-2 country code such as US or DE"),
                    );
                    continue;
                }
                if let Some(a) = positive_u32(issues, age, "age_of_consent", 21) {
                    ages.insert(c.clone(), a as u8);
                }
            }
            Jurisdictions {
                default_age_of_consent,
                age_of_consent: ages,
            }
        }
    };

    let mut restricted_categories: Vec<RestrictedCategory> = Vec::new();
    for sr in &raw.restricted_categories {
        let r = sr.get_ref();
        let id = r.id.get_ref().trim().to_owned();
        if id.is_empty() {
            issues.at(r.id.span(), "a restricted category needs an `id`");
            continue;
        }
        if restricted_categories.iter().any(|x| x.id == id) {
            issues.at(
                r.id.span(),
                format!("restricted category `{id}` is declared twice"),
            );
            continue;
        }
        let mut never_for = BTreeSet::new();
        for a in &r.never_for {
            match a.get_ref().as_str() {
                "minors" => {
                    never_for.insert(Audience::Minors);
                }
                "self_excluded" => {
                    never_for.insert(Audience::SelfExcluded);
                }
                other => issues.at(
                    a.span(),
                    format!("unknown audience `{other}`; expected minors or self_excluded"),
                ),
            }
        }
        if r.never_for.is_empty() {
            // Protective default: a restricted category nobody is protected from is a mistake.
            never_for.extend([Audience::Minors, Audience::SelfExcluded]);
        }
        restricted_categories.push(RestrictedCategory {
            id,
            never_for,
            description: r.description.clone().unwrap_or_default(),
        });
    }

    let (k_anonymity, proxy_attributes) = match &raw.segments {
        None => (10, vec!["postcode".to_owned(), "first_name".to_owned()]),
        Some(s) => {
            let s = s.get_ref();
            let k = match &s.k_anonymity {
                Some(k) => positive_u32(issues, k, "k_anonymity", 1_000_000).unwrap_or(10),
                None => 10,
            };
            (
                k,
                s.proxy_attributes
                    .iter()
                    .map(|p| p.get_ref().clone())
                    .collect(),
            )
        }
    };

    let signals = signals::build(raw.signals.as_ref(), &purposes, issues);
    let fairness = FairnessRules {
        hold_flagged_campaigns: raw
            .fairness
            .as_ref()
            .and_then(|f| f.hold_flagged_campaigns)
            .unwrap_or(false),
        exposure_retention_days: raw
            .fairness
            .as_ref()
            .and_then(|f| f.exposure_retention_days.as_ref())
            .map_or(Some(EXPOSURE_RETENTION_DAYS_DEFAULT), |d| {
                positive_u32(issues, d, "exposure_retention_days", 36_500)
            })
            .unwrap_or(EXPOSURE_RETENTION_DAYS_DEFAULT),
    };

    let recommendation_diversity = match raw
        .recommendations
        .as_ref()
        .and_then(|r| r.get_ref().diversity.as_ref())
    {
        None => RECOMMENDATION_DIVERSITY_DEFAULT,
        Some(d) => Share::from_f64(*d.get_ref()).unwrap_or_else(|| {
            issues.at(
                d.span(),
                format!(
                    "recommendations.diversity must be between 0 (relevance only) and 1, not {}",
                    d.get_ref()
                ),
            );
            RECOMMENDATION_DIVERSITY_DEFAULT
        }),
    };

    let mut policy = Policy {
        controller: raw.policy.controller.unwrap_or_default(),
        contact: raw.policy.contact.unwrap_or_default(),
        categories,
        purposes,
        event_types,
        jurisdictions,
        restricted_categories,
        k_anonymity,
        proxy_attributes,
        signals,
        recommendation_diversity,
        fairness,
        version: PolicyVersion(String::new()),
    };
    policy.version = policy_version(&policy);
    policy
}

/// The content hash of everything that changes what the policy means; comments, layout and
/// process settings do not change it.
fn policy_version(p: &Policy) -> PolicyVersion {
    // The derived `Debug` of the validated policy is a faithful, deterministic rendering of its
    // content: maps are ordered and every field is printed.
    let canonical = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{}|{}",
        p.categories,
        p.purposes,
        p.event_types,
        p.jurisdictions,
        p.restricted_categories,
        p.k_anonymity,
        p.proxy_attributes,
        p.controller,
        p.contact
    );
    // Appended only when present, so policies without a `[signals]` table keep the version
    // they had before the table existed.
    let canonical = if p.signals == SignalMapping::default() {
        canonical
    } else {
        format!("{canonical}|{:?}", p.signals)
    };
    // Likewise for a diversity other than the default.
    let canonical = if p.recommendation_diversity == RECOMMENDATION_DIVERSITY_DEFAULT {
        canonical
    } else {
        format!("{canonical}|diversity={:?}", p.recommendation_diversity)
    };
    // Likewise `[fairness]`: holding flagged campaigns changes what the policy permits, and
    // the exposure retention what it keeps.
    let canonical = if p.fairness == FairnessRules::default() {
        canonical
    } else {
        format!("{canonical}|{:?}", p.fairness)
    };
    PolicyVersion(hash_hex(&[canonical.as_bytes()]))
}

#[cfg(test)]
mod tests;
