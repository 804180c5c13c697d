//! The policy file as written: serde structs that mirror the TOML, with source spans kept so
//! that every validation error can name its line. Nothing outside `policy` sees these types.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(super) struct RawFile {
    #[serde(default)]
    pub policy: RawPolicyHeader,
    // Process settings share the file but are not part of the policy: the binary reads them,
    // so they are only accepted here, never interpreted.
    #[serde(default)]
    pub server: Option<toml::Table>,
    #[serde(default)]
    pub storage: Option<toml::Table>,
    #[serde(default)]
    pub limits: Option<toml::Table>,
    #[serde(default)]
    pub profiles: Option<toml::Table>,
    #[serde(default)]
    pub subject_rights: Option<toml::Table>,
    pub campaigns: Option<toml::Table>,
    pub analytics: Option<toml::Table>,
    #[serde(default)]
    pub categories: BTreeMap<Spanned<String>, Spanned<RawCategory>>,
    #[serde(default)]
    pub purposes: Vec<Spanned<RawPurpose>>,
    #[serde(default)]
    pub event_types: Vec<Spanned<RawEventType>>,
    #[serde(default)]
    pub jurisdictions: Option<Spanned<RawJurisdictions>>,
    #[serde(default)]
    pub restricted_categories: Vec<Spanned<RawRestricted>>,
    #[serde(default)]
    pub segments: Option<Spanned<RawSegments>>,
    #[serde(default)]
    pub signals: Option<Spanned<RawSignals>>,
    #[serde(default)]
    pub recommendations: Option<Spanned<RawRecommendations>>,
    #[serde(default)]
    pub fairness: Option<RawFairness>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicyHeader {
    pub controller: Option<String>,
    pub contact: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub group: Option<String>,
    pub class: Option<Spanned<String>>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPurpose {
    pub id: Spanned<String>,
    pub title: Option<String>,
    pub text: Option<Spanned<String>>,
    pub legal_basis: Option<Spanned<String>>,
    #[serde(default)]
    pub categories: Vec<Spanned<String>>,
    pub retention_days: Option<Spanned<i64>>,
    #[serde(default)]
    pub sale_or_sharing: bool,
    #[serde(default)]
    pub targeted_advertising: bool,
    pub channel: Option<Spanned<String>>,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub personalization: bool,
    #[serde(default)]
    pub session_only: bool,
    pub session_timeout_minutes: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventType {
    pub name: Spanned<String>,
    pub interaction: Option<Spanned<String>>,
    #[serde(default)]
    pub purposes: Vec<Spanned<String>>,
    #[serde(default)]
    pub properties: BTreeMap<Spanned<String>, Spanned<RawProperty>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProperty {
    #[serde(rename = "type")]
    pub ty: Option<Spanned<String>>,
    pub category: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJurisdictions {
    pub default_age_of_consent: Option<Spanned<i64>>,
    #[serde(default)]
    pub age_of_consent: BTreeMap<Spanned<String>, Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestricted {
    pub id: Spanned<String>,
    #[serde(default)]
    pub never_for: Vec<Spanned<String>>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSegments {
    pub k_anonymity: Option<Spanned<i64>>,
    #[serde(default)]
    pub proxy_attributes: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecommendations {
    pub diversity: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignals {
    pub tcf_vendor_id: Option<Spanned<i64>>,
    #[serde(default)]
    pub tcf_purposes: BTreeMap<Spanned<String>, Vec<Spanned<i64>>>,
    #[serde(default)]
    pub consent_mode: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFairness {
    pub hold_flagged_campaigns: Option<bool>,
    pub exposure_retention_days: Option<Spanned<i64>>,
}
