//! Consent statistics for the operator's dashboard: per purpose and day or week, from the
//! ledger, every count about people k-suppressed.

use axum::http::StatusCode;
use candor_domain::consent::{ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::time::{DAY_MS, Timestamp};
use serde_json::{Value, json};

use crate::support::{NOW, TestApp, off_runtime};

const K: u64 = 10;

/// `n` people who make `decision` about `purpose` at `at`, written to the ledger directly.
fn ledger(app: &TestApp, label: &str, n: u32, purpose: &str, decision: Decision, at: i64) {
    let policy = &app.state.policy;
    let p = policy.purpose_by_name(purpose).unwrap();
    let record = ConsentRecord {
        purpose: p.id.clone(),
        decision,
        purpose_version: p.version.clone(),
        policy_version: policy.version.clone(),
        source: Source::Banner,
        bulk: false,
        evidence: "{}".to_owned(),
        at: Timestamp::from_millis(at),
    };
    for i in 0..n {
        let key = app.state.subject_key(&format!("{label}-{i}")).unwrap();
        let store = app.state.store.clone();
        let record = record.clone();
        off_runtime(move || {
            store
                .append_consents(
                    &key,
                    &SubjectFacts::default(),
                    &[record],
                    Timestamp::from_millis(at),
                )
                .unwrap()
        });
    }
}

fn purpose<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == id)
        .unwrap_or_else(|| panic!("no {id} in {body}"))
}

/// Every count in the answer is at least k, or a phrase.
fn assert_suppressed(v: &Value) {
    match v {
        Value::Object(m) => {
            for (key, x) in m {
                if ["granted", "denied", "withdrawn", "subjects"].contains(&key.as_str()) {
                    match x {
                        Value::Number(n) => assert!(n.as_u64().unwrap() >= K, "{key} = {n}"),
                        Value::String(s) => {
                            assert!(s == "fewer than 10" || s == "withheld", "{key} = {s}")
                        }
                        other => panic!("{key} = {other}"),
                    }
                } else {
                    assert_suppressed(x);
                }
            }
        }
        Value::Array(xs) => xs.iter().for_each(assert_suppressed),
        _ => {}
    }
}

#[tokio::test]
async fn consent_rates_per_day_and_week_are_k_suppressed() {
    let app = TestApp::new();
    // Today (Monday 2026-11-23): 12 grant analytics through the API, 3 of them then withdraw
    // it. Yesterday (Sunday): 11 others deny it.
    for i in 0..12 {
        let r = app
            .call(
                "PUT",
                &format!("/v1/subjects/today-{i}/consents"),
                Some(&app.ingest),
                Some(json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    ledger(&app, "today", 3, "analytics", Decision::Withdrawn, NOW + 1);
    ledger(
        &app,
        "yesterday",
        11,
        "analytics",
        Decision::Denied,
        NOW - DAY_MS,
    );

    let r = app
        .call("GET", "/v1/stats/consent", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["k"], 10);
    assert_eq!(r.body["bucket"], "day");
    assert_eq!(r.body["since"], "2026-10-25T00:00:00.000Z", "30 days back");
    assert_suppressed(&r.body);
    let ids: Vec<&str> = r.body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["purpose"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"analytics") && !ids.contains(&"order_fulfilment"),
        "{ids:?}"
    );
    let analytics = purpose(&r.body, "analytics");
    let days = analytics["buckets"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(
        days[29],
        json!({"start": "2026-11-23", "granted": 12, "denied": "fewer than 10", "withdrawn": "fewer than 10"})
    );
    assert_eq!(
        days[28],
        json!({"start": "2026-11-22", "granted": "fewer than 10", "denied": 11, "withdrawn": "fewer than 10"})
    );
    // 23 people chose; 9 allow it now, which is below k, so the rest is withheld too.
    assert_eq!(
        analytics["current"],
        json!({"subjects": 23, "granted": "fewer than 10", "granted_share": null})
    );

    // Weeks start on Monday: yesterday belongs to the week before.
    let r = app
        .call(
            "GET",
            "/v1/stats/consent?bucket=week&since=2026-11-18",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["since"], "2026-11-16T00:00:00.000Z");
    let weeks = purpose(&r.body, "analytics")["buckets"].clone();
    assert_eq!(
        weeks,
        json!([
            {"start": "2026-11-16", "granted": "fewer than 10", "denied": 11, "withdrawn": "fewer than 10"},
            {"start": "2026-11-23", "granted": 12, "denied": "fewer than 10", "withdrawn": "fewer than 10"}
        ])
    );

    // Twelve more grants today: the share is shown once both sides reach k.
    ledger(&app, "more", 12, "analytics", Decision::Granted, NOW + 2);
    let r = app
        .call(
            "GET",
            "/v1/stats/consent?since=2026-11-23",
            Some(&app.admin),
            None,
        )
        .await;
    let current = &purpose(&r.body, "analytics")["current"];
    assert_eq!(current["subjects"], 35);
    assert_eq!(current["granted"], 21);
    let share = current["granted_share"].as_f64().unwrap();
    assert!((share - 21.0 / 35.0).abs() < 1e-9, "{share}");
}

#[tokio::test]
async fn consent_stats_refuse_bad_queries_and_non_admins() {
    let app = TestApp::new();
    for (query, code) in [
        ("since=yesterday", "invalid_since"),
        ("since=2027-01-01", "invalid_since"),
        ("since=2020-01-01", "invalid_since"),
        ("bucket=month", "invalid_query"),
        ("days=3", "invalid_query"),
    ] {
        let r = app
            .call(
                "GET",
                &format!("/v1/stats/consent?{query}"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(r.code(), code, "{query}");
    }
    // 400 weeks back is allowed where 400 days is not.
    let r = app
        .call(
            "GET",
            "/v1/stats/consent?bucket=week&since=2020-01-01",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for key in [&app.ingest, &app.decide] {
        let r = app.call("GET", "/v1/stats/consent", Some(key), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.code(), "insufficient_scope");
    }
}
