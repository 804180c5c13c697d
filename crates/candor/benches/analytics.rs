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
//! computes the report afresh. Prints each round and the median.

use std::time::Instant;

use candor_analytics::Granularity;
use candor_app::analytics::{Family, ReportRequest, day_of, run_report};
use candor_app::config::{Config, Overrides};
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_domain::{PurposeId, SubjectKey};
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
}
