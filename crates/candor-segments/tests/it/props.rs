//! Property tests: no input makes the rule front end panic, and every refusal is positioned
//! inside the input.

use candor_domain::time::Timestamp;
use candor_segments::rule::{Rule, TestProfile};
use proptest::prelude::*;

/// Fragments that combine into inputs close to valid rules, which reach deeper into the
/// parser and checker than random text does.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "views(",
        "purchases(",
        "interest(",
        "viewed_in(",
        "purchased_in(",
        "country()",
        "days_since_last_seen()",
        "attribute(",
        "\"Comedy\"",
        "\"postcode\"",
        "7d",
        "24h",
        "2w",
        "0.3",
        "5",
        ",",
        ")",
        "(",
        " and ",
        " or ",
        "not ",
        ">=",
        "<",
        "==",
        "!=",
        "true",
        "false",
        " ",
        "\n",
        "\"",
        "=",
        "#",
        "9999999d",
        "é",
    ])
}

fn assert_positioned(src: &str) {
    match Rule::parse(src) {
        Ok(rule) => {
            // A rule that checks also runs, and explains, on an empty profile.
            let profile = TestProfile::new();
            let _ = rule.matches(&profile, Timestamp::EPOCH);
            let _ = rule.explain(&profile, Timestamp::EPOCH);
        }
        Err(e) => {
            let lines = src.split('\n').count() as u32;
            assert!(e.pos.line >= 1 && e.pos.line <= lines, "{e} in {src:?}");
            let line_len = src
                .split('\n')
                .nth(e.pos.line as usize - 1)
                .map_or(0, |l| l.chars().count()) as u32;
            assert!(
                e.pos.column >= 1 && e.pos.column <= line_len + 1,
                "{e} in {src:?}"
            );
            assert!(!e.message.is_empty());
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        assert_positioned(&src);
    }

    #[test]
    fn near_rules_never_panic(parts in prop::collection::vec(fragment(), 0..40)) {
        assert_positioned(&parts.concat());
    }
}

/// Well-typed rules, built as text.
fn rule_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        r#"viewed_in("A", 7d)"#,
        r#"purchased_in("B", 30d)"#,
        "views(30d) >= 2",
        "views(24h) == 0",
        r#"interest("A") < 0.5"#,
        r#"country() == "DE""#,
        r#"country() != "DE""#,
        "days_since_last_seen() > 3",
        "true",
        "false",
    ])
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn profile() -> impl Strategy<Value = TestProfile> {
    let day = 24 * 60 * 60 * 1000;
    (
        prop::collection::vec((0i64..40 * day, prop::bool::ANY), 0..6),
        prop::option::of(prop::sample::select(vec!["DE", "FR"])),
        0.0f64..1.0,
    )
        .prop_map(move |(events, country, interest)| {
            let now = 100 * day;
            let mut p = TestProfile::new().interest("A", interest);
            for (ago, bought) in events {
                let at = Timestamp::from_millis(now - ago);
                p = if bought {
                    p.purchase(at, "B")
                } else {
                    p.view(at, "A")
                };
            }
            if let Some(c) = country {
                p = p.country(c);
            }
            p
        })
}

proptest! {
    #[test]
    fn logic_obeys_its_laws(a in rule_text(), b in rule_text(), p in profile()) {
        let now = Timestamp::from_millis(100 * 24 * 60 * 60 * 1000);
        let eval = |src: &str| Rule::parse(src).unwrap_or_else(|e| panic!("{e}: {src}")).matches(&p, now);
        let (x, y) = (eval(&a), eval(&b));
        prop_assert_eq!(eval(&format!("not ({a})")), !x);
        prop_assert_eq!(eval(&format!("({a}) and ({b})")), x && y);
        prop_assert_eq!(eval(&format!("({a}) or ({b})")), x || y);
        prop_assert_eq!(eval(&format!("not ({a} and {b})")), eval(&format!("not {a} or not {b}")));
        // An explanation agrees with the rule it explains.
        let rule = Rule::parse(&a).unwrap();
        prop_assert_eq!(rule.explain(&p, now).matched, x);
    }
}

proptest! {
    /// A caller may drop every event older than the rule's event window (or every event, when
    /// the rule has none) before asking: the answer never changes.
    #[test]
    fn events_outside_the_event_window_never_change_the_answer(
        src in rule_text(),
        p in profile(),
    ) {
        let now = Timestamp::from_millis(100 * 24 * 60 * 60 * 1000);
        let rule = Rule::parse(&src).unwrap();
        let keep = |events: &[(Timestamp, String)]| -> Vec<(Timestamp, String)> {
            events
                .iter()
                .filter(|(t, _)| {
                    rule.event_window()
                        .is_some_and(|w| t.as_millis() > now.as_millis() - w.as_millis())
                })
                .cloned()
                .collect()
        };
        let trimmed = TestProfile {
            views: keep(&p.views),
            purchases: keep(&p.purchases),
            ..p.clone()
        };
        prop_assert_eq!(rule.matches(&trimmed, now), rule.matches(&p, now));
    }
}
