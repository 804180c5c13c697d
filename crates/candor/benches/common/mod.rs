//! What the HTTP benches share: a round of closed-loop requests with the server's CPU time
//! from `/proc`, and medians; several `candor` processes serving one PostgreSQL database behind
//! a client-side round robin, with what each round cost them and the database.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Round {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time (user + system) per request, in microseconds, when `/proc` tells it;
    /// summed over every instance when there are several.
    pub cpu_us: Option<f64>,
    /// What the round cost beyond the servers' CPU, per request, when measured ([`Costs`]).
    pub costs: Option<Costs>,
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
    let url = move |i: usize, _k: usize| urls[i % urls.len()].clone();
    let (latencies, secs) = closed_loop(http, Arc::new(url), bearer, clients, length).await;
    let cpu_us = cpu_before
        .zip(cpu_seconds(pid))
        .map(|(before, after)| (after - before) * 1e6 / latencies.len() as f64);
    round_of(latencies, secs, cpu_us, None)
}

/// The same closed loop spread over several instances: request `i` (the `k`-th of its client)
/// asks for `paths[i % paths.len()]` from instance `(client + k) % n`, so every client turns
/// through every instance. CPU time, the database's CPU time and the time spent waiting on the
/// database are measured over the round when `meter` can.
pub async fn round_robin(
    http: &reqwest::Client,
    instances: &Instances,
    meter: &Meter,
    paths: Arc<Vec<String>>,
    bearer: Option<String>,
    clients: usize,
    length: Duration,
) -> Round {
    let bases = Arc::new(instances.bases.clone());
    let before = meter.sample(http, instances).await;
    let url = move |i: usize, k: usize| {
        let client = i % clients;
        format!(
            "{}{}",
            bases[(client + k) % bases.len()],
            paths[i % paths.len()]
        )
    };
    let (latencies, secs) = closed_loop(http, Arc::new(url), bearer, clients, length).await;
    let after = meter.sample(http, instances).await;
    let costs = Costs::between(&before, &after, latencies.len() as f64);
    round_of(latencies, secs, costs.candor_cpu_us, Some(costs))
}

type UrlOf = Arc<dyn Fn(usize, usize) -> String + Send + Sync>;

/// `clients` closed loops for `length`: request `i = c + k × clients` (client `c`'s `k`-th)
/// goes to `url_of(i, k)`. The latencies in milliseconds and the seconds it took.
async fn closed_loop(
    http: &reqwest::Client,
    url_of: UrlOf,
    bearer: Option<String>,
    clients: usize,
    length: Duration,
) -> (Vec<f64>, f64) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = http.clone();
            let url_of = Arc::clone(&url_of);
            let bearer = bearer.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut i, mut k) = (c, 0);
                while start.elapsed() < length {
                    let mut request = http.get(url_of(i, k));
                    if let Some(key) = &bearer {
                        request = request.bearer_auth(key);
                    }
                    let sent = Instant::now();
                    let r = request.send().await.unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.unwrap();
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    i += clients;
                    k += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed().as_secs_f64())
}

