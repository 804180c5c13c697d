//! Property tests: decoders are total (no panics, errors name a field), and the TC string
//! decoder reads back whatever the test encoder writes.

use std::collections::BTreeSet;

use candor_signals::{
    ConsentMode, GppString, RestrictionType, SignalError, TcString, UsNational, UsPrivacy,
};
use proptest::prelude::*;

use crate::encoder::{self, Publisher, Restriction, TcModel, Vendors};

fn assert_clear(result: Result<(), SignalError>) {
    if let Err(error) = result {
        assert!(!error.field().is_empty());
        let message = error.to_string();
        assert!(message.contains(error.field()), "{message}");
    }
}

fn decode_everything(input: &str) {
    assert_clear(TcString::parse(input).map(drop));
    assert_clear(GppString::parse(input).map(|gpp| drop(gpp.normalize())));
    assert_clear(UsNational::parse(input).map(drop));
    assert_clear(UsPrivacy::parse(input).map(drop));
}

/// Strings drawn from the base64url alphabet plus the separators, so that most of them get
/// past the character checks and exercise the bit-level decoding.
fn wire_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9_\\-+/=.~]{0,300}").expect("valid regex")
}

fn vendors() -> impl Strategy<Value = Vendors> {
    let sparse = proptest::collection::btree_set(1u16..=u16::MAX, 0..20);
    let dense = proptest::collection::btree_set(1u16..=600, 0..300);
    let runs = proptest::collection::vec((1u16..=5000, 1u16..=300), 0..6).prop_map(|runs| {
        runs.into_iter()
            .flat_map(|(start, len)| start..=start.saturating_add(len))
            .collect::<BTreeSet<u16>>()
    });
    (prop_oneof![sparse, dense, runs], any::<bool>())
        // A bitfield up to a large id would outgrow SIGNAL_LEN_MAX; CMPs use ranges there.
        .prop_map(|(ids, as_ranges)| {
            let large = ids.iter().next_back().is_some_and(|&max| max > 4000);
            Vendors {
                ids,
                as_ranges: as_ranges || large,
            }
        })
}

fn restriction() -> impl Strategy<Value = Restriction> {
    (
        0u8..64,
        0u8..4,
        proptest::collection::vec((1u16..=u16::MAX, 0u16..500), 0..8),
    )
        .prop_map(|(purpose_id, restriction_type, spans)| Restriction {
            purpose_id,
            restriction_type,
            ranges: spans
                .into_iter()
                .map(|(start, len)| (start, start.saturating_add(len)))
                .collect(),
        })
}

fn publisher() -> impl Strategy<Value = Publisher> {
    (
        0u32..1 << 24,
        0u32..1 << 24,
        0u8..64,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(consents, legitimate_interests, num_custom, a, b)| {
            let mask = if num_custom == 0 {
                0
            } else {
                u64::MAX >> (64 - u32::from(num_custom))
            };
            Publisher {
                consents,
                legitimate_interests,
                num_custom,
                custom_consents: a & mask,
                custom_legitimate_interests: b & mask,
            }
        })
}

prop_compose! {
    fn tc_model()(
        created_ds in 0u64..1 << 36,
        last_updated_ds in 0u64..1 << 36,
        cmp_id in 0u16..4096,
        cmp_version in 0u16..4096,
        consent_screen in 0u8..64,
        language in (0u8..26, 0u8..26),
        vendor_list_version in 0u16..4096,
        policy_version in 4u8..64,
        flags in any::<(bool, bool, bool)>(),
        special_features in 0u16..4096,
        purposes_consent in 0u32..1 << 24,
        purposes_li in 0u32..1 << 24,
        country in (0u8..26, 0u8..26),
        vendor_consents in vendors(),
        vendor_li in vendors(),
        restrictions in proptest::collection::vec(restriction(), 0..4),
        disclosed in proptest::option::of(vendors()),
        allowed in proptest::option::of(vendors()),
        publisher in proptest::option::of(publisher()),
    ) -> TcModel {
        TcModel {
            created_ds,
            last_updated_ds,
            cmp_id,
            cmp_version,
            consent_screen,
            language: [language.0, language.1],
            vendor_list_version,
            policy_version,
            is_service_specific: flags.0,
            use_non_standard_texts: flags.1,
            special_features,
            purposes_consent,
            purposes_li,
            purpose_one_treatment: flags.2,
            country: [country.0, country.1],
            vendor_consents,
            vendor_li,
            restrictions,
            disclosed,
            allowed,
            publisher,
        }
    }
}

