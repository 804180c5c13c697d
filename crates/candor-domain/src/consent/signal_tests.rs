//! The mapping of platform signals onto purposes, against the built-in policy's `[signals]`.

use super::*;

const NOW: Timestamp = Timestamp::from_millis(1_795_435_200_000);

fn tcf(purposes: &[u8], vendor_consent: bool) -> SignalDecisions {
    let mut s = SignalDecisions::new(Source::Tcf, "tc".to_owned());
    s.tcf = Some(TcfChoices {
        purpose_consents: purposes.iter().copied().collect(),
        vendor_consent,
    });
    s
}

fn names(ids: &[PurposeId]) -> Vec<&str> {
    ids.iter().map(PurposeId::as_str).collect()
}

fn effects(policy: &Policy, signal: &SignalDecisions) -> (Vec<String>, Vec<String>) {
    let e = signal_effects(policy, signal);
    let own = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
    (own(names(&e.granted)), own(names(&e.denied)))
}

#[test]
fn tcf_grants_a_purpose_only_when_every_mapped_tcf_purpose_has_consent() {
    let p = Policy::default_policy();
    let (granted, denied) = effects(&p, &tcf(&[1, 5, 6, 8, 9], false));
    assert_eq!(
        granted,
        ["analytics", "personalization", "session_personalization"]
    );
    assert_eq!(denied, ["targeted_advertising"]);
    // Purpose 6 missing: both personalization purposes are denied, analytics still granted.
    let (granted, denied) = effects(&p, &tcf(&[1, 5, 8, 9], false));
    assert_eq!(granted, ["analytics"]);
    assert_eq!(
        denied,
        [
            "personalization",
            "session_personalization",
            "targeted_advertising"
        ]
    );
    // Purposes the table does not list are never touched.
    let all: Vec<u8> = (1..=11).collect();
    let (granted, denied) = effects(&p, &tcf(&all, false));
    assert!(denied.is_empty());
    for untouched in ["email_marketing", "fairness_audit", "order_fulfilment"] {
        assert!(!granted.iter().any(|g| g == untouched), "{untouched}");
    }
}

#[test]
fn a_configured_vendor_id_also_needs_the_vendor_bit() {
    let source = crate::policy::DEFAULT_POLICY_TOML
        .replace("# tcf_vendor_id = 1234", "tcf_vendor_id = 1234");
    let p = Policy::parse(&source).unwrap();
    assert_eq!(p.signals.tcf_vendor_id, Some(1234));
    let all: Vec<u8> = (1..=11).collect();
    let (granted, denied) = effects(&p, &tcf(&all, false));
    assert!(granted.is_empty());
    assert_eq!(denied.len(), 4, "{denied:?}");
    let (granted, _) = effects(&p, &tcf(&all, true));
    assert_eq!(granted.len(), 4, "{granted:?}");
}

#[test]
fn consent_mode_grants_when_all_listed_keys_are_granted_and_denies_on_any_denial() {
    let p = Policy::default_policy();
    let cm = |pairs: &[(ConsentModeKey, bool)]| {
        let mut s = SignalDecisions::new(Source::ConsentMode, "{}".to_owned());
        s.consent_mode = pairs.iter().copied().collect();
        s
    };
    use ConsentModeKey::*;
    let (granted, denied) = effects(
        &p,
        &cm(&[
            (AnalyticsStorage, true),
            (AdStorage, true),
            (AdUserData, true),
            (AdPersonalization, true),
        ]),
    );
    assert_eq!(granted, ["analytics", "targeted_advertising"]);
    assert!(denied.is_empty());
    // One ad key missing: advertising is left alone, not granted.
    let (granted, denied) = effects(&p, &cm(&[(AdStorage, true), (AdUserData, true)]));
    assert!(granted.is_empty() && denied.is_empty());
    // One ad key denied is enough to deny.
    let (granted, denied) = effects(
        &p,
        &cm(&[(AnalyticsStorage, true), (AdPersonalization, false)]),
    );
    assert_eq!(granted, ["analytics"]);
    assert_eq!(denied, ["targeted_advertising"]);
}

