use std::collections::BTreeMap;

use candor_experiments::{
    Denominator, Event, Exposure, Metric, MetricKind, MetricOutcomes, Observations, PersonOutcome,
    Withdrawn, outcomes, withdrawn_periods,
};

use crate::{DAY_MS, START_MS, metric};

const HOUR_MS: i64 = 60 * 60 * 1000;

fn exposure(subject: &str, arm: &str, list: Option<&str>, at_ms: i64) -> Exposure {
    Exposure {
        subject: subject.into(),
        arm: arm.into(),
        list_id: list.map(Into::into),
        at_ms,
    }
}

fn event(subject: &str, event_type: &str, at_ms: i64) -> Event {
    Event {
        subject: subject.into(),
        event_type: event_type.into(),
        at_ms,
        item: None,
        list_id: None,
        revenue: None,
    }
}

fn order(subject: &str, at_ms: i64, revenue: f64) -> Event {
    Event {
        revenue: Some(revenue),
        ..event(subject, "Order Completed", at_ms)
    }
}

fn click(subject: &str, list: &str, at_ms: i64) -> Event {
    Event {
        item: Some("sku-1".into()),
        list_id: Some(list.into()),
        ..event(subject, "Product Clicked", at_ms)
    }
}

fn outcome(value: f64, covariate: f64) -> PersonOutcome {
    PersonOutcome {
        value,
        covariate,
        denominator: 0.0,
    }
}

const NOW_MS: i64 = START_MS + 30 * DAY_MS;

fn measure(
    metric: &Metric,
    exposures: &[Exposure],
    events: &[Event],
    withdrawals: &BTreeMap<String, Vec<Withdrawn>>,
) -> MetricOutcomes {
    let observations = Observations {
        exposures,
        events,
        withdrawals,
    };
    outcomes(metric, observations, NOW_MS)
}

#[test]
fn conversion_and_revenue_count_inside_the_window_and_the_pre_period_is_the_covariate() {
    let t0 = START_MS + DAY_MS;
    let exposures = [
        exposure("a", "control", None, t0),
        exposure("a", "control", None, t0 + 3 * DAY_MS),
        exposure("b", "diverse", None, t0),
    ];
    let events = [
        order("a", t0 - 2 * DAY_MS, 30.0), // pre-period
        order("a", t0 + HOUR_MS, 20.0),
        order("a", t0 + 6 * DAY_MS, 5.0),
        order("a", t0 + 7 * DAY_MS, 99.0), // window closed: the window runs from the *first* exposure
        event("a", "Product Added", t0 + HOUR_MS), // another type
        order("b", t0 - 20 * DAY_MS, 10.0), // before the pre-period
        order("stranger", t0, 50.0),       // never exposed
    ];
    let withdrawals = BTreeMap::new();
    let mut revenue = metric("revenue", MetricKind::Revenue, "Order Completed");
    revenue.pre_window_ms = 14 * DAY_MS;
    let measured = measure(&revenue, &exposures, &events, &withdrawals);
    assert_eq!(measured.by_arm["control"], [outcome(25.0, 30.0)]);
    assert_eq!(measured.by_arm["diverse"], [outcome(0.0, 0.0)]);
    assert_eq!(measured.by_arm.len(), 2);

    let conversion = metric("orders", MetricKind::Conversion, "Order Completed");
    let measured = measure(&conversion, &exposures, &events, &withdrawals);
    assert_eq!(measured.by_arm["control"], [outcome(1.0, 0.0)]);
    assert_eq!(measured.by_arm["diverse"], [outcome(0.0, 0.0)]);
}

#[test]
fn clicks_count_only_on_lists_the_experiment_showed_after_it_showed_them() {
    let t0 = START_MS;
    let exposures = [
        exposure("a", "diverse", Some("list-1"), t0),
        exposure("a", "diverse", Some("list-2"), t0 + DAY_MS),
    ];
    let events = [
        click("a", "list-1", t0 + HOUR_MS),
        click("a", "list-1", t0 + 2 * HOUR_MS),
        click("a", "list-2", t0 + HOUR_MS), // before list-2 was shown
        click("a", "list-2", t0 + DAY_MS + HOUR_MS),
        click("a", "other-slot-list", t0 + HOUR_MS), // another slot's list
        Event {
            list_id: None,
            ..click("a", "", t0 + HOUR_MS)
        }, // a click outside any list
    ];
    let withdrawals = BTreeMap::new();
    let clicks = metric("clicks", MetricKind::RecommendedClicks, "Product Clicked");
    let measured = measure(&clicks, &exposures, &events, &withdrawals);
    assert_eq!(measured.by_arm["diverse"], [outcome(3.0, 0.0)]);
}

#[test]
fn a_withdrawal_ends_a_persons_contribution() {
    let t0 = START_MS;
    let exposures = [
        exposure("early", "control", None, t0),
        exposure("withdrew-before", "control", None, t0 + 2 * DAY_MS),
        exposure("stays", "control", None, t0),
    ];
    let events = [
        order("early", t0 + HOUR_MS, 10.0),
        order("early", t0 + 2 * DAY_MS, 40.0), // after withdrawal
        order("withdrew-before", t0 + 2 * DAY_MS + HOUR_MS, 70.0),
        order("stays", t0 + 2 * DAY_MS, 15.0),
    ];
    let since = |from_ms| {
        vec![Withdrawn {
            from_ms,
            until_ms: None,
        }]
    };
    let withdrawals = BTreeMap::from([
        ("early".to_owned(), since(t0 + DAY_MS)),
        ("withdrew-before".to_owned(), since(t0 + DAY_MS)),
    ]);
    let revenue = metric("revenue", MetricKind::Revenue, "Order Completed");
    let measured = measure(&revenue, &exposures, &events, &withdrawals);
    // "early" keeps what happened before withdrawing; "withdrew-before" is not analysed at all.
    assert_eq!(
        measured.by_arm["control"],
        [outcome(10.0, 0.0), outcome(15.0, 0.0)]
    );
}

