//! Whole reports: large cells are shown with honest intervals, cells of a few people are not,
//! the cost is the sum of the measures', and the budget refuses a report that would overspend.

use candor_analytics::report::Granularity;
use candor_analytics::{
    BoundingKey, Bounds, BudgetLedger, CellKey, Delta, Epsilon, Measure, Mechanism, PersonKey,
    PrivacyCost, ReportConfig, ReportFamily, Row, charge_and_release, release,
};

use crate::rng;

/// Monday 2026-11-30 is day 20_787.
const MONDAY: i32 = 20_787;

fn config() -> ReportConfig {
    ReportConfig {
        granularity: Granularity::Week,
        first_day: MONDAY,
        last_day: MONDAY + 13,
        bounds: Bounds {
            rows_per_cell_max: 2,
            cells_per_person_max: 3,
            value_max: 5000,
        },
        people_epsilon: Epsilon::parse(0.5).unwrap(),
        selection_delta: Delta::parse(1e-6).unwrap(),
        events: Some(Measure {
            epsilon: Epsilon::parse(0.25).unwrap(),
            mechanism: Mechanism::Laplace,
        }),
        sum: Some(Measure {
            epsilon: Epsilon::parse(0.25).unwrap(),
            mechanism: Mechanism::Gaussian {
                delta: Delta::parse(1e-7).unwrap(),
            },
        }),
    }
}

/// `people` people in `cell` in the first week, each with two purchases of 1000 and 2000.
fn cell_rows(cell: &str, people: usize) -> Vec<Row> {
    (0..people)
        .flat_map(|i| {
            let person = PersonKey::new(format!("{cell}-{i}"));
            [(1, 1000), (3, 2000)].map(|(day, value)| Row {
                person: person.clone(),
                day: MONDAY + day,
                cell: CellKey::new(cell),
                value,
            })
        })
        .collect()
}

fn key() -> BoundingKey {
    BoundingKey::new([7; 32])
}

#[test]
fn large_cells_are_shown_with_intervals_and_tiny_cells_are_not() {
    let mut rows = cell_rows("shoes", 2000);
    rows.extend(cell_rows("hats", 3));
    let report = release(&rows, &config(), &key(), &mut rng(31)).unwrap();
    assert_eq!(
        report
            .periods
            .iter()
            .map(|p| p.period_start_day)
            .collect::<Vec<_>>(),
        [MONDAY, MONDAY + 7]
    );
    let week = &report.periods[0];
    assert_eq!(week.cells.len(), 1, "the cell of three people is not shown");
    let shoes = &week.cells[0];
    assert_eq!(shoes.cell, CellKey::new("shoes"));
    let (people, events, sum) = (shoes.people, shoes.events.unwrap(), shoes.sum.unwrap());
    for (released, truth) in [(people, 2000), (events, 4000), (sum, 6_000_000)] {
        assert!(
            released.ci95_low <= truth && truth <= released.ci95_high,
            "{released:?} misses {truth}"
        );
        assert_eq!(
            released.ci95_high - released.value,
            released.value - released.ci95_low
        );
    }
    assert!(
        report.periods[1].cells.is_empty(),
        "nothing happened in the second week"
    );
    assert!(people.value >= report.noise.selection_threshold);
    assert_eq!(
        report.charged_per_period,
        PrivacyCost::new(Epsilon::parse(1.0).unwrap(), Delta::parse(1.1e-6).unwrap())
    );
}

#[test]
fn the_interval_covers_the_truth_95_percent_of_the_time() {
    let rows = cell_rows("shoes", 150);
    let runs = 1000;
    let mut rng = rng(32);
    let mut covered = [0u32; 3];
    for _ in 0..runs {
        let report = release(&rows, &config(), &key(), &mut rng).unwrap();
        let cell = &report.periods[0].cells[0];
        for (i, (released, truth)) in [
            (cell.people, 150),
            (cell.events.unwrap(), 300),
            (cell.sum.unwrap(), 450_000),
        ]
        .iter()
        .enumerate()
        {
            covered[i] += u32::from(released.ci95_low <= *truth && *truth <= released.ci95_high);
        }
    }
    for c in covered {
        // At least 95 % by construction (up to the discrete step), within sampling error.
        let rate = f64::from(c) / f64::from(runs);
        assert!(
            rate > 0.95 - 3.0 * (0.05f64 * 0.95 / f64::from(runs)).sqrt() && rate < 0.985,
            "coverage {rate}"
        );
    }
}

