//! US Privacy strings, Consent Mode, GPC and their normalized views.

use candor_signals::{
    ConsentMode, ConsentModeValue, ConsentSignal, GPC_WELL_KNOWN_JSON, GPC_WELL_KNOWN_LAST_UPDATE,
    GPC_WELL_KNOWN_PATH, NormalizedSignal, OptOutSignal, SignalKind, UsPrivacy, UspFlag,
    normalize_gpc, parse_sec_gpc,
};

#[test]
fn us_privacy_strings() {
    // iabgpp-es UspV1.test.ts
    let usp = UsPrivacy::parse("1NYN").expect("valid");
    assert_eq!(
        (
            usp.version(),
            usp.notice(),
            usp.opt_out_sale(),
            usp.lspa_covered()
        ),
        (1, UspFlag::No, UspFlag::Yes, UspFlag::No)
    );
    let usp = UsPrivacy::parse("1YNN").expect("valid");
    assert_eq!(
        (usp.notice(), usp.opt_out_sale(), usp.lspa_covered()),
        (UspFlag::Yes, UspFlag::No, UspFlag::No)
    );
    let usp = UsPrivacy::parse(" 1--- ").expect("valid");
    assert_eq!(usp.opt_out_sale(), UspFlag::NotApplicable);
    assert_eq!(
        UsPrivacy::parse("1yyn").expect("lower case").opt_out_sale(),
        UspFlag::Yes
    );

    assert_eq!(
        UsPrivacy::parse("2YNY").expect_err("version").field(),
        "Version"
    );
    assert_eq!(
        UsPrivacy::parse("1YXN").expect_err("letter").field(),
        "OptOutSale"
    );
    assert_eq!(
        UsPrivacy::parse("1YN").expect_err("length").field(),
        "uspString"
    );
    assert_eq!(
        UsPrivacy::parse("1YNNN").expect_err("length").field(),
        "uspString"
    );
}

#[test]
fn us_privacy_normalizes_to_a_sale_opt_out() {
    let signal = UsPrivacy::parse("1YYN").expect("valid").normalize();
    assert_eq!(signal.kind, SignalKind::Usp);
    assert_eq!(signal.sale_opt_out, OptOutSignal::OptedOut);
    assert_eq!(signal.sharing_opt_out, OptOutSignal::NotSignalled);
    assert_eq!(
        UsPrivacy::parse("1---").expect("valid").normalize(),
        NormalizedSignal::silent(SignalKind::Usp)
    );
}

#[test]
fn consent_mode_states() {
    let state = ConsentMode::parse(&[
        ("ad_storage", "granted"),
        ("analytics_storage", " DENIED "),
        ("ad_user_data", "denied"),
        ("functionality_storage", "whatever"),
    ])
    .expect("valid");
    assert_eq!(state.ad_storage(), Some(ConsentModeValue::Granted));
    assert_eq!(state.analytics_storage(), Some(ConsentModeValue::Denied));
    assert_eq!(state.ad_user_data(), Some(ConsentModeValue::Denied));
    assert_eq!(state.ad_personalization(), None);
    let signal = state.normalize();
    assert_eq!(signal.kind, SignalKind::ConsentMode);
    assert_eq!(signal.consent_mode, Some(state));

    let owned = vec![("ad_personalization".to_owned(), "granted".to_owned())];
    let state = ConsentMode::from_entries(owned).expect("valid");
    assert_eq!(state.ad_personalization(), Some(ConsentModeValue::Granted));
}

#[test]
fn consent_mode_refusals_name_the_key() {
    let error = ConsentMode::parse(&[("ad_storage", "yes")]).expect_err("bad value");
    assert_eq!(
        error.to_string(),
        "Consent Mode state rejected at field `ad_storage`: value \"yes\" is not allowed here (granted or denied)"
    );
    let error = ConsentMode::parse(&[("ad_user_data", "granted"), ("AD_USER_DATA", "denied")])
        .expect_err("repeated key");
    assert_eq!(error.field(), "ad_user_data");
    let many: Vec<(&str, &str)> = (0..65).map(|_| ("other", "granted")).collect();
    assert_eq!(
        ConsentMode::parse(&many).expect_err("too many").field(),
        "consentMode"
    );
}

#[test]
fn sec_gpc_header() {
    assert!(parse_sec_gpc(Some("1")));
    assert!(parse_sec_gpc(Some(" 1\t")));
    for value in ["0", "true", "11", "", " ", "1 1", "yes"] {
        assert!(!parse_sec_gpc(Some(value)), "{value:?}");
    }
    assert!(!parse_sec_gpc(None));
    assert_eq!(normalize_gpc(true).gpc, OptOutSignal::OptedOut);
    assert_eq!(
        normalize_gpc(false),
        NormalizedSignal::silent(SignalKind::Gpc)
    );
    // GPC is reported as itself; whether it also means a sale opt-out is the policy's call.
    assert_eq!(normalize_gpc(true).sale_opt_out, OptOutSignal::NotSignalled);
}

#[test]
fn gpc_well_known_resource() {
    assert_eq!(GPC_WELL_KNOWN_PATH, "/.well-known/gpc.json");
    assert_eq!(
        GPC_WELL_KNOWN_JSON,
        r#"{"gpc": true, "lastUpdate": "2026-11-23"}"#
    );
    assert!(GPC_WELL_KNOWN_JSON.contains(GPC_WELL_KNOWN_LAST_UPDATE));
}

#[test]
fn combining_answers_keeps_the_most_protective() {
    use OptOutSignal::*;
    assert_eq!(NotSignalled.most_protective(NotOptedOut), NotOptedOut);
    assert_eq!(NotOptedOut.most_protective(OptedOut), OptedOut);
    assert_eq!(OptedOut.most_protective(NotSignalled), OptedOut);
    assert_eq!(
        ConsentSignal::Granted.most_protective(ConsentSignal::Refused),
        ConsentSignal::Refused
    );
    assert_eq!(
        ConsentSignal::NotSignalled.most_protective(ConsentSignal::Granted),
        ConsentSignal::Granted
    );
}
