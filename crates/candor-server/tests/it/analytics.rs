//! Private analytics end to end: only `analytics` consent feeds reports, small cells never
//! appear, the budget is charged once per request and holds across a restart (SQLite) or a
//! second instance (PostgreSQL), and only an admin server key may ask.

use axum::http::StatusCode;
use candor_domain::policy::Policy;
use serde_json::{Value, json};

use crate::campaigns::grant;
use crate::support::TestApp;

/// Enough ε that a cell of a few dozen people shows with a small interval, and a budget for
/// exactly two such reports per day.
const GENEROUS: &str = "[analytics]\n\
    budget = { epsilon = 20.0, delta = 1e-3 }\n\
    report = { epsilon = 10.0, delta = 1e-4 }\n";

/// `n` people `{prefix}-{i}` who granted `purposes` and viewed a product of `category`.
async fn viewers(app: &TestApp, prefix: &str, n: usize, purposes: &[&str], category: &str) {
    let mut batch = Vec::new();
    for i in 0..n {
        let who = format!("{prefix}-{i}");
        grant(app, &who, purposes).await;
        batch.push(
            json!({"type": "track", "event": "Product Viewed", "userId": who,
            "messageId": format!("{who}-view"),
            "properties": {"product_id": format!("{category}-1"), "category": category}}),
        );
    }
    let r = app
        .call(
            "POST",
            "/v1/batch",
            Some(&app.ingest),
            Some(json!({ "batch": batch })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

fn cells(body: &Value) -> Vec<(String, i64, i64, i64)> {
    body["report"]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["cells"].as_array().unwrap().iter())
        .map(|c| {
            let people = &c["people"];
            (
                c["cell"].as_str().unwrap().to_owned(),
                people["value"].as_i64().unwrap(),
                people["ci95_low"].as_i64().unwrap(),
                people["ci95_high"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn report(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = app.call("GET", path, Some(&app.admin), None).await;
    (r.status, r.body)
}

#[tokio::test]
async fn only_analytics_consent_counts_and_small_cells_never_appear() {
    let app = TestApp::with_config_text(Policy::default_policy(), GENEROUS);
    viewers(&app, "fan", 40, &["analytics", "personalization"], "shoes").await;
    // Forty people who allow personalization but not analytics: their views are stored, and
    // count nowhere.
    viewers(&app, "private", 40, &["personalization"], "hats").await;
    // One person alone in a category.
    viewers(&app, "lone", 1, &["analytics"], "rare").await;

    let (status, body) = report(&app, "/v1/analytics/top-categories").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = cells(&body);
    let names: Vec<&str> = shown.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["viewed:shoes"], "{body}");
    // The interval is the noise's: 40 falls outside it in 5 % of runs, and outside five half
    // widths about once in three million (discrete Laplace, scale 0.8).
    let (_, value, low, high) = shown[0].clone();
    let half_width = (high - low) / 2;
    assert!((1..=5).contains(&half_width), "[{low}, {high}]");
    assert!(
        (value - 40).abs() <= 5 * half_width,
        "{value} ± {half_width}"
    );
    let released = &body["report"];
    assert!(
        released["consent_basis"]
            .as_str()
            .unwrap()
            .contains("`analytics`")
    );
    assert_eq!(released["charged_per_day"]["epsilon"], 10.0);
    assert!(released["selection_threshold"].as_i64().unwrap() > 1);
    assert_eq!(released["noise"][0]["epsilon"], 10.0);
    assert_eq!(body["budget"]["remaining"]["epsilon"], 10.0);
    assert_eq!(body["repeated"], false);

    // Interest shares come from the same people: one shown category holds all of them.
    let (_, body) = report(&app, "/v1/analytics/interest-share").await;
    let shares: Vec<(String, f64)> = body["report"]["periods"][29]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cell"].as_str().unwrap().to_owned(),
                c["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shares, [("shoes".to_owned(), 1.0)], "{body}");
}

#[tokio::test]
async fn the_budget_is_charged_once_per_request_and_survives_a_restart() {
    let app = TestApp::with_config_text(Policy::default_policy(), GENEROUS);
    viewers(&app, "fan", 30, &["analytics"], "shoes").await;
    let today = "/v1/analytics/top-items?from=2026-11-23&to=2026-11-23";
    let (status, first) = report(&app, today).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The same request: the same numbers, nothing spent.
    let (_, again) = report(&app, today).await;
    assert_eq!(again["repeated"], true);
    assert_eq!(again["report"], first["report"]);
    assert_eq!(again["budget"]["remaining"]["epsilon"], 10.0);

    // After a restart (or on another instance), the spending is still there: one more
    // report over the day fits, the next does not.
    let app = app.restarted();
    let (_, again) = report(&app, today).await;
    assert_eq!(again["report"], first["report"], "still the same release");
    let (status, week) = report(&app, "/v1/analytics/top-items?by=week&to=2026-11-23").await;
    assert_eq!(status, StatusCode::OK, "{week}");
    assert_eq!(week["budget"]["remaining"]["epsilon"], 0.0);
    let r = app
        .call(
            "GET",
            "/v1/analytics/top-items?from=2026-11-22&to=2026-11-23",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.code(), "privacy_budget_exhausted");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-23")
    );
    // Other families keep their own budget.
    let (status, _) = report(&app, "/v1/analytics/top-categories?to=2026-11-23").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn conversions_credit_orders_and_state_their_noise() {
    let app = TestApp::new();
    let (status, body) = report(&app, "/v1/analytics/conversions?by=week").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let measures: Vec<&str> = body["report"]["noise"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["measure"].as_str().unwrap())
        .collect();
    assert_eq!(measures, ["people", "events", "revenue_minor"]);
    // The default report spends ε = 1 per day, split 0.5 / 0.25 / 0.25.
    assert_eq!(body["report"]["charged_per_day"]["epsilon"], 1.0);
    assert_eq!(body["report"]["noise"][2]["epsilon"], 0.25);
    assert_eq!(body["report"]["by"], "week");
    assert_eq!(body["budget"]["per_day"]["epsilon"], 3.0);
}

#[tokio::test]
async fn bad_queries_are_refused_with_their_code() {
    let app = TestApp::new();
    for (path, status, code) in [
        (
            "/v1/analytics/everything",
            StatusCode::NOT_FOUND,
            "unknown_report_family",
        ),
        (
            "/v1/analytics/conversions?from=yesterday",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/conversions?to=2030-01-01",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/conversions?from=2026-11-23&to=2026-11-01",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/conversions?from=2024-01-01&to=2026-11-01",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/drops?country=DE",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/conversions?country=Germany",
            StatusCode::BAD_REQUEST,
            "invalid_report_query",
        ),
        (
            "/v1/analytics/conversions?by=month",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
    ] {
        let r = app.call("GET", path, Some(&app.admin), None).await;
        assert_eq!((r.status, r.code()), (status, code), "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn only_an_admin_server_key_may_read_reports() {
    let app = TestApp::new();
    let token = app.subject_token("ann", &[]).await;
    let (_, visitor) = app.visitor().await;
    for (key, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(app.ingest.as_str()), StatusCode::FORBIDDEN),
        (Some(app.decide.as_str()), StatusCode::FORBIDDEN),
        (Some(token.as_str()), StatusCode::FORBIDDEN),
        (Some(visitor.as_str()), StatusCode::FORBIDDEN),
        (Some(app.publishable.as_str()), StatusCode::FORBIDDEN),
    ] {
        let r = app
            .call("GET", "/v1/analytics/conversions", key, None)
            .await;
        assert_eq!(r.status, status, "{}", r.body);
    }
}
