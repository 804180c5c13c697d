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
//!
//! On PostgreSQL the demo only fills the database; then one, two and four `candor serve`
//! instances on it take the same clients in turn: requests/s, the factor against one instance,
//! and per request Candor's CPU time (all instances), PostgreSQL's, and the time the instances'
//! store calls spent waiting on the database.

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{Costs, Instances, Meter, Round, summary};

/// Concurrent clients: 8, or `CANDOR_BENCH_CLIENTS` (fewer leave the machine's cores spare,
/// to tell cross-instance costs from a saturated machine's).
fn clients() -> usize {
    std::env::var("CANDOR_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(8)
}
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

fn candor() -> Command {
    // `CANDOR_BENCH_BIN` runs another build (an earlier commit, say) under the same load.
    let bin =
        std::env::var("CANDOR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor").into());
    let mut c = Command::new(bin);
    c.env("CANDOR_LOG", "warn");
    c
}

/// Starts `candor demo` in a fresh directory and reads its address and decide key.
fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Server {
    let mut command = candor();
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["demo", "--bind", "127.0.0.1:0", "--subjects"])
        .arg(SUBJECTS.to_string())
        .arg("--data-dir")
        .arg(dir.join("demo"));
    let (child, base, mut printed) = common::spawn(command, &["decide key: ", "admin key: "]);
    Server {
        child,
        base,
        decide: printed.remove("decide key: ").unwrap(),
        admin: printed.remove("admin key: ").unwrap(),
    }
}

/// Waits until the server at `base` has built its first model, so personalized lists are what
/// is measured.
async fn wait_for_models(http: &reqwest::Client, base: &str, decide: &str) {
    let url = format!("{base}/v1/subjects/demo-user-1/recommendations");
    for _ in 0..600 {
        let r = http.get(&url).bearer_auth(decide).send().await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        if body.get("model_built_at").is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
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

/// [`clients`] loops over the demo's people (or `/healthz`), each sending its next request when
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
    common::round(http, pid, Arc::new(urls), key, clients(), ROUND).await
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
            .pool_max_idle_per_host(clients())
            .build()
            .unwrap();
        wait_for_models(&http, &server.base, &server.decide).await;
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
        "{} concurrent clients, {}s rounds, {ROUNDS} rounds each, medians",
        clients(),
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
        postgres(&url, r);
    }
}

/// Instance counts the PostgreSQL rounds run with, the same clients and load for each.
const INSTANCES: [usize; 3] = [1, 2, 4];

/// The demo's database on PostgreSQL, served by one, two and four instances in turn; `sqlite`
/// is the SQLite server's median requests/s, for the ratio.
fn postgres(url: &str, sqlite: f64) {
    let schema = format!("candor_bench_recs_{}", std::process::id());
    let app = schema.clone();
    let mut c = candor_store::postgres::connect_client(url).unwrap();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .unwrap();
    let env = [(
        "CANDOR_STORAGE_URL",
        common::storage_url(url, &schema, &app),
    )];
    let dir = tempfile::tempdir().unwrap();
    // The demo fills the database and creates the keys, then stops: every instance count is
    // measured on plain `candor serve` processes, sharing the demo's data directory (its
    // server secret) and configuration.
    let demo = start(dir.path(), &env);
    let (decide, admin) = (demo.decide.clone(), demo.admin.clone());
    drop(demo);
    let meter = Meter::postgres(url, &app, &admin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let paths: Arc<Vec<String>> = Arc::new(
        (1..=SUBJECTS)
            .map(|i| format!("/v1/subjects/demo-user-{i}/recommendations?n=10&slot=home"))
            .collect(),
    );
    let mut one: Option<(f64, Costs)> = None;
    for n in INSTANCES {
        let instances = Instances::start(
            n,
            |_| {
                let mut command = candor();
                command
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
                    .arg(dir.path().join("demo"));
                command
            },
            &[],
        );
        let (health, recs) = rt.block_on(async {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(clients())
                .build()
                .unwrap();
            for base in &instances.bases {
                wait_for_models(&http, base, &decide).await;
            }
            let (mut health, mut recs) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let (key, length) = (Some(decide.clone()), ROUND);
                if n == 1 {
                    let healthz = Arc::new(vec!["/healthz".to_owned()]);
                    health.push(
                        common::round_robin(
                            &http,
                            &instances,
                            &meter,
                            healthz,
                            key.clone(),
                            clients(),
                            length,
                        )
                        .await,
                    );
                }
                let paths = Arc::clone(&paths);
                recs.push(
                    common::round_robin(&http, &instances, &meter, paths, key, clients(), length)
                        .await,
                );
            }
            (health, recs)
        });
        if n == 1 {
            let ph = summary("PostgreSQL: /healthz", &health);
            let pr = summary("PostgreSQL: /v1/subjects/{id}/recommendations?n=10", &recs);
            println!(
                "ratio recommendations/healthz on PostgreSQL: {:.2}",
                pr / ph
            );
            println!(
                "ratio PostgreSQL/SQLite recommendations: {:.2}",
                pr / sqlite
            );
        }
        let rounds: Vec<(f64, Costs)> = recs
            .iter()
            .map(|r| (r.per_second, r.costs.unwrap_or_default()))
            .collect();
        let line = common::scaling_line(
            &format!(
                "PostgreSQL recommendations, {n} instance(s), same {} clients",
                clients()
            ),
            "request",
            &rounds,
            one,
        );
        one = one.or(Some(line));
    }
    c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}
