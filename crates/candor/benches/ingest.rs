//! Ingestion throughput: a real `candor serve` over HTTP (batches of 500, several concurrent
//! clients, every batch durable before its 2xx) beside the floor — the same rows inserted
//! straight into SQLite in one transaction, and in commits the size of the server's groups.
//! Run with:
//!
//!     cargo bench -p candor --bench ingest
//!
//! Prints events/s for both and their ratio, median of several rounds. With
//! `CANDOR_BENCH_POSTGRES_URL` set (for example `postgres://postgres@127.0.0.1:5432/postgres`)
//! the same load also runs against a server on PostgreSQL, in a schema of its own, beside
//! PostgreSQL's floor: the same rows written straight into Candor's PostgreSQL schema, one
//! multi-row statement per table per batch, in one transaction and one per batch. With
//! `CANDOR_BENCH_BIN=PATH`, against that `candor` binary instead of this build.
//!
//! On PostgreSQL the same load also runs against two and four `candor serve` instances on one
//! database, the clients turning through them: throughput, its factor against one instance,
//! and per event Candor's CPU time (all instances), PostgreSQL's, and the time the instances'
//! store calls spent waiting on the database.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{Costs, Instances, Meter};

use serde_json::{Value, json};

const BATCH_LEN: usize = 500;
const CLIENTS: usize = 4;
const BATCHES_PER_CLIENT: usize = 40;
const SUBJECTS: usize = 1_000;
const ROUNDS: usize = 3;
/// Events per commit in the grouped floor: two of the four clients' batches, the group size
/// the server's commits reach under this load (most commits carry two batches).
const GROUP_LEN: usize = 1_000;

fn candor() -> Command {
    // `CANDOR_BENCH_BIN` runs another build (an earlier commit, say) beside the same floor.
    let bin =
        std::env::var("CANDOR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor").into());
    let mut c = Command::new(bin);
    c.env("CANDOR_LOG", "warn");
    c
}

