//! Private analytics end to end: only `analytics` consent feeds reports, small cells never
//! appear, the budget is charged once per request and holds across a restart (SQLite) or a
//! second instance (PostgreSQL), and only an admin server key may ask.

use axum::http::StatusCode;
use candor_app::jobs::retention_run_once;
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use serde_json::{Value, json};

use crate::campaigns::grant;
use crate::support::{NOW, TestApp, off_runtime};

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
    post_batch(app, batch).await;
}

async fn post_batch(app: &TestApp, batch: Vec<Value>) {
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
async fn releases_are_pruned_a_grace_after_their_days_and_budgets_stay() {
    let app = TestApp::with_config_text(Policy::default_policy(), GENEROUS);
    viewers(&app, "fan", 30, &["analytics"], "shoes").await;
    let today = "/v1/analytics/top-items?from=2026-11-23&to=2026-11-23";
    let (status, first) = report(&app, today).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let retention = |days: i64| {
        let at = Timestamp::from_millis(NOW + days * DAY_MS);
        off_runtime(|| {
            retention_run_once(app.state.store.as_ref(), &app.state.policy, 14.0, at).unwrap()
        })
    };
    // Thirty days after the day ended, the release is still the answer to the same request.
    assert_eq!(retention(30).releases_pruned, 0);
    let (_, again) = report(&app, today).await;
    assert_eq!(again["repeated"], true);
    assert_eq!(again["report"], first["report"]);
    // A day later it is gone; the budget it charged is not: asking again is a new release,
    // charged again, and the one after that no longer fits the day.
    assert_eq!(retention(31).releases_pruned, 1);
    let (status, fresh) = report(&app, today).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["repeated"], false);
    assert_eq!(fresh["budget"]["remaining"]["epsilon"], 0.0);
    assert_eq!(retention(31).releases_pruned, 1);
    let r = app.call("GET", today, Some(&app.admin), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.code(), "privacy_budget_exhausted");
}

#[tokio::test]
async fn drop_reports_count_events_and_say_so() {
    let app = TestApp::with_config_text(Policy::default_policy(), GENEROUS);
    // Views of people who allowed nothing: dropped at the gate, never stored.
    let batch: Vec<Value> = (0..40)
        .map(|i| {
            json!({"type": "track", "event": "Product Viewed", "userId": format!("anon-{i}"),
                "messageId": format!("anon-{i}-view"),
                "properties": {"product_id": "shoes-1", "category": "shoes"}})
        })
        .collect();
    post_batch(&app, batch).await;
    let (status, body) = report(&app, "/v1/analytics/drops").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let released = &body["report"];
    assert_eq!(released["unit"], "dropped events");
    assert_eq!(released["noise"][0]["measure"], "dropped events");
    assert!(
        released["consent_basis"]
            .as_str()
            .unwrap()
            .contains("per event, not per person"),
        "{released}"
    );
    let shown = cells(&body);
    assert!(!shown.is_empty(), "{body}");
    assert!(
        shown.iter().all(|c| c.0.ends_with("/Product Viewed")),
        "a cell is a reason and an event type: {shown:?}"
    );
    // The same people are in no report about people.
    let (_, body) = report(&app, "/v1/analytics/top-categories").await;
    assert!(cells(&body).is_empty(), "{body}");
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
    // The default report spends ε = 1 per day, split 0.25 / 0.25 / 0.5.
    assert_eq!(body["report"]["charged_per_day"]["epsilon"], 1.0);
    assert_eq!(body["report"]["noise"][0]["epsilon"], 0.25);
    assert_eq!(body["report"]["noise"][2]["epsilon"], 0.5);
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
