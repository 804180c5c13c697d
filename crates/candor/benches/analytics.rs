//! Private analytics: a 30-day conversion report over 1 million stored events, through the
//! store on SQLite — the read of every analytics event and recommendation list of the range,
//! last-touch attribution, contribution bounding, selection, noise, and the budget charge
//! with the release in one transaction. Run with:
//!
//!     cargo bench -p candor --bench analytics
//!
//! Fills a fresh store once (50,000 people, 30 days, 9 in 10 events allowed for analytics,
//! one order per 10 events, a recommendation list before every fourth view), then times
//! several rounds; between rounds the release and the budget rows are deleted so each round
//! computes the report afresh. Prints each round and the median, then the median time of
//! each phase — reading the rows, attributing orders, bounding, selection with noise — timed
//! from the same public steps the report runs.

use std::time::Instant;

use candor_analytics::bound::bound_and_aggregate;
use candor_analytics::{BoundingKey, Bounds, Epsilon, Granularity, ReportConfig, Row, release};
use candor_app::analytics::{
    ConversionInputs, Family, ReportRequest, conversion_rows, day_of, run_report,
};
use candor_app::config::{Config, Overrides};
use candor_domain::policy::Interaction;
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_domain::{PurposeId, SubjectKey};
use candor_store::analytics::AnalyticsRange;
use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;
use candor_store::{EventBatch, Exposure, NewEvent};
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 1_000_000;
const PEOPLE: u32 = 50_000;
const DAYS: i64 = 30;
const ITEMS: u32 = 2_000;
const BATCH_LEN: usize = 10_000;
const ROUNDS: usize = 5;
/// 2026-11-23T00:00:00Z, the day after the data.
const NOW_MS: i64 = 1_795_392_000_000;

fn fill(store: &dyn Store) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(24);
    let start = NOW_MS - DAYS * DAY_MS;
    let with = vec![
        PurposeId::parse("analytics").unwrap(),
        PurposeId::parse("personalization").unwrap(),
    ];
    let without = vec![PurposeId::parse("personalization").unwrap()];
    let mut batch = Vec::with_capacity(BATCH_LEN);
    let mut lists = Vec::new();
    for n in 0..EVENTS {
        let person: u32 = rng.gen_range(0..PEOPLE);
        let subject = SubjectKey::from_bytes({
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&person.to_be_bytes());
            b
        });
        let at = start + rng.gen_range(0..DAYS * DAY_MS);
        let item = rng.gen_range(0..ITEMS);
        let order = n % 10 == 0;
        let (event_type, properties) = if order {
            (
                "Order Completed",
                format!(
                    "{{\"product_id\":\"i{item}\",\"category\":\"c{}\",\"revenue\":{}.{:02}}}",
                    item % 40,
                    rng.gen_range(5..200),
                    rng.gen_range(0..100)
                ),
            )
        } else {
            (
                "Product Viewed",
                format!(
                    "{{\"product_id\":\"i{item}\",\"category\":\"c{}\"}}",
                    item % 40
                ),
            )
        };
        if !order && n % 4 == 1 {
            lists.push(Exposure {
                subject,
                slot: ["home", "pdp", "cart"][n % 3].to_owned(),
                item_id: format!("i{item}"),
                rank: 1,
                at: Timestamp::from_millis(at - 60_000),
                personalized: true,
                provider: "acme".to_owned(),
            });
        }
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(n as u64).to_be_bytes());
        batch.push(NewEvent {
            subject,
            message_hash: hash,
            event_type: event_type.to_owned(),
            item_id: Some(format!("i{item}")),
            properties,
            purposes: if n % 10 == 9 {
                without.clone()
            } else {
                with.clone()
            },
            occurred_at: Timestamp::from_millis(at),
            expires_at: Timestamp::from_millis(NOW_MS + 365 * DAY_MS),
            session_only: false,
            profile: None,
        });
        if batch.len() == BATCH_LEN {
            store
                .insert_events(EventBatch {
                    events: std::mem::take(&mut batch),
                    drops: Vec::new(),
                    now: Some(Timestamp::from_millis(NOW_MS)),
                    half_life_days: 14.0,
                    dedupe_window_ms: 0,
                })
                .unwrap();
            store.record_exposures(&std::mem::take(&mut lists)).unwrap();
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let started = Instant::now();
    fill(&store);
    println!(
        "filled {EVENTS} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let policy = Policy::default_policy();
    let config = Config::resolve(
        "[analytics]\nbudget = { epsilon = 20.0, delta = 1e-3 }",
        Overrides::default(),
    )
    .unwrap();
    let now = Timestamp::from_millis(NOW_MS);
    let request = ReportRequest {
        family: Family::Conversions,
        first_day: day_of(now) - 30,
        last_day: day_of(now) - 1,
        granularity: Granularity::Week,
        country: None,
    };
    let reset =
        rusqlite::Connection::open(dir.path().join(candor_store::sqlite::DATABASE_FILE)).unwrap();
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        reset
            .execute_batch("DELETE FROM analytics_releases; DELETE FROM analytics_budgets;")
            .unwrap();
        let started = Instant::now();
        let outcome = run_report(
            &store,
            &policy,
            &config.analytics,
            b"the bench's server secret",
            &request,
            now,
        )
        .unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let cells: usize = outcome.report.periods.iter().map(|p| p.cells.len()).sum();
        println!("round {round}: {ms:.0} ms, {cells} cells shown");
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "30-day conversion report over {EVENTS} events: median {:.0} ms (aim: under 2000 ms)",
        times[ROUNDS / 2]
    );
    let mut phases: Vec<[f64; 6]> = (0..ROUNDS)
        .map(|_| phases(&store, &policy, &request, now))
        .collect();
    let mut median = |i: usize| {
        phases.sort_by(|a, b| a[i].total_cmp(&b[i]));
        phases[ROUNDS / 2][i]
    };
    println!(
        "phases (median ms): read {:.0}, attribute {:.0}, bound {:.0}, select and noise {:.0}",
        median(0),
        median(1),
        median(2),
        median(3)
    );
    println!(
        "within the read (median ms): the scan of lists and messages {:.0}, of events {:.0}",
        median(4),
        median(5)
    );
}