fn key(dir: &std::path::Path, scope: &str, env: &[(&str, String)]) -> String {
    let out = candor()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["keys", "create", "--scope", scope, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// `n` instances of `candor serve` on the store `env` selects, sharing the data directory (and
/// so the server secret) and the configuration, each on a port of its own.
fn start(dir: &std::path::Path, env: &[(&str, String)], n: usize) -> Instances {
    Instances::start(
        n,
        |_| {
            let mut c = candor();
            c.envs(env.iter().map(|(k, v)| (k, v)))
                .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
                .arg(dir);
            c
        },
        &[],
    )
}

fn event(round: usize, client: usize, batch: usize, i: usize) -> Value {
    let n = (client * BATCHES_PER_CLIENT + batch) * BATCH_LEN + i;
    json!({"type": "track", "event": "Product Viewed", "userId": format!("bench-{}", n % SUBJECTS),
           "messageId": format!("r{round}-{n}"),
           "properties": {"product_id": format!("sku-{}", n % 997), "category": "Running", "price": 19.5}})
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One round of the load; client `c` sends its `b`-th batch to instance `(c + b) % n`, so the
/// same clients turn through every instance. Events/s and the costs per event.
async fn http_round(
    instances: &Instances,
    meter: &Meter,
    ingest: &str,
    round: usize,
) -> (f64, Costs) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let bases = Arc::new(instances.bases.clone());
    // Build the bodies first: the client's JSON work is not what is being measured.
    let bodies: Vec<Vec<String>> = (0..CLIENTS)
        .map(|c| {
            (0..BATCHES_PER_CLIENT)
                .map(|b| json!({"events": (0..BATCH_LEN).map(|i| event(round, c, b, i)).collect::<Vec<_>>()}).to_string())
                .collect()
        })
        .collect();
    let before = meter.sample(&http, instances).await;
    let start = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(c, batches)| {
            let http = http.clone();
            let bases = Arc::clone(&bases);
            let key = ingest.to_owned();
            tokio::spawn(async move {
                let mut accepted = 0u64;
                for (b, body) in batches.into_iter().enumerate() {
                    let url = format!("{}/v1/events", bases[(c + b) % bases.len()]);
                    let r = http
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let v: Value = r.json().await.unwrap();
                    accepted += v["accepted"].as_u64().unwrap();
                }
                accepted
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let after = meter.sample(&http, instances).await;
    assert_eq!(
        accepted as usize,
        CLIENTS * BATCHES_PER_CLIENT * BATCH_LEN,
        "every event accepted"
    );
    (
        accepted as f64 / secs,
        Costs::between(&before, &after, accepted as f64),
    )
}

/// A well-spread 32-byte value, standing in for keyed hashes of subjects and message ids.
fn spread(a: u64, b: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut x = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b;
    for chunk in out.chunks_mut(8) {
        // SplitMix64.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

/// The rows one batch of a floor round writes: per event its subject key, message id, item
/// and properties; per subject of the batch (in key order) its profile document.
struct FloorBatch {
    keys: Vec<Vec<u8>>,
    hashes: Vec<Vec<u8>>,
    items: Vec<String>,
    props: Vec<String>,
    profile_keys: Vec<Vec<u8>>,
    profiles: Vec<String>,
}

/// Batch `batch` of round `round`, the same for the SQLite and PostgreSQL floors.
fn floor_batch(batch: usize, round: usize) -> FloorBatch {
    let mut b = FloorBatch {
        keys: Vec::with_capacity(BATCH_LEN),
        hashes: Vec::with_capacity(BATCH_LEN),
        items: Vec::with_capacity(BATCH_LEN),
        props: Vec::with_capacity(BATCH_LEN),
        profile_keys: Vec::new(),
        profiles: Vec::new(),
    };
    let mut subjects = std::collections::BTreeSet::new();
    for k in 0..BATCH_LEN {
        let i = batch * BATCH_LEN + k;
        subjects.insert((i % SUBJECTS) as u64);
        let item = format!("sku-{}", i % 997);
        b.props.push(format!(
            "{{\"product_id\":\"{item}\",\"category\":\"Running\",\"price\":19.5}}"
        ));
        b.items.push(item);
        b.keys.push(spread(1, (i % SUBJECTS) as u64).to_vec());
        b.hashes.push(spread(2 + round as u64, i as u64).to_vec());
    }
    for s in subjects {
        b.profile_keys.push(spread(1, s).to_vec());
        b.profiles.push(format!(
            "{{\"affinities\":{{\"Running\":{{\"value\":{s}.5,\"as_of\":{round}}}}},\"n_views\":{s},\"n_adds\":0,\"n_purchases\":0,\"last_seen\":{round}}}"
        ));
    }
    b
}

/// The floor: the same rows Candor writes for these events — each event, its message id for
/// deduplication, and one profile upsert per subject per batch — inserted straight into
/// Candor's own SQLite schema, fsync on commit, with no HTTP, no parsing and no consent gate;
/// one transaction for the round, or one per `per_commit` events (each fsync'd, as group
/// commits are) when given.
fn floor_round(dir: &std::path::Path, round: usize, per_commit: Option<usize>) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("candor.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .unwrap();
    // Commits the size of the server's groups, on the server writer's settings: its page cache
    // and memory map, and checkpoints on another connection twice a second instead of inline.
    let checkpointer = per_commit.map(|_| {
        conn.execute_batch(
            "PRAGMA cache_size = -262144; PRAGMA mmap_size = 1099511627776;
             PRAGMA wal_autocheckpoint = 65536;",
        )
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let path = dir.join("candor.db");
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let c = rusqlite::Connection::open(path).unwrap();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let _ = c.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            }
        });
        (stop, thread)
    });
    let n = CLIENTS * BATCHES_PER_CLIENT * BATCH_LEN;
    let start = Instant::now();
    conn.execute_batch("BEGIN").unwrap();
    {
        let mut event = conn
            .prepare(
                "INSERT INTO events (subject_key, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction)
                 VALUES (?1, 'Product Viewed', ?2, ?3, 'analytics,personalization', ?4, ?4, ?5, 0, 'view')",
            )
            .unwrap();
        let mut seen = conn
            .prepare("INSERT INTO seen_messages (message_hash, seen_at) VALUES (?1, ?2)")
            .unwrap();
        let mut profile = conn
            .prepare(
                "INSERT INTO profiles (subject_key, profile, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
            )
            .unwrap();
        for batch in 0..n / BATCH_LEN {
            let b = floor_batch(batch, round);
            for k in 0..BATCH_LEN {
                seen.execute(rusqlite::params![b.hashes[k], round as i64])
                    .unwrap();
                event
                    .execute(rusqlite::params![
                        b.keys[k],
                        b.items[k],
                        b.props[k],
                        round as i64,
                        i64::MAX
                    ])
                    .unwrap();
            }
            for (key, text) in b.profile_keys.iter().zip(&b.profiles) {
                profile
                    .execute(rusqlite::params![key, text, round as i64])
                    .unwrap();
            }
            if per_commit.is_some_and(|every| ((batch + 1) * BATCH_LEN).is_multiple_of(every)) {
                conn.execute_batch("COMMIT; BEGIN").unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    if let Some((stop, thread)) = checkpointer {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        thread.join().unwrap();
    }
    rate
}

/// PostgreSQL's floor: the same rows as a round of the server's load, written straight into
/// a fresh schema made by Candor's own migrations — per batch of [`BATCH_LEN`] one multi-row
/// statement per table (`INSERT … SELECT FROM unnest(…)`, prepared once), fsync on commit —
/// in one transaction for the round, or one per `per_commit` events when given. One
/// connection, no HTTP, no parsing, no consent gate, no deduplication check, no profile read.
fn pg_floor_round(url: &str, schema: &str, round: usize, per_commit: Option<usize>) -> f64 {
    let mut c = candor_store::postgres::connect_client(url).unwrap();
    c.batch_execute(&format!(
        "SET search_path = {schema}; SET synchronous_commit = on"
    ))
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // A month partition the store made at start.
    let expires = now + 30 * 86_400_000;
    let seen = c
        .prepare(
            "INSERT INTO seen_messages (message_hash, seen_at)
             SELECT h, $2 FROM unnest($1::bytea[]) AS u (h)",
        )
        .unwrap();
    let event = c
        .prepare(
            "INSERT INTO events (subject_key, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction)
             SELECT k, 'Product Viewed', i, p, 'analytics,personalization', $4, $4, $5, FALSE, 'view'
             FROM unnest($1::bytea[], $2::text[], $3::text[]) AS u (k, i, p)",
        )
        .unwrap();
    let profile = c
        .prepare(
            "INSERT INTO profiles (subject_key, profile, updated_at)
             SELECT k, p, $3 FROM unnest($1::bytea[], $2::text[]) AS u (k, p)
             ON CONFLICT (subject_key) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        )
        .unwrap();
    let n = CLIENTS * BATCHES_PER_CLIENT * BATCH_LEN;
    let start = Instant::now();
    c.batch_execute("BEGIN").unwrap();
    for batch in 0..n / BATCH_LEN {
        let b = floor_batch(batch, round);
        c.execute(&seen, &[&b.hashes, &now]).unwrap();
        c.execute(&event, &[&b.keys, &b.items, &b.props, &now, &expires])
            .unwrap();
        c.execute(&profile, &[&b.profile_keys, &b.profiles, &now])
            .unwrap();
        if per_commit.is_some_and(|every| ((batch + 1) * BATCH_LEN).is_multiple_of(every)) {
            c.batch_execute("COMMIT; BEGIN").unwrap();
        }
    }
    c.batch_execute("COMMIT").unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

/// Rounds of [`pg_floor_round`] on a fresh schema migrated by the store, then dropped.
fn pg_floor_rates(url: &str, per_commit: Option<usize>) -> Vec<f64> {
    let schema = format!("candor_bench_{}_floor", std::process::id());
    let mut admin = candor_store::postgres::connect_client(url).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    drop(candor_store::postgres::PostgresStore::connect(url, Some(&schema)).unwrap());
    let rates = (0..ROUNDS)
        .map(|r| pg_floor_round(url, &schema, r, per_commit))
        .collect();
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    rates
}

/// Events/s and costs per event of each round against `n` instances, after every subject
/// granted consent. `pg` names the database and the `application_name` the instances connect
/// with, to measure PostgreSQL's CPU time and the time spent waiting on it.
fn server_rates(env: &[(&str, String)], n: usize, pg: Option<(&str, &str)>) -> Vec<(f64, Costs)> {
    let dir = tempfile::tempdir().unwrap();
    let ingest = key(dir.path(), "ingest", env);
    let meter = match pg {
        Some((url, app)) => Meter::postgres(url, app, &key(dir.path(), "admin", env)),
        None => Meter::cpu_only(),
    };
    let instances = start(dir.path(), env, n);
    let base = instances.bases[0].clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        // Everyone grants analytics and personalization, so the full gate runs on every event.
        for s in 0..SUBJECTS {
            let body = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}, {"purpose": "personalization", "decision": "granted"}]});
            http.put(format!("{base}/v1/subjects/bench-{s}/consents"))
                .bearer_auth(&ingest)
                .json(&body)
                .send()
                .await
                .unwrap();
        }
        let mut rates = Vec::new();
        for round in 0..ROUNDS {
            rates.push(http_round(&instances, &meter, &ingest, round).await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        rates
    })
}

/// A fresh schema on the PostgreSQL server: the storage URL that selects it (connecting as
/// `application_name`), and its name.
fn postgres_env(
    url: &str,
    suffix: &str,
    application_name: &str,
) -> (Vec<(&'static str, String)>, String) {
    let schema = format!("candor_bench_{}{suffix}", std::process::id());
    let mut c = candor_store::postgres::connect_client(url)
        .expect("CANDOR_BENCH_POSTGRES_URL is set but unreachable");
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .unwrap();
    let storage = common::storage_url(url, &schema, application_name);
    (vec![("CANDOR_STORAGE_URL", storage)], schema)
}

/// Instance counts the PostgreSQL rounds run with, the same clients and load for each.
const INSTANCES: [usize; 3] = [1, 2, 4];

/// An instance count and its rounds' events/s and costs per event.
type InstancesRun = (usize, Vec<(f64, Costs)>);

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing and
    // should not spend a minute here.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ingest bench: run with `cargo bench -p candor --bench ingest`");
        return;
    }
    let sqlite_rounds = server_rates(&[], 1, None);
    let sqlite_rates: Vec<f64> = sqlite_rounds.iter().map(|r| r.0).collect();
    let pg = std::env::var("CANDOR_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    // Each instance count on a fresh schema, so every run starts from the same database.
    let pg_runs: Option<Vec<InstancesRun>> = pg.as_deref().map(|url| {
        INSTANCES
            .iter()
            .map(|&n| {
                let app = format!("candor_bench_{}_{n}", std::process::id());
                let (env, schema) = postgres_env(url, &format!("_{n}"), &app);
                let rounds = server_rates(&env, n, Some((url, &app)));
                let mut c = candor_store::postgres::connect_client(url).unwrap();
                c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .unwrap();
                (n, rounds)
            })
            .collect()
    });
    let pg_rates: Option<Vec<f64>> = pg_runs
        .as_ref()
        .and_then(|runs| runs.first())
        .map(|(_, rounds)| rounds.iter().map(|r| r.0).collect());
    let floor_dir = tempfile::tempdir().unwrap();
    drop(candor_store_schema(floor_dir.path()));
    let floor_rates: Vec<f64> = (0..ROUNDS)
        .map(|r| floor_round(floor_dir.path(), r, None))
        .collect();
    // What durable commits the size of the server's groups cost with no server around them:
    // the ceiling for any server over this schema at this concurrency.
    let grouped_dir = tempfile::tempdir().unwrap();
    drop(candor_store_schema(grouped_dir.path()));
    let grouped_rates: Vec<f64> = (0..ROUNDS)
        .map(|r| floor_round(grouped_dir.path(), r, Some(GROUP_LEN)))
        .collect();
    let (h, f) = (median(sqlite_rates.clone()), median(floor_rates.clone()));
    println!(
        "events per round: {}",
        CLIENTS * BATCHES_PER_CLIENT * BATCH_LEN
    );
    let sqlite_cpu = sqlite_rounds
        .iter()
        .map(|r| r.1.candor_cpu_us)
        .collect::<Option<Vec<f64>>>()
        .map_or_else(String::new, |v| {
            format!(", Candor CPU {:.0} µs/event", common::median(v))
        });
    println!(
        "candor on SQLite over HTTP ({CLIENTS} clients, batches of {BATCH_LEN}): {h:.0} events/s{sqlite_cpu} (rounds: {sqlite_rates:.0?})"
    );
    if let (Some(rates), Some(url)) = (pg_rates, pg.as_deref()) {
        let p = median(rates.clone());
        println!(
            "candor on PostgreSQL over HTTP, same load: {p:.0} events/s (rounds: {rates:.0?})"
        );
        println!("ratio PostgreSQL/SQLite: {:.2}", p / h);
        let one = pg_floor_rates(url, None);
        let f = median(one.clone());
        println!(
            "PostgreSQL floor, the same rows straight into Candor's schema in one transaction: {f:.0} events/s (rounds: {one:.0?})"
        );
        println!("ratio candor on PostgreSQL/PostgreSQL floor: {:.2}", p / f);
        let batched = pg_floor_rates(url, Some(BATCH_LEN));
        let b = median(batched.clone());
        println!(
            "the same rows committed {BATCH_LEN} at a time (one transaction per batch, as Candor commits on PostgreSQL): {b:.0} events/s (rounds: {batched:.0?})"
        );
        println!(
            "ratio candor on PostgreSQL/PostgreSQL floor per batch: {:.2}",
            p / b
        );
    }
    if let Some(runs) = &pg_runs {
        let mut one = None;
        for (n, rounds) in runs {
            let line = common::scaling_line(
                &format!("candor on PostgreSQL, {n} instance(s), same {CLIENTS} clients"),
                "event",
                rounds,
                one,
            );
            one = one.or(Some(line));
        }
    }
    println!(
        "floor, the same rows inserted straight into SQLite in one transaction: {f:.0} events/s (rounds: {floor_rates:.0?})"
    );
    println!("ratio candor/floor: {:.2}", h / f);
    let g = median(grouped_rates.clone());
    println!(
        "the same rows committed {GROUP_LEN} at a time (the server's group commits): {g:.0} events/s (rounds: {grouped_rates:.0?})"
    );
    println!("ratio candor/grouped floor: {:.2}", h / g);
}

/// Creates Candor's schema in `dir` by starting and stopping `keys create` (which opens the
/// store and runs the migrations).
fn candor_store_schema(dir: &std::path::Path) -> String {
    key(dir, "admin", &[])
}
