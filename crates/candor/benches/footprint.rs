//! What a deployment on PostgreSQL stores per event and per subject, measured on a generated
//! database of ten million events (the figures `docs/deployment.md` sizes with). Run with:
//!
//!     CANDOR_BENCH_POSTGRES_URL=postgres://root@127.0.0.1/test cargo bench -p candor --bench footprint
//!
//! A real `candor serve` in a fresh schema takes a sample through HTTP — subjects granting
//! consent, then a mix of product views, cart additions, orders and page views — and the
//! write-ahead log it writes per event is read off the server. The sample's rows are then
//! copied inside the database, each copy under new subject keys and message hashes (a keyed
//! hash of the originals), until the events reach `CANDOR_FOOTPRINT_EVENTS` (default
//! 10,000,000): every row is one Candor wrote, so row and index sizes are Candor's own, at the
//! scale where index depth and page fill settle. Prints rows, bytes per row of table and of
//! indexes for each table (partitions summed into their table), and the totals per event and
//! per subject. The schema is dropped at the end unless `CANDOR_FOOTPRINT_KEEP` is set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

/// Subjects in the sample, and events each.
const SAMPLE_SUBJECTS: usize = 2_000;
const EVENTS_PER_SUBJECT: usize = 50;
const BATCH_LEN: usize = 500;

fn candor() -> Command {
    let bin =
        std::env::var("CANDOR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor").into());
    let mut c = Command::new(bin);
    c.env("CANDOR_LOG", "warn");
    c
}

/// The `n`th event of subject `s`: the mix a shop's site sends.
fn event(s: usize, n: usize) -> Value {
    let user = format!("footprint-{s}");
    let id = format!("m-{s}-{n}");
    let sku = format!("sku-{}", (s * 31 + n * 7) % 4_999);
    let category = ["Running", "Outdoor", "Kitchen", "Books", "Garden"][(s + n) % 5];
    match n % 10 {
        0..=5 => {
            json!({"type": "track", "event": "Product Viewed", "userId": user, "messageId": id,
                        "properties": {"product_id": sku, "category": category, "price": 19.5 + (n % 40) as f64}})
        }
        6 | 7 => json!({"type": "track", "event": "Product Added", "userId": user, "messageId": id,
                        "properties": {"product_id": sku, "category": category, "price": 24.0, "quantity": 1}}),
        8 => json!({"type": "track", "event": "Order Completed", "userId": user, "messageId": id,
                    "properties": {"order_id": format!("o-{s}-{n}"), "revenue": 64.5, "currency": "EUR"}}),
        _ => json!({"type": "page", "name": "Category", "userId": user, "messageId": id,
                    "properties": {"path": format!("/c/{}", category.to_lowercase()), "title": category}}),
    }
}

fn sql_one<T>(c: &mut postgres::Client, sql: &str) -> T
where
    T: for<'a> postgres::types::FromSql<'a>,
{
    c.query_one(sql, &[]).unwrap().get(0)
}