#[test]
fn us_opt_outs_deny_by_the_purposes_own_flags() {
    let p = Policy::default_policy();
    for flags in [
        UsOptOuts {
            sale: true,
            ..UsOptOuts::default()
        },
        UsOptOuts {
            sharing: true,
            ..UsOptOuts::default()
        },
        UsOptOuts {
            targeted_advertising: true,
            ..UsOptOuts::default()
        },
    ] {
        let mut s = SignalDecisions::new(Source::Gpp, "gpp".to_owned());
        s.us_opt_outs = flags;
        assert_eq!(
            effects(&p, &s),
            (vec![], vec!["targeted_advertising".to_owned()])
        );
    }
    let mut s = SignalDecisions::new(Source::Gpp, "gpp".to_owned());
    s.us_opt_outs.sensitive_processing = true;
    assert_eq!(effects(&p, &s), (vec![], vec!["fairness_audit".to_owned()]));
    // Not opting out grants nothing.
    let s = SignalDecisions::new(Source::Gpp, "gpp".to_owned());
    assert_eq!(effects(&p, &s), (vec![], vec![]));
}

#[test]
fn within_one_signal_a_denial_wins() {
    let p = Policy::default_policy();
    let mut s = tcf(&(1..=11).collect::<Vec<u8>>(), true);
    s.source = Source::Gpp;
    s.us_opt_outs.sale = true;
    let (granted, denied) = effects(&p, &s);
    assert!(!granted.iter().any(|g| g == "targeted_advertising"));
    assert_eq!(denied, ["targeted_advertising"]);
}

#[test]
fn records_are_bulk_platform_records_and_a_repeated_signal_is_not_recorded_again() {
    let p = Policy::default_policy();
    let signal = tcf(&[1, 5, 6], false);
    let records = records_from_signal(&p, &[], &signal, NOW);
    assert!(
        records
            .iter()
            .all(|r| r.bulk && r.source == Source::Tcf && r.evidence == "tc" && r.at == NOW)
    );
    let decided: Vec<(&str, Decision)> = records
        .iter()
        .map(|r| (r.purpose.as_str(), r.decision))
        .collect();
    assert_eq!(
        decided,
        [
            ("personalization", Decision::Granted),
            ("session_personalization", Decision::Granted),
            ("analytics", Decision::Denied),
            ("targeted_advertising", Decision::Denied),
        ]
    );
    // The same signal again adds nothing, so an explicit withdrawal made in between stands.
    let mut ledger = records.clone();
    let personalization = p.purpose_by_name("personalization").unwrap();
    ledger.push(ConsentRecord {
        purpose: personalization.id.clone(),
        decision: Decision::Withdrawn,
        source: Source::Banner,
        bulk: false,
        evidence: String::new(),
        ..records[0].clone()
    });
    assert!(records_from_signal(&p, &ledger, &signal, NOW).is_empty());
    let state = derive(&p, &SubjectFacts::default(), &ledger);
    assert!(!state.allows(&personalization.id));
    // A new signal (a changed TC string) is recorded.
    let mut changed = signal.clone();
    changed.evidence = "tc2".to_owned();
    assert_eq!(records_from_signal(&p, &ledger, &changed, NOW).len(), 4);
}

#[test]
fn a_tcf_grant_does_not_lift_a_gpc_opt_out() {
    let p = Policy::default_policy();
    let mut ledger = gpc_opt_outs(&p, &[], NOW);
    let all: Vec<u8> = (1..=11).collect();
    ledger.extend(records_from_signal(&p, &ledger, &tcf(&all, true), NOW));
    let state = derive(&p, &SubjectFacts::default(), &ledger);
    let ads = state
        .get(&p.purpose_by_name("targeted_advertising").unwrap().id)
        .unwrap();
    assert_eq!(ads.reason.code(), "global_privacy_control");
    assert!(state.allows_name("personalization"));
}

#[test]
fn ordering_puts_every_denial_after_every_grant() {
    let p = Policy::default_policy();
    let grants = records_from_signal(&p, &[], &tcf(&[1, 8, 9], false), NOW);
    let mut cm = SignalDecisions::new(Source::ConsentMode, "{}".to_owned());
    cm.consent_mode = [(ConsentModeKey::AnalyticsStorage, false)].into();
    let denials = records_from_signal(&p, &[], &cm, NOW);
    // Consent Mode's denial came first, the TC string's grant second; the denial still wins.
    let mut batch: Vec<ConsentRecord> = denials.into_iter().chain(grants).collect();
    order_most_protective(&mut batch);
    let state = derive(&p, &SubjectFacts::default(), &batch);
    assert!(!state.allows_name("analytics"));
    let first_denial = batch
        .iter()
        .position(|r| r.decision != Decision::Granted)
        .unwrap();
    assert!(
        batch[first_denial..]
            .iter()
            .all(|r| r.decision != Decision::Granted)
    );
}