fn letters(code: [u8; 2]) -> String {
    code.iter().map(|c| char::from(b'A' + c)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        decode_everything(&input);
    }

    #[test]
    fn wire_like_text_never_panics(input in wire_like()) {
        decode_everything(&input);
    }

    #[test]
    fn arbitrary_consent_mode_pairs_never_panic(
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..80)
    ) {
        assert_clear(ConsentMode::from_entries(pairs).map(drop));
    }

    #[test]
    fn damaged_tc_strings_never_panic(model in tc_model(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>()) {
        let encoded = encoder::encode(&model);
        let truncated = &encoded[..cut.index(encoded.len() + 1)];
        decode_everything(truncated);
        let mut bytes = encoded.clone().into_bytes();
        let position = flip.index(bytes.len());
        bytes[position] = if bytes[position] == b'A' { b'_' } else { b'A' };
        decode_everything(&String::from_utf8(bytes).expect("ascii"));
    }

    #[test]
    fn tc_strings_round_trip(model in tc_model()) {
        let encoded = encoder::encode(&model);
        let tc = TcString::parse(&encoded)
            .map_err(|e| TestCaseError::fail(format!("{encoded}: {e}")))?;
        prop_assert_eq!(tc.created_ms(), model.created_ds as i64 * 100);
        prop_assert_eq!(tc.last_updated_ms(), model.last_updated_ds as i64 * 100);
        prop_assert_eq!(tc.cmp_id(), model.cmp_id);
        prop_assert_eq!(tc.cmp_version(), model.cmp_version);
        prop_assert_eq!(tc.consent_screen(), model.consent_screen);
        prop_assert_eq!(tc.consent_language().to_string(), letters(model.language));
        prop_assert_eq!(tc.vendor_list_version(), model.vendor_list_version);
        prop_assert_eq!(tc.tcf_policy_version(), model.policy_version);
        prop_assert_eq!(tc.is_service_specific(), model.is_service_specific);
        prop_assert_eq!(tc.use_non_standard_texts(), model.use_non_standard_texts);
        prop_assert_eq!(
            tc.special_feature_opt_ins().ids().collect::<Vec<_>>(),
            encoder::field_ids(u64::from(model.special_features), 12)
        );
        prop_assert_eq!(
            tc.purposes_consent().ids().collect::<Vec<_>>(),
            encoder::field_ids(u64::from(model.purposes_consent), 24)
        );
        prop_assert_eq!(
            tc.purposes_li_transparency().ids().collect::<Vec<_>>(),
            encoder::field_ids(u64::from(model.purposes_li), 24)
        );
        prop_assert_eq!(tc.purpose_one_treatment(), model.purpose_one_treatment);
        prop_assert_eq!(tc.publisher_cc().to_string(), letters(model.country));
        prop_assert_eq!(
            tc.vendor_consents().ids().collect::<BTreeSet<_>>(),
            model.vendor_consents.ids.clone()
        );
        prop_assert_eq!(
            tc.vendor_legitimate_interests().ids().collect::<BTreeSet<_>>(),
            model.vendor_li.ids.clone()
        );
        for id in [1u16, 2, 100, 600, 5000, u16::MAX] {
            prop_assert_eq!(tc.vendor_consent(id), model.vendor_consents.ids.contains(&id));
        }
        prop_assert_eq!(tc.publisher_restrictions().len(), model.restrictions.len());
        for (decoded, expected) in tc.publisher_restrictions().iter().zip(&model.restrictions) {
            prop_assert_eq!(decoded.purpose_id(), expected.purpose_id);
            let code = decoded.restriction_type().code();
            prop_assert_eq!(code, expected.restriction_type);
            prop_assert_eq!(
                decoded.vendor_ranges().iter().map(|r| (*r.start(), *r.end())).collect::<Vec<_>>(),
                expected.ranges.clone()
            );
            if decoded.restriction_type() == RestrictionType::NotAllowed {
                prop_assert_eq!(code, 0);
            }
        }
        prop_assert_eq!(
            tc.disclosed_vendors().map(|v| v.ids().collect::<BTreeSet<_>>()),
            model.disclosed.as_ref().map(|v| v.ids.clone())
        );
        prop_assert_eq!(
            tc.allowed_vendors().map(|v| v.ids().collect::<BTreeSet<_>>()),
            model.allowed.as_ref().map(|v| v.ids.clone())
        );
        prop_assert_eq!(tc.publisher_tc().is_some(), model.publisher.is_some());
        if let (Some(decoded), Some(expected)) = (tc.publisher_tc(), &model.publisher) {
            prop_assert_eq!(
                decoded.purposes_consent().ids().collect::<Vec<_>>(),
                encoder::field_ids(u64::from(expected.consents), 24)
            );
            prop_assert_eq!(
                decoded.purposes_li_transparency().ids().collect::<Vec<_>>(),
                encoder::field_ids(u64::from(expected.legitimate_interests), 24)
            );
            prop_assert_eq!(decoded.num_custom_purposes(), expected.num_custom);
            prop_assert_eq!(
                decoded.custom_purposes_consent().ids().collect::<Vec<_>>(),
                encoder::field_ids(expected.custom_consents, expected.num_custom)
            );
            prop_assert_eq!(
                decoded.custom_purposes_li_transparency().ids().collect::<Vec<_>>(),
                encoder::field_ids(expected.custom_legitimate_interests, expected.num_custom)
            );
        }
    }
}
