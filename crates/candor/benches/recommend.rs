//! Serving throughput: the recommendations endpoint beside `/healthz` on one real server (the
//! demo shop: 240 items, 500 people), at the same concurrency, in the same run. Run with:
//!
//!     cargo bench -p candor --bench recommend
//!
//! Prints requests/s and p50/p99 latency of both and the throughput ratio, median of several
//! rounds, and the server's CPU time per request (from `/proc`, where there is one): on a
//! machine shared with other work, throughput moves with the load, CPU time per request much
//! less. With `CANDOR_BENCH_POSTGRES_URL` set, the same runs against a demo on PostgreSQL;
//! with `CANDOR_BENCH_BIN=PATH`, against that `candor` binary instead of this build.
//!
//! A second SQLite server runs the same rounds with experiments defined: one A/B test on the
//! `home` slot every request names (half the people see five items) and nine on other slots,
//! so what each request pays for finding, assigning and recording its experiment shows beside
//! the run without any.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{Round, summary};

const CLIENTS: usize = 8;
const ROUND: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;
const SUBJECTS: usize = 500;

struct Server {
    child: Child,
    base: String,
    decide: String,
    admin: String,
}

/// Experiments defined on the server before the rounds: one on `home`, nine elsewhere.
const EXPERIMENTS: usize = 10;

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `candor demo` in a fresh directory and reads its address and decide key.
fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Server {
    // `CANDOR_BENCH_BIN` runs another build (an earlier commit, say) under the same load.
    let bin =
        std::env::var("CANDOR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor").into());
    let mut child = Command::new(bin)
        .env("CANDOR_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["demo", "--bind", "127.0.0.1:0", "--subjects"])
        .arg(SUBJECTS.to_string())
        .arg("--data-dir")
        .arg(dir.join("demo"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start candor demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut decide, mut admin) = (None, None, None);
    while base.is_none() || decide.is_none() || admin.is_none() {
        let line = lines.next().expect("demo output").unwrap();
        if let Some(addr) = line.strip_prefix("candor listening on ") {
            base = Some(addr.trim().to_owned());
        } else if let Some(key) = line.strip_prefix("decide key: ") {
            decide = Some(key.trim().to_owned());
        } else if let Some(key) = line.strip_prefix("admin key: ") {
            admin = Some(key.trim().to_owned());
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: base.unwrap(),
        decide: decide.unwrap(),
        admin: admin.unwrap(),
    }
}

/// Defines [`EXPERIMENTS`] experiments: an A/B test on `home` (B shows five items) and the
/// same on nine other slots, all running from an hour ago.
async fn define_experiments(http: &reqwest::Client, server: &Server) {
    let start_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    for i in 0..EXPERIMENTS {
        let slot = if i == 0 {
            "home".to_owned()
        } else {
            format!("other-{i}")
        };
        let body = serde_json::json!({
            "id": format!("bench-{i}"),
            "name": format!("Bench {i}"),
            "purpose": "personalization",
            "target": {"kind": "slot", "id": slot},
            "variants": [
                {"name": "A", "allocation_bp": 5000},
                {"name": "B", "allocation_bp": 5000, "settings": {"n_items": 5}}
            ],
            "start_ms": start_ms,
            "primary": {"name": "orders", "kind": "conversion",
                        "event_type": "Order Completed", "window_ms": 86_400_000}
        });
        let r = http
            .post(format!("{}/v1/experiments", server.base))
            .bearer_auth(&server.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
}

/// `CLIENTS` loops over the demo's people (or `/healthz`), each sending its next request when
/// the last one is answered, for `ROUND`.
async fn round(http: &reqwest::Client, server: &Server, recommend: bool) -> Round {
    let base = &server.base;
    let urls: Vec<String> = if recommend {
        (1..=SUBJECTS)
            .map(|i| format!("{base}/v1/subjects/demo-user-{i}/recommendations?n=10&slot=home"))
            .collect()
    } else {
        vec![format!("{base}/healthz")]
    };
    let (pid, key) = (server.child.id(), Some(server.decide.clone()));
    common::round(http, pid, Arc::new(urls), key, CLIENTS, ROUND).await
}

/// Health and recommendation rounds against one demo server, with [`EXPERIMENTS`]
/// experiments defined when `experiments`.
fn measure(env: &[(&str, String)], experiments: bool) -> (Vec<Round>, Vec<Round>) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), env);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .unwrap();
        // Wait for the first model build, so personalized lists are what is measured.
        let url = format!("{}/v1/subjects/demo-user-1/recommendations", server.base);
        for _ in 0..600 {
            let r = http
                .get(&url)
                .bearer_auth(&server.decide)
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = r.json().await.unwrap();
            if body.get("model_built_at").is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if experiments {
            define_experiments(&http, &server).await;
        }
        let (mut health, mut recs) = (Vec::new(), Vec::new());
        // Alternate, so drift in the machine's load touches both alike.
        for _ in 0..ROUNDS {
            health.push(round(&http, &server, false).await);
            recs.push(round(&http, &server, true).await);
        }
        (health, recs)
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("recommend bench: run with `cargo bench -p candor --bench recommend`");
        return;
    }
    println!(
        "{CLIENTS} concurrent clients, {}s rounds, {ROUNDS} rounds each, medians",
        ROUND.as_secs()
    );
    let (health, recs) = measure(&[], false);
    let h = summary("SQLite: /healthz", &health);
    let r = summary("SQLite: /v1/subjects/{id}/recommendations?n=10", &recs);
    println!("ratio recommendations/healthz: {:.2}", r / h);
    let (health, recs) = measure(&[], true);
    let eh = summary("SQLite, experiments: /healthz", &health);
    let er = summary(
        "SQLite, experiments: /v1/subjects/{id}/recommendations?n=10&slot=home",
        &recs,
    );
    println!(
        "ratio recommendations/healthz with experiments: {:.2}",
        er / eh
    );
    println!(
        "ratio with experiments / without, recommendations: {:.2}",
        er / r
    );
    if let Some(url) = std::env::var("CANDOR_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let schema = format!("candor_bench_recs_{}", std::process::id());
        let mut c = candor_store::postgres::connect_client(&url).unwrap();
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let storage = format!("{url}{sep}options=-csearch_path%3D{schema}");
        let (health, recs) = measure(&[("CANDOR_STORAGE_URL", storage)], false);
        let ph = summary("PostgreSQL: /healthz", &health);
        let pr = summary("PostgreSQL: /v1/subjects/{id}/recommendations?n=10", &recs);
        println!(
            "ratio recommendations/healthz on PostgreSQL: {:.2}",
            pr / ph
        );
        println!("ratio PostgreSQL/SQLite recommendations: {:.2}", pr / r);
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }
}
