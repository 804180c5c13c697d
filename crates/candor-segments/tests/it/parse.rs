//! The parser and type checker: syntax trees and positioned errors, as snapshots.

use candor_segments::rule::{self, RULE_BYTES_MAX, RULE_DEPTH_MAX, Rule, RuleErrorKind};
use expect_test::{Expect, expect};

/// Parses and checks `src`, rendering the tree or the error.
fn check(src: &str, expected: Expect) {
    let actual = match Rule::parse(src) {
        Ok(rule) => rule.ast().to_string(),
        Err(e) => format!("{} {e}", e.kind.code()),
    };
    expected.assert_eq(&actual);
}

#[test]
fn the_example_rule() {
    check(
        r#"interest("Comedy") >= 0.3 and views(30d) >= 5 and not purchased_in("Drama", 7d)"#,
        expect![[
            r#"(and (>= (interest "Comedy") 0.3) (>= (views 30d) 5) (not (purchased_in "Drama" 7d)))"#
        ]],
    );
}

#[test]
fn precedence_and_grouping() {
    check(
        r#"views(7d) > 1 or views(30d) > 10 and purchases(30d) == 0"#,
        expect!["(or (> (views 7d) 1) (and (> (views 30d) 10) (== (purchases 30d) 0)))"],
    );
    check(
        r#"(views(7d) > 1 or views(30d) > 10) and purchases(30d) == 0"#,
        expect!["(and (or (> (views 7d) 1) (> (views 30d) 10)) (== (purchases 30d) 0))"],
    );
    check(
        r#"not not viewed_in("Shoes", 24h)"#,
        expect![[r#"(not (not (viewed_in "Shoes" 24h)))"#]],
    );
    check(
        "country() == \"DE\" # German shoppers\n  and days_since_last_seen() <= 14",
        expect![[r#"(and (== (country) "DE") (<= (days_since_last_seen) 14))"#]],
    );
}

#[test]
fn literals() {
    check(r#"true"#, expect!["true"]);
    check(r#"1.5 < 2"#, expect!["(< 1.5 2)"]);
    check(r#"7d < 2w"#, expect!["(< 7d 2w)"]);
    check(
        r#"country() != "A \"quoted\" \\ name""#,
        expect![[r#"(!= (country) "A \"quoted\" \\ name")"#]],
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    check(
        "views(30d) >= ",
        expect![
            "syntax_error 1:15: expected a feature, a literal, `not` or `(`, found the end of the rule"
        ],
    );
    check(
        "views(30d) >= 5 and\n  (views(7d) > 1",
        expect![
            "syntax_error 2:17: expected `)` to close the `(` at 2:3, found the end of the rule"
        ],
    );
    check(
        "views(30d) = 5",
        expect!["syntax_error 1:12: `=` is not an operator; write `==` to compare"],
    );
    check(
        "views(30d) >= 5 && views(7d) > 1",
        expect!["syntax_error 1:17: `&&` is not an operator; write `and`"],
    );
    check(
        "1 < views(7d) < 3",
        expect!["syntax_error 1:15: comparisons do not chain; join them with `and` instead of `<`"],
    );
    check(
        "views(30x) > 1",
        expect![
            "syntax_error 1:9: unknown duration unit `x`; use h (hours), d (days) or w (weeks)"
        ],
    );
    check(
        "views(1.5d) > 1",
        expect![
            "syntax_error 1:7: durations are whole numbers of hours, days or weeks, not `1.5d`"
        ],
    );
    check(
        "views(4000d) > 1",
        expect!["syntax_error 1:7: the duration `4000d` is longer than the limit of 3650 days"],
    );
    check(
        "country() == \"DE",
        expect!["syntax_error 1:14: this string is never closed"],
    );
    check(
        "views(30d) > 1 views(7d)",
        expect![
            "syntax_error 1:16: expected `and`, `or` or the end of the rule, found name `views`"
        ],
    );
    check(
        "views > 1",
        expect![
            "syntax_error 1:7: expected `(` after `views`: features are called like `views(...)`, found `>`"
        ],
    );
    check(
        "views(30d) > 1 @",
        expect!["syntax_error 1:16: unexpected character '@'"],
    );
    check(
        "",
        expect![
            "syntax_error 1:1: expected a feature, a literal, `not` or `(`, found the end of the rule"
        ],
    );
}

#[test]
fn unknown_features_and_arity() {
    check(
        "clicks(7d) > 1",
        expect![
            "unknown_feature 1:1: unknown feature `clicks`; known features are interest, views, purchases, viewed_in, purchased_in, days_since_last_seen, country, attribute"
        ],
    );
    check(
        "views() > 1",
        expect!["wrong_arity 1:1: `views` takes 1 argument (duration), but 0 were given"],
    );
    check(
        r#"viewed_in("Shoes")"#,
        expect![
            "wrong_arity 1:1: `viewed_in` takes 2 arguments (string, duration), but 1 was given"
        ],
    );
    check(
        r#"attribute("shoe_size") == "42""#,
        expect![[
            r#"unknown_feature 1:11: unknown attribute "shoe_size"; known attributes are postcode, zip, city, region, first_name, last_name, name, email, phone, device, browser, gender, sex, age, age_band, birth_date, religion, beliefs, ethnicity, race, nationality, health, disability, pregnancy, sexual_orientation, political_opinion, political_party, trade_union, genetics, biometrics, precise_location, latitude, longitude, children, school"#
        ]],
    );
}

#[test]
fn type_errors() {
    check(
        "views(30d)",
        expect![
            "type_error 1:1: a segment rule must be a condition (bool), but this is a number; compare it with something, e.g. `... >= 1`"
        ],
    );
    check(
        "days_since_last_seen() <= 2w",
        expect!["type_error 1:1: cannot compare a number with a duration using `<=`"],
    );
    check(
        r#"views(30d) > "5""#,
        expect!["type_error 1:1: cannot compare a number with a string using `>`"],
    );
    check(
        r#"country() < "DE""#,
        expect![
            "type_error 1:1: string values have no order; compare them with `==` or `!=`, not `<`"
        ],
    );
    check(
        r#"views("30d") > 1"#,
        expect!["type_error 1:7: argument 1 of `views` must be a duration, but this is a string"],
    );
    check(
        r#"interest(country()) > 0.5"#,
        expect![
            "type_error 1:10: argument 1 of `interest` must be a string literal, written out in the rule"
        ],
    );
    check(
        r#"not views(30d)"#,
        expect!["type_error 1:5: `not` needs a condition (bool), but this is a number"],
    );
    check(
        r#"views(7d) > 1 and 3"#,
        expect!["type_error 1:19: `and` needs a condition (bool), but this is a number"],
    );
    check(
        r#"viewed_in("A", 7d) == true and viewed_in("B", 1d) < false"#,
        expect![
            "type_error 1:32: bool values have no order; compare them with `==` or `!=`, not `<`"
        ],
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    check(
        "country() == \"Ünïcödé\" and nope()",
        expect![
            "unknown_feature 1:28: unknown feature `nope`; known features are interest, views, purchases, viewed_in, purchased_in, days_since_last_seen, country, attribute"
        ],
    );
}

#[test]
fn limits() {
    let long = format!("views(30d) > {}", "1".repeat(RULE_BYTES_MAX));
    let err = rule::parse(&long).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::TooLong);

    let deep = format!(
        "{}true{}",
        "(".repeat(RULE_DEPTH_MAX + 1),
        ")".repeat(RULE_DEPTH_MAX + 1)
    );
    assert_eq!(rule::parse(&deep).unwrap_err().kind, RuleErrorKind::TooDeep);
    let ok = format!(
        "{}true{}",
        "(".repeat(RULE_DEPTH_MAX - 1),
        ")".repeat(RULE_DEPTH_MAX - 1)
    );
    assert!(Rule::parse(&ok).is_ok());

    let nots = format!("{}true", "not ".repeat(1000));
    assert_eq!(rule::parse(&nots).unwrap_err().kind, RuleErrorKind::TooDeep);

    // A long flat chain is not deep: it becomes one `and` node.
    let chain = vec!["views(7d) > 1"; 200].join(" and ");
    assert!(Rule::parse(&chain).is_ok());
}
