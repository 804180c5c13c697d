//! The oracle test: TC strings written by the reference TCF encoder must decode to exactly
//! the model that produced them, field by field.
//!
//! The cases come from `oracle/run.sh OUTPUT_PATH`; this test reads the path from
//! `CANDOR_TCF_ORACLE_CASES` and does nothing else when it is unset (CI sets it).

use std::collections::BTreeSet;

use candor_signals::{IdFlags, TcString, VendorSet};
use serde_json::Value;

const CASES_ENV: &str = "CANDOR_TCF_ORACLE_CASES";

fn id_list(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn flag_ids(flags: IdFlags) -> Vec<u64> {
    flags.ids().map(u64::from).collect()
}

fn vendor_ids(set: &VendorSet) -> Vec<u64> {
    set.ids().map(u64::from).collect()
}

/// Compares every field of one case; returns the names of the fields that disagree.
fn mismatches(tc: &TcString, expected: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut check = |field: &str, actual: Value| {
        if expected[field] != actual {
            wrong.push(format!(
                "{field}: expected {}, decoded {actual}",
                expected[field]
            ));
        }
    };
    check("version", Value::from(tc.version()));
    check("created", Value::from(tc.created_ms()));
    check("lastUpdated", Value::from(tc.last_updated_ms()));
    check("cmpId", Value::from(tc.cmp_id()));
    check("cmpVersion", Value::from(tc.cmp_version()));
    check("consentScreen", Value::from(tc.consent_screen()));
    check(
        "consentLanguage",
        Value::from(tc.consent_language().as_str()),
    );
    check("vendorListVersion", Value::from(tc.vendor_list_version()));
    check("tcfPolicyVersion", Value::from(tc.tcf_policy_version()));
    check("isServiceSpecific", Value::from(tc.is_service_specific()));
    check(
        "useNonStandardTexts",
        Value::from(tc.use_non_standard_texts()),
    );
    check(
        "specialFeatureOptins",
        Value::from(flag_ids(tc.special_feature_opt_ins())),
    );
    check(
        "purposeConsents",
        Value::from(flag_ids(tc.purposes_consent())),
    );
    check(
        "purposeLegitimateInterests",
        Value::from(flag_ids(tc.purposes_li_transparency())),
    );
    check(
        "purposeOneTreatment",
        Value::from(tc.purpose_one_treatment()),
    );
    check(
        "publisherCountryCode",
        Value::from(tc.publisher_cc().as_str()),
    );
    check(
        "vendorConsents",
        Value::from(vendor_ids(tc.vendor_consents())),
    );
    check(
        "vendorLegitimateInterests",
        Value::from(vendor_ids(tc.vendor_legitimate_interests())),
    );

    let mut restrictions: Vec<Value> = tc
        .publisher_restrictions()
        .iter()
        .map(|r| {
            let vendors: BTreeSet<u64> = r.vendor_ids().map(u64::from).collect();
            serde_json::json!({
                "purposeId": r.purpose_id(),
                "restrictionType": r.restriction_type().code(),
                "vendors": vendors.into_iter().collect::<Vec<_>>(),
            })
        })
        .collect();
    restrictions.sort_by_key(|r| (r["purposeId"].as_u64(), r["restrictionType"].as_u64()));
    check("publisherRestrictions", Value::from(restrictions));

    check(
        "vendorsDisclosed",
        tc.disclosed_vendors().map(vendor_ids).into(),
    );
    check(
        "vendorsAllowed",
        tc.allowed_vendors().map(vendor_ids).into(),
    );
    let publisher = tc.publisher_tc().map(|p| {
        serde_json::json!({
            "publisherConsents": flag_ids(p.purposes_consent()),
            "publisherLegitimateInterests": flag_ids(p.purposes_li_transparency()),
            "numCustomPurposes": p.num_custom_purposes(),
            "publisherCustomConsents": flag_ids(p.custom_purposes_consent()),
            "publisherCustomLegitimateInterests": flag_ids(p.custom_purposes_li_transparency()),
        })
    });
    check("publisherTC", publisher.into());

    // Spot-check the query helpers against the same expectations.
    let consents = id_list(&expected["vendorConsents"]);
    for id in [1u16, 2, 3, 50, 500, 1000, 2500] {
        if tc.vendor_consent(id) != consents.contains(&u64::from(id)) {
            wrong.push(format!("vendor_consent({id})"));
        }
    }
    let purposes = id_list(&expected["purposeConsents"]);
    for n in 1..=24u8 {
        if tc.purpose_consent(n) != purposes.contains(&u64::from(n)) {
            wrong.push(format!("purpose_consent({n})"));
        }
    }
    wrong
}

#[test]
fn reference_encoder_cases_decode_field_for_field() {
    let Some(path) = std::env::var_os(CASES_ENV) else {
        println!(
            "{CASES_ENV} is not set: skipping the TCF oracle (generate cases with \
             crates/candor-signals/oracle/run.sh PATH and set {CASES_ENV}=PATH)"
        );
        return;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.to_string_lossy()));
    let mut failures = Vec::new();
    let mut count = 0usize;
    for (line_number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        count += 1;
        let case: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {}: not JSON: {e}", line_number + 1));
        let tc_string = case["tc"].as_str().unwrap_or_default();
        match TcString::parse(tc_string) {
            Ok(tc) => {
                let wrong = mismatches(&tc, &case["expected"]);
                if !wrong.is_empty() {
                    failures.push(format!(
                        "line {}: {tc_string}: {}",
                        line_number + 1,
                        wrong.join("; ")
                    ));
                }
            }
            Err(error) => failures.push(format!("line {}: {tc_string}: {error}", line_number + 1)),
        }
    }
    assert!(count > 0, "{} holds no cases", path.to_string_lossy());
    assert!(
        failures.is_empty(),
        "{} of {count} oracle cases disagree; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!("{count} TCF oracle cases agree on every field");
}
