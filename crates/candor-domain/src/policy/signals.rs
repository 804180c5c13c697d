//! The `[signals]` table: how consent signals relayed by consent-management platforms (IAB
//! TCF, Google Consent Mode) map onto the policy's purposes.
//!
//! The mapping is the operator's statement of which platform purposes cover which Candor
//! purpose, so it belongs to the policy and changes its version. US opt-outs need no
//! mapping: they follow the purposes' own `sale_or_sharing`, `targeted_advertising` and
//! `sensitive` flags.

use std::collections::{BTreeMap, BTreeSet};

use super::{Issues, Purpose, raw};
use crate::ids::PurposeId;

/// TCF v2.2 defines purposes 1 to 11.
pub const TCF_PURPOSE_ID_MAX: u8 = 11;

/// A Google Consent Mode v2 state key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsentModeKey {
    AdStorage,
    AnalyticsStorage,
    AdUserData,
    AdPersonalization,
}

impl ConsentModeKey {
    pub const ALL: [ConsentModeKey; 4] = [
        ConsentModeKey::AdStorage,
        ConsentModeKey::AnalyticsStorage,
        ConsentModeKey::AdUserData,
        ConsentModeKey::AdPersonalization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentModeKey::AdStorage => "ad_storage",
            ConsentModeKey::AnalyticsStorage => "analytics_storage",
            ConsentModeKey::AdUserData => "ad_user_data",
            ConsentModeKey::AdPersonalization => "ad_personalization",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentModeKey> {
        ConsentModeKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How platform signals map onto purposes. Purposes absent from a map are never touched by
/// that kind of signal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalMapping {
    /// The operator's id in the IAB Global Vendor List. When set, a TC string grants a
    /// purpose only if it also carries this vendor's consent bit.
    pub tcf_vendor_id: Option<u16>,
    /// Each purpose and the TCF purposes that must all have consent for a TC string to
    /// grant it; a TC string that lacks any of them denies it.
    pub tcf_purposes: BTreeMap<PurposeId, BTreeSet<u8>>,
    /// Each purpose and the Consent Mode keys that must all be `granted` to grant it; any of
    /// them `denied` denies it.
    pub consent_mode: BTreeMap<PurposeId, BTreeSet<ConsentModeKey>>,
}

pub(super) fn build(
    raw: Option<&toml::Spanned<raw::RawSignals>>,
    purposes: &[Purpose],
    issues: &mut Issues<'_>,
) -> SignalMapping {
    let Some(raw) = raw else {
        return SignalMapping::default();
    };
    let raw = raw.get_ref();
    let mut mapping = SignalMapping::default();
    if let Some(v) = &raw.tcf_vendor_id {
        mapping.tcf_vendor_id =
            super::positive_u32(issues, v, "tcf_vendor_id", i64::from(u16::MAX))
                .and_then(|n| u16::try_from(n).ok());
    }
    let purpose = |name: &toml::Spanned<String>, table: &str, issues: &mut Issues<'_>| {
        let found = purposes
            .iter()
            .find(|p| p.id.as_str() == name.get_ref())
            .map(|p| p.id.clone());
        if found.is_none() {
            issues.at(
                name.span(),
                format!(
                    "`signals.{table}` maps unknown purpose `{}`",
                    name.get_ref()
                ),
            );
        }
        found
    };
    for (name, ids) in &raw.tcf_purposes {
        let Some(id) = purpose(name, "tcf_purposes", issues) else {
            continue;
        };
        if ids.is_empty() {
            // An empty list would let any TC string at all grant the purpose.
            issues.at(
                name.span(),
                format!("`signals.tcf_purposes.{id}` lists no TCF purposes"),
            );
            continue;
        }
        let mut set = BTreeSet::new();
        for n in ids {
            match u8::try_from(*n.get_ref())
                .ok()
                .filter(|n| (1..=TCF_PURPOSE_ID_MAX).contains(n))
            {
                Some(n) => {
                    set.insert(n);
                }
                None => issues.at(
                    n.span(),
                    format!(
                        "TCF purpose {} does not exist; TCF v2.2 purposes are 1 to {TCF_PURPOSE_ID_MAX}",
                        n.get_ref()
                    ),
                ),
            }
        }
        mapping.tcf_purposes.insert(id, set);
    }
    for (name, keys) in &raw.consent_mode {
        let Some(id) = purpose(name, "consent_mode", issues) else {
            continue;
        };
        if keys.is_empty() {
            issues.at(
                name.span(),
                format!("`signals.consent_mode.{id}` lists no Consent Mode keys"),
            );
            continue;
        }
        let mut set = BTreeSet::new();
        for k in keys {
            match ConsentModeKey::parse(k.get_ref()) {
                Some(k) => {
                    set.insert(k);
                }
                None => issues.at(
                    k.span(),
                    format!(
                        "unknown Consent Mode key `{}`; expected ad_storage, analytics_storage, ad_user_data or ad_personalization",
                        k.get_ref()
                    ),
                ),
            }
        }
        mapping.consent_mode.insert(id, set);
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::super::Policy;
    use super::*;

    const PURPOSE: &str = r#"
[[purposes]]
id = "analytics"
text = "Count visits."
legal_basis = "consent"
categories = ["browsing"]
retention_days = 30
"#;

    fn errors(signals: &str) -> String {
        match Policy::parse(&format!("{PURPOSE}\n[signals]\n{signals}")) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_valid_table_parses_into_the_mapping() {
        let p = Policy::parse(&format!(
            "{PURPOSE}\n[signals]\ntcf_vendor_id = 42\ntcf_purposes = {{ analytics = [9, 1, 9] }}\nconsent_mode = {{ analytics = [\"analytics_storage\"] }}\n"
        ))
        .unwrap();
        let id = p.purpose_by_name("analytics").unwrap().id.clone();
        assert_eq!(p.signals.tcf_vendor_id, Some(42));
        assert_eq!(p.signals.tcf_purposes[&id], BTreeSet::from([1, 9]));
        assert_eq!(
            p.signals.consent_mode[&id],
            BTreeSet::from([ConsentModeKey::AnalyticsStorage])
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_lines() {
        // Line 9 is `[signals]`; the table's entries follow it.
        assert_eq!(
            errors("tcf_purposes = { telepathy = [1] }"),
            "10:18: `signals.tcf_purposes` maps unknown purpose `telepathy`"
        );
        assert_eq!(
            errors("tcf_purposes = { analytics = [1, 12, 0] }"),
            "10:34: TCF purpose 12 does not exist; TCF v2.2 purposes are 1 to 11\n\
             10:38: TCF purpose 0 does not exist; TCF v2.2 purposes are 1 to 11"
        );
        assert_eq!(
            errors("tcf_purposes = { analytics = [] }"),
            "10:18: `signals.tcf_purposes.analytics` lists no TCF purposes"
        );
        assert_eq!(
            errors("consent_mode = { analytics = [\"cookies\"] }"),
            "10:31: unknown Consent Mode key `cookies`; expected ad_storage, analytics_storage, ad_user_data or ad_personalization"
        );
        assert_eq!(
            errors("consent_mode = { nope = [\"ad_storage\"] }"),
            "10:18: `signals.consent_mode` maps unknown purpose `nope`"
        );
        assert_eq!(
            errors("tcf_vendor_id = 70000"),
            "10:17: tcf_vendor_id must be between 1 and 65535, not 70000"
        );
        assert!(errors("tcf_purpose = {}").contains("unknown field `tcf_purpose`"));
    }

    #[test]
    fn a_policy_without_the_table_keeps_its_version() {
        let without = Policy::parse(PURPOSE).unwrap();
        let empty = Policy::parse(&format!("{PURPOSE}\n[signals]\n")).unwrap();
        assert_eq!(without.version, empty.version);
        let mapped = Policy::parse(&format!(
            "{PURPOSE}\n[signals]\ntcf_purposes = {{ analytics = [1] }}\n"
        ))
        .unwrap();
        assert_ne!(without.version, mapped.version);
    }
}
