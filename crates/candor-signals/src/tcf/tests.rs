//! Published TC strings and their published decodings.
//!
//! Sources of the vectors (strings and expected values only):
//! - the IAB TCF Java decoder's `TCStringV2Test` (iabtcf-java),
//! - the IAB GPP JavaScript library's `TcfEuV2.test.ts` (iabgpp-es).
//!
//! Every one of them predates TCF v2.2 (policy version 2), which `TcString::parse` refuses;
//! these tests lower the floor through `parse_with_policy_min` to check the layout, and
//! `published_pre_v22_strings_are_refused_for_their_policy` checks the refusal.

use super::*;

fn decode(input: &str) -> TcString {
    match TcString::parse_with_policy_min(input, 0) {
        Ok(tc) => tc,
        Err(error) => panic!("{input} should decode: {error}"),
    }
}

fn ids(set: &VendorSet) -> Vec<u16> {
    set.ids().collect()
}

fn flags(flags: IdFlags) -> Vec<u8> {
    flags.ids().collect()
}

/// Spells a bit string as base64url, zero-padded to whole characters (test vectors in the
/// Java suite are given as bit strings).
fn base64url_from_bits(bits: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut padded = bits.to_owned();
    while padded.len() % 6 != 0 {
        padded.push('0');
    }
    padded
        .as_bytes()
        .chunks(6)
        .map(|chunk| {
            let value = chunk
                .iter()
                .fold(0usize, |acc, bit| acc * 2 + usize::from(*bit == b'1'));
            char::from(ALPHABET[value])
        })
        .collect()
}

const JAVA_CORE: &str = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA";

#[test]
fn java_core_fields() {
    // iabtcf-java TCStringV2Test.testCanConstructTCModelFromBase64String
    let tc = decode(JAVA_CORE);
    assert_eq!(tc.version(), 2);
    assert_eq!(tc.created_ms(), 1_580_058_060_000); // 2020-01-26T17:01:00Z
    assert_eq!(tc.last_updated_ms(), 1_612_285_260_000); // 2021-02-02T17:01:00Z
    assert_eq!(tc.cmp_id(), 675);
    assert_eq!(tc.cmp_version(), 2);
    assert_eq!(tc.consent_screen(), 1);
    assert_eq!(tc.vendor_list_version(), 15);
    assert_eq!(tc.tcf_policy_version(), 2);
    assert_eq!(tc.consent_language().as_str(), "EN");
    assert_eq!(tc.publisher_cc().as_str(), "AA");
    assert!(!tc.is_service_specific());
    assert!(tc.purpose_one_treatment());
    assert!(!tc.use_non_standard_texts());
    assert_eq!(flags(tc.special_feature_opt_ins()), [1]);
    assert_eq!(flags(tc.purposes_consent()), [2, 10]);
    assert_eq!(flags(tc.purposes_li_transparency()), [2, 9]);
    assert!(tc.special_feature(1) && !tc.special_feature(2) && !tc.special_feature(0));
    assert!(tc.purpose_consent(2) && tc.purpose_consent(10) && !tc.purpose_consent(1));
    assert!(tc.purpose_li(9) && !tc.purpose_li(10) && !tc.purpose_li(25));
    assert!(tc.disclosed_vendors().is_none());
    assert!(tc.publisher_tc().is_none());
}

const JAVA_BITFIELD_CORE: &str =
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA";

