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
