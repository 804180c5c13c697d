//! The report's k-suppression and its renderers, as snapshots.

use std::collections::BTreeMap;

use candor_experiments::render::{json, markdown, svg};
use candor_experiments::report::{Comparison, GuardrailStatus, Report, SrmResult};
use candor_experiments::{
    Denominator, Event, Exposure, MetricKind, Observations, ReportConfig, report,
};
use expect_test::{Expect, expect};

use crate::{DAY_MS, START_MS, experiment, metric};

/// One arm of a made-up data set: its size, which of its people order (every `every`-th)
/// and the revenue base of an order.
struct ArmData {
    arm: &'static str,
    n: u32,
    every: u32,
    revenue_base: u32,
}

/// A report over made-up arms, plus one person seen in two arms.
fn report_of(arms: &[ArmData]) -> Report {
    let mut exposures = Vec::new();
    let mut events = Vec::new();
    for data in arms {
        for i in 0..data.n {
            let subject = format!("{}-{i:03}", data.arm);
            let at_ms = START_MS + i64::from(i) * 60_000;
            exposures.push(Exposure {
                subject: subject.clone(),
                arm: data.arm.to_owned(),
                list_id: Some(format!("list-{subject}")),
                at_ms,
            });
            if i % data.every == 0 {
                events.push(Event {
                    subject,
                    event_type: "Order Completed".to_owned(),
                    at_ms: at_ms + DAY_MS,
                    item: Some("sku-1".to_owned()),
                    list_id: None,
                    revenue: Some(f64::from(data.revenue_base + 5 * (i % 7))),
                });
            }
        }
    }
    for arm in ["control", "diverse"] {
        exposures.push(Exposure {
            subject: "seen-twice".to_owned(),
            arm: arm.to_owned(),
            list_id: None,
            at_ms: START_MS,
        });
    }
    let withdrawals = BTreeMap::new();
    report(
        &experiment(),
        Observations {
            exposures: &exposures,
            events: &events,
            withdrawals: &withdrawals,
        },
        START_MS + 20 * DAY_MS,
        ReportConfig::default(),
    )
}

/// 40 people in each variant, 8 in the holdout (fewer than k = 10), one person seen in two
/// arms. Control converts one in five, the diverse variant one in three.
fn small_report() -> Report {
    let arm = |arm, n, every| ArmData {
        arm,
        n,
        every,
        revenue_base: 10,
    };
    report_of(&[
        arm("control", 40, 5),
        arm("diverse", 40, 3),
        arm("holdout", 8, 4),
    ])
}

#[test]
fn a_guardrail_flags_harm_only_when_the_always_valid_interval_is_all_harm() {
    let everyone_orders = |arm, revenue_base| ArmData {
        arm,
        n: 300,
        every: 1,
        revenue_base,
    };
    let harmed = report_of(&[
        everyone_orders("control", 100),
        everyone_orders("diverse", 60),
        everyone_orders("holdout", 100),
    ]);
    assert_eq!(harmed.guardrails[0].status, GuardrailStatus::Harm);
    assert!(matches!(harmed.srm, SrmResult::Checked(_)));
    let fine = report_of(&[
        everyone_orders("control", 100),
        everyone_orders("diverse", 101),
        everyone_orders("holdout", 100),
    ]);
    assert_eq!(fine.guardrails[0].status, GuardrailStatus::NoHarmDetected);
    // Equal thirds against a 45/45/10 allocation: the split is flagged.
    let SrmResult::Checked(check) = fine.srm else {
        panic!("{:?}", fine.srm)
    };
    assert!(check.flagged);
    assert!(markdown(&fine).contains("Sample ratio: **MISMATCH**"));
}

fn check(actual: &str, expect: Expect) {
    expect.assert_eq(actual);
}

#[test]
fn small_arms_are_suppressed_and_never_compared() {
    let r = small_report();
    let primary = &r.metrics[0];
    assert_eq!(primary.arms[2].n.to_string(), "fewer than 10");
    assert_eq!(primary.arms[2].mean, None);
    assert_eq!(primary.arms[0].n.exact(), Some(40));
    assert!(matches!(
        &primary.comparisons[1],
        Comparison::Suppressed { arm } if arm == "holdout"
    ));
    assert_eq!(r.n_mixed.to_string(), "fewer than 10");
    assert_eq!(r.guardrails[0].status, GuardrailStatus::InsufficientData);
    // The split's statistic with the shown sizes would give the holdout's size away.
    assert_eq!(r.srm, SrmResult::Suppressed);
    let json = json(&r);
    assert!(json.contains("\"n\": \"fewer than 10\""));
    assert!(
        !json.contains("\"n\": 8"),
        "the holdout's exact size never leaves"
    );
}

