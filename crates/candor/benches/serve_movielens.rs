//! Serving MovieLens beside a do-it-yourself peer: `../shared/datasets/movielens-small`
//! imported into a fresh data directory (`candor import movielens`), `candor serve` on it, and
//! recommendations for every user, round robin, from 32 connections; the same load, in the same
//! run, against the peer of issue #21 — `implicit` ALS with 64 factors behind FastAPI on one
//! uvicorn worker with one BLAS thread (`benches/peer/diy_als.py`). Run with:
//!
//!     cargo bench -p candor --bench serve_movielens
//!
//! Prints, as medians of several alternating rounds: requests/s, p50/p99 latency and the server's
//! CPU time per request (from `/proc`) of both, their ratio, and the CPU per request of the
//! median-history user and of the heaviest user asked alone (one connection, one after the
//! other). The peer's packages are installed once by `benches/peer/setup.sh` into a venv under
//! the build's temporary directory (`CANDOR_BENCH_PEER_VENV=DIR` to choose another); without
//! the dataset the bench says so and stops, without Python or the packages it measures Candor
//! alone. `CANDOR_BENCH_MOVIELENS=DIR` reads the dataset elsewhere; `CANDOR_BENCH_BIN=PATH`
//! serves with that `candor` binary instead of this build.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{Round, round, summary};

const CLIENTS: usize = 32;
const ROUND: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;
/// One user asked alone: rounds of this long, one request at a time.
const ALONE: Duration = Duration::from_secs(3);

/// A server under test: its process and how to ask it for one user's list.
struct Target {
    name: &'static str,
    child: Child,
    /// The list URL of each user, in the order users are driven.
    urls: Arc<Vec<String>>,
    bearer: Option<String>,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn candor(policy: &Path) -> Command {
    let bin =
        std::env::var("CANDOR_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor").into());
    let mut c = Command::new(bin);
    c.env("CANDOR_LOG", "warn").env("CANDOR_POLICY", policy);
    c
}

/// The shipped policy with the personalization purpose keeping data for 100 years instead of
/// one: MovieLens' ratings span two decades, and every one of them should be served from, as
/// in the offline protocol (the import moves the newest to now and keeps their spacing).
fn write_policy(dir: &Path) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candor.toml");
    let text = std::fs::read_to_string(&shipped).expect("read candor.toml");
    let at = text
        .find("id = \"personalization\"")
        .expect("the shipped policy declares personalization");
    let (head, tail) = text.split_at(at);
    let tail = tail.replacen("retention_days = 365", "retention_days = 36500", 1);
    assert_ne!(
        tail.len(),
        text.len() - at,
        "personalization keeps data 365 days"
    );
    let path = dir.join("candor.toml");
    std::fs::write(&path, format!("{head}{tail}")).unwrap();
    path
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().expect("run candor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The dataset's users with the number of distinct movies each rated.
fn history_lengths(ratings: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(ratings).expect("read ratings.csv");
    let mut rated: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        let (Some(user), Some(movie)) = (fields.next(), fields.next()) else {
            continue;
        };
        rated.entry(user.to_owned()).or_default().insert(movie);
    }
    rated.into_iter().map(|(u, m)| (u, m.len())).collect()
}