#[test]
fn a_grant_given_again_counts_what_follows_and_nothing_in_between() {
    let t0 = START_MS;
    let exposures = [
        exposure("back", "control", None, t0),
        // Withdrawn from t0 + 1 h to t0 + 3 h: not shown meanwhile, shown again after.
        exposure("back", "control", None, t0 + 4 * HOUR_MS),
        // Withdrawn before any exposure, granted again, then exposed.
        exposure("late", "control", None, t0 + 5 * HOUR_MS),
        // An exposure inside a withdrawn period does not count as a first exposure.
        exposure("gap", "control", None, t0 + 2 * HOUR_MS),
        exposure("gap", "control", None, t0 + 6 * HOUR_MS),
    ];
    let events = [
        order("back", t0 + 30 * 60_000, 10.0),
        order("back", t0 + 2 * HOUR_MS, 40.0), // while withdrawn
        order("back", t0 + 5 * HOUR_MS, 5.0),
        order("late", t0 + 6 * HOUR_MS, 7.0),
        order("gap", t0 + 3 * HOUR_MS, 100.0), // while withdrawn
        order("gap", t0 + 7 * HOUR_MS, 3.0),
    ];
    let between = |from_ms, until_ms| Withdrawn {
        from_ms,
        until_ms: Some(until_ms),
    };
    let withdrawals = BTreeMap::from([
        (
            "back".to_owned(),
            vec![between(t0 + HOUR_MS, t0 + 3 * HOUR_MS)],
        ),
        (
            "late".to_owned(),
            vec![between(t0 - DAY_MS, t0 + 4 * HOUR_MS)],
        ),
        (
            "gap".to_owned(),
            vec![between(t0 + HOUR_MS, t0 + 5 * HOUR_MS)],
        ),
    ]);
    let revenue = metric("revenue", MetricKind::Revenue, "Order Completed");
    let measured = measure(&revenue, &exposures, &events, &withdrawals);
    // Subjects in key order: back, gap, late.
    assert_eq!(
        measured.by_arm["control"],
        [outcome(15.0, 0.0), outcome(3.0, 0.0), outcome(7.0, 0.0)]
    );
}

#[test]
fn withdrawn_periods_follow_the_decisions() {
    let h = HOUR_MS;
    assert_eq!(
        withdrawn_periods(&[(3 * h, true), (h, false), (0, true), (5 * h, false)]),
        [
            Withdrawn {
                from_ms: h,
                until_ms: Some(3 * h)
            },
            Withdrawn {
                from_ms: 5 * h,
                until_ms: None
            }
        ]
    );
    // A second refusal inside a period changes nothing; a grant alone opens none.
    assert_eq!(
        withdrawn_periods(&[(h, false), (2 * h, false), (3 * h, true), (4 * h, true)]),
        [Withdrawn {
            from_ms: h,
            until_ms: Some(3 * h)
        }]
    );
    assert!(withdrawn_periods(&[(h, true)]).is_empty());
}

#[test]
fn people_seen_in_two_arms_and_open_windows_are_left_out_and_counted() {
    let exposures = [
        exposure("both", "control", None, START_MS),
        exposure("both", "diverse", None, START_MS + HOUR_MS),
        exposure("recent", "control", None, NOW_MS - DAY_MS),
        exposure("done", "control", None, NOW_MS - 7 * DAY_MS),
    ];
    let withdrawals = BTreeMap::new();
    let conversion = metric("orders", MetricKind::Conversion, "Order Completed");
    let measured = measure(&conversion, &exposures, &[], &withdrawals);
    assert_eq!(measured.n_mixed, 1);
    assert_eq!(measured.n_window_open, 1);
    assert_eq!(measured.by_arm["control"], [outcome(0.0, 0.0)]);
}

#[test]
fn a_ratio_metric_measures_its_denominator_in_the_same_window() {
    let t0 = START_MS;
    let exposures = [exposure("a", "diverse", Some("list-1"), t0)];
    let events = [
        click("a", "list-1", t0 + HOUR_MS),
        click("a", "list-1", t0 + 2 * HOUR_MS),
        click("a", "list-9", t0 + 2 * HOUR_MS), // not this experiment's list
        order("a", t0 + 3 * HOUR_MS, 30.0),
        order("a", t0 + 8 * DAY_MS, 70.0), // after the window
    ];
    let mut per_click = metric("revenue per click", MetricKind::Revenue, "Order Completed");
    per_click.per = Some(Denominator {
        kind: MetricKind::RecommendedClicks,
        event_type: "Product Clicked".into(),
    });
    let measured = measure(&per_click, &exposures, &events, &BTreeMap::new());
    assert_eq!(
        measured.by_arm["diverse"],
        [PersonOutcome {
            value: 30.0,
            covariate: 0.0,
            denominator: 2.0
        }]
    );
}
