//! The empirical privacy test: two datasets that differ by one person (who appears several times
//! in a cell, or alone in a cell of their own), the same noisy report run many times on each, and the privacy loss estimated from the two output histograms must
//! stay within the report's ε (plus statistical slack). The same estimator, pointed at a report
//! that spends more than it claims, must catch it: the test has power.

use std::collections::BTreeMap;

use candor_analytics::report::Granularity;
use candor_analytics::{
    BoundingKey, Bounds, CellKey, Delta, Epsilon, PersonKey, ReportConfig, Row, release,
};

use crate::rng;

/// A Monday.
const DAY: i32 = 20_787;
/// Runs per dataset.
const RUNS: usize = 20_000;
/// Output bins with fewer samples in either histogram are too noisy to estimate a ratio from.
const BIN_MIN: u64 = 300;
/// Standard errors of slack per bin (a few dozen bins are compared).
const Z: f64 = 4.0;

fn config(epsilon: f64) -> ReportConfig {
    ReportConfig {
        granularity: Granularity::Week,
        first_day: DAY,
        last_day: DAY + 6,
        bounds: Bounds {
            rows_per_cell_max: 1,
            cells_per_person_max: 1,
            value_max: 1,
        },
        people_epsilon: Epsilon::parse(epsilon).unwrap(),
        selection_delta: Delta::parse(1e-6).unwrap(),
        events: None,
        sum: None,
    }
}

/// Three cells of 30, 25 and 20 people (the selection threshold at ε = 1, C = 1 is 15).
fn dataset() -> Vec<Row> {
    let mut rows = Vec::new();
    for (cell, people) in [("a", 30), ("b", 25), ("c", 20)] {
        for i in 0..people {
            rows.push(Row {
                person: PersonKey::new(format!("{cell}{i}")),
                day: DAY,
                cell: CellKey::new(cell),
                value: 1,
            });
        }
    }
    rows
}

/// The dataset with one more person, active several times in cell `cell` only: bounding keeps
/// one row.
fn with_one_more(cell: &str) -> Vec<Row> {
    let mut rows = dataset();
    for day in 0..3 {
        rows.push(Row {
            person: PersonKey::new("x"),
            day: DAY + day,
            cell: CellKey::new(cell),
            value: 1,
        });
    }
    rows
}

/// What an attacker looks at: which cells are shown, and the released count of the cell the
/// added person is in (the most revealing function of the output; any function of it is bound
/// by the same ε).
fn summary(
    rows: &[Row],
    config: &ReportConfig,
    runs: usize,
    seed: u64,
) -> BTreeMap<(String, i64), u64> {
    let key = BoundingKey::new([3; 32]);
    let mut rng = rng(seed);
    let mut counts = BTreeMap::new();
    for _ in 0..runs {
        let report = release(rows, config, &key, &mut rng).unwrap();
        let cells = &report.periods[0].cells;
        let names: Vec<&str> = cells.iter().map(|c| c.cell.as_str()).collect();
        let a = cells
            .iter()
            .find(|c| c.cell.as_str() == "a")
            .map_or(i64::MIN, |c| c.people.value);
        *counts.entry((names.join(","), a)).or_insert(0) += 1;
    }
    counts
}

/// The largest |ln P(o|D) − ln P(o|D′)| over well-populated outputs o, less `Z` standard errors:
/// a lower confidence bound on the privacy loss these outputs show.
fn loss_lower_bound(
    d: &BTreeMap<(String, i64), u64>,
    d_prime: &BTreeMap<(String, i64), u64>,
) -> f64 {
    let (n, n_prime) = (
        d.values().sum::<u64>() as f64,
        d_prime.values().sum::<u64>() as f64,
    );
    let mut worst = f64::NEG_INFINITY;
    let mut bins = 0;
    for (output, &a) in d {
        let b = d_prime.get(output).copied().unwrap_or(0);
        if a < BIN_MIN || b < BIN_MIN {
            continue;
        }
        bins += 1;
        let loss = ((a as f64 / n) / (b as f64 / n_prime)).ln().abs();
        let se = (1.0 / a as f64 + 1.0 / b as f64).sqrt();
        worst = worst.max(loss - Z * se);
    }
    assert!(bins >= 3, "only {bins} well-populated outputs");
    worst
}

#[test]
fn two_reports_differing_by_one_person_cannot_be_told_apart_beyond_epsilon() {
    let config = config(1.0);
    assert_eq!(
        config.noise_plan().unwrap().selection_threshold,
        15,
        "every cell of the dataset is shown"
    );
    let budget = config.cost_per_period().epsilon.as_f64();
    let d = summary(&dataset(), &config, RUNS, 41);
    let d_prime = summary(&with_one_more("a"), &config, RUNS, 42);
    let loss = loss_lower_bound(&d, &d_prime);
    eprintln!("estimated privacy loss (lower confidence bound): {loss:.3} for ε = {budget}");
    assert!(
        loss <= budget,
        "estimated privacy loss {loss:.3} exceeds ε = {budget}"
    );
    // The Laplace mechanism is tight: the estimate comes close to ε, so the bound is not idle.
    assert!(loss > 0.6 * budget, "estimated privacy loss {loss:.3}");
}

#[test]
fn a_person_alone_in_a_cell_does_not_make_it_appear() {
    let config = config(1.0);
    let d = summary(&dataset(), &config, RUNS / 2, 45);
    let d_prime = summary(&with_one_more("only-mine"), &config, RUNS / 2, 46);
    // With δ = 1e-6 the cell would show about once in a million reports.
    assert!(
        d_prime
            .keys()
            .all(|(names, _)| !names.contains("only-mine"))
    );
    let loss = loss_lower_bound(&d, &d_prime);
    assert!(
        loss <= 0.0,
        "outputs differ without the person's cell showing: {loss:.3}"
    );
}

#[test]
fn the_estimator_catches_a_report_spending_more_than_it_claims() {
    // Noise for ε = 1.5 while the budget says 1: the histograms separate beyond e^1.
    let claimed = 1.0;
    let loose = config(1.5);
    let d = summary(&dataset(), &loose, RUNS, 43);
    let d_prime = summary(&with_one_more("a"), &loose, RUNS, 44);
    let loss = loss_lower_bound(&d, &d_prime);
    assert!(
        loss > claimed,
        "the estimator missed a loss of 1.5: it found {loss:.3}"
    );
}
