//! GPP strings: header, US National, US Privacy and TCF EU v2 sections, unknown sections.
//!
//! Vectors and their expected values come from the IAB GPP libraries' tests (iabgpp-java
//! `HeaderV1Test`, `UsNatTest`; iabgpp-es `UsNat.test.ts`, `UspV1.test.ts`) and LiveRamp's
//! iabconsent fixtures, unless a comment says the values were read off the layout in the
//! GPP specification by hand.

use candor_signals::{
    Consent, GppSection, GppString, MspaMode, Notice, OptOut, OptOutSignal, UsNatLayout,
    UsNational, UspFlag,
};

fn gpp(input: &str) -> GppString {
    GppString::parse(input).unwrap_or_else(|e| panic!("{input} should decode: {e}"))
}

fn usnat(input: &str) -> UsNational {
    UsNational::parse(input).unwrap_or_else(|e| panic!("{input} should decode: {e}"))
}

#[test]
fn header_section_ids() {
    // iabgpp-java HeaderV1Test
    assert_eq!(gpp("DBAA").section_ids(), Vec::<u16>::new());
    assert_eq!(gpp("DBAA").version(), 1);
    // Sections may be listed with any content; unknown to the header decoder.
    assert_eq!(gpp("DBABMA~x").section_ids(), [2]);
    assert_eq!(gpp("DBACNYA~x~y").section_ids(), [2, 6]);
    // The specification's own examples, without the byte padding (30 bits in 5 characters).
    assert_eq!(gpp("DBABM~x").section_ids(), [2]);
    assert_eq!(gpp("DBACNY~x~y").section_ids(), [2, 6]);
    // LiveRamp iabconsent fixtures: a single id 7, a range 6..=7, and a range 7..=11.
    assert_eq!(gpp("DBABL~BVVqAAEABAA.QA").section_ids(), [7]);
    assert_eq!(gpp("DBABzw~1YNN~BVVqAAEABAA.QA").section_ids(), [6, 7]);
    assert_eq!(
        gpp("DBABrsA~BVVqAAEABAA~a~b~c~d").section_ids(),
        [7, 8, 9, 10, 11]
    );
}

#[test]
fn tcf_and_usp_sections_with_a_pre_v22_tc_string() {
    // The GPP specification's example string. Its TC string is policy version 2, so the
    // section is kept as invalid while the US Privacy section still counts.
    let parsed = gpp("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN");
    assert_eq!(parsed.section_ids(), [2, 6]);
    assert!(parsed.tcf_eu_v2().is_none());
    let invalid: Vec<(u16, &str)> = parsed
        .invalid_sections()
        .map(|(id, error)| (id, error.field()))
        .collect();
    assert_eq!(invalid, [(2, "tcfPolicyVersion")]);
    let usp = parsed.us_privacy().expect("uspv1 section");
    assert_eq!(
        (usp.notice(), usp.opt_out_sale(), usp.lspa_covered()),
        (UspFlag::Yes, UspFlag::No, UspFlag::No)
    );
    let signal = parsed.normalize();
    assert_eq!(signal.sale_opt_out, OptOutSignal::NotOptedOut);
    assert_eq!(signal.unused_gpp_sections, [2]);
    assert!(signal.tcf.is_none());
}

#[test]
fn tcf_section_of_policy_four_or_later_is_decoded() {
    // Written by the reference TCF encoder (see oracle/), policy version 5.
    let tc = "CPT56wdPYVZbNRet3ZCSZJFngyYyKAJCmwqIALugXhgFot_UAXMgnYcmZziYrG7N30uKvRJiKLBAAAAA.dh-XddemYfIA.QPaQBgBOAG3APcAjICqwHtAA";
    let parsed = gpp(&format!("DBABMA~{tc}"));
    let decoded = parsed.tcf_eu_v2().expect("tcfeuv2 section");
    assert_eq!(decoded.cmp_id(), 1118);
    assert_eq!(decoded.tcf_policy_version(), 5);
    assert_eq!(decoded.consent_language().as_str(), "CS");
    let signal = parsed.normalize();
    let tcf = signal.tcf.expect("tcf flags");
    assert_eq!(
        tcf.purpose_consents.ids().collect::<Vec<_>>(),
        [3, 6, 7, 11]
    );
    assert_eq!(
        tcf.special_feature_opt_ins.ids().collect::<Vec<_>>(),
        [2, 3, 4, 5, 11, 12]
    );
    assert!(tcf.publisher_purpose_consents.is_some());
}

#[test]
fn usnat_revised_layout_with_gpc() {
    // iabgpp-es UsNat.test.ts "should encode to BVVVkkkkkpFY.YA"
    let section = usnat("BVVVkkkkkpFY.YA");
    assert_eq!(section.layout(), UsNatLayout::Revised);
    assert_eq!(section.version(), 1);
    for notice in [
        section.sharing_notice(),
        section.sale_opt_out_notice(),
        section.sharing_opt_out_notice(),
        section.targeted_advertising_opt_out_notice(),
        section.sensitive_data_processing_opt_out_notice(),
        section.sensitive_data_limit_use_notice(),
    ] {
        assert_eq!(notice, Notice::Provided);
    }
    assert_eq!(section.sale_opt_out(), OptOut::OptedOut);
    assert_eq!(section.sharing_opt_out(), OptOut::OptedOut);
    assert_eq!(section.targeted_advertising_opt_out(), OptOut::OptedOut);
    use OptOut::{DidNotOptOut as D, NotApplicable as N, OptedOut as O};
    assert_eq!(
        section.sensitive_data_processing(),
        [D, O, N, D, O, N, D, O, N, D, O, N, D, O, N, D]
    );
    assert_eq!(
        section.known_child_sensitive_data_consents(),
        [Consent::Consent, Consent::NoConsent, Consent::NotApplicable]
    );
    assert_eq!(section.personal_data_consents(), Consent::NoConsent);
    assert_eq!(section.mspa_covered_transaction(), MspaMode::Yes);
    assert_eq!(section.mspa_opt_out_option_mode(), MspaMode::Yes);
    assert_eq!(section.mspa_service_provider_mode(), MspaMode::No);
    assert_eq!(section.gpc(), Some(true));

    // Without the sub-section there is no GPC value at all.
    assert_eq!(usnat("BVVVkkkkkpFY").gpc(), None);
}

