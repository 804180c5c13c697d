use candor_accountability::render::{Series, escape_markdown, escape_xml};
use candor_accountability::{
    GroupTally, bar_chart_svg, fairness_report, fairness_report_markdown, fairness_report_svg,
    line_chart_svg,
};
use expect_test::{expect, expect_file};

fn rows(
    label: &str,
    n: usize,
    n_selected: usize,
    n_positive: usize,
) -> Vec<(&str, bool, Option<bool>)> {
    // The first n_positive members have a positive outcome; selection starts from the first.
    (0..n)
        .map(|i| (label, i < n_selected, Some(i < n_positive)))
        .collect()
}

fn report() -> candor_accountability::FairnessReport {
    let all = [
        rows("18-24", 40, 12, 20),
        rows("25-34", 50, 25, 25),
        rows("35-44", 30, 12, 10),
        rows("65+", 4, 4, 2),
    ]
    .concat();
    fairness_report(
        "campaign spring_sale by age_band",
        &GroupTally::from_labelled(all).unwrap(),
        10,
    )
}

#[test]
fn fairness_report_as_markdown() {
    expect![[r#"
        ## Fairness: campaign spring\_sale by age\_band

        Groups with fewer than 10 members are suppressed: not shown and left out of the overall figures and the comparisons.

        | Group | Members | Selected | Selection rate | 95% interval | TPR | FPR |
        |---|---:|---:|---:|---|---:|---:|
        | 18-24 | 40 | 12 | 0.300 | 0.181–0.454 | 0.600 | 0.000 |
        | 25-34 | 50 | 25 | 0.500 | 0.366–0.634 | 1.000 | 0.000 |
        | 35-44 | 30 | 12 | 0.400 | 0.246–0.577 | 1.000 | 0.100 |
        | 65+ | suppressed | | | | | |
        | **Overall** | 120 | 49 | 0.408 | 0.325–0.498 | 0.855 | 0.031 |

        | Measure | Between groups | To overall |
        |---|---:|---:|
        | Demographic parity difference | 0.200 | 0.108 |
        | Demographic parity ratio | 0.600 | 0.735 |
        | Equalized odds difference | 0.400 | 0.255 |
        | Equalized odds ratio | 0.000 | 0.000 |

        **Four-fifths rule: flagged.** The lowest selection rate is below 0.8 of the highest. This asks for a closer look at the campaign; it is not a finding of discrimination.
    "#]].assert_eq(&fairness_report_markdown(&report()));
}

#[test]
fn fairness_report_as_svg() {
    expect_file!["snapshots/fairness_report.svg"].assert_eq(&fairness_report_svg(&report()));
}

#[test]
fn generic_bar_chart() {
    expect_file!["snapshots/bar_chart.svg"].assert_eq(&bar_chart_svg(
        "Exposure share by popularity decile",
        &[("1", 0.42), ("2", 0.2), ("3", 0.1), ("4-10", 0.28)],
    ));
}

#[test]
fn generic_line_chart() {
    let ratio = [(1.0, 0.92), (2.0, 0.85), (3.0, 0.78), (4.0, 0.81)];
    let threshold = [(1.0, 0.8), (4.0, 0.8)];
    expect_file!["snapshots/line_chart.svg"].assert_eq(&line_chart_svg(
        "Parity ratio by week",
        &[
            Series {
                name: "parity ratio",
                points: &ratio,
            },
            Series {
                name: "threshold",
                points: &threshold,
            },
        ],
    ));
}

#[test]
fn untrusted_text_is_escaped_everywhere() {
    let hostile = "<script>alert('x')</script> & \"q\" | *b*";
    let all = [rows(hostile, 12, 6, 6), rows("plain", 12, 3, 6)].concat();
    let report = fairness_report(hostile, &GroupTally::from_labelled(all).unwrap(), 10);
    for svg in [
        fairness_report_svg(&report),
        bar_chart_svg(hostile, &[(hostile, 1.0)]),
        line_chart_svg(
            hostile,
            &[Series {
                name: hostile,
                points: &[(0.0, 1.0)],
            }],
        ),
    ] {
        assert!(!svg.contains("<script"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
    }
    let md = fairness_report_markdown(&report);
    assert!(!md.contains("<script"));
    assert!(md.contains("\\| \\*b\\*"));
    assert_eq!(escape_xml("a\u{1}b"), "a\u{fffd}b");
    assert_eq!(escape_markdown("a\nb"), "a b");
}

#[test]
fn charts_never_print_nan_or_infinity() {
    let bars = bar_chart_svg("odd", &[("p", f64::NAN), ("q", f64::INFINITY), ("r", -1.0)]);
    let lines = line_chart_svg(
        "odd",
        &[Series {
            name: "s",
            points: &[(f64::NAN, 1.0), (1.0, f64::INFINITY)],
        }],
    );
    let empty_lines = line_chart_svg("empty", &[]);
    let empty_bars = bar_chart_svg("empty", &[]);
    let empty_report = fairness_report_svg(&fairness_report("empty", &GroupTally::new(), 10));
    for svg in [bars, lines, empty_lines, empty_bars, empty_report] {
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }
}