fn round_of(mut all: Vec<f64>, secs: f64, cpu_us: Option<f64>, costs: Option<Costs>) -> Round {
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() as f64 - 1.0) * q) as usize];
    Round {
        per_second: all.len() as f64 / secs,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        cpu_us,
        costs,
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

/// `candor` processes serving one database (same configuration and data directory, each on a
/// port of its own); killed when dropped.
pub struct Instances {
    children: Vec<Child>,
    /// Each instance's `http://host:port`, in start order.
    pub bases: Vec<String>,
    /// Values of the `prefixes` lines the first instance printed (keys, for `candor demo`).
    pub printed: HashMap<String, String>,
    /// An admin key for `/metrics`, when the bench made one.
    pub admin: Option<String>,
}

impl Drop for Instances {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The line `candor serve` and `candor demo` print once they accept connections.
const LISTENING: &str = "candor listening on ";

/// Starts `command`, reads its stdout until it is listening and every line starting with one
/// of `prefixes` has been seen, then keeps draining it so the server never blocks on a full
/// pipe. The child, its base URL and the values after each prefix.
pub fn spawn(mut command: Command, prefixes: &[&str]) -> (Child, String, HashMap<String, String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("start candor");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    let mut printed = HashMap::new();
    while base.is_none() || printed.len() < prefixes.len() {
        let line = lines.next().expect("candor output").unwrap();
        if let Some(addr) = line.strip_prefix(LISTENING) {
            base = Some(addr.trim().to_owned());
        }
        for p in prefixes {
            if let Some(v) = line.strip_prefix(p) {
                printed.insert((*p).to_owned(), v.trim().to_owned());
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (child, base.unwrap(), printed)
}

impl Instances {
    /// `n` instances, instance `i` started by `command(i)`; `prefixes` as for [`spawn`], read
    /// from the first.
    pub fn start(n: usize, command: impl Fn(usize) -> Command, prefixes: &[&str]) -> Instances {
        let mut instances = Instances {
            children: Vec::new(),
            bases: Vec::new(),
            printed: HashMap::new(),
            admin: None,
        };
        for i in 0..n {
            let (child, base, printed) = spawn(command(i), if i == 0 { prefixes } else { &[] });
            instances.children.push(child);
            instances.bases.push(base);
            if i == 0 {
                instances.printed = printed;
            }
        }
        instances
    }

    /// CPU time of every instance so far, in seconds, when `/proc` tells it for all.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.children.iter().map(|c| cpu_seconds(c.id())).sum()
    }
}

/// What a round cost per request (or per event, when the caller divides by events).
#[derive(Clone, Copy, Debug, Default)]
pub struct Costs {
    /// Candor's CPU time, summed over its instances, in µs.
    pub candor_cpu_us: Option<f64>,
    /// PostgreSQL's CPU time (its backends serving the instances and its background
    /// processes), in µs.
    pub pg_cpu_us: Option<f64>,
    /// Wall time the instances' store calls spent on PostgreSQL — waiting for a connection,
    /// round trips, the database's work and commits — summed over concurrent calls, in µs
    /// (`candor_db_seconds_total` in `/metrics`).
    pub db_wait_us: Option<f64>,
}

impl Costs {
    pub fn between(before: &Sample, after: &Sample, units: f64) -> Costs {
        let per = |b: Option<f64>, a: Option<f64>| b.zip(a).map(|(b, a)| (a - b) * 1e6 / units);
        let pg_cpu_us = before
            .pg_cpu
            .as_ref()
            .zip(after.pg_cpu.as_ref())
            .map(|(b, a)| {
                // A backend that started during the round counts from zero.
                let used: f64 = a
                    .iter()
                    .map(|(pid, s)| s - b.get(pid).copied().unwrap_or(0.0))
                    .sum();
                used * 1e6 / units
            });
        Costs {
            candor_cpu_us: per(before.candor_cpu, after.candor_cpu),
            pg_cpu_us,
            db_wait_us: per(before.db_seconds, after.db_seconds),
        }
    }
}

/// One reading of the counters a round is measured between.
pub struct Sample {
    candor_cpu: Option<f64>,
    /// CPU seconds of each PostgreSQL process that serves these instances, by pid.
    pg_cpu: Option<HashMap<i32, f64>>,
    db_seconds: Option<f64>,
}

/// Reads the instances' CPU time, PostgreSQL's and the instances' time on the database.
pub struct Meter {
    /// The database's URL and the `application_name` the instances connect with.
    pg: Option<(String, String)>,
    /// The key `/metrics` asks for.
    admin: Option<String>,
}

impl Meter {
    /// Without PostgreSQL: only the instances' CPU time.
    pub fn cpu_only() -> Meter {
        Meter {
            pg: None,
            admin: None,
        }
    }

    /// For instances on the database at `url`, connecting as `application_name`; `admin`
    /// reads their `/metrics`.
    pub fn postgres(url: &str, application_name: &str, admin: &str) -> Meter {
        Meter {
            pg: Some((url.to_owned(), application_name.to_owned())),
            admin: Some(admin.to_owned()),
        }
    }

    pub async fn sample(&self, http: &reqwest::Client, instances: &Instances) -> Sample {
        let pg_cpu = self.pg.as_ref().and_then(|(url, app)| {
            let (url, app) = (url.clone(), app.clone());
            // The synchronous driver runs a runtime of its own, which cannot start on this
            // runtime's threads: read from a thread of its own.
            std::thread::spawn(move || postgres_cpu(&url, &app))
                .join()
                .unwrap()
        });
        let mut db_seconds = Some(0.0);
        if let Some(admin) = &self.admin {
            for base in &instances.bases {
                let seconds = metric(http, base, admin, "candor_db_seconds_total").await;
                db_seconds = db_seconds.zip(seconds).map(|(a, b)| a + b);
            }
        } else {
            db_seconds = None;
        }
        Sample {
            candor_cpu: instances.cpu_seconds(),
            pg_cpu,
            db_seconds,
        }
    }
}

/// A counter's value from an instance's `/metrics`.
pub async fn metric(http: &reqwest::Client, base: &str, admin: &str, name: &str) -> Option<f64> {
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth(admin)
        .send()
        .await
        .ok()?;
    let text = r.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// CPU seconds of each PostgreSQL process working for connections named `application_name`,
/// and of its background processes (WAL writer, checkpointer, autovacuum...), which every
/// commit leans on. Other sessions' backends on a shared server are left out.
pub fn postgres_cpu(url: &str, application_name: &str) -> Option<HashMap<i32, f64>> {
    let mut c = candor_store::postgres::connect_client(url).ok()?;
    let rows = c
        .query(
            "SELECT pid FROM pg_stat_activity
             WHERE application_name = $1 OR backend_type <> 'client backend'",
            &[&application_name],
        )
        .ok()?;
    Some(
        rows.iter()
            .filter_map(|r| {
                let pid: i32 = r.get(0);
                Some((pid, cpu_seconds(u32::try_from(pid).ok()?)?))
            })
            .collect(),
    )
}

/// `url` with `application_name` and a search path of `schema`, as a storage URL.
pub fn storage_url(url: &str, schema: &str, application_name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}&application_name={application_name}")
}

/// One line for one instance count: the median rate of `rounds` (each a rate per second of
/// `unit`s and its costs per `unit`), its factor against `one` (the single instance's rate and
/// costs), and the median costs. Returns the median rate and costs, for the next lines.
pub fn scaling_line(
    name: &str,
    unit: &str,
    rounds: &[(f64, Costs)],
    one: Option<(f64, Costs)>,
) -> (f64, Costs) {
    let rate = median(rounds.iter().map(|r| r.0).collect());
    let pick = |f: fn(&Costs) -> Option<f64>| {
        rounds
            .iter()
            .map(|r| f(&r.1))
            .collect::<Option<Vec<f64>>>()
            .map(median)
    };
    let costs = Costs {
        candor_cpu_us: pick(|c| c.candor_cpu_us),
        pg_cpu_us: pick(|c| c.pg_cpu_us),
        db_wait_us: pick(|c| c.db_wait_us),
    };
    let show = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}"));
    let (scale, cpu_ratio) = match one {
        Some((r1, c1)) => (
            format!("{:.2}", rate / r1),
            c1.candor_cpu_us
                .zip(costs.candor_cpu_us)
                .map_or_else(|| "n/a".to_owned(), |(a, b)| format!("{:.2}", b / a)),
        ),
        None => ("1.00".to_owned(), "1.00".to_owned()),
    };
    println!(
        "{name}: {rate:.0} {unit}s/s, x{scale} of one instance; per {unit}: Candor CPU {} µs (x{cpu_ratio} of one instance's), PostgreSQL CPU {} µs, waiting on the database {} µs (rounds: {:.0?})",
        show(costs.candor_cpu_us),
        show(costs.pg_cpu_us),
        show(costs.db_wait_us),
        rounds.iter().map(|r| r.0).collect::<Vec<_>>(),
    );
    (rate, costs)
}