#[test]
fn usnat_original_layout() {
    // iabgpp-java UsNatTest.testDecode1 (the 12/2 layout of the first release).
    let section = usnat("BVVVkkkklWA.YA");
    assert_eq!(section.layout(), UsNatLayout::Original);
    use OptOut::{DidNotOptOut as D, NotApplicable as N, OptedOut as O};
    assert_eq!(
        section.sensitive_data_processing(),
        [D, O, N, D, O, N, D, O, N, D, O, N]
    );
    assert_eq!(
        section.known_child_sensitive_data_consents(),
        [Consent::Consent, Consent::NoConsent]
    );
    assert_eq!(section.personal_data_consents(), Consent::NoConsent);
    assert_eq!(section.mspa_covered_transaction(), MspaMode::Yes);
    assert_eq!(section.mspa_opt_out_option_mode(), MspaMode::Yes);
    assert_eq!(section.mspa_service_provider_mode(), MspaMode::No);
    assert_eq!(section.gpc(), Some(true));
    // iabgpp-java UsNatTest.testDecodeWithGpcSegmentExcluded
    assert_eq!(usnat("BVVVkkkklWA").gpc(), None);
}

#[test]
fn usnat_in_gpp_with_usp() {
    // LiveRamp iabconsent fixture "DBABzw~1YNN~BVVqAAEABAA.QA".
    let parsed = gpp("DBABzw~1YNN~BVVqAAEABAA.QA");
    let section = parsed.us_national().expect("usnat section");
    assert_eq!(section.sharing_notice(), Notice::Provided);
    assert_eq!(section.sensitive_data_limit_use_notice(), Notice::Provided);
    assert_eq!(section.sale_opt_out(), OptOut::DidNotOptOut);
    assert_eq!(section.sharing_opt_out(), OptOut::DidNotOptOut);
    assert_eq!(section.targeted_advertising_opt_out(), OptOut::DidNotOptOut);
    let sensitive = section.sensitive_data_processing();
    assert_eq!(sensitive.len(), 12);
    for (index, value) in sensitive.iter().enumerate() {
        let expected = if index == 7 {
            OptOut::OptedOut
        } else {
            OptOut::NotApplicable
        };
        assert_eq!(*value, expected, "category {index}");
    }
    assert_eq!(
        section.known_child_sensitive_data_consents(),
        [Consent::NotApplicable; 2]
    );
    assert_eq!(section.personal_data_consents(), Consent::NoConsent);
    assert_eq!(section.mspa_covered_transaction(), MspaMode::NotApplicable);
    assert_eq!(section.gpc(), Some(false));

    let signal = parsed.normalize();
    assert_eq!(signal.sale_opt_out, OptOutSignal::NotOptedOut);
    assert_eq!(signal.sharing_opt_out, OptOutSignal::NotOptedOut);
    assert_eq!(signal.sensitive_processing_opt_out, OptOutSignal::OptedOut);
    assert_eq!(signal.gpc, OptOutSignal::NotSignalled);
    assert!(signal.unused_gpp_sections.is_empty());
}

#[test]
fn usnat_values_read_from_the_layout() {
    // Hand-decoded from the US National layout: 60 bits, version 1, so the 12/2 layout.
    let section = usnat("BVQqAAAACg");
    assert_eq!(section.layout(), UsNatLayout::Original);
    assert_eq!(
        section.sensitive_data_processing_opt_out_notice(),
        Notice::NotApplicable
    );
    assert_eq!(section.sale_opt_out(), OptOut::DidNotOptOut);
    assert_eq!(section.personal_data_consents(), Consent::Consent);
    assert_eq!(section.mspa_covered_transaction(), MspaMode::No);
}

#[test]
fn unknown_sections_are_kept_and_reported() {
    let parsed = gpp("DBABrsA~BVVqAAEABAA~BVoYYZoA~BVoYYYA~BVoYYQA~BVaGGGAA");
    assert!(parsed.us_national().is_some());
    let unknown: Vec<(u16, &str)> = parsed.unknown_sections().collect();
    assert_eq!(
        unknown,
        [
            (8, "BVoYYZoA"),
            (9, "BVoYYYA"),
            (10, "BVoYYQA"),
            (11, "BVaGGGAA")
        ]
    );
    assert!(matches!(
        parsed.sections()[1],
        GppSection::Unknown { id: 8, .. }
    ));
    assert_eq!(parsed.normalize().unused_gpp_sections, [8, 9, 10, 11]);
}

#[test]
fn invalid_usnat_is_reported_without_failing_the_string() {
    // Version 3 does not exist.
    let parsed = gpp("DBABL~DVVqAAEABAA");
    let errors: Vec<String> = parsed
        .invalid_sections()
        .map(|(_, e)| e.to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "GPP US National section rejected at field `Version`: version 3 is not supported (expected 1 or 2)"
        ]
    );
}
