use super::*;
use crate::consent::{ConsentRecord, Decision, Source, SubjectFacts, derive};
use crate::time::DAY_MS;

const NOW: i64 = 1_795_435_200_000;

fn consent(policy: &Policy, granted: &[&str]) -> ConsentState {
    let records: Vec<ConsentRecord> = granted
        .iter()
        .map(|g| {
            let p = policy.purpose_by_name(g).unwrap();
            ConsentRecord {
                purpose: p.id.clone(),
                decision: Decision::Granted,
                purpose_version: p.version.clone(),
                policy_version: policy.version.clone(),
                source: Source::Banner,
                bulk: false,
                evidence: String::new(),
                at: Timestamp::from_millis(NOW - DAY_MS),
            }
        })
        .collect();
    derive(policy, &SubjectFacts::default(), &records)
}

fn props(pairs: &[(&str, PropValue)]) -> BTreeMap<String, PropValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn run(granted: &[&str], event: &str, p: &[(&str, PropValue)]) -> GateOutcome {
    let policy = Policy::default_policy();
    let now = Timestamp::from_millis(NOW);
    gate(
        &policy,
        &consent(&policy, granted),
        event,
        &props(p),
        now,
        now,
    )
}

#[test]
fn no_consent_means_not_stored() {
    let out = run(
        &[],
        "Product Viewed",
        &[("product_id", PropValue::String("sku-1".into()))],
    );
    assert!(matches!(
        out,
        GateOutcome::Dropped {
            reason: DropReason::NoConsent,
            ..
        }
    ));
}

#[test]
fn unknown_event_type_is_dropped() {
    let out = run(&["analytics"], "Mind Read", &[]);
    assert!(matches!(
        out,
        GateOutcome::Dropped {
            reason: DropReason::UnknownEventType,
            ..
        }
    ));
}

#[test]
fn only_granted_purposes_and_needed_properties_are_kept() {
    // Order Completed serves analytics, personalization, email_marketing and order_fulfilment
    // (contract, always allowed). With only the contract purpose, purchase data is kept.
    let out = run(
        &["analytics"],
        "Order Completed",
        &[
            ("order_id", PropValue::String("o1".into())),
            ("total", PropValue::Number(10.5)),
            ("quantity", PropValue::String("three".into())),
            ("shoe_size", PropValue::Integer(44)),
        ],
    );
    let GateOutcome::Accepted(a) = out else {
        panic!("{out:?}")
    };
    let purposes: Vec<&str> = a.purposes.iter().map(|p| p.as_str()).collect();
    assert_eq!(purposes, ["analytics", "order_fulfilment"]);
    assert_eq!(
        a.properties.keys().collect::<Vec<_>>(),
        ["order_id", "total"]
    );
    assert!(
        a.issues
            .contains(&("quantity".into(), PropertyIssue::InvalidType))
    );
    assert!(
        a.issues
            .contains(&("shoe_size".into(), PropertyIssue::UnknownProperty))
    );
    // Contract retention (3650 days) is the longest.
    assert_eq!(a.expires_at, Timestamp::from_millis(NOW).plus_days(3650));
    assert!(!a.personalization);
}

#[test]
fn minimization_removes_categories_no_purpose_needs() {
    // Analytics needs browsing/searches/device but not purchases: a Product Added's price
    // (category purchases) is removed when only analytics is granted.
    let out = run(
        &["analytics"],
        "Product Added",
        &[
            ("product_id", PropValue::String("sku-1".into())),
            ("price", PropValue::Number(9.0)),
        ],
    );
    let GateOutcome::Accepted(a) = out else {
        panic!()
    };
    assert!(a.properties.contains_key("product_id"));
    assert!(!a.properties.contains_key("price"));
    assert_eq!(
        a.issues,
        vec![("price".to_owned(), PropertyIssue::Minimized)]
    );
    // With personalization (purchases) granted too, price is kept.
    let GateOutcome::Accepted(a) = run(
        &["analytics", "personalization"],
        "Product Added",
        &[("price", PropValue::Number(9.0))],
    ) else {
        panic!()
    };
    assert!(a.properties.contains_key("price"));
    assert!(a.personalization);
}

#[test]
fn session_only_events_expire_with_the_visit() {
    let GateOutcome::Accepted(a) = run(
        &["session_personalization"],
        "Product Viewed",
        &[("product_id", PropValue::String("x".into()))],
    ) else {
        panic!()
    };
    assert!(a.session_only);
    assert_eq!(a.expires_at, Timestamp::from_millis(NOW + 30 * 60_000));
}

#[test]
fn old_events_past_every_retention_are_dropped() {
    let policy = Policy::default_policy();
    let now = Timestamp::from_millis(NOW);
    let old = Timestamp::from_millis(NOW - 400 * DAY_MS);
    let out = gate(
        &policy,
        &consent(&policy, &["personalization"]),
        "Product Viewed",
        &BTreeMap::new(),
        old,
        now,
    );
    assert!(matches!(
        out,
        GateOutcome::Dropped {
            reason: DropReason::Expired,
            ..
        }
    ));
}

#[test]
fn withdrawal_narrows_stored_events() {
    let policy = Policy::default_policy();
    let now = Timestamp::from_millis(NOW);
    let both = vec![
        PurposeId::parse("analytics").unwrap(),
        PurposeId::parse("personalization").unwrap(),
    ];
    let expires = now.plus_days(395);
    let only_analytics = consent(&policy, &["analytics"]);
    let (kept, exp) = still_allowed(&policy, &only_analytics, &both, now, expires).unwrap();
    assert_eq!(kept, vec![PurposeId::parse("analytics").unwrap()]);
    assert_eq!(exp, now.plus_days(395));
    assert!(still_allowed(&policy, &consent(&policy, &[]), &both, now, expires).is_none());
}