/// The report's steps, timed one by one, in ms: read, attribute, bound, select and noise, and
/// within the read the scans of the lists and of the events alone.
fn phases(store: &dyn Store, policy: &Policy, request: &ReportRequest, now: Timestamp) -> [f64; 6] {
    let types = |wanted: Interaction| -> Vec<String> {
        policy
            .event_types
            .values()
            .filter(|t| t.interaction == Some(wanted))
            .map(|t| t.name.clone())
            .collect()
    };
    let (purchases, views) = (types(Interaction::Purchase), types(Interaction::View));
    let first_day = request.granularity.period_start(request.first_day);
    let last_day = request.granularity.period_start(request.last_day) + 6;
    let range = AnalyticsRange {
        from: Timestamp::from_millis(i64::from(first_day) * DAY_MS),
        to: Timestamp::from_millis(i64::from(last_day + 1) * DAY_MS),
        country: None,
    };
    // The two scans alone, handing each row to a closure that only counts it.
    let wider = AnalyticsRange {
        from: range.from.plus_millis(-7 * DAY_MS),
        ..range.clone()
    };
    let mut n = 0_u64;
    let started = Instant::now();
    store
        .analytics_touches_each(&wider, &mut |_| n += 1)
        .unwrap();
    let scan_touches = started.elapsed().as_secs_f64() * 1000.0;
    let types: Vec<String> = purchases.iter().chain(&views).cloned().collect();
    let started = Instant::now();
    store
        .analytics_events_each(&wider, &types, &purchases, &mut |_| n += 1)
        .unwrap();
    let scan_events = started.elapsed().as_secs_f64() * 1000.0;
    assert!(n > 0);

    let started = Instant::now();
    let inputs = ConversionInputs::read(store, &purchases, &views, &range, 7).unwrap();
    let read = started.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    let rows: Vec<Row> = conversion_rows(inputs, 7);
    let attributed = started.elapsed().as_secs_f64() * 1000.0;
    let _ = now;
    let bounds = Bounds {
        rows_per_cell_max: 2,
        cells_per_person_max: 1,
        value_max: 20_000,
    };
    let key = BoundingKey::new([7; 32]);
    let granularity = request.granularity;
    let started = Instant::now();
    let totals = bound_and_aggregate(&rows, |d| Some(granularity.period_start(d)), &bounds, &key);
    let bound = started.elapsed().as_secs_f64() * 1000.0;
    assert!(!totals.is_empty());
    let config = ReportConfig {
        granularity,
        first_day,
        last_day,
        bounds,
        people_epsilon: Epsilon::from_micros(500_000),
        selection_delta: candor_analytics::Delta::from_units(10_000_000),
        events: None,
        sum: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let started = Instant::now();
    release(&rows, &config, &key, &mut rng).unwrap();
    let released = started.elapsed().as_secs_f64() * 1000.0;
    [
        read,
        attributed,
        bound,
        (released - bound).max(0.0),
        scan_touches,
        scan_events,
    ]
}