/// Imports the dataset into `dir` and starts `candor serve` on it.
fn start_candor(dir: &Path, data: &Path, users: &[String]) -> Target {
    let policy = write_policy(dir);
    let dir = &dir.join("data");
    let started = Instant::now();
    let imported = run_ok(
        candor(&policy)
            .args(["import", "movielens", "--grant", "personalization"])
            .arg("--shift-to-now")
            .arg("--ratings")
            .arg(data.join("ratings.csv"))
            .arg("--movies")
            .arg(data.join("movies.csv"))
            .arg("--data-dir")
            .arg(dir),
    );
    let accepted = imported
        .lines()
        .find(|l| l.contains("accepted"))
        .unwrap_or("")
        .trim()
        .to_owned();
    println!(
        "imported MovieLens in {:.0} s ({accepted})",
        started.elapsed().as_secs_f64()
    );
    let key = run_ok(
        candor(&policy)
            .args(["keys", "create", "--scope", "decide", "--data-dir"])
            .arg(dir),
    )
    .lines()
    .last()
    .unwrap()
    .to_owned();
    let mut child = candor(&policy)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start candor serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve output").unwrap();
        if let Some(addr) = line.strip_prefix("candor listening on ") {
            break addr.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Target {
        name: "candor",
        child,
        urls: Arc::new(
            users
                .iter()
                .map(|u| format!("{base}/v1/subjects/{u}/recommendations?n=10"))
                .collect(),
        ),
        bearer: Some(key),
    }
}

/// Installs the peer's packages (once) and starts it; `None`, with the reason printed, when
/// Python or the packages cannot be had.
fn start_peer(data: &Path, users: &[String]) -> Option<Target> {
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer");
    let venv = std::env::var_os("CANDOR_BENCH_PEER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("diy-peer-venv"));
    let setup = Command::new("bash")
        .arg(peer.join("setup.sh"))
        .arg(&venv)
        .output();
    match setup {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            println!(
                "DIY peer skipped: installing its packages failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            println!("DIY peer skipped: cannot run bash: {e}");
            return None;
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut child = Command::new(venv.join("bin/python"))
        .arg(peer.join("diy_als.py"))
        .arg("--ratings")
        .arg(data.join("ratings.csv"))
        .arg("--port")
        .arg(port.to_string())
        .envs([
            ("OPENBLAS_NUM_THREADS", "1"),
            ("MKL_NUM_THREADS", "1"),
            ("OMP_NUM_THREADS", "1"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    if !lines.any(|l| l.is_ok_and(|l| l.contains("diy peer ready"))) {
        println!("DIY peer skipped: it stopped before training finished");
        let _ = child.kill();
        return None;
    }
    std::thread::spawn(move || for _ in lines {});
    let base = format!("http://127.0.0.1:{port}");
    // Training is done; wait for uvicorn to listen.
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "DIY peer trained and listening in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Some(Target {
        name: "DIY peer",
        child,
        urls: Arc::new(
            users
                .iter()
                .map(|u| format!("{base}/recommend/{u}?n=10"))
                .collect(),
        ),
        bearer: None,
    })
}

/// Waits until Candor serves from a built model, then asks once for every user so the store's
/// pages are warm; the peer gets the same warm-up pass.
async fn warm(http: &reqwest::Client, target: &Target) {
    if let Some(key) = &target.bearer {
        for _ in 0..1_800 {
            let body: serde_json::Value = http
                .get(&target.urls[0])
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body.get("model_built_at").is_some_and(|v| !v.is_null()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for url in target.urls.iter() {
        let mut request = http.get(url);
        if let Some(key) = &target.bearer {
            request = request.bearer_auth(key);
        }
        assert!(request.send().await.unwrap().status().is_success());
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("serve_movielens bench: run with `cargo bench -p candor --bench serve_movielens`");
        return;
    }
    let data = std::env::var_os("CANDOR_BENCH_MOVIELENS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/movielens-small")
        });
    if !data.join("ratings.csv").is_file() || !data.join("movies.csv").is_file() {
        println!(
            "serve_movielens skipped: no MovieLens ratings.csv and movies.csv in {} (set CANDOR_BENCH_MOVIELENS)",
            data.display()
        );
        return;
    }
    let lengths = history_lengths(&data.join("ratings.csv"));
    let users: Vec<String> = lengths.keys().cloned().collect();
    let mut by_length: Vec<(&String, usize)> = lengths.iter().map(|(u, &n)| (u, n)).collect();
    by_length.sort_by_key(|&(u, n)| (n, u.parse::<u64>().unwrap_or(0)));
    let (median_user, median_len) = by_length[by_length.len() / 2];
    let (heaviest_user, heaviest_len) = by_length[by_length.len() - 1];
    let at = |user: &str| users.iter().position(|u| u == user).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let candor = start_candor(dir.path(), &data, &users);
    let peer = start_peer(&data, &users);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .unwrap();
        let targets: Vec<&Target> = std::iter::once(&candor).chain(peer.as_ref()).collect();
        for t in &targets {
            warm(&http, t).await;
        }
        println!(
            "{} users, {CLIENTS} connections round robin, {}s rounds, {ROUNDS} rounds each alternating, medians",
            users.len(),
            ROUND.as_secs()
        );
        let mut all: Vec<Vec<Round>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..ROUNDS {
            for (t, rounds) in targets.iter().zip(&mut all) {
                let urls = Arc::clone(&t.urls);
                rounds.push(round(&http, t.child.id(), urls, t.bearer.clone(), CLIENTS, ROUND).await);
            }
        }
        let rates: Vec<f64> = targets
            .iter()
            .zip(&all)
            .map(|(t, rounds)| summary(&format!("{}: all users", t.name), rounds))
            .collect();
        if let [c, p] = rates[..] {
            println!("ratio candor/DIY peer: {:.1}", c / p);
        }
        for (label, user, len) in [
            ("median-history user", median_user, median_len),
            ("heaviest user", heaviest_user, heaviest_len),
        ] {
            for t in &targets {
                let urls = Arc::new(vec![t.urls[at(user)].clone()]);
                let mut rounds = Vec::new();
                for _ in 0..ROUNDS {
                    rounds.push(round(&http, t.child.id(), Arc::clone(&urls), t.bearer.clone(), 1, ALONE).await);
                }
                summary(
                    &format!("{}: {label} ({len} ratings) alone", t.name),
                    &rounds,
                );
            }
        }
    });
}