/// Takes the sample through a real server; returns the write-ahead log bytes per event.
fn ingest_sample(storage: &str, admin: &mut postgres::Client) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let env = [("CANDOR_STORAGE_URL", storage)];
    let out = candor()
        .envs(env)
        .args(["keys", "create", "--scope", "ingest", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let mut server = candor()
        .envs(env)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let wal_before: String = sql_one(admin, "SELECT pg_current_wal_lsn()::text");
    rt.block_on(async {
        let http = reqwest::Client::new();
        for s in 0..SAMPLE_SUBJECTS {
            let body = json!({"decisions": [{"purpose": "analytics", "decision": "granted"},
                                             {"purpose": "personalization", "decision": "granted"}]});
            let r = http
                .put(format!("{base}/v1/subjects/footprint-{s}/consents"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
        // Interleaved like a site's traffic: each batch holds many subjects' events.
        let all: Vec<Value> = (0..EVENTS_PER_SUBJECT)
            .flat_map(|n| (0..SAMPLE_SUBJECTS).map(move |s| event(s, n)))
            .collect();
        for chunk in all.chunks(BATCH_LEN) {
            let r = http
                .post(format!("{base}/v1/events"))
                .bearer_auth(&key)
                .json(&json!({ "events": chunk }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["accepted"].as_u64(), Some(chunk.len() as u64), "{v}");
        }
    });
    let wal: f64 = sql_one(
        admin,
        &format!("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal_before}')::float8"),
    );
    let _ = server.kill();
    let _ = server.wait();
    let events = (SAMPLE_SUBJECTS * EVENTS_PER_SUBJECT) as f64;
    println!(
        "sample: {SAMPLE_SUBJECTS} subjects granting consent, then {events:.0} events in batches of {BATCH_LEN}, over HTTP"
    );
    wal / events
}

/// Copies the sample's rows of `table` (kept aside in `footprint_sample_{table}`) once more,
/// under new keys: each key column becomes a
/// hash of itself and the copy's number; identity columns take fresh values.
fn replicate(c: &mut postgres::Client, schema: &str, table: &str, copy: i32) -> u64 {
    let columns: Vec<(String, bool)> = c
        .query(
            "SELECT column_name::text, coalesce(is_identity = 'YES' OR column_default LIKE 'nextval%', false)
             FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
             ORDER BY ordinal_position",
            &[&schema, &table],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let kept: Vec<&str> = columns
        .iter()
        .filter(|(_, identity)| !identity)
        .map(|(n, _)| n.as_str())
        .collect();
    let select: Vec<String> = kept
        .iter()
        .map(|n| match *n {
            "subject_key" | "message_hash" | "from_key" | "to_key" => {
                format!("sha256({n} || int4send({copy}))")
            }
            other => other.to_owned(),
        })
        .collect();
    c.execute(
        &format!(
            "INSERT INTO {table} ({}) SELECT {} FROM footprint_sample_{table}",
            kept.join(", "),
            select.join(", "),
        ),
        &[],
    )
    .unwrap()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("footprint bench: run with `cargo bench -p candor --bench footprint`");
        return;
    }
    let Some(url) = std::env::var("CANDOR_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("footprint bench: needs CANDOR_BENCH_POSTGRES_URL (a PostgreSQL server)");
        return;
    };
    let target: u64 = std::env::var("CANDOR_FOOTPRINT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let schema = format!("candor_footprint_{}", std::process::id());
    let mut c = candor_store::postgres::connect_client(&url).unwrap();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let storage = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let wal_per_event = ingest_sample(&storage, &mut c);
    c.batch_execute(&format!("SET search_path = {schema}"))
        .unwrap();

    // The per-subject and per-event tables that hold rows after the sample.
    let tables: Vec<String> = c
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname IN ('subject_key', 'message_hash')
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY 1",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let sample_events: i64 = sql_one(&mut c, "SELECT count(*) FROM events");
    let copies = (target as i64 + sample_events - 1) / sample_events - 1;
    let started = Instant::now();
    let mut filled = Vec::new();
    for t in &tables {
        let n: i64 = sql_one(&mut c, &format!("SELECT count(*) FROM {t}"));
        if n > 0 {
            c.batch_execute(&format!(
                "CREATE TABLE footprint_sample_{t} AS SELECT * FROM {t}"
            ))
            .unwrap();
            filled.push(t.clone());
        }
    }
    for copy in 1..=copies {
        for t in &filled {
            replicate(&mut c, &schema, t, copy as i32);
        }
    }
    for t in &filled {
        c.batch_execute(&format!("DROP TABLE footprint_sample_{t}"))
            .unwrap();
    }
    println!(
        "copied the sample {copies} times inside the database in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    c.batch_execute("VACUUM ANALYZE").unwrap();

    let events: i64 = sql_one(&mut c, "SELECT count(*) FROM events");
    let subjects: i64 = sql_one(&mut c, "SELECT count(*) FROM subjects");
    println!("events: {events}, subjects: {subjects}");
    println!("| table | rows | table bytes/row | index bytes/row | total MB |");
    println!("|---|---|---|---|---|");
    let (mut per_event, mut per_subject, mut total) = (0.0, 0.0, 0.0);
    for t in &tables {
        // A partitioned table's size is its partitions'.
        let r = c
            .query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM {t}),
                            coalesce(sum(pg_table_size(r)), 0)::float8,
                            coalesce(sum(pg_indexes_size(r)), 0)::float8
                     FROM (SELECT relid AS r FROM pg_partition_tree('{t}'::regclass) WHERE isleaf
                           UNION SELECT '{t}'::regclass) AS parts"
                ),
                &[],
            )
            .unwrap();
        let (rows, heap, index): (i64, f64, f64) = (r.get(0), r.get(1), r.get(2));
        if rows == 0 {
            continue;
        }
        let mb = (heap + index) / 1e6;
        total += heap + index;
        println!(
            "| `{t}` | {rows} | {:.0} | {:.0} | {mb:.0} |",
            heap / rows as f64,
            index / rows as f64
        );
        // Tables that grow with events are charged to events, the rest to subjects.
        if matches!(t.as_str(), "events" | "seen_messages") {
            per_event += (heap + index) / events as f64;
        } else {
            per_subject += (heap + index) / subjects as f64;
        }
    }
    println!(
        "per event (events and message ids, table and indexes): {per_event:.0} bytes; per subject (everything else): {per_subject:.0} bytes; all: {:.2} GB",
        total / 1e9
    );
    println!(
        "write-ahead log per event while ingesting the sample over HTTP: {wal_per_event:.0} bytes"
    );
    if std::env::var_os("CANDOR_FOOTPRINT_KEEP").is_none() {
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    } else {
        println!("kept schema {schema}");
    }
}