#[test]
fn java_bitfield_vendors() {
    // iabtcf-java TCStringV2Test.testConstructConsentsFromBitFields
    let tc = decode(JAVA_BITFIELD_CORE);
    assert_eq!(flags(tc.purposes_consent()), [3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(ids(tc.vendor_consents()), [23, 37, 47, 48, 53, 65, 98]);
    assert_eq!(
        ids(tc.vendor_legitimate_interests()),
        [37, 47, 48, 53, 65, 98, 129]
    );
    assert_eq!(tc.vendor_consents().encoding(), VendorEncoding::BitField);
    assert!(tc.vendor_consent(23) && !tc.vendor_consent(24) && !tc.vendor_consent(0));
    assert!(tc.vendor_li(129) && !tc.vendor_li(23));
}

#[test]
fn java_disclosed_allowed_and_publisher_segments() {
    // iabtcf-java TCStringV2Test.testCanParseDisclosedAndAllowedVendors / testCanParseAllParts
    let with_vendors = format!("{JAVA_BITFIELD_CORE}.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA");
    let tc = decode(&with_vendors);
    assert_eq!(
        tc.allowed_vendors().map(ids),
        Some(vec![12, 23, 37, 47, 48, 53])
    );
    assert_eq!(
        tc.disclosed_vendors().map(ids),
        Some(vec![23, 37, 47, 48, 53, 65, 98, 129])
    );

    // The last segment carries standard base64 padding, which must be tolerated.
    let all_parts = format!("{with_vendors}.cAAAAAAAITg=");
    let tc = decode(&all_parts);
    let publisher = tc.publisher_tc().expect("publisher TC segment");
    assert_eq!(publisher.purposes_consent().len(), 1);
}

#[test]
fn java_range_encoded_vendors() {
    // iabtcf-java TCStringV2Test.testCanParseRangeEncodedVendorLegitimateInterests
    let tc = decode("COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA");
    assert_eq!(ids(tc.vendor_legitimate_interests()), [128]);
    assert_eq!(
        tc.vendor_legitimate_interests().encoding(),
        VendorEncoding::Range
    );

    // iabtcf-java TCStringV2Test.testRange
    let disclosed = "IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw";
    let two = decode(&format!(
        "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA.{disclosed}"
    ));
    assert_eq!(ids(two.vendor_consents()), [702, 703]);
    let one = decode(&format!(
        "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAQFfgUbABAUaAAA.{disclosed}"
    ));
    assert_eq!(ids(one.vendor_consents()), [703]);
}

#[test]
fn java_purposes_consent() {
    // iabtcf-java TCStringV2Test.testPurposesConsent
    let tc = decode("COwxsONOwxsONKpAAAENAdCAAMAAAAAAAAAAAAAAAAAA");
    assert!(tc.purpose_consent(1) && tc.purpose_consent(2));
}

#[test]
fn java_publisher_restrictions() {
    // iabtcf-java TCStringV2Test.testPublisherRestrictions: the vector is given as bits.
    let bits = concat!(
        "0000100011101011100",
        "1000000000000001010",
        "0000001110101110010",
        "0000000000000101000",
        "0000110011111000000",
        "0000000000000000100",
        "0011010000000011110",
        "0001000000000000000",
        "0000000000000000000",
        "0000000000000000000",
        "0000000000000000000",
        "0000000000000000000",
        "0000000000000000000",
        "000000000011",
        "000001",
        "01",
        "000000000000",
        "000010",
        "00",
        "000000000000",
        "000011",
        "10",
        "000000000000",
        "0",
    );
    let tc = decode(&base64url_from_bits(bits));
    let restrictions: Vec<(u8, RestrictionType, usize)> = tc
        .publisher_restrictions()
        .iter()
        .map(|r| {
            (
                r.purpose_id(),
                r.restriction_type(),
                r.vendor_ranges().len(),
            )
        })
        .collect();
    assert_eq!(
        restrictions,
        [
            (1, RestrictionType::RequireConsent, 0),
            (2, RestrictionType::NotAllowed, 0),
            (3, RestrictionType::RequireLegitimateInterest, 0),
        ]
    );
}

#[test]
fn java_publisher_purposes() {
    // iabtcf-java TCStringV2Test.testPublisherPurposes: the segment is given as bits.
    let segment = base64url_from_bits(concat!(
        "011",
        "100000000000000000000000",
        "000000000000000000000001",
        "000010",
        "01",
        "11",
        "000",
    ));
    let tc = decode(&format!("{JAVA_CORE}.{segment}"));
    let publisher = tc.publisher_tc().expect("publisher TC segment");
    assert_eq!(flags(publisher.purposes_consent()), [1]);
    assert_eq!(flags(publisher.purposes_li_transparency()), [24]);
    assert_eq!(publisher.num_custom_purposes(), 2);
    assert_eq!(flags(publisher.custom_purposes_consent()), [2]);
    assert_eq!(flags(publisher.custom_purposes_li_transparency()), [1, 2]);
}

#[test]
fn gpp_es_service_specific() {
    // iabgpp-es TcfEuV2.test.ts "decode service specific"
    let tc = decode("CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA");
    assert_eq!(tc.created_ms(), 1_640_995_200_000); // 2022-01-01T00:00:00Z
    assert_eq!(tc.last_updated_ms(), 1_640_995_200_000);
    assert_eq!(
        (tc.cmp_id(), tc.cmp_version(), tc.consent_screen()),
        (0, 0, 0)
    );
    assert_eq!(tc.consent_language().as_str(), "EN");
    assert_eq!((tc.vendor_list_version(), tc.tcf_policy_version()), (0, 2));
    assert!(tc.is_service_specific() && !tc.use_non_standard_texts());
    assert!(tc.special_feature_opt_ins().is_empty());
    assert!(tc.purposes_consent().is_empty() && tc.purposes_li_transparency().is_empty());
    assert!(!tc.purpose_one_treatment());
    assert_eq!(tc.publisher_cc().as_str(), "AA");
    assert!(tc.vendor_consents().is_empty() && tc.vendor_legitimate_interests().is_empty());
    assert!(tc.publisher_restrictions().is_empty());
    let publisher = tc.publisher_tc().expect("publisher TC segment");
    assert!(publisher.purposes_consent().is_empty());
    assert!(publisher.purposes_li_transparency().is_empty());
    assert_eq!(publisher.num_custom_purposes(), 0);
}

#[test]
fn gpp_es_allowed_and_disclosed_vendors() {
    // iabgpp-es TcfEuV2.test.ts "decode"
    let tc = decode(concat!(
        "CPcqBNJPcqBNJNwAAAENAwCAAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.",
        "QGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g.",
        "IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g",
    ));
    assert_eq!(
        (tc.cmp_id(), tc.cmp_version(), tc.consent_screen()),
        (880, 0, 0)
    );
    assert_eq!(tc.consent_language().as_str(), "EN");
    assert_eq!((tc.vendor_list_version(), tc.tcf_policy_version()), (48, 2));
    assert!(!tc.is_service_specific() && !tc.use_non_standard_texts());
    assert!(!tc.purpose_one_treatment());
    assert_eq!(tc.publisher_cc().as_str(), "AA");
    for set in [tc.allowed_vendors(), tc.disclosed_vendors()] {
        let vendors = ids(set.expect("segment present"));
        assert_eq!(vendors.len(), 434);
        assert_eq!(vendors[..10], [1, 2, 4, 6, 8, 10, 11, 12, 13, 14]);
        assert_eq!(
            vendors[vendors.len() - 9..],
            [782, 783, 784, 785, 786, 788, 789, 790, 791]
        );
    }
}

#[test]
fn gpp_es_large_vendor_sections() {
    // iabgpp-es TcfEuV2.test.ts "decode 2"
    let tc = decode(
        "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W\
         _LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_\
         d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDV\
         uIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIg\
         EAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgAC\
         AsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA",
    );
    assert_eq!(
        (tc.cmp_id(), tc.cmp_version(), tc.consent_screen()),
        (14, 2, 1)
    );
    assert_eq!(tc.consent_language().as_str(), "EN");
    assert_eq!(
        (tc.vendor_list_version(), tc.tcf_policy_version()),
        (174, 2)
    );
    assert!(tc.is_service_specific() && !tc.use_non_standard_texts());
    assert_eq!(flags(tc.special_feature_opt_ins()), [1]);
    assert_eq!(
        flags(tc.purposes_consent()),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(flags(tc.purposes_li_transparency()), [2, 6, 7, 8, 9, 10]);
    assert!(!tc.purpose_one_treatment());
    assert_eq!(tc.publisher_cc().as_str(), "US");
    assert_eq!(tc.vendor_consents().len(), 772);
    assert_eq!(tc.vendor_legitimate_interests().len(), 280);
}

#[test]
fn published_pre_v22_strings_are_refused_for_their_policy() {
    let error = TcString::parse(JAVA_CORE).expect_err("policy version 2 predates TCF v2.2");
    assert_eq!(error.field(), "tcfPolicyVersion");
    assert_eq!(
        error.to_string(),
        "TC string rejected at field `tcfPolicyVersion`: policy version 2 is older than the \
         minimum supported 4 (TCF v2.2)"
    );
}
