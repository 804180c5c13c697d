use proptest::prelude::*;

use super::*;

fn policy() -> Policy {
    Policy::default_policy()
}

fn rec(
    p: &Policy,
    purpose: &str,
    decision: Decision,
    source: Source,
    bulk: bool,
    at: i64,
) -> ConsentRecord {
    let purpose = p.purpose_by_name(purpose).unwrap();
    ConsentRecord {
        purpose: purpose.id.clone(),
        decision,
        purpose_version: purpose.version.clone(),
        policy_version: p.version.clone(),
        source,
        bulk,
        evidence: String::new(),
        at: Timestamp::from_millis(at),
    }
}

fn state(
    p: &Policy,
    facts: &SubjectFacts,
    records: &[ConsentRecord],
    purpose: &str,
) -> PurposeState {
    let s = derive(p, facts, records);
    s.purposes
        .into_iter()
        .find(|s| s.purpose.as_str() == purpose)
        .unwrap()
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_795_000_000_000; // 2026-11-18

#[test]
fn opt_in_by_default() {
    let p = policy();
    let s = state(&p, &SubjectFacts::default(), &[], "personalization");
    assert!(!s.allowed);
    assert_eq!(s.reason.to_string(), "denied: no choice yet");
    // Contract purposes need no consent.
    let s = state(&p, &SubjectFacts::default(), &[], "order_fulfilment");
    assert!(s.allowed);
    assert_eq!(
        s.reason.to_string(),
        "allowed: legal basis is contract (no consent needed)"
    );
}

#[test]
fn grant_then_withdraw() {
    let p = policy();
    let f = SubjectFacts::default();
    let g = rec(
        &p,
        "personalization",
        Decision::Granted,
        Source::Banner,
        false,
        T0,
    );
    assert!(state(&p, &f, std::slice::from_ref(&g), "personalization").allowed);
    let w = rec(
        &p,
        "personalization",
        Decision::Withdrawn,
        Source::Api,
        false,
        T0 + DAY,
    );
    let s = state(&p, &f, &[g, w], "personalization");
    assert!(!s.allowed);
    assert_eq!(s.reason.to_string(), "denied: withdrawn on 2026-11-19");
}

#[test]
fn gpc_beats_accept_all_but_not_an_explicit_grant() {
    let p = policy();
    let f = SubjectFacts::default();
    let gpc = rec(
        &p,
        "targeted_advertising",
        Decision::Denied,
        Source::Gpc,
        true,
        T0,
    );
    let all = rec(
        &p,
        "targeted_advertising",
        Decision::Granted,
        Source::Banner,
        true,
        T0 + DAY,
    );
    let tcf = rec(
        &p,
        "targeted_advertising",
        Decision::Granted,
        Source::Tcf,
        false,
        T0 + DAY,
    );
    let s = state(
        &p,
        &f,
        &[gpc.clone(), all.clone(), tcf],
        "targeted_advertising",
    );
    assert!(!s.allowed);
    assert_eq!(
        s.reason.to_string(),
        "denied: Global Privacy Control on 2026-11-18"
    );
    let explicit = rec(
        &p,
        "targeted_advertising",
        Decision::Granted,
        Source::Banner,
        false,
        T0 + 2 * DAY,
    );
    assert!(
        state(
            &p,
            &f,
            &[gpc.clone(), all, explicit.clone()],
            "targeted_advertising"
        )
        .allowed
    );
    // A grant *before* the signal does not survive it.
    assert!(!state(&p, &f, &[explicit, gpc], "targeted_advertising").allowed);
}

#[test]
fn gpc_only_touches_flagged_purposes() {
    let p = policy();
    let f = SubjectFacts::default();
    let gpc = rec(
        &p,
        "personalization",
        Decision::Denied,
        Source::Gpc,
        true,
        T0,
    );
    let all = rec(
        &p,
        "personalization",
        Decision::Granted,
        Source::Banner,
        true,
        T0 + DAY,
    );
    assert!(state(&p, &f, &[gpc, all], "personalization").allowed);
}

#[test]
fn minors_need_parental_consent_and_never_get_targeted_ads() {
    let p = policy();
    let teen_de = SubjectFacts {
        age_band: AgeBand::parse("13-15"),
        country: Some("DE".into()),
    };
    let teen_us = SubjectFacts {
        age_band: AgeBand::parse("13-15"),
        country: Some("US".into()),
    };
    let own = rec(
        &p,
        "personalization",
        Decision::Granted,
        Source::Banner,
        false,
        T0,
    );
    let s = state(&p, &teen_de, std::slice::from_ref(&own), "personalization");
    assert!(!s.allowed);
    assert_eq!(
        s.reason.to_string(),
        "denied: people under 16 need a parent or guardian's consent"
    );
    // In the US the age of digital consent is 13.
    assert!(state(&p, &teen_us, &[own], "personalization").allowed);
    let parental = rec(
        &p,
        "personalization",
        Decision::Granted,
        Source::Parental,
        false,
        T0,
    );
    assert!(state(&p, &teen_de, &[parental], "personalization").allowed);
    let ads = rec(
        &p,
        "targeted_advertising",
        Decision::Granted,
        Source::Parental,
        false,
        T0,
    );
    let s = state(
        &p,
        &teen_de,
        std::slice::from_ref(&ads),
        "targeted_advertising",
    );
    assert!(!s.allowed);
    assert_eq!(s.reason.code(), "minor_no_targeted_advertising");
    // 13 is the age of digital consent in the US: a 13-15 band there is not a minor's.
    assert!(
        state(
            &p,
            &teen_us,
            std::slice::from_ref(&ads),
            "targeted_advertising"
        )
        .allowed
    );
    let kid_us = SubjectFacts {
        age_band: AgeBand::parse("under-13"),
        country: Some("US".into()),
    };
    assert!(!state(&p, &kid_us, &[ads], "targeted_advertising").allowed);
}

#[test]
fn changed_purpose_needs_new_consent() {
    let old = policy();
    let g = rec(
        &old,
        "personalization",
        Decision::Granted,
        Source::Banner,
        false,
        T0,
    );
    let changed_src = crate::policy::DEFAULT_POLICY_TOML.replace(
        "Remember what you view and buy",
        "Remember what you view, buy and search for",
    );
    let new = Policy::parse(&changed_src).unwrap();
    let s = state(
        &new,
        &SubjectFacts::default(),
        std::slice::from_ref(&g),
        "personalization",
    );
    assert!(!s.allowed);
    assert_eq!(s.reason.code(), "purpose_changed");
    // Other purposes' consents survive a change that does not touch them.
    let a = rec(
        &old,
        "analytics",
        Decision::Granted,
        Source::Banner,
        false,
        T0,
    );
    assert!(state(&new, &SubjectFacts::default(), &[a], "analytics").allowed);
}

#[test]
fn legitimate_interest_can_be_objected_to() {
    let src = crate::policy::DEFAULT_POLICY_TOML.replace(
        "legal_basis = \"contract\"",
        "legal_basis = \"legitimate_interest\"",
    );
    let p = Policy::parse(&src).unwrap();
    let f = SubjectFacts::default();
    assert!(state(&p, &f, &[], "order_fulfilment").allowed);
    let objection = rec(
        &p,
        "order_fulfilment",
        Decision::Denied,
        Source::Api,
        false,
        T0,
    );
    let s = state(&p, &f, &[objection], "order_fulfilment");
    assert!(!s.allowed);
    assert_eq!(s.reason.code(), "objected");
}

#[test]
fn age_bands_parse() {
    assert_eq!(
        AgeBand::parse("13-15"),
        Some(AgeBand {
            min_age: 13,
            max_age: Some(15)
        })
    );
    assert_eq!(
        AgeBand::parse("18+"),
        Some(AgeBand {
            min_age: 18,
            max_age: None
        })
    );
    assert_eq!(
        AgeBand::parse("under-13"),
        Some(AgeBand {
            min_age: 0,
            max_age: Some(12)
        })
    );
    assert_eq!(AgeBand::parse("15-13"), None);
    assert_eq!(AgeBand::parse("old"), None);
    assert_eq!(AgeBand::parse("under-0"), None);
    assert!(AgeBand::parse("16-17").unwrap().may_be_below(18));
    assert!(!AgeBand::parse("18+").unwrap().may_be_below(16));
}

// ---- property tests of the state machine ----

const PURPOSES: [&str; 4] = [
    "analytics",
    "personalization",
    "targeted_advertising",
    "email_marketing",
];

fn arb_record() -> impl Strategy<Value = (usize, u8, u8, bool)> {
    (0..PURPOSES.len(), 0u8..3, 0u8..8, any::<bool>())
}

fn build(p: &Policy, raw: &[(usize, u8, u8, bool)]) -> Vec<ConsentRecord> {
    raw.iter()
        .enumerate()
        .map(|(i, &(purpose, d, s, bulk))| {
            let decision = [Decision::Granted, Decision::Denied, Decision::Withdrawn][d as usize];
            rec(
                p,
                PURPOSES[purpose],
                decision,
                Source::ALL[s as usize],
                bulk,
                T0 + i as i64 * DAY,
            )
        })
        .collect()
}

fn arb_facts() -> impl Strategy<Value = SubjectFacts> {
    (
        prop::option::of(prop_oneof![
            Just("under-13"),
            Just("13-15"),
            Just("16-17"),
            Just("18+")
        ]),
        prop::option::of(prop_oneof![Just("US"), Just("DE"), Just("FR")]),
    )
        .prop_map(|(b, c)| SubjectFacts {
            age_band: b.and_then(AgeBand::parse),
            country: c.map(str::to_owned),
        })
}

proptest! {
    /// One purpose derived alone is that purpose's state among all of them.
    #[test]
    fn one_purpose_is_its_part_of_the_whole(raw in prop::collection::vec(arb_record(), 0..20), facts in arb_facts()) {
        let p = policy();
        let records = build(&p, &raw);
        let s = derive(&p, &facts, &records);
        for purpose in &p.purposes {
            let one = derive_one(&p, &facts, &records, &purpose.id);
            prop_assert_eq!(one.as_ref(), s.get(&purpose.id));
        }
    }

    /// A consent purpose is allowed only if the latest record about it is a grant.
    #[test]
    fn allowed_implies_latest_is_grant(raw in prop::collection::vec(arb_record(), 0..20), facts in arb_facts()) {
        let p = policy();
        let records = build(&p, &raw);
        let s = derive(&p, &facts, &records);
        for name in PURPOSES {
            if s.allows_name(name) {
                let last = records.iter().rev().find(|r| r.purpose.as_str() == name);
                prop_assert!(last.is_some_and(|r| r.decision == Decision::Granted));
            }
        }
    }

    /// A withdrawal appended to any history denies the purpose.
    #[test]
    fn withdrawal_always_stops_use(raw in prop::collection::vec(arb_record(), 0..20), facts in arb_facts(), which in 0..PURPOSES.len()) {
        let p = policy();
        let mut records = build(&p, &raw);
        records.push(rec(&p, PURPOSES[which], Decision::Withdrawn, Source::Api, false, T0 + 100 * DAY));
        prop_assert!(!derive(&p, &facts, &records).allows_name(PURPOSES[which]));
    }

    /// After a GPC opt-out, only an explicit, single-purpose, non-platform grant re-enables a
    /// sale/sharing purpose.
    #[test]
    fn gpc_survives_everything_but_an_explicit_grant(raw in prop::collection::vec(arb_record(), 0..20)) {
        let p = policy();
        let mut records = vec![rec(&p, "targeted_advertising", Decision::Denied, Source::Gpc, true, T0 - DAY)];
        records.extend(build(&p, &raw));
        let explicit = records.iter().any(|r| {
            r.purpose.as_str() == "targeted_advertising"
                && r.decision == Decision::Granted
                && !r.bulk
                && !matches!(r.source, Source::Gpc | Source::Tcf | Source::Gpp | Source::ConsentMode)
        });
        if derive(&p, &SubjectFacts::default(), &records).allows_name("targeted_advertising") {
            prop_assert!(explicit);
        }
    }

    /// Minors never get targeted advertising, and get consent purposes only from a parent.
    #[test]
    fn minors_are_protected(raw in prop::collection::vec(arb_record(), 0..20)) {
        let p = policy();
        let records = build(&p, &raw);
        let minor = SubjectFacts { age_band: AgeBand::parse("13-15"), country: Some("DE".into()) };
        let s = derive(&p, &minor, &records);
        prop_assert!(!s.allows_name("targeted_advertising"));
        for name in PURPOSES {
            if s.allows_name(name) {
                let last = records.iter().rev().find(|r| r.purpose.as_str() == name).unwrap();
                prop_assert_eq!(last.source, Source::Parental);
            }
        }
    }

    /// Consents given under another meaning of a purpose never count.
    #[test]
    fn stale_versions_never_count(raw in prop::collection::vec(arb_record(), 0..20)) {
        let p = policy();
        let mut records = build(&p, &raw);
        for r in &mut records {
            r.purpose_version = PurposeVersion::from_stored("0000000000000000".into());
        }
        let s = derive(&p, &SubjectFacts::default(), &records);
        for name in PURPOSES {
            prop_assert!(!s.allows_name(name));
        }
    }
}
