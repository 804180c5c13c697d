//! Serves the web front end together with the API on `127.0.0.1:0`, with a fresh data
//! directory and fresh keys, for trying the pages and for the browser tests
//! (`tests/browser/run.sh`).
//!
//! The catalog holds the demo shop's eight products, and a few generated shoppers who allow
//! personalization have viewed them, so recommendations can be personalized from the first
//! click and every item has reasons to show. A few hundred visitors' consent choices from the
//! past three weeks give the console's consent chart counts above k, and a segment and a
//! campaign give its segment and campaign views something to show.
//!
//! Prints `listening on http://ADDR`, then one `KIND KEY` line per key — the server keys
//! `admin`, `ingest`, `decide` and `sessions` (for a backend: seeding, checking, minting subject
//! tokens), and last `publishable`, allowed for the listening origin (the only key the shop's
//! page gets) — then serves until interrupted or stopped.
//!
//!     cargo run -p candor-web --example web_demo

use std::io::Write;
use std::sync::Arc;

use candor_app::Clock;
use candor_app::api_key::{NewKey, create_key};
use candor_app::config::{Config, Overrides};
use candor_domain::consent::{ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_domain::{ExternalId, SubjectKey};
use candor_server::AppState;
use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;
use candor_store::{Scope, Store};
use candor_web::{DemoKeys, WebConfig};

/// The shop page's products: id, title, category, price.
const CATALOG: [(&str, &str, &str, u32); 8] = [
    ("shoe-trail", "Trail running shoes", "running", 89),
    ("shoe-road", "Road running shoes", "running", 79),
    ("jacket-rain", "Rain jacket", "outdoor", 120),
    ("tent-2p", "Two-person tent", "outdoor", 210),
    ("mug-enamel", "Enamel mug", "kitchen", 14),
    ("stove-camp", "Camping stove", "outdoor", 45),
    ("socks-wool", "Merino socks", "running", 18),
    ("bottle-steel", "Steel water bottle", "kitchen", 22),
];

/// What each generated shopper viewed: runners, campers and cooks, overlapping a little.
const SHOPPERS: [&[&str]; 6] = [
    &["shoe-trail", "shoe-road", "socks-wool"],
    &["shoe-trail", "socks-wool", "bottle-steel"],
    &["shoe-road", "socks-wool", "jacket-rain"],
    &["tent-2p", "stove-camp", "jacket-rain"],
    &["tent-2p", "stove-camp", "mug-enamel"],
    &["mug-enamel", "bottle-steel", "stove-camp"],
];

/// Days of past consent choices, and visitors choosing per day.
const CONSENT_HISTORY_DAYS: i64 = 21;
const VISITORS_PER_DAY: u32 = 24;

/// Visitors' banner choices over the past weeks, written to the ledger as the consent API
/// would have (the API itself records only the present). Deterministic: the same every run.
/// Grants are likelier for analytics than for advertising, and some are withdrawn later.
fn consent_history(
    store: &dyn Store,
    policy: &Policy,
    secret: &[u8],
    now: Timestamp,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut roll = move || {
        // xorshift64: enough to vary the choices, with no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % 100
    };
    let purposes: Vec<_> = policy
        .purposes
        .iter()
        .filter(|p| p.needs_consent())
        .collect();
    let today = now.as_millis().div_euclid(DAY_MS) * DAY_MS;
    for day in 0..CONSENT_HISTORY_DAYS {
        let start = today - (CONSENT_HISTORY_DAYS - day) * DAY_MS;
        for n in 0..VISITORS_PER_DAY {
            let at = Timestamp::from_millis(start + i64::from(n) * 3_000_000);
            let key =
                SubjectKey::derive(secret, &ExternalId::parse(&format!("visitor-{day}-{n}"))?);
            let mut records = Vec::new();
            for (i, p) in purposes.iter().enumerate() {
                let grant_percent = 80 - 12 * i as u64;
                let granted = roll() < grant_percent;
                let record = |decision, at| ConsentRecord {
                    purpose: p.id.clone(),
                    decision,
                    purpose_version: p.version.clone(),
                    policy_version: policy.version.clone(),
                    source: Source::Banner,
                    bulk: false,
                    evidence: r#"{"banner":"web demo"}"#.to_owned(),
                    at,
                };
                if granted {
                    records.push(record(Decision::Granted, at));
                    if roll() < 15 {
                        records.push(record(Decision::Withdrawn, at.plus_days(2).min(now)));
                    }
                } else {
                    records.push(record(Decision::Denied, at));
                }
            }
            store.append_consents(&key, &SubjectFacts::default(), &records, at)?;
        }
    }
    Ok(())
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: &str,
    body: serde_json::Value,
) -> Result<(), Box<dyn std::error::Error>> {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))?;
    let res = app.clone().oneshot(req).await?;
    if !res.status().is_success() {
        return Err(format!("seeding {method} {path}: {}", res.status()).into());
    }
    Ok(())
}

