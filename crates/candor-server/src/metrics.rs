//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4), for an admin key.
//!
//! Counters live in this process and restart from zero with it, as Prometheus counters do;
//! drops by reason, the data-subject-request backlog, campaign fairness flags and held
//! deliveries are read from the store at scrape time, so every instance reports the same
//! values for them. Nothing here carries a subject, an id of a person or a raw path: labels
//! are purposes, decisions, reasons, request kinds, slot and campaign names and route
//! templates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use candor_domain::time::Timestamp;
use candor_store::{DsrKindSummary, Store, StoreResult};

use crate::auth::{Server, scope};
use crate::error::ApiResult;
use crate::state::AppState;

/// Upper bounds (seconds) of the request latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request latency per (method, route); the application's own counters are in
/// [`candor_app::counters`].
#[derive(Default)]
struct Registry {
    latency: BTreeMap<(String, String), Histogram>,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn observe(method: &str, route: &str, seconds: f64) {
    let mut r = registry();
    let h = r
        .latency
        .entry((method.to_owned(), route.to_owned()))
        .or_default();
    h.count += 1;
    h.sum += seconds;
    for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            h.buckets[i] += 1;
        }
    }
}

/// Middleware timing every request by its route template (never the raw path, which holds
/// external ids).
pub async fn track_latency(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    observe(&method, &route, start.elapsed().as_secs_f64());
    response
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What the metrics read from the store at scrape time, shared by every instance.
#[derive(Debug)]
pub struct StoreMetrics {
    /// `(event_type, reason, n)`.
    pub drops: Vec<(String, String, u64)>,
    /// The data-subject-request backlog per kind.
    pub dsr: Vec<DsrKindSummary>,
    /// Campaign id -> whether it has a fairness flag not yet acknowledged.
    pub campaign_flags: BTreeMap<String, bool>,
    /// Deliveries held behind a fairness flag.
    pub held_deliveries: u64,
    pub now: Timestamp,
}

/// Reads [`StoreMetrics`].
pub fn read_store(store: &dyn Store, now: Timestamp) -> StoreResult<StoreMetrics> {
    let drops = store
        .drop_counts(0)?
        .into_iter()
        .map(|d| (d.event_type, d.reason, d.n))
        .collect();
    let mut campaign_flags: BTreeMap<String, bool> = BTreeMap::new();
    for f in store.fairness_flags(None, candor_app::fairness::FLAGS_LEN_MAX)? {
        *campaign_flags.entry(f.campaign_id).or_default() |= f.acknowledged_at.is_none();
    }
    Ok(StoreMetrics {
        drops,
        dsr: store.dsr_summary(Timestamp::from_millis(0), now)?,
        campaign_flags,
        held_deliveries: store.held_deliveries(None)?,
        now,
    })
}

/// Renders every metric.
pub fn render(stored: &StoreMetrics) -> String {
    let r = candor_app::counters::snapshot();
    let drops = &stored.drops;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP candor_events_accepted_total Events stored after the consent gate.\n# TYPE candor_events_accepted_total counter\ncandor_events_accepted_total {}",
        r.events_accepted
    );
    let _ = writeln!(
        out,
        "# HELP candor_events_invalid_total Events refused as malformed.\n# TYPE candor_events_invalid_total counter\ncandor_events_invalid_total {}",
        r.events_invalid
    );
    let _ = writeln!(
        out,
        "# HELP candor_events_dropped_total Events not stored, by reason (all instances, from the store).\n# TYPE candor_events_dropped_total counter"
    );
    let mut by_reason: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (event_type, reason, n) in drops {
        *by_reason.entry((reason, event_type)).or_default() += n;
    }
    for ((reason, event_type), n) in by_reason {
        let _ = writeln!(
            out,
            "candor_events_dropped_total{{reason=\"{}\",event_type=\"{}\"}} {n}",
            escape(reason),
            escape(event_type)
        );
    }
    let _ = writeln!(
        out,
        "# HELP candor_consent_decisions_total Consent decisions recorded, by purpose and decision.\n# TYPE candor_consent_decisions_total counter"
    );
    let mut totals: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for ((purpose, decision), n) in &r.consent_decisions {
        let _ = writeln!(
            out,
            "candor_consent_decisions_total{{purpose=\"{}\",decision=\"{}\"}} {n}",
            escape(purpose),
            escape(decision)
        );
        let t = totals.entry(purpose).or_default();
        t.0 += n;
        match decision.as_str() {
            "granted" => t.1 += n,
            "withdrawn" => t.2 += n,
            _ => {}
        }
    }
    let _ = writeln!(
        out,
        "# HELP candor_consent_grant_rate Share of recorded decisions that were grants, by purpose.\n# TYPE candor_consent_grant_rate gauge"
    );
    for (purpose, (all, granted, _)) in &totals {
        let _ = writeln!(
            out,
            "candor_consent_grant_rate{{purpose=\"{}\"}} {}",
            escape(purpose),
            *granted as f64 / *all as f64
        );
    }
    let _ = writeln!(
        out,
        "# HELP candor_consent_withdrawals_total Withdrawals recorded, by purpose.\n# TYPE candor_consent_withdrawals_total counter"
    );
    for (purpose, (_, _, withdrawn)) in &totals {
        let _ = writeln!(
            out,
            "candor_consent_withdrawals_total{{purpose=\"{}\"}} {withdrawn}",
            escape(purpose)
        );
    }
    let _ = writeln!(
        out,
        "# HELP candor_fairness_flagged Parity ratio below 0.8: for a slot, in its latest report (computed by this process); for a campaign, a flagged run not yet acknowledged (all instances, from the store).\n# TYPE candor_fairness_flagged gauge"
    );
    for (slot, flagged) in &r.slot_flags {
        let _ = writeln!(
            out,
            "candor_fairness_flagged{{kind=\"slot\",id=\"{}\"}} {}",
            escape(slot),
            u8::from(*flagged)
        );
    }
    for (campaign, flagged) in &stored.campaign_flags {
        let _ = writeln!(
            out,
            "candor_fairness_flagged{{kind=\"campaign\",id=\"{}\"}} {}",
            escape(campaign),
            u8::from(*flagged)
        );
    }
    let _ = writeln!(
        out,
        "# HELP candor_deliveries_held Deliveries kept out of the outbox until a fairness flag is acknowledged (all instances).\n# TYPE candor_deliveries_held gauge\ncandor_deliveries_held {}",
        stored.held_deliveries
    );
    let _ = writeln!(
        out,
        "# HELP candor_campaign_exclusions_total People not selected by real campaign runs and decisions, by exclusion code (this process).\n# TYPE candor_campaign_exclusions_total counter"
    );
    for (reason, n) in &r.exclusions {
        let _ = writeln!(
            out,
            "candor_campaign_exclusions_total{{reason=\"{}\"}} {n}",
            escape(reason)
        );
    }
    render_dsr(&mut out, stored);
    // Zero on the embedded store, whose reads and commits are not waits on another server.
    let db = candor_store::postgres::db_time();
    let _ = writeln!(
        out,
        "# HELP candor_db_calls_total Store calls made on PostgreSQL (this process).\n# TYPE candor_db_calls_total counter\ncandor_db_calls_total {}",
        db.calls
    );
    let _ = writeln!(
        out,
        "# HELP candor_db_seconds_total Wall time of store calls on PostgreSQL, summed over concurrent calls: waiting for a connection, round trips, the database's work and commits (this process).\n# TYPE candor_db_seconds_total counter\ncandor_db_seconds_total {}",
        db.seconds
    );
    let _ = writeln!(
        out,
        "# HELP candor_http_request_duration_seconds Request latency by route template.\n# TYPE candor_http_request_duration_seconds histogram"
    );
    for ((method, route), h) in &registry().latency {
        let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
        for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                out,
                "candor_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "candor_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "candor_http_request_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "candor_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    out
}

/// A gauge per request kind: name, help, value.
type DsrGauge = (&'static str, &'static str, fn(&DsrKindSummary) -> u64);

fn render_dsr(out: &mut String, stored: &StoreMetrics) {
    let gauges: [DsrGauge; 2] = [
        (
            "candor_dsr_open",
            "Data-subject requests not yet answered, by kind (all instances).",
            |k| k.n_open,
        ),
        (
            "candor_dsr_overdue",
            "Data-subject requests open past their statutory deadline, by kind.",
            |k| k.n_overdue,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for k in &stored.dsr {
            let _ = writeln!(out, "{name}{{kind=\"{}\"}} {}", escape(&k.kind), value(k));
        }
    }
    let oldest = stored
        .dsr
        .iter()
        .filter_map(|k| k.oldest_open_received_at)
        .min()
        .map_or(0, |at| {
            (stored.now.as_millis() - at.as_millis()).max(0) / 1000
        });
    let _ = writeln!(
        out,
        "# HELP candor_dsr_oldest_open_age_seconds Age of the oldest open data-subject request (0 when none is open).\n# TYPE candor_dsr_oldest_open_age_seconds gauge\ncandor_dsr_oldest_open_age_seconds {oldest}"
    );
}

/// Prometheus metrics (text format). Requires an admin key (`Authorization: Bearer KEY`,
/// which Prometheus sends with `authorization: {credentials: KEY}`).
#[utoipa::path(get, path = "/metrics", tag = "meta", security(("api_key" = [])),
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Response> {
    let now = state.now();
    let stored = state.blocking(move |store| read_store(store, now)).await?;
    let mut response = render(&stored).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
