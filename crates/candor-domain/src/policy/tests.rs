use expect_test::expect;

use super::*;

fn errors(src: &str) -> String {
    match Policy::parse(src) {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = r#"
[[purposes]]
id = "analytics"
text = "Count visits."
legal_basis = "consent"
categories = ["browsing"]
retention_days = 30
"#;

#[test]
fn default_policy_is_valid_and_complete() {
    let p = Policy::default_policy();
    for id in [
        "analytics",
        "personalization",
        "email_marketing",
        "targeted_advertising",
        "fairness_audit",
    ] {
        assert!(p.purpose_by_name(id).is_some(), "missing purpose {id}");
    }
    for e in [
        "Product Viewed",
        "Product Added",
        "Order Completed",
        "Products Searched",
        "Page Viewed",
    ] {
        assert!(p.event_type(e).is_some(), "missing event type {e}");
    }
    let viewed = p.event_type("Product Viewed").unwrap();
    assert!(viewed.properties.contains_key("product_id"));
    assert!(viewed.properties.contains_key("category"));
    assert!(viewed.properties.contains_key("price"));
    assert_eq!(p.jurisdictions.age_of_consent(Some("US")), 13);
    assert_eq!(p.jurisdictions.age_of_consent(Some("de")), 16);
    assert_eq!(p.jurisdictions.age_of_consent(None), 16);
    assert!(p.restricted_for(Audience::Minors).any(|c| c == "alcohol"));
    assert!(
        p.purpose_by_name("targeted_advertising")
            .unwrap()
            .honours_gpc()
    );
    assert_eq!(p.k_anonymity, 10);
}

#[test]
fn minimal_policy_parses() {
    assert_eq!(errors(MINIMAL), "ok");
}

#[test]
fn unknown_category_is_reported_with_its_line() {
    let src = MINIMAL.replace("[\"browsing\"]", "[\"browsing\", \"shoe_size\"]");
    expect!["6:27: purpose `analytics` uses unknown data category `shoe_size`"]
        .assert_eq(&errors(&src));
}

#[test]
fn sensitive_category_needs_consent_and_flag() {
    let src = MINIMAL.replace("[\"browsing\"]", "[\"health\"]");
    expect![[r#"6:15: purpose `analytics` uses the sensitive category `health`; that needs `legal_basis = "consent"` and `sensitive = true`"#]]
        .assert_eq(&errors(&src));
    let flagged = format!("{}sensitive = true\n", src);
    assert_eq!(errors(&flagged), "ok");
    let contract = flagged.replace("\"consent\"", "\"contract\"");
    expect![[r#"
        2:1: purpose `analytics` is marked `sensitive` but its legal basis is not consent
        6:15: purpose `analytics` uses the sensitive category `health`; that needs `legal_basis = "consent"` and `sensitive = true`"#]]
    .assert_eq(&errors(&contract));
}

#[test]
fn missing_retention_and_property_category() {
    let src = format!(
        "{}\n[[event_types]]\nname = \"Viewed\"\npurposes = [\"analytics\"]\nproperties.sku = {{ type = \"string\" }}\n",
        MINIMAL.replace("retention_days = 30\n", "")
    );
    expect![[r#"
        2:1: purpose `analytics` has no `retention_days`
        11:18: property `sku` of `Viewed` has no data `category`; every stored datum needs one"#]]
    .assert_eq(&errors(&src));
}

#[test]
fn syntax_and_unknown_keys_name_the_line() {
    expect![[r#"
        3:1: unknown field `colour`, expected one of `id`, `title`, `text`, `legal_basis`, `categories`, `retention_days`, `sale_or_sharing`, `targeted_advertising`, `channel`, `sensitive`, `personalization`, `session_only`, `session_timeout_minutes`"#]]
    .assert_eq(&errors("[[purposes]]\nid = \"a\"\ncolour = 1\n"));
    let e = errors("[[purposes]\n");
    assert!(e.starts_with("1:"), "{e}");
}

#[test]
fn unknown_purpose_in_event_type_and_duplicates() {
    let src = format!("{MINIMAL}{MINIMAL}\n[[event_types]]\nname = \"X\"\npurposes = [\"ads\"]\n");
    expect![[r#"
        10:6: purpose `analytics` is declared twice
        18:13: event type `X` serves unknown purpose `ads`"#]]
    .assert_eq(&errors(&src));
}

#[test]
fn purpose_version_tracks_meaning_only() {
    let a = Policy::parse(MINIMAL).unwrap();
    let b = Policy::parse(&MINIMAL.replace("retention_days = 30", "retention_days = 31")).unwrap();
    let c = Policy::parse(&MINIMAL.replace("Count visits.", "Count visits and clicks.")).unwrap();
    let d = Policy::parse(&format!("# a comment\n{MINIMAL}")).unwrap();
    let va = &a.purposes[0].version;
    assert_eq!(
        va, &b.purposes[0].version,
        "retention is not part of the meaning"
    );
    assert_ne!(va, &c.purposes[0].version, "text is part of the meaning");
    assert_ne!(a.version, b.version, "the policy version covers everything");
    assert_eq!(a.version, d.version, "comments do not change the version");
}

#[test]
fn data_map_lists_purposes() {
    let map = Policy::default_policy().data_map();
    let text = map.to_text();
    assert!(text.contains("personalization — Personal recommendations"));
    assert!(text.contains("legal basis: contract"));
    let md = map.to_markdown();
    assert!(
        md.contains("| **targeted_advertising** — Targeted advertising | consent |"),
        "{md}"
    );
}

#[test]
fn recommendation_diversity_is_a_policy_default_within_bounds() {
    let plain = Policy::parse(MINIMAL).unwrap();
    assert_eq!(
        plain.recommendation_diversity,
        RECOMMENDATION_DIVERSITY_DEFAULT
    );
    let stated =
        Policy::parse(&format!("{MINIMAL}\n[recommendations]\ndiversity = 0.5\n")).unwrap();
    assert_eq!(
        stated.version, plain.version,
        "stating the default changes nothing"
    );
    let narrow =
        Policy::parse(&format!("{MINIMAL}\n[recommendations]\ndiversity = 0.0\n")).unwrap();
    assert_eq!(narrow.recommendation_diversity.as_f32(), 0.0);
    assert_ne!(
        narrow.version, plain.version,
        "a different default is a different policy"
    );
    expect!["10:13: recommendations.diversity must be between 0 (relevance only) and 1, not 1.5"]
        .assert_eq(&errors(&format!(
            "{MINIMAL}\n[recommendations]\ndiversity = 1.5\n"
        )));
}

#[test]
fn the_fairness_hold_is_off_by_default_checked_and_versioned() {
    let off = Policy::parse(MINIMAL).unwrap();
    assert!(!off.fairness.hold_flagged_campaigns);
    let explicit_off = Policy::parse(&format!(
        "{MINIMAL}\n[fairness]\nhold_flagged_campaigns = false\n"
    ))
    .unwrap();
    assert_eq!(
        explicit_off.version, off.version,
        "the default keeps the version"
    );
    let on = Policy::parse(&format!(
        "{MINIMAL}\n[fairness]\nhold_flagged_campaigns = true\n"
    ))
    .unwrap();
    assert!(on.fairness.hold_flagged_campaigns);
    assert_ne!(
        on.version, off.version,
        "turning the hold on is a policy change"
    );
    let wrong_type = errors(&format!(
        "{MINIMAL}\n[fairness]\nhold_flagged_campaigns = \"yes\"\n"
    ));
    assert!(wrong_type.starts_with("10:"), "{wrong_type}");
    let unknown = errors(&format!("{MINIMAL}\n[fairness]\nhold_flagged = true\n"));
    assert!(
        unknown.contains("unknown field `hold_flagged`"),
        "{unknown}"
    );
}

#[test]
fn exposures_are_kept_ninety_days_unless_the_policy_says_otherwise() {
    let default = Policy::parse(MINIMAL).unwrap();
    assert_eq!(default.fairness.exposure_retention_days, 90);
    let explicit = Policy::parse(&format!(
        "{MINIMAL}\n[fairness]\nexposure_retention_days = 90\n"
    ))
    .unwrap();
    assert_eq!(
        explicit.version, default.version,
        "the default keeps the version"
    );
    let shorter = Policy::parse(&format!(
        "{MINIMAL}\n[fairness]\nexposure_retention_days = 30\n"
    ))
    .unwrap();
    assert_eq!(shorter.fairness.exposure_retention_days, 30);
    assert_ne!(
        shorter.version, default.version,
        "keeping less is a policy change"
    );
    for bad in ["0", "-5", "40000"] {
        let e = errors(&format!(
            "{MINIMAL}\n[fairness]\nexposure_retention_days = {bad}\n"
        ));
        assert!(e.contains("exposure_retention_days"), "{bad}: {e}");
    }
}
