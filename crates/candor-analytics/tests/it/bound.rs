//! Contribution bounding: the caps hold, the keyed choice does not depend on how a person
//! orders or times their rows, and removing one person changes the aggregates by no more than
//! the stated sensitivity.

use std::collections::{BTreeMap, BTreeSet};

use candor_analytics::bound::{CellTotals, bound_and_aggregate};
use candor_analytics::{BoundingKey, Bounds, CellKey, PersonKey, Row, Sensitivity};
use proptest::prelude::*;

const BOUNDS: Bounds = Bounds {
    rows_per_cell_max: 3,
    cells_per_person_max: 2,
    value_max: 100,
};

fn row(person: &str, day: i32, cell: &str, value: u64) -> Row {
    Row {
        person: PersonKey::new(person),
        day,
        cell: CellKey::new(cell),
        value,
    }
}

fn aggregate(rows: &[Row], bounds: &Bounds, key: u8) -> BTreeMap<(i32, CellKey), CellTotals> {
    bound_and_aggregate(
        rows,
        |day| Some(day - day % 7),
        bounds,
        &BoundingKey::new([key; 32]),
    )
}

/// One heavy person: 5 cells × 4 rows each with large values, on one week.
fn heavy(person: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for cell in ["a", "b", "c", "d", "e"] {
        for i in 0..4 {
            rows.push(row(person, 7 + i, cell, 1000 + i as u64));
        }
    }
    rows
}

#[test]
fn a_person_counts_in_at_most_c_cells_with_at_most_n_rows_and_clamped_values() {
    let totals = aggregate(&heavy("p"), &BOUNDS, 1);
    assert_eq!(totals.len(), 2, "C = 2 cells kept: {totals:?}");
    for cell in totals.values() {
        assert_eq!(
            *cell,
            CellTotals {
                people: 1,
                events: 3,
                sum: 300
            }
        );
    }
}

#[test]
fn the_kept_rows_do_not_depend_on_row_order() {
    let mut rows: Vec<Row> = ["p", "q", "r"].iter().flat_map(|p| heavy(p)).collect();
    let forward = aggregate(&rows, &BOUNDS, 1);
    rows.reverse();
    rows.swap(3, 40);
    assert_eq!(aggregate(&rows, &BOUNDS, 1), forward);
}

#[test]
fn the_key_decides_which_cells_are_kept() {
    let people: Vec<String> = (0..40).map(|i| format!("person-{i}")).collect();
    let rows: Vec<Row> = people.iter().flat_map(|p| heavy(p)).collect();
    let kept = |key| -> Vec<u64> {
        aggregate(&rows, &BOUNDS, key)
            .values()
            .map(|c| c.people)
            .collect()
    };
    assert_eq!(kept(1), kept(1), "the same key keeps the same cells");
    assert_ne!(kept(1), kept(2), "another key keeps other cells");
    // Over many people the keyed choice spreads over all five cells, not the first two.
    assert_eq!(aggregate(&rows, &BOUNDS, 1).len(), 5);
}

#[test]
fn each_period_is_bounded_on_its_own() {
    let rows = vec![
        row("p", 0, "a", 1),
        row("p", 1, "b", 1),
        row("p", 2, "c", 1),
        row("p", 7, "c", 1),
    ];
    let totals = aggregate(&rows, &BOUNDS, 1);
    let week0: u64 = totals
        .iter()
        .filter(|((p, _), _)| *p == 0)
        .map(|(_, c)| c.people)
        .sum();
    assert_eq!(week0, 2);
    assert_eq!(totals[&(7, CellKey::new("c"))].people, 1);
    // Rows outside the report are dropped.
    let only_first = bound_and_aggregate(
        &rows,
        |d| (d < 7).then_some(0),
        &BOUNDS,
        &BoundingKey::new([1; 32]),
    );
    assert!(only_first.keys().all(|(p, _)| *p == 0));
}

#[test]
fn sensitivities_follow_from_the_bounds() {
    let s = |l0, linf| Sensitivity {
        l0,
        linf,
        l1: l0 * linf,
        l2_squared: l0 * linf * linf,
    };
    assert_eq!(BOUNDS.people().unwrap(), s(2, 1));
    assert_eq!(BOUNDS.events().unwrap(), s(2, 3));
    assert_eq!(BOUNDS.sum().unwrap(), s(2, 300));
    for bad in [
        Bounds {
            rows_per_cell_max: 0,
            ..BOUNDS
        },
        Bounds {
            cells_per_person_max: 1001,
            ..BOUNDS
        },
        Bounds {
            value_max: 0,
            ..BOUNDS
        },
    ] {
        assert_eq!(
            bad.validate().unwrap_err().code(),
            "analytics_invalid_parameter"
        );
    }
}

fn rows_strategy() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec((0..6u8, 0..14i32, 0..5u8, 0..500u64), 1..80).prop_map(|rows| {
        rows.into_iter()
            .map(|(p, day, cell, value)| row(&format!("p{p}"), day, &format!("c{cell}"), value))
            .collect()
    })
}

proptest! {
    /// Removing any one person changes at most C cells per period, each by at most 1 person,
    /// N events and N·U of sum: the sensitivities the noise is calibrated to.
    #[test]
    fn removing_one_person_changes_the_aggregates_within_the_sensitivity(rows in rows_strategy(), key in 0..4u8) {
        let with = aggregate(&rows, &BOUNDS, key);
        let people: BTreeSet<PersonKey> = rows.iter().map(|r| r.person.clone()).collect();
        for person in people {
            let without_rows: Vec<Row> = rows.iter().filter(|r| r.person != person).cloned().collect();
            let without = aggregate(&without_rows, &BOUNDS, key);
            let mut changed: BTreeMap<i32, u64> = BTreeMap::new();
            for (cell, a) in &with {
                let b = without.get(cell).copied().unwrap_or_default();
                if *a != b {
                    *changed.entry(cell.0).or_default() += 1;
                }
                prop_assert!(a.people - b.people <= BOUNDS.people().unwrap().linf);
                prop_assert!(a.events - b.events <= BOUNDS.events().unwrap().linf);
                prop_assert!(a.sum - b.sum <= BOUNDS.sum().unwrap().linf);
            }
            prop_assert!(without.keys().all(|cell| with.contains_key(cell)));
            prop_assert!(changed.values().all(|&n| n <= u64::from(BOUNDS.cells_per_person_max)));
        }
    }
}
