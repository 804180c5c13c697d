//! Times a 30-day daily conversion report over a million generated events, the aim
//! (under 2 s on two cores):
//!
//!     cargo run --release -p candor-analytics --example throughput

use std::time::Instant;

use candor_analytics::report::Granularity;
use candor_analytics::{
    BoundingKey, Bounds, CellKey, Delta, Epsilon, Measure, Mechanism, PersonKey, ReportConfig, Row,
    release,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const EVENTS: usize = 1_000_000;
const PEOPLE: u32 = 100_000;
const CELLS: u32 = 40;
const FIRST_DAY: i32 = 20_787;

fn main() {
    let mut rng = StdRng::seed_from_u64(1);
    let people: Vec<PersonKey> = (0..PEOPLE)
        .map(|i| PersonKey::new(format!("{i:064x}")))
        .collect();
    let cells: Vec<CellKey> = (0..CELLS)
        .map(|i| CellKey::new(format!("slot-{i}")))
        .collect();
    let rows: Vec<Row> = (0..EVENTS)
        .map(|_| Row {
            person: people[rng.gen_range(0..PEOPLE) as usize].clone(),
            day: FIRST_DAY + rng.gen_range(0..30),
            cell: cells[rng.gen_range(0..CELLS) as usize].clone(),
            value: rng.gen_range(0..20_000),
        })
        .collect();
    let config = ReportConfig {
        granularity: Granularity::Day,
        first_day: FIRST_DAY,
        last_day: FIRST_DAY + 29,
        bounds: Bounds {
            rows_per_cell_max: 3,
            cells_per_person_max: 4,
            value_max: 10_000,
        },
        people_epsilon: Epsilon::parse(0.5).unwrap(),
        selection_delta: Delta::parse(1e-6).unwrap(),
        events: Some(Measure {
            epsilon: Epsilon::parse(0.25).unwrap(),
            mechanism: Mechanism::Laplace,
        }),
        sum: Some(Measure {
            epsilon: Epsilon::parse(0.25).unwrap(),
            mechanism: Mechanism::Laplace,
        }),
    };
    let start = Instant::now();
    let report = release(&rows, &config, &BoundingKey::new([9; 32]), &mut rng).unwrap();
    let elapsed = start.elapsed();
    let shown: usize = report.periods.iter().map(|p| p.cells.len()).sum();
    println!(
        "{EVENTS} events, {} periods, {shown} cells shown: {:.2} s",
        report.periods.len(),
        elapsed.as_secs_f64()
    );
}
