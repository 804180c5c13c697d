//! Retention on PostgreSQL's time partitions: removing a month of expired events, by
//! dropping its partition, beside deleting the same rows one by one. Run with:
//!
//!     CANDOR_BENCH_POSTGRES_URL=postgres://root@127.0.0.1/test \
//!         cargo bench -p candor --bench retention
//!
//! For each size (100,000 and 1,000,000 events), a fresh schema gets one month of expired
//! events (February 2031; ten per person, all feeding the profile) and one live event per
//! person in the next month, written straight into Candor's tables with `INSERT … SELECT`,
//! then vacuumed and analysed as autovacuum leaves a month-old partition. Then, timed:
//!
//! - detach: `detach_expired_event_months` at March 10, 2031, the first step of
//!   `delete_expired`, after which no query sees February's rows;
//! - note and drop: the rest of `delete_expired`, which queues the detached month's people for
//!   a profile rebuild, counts its rows and drops it, then deletes the expired rows left
//!   elsewhere (none);
//! - rebuild: the queued profiles rebuilt by `rebuild_queued_profiles`, 500 people per
//!   transaction, as the retention job does after the drop;
//! - rows: the same month stored in the DEFAULT partition (no month partition made), removed
//!   by `delete_expired`'s row-by-row path in the job's chunks of 5,000, which rebuilds the
//!   profiles as it goes (at 100,000 events only: at 1,000,000 it takes most of an hour).
//!
//! Prints every round and the medians.

use std::time::Instant;

use candor_domain::time::Timestamp;
use candor_store::postgres::PostgresStore;
use candor_store::prelude::*;

const SIZES: [i64; 2] = [100_000, 1_000_000];
const EVENTS_PER_PERSON: i64 = 10;
const DROP_ROUNDS: usize = 3;
const ROW_ROUNDS: usize = 1;
/// The row-by-row path runs only up to this size: at 1M events it takes most of an hour.
const ROW_MAX: i64 = 100_000;
/// The retention job's chunks (candor-app's `jobs`).
const EXPIRED_CHUNK_LEN: u32 = 5_000;
const SUBJECTS_PAGE_LEN: u32 = 500;
const HALF_LIFE_DAYS: f64 = 30.0;

fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).unwrap()
}