#[test]
fn markdown_snapshot() {
    check(
        &markdown(&small_report()),
        expect![[r##"
        # Experiment Home slot: more diversity

        Control: control. Intervals at 95% confidence; p-values adjusted with Holm across all comparisons; always-valid p-values and intervals stay valid under continuous monitoring. Counts under 10 are shown as "fewer than 10".

        Sample ratio: not shown (an arm has fewer than 10 people).

        ## orders (primary: conversion of `Order Completed`)

        | Arm | People | Mean |
        |---|---|---|
        | control | 40 | 0.2000 |
        | diverse | 40 | 0.3500 |
        | holdout | fewer than 10 | suppressed |

        | Arm vs control | Effect | Interval | p | Adjusted p | Always-valid p | Always-valid interval |
        |---|---|---|---|---|---|---|
        | diverse | 0.1500 | -0.0485 to 0.3485 | 0.1365 | 0.2628 | 0.9194 | -0.5063 to 0.8063 |
        | holdout | suppressed: an arm has fewer than 10 people | | | | | |

        ## revenue (guardrail: revenue of `Order Completed`)

        | Arm | People | Mean |
        |---|---|---|
        | control | 40 | 4.6250 |
        | diverse | 40 | 8.7500 |
        | holdout | fewer than 10 | suppressed |

        | Arm vs control | Effect | Interval | p | Adjusted p | Always-valid p | Always-valid interval |
        |---|---|---|---|---|---|---|
        | diverse | 4.1250 | -1.2634 to 9.5134 | 0.1314 | 0.2628 | 0.9208 | -14.3383 to 22.5883 |
        | holdout | suppressed: an arm has fewer than 10 people | | | | | |

        ## Guardrails

        - revenue: insufficient data

        Left out: fewer than 10 seen in more than one arm, fewer than 10 still inside their window.
    "##]],
    );
}

#[test]
fn json_snapshot() {
    check(
        &json(&small_report()),
        expect![[r#"
            {
              "experiment_id": "exp-home-diversity",
              "name": "Home slot: more diversity",
              "control": "control",
              "as_of_ms": 1781728000000,
              "config": {
                "alpha": 0.05,
                "k_min": 10,
                "adjustment": "holm",
                "mixture_sd_share": 0.1
              },
              "srm": {
                "status": "suppressed"
              },
              "metrics": [
                {
                  "name": "orders",
                  "role": "primary",
                  "kind": "conversion",
                  "event_type": "Order Completed",
                  "cuped_theta": null,
                  "arms": [
                    {
                      "arm": "control",
                      "n": 40,
                      "mean": 0.2
                    },
                    {
                      "arm": "diverse",
                      "n": 40,
                      "mean": 0.35
                    },
                    {
                      "arm": "holdout",
                      "n": "fewer than 10",
                      "mean": null
                    }
                  ],
                  "comparisons": [
                    {
                      "status": "estimated",
                      "arm": "diverse",
                      "effect": 0.14999999999999997,
                      "ci_low": -0.04854047816559259,
                      "ci_high": 0.3485404781655925,
                      "p_value": 0.13652856199937757,
                      "p_adjusted": 0.2628498047825947,
                      "always_valid_p": 0.9193691918523664,
                      "always_valid_low": -0.5062653839090976,
                      "always_valid_high": 0.8062653839090976,
                      "n_looks": 1
                    },
                    {
                      "status": "suppressed",
                      "arm": "holdout"
                    }
                  ]
                },
                {
                  "name": "revenue",
                  "role": {
                    "guardrail": "higher_is_better"
                  },
                  "kind": "revenue",
                  "event_type": "Order Completed",
                  "cuped_theta": null,
                  "arms": [
                    {
                      "arm": "control",
                      "n": 40,
                      "mean": 4.625
                    },
                    {
                      "arm": "diverse",
                      "n": 40,
                      "mean": 8.75
                    },
                    {
                      "arm": "holdout",
                      "n": "fewer than 10",
                      "mean": null
                    }
                  ],
                  "comparisons": [
                    {
                      "status": "estimated",
                      "arm": "diverse",
                      "effect": 4.125,
                      "ci_low": -1.2634264301586855,
                      "ci_high": 9.513426430158685,
                      "p_value": 0.13142490239129734,
                      "p_adjusted": 0.2628498047825947,
                      "always_valid_p": 0.920779946940164,
                      "always_valid_low": -14.338252748072513,
                      "always_valid_high": 22.588252748072513,
                      "n_looks": 1
                    },
                    {
                      "status": "suppressed",
                      "arm": "holdout"
                    }
                  ]
                }
              ],
              "guardrails": [
                {
                  "metric": "revenue",
                  "status": "insufficient_data"
                }
              ],
              "n_mixed": "fewer than 10",
              "n_window_open": "fewer than 10"
            }"#]],
    );
}

#[test]
fn svg_snapshot() {
    let svg = svg(&small_report());
    assert!(
        !svg.contains("<script") && !svg.contains("href"),
        "self-contained"
    );
    check(
        &svg,
        expect![[r##"
        <svg xmlns="http://www.w3.org/2000/svg" width="640" height="192" viewBox="0 0 640 192" font-family="sans-serif" font-size="12" role="img" aria-label="Effects of Home slot: more diversity with intervals">
        <line x1="418.0" y1="24" x2="418.0" y2="168.0" stroke="#888" stroke-dasharray="3 3"/>
        <text x="212.0" y="46.0" text-anchor="end">orders: diverse</text>
        <line x1="293.7" y1="42.0" x2="616.0" y2="42.0" stroke="#9bbbe0" stroke-width="8"/>
        <line x1="406.1" y1="42.0" x2="503.6" y2="42.0" stroke="#1f4e8c" stroke-width="3"/>
        <circle cx="454.8" cy="42.0" r="4" fill="#1f4e8c"><title>0.1500 (interval -0.0485 to 0.3485)</title></circle>
        <text x="576.0" y="34.0" font-size="10" fill="#666">±0.8063</text>
        <text x="212.0" y="82.0" text-anchor="end">orders: holdout</text>
        <text x="418.0" y="82.0" text-anchor="middle" fill="#666">suppressed: fewer than k people</text>
        <text x="212.0" y="118.0" text-anchor="end">revenue: diverse</text>
        <line x1="292.3" y1="114.0" x2="616.0" y2="114.0" stroke="#9bbbe0" stroke-width="8"/>
        <line x1="406.9" y1="114.0" x2="501.4" y2="114.0" stroke="#1f4e8c" stroke-width="3"/>
        <circle cx="454.2" cy="114.0" r="4" fill="#1f4e8c"><title>4.1250 (interval -1.2634 to 9.5134)</title></circle>
        <text x="576.0" y="106.0" font-size="10" fill="#666">±22.5883</text>
        <text x="212.0" y="154.0" text-anchor="end">revenue: holdout</text>
        <text x="418.0" y="154.0" text-anchor="middle" fill="#666">suppressed: fewer than k people</text>
        </svg>
    "##]],
    );
}

#[test]
fn operator_text_is_escaped() {
    let mut r = small_report();
    r.name = "<b>A|B</b>".to_owned();
    assert!(markdown(&r).starts_with("# Experiment &lt;b&gt;A\\|B&lt;/b&gt;\n"));
    assert!(svg(&r).contains("Effects of &lt;b&gt;A|B&lt;/b&gt; with intervals"));
}

#[test]
fn a_ratio_metric_is_reported_as_a_ratio_of_sums_with_the_delta_method() {
    let mut e = experiment();
    e.holdout_bp = 0;
    e.primary = metric("revenue per click", MetricKind::Revenue, "Order Completed");
    e.primary.per = Some(Denominator {
        kind: MetricKind::RecommendedClicks,
        event_type: "Product Clicked".to_owned(),
    });
    let mut exposures = Vec::new();
    let mut events = Vec::new();
    let mut sums = BTreeMap::<&str, (f64, f64)>::new();
    for (arm, clicks_base) in [("control", 1), ("diverse", 2)] {
        for i in 0..30u32 {
            let subject = format!("{arm}-{i}");
            let list = format!("list-{subject}");
            exposures.push(Exposure {
                subject: subject.clone(),
                arm: arm.to_owned(),
                list_id: Some(list.clone()),
                at_ms: START_MS,
            });
            let n_clicks = clicks_base + i % 3;
            for c in 0..n_clicks {
                events.push(Event {
                    subject: subject.clone(),
                    event_type: "Product Clicked".to_owned(),
                    at_ms: START_MS + i64::from(c + 1) * 1000,
                    item: Some("sku-1".to_owned()),
                    list_id: Some(list.clone()),
                    revenue: None,
                });
            }
            let revenue = f64::from(5 + 7 * (i % 4));
            events.push(Event {
                subject,
                event_type: "Order Completed".to_owned(),
                at_ms: START_MS + DAY_MS,
                item: None,
                list_id: None,
                revenue: Some(revenue),
            });
            let sum = sums.entry(arm).or_default();
            sum.0 += revenue;
            sum.1 += f64::from(n_clicks);
        }
    }
    let r = report(
        &e,
        Observations {
            exposures: &exposures,
            events: &events,
            withdrawals: &BTreeMap::new(),
        },
        START_MS + 20 * DAY_MS,
        ReportConfig::default(),
    );
    let ratio = |arm| sums[arm].0 / sums[arm].1;
    let primary = &r.metrics[0];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    assert!(close(primary.arms[0].mean.unwrap(), ratio("control")));
    assert!(close(primary.arms[1].mean.unwrap(), ratio("diverse")));
    let Comparison::Estimated { effect, .. } = &primary.comparisons[0] else {
        panic!("{:?}", primary.comparisons)
    };
    assert!(close(effect.effect, ratio("diverse") - ratio("control")));
    assert!(effect.ci_low < effect.effect && effect.effect < effect.ci_high);
    assert_eq!(primary.cuped_theta, None);
    assert!(markdown(&r).contains(
        "## revenue per click (primary: revenue of `Order Completed` per recommended_clicks \
         of `Product Clicked`)"
    ));
}

/// The always-valid p-value and interval of one comparison.
fn always_valid(report: &Report, metric: &str) -> (f64, f64, f64, u64) {
    let m = report.metrics.iter().find(|m| m.name == metric).unwrap();
    match &m.comparisons[0] {
        Comparison::Estimated { effect, .. } => (
            effect.always_valid_p,
            effect.always_valid_low,
            effect.always_valid_high,
            effect.n_looks,
        ),
        other => panic!("not estimated: {other:?}"),
    }
}

#[test]
fn later_looks_never_leave_an_earlier_running_bound() {
    // People arrive over 20 days; each look sees the windows closed by then.
    let mut exposures = Vec::new();
    let mut events = Vec::new();
    for i in 0..400u32 {
        let arm = if i % 2 == 0 { "control" } else { "diverse" };
        let subject = format!("{arm}-{i:03}");
        let at_ms = START_MS + i64::from(i) * (DAY_MS / 20);
        exposures.push(Exposure {
            subject: subject.clone(),
            arm: arm.to_owned(),
            list_id: None,
            at_ms,
        });
        let every = if arm == "control" { 5 } else { 3 };
        if (i / 2) % every == 0 {
            events.push(Event {
                subject,
                event_type: "Order Completed".to_owned(),
                at_ms: at_ms + DAY_MS / 2,
                item: None,
                list_id: None,
                revenue: Some(f64::from(10 + i % 13)),
            });
        }
    }
    let withdrawals = BTreeMap::new();
    let observations = Observations {
        exposures: &exposures,
        events: &events,
        withdrawals: &withdrawals,
    };
    let e = experiment();
    let config = ReportConfig::default();
    let mut prior = candor_experiments::Sequential::new();
    let mut last = (1.0, f64::NEG_INFINITY, f64::INFINITY, 0);
    for (look, day) in [10, 14, 18, 22, 30].into_iter().enumerate() {
        let now_ms = START_MS + day * DAY_MS;
        let fresh = report(&e, observations, now_ms, config);
        let running = candor_experiments::report_after(&e, observations, now_ms, config, &prior);
        let (p, low, high, n_looks) = always_valid(&running, "orders");
        let (fresh_p, fresh_low, fresh_high, _) = always_valid(&fresh, "orders");
        assert_eq!(n_looks, look as u64 + 1);
        assert!(p <= last.0 && p <= fresh_p, "look {look}: p {p}");
        assert!(
            low >= last.1 && high <= last.2,
            "look {look}: [{low}, {high}]"
        );
        assert!(low >= fresh_low && high <= fresh_high);
        assert!(low <= high);
        // The running state is what the next look starts from.
        let key = ("orders".to_owned(), "diverse".to_owned());
        assert_eq!(running.sequential[&key].n_looks, n_looks);
        last = (p, low, high, n_looks);
        prior = running.sequential;
    }
}