#[test]
fn the_report_is_charged_per_period_and_refused_when_spent() {
    let family = ReportFamily::parse("conversions").unwrap();
    let mut ledger = BudgetLedger::new();
    ledger.set_limit(
        family.clone(),
        PrivacyCost::new(Epsilon::parse(1.5).unwrap(), Delta::parse(1e-5).unwrap()),
    );
    let rows = cell_rows("shoes", 100);
    charge_and_release(&mut ledger, &family, &rows, &config(), &key(), &mut rng(33)).unwrap();
    for week in [MONDAY, MONDAY + 7] {
        assert_eq!(
            ledger.remaining(&family, week).unwrap().epsilon,
            Epsilon::parse(0.5).unwrap()
        );
    }
    let refused = charge_and_release(&mut ledger, &family, &rows, &config(), &key(), &mut rng(34))
        .unwrap_err();
    assert_eq!(refused.code(), "analytics_budget_exhausted");
    assert_eq!(
        ledger.remaining(&family, MONDAY).unwrap().epsilon,
        Epsilon::parse(0.5).unwrap()
    );
}

#[test]
fn a_bad_configuration_is_refused_before_anything_is_charged() {
    let family = ReportFamily::parse("conversions").unwrap();
    let mut ledger = BudgetLedger::new();
    ledger.set_limit(
        family.clone(),
        PrivacyCost::new(Epsilon::parse(10.0).unwrap(), Delta::parse(1e-4).unwrap()),
    );
    let before = ledger.clone();
    let bad = [
        ReportConfig {
            people_epsilon: Epsilon::parse(0.0).unwrap(),
            ..config()
        },
        ReportConfig {
            selection_delta: Delta::parse(0.0).unwrap(),
            ..config()
        },
        ReportConfig {
            first_day: MONDAY + 20,
            ..config()
        },
        ReportConfig {
            last_day: MONDAY + 7 * 400,
            ..config()
        },
        ReportConfig {
            bounds: Bounds {
                rows_per_cell_max: 0,
                ..config().bounds
            },
            ..config()
        },
        ReportConfig {
            sum: Some(Measure {
                epsilon: Epsilon::parse(0.1).unwrap(),
                mechanism: Mechanism::Gaussian {
                    delta: Delta::parse(0.0).unwrap(),
                },
            }),
            ..config()
        },
    ];
    for config in bad {
        let refused = charge_and_release(&mut ledger, &family, &[], &config, &key(), &mut rng(35))
            .unwrap_err();
        assert_eq!(refused.code(), "analytics_invalid_parameter", "{config:?}");
    }
    assert_eq!(ledger, before);
}

#[test]
fn weeks_start_on_monday_and_rows_are_taken_from_whole_periods() {
    assert_eq!(
        Granularity::Week.period_start(0),
        -3,
        "1970-01-01 was a Thursday"
    );
    assert_eq!(Granularity::Week.period_start(MONDAY + 6), MONDAY);
    assert_eq!(Granularity::Week.period_start(MONDAY + 7), MONDAY + 7);
    assert_eq!(Granularity::Day.period_start(MONDAY + 3), MONDAY + 3);
    // A range starting mid-week reports the whole week.
    let config = ReportConfig {
        first_day: MONDAY + 3,
        last_day: MONDAY + 4,
        ..config()
    };
    let report = release(&cell_rows("shoes", 500), &config, &key(), &mut rng(36)).unwrap();
    assert_eq!(report.periods.len(), 1);
    let events = report.periods[0].cells[0].events.unwrap();
    assert!(
        events.ci95_low <= 1000 && 1000 <= events.ci95_high,
        "both purchases of the week count"
    );
}

#[test]
fn the_report_serializes_with_its_noise_beside_every_number() {
    let report = release(&cell_rows("shoes", 200), &config(), &key(), &mut rng(37)).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let people = &json["periods"][0]["cells"][0]["people"];
    assert_eq!(people["noise"]["mechanism"], "discrete_laplace");
    assert_eq!(
        people["noise"]["scale"],
        serde_json::json!({"num": 6, "den": 1}),
        "C / ε = 3 / 0.5"
    );
    assert!(people["noise_std_dev"].as_f64().unwrap() > 0.0);
    assert_eq!(
        json["periods"][0]["cells"][0]["sum"]["noise"]["mechanism"],
        "discrete_gaussian"
    );
    let back: candor_analytics::Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn top_cells_rank_by_released_people() {
    let mut rows = cell_rows("shoes", 900);
    rows.extend(cell_rows("hats", 600));
    rows.extend(cell_rows("socks", 300));
    rows.extend(cell_rows("gloves", 2));
    let report = release(&rows, &config(), &key(), &mut rng(38)).unwrap();
    let top: Vec<&str> = report.periods[0]
        .top_by_people(2)
        .iter()
        .map(|c| c.cell.as_str())
        .collect();
    // The gaps are many times the noise: the ranking is the true one.
    assert_eq!(top, ["shoes", "hats"]);
    assert_eq!(
        report.periods[0].top_by_people(10).len(),
        3,
        "the cell of two people is not shown"
    );
}
