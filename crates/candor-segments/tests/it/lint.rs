//! The linter refuses rules that read what their purpose does not allow, or anything
//! sensitive or protected, and warns on declared proxies.

use candor_domain::ids::PurposeId;
use candor_segments::lint::{LintCode, lint};
use candor_segments::rule::Rule;
use expect_test::{Expect, expect};

use crate::policy;

fn check(src: &str, purpose: &str, expected: Expect) {
    let rule = Rule::parse(src).expect(src);
    let report = lint(rule.ast(), &PurposeId::parse(purpose).unwrap(), &policy());
    expected.assert_eq(&report.to_string());
}

#[test]
fn allowed_rules_pass() {
    check(
        r#"interest("Comedy") >= 0.3 and views(30d) >= 5 and not purchased_in("Drama", 7d)"#,
        "email_marketing",
        expect![[""]],
    );
}

#[test]
fn categories_the_purpose_does_not_allow() {
    // email_marketing allows email, name, purchases, browsing: not coarse_location.
    check(
        r#"country() == "DE""#,
        "email_marketing",
        expect![[r#"
        error: 1:1: `country()` reads `coarse_location`, which purpose `email_marketing` does not allow (it allows browsing, email, name, purchases)
    "#]],
    );
    // analytics allows browsing but not purchases.
    check(
        "views(7d) > 1 and\n  purchases(30d) > 0",
        "analytics",
        expect![[r#"
            error: 2:3: `purchases(30d)` reads `purchases`, which purpose `analytics` does not allow (it allows browsing, device, searches)
        "#]],
    );
}

#[test]
fn sensitive_and_protected_are_refused_whatever_the_purpose() {
    // fairness_audit is a sensitive purpose that allows gender, age and ethnicity, and still
    // no segment may select by them.
    check(
        r#"attribute("gender") == "f" or attribute("age") >= 50 or attribute("ethnicity") == "x""#,
        "fairness_audit",
        expect![[r#"
            error: 1:1: `attribute("gender")` reads `gender`, a protected characteristic; segments may never select people by it, whatever the purpose
            error: 1:31: `attribute("age")` reads `age`, a protected characteristic; segments may never select people by it, whatever the purpose
            error: 1:57: `attribute("ethnicity")` reads `racial_or_ethnic_origin`, a sensitive category; segments may never use sensitive data, whatever the purpose
        "#]],
    );
    check(
        r#"attribute("religion") == "x" and attribute("health") != "y""#,
        "email_marketing",
        expect![[r#"
            error: 1:1: `attribute("religion")` reads `religious_or_philosophical_beliefs`, a sensitive category; segments may never use sensitive data, whatever the purpose
            error: 1:34: `attribute("health")` reads `health`, a sensitive category; segments may never use sensitive data, whatever the purpose
        "#]],
    );
}

#[test]
fn proxies_warn() {
    check(
        r#"attribute("first_name") == "Anna" and attribute("postcode") == "10115""#,
        "email_marketing",
        expect![[r#"
            error: 1:39: `attribute("postcode")` reads `postcode`, which purpose `email_marketing` does not allow (it allows browsing, email, name, purchases)
            warning: 1:1: `attribute("first_name")` reads `first_name`, which the policy lists as a likely proxy for a protected characteristic; check the audience for fairness
            warning: 1:39: `attribute("postcode")` reads `postcode`, which the policy lists as a likely proxy for a protected characteristic; check the audience for fairness
        "#]],
    );
}

#[test]
fn unknown_purpose() {
    let rule = Rule::parse("views(7d) > 1").unwrap();
    let report = lint(rule.ast(), &PurposeId::parse("nope").unwrap(), &policy());
    assert_eq!(report.errors[0].code, LintCode::UnknownPurpose);
    assert!(!report.is_ok());
}

#[test]
fn segments_are_linted_at_creation_and_explain_themselves() {
    use candor_segments::rule::TestProfile;
    use candor_segments::segment::{Segment, SegmentError};

    let p = policy();
    let now = crate::at("2026-06-15T12:00:00Z");
    let runners = Segment::create(
        "Runners",
        r#"viewed_in("Running", 30d) and views(30d) >= 5"#,
        "email_marketing",
        &p,
    )
    .unwrap();
    let mut person = TestProfile::new();
    for _ in 0..12 {
        person = person.view(now, "Running");
    }
    expect![[
        r#"You are in 'Runners' because viewed_in("Running", 30d) = true and views(30d) = 12 >= 5."#
    ]]
    .assert_eq(&runners.sentence(&person, now));

    let refused = Segment::create(
        "By gender",
        r#"attribute("gender") == "f""#,
        "email_marketing",
        &p,
    );
    assert!(matches!(refused, Err(SegmentError::Lint(_))));
    assert!(matches!(
        Segment::create("", "true", "email_marketing", &p),
        Err(SegmentError::InvalidName)
    ));
    assert!(matches!(
        Segment::create("X", "true", "Email", &p),
        Err(SegmentError::InvalidPurpose(_))
    ));
    let proxied = Segment::create(
        "Anna",
        r#"attribute("first_name") == "Anna""#,
        "email_marketing",
        &p,
    )
    .unwrap();
    assert_eq!(proxied.warnings().len(), 1);
}
