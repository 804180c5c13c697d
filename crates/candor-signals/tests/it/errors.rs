//! Refusals: each malformed input gives one sentence naming the format and the field.

use candor_signals::{GppString, SIGNAL_LEN_MAX, TcString, UsNational};
use expect_test::{Expect, expect};

use crate::encoder::BitWriter;

fn check(result: Result<(), candor_signals::SignalError>, expected: Expect) {
    let actual = match result {
        Ok(()) => "decoded".to_owned(),
        Err(error) => error.to_string(),
    };
    expected.assert_eq(&actual);
}

fn tc(input: &str, expected: Expect) {
    check(TcString::parse(input).map(drop), expected);
}

fn gpp(input: &str, expected: Expect) {
    check(GppString::parse(input).map(drop), expected);
}

/// A valid v2.2 core segment up to and including `publisherCC`, for building broken tails.
fn core_prefix(policy_version: u64) -> BitWriter {
    let mut w = BitWriter::default();
    w.int(2, 6)
        .int(17_000_000_000, 36)
        .int(17_000_000_000, 36)
        .int(300, 12)
        .int(1, 12)
        .int(0, 6)
        .int(4, 6)
        .int(13, 6)
        .int(120, 12)
        .int(policy_version, 6)
        .bool(false)
        .bool(false)
        .int(0, 12)
        .int(0, 24)
        .int(0, 24)
        .bool(false)
        .int(0, 6)
        .int(0, 6);
    w
}

#[test]
fn tc_string_refusals() {
    tc(
        "",
        expect!["TC string rejected at field `tcString`: it is empty"],
    );
    tc(
        &"A".repeat(SIGNAL_LEN_MAX + 1),
        expect![
            "TC string rejected at field `tcString`: the input is 16385 bytes long, more than the limit of 16384 bytes"
        ],
    );
    tc(
        "CO*",
        expect!["TC string rejected at field `core`: character '*' at position 2 is not base64url"],
    );
    tc(
        "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",
        expect!["TC string rejected at field `version`: version 1 is not supported (expected 2)"],
    );
    tc(
        "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
        expect![
            "TC string rejected at field `tcfPolicyVersion`: policy version 2 is older than the minimum supported 4 (TCF v2.2)"
        ],
    );
    tc(
        "CPXxRfAPXxRfAAfKABENB",
        expect![
            "TC string rejected at field `vendorListVersion`: the input ends before the 12 bits of this field"
        ],
    );

    let mut range_backwards = core_prefix(4);
    range_backwards
        .int(10, 16)
        .bool(true)
        .int(1, 12)
        .bool(true)
        .int(9, 16)
        .int(3, 16);
    tc(
        &range_backwards.base64url(),
        expect![
            "TC string rejected at field `vendorConsents.endVendorId`: a range ends at 3, before its start 9"
        ],
    );

    let mut vendor_zero = core_prefix(4);
    vendor_zero
        .int(10, 16)
        .bool(true)
        .int(1, 12)
        .bool(false)
        .int(0, 16);
    tc(
        &vendor_zero.base64url(),
        expect![
            "TC string rejected at field `vendorConsents.startOrOnlyVendorId`: vendor id 0 is not a valid id"
        ],
    );

    let mut valid = core_prefix(5);
    valid
        .int(0, 16)
        .bool(false)
        .int(0, 16)
        .bool(false)
        .int(0, 12);
    let valid = valid.base64url();
    tc(&valid, expect!["decoded"]);
    tc(
        &format!("{valid}."),
        expect!["TC string rejected at field `segmentType`: it is empty"],
    );
    tc(
        &format!("{valid}.AA"),
        expect![
            "TC string rejected at field `segmentType`: segment type 0 is not one this format defines"
        ],
    );
    tc(
        &format!("{valid}.IAAA.IAAA"),
        expect![
            "TC string rejected at field `disclosedVendors`: this segment appears more than once"
        ],
    );
    tc(
        &format!("{valid}.cAAA"),
        expect![
            "TC string rejected at field `pubPurposesConsent`: the input ends before the 24 bits of this field"
        ],
    );
    tc(
        &format!("{valid}===="),
        expect![
            "TC string rejected at field `core`: character '=' at position 46 is not base64url"
        ],
    );

    let mut bad_restriction = core_prefix(4);
    bad_restriction
        .int(0, 16)
        .bool(false)
        .int(0, 16)
        .bool(false)
        .int(1, 12)
        .int(2, 6)
        .int(1, 2)
        .int(1, 12)
        .bool(true)
        .int(8, 16)
        .int(7, 16);
    tc(
        &bad_restriction.base64url(),
        expect![
            "TC string rejected at field `pubRestrictions.endVendorId`: a range ends at 7, before its start 8"
        ],
    );
}

#[test]
fn gpp_refusals() {
    gpp(
        "DBABMA",
        expect![
            "GPP string rejected at field `SectionIds`: the header lists 1 sections but the string carries 0"
        ],
    );
    gpp(
        "DBAA~CPXx",
        expect![
            "GPP string rejected at field `SectionIds`: the header lists 0 sections but the string carries 1"
        ],
    );
    gpp(
        "CBAA",
        expect![
            "GPP string rejected at field `Type`: segment type 2 is not one this format defines"
        ],
    );
    gpp(
        "DCAA",
        expect!["GPP string rejected at field `Version`: version 2 is not supported (expected 1)"],
    );
    gpp(
        "DBA",
        expect![
            "GPP string rejected at field `SectionIds`: the input ends before the 12 bits of this field"
        ],
    );
    gpp(
        "DBABrsA~a~b",
        expect![
            "GPP string rejected at field `SectionIds`: the header lists 5 sections but the string carries 2"
        ],
    );
    gpp(
        "~1YNN",
        expect!["GPP string rejected at field `header`: it is empty"],
    );
}

#[test]
fn usnat_refusals() {
    check(
        UsNational::parse("BVVVkkkk").map(drop),
        expect![
            "GPP US National section rejected at field `KnownChildSensitiveDataConsents`: the input ends before the 2 bits of this field"
        ],
    );
    check(
        UsNational::parse("B_").map(drop),
        expect![
            "GPP US National section rejected at field `SharingNotice`: value 3 is not allowed here (0, 1 or 2)"
        ],
    );
    check(
        UsNational::parse("BVVVkkkkkpFY.YA.YA").map(drop),
        expect![
            "GPP US National section rejected at field `SubsectionType`: this segment appears more than once"
        ],
    );
}
