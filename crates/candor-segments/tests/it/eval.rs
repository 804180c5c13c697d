//! The interpreter and explanations.

use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::rule::{Rule, TestProfile, Window};
use expect_test::expect;

use crate::at;

fn now() -> Timestamp {
    at("2026-06-15T12:00:00Z")
}

fn days_ago(d: i64) -> Timestamp {
    now().plus_millis(-d * DAY_MS)
}

fn runner() -> TestProfile {
    let mut p = TestProfile::new()
        .interest("Comedy", 0.4)
        .country("DE")
        .attribute("postcode", "10115");
    for d in 0..12 {
        p = p.view(days_ago(d * 2), "Running");
    }
    p.purchase(days_ago(20), "Drama")
}

fn matches(src: &str, p: &TestProfile) -> bool {
    Rule::parse(src).expect(src).matches(p, now())
}

#[test]
fn features_read_the_profile() {
    let p = runner();
    assert!(matches(r#"interest("Comedy") >= 0.3"#, &p));
    assert!(!matches(r#"interest("Horror") > 0"#, &p));
    assert!(matches("views(30d) == 12", &p));
    assert!(matches("views(7d) == 4", &p), "days 0, 2, 4, 6");
    assert!(matches("purchases(30d) == 1 and purchases(7d) == 0", &p));
    assert!(matches(r#"viewed_in("Running", 24h)"#, &p));
    assert!(!matches(r#"purchased_in("Drama", 7d)"#, &p));
    assert!(matches(r#"purchased_in("Drama", 3w)"#, &p));
    assert!(matches("days_since_last_seen() == 0", &p));
    assert!(matches(r#"country() == "DE" and country() != "FR""#, &p));
    assert!(matches(r#"attribute("postcode") == "10115""#, &p));
}

#[test]
fn windows_are_rolling_and_end_now() {
    // Exactly 7 days ago is outside a 7-day window; just after is inside.
    let p = TestProfile::new()
        .view(days_ago(7), "A")
        .view(days_ago(7).plus_millis(1), "B")
        .view(now().plus_millis(1), "future");
    assert!(matches("views(7d) == 1", &p));
    assert!(matches(
        r#"viewed_in("B", 7d) and not viewed_in("A", 7d)"#,
        &p
    ));
    assert!(matches("views(168h) == 1 and views(1w) == 1", &p));
}

#[test]
fn unknown_values_never_select() {
    let empty = TestProfile::new();
    assert!(!matches(r#"country() == "DE""#, &empty));
    assert!(!matches(r#"country() != "DE""#, &empty));
    assert!(!matches("days_since_last_seen() > 30", &empty));
    assert!(!matches("days_since_last_seen() <= 30", &empty));
    assert!(matches(r#"not (country() == "DE")"#, &empty));
    assert!(matches("views(30d) == 0", &empty));
}

#[test]
fn logic() {
    let p = runner();
    assert!(matches("true or views(1d) > 100", &p));
    assert!(!matches("false and true", &p));
    assert!(matches(r#"viewed_in("Running", 7d) == true"#, &p));
    assert!(matches(
        r#"viewed_in("Nope", 7d) != viewed_in("Running", 7d)"#,
        &p
    ));
    assert!(matches("7d < 2w and 24h == 1d", &p));
    assert!(matches(
        r#"not (views(30d) < 5 or purchased_in("Drama", 7d))"#,
        &p
    ));
}

#[test]
fn explanations_give_each_clause_its_value() {
    let rule = Rule::parse(
        r#"views(30d) >= 5 and interest("Comedy") >= 0.3 and not purchased_in("Drama", 7d) and country() == "DE""#,
    )
    .unwrap();
    let e = rule.explain(&runner(), now());
    assert!(e.matched);
    let clauses: Vec<String> = e.clauses.iter().map(|c| c.to_string()).collect();
    expect![[r#"
        [
            "views(30d) = 12 >= 5",
            "interest(\"Comedy\") = 0.4 >= 0.3",
            "purchased_in(\"Drama\", 7d) = false",
            "country() = \"DE\" == \"DE\"",
        ]
    "#]]
    .assert_debug_eq(&clauses);
    expect![[r#"You are in 'Runners' because views(30d) = 12 >= 5 and interest("Comedy") = 0.4 >= 0.3 and purchased_in("Drama", 7d) = false and country() = "DE" == "DE"."#]].assert_eq(&e.sentence("Runners"));

    let quiet = TestProfile::new().view(days_ago(1), "Running");
    let e = rule.explain(&quiet, now());
    assert!(!e.matched);
    expect![[r#"You are not in 'Runners' because views(30d) = 1, not >= 5 and interest("Comedy") = 0, not >= 0.3 and country() = unknown, not == "DE"."#]].assert_eq(&e.sentence("Runners"));
}

#[test]
fn the_event_window_is_the_longest_window_an_event_feature_reads() {
    let window = |src: &str| Rule::parse(src).expect(src).event_window();
    assert_eq!(window(r#"interest("Comedy") >= 0.3"#), None);
    assert_eq!(
        window(r#"country() == "DE" and days_since_last_seen() < 3"#),
        None
    );
    assert_eq!(
        window("7d < 30d"),
        None,
        "comparing durations reads no event"
    );
    assert_eq!(window("views(30d) >= 2"), Some(Window::days(30)));
    assert_eq!(
        window(r#"not purchased_in("Drama", 2w) or views(24h) > 0 and viewed_in("A", 40d)"#),
        Some(Window::days(40))
    );
    assert_eq!(
        window("(purchases(48h) >= 1) == (views(1d) >= 1)"),
        Some(Window::hours(48))
    );
}