/// Loads the catalog and the generated shoppers through the API, as a shop would.
async fn seed(
    app: &axum::Router,
    admin: &str,
    ingest: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let items: Vec<_> = CATALOG
        .iter()
        .map(|(id, title, category, price)| {
            serde_json::json!({"id": id, "title": title, "categories": [category],
                "attributes": {"price": price}})
        })
        .collect();
    call(
        app,
        "PUT",
        "/v1/items",
        admin,
        serde_json::json!({"items": items}),
    )
    .await?;
    for (n, viewed) in SHOPPERS.iter().enumerate() {
        let user = format!("generated-shopper-{n}");
        let grant = serde_json::json!({"decisions": [
            {"purpose": "personalization", "decision": "granted"}]});
        call(
            app,
            "PUT",
            &format!("/v1/subjects/{user}/consents"),
            ingest,
            grant,
        )
        .await?;
        let events: Vec<_> = viewed
            .iter()
            .map(|item| {
                serde_json::json!({"type": "track", "event": "Product Viewed", "userId": user,
                    "messageId": format!("seed-{user}-{item}"), "properties": {"product_id": item}})
            })
            .collect();
        call(
            app,
            "POST",
            "/v1/events",
            ingest,
            serde_json::json!({"events": events}),
        )
        .await?;
    }
    call(
        app,
        "POST",
        "/v1/segments",
        admin,
        serde_json::json!({"id": "runners", "name": "Runners", "purpose": "email_marketing",
            "rule": "interest(\"running\") >= 0.3 and views(30d) >= 2"}),
    )
    .await?;
    call(
        app,
        "POST",
        "/v1/campaigns",
        admin,
        serde_json::json!({"id": "trail-season", "segment": "runners", "channel": "email",
            "purpose": "email_marketing",
            "template": "Hi {{first_name}}, new for the trail: {{recommendations}}. Unsubscribe: {{unsubscribe_url}}"}),
    )
    .await?;
    Ok(())
}

/// Creates a key with one scope, allowed from `origins` (none: any caller).
fn new_key(
    store: &dyn Store,
    scope: Scope,
    origins: &[&str],
    now: Timestamp,
) -> Result<String, Box<dyn std::error::Error>> {
    let new = NewKey {
        scopes: vec![scope],
        allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        label: format!("web demo {}", scope.as_str()),
        expires_at: None,
    };
    Ok(create_key(store, new, now)?.1)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Bound first: the publishable key is allowed for exactly this origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let origin = format!("http://{addr}");
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path())?);
    let mut config = Config::resolve("", Overrides::default())?;
    config.data_dir = dir.path().to_owned();
    let now = Clock::System.now();
    // Server keys: for this process and the browser tests' backend calls, never for a page.
    let admin = new_key(store.as_ref(), Scope::Admin, &[], now)?;
    let ingest = new_key(store.as_ref(), Scope::Ingest, &[], now)?;
    let decide = new_key(store.as_ref(), Scope::Decide, &[], now)?;
    let sessions = new_key(store.as_ref(), Scope::Sessions, &[], now)?;
    let publishable = new_key(store.as_ref(), Scope::Publishable, &[&origin], now)?;
    // Created in the throwaway data directory, so each run pseudonymizes ids afresh.
    let secret = candor_app::secret::load_or_create(&config)?;
    store.unlock_data_keys(
        candor_store::KekRoot::from_server_secret(secret.as_bytes()),
        now,
    )?;
    consent_history(
        store.as_ref(),
        &Policy::default_policy(),
        secret.as_bytes(),
        now,
    )?;
    let shopper = SubjectKey::derive(
        secret.as_bytes(),
        &ExternalId::parse(candor_web::DEMO_SUBJECT_ID)?,
    );
    let state = AppState::new(
        store,
        Policy::default_policy(),
        secret,
        config,
        Clock::System,
    );
    let keys = DemoKeys {
        publishable: publishable.clone(),
        admin: admin.clone(),
        shopper_token: Some(Arc::new(candor_app::signing::minter(
            state.app.clone(),
            shopper,
        ))),
    };
    let app = candor_server::router(state.clone())
        .merge(candor_web::router(WebConfig { demo: Some(keys) }));
    // Seeding is the shop's backend at work, so it uses server keys, from here.
    seed(&app, &admin, &ingest).await?;
    let worker = state.app.clone();
    tokio::task::spawn_blocking(move || candor_app::recommend::rebuild_once(&worker)).await??;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {origin}")?;
        writeln!(out, "admin {admin}")?;
        writeln!(out, "ingest {ingest}")?;
        writeln!(out, "decide {decide}")?;
        writeln!(out, "sessions {sessions}")?;
        // Last: tests/browser/run.sh starts once it sees this line.
        writeln!(out, "publishable {publishable}")?;
        out.flush()?;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // The test runner stops the demo by signal; Ctrl-C does the same by hand.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(dir);
    Ok(())
}