/// A fresh schema holding `n` expired events of February 2031 (in its month partition when
/// `partitioned`, else in the DEFAULT partition) and one live March event per person.
fn fill(url: &str, schema: &str, n: i64, partitioned: bool) -> PostgresStore {
    let mut admin = candor_store::postgres::connect_client(url)
        .expect("CANDOR_BENCH_POSTGRES_URL is set but unreachable");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let store = PostgresStore::connect(url, Some(schema)).unwrap();
    if partitioned {
        store
            .prepare_partitions(at("2031-01-02T00:00:00Z"))
            .unwrap();
    }
    // The months made at start (from today's) and January 2031 are empty and expired by
    // March: gone before the timed pass, which then has February alone to remove.
    store
        .delete_expired(
            at("2031-02-01T00:00:00Z"),
            EXPIRED_CHUNK_LEN,
            HALF_LIFE_DAYS,
            1,
        )
        .unwrap();
    let feb = at("2031-02-01T00:00:00Z").as_millis();
    let month_ms = at("2031-03-01T00:00:00Z").as_millis() - feb;
    let live = at("2031-03-20T00:00:00Z").as_millis();
    let people = n / EVENTS_PER_PERSON;
    let profile =
        "{\"affinities\":{},\"n_views\":0,\"n_adds\":0,\"n_purchases\":0,\"last_seen\":null}";
    admin
        .batch_execute(&format!(
            "SET search_path = {schema};
             INSERT INTO events (subject_key, event_type, item_id, properties, purposes,
                    occurred_at, received_at, expires_at, session_only, interaction)
                SELECT sha256(int8send(g % {people})), 'Product Viewed', NULL,
                       '{{\"category\":\"Running\"}}', 'personalization', {feb} - 86400000,
                       {feb} - 86400000, {feb} + (g * {month_ms}) / {n}, FALSE, 'view'
                FROM generate_series(0, {n} - 1) AS g;
             INSERT INTO events (subject_key, event_type, item_id, properties, purposes,
                    occurred_at, received_at, expires_at, session_only, interaction)
                SELECT sha256(int8send(p)), 'Product Viewed', NULL,
                       '{{\"category\":\"Hiking\"}}', 'personalization', {feb}, {feb}, {live},
                       FALSE, 'view'
                FROM generate_series(0, {people} - 1) AS p;
             INSERT INTO profiles (subject_key, profile, updated_at)
                SELECT sha256(int8send(p)), '{profile}', {feb} FROM generate_series(0, {people} - 1) AS p;
"
        ))
        .unwrap();
    // Alone: a multi-statement batch is one transaction, which VACUUM refuses.
    admin
        .batch_execute(&format!(
            "VACUUM ANALYZE {schema}.events, {schema}.profiles"
        ))
        .unwrap();
    store
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("retention bench: run with `cargo bench -p candor --bench retention`");
        return;
    }
    let Ok(url) = std::env::var("CANDOR_BENCH_POSTGRES_URL") else {
        println!("retention bench: set CANDOR_BENCH_POSTGRES_URL to a PostgreSQL server");
        return;
    };
    let schema = format!("candor_bench_retention_{}", std::process::id());
    let now = at("2031-03-10T00:00:00Z");
    for n in SIZES {
        let (mut detaches, mut drops, mut rebuilds) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..DROP_ROUNDS {
            let store = fill(&url, &schema, n, true);
            let t = Instant::now();
            let detached = store.detach_expired_event_months(now).unwrap();
            let detach_s = t.elapsed().as_secs_f64();
            assert_eq!(detached, 1, "February is detached");
            let t = Instant::now();
            let deleted = store
                .delete_expired(now, EXPIRED_CHUNK_LEN, HALF_LIFE_DAYS, 1)
                .unwrap();
            let drop_s = t.elapsed().as_secs_f64();
            assert_eq!(deleted, n as u64, "the whole month goes in one call");
            let t = Instant::now();
            let mut rebuilt = 0;
            loop {
                let k = store
                    .rebuild_queued_profiles(SUBJECTS_PAGE_LEN, HALF_LIFE_DAYS, now)
                    .unwrap();
                rebuilt += k;
                if k < u64::from(SUBJECTS_PAGE_LEN) {
                    break;
                }
            }
            let rebuild_s = t.elapsed().as_secs_f64();
            assert_eq!(rebuilt, (n / EVENTS_PER_PERSON) as u64);
            println!(
                "events {n:>9}  round {round}  detach {detach_s:>7.3} s  note and drop {drop_s:>7.3} s  queued rebuild of {rebuilt} profiles {rebuild_s:>7.3} s"
            );
            detaches.push(detach_s);
            drops.push(drop_s);
            rebuilds.push(rebuild_s);
        }
        let mut rows = Vec::new();
        for round in 0..if n <= ROW_MAX { ROW_ROUNDS } else { 0 } {
            let store = fill(&url, &schema, n, false);
            let t = Instant::now();
            let mut deleted = 0;
            loop {
                let k = store
                    .delete_expired(now, EXPIRED_CHUNK_LEN, HALF_LIFE_DAYS, 1)
                    .unwrap();
                deleted += k;
                if k < u64::from(EXPIRED_CHUNK_LEN) {
                    break;
                }
            }
            let rows_s = t.elapsed().as_secs_f64();
            assert_eq!(deleted, n as u64);
            println!("events {n:>9}  round {round}  row by row (with rebuilds) {rows_s:>8.3} s");
            rows.push(rows_s);
        }
        let (x, d, r) = (median(detaches), median(drops), median(rebuilds));
        print!(
            "events {n:>9}  median detach {x:.3} s, note and drop {d:.3} s, queued rebuild {r:.3} s, all {:.3} s",
            x + d + r
        );
        if rows.is_empty() {
            println!();
        } else {
            let w = median(rows);
            println!("; row by row {w:.3} s ({:.1}x the whole)", w / (x + d + r));
        }
    }
    if let Ok(mut c) = candor_store::postgres::connect_client(&url) {
        let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}
