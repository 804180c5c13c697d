//! What the HTTP benches share: a round of closed-loop requests with the server's CPU time
//! from `/proc`, and medians.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Round {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time (user + system) per request, in microseconds, when `/proc` tells it.
    pub cpu_us: Option<f64>,
}

/// `clients` loops over `urls` (client `c` starts at `c` and steps by `clients`), each sending
/// its next request when the last one is answered, for `length`; `pid` is the server's
/// process, whose CPU time is divided by the requests answered.
pub async fn round(
    http: &reqwest::Client,
    pid: u32,
    urls: Arc<Vec<String>>,
    bearer: Option<String>,
    clients: usize,
    length: Duration,
) -> Round {
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = http.clone();
            let urls = Arc::clone(&urls);
            let bearer = bearer.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = c;
                while start.elapsed() < length {
                    let mut request = http.get(&urls[i % urls.len()]);
                    if let Some(key) = &bearer {
                        request = request.bearer_auth(key);
                    }
                    let sent = Instant::now();
                    let r = request.send().await.unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.unwrap();
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    i += clients;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu_us = cpu_before
        .zip(cpu_seconds(pid))
        .map(|(before, after)| (after - before) * 1e6 / all.len() as f64);
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() as f64 - 1.0) * q) as usize];
    Round {
        per_second: all.len() as f64 / secs,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        cpu_us,
    }
}

/// CPU time used so far by process `pid`, in seconds (Linux `/proc/PID/stat`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(ticks / 100.0)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints one line for `rounds` (median requests/s, p50, p99 and server CPU per request when
/// known, then every round's rate) and returns the median requests/s.
pub fn summary(name: &str, rounds: &[Round]) -> f64 {
    let rps = median(rounds.iter().map(|r| r.per_second).collect());
    let cpu = rounds
        .iter()
        .map(|r| r.cpu_us)
        .collect::<Option<Vec<f64>>>()
        .map_or_else(String::new, |v| {
            format!(", server CPU {:.0} µs/request", median(v))
        });
    println!(
        "{name}: {rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms{cpu} (rounds: {:.0?} req/s)",
        median(rounds.iter().map(|r| r.p50_ms).collect()),
        median(rounds.iter().map(|r| r.p99_ms).collect()),
        rounds.iter().map(|r| r.per_second).collect::<Vec<_>>(),
    );
    rps
}
