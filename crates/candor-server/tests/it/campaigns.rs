//! Segments, campaigns, audience runs, real-time decisions, unsubscribe and the outbox.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use candor_app::campaigns::{DeliveryPayload, StoredCampaign, outbox, webhook_payload};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_segments::campaign::in_control_group;
use candor_segments::verify_webhook;
use candor_store::Store;
use serde_json::{Value, json};

use crate::support::{NOW, TestApp, off_runtime};

/// A policy that shows every count, so tests can read exact summaries.
pub(crate) fn k1() -> Policy {
    let mut p = Policy::default_policy();
    p.k_anonymity = 1;
    p
}

async fn consent(app: &TestApp, subject: &str, body: Value) {
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{subject}/consents"),
            Some(&app.ingest),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

pub(crate) async fn grant(app: &TestApp, subject: &str, purposes: &[&str]) {
    let decisions: Vec<Value> = purposes
        .iter()
        .map(|p| json!({"purpose": p, "decision": "granted"}))
        .collect();
    consent(app, subject, json!({"decisions": decisions})).await;
}

/// `n` Product Viewed events of a Running item, an hour apart, before NOW.
pub(crate) async fn views(app: &TestApp, subject: &str, n: usize) {
    if n == 0 {
        return;
    }
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let at = Timestamp::from_millis(NOW - (i as i64 + 1) * 3_600_000).to_rfc3339();
            json!({"type": "track", "event": "Product Viewed", "userId": subject,
                   "messageId": format!("{subject}-{i}"), "timestamp": at,
                   "properties": {"product_id": "sku-1", "category": "Running"}})
        })
        .collect();
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn seed_catalog(app: &TestApp) {
    let items = json!({"items": [
        {"id": "sku-1", "title": "Trail shoe", "categories": ["Running"]},
        {"id": "sku-2", "title": "Race <b>vest</b>", "categories": ["Running"]},
        {"id": "sku-3", "title": "Red wine", "categories": ["Running"], "restricted": ["alcohol"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// An adult who agreed to marketing emails and personalization, with `n` views.
pub(crate) async fn runner(app: &TestApp, subject: &str, n: usize) {
    grant(app, subject, &["personalization", "email_marketing"]).await;
    views(app, subject, n).await;
}

async fn post(app: &TestApp, path: &str, body: Value) -> crate::support::Response {
    app.call("POST", path, Some(&app.admin), Some(body)).await
}

pub(crate) async fn segment(app: &TestApp, id: &str, rule: &str) {
    let r = post(
        app,
        "/v1/segments",
        json!({"id": id, "name": format!("Segment {id}"), "purpose": "email_marketing", "rule": rule}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

const EMAIL: &str = "Hi {{first_name}}! Try {{recommendations}}. Unsubscribe: {{unsubscribe_url}}";

pub(crate) async fn campaign(app: &TestApp, body: Value) {
    let mut full = json!({"channel": "email", "purpose": "email_marketing", "template": EMAIL});
    for (k, v) in body.as_object().unwrap() {
        full[k] = v.clone();
    }
    let r = post(app, "/v1/campaigns", full).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

pub(crate) async fn run(app: &TestApp, id: &str, dry_run: bool) -> crate::support::Response {
    let r = app
        .call(
            "POST",
            &format!("/v1/campaigns/{id}/run?dry_run={dry_run}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

pub(crate) fn store(app: &TestApp) -> Arc<dyn Store> {
    Arc::clone(&app.state.store)
}

/// Outcome reason per external id, from the stored outcomes of a run.
fn reasons(app: &TestApp, run_id: &str, subjects: &[&str]) -> BTreeMap<String, String> {
    let outcomes = off_runtime(|| store(app).run_outcomes(run_id).unwrap());
    subjects
        .iter()
        .map(|s| {
            let key = app.state.subject_key(s).unwrap();
            let o = outcomes.iter().find(|o| o.subject == key).unwrap();
            (
                s.to_string(),
                o.reason.clone().unwrap_or_else(|| "selected".into()),
            )
        })
        .collect()
}

#[tokio::test]
async fn lint_answers_with_positions_and_saves_nothing() {
    let app = TestApp::new();
    let lint = |rule: &str| {
        post(
            &app,
            "/v1/segments/lint",
            json!({"rule": rule, "purpose": "email_marketing"}),
        )
    };
    let r = lint("views(30d) >= 5 and\n  interest(\"Comedy\" >= 0.3").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], false);
    let e = &r.body["errors"][0];
    assert_eq!(e["line"], 2, "{e}");
    assert!(e["column"].as_u64().unwrap() > 1, "{e}");
    assert_eq!(e["code"], "syntax_error");

    let r = lint("attribute(\"religion\") == \"x\"").await;
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["errors"][0]["code"], "sensitive_category");
    assert_eq!(r.body["errors"][0]["column"], 1);

    let r = lint("nonsense(3) > 1").await;
    assert_eq!(r.body["errors"][0]["code"], "unknown_feature");

    let r = lint("attribute(\"first_name\") == \"Ann\"").await;
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert_eq!(r.body["warnings"][0]["code"], "proxy_attribute");

    let r = lint("views(30d) >= 5").await;
    assert_eq!(r.body, json!({"ok": true, "errors": [], "warnings": []}));

    let r = app
        .call("GET", "/v1/segments", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["items"], json!([]), "linting saves nothing");
    let r = app
        .call(
            "POST",
            "/v1/segments/lint",
            Some(&app.decide),
            Some(json!({"rule": "views(1d) > 0", "purpose": "email_marketing"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn segments_are_refused_with_reasons_and_previewed_without_members() {
    let app = TestApp::new();
    for s in ["a", "b", "c"] {
        runner(&app, s, 3).await;
    }
    runner(&app, "idle", 0).await;
    segment(&app, "active", "views(30d) >= 2").await;

    let r = post(&app, "/v1/segments", json!({"id": "active", "name": "Again", "purpose": "email_marketing", "rule": "views(1d) > 0"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "segment_exists")
    );
    let r = post(
        &app,
        "/v1/segments",
        json!({"id": "bad", "name": "Bad", "purpose": "email_marketing", "rule": "views(30d) >="}),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "syntax_error")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("1:"),
        "{}",
        r.body
    );
    let r = post(&app, "/v1/segments", json!({"id": "health", "name": "H", "purpose": "email_marketing", "rule": "attribute(\"health\") == \"x\""})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "sensitive_category")
    );
    let r = post(&app, "/v1/segments", json!({"id": "gender", "name": "G", "purpose": "email_marketing", "rule": "attribute(\"gender\") == \"f\""})).await;
    assert_eq!(r.code(), "protected_category");
    let r = post(
        &app,
        "/v1/segments",
        json!({"id": "Bad Id", "name": "B", "purpose": "email_marketing", "rule": "views(1d) > 0"}),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_id")
    );

    let r = app
        .call("GET", "/v1/segments/active", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["rule"], "views(30d) >= 2");
    let r = app
        .call("GET", "/v1/segments/nope", Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "segment_not_found")
    );

    // Three members: below the default k of 10, so the size is not shown.
    let r = app
        .call("GET", "/v1/segments/active/preview", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["size"], "fewer than 10");
    assert_eq!(r.body["k"], 10);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["k", "segment", "size"], "a count, never members");

    let app = TestApp::with_policy(k1());
    for s in ["a", "b", "c"] {
        runner(&app, s, 3).await;
    }
    runner(&app, "idle", 0).await;
    segment(&app, "active", "views(30d) >= 2").await;
    let r = app
        .call("GET", "/v1/segments/active/preview", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["size"], 3);
}

#[tokio::test]
async fn subjects_see_which_segments_they_are_in_and_why() {
    let app = TestApp::new();
    runner(&app, "ann", 3).await;
    runner(&app, "bob", 1).await;
    segment(&app, "active", "views(30d) >= 2").await;
    segment(
        &app,
        "fans",
        "interest(\"Running\") >= 0.5 and not purchased_in(\"Running\", 7d)",
    )
    .await;
    let r = app
        .call("GET", "/v1/subjects/ann/segments", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let segments = r.body["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2, "{}", r.body);
    assert_eq!(segments[0]["segment"], "active");
    assert_eq!(
        segments[0]["explanation"],
        "You are in 'Segment active' because views(30d) = 3 >= 2."
    );
    let clause = &segments[0]["clauses"][0];
    assert_eq!(
        clause["values"][0],
        json!({"feature": "views(30d)", "value": 3.0})
    );
    assert_eq!(clause["holds"], true);
    let fans = &segments[1]["clauses"];
    assert_eq!(fans[1]["negated"], true);
    assert_eq!(fans[1]["holds"], false);

    let r = app
        .call("GET", "/v1/subjects/bob/segments", Some(&app.admin), None)
        .await;
    let ids: Vec<&str> = r.body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fans"], "one view is not enough for `active`");
    let r = app
        .call("GET", "/v1/subjects/ann/segments", Some(&app.decide), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "operators only");
}

#[tokio::test]
async fn campaigns_are_refused_unless_purpose_channel_and_segment_fit() {
    let app = TestApp::new();
    segment(&app, "active", "views(30d) >= 2").await;
    let attempt = |body: Value| {
        let mut full = json!({"id": "c1", "segment": "active", "channel": "email",
                              "purpose": "email_marketing", "template": EMAIL});
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        post(&app, "/v1/campaigns", full)
    };
    for (body, code) in [
        (json!({"segment": "missing"}), "unknown_segment"),
        (json!({"purpose": "analytics"}), "purpose_channel_mismatch"),
        (json!({"channel": "sms"}), "purpose_channel_mismatch"),
        (
            json!({"purpose": "targeted_advertising"}),
            "purpose_channel_mismatch",
        ),
        (json!({"purpose": "nope"}), "unknown_purpose"),
        (json!({"channel": "fax"}), "invalid_channel"),
        (
            json!({"template": "Hello {{first_name}}"}),
            "invalid_template",
        ),
        (
            json!({"template": "{{name}} {{unsubscribe_url}}"}),
            "invalid_template",
        ),
        (json!({"holdout_percent": 60}), "holdout_too_large"),
        (
            json!({"restricted_categories": ["candy"]}),
            "unknown_restricted_category",
        ),
        (json!({"cap": {"max": 1, "window_days": 0}}), "invalid_cap"),
        (json!({"send_at": "tomorrow"}), "invalid_send_at"),
    ] {
        let r = attempt(body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{body}: {}",
            r.body
        );
    }
    let r = attempt(json!({"cap": {"max": 1, "window_days": 7}, "restricted_categories": ["alcohol"], "holdout_percent": 10})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["cap"], json!({"max": 1, "window_days": 7}));
    let r = attempt(json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "campaign_exists")
    );
    let r = app
        .call("GET", "/v1/campaigns/c1", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["restricted_categories"], json!(["alcohol"]));
    let r = app
        .call("GET", "/v1/campaigns", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .call("GET", "/v1/campaigns/c2", Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "campaign_not_found")
    );
    let r = app
        .call("POST", "/v1/campaigns/c2/run", Some(&app.admin), None)
        .await;
    assert_eq!(r.code(), "campaign_not_found");
}

#[tokio::test]
async fn a_run_selects_or_excludes_everyone_with_a_reason() {
    let app = TestApp::with_policy(k1());
    seed_catalog(&app).await;
    runner(&app, "ann", 3).await;
    // Viewed, but did not agree to marketing emails.
    grant(&app, "bob", &["personalization"]).await;
    views(&app, "bob", 3).await;
    // Agreed, but not in the segment.
    runner(&app, "cat", 0).await;
    // A 14-year-old in Germany whose parent agreed: still never gets alcohol marketing.
    consent(
        &app,
        "dan",
        json!({"subject": {"age_band": "13-15", "country": "DE"}, "source": "parental",
               "evidence": {"guardian": "verified"},
               "decisions": [{"purpose": "personalization", "decision": "granted"},
                             {"purpose": "email_marketing", "decision": "granted"}]}),
    )
    .await;
    views(&app, "dan", 3).await;
    // Night where she lives.
    runner(&app, "eve", 3).await;
    let r = app
        .call(
            "PUT",
            "/v1/subjects/eve/time-zone",
            Some(&app.ingest),
            Some(json!({"time_zone": "Pacific/Auckland"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "PUT",
            "/v1/subjects/eve/time-zone",
            Some(&app.ingest),
            Some(json!({"time_zone": "Moon/Crater"})),
        )
        .await;
    assert_eq!(r.code(), "invalid_time_zone");

    segment(&app, "active", "views(30d) >= 2").await;
    campaign(
        &app,
        json!({"id": "wine", "segment": "active", "restricted_categories": ["alcohol"],
               "cap": {"max": 1, "window_days": 7}}),
    )
    .await;

    let r = run(&app, "wine", true).await;
    assert_eq!(r.body["dry_run"], true);
    assert!(r.body.get("run_id").is_none());
    assert_eq!(r.body["total"], 5);
    assert_eq!(r.body["selected"], 1);
    assert_eq!(r.body["excluded"]["no_consent"], 1);
    assert_eq!(r.body["excluded"]["quiet_hours"], 1);
    let ann = app.state.subject_key("ann").unwrap();
    assert!(
        off_runtime(|| store(&app)
            .marketing_state(&ann, Timestamp::from_millis(0))
            .unwrap())
        .deliveries
        .is_empty(),
        "a dry run sends nothing"
    );

    let r = run(&app, "wine", false).await;
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let who = ["ann", "bob", "cat", "dan", "eve"];
    let expected: BTreeMap<String, String> = [
        ("ann", "selected"),
        ("bob", "no_consent"),
        ("cat", "not_in_segment"),
        ("dan", "minor"),
        ("eve", "quiet_hours"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(reasons(&app, &run_id, &who), expected);

    let deliveries = off_runtime(|| store(&app).run_deliveries(&run_id).unwrap());
    assert_eq!(deliveries.len(), 1);
    let payload: DeliveryPayload = webhook_payload(&deliveries[0]).unwrap();
    assert_eq!(payload.subject, ann.to_hex(), "the shop's id never leaves");
    assert_eq!(payload.campaign, "wine");
    assert!(
        payload
            .message
            .starts_with("Hi ! Try Trail shoe, Race &lt;b&gt;vest&lt;/b&gt;, Red wine."),
        "{}",
        payload.message
    );
    assert!(payload.message.contains(&payload.unsubscribe_url));
    assert_eq!(
        payload.headers.list_unsubscribe_post,
        "List-Unsubscribe=One-Click"
    );

    // Each outcome can be explained to the person later.
    let r = app
        .call("GET", "/v1/subjects/dan/campaigns", Some(&app.decide), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"][0]["campaign"], "wine");
    assert_eq!(r.body["items"][0]["reason"], "minor");
    assert_eq!(
        r.body["items"][0]["explanation"],
        "not sent: this campaign is never sent to minors"
    );

    // The campaign's own cap (1 a week) keeps ann out of a second run.
    let r = run(&app, "wine", false).await;
    let second = r.body["run_id"].as_str().unwrap();
    assert_eq!(reasons(&app, second, &["ann"])["ann"], "frequency_cap");
    assert_eq!(r.body["selected"], "fewer than 1");
}

#[tokio::test]
async fn summaries_are_k_suppressed() {
    let app = TestApp::new();
    for i in 0..12 {
        runner(&app, &format!("r{i}"), 3).await;
    }
    grant(&app, "x", &["personalization"]).await;
    views(&app, "x", 3).await;
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    let r = run(&app, "c", true).await;
    assert_eq!(r.body["total"], 13);
    assert_eq!(r.body["selected"], 12);
    assert_eq!(r.body["excluded"]["no_consent"], "fewer than 10");
    // Empty cells are suppressed too: "nobody" is also a statement about people.
    assert_eq!(r.body["excluded"]["minor"], "fewer than 10");
}

#[tokio::test]
async fn racing_runs_never_over_deliver() {
    let app = TestApp::with_policy(k1());
    let people: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    for p in &people {
        runner(&app, p, 3).await;
    }
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(
        &app,
        json!({"id": "once", "segment": "active", "cap": {"max": 1, "window_days": 7}}),
    )
    .await;
    let path = "/v1/campaigns/once/run";
    let (a, b, c) = tokio::join!(
        app.call("POST", path, Some(&app.admin), None),
        app.call("POST", path, Some(&app.admin), None),
        app.call("POST", path, Some(&app.admin), None),
    );
    let mut delivered = 0;
    for r in [a, b, c] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let run_id = r.body["run_id"].as_str().unwrap();
        delivered += off_runtime(|| store(&app).run_deliveries(run_id).unwrap()).len();
    }
    assert_eq!(
        delivered,
        people.len(),
        "one message per person, whoever won"
    );
}

#[test]
fn queued_messages_and_whole_bodies_of_earlier_versions_post_the_same_body() {
    let subject = candor_domain::SubjectKey::from_bytes([7; 32]);
    let url = "https://shop.example/v1/unsubscribe/tok";
    let record = |payload: String| candor_store::DeliveryRecord {
        id: 1,
        subject,
        campaign_id: "spring".into(),
        run_id: "run-1".into(),
        channel: "email".into(),
        at: Timestamp::from_millis(NOW),
        idempotency_key: "key-1".into(),
        payload: Some(payload),
        attempts: 0,
        next_attempt_at: Timestamp::from_millis(NOW),
        delivered_at: None,
        last_error: None,
        held: false,
    };
    let whole = json!({
        "idempotency_key": "key-1",
        "campaign": "spring",
        "run": "run-1",
        "channel": "email",
        "subject": subject.to_hex(),
        "message": format!("Hi! {url}"),
        "unsubscribe_url": url,
        "headers": {
            "List-Unsubscribe": format!("<{url}>"),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    });
    let queued = json!({"message": format!("Hi! {url}"), "unsubscribe_url": url});
    for stored in [&whole, &queued] {
        let body = webhook_payload(&record(stored.to_string())).unwrap();
        assert_eq!(serde_json::to_value(body).unwrap(), whole);
    }
    assert!(
        webhook_payload(&record("{\"message\": 1}".into())).is_err(),
        "an unreadable delivery is an error, not an empty message"
    );
}

fn unsubscribe_path(app: &TestApp, run_id: &str) -> String {
    let d = &off_runtime(|| store(app).run_deliveries(run_id).unwrap())[0];
    let payload: DeliveryPayload = webhook_payload(d).unwrap();
    let url = payload.unsubscribe_url;
    url[url.find("/v1/unsubscribe/").unwrap()..].to_owned()
}

#[tokio::test]
async fn unsubscribe_links_work_without_login_and_take_effect() {
    let app = TestApp::with_policy(k1());
    runner(&app, "ann", 3).await;
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    let r = run(&app, "c", false).await;
    let path = unsubscribe_path(&app, r.body["run_id"].as_str().unwrap());

    // GET only asks: link scanners must not unsubscribe anyone.
    let r = app.call("GET", &path, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_str().unwrap().contains("method=\"post\""));
    let r = run(&app, "c", true).await;
    assert_eq!(
        r.body["excluded"]["unsubscribed"], "fewer than 1",
        "nobody yet"
    );

    let req = Request::builder()
        .method("POST")
        .uri(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"unsubscribed": true, "channel": "email"}));
    // Again: idempotent, and an empty body works too.
    let r = app.call("POST", &path, None, None).await;
    assert_eq!(r.status, StatusCode::OK);

    let r = run(&app, "c", true).await;
    assert_eq!(r.body["excluded"]["unsubscribed"], 1);
    assert_eq!(r.body["selected"], "fewer than 1");

    let forged = format!("{}A", &path[..path.len() - 1]);
    let forged = if forged == path {
        format!("{}B", &path[..path.len() - 1])
    } else {
        forged
    };
    for bad in [forged.as_str(), "/v1/unsubscribe/nonsense"] {
        let r = app.call("POST", bad, None, None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_unsubscribe_token")
        );
    }
    let req = Request::builder()
        .method("POST")
        .uri(&path)
        .body(Body::from("something=else"))
        .unwrap();
    assert_eq!(app.send(req).await.code(), "invalid_unsubscribe_body");
}

#[tokio::test]
async fn decide_picks_the_first_allowed_message_and_counts_it() {
    let app = TestApp::with_policy(k1());
    grant(&app, "ann", &["personalization", "targeted_advertising"]).await;
    views(&app, "ann", 3).await;
    for (id, rule) in [("heavy", "views(30d) >= 10"), ("active", "views(30d) >= 2")] {
        let r = post(
            &app,
            "/v1/segments",
            json!({"id": id, "name": id, "purpose": "targeted_advertising", "rule": rule}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    for (id, segment) in [("banner-heavy", "heavy"), ("banner", "active")] {
        let r = post(
            &app,
            "/v1/campaigns",
            json!({"id": id, "segment": segment, "channel": "web",
            "purpose": "targeted_advertising", "template": "<p>Hello {{first_name}}</p>"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let ask = json!({"subject": "ann", "channel": "web", "campaigns": ["banner-heavy", "banner"]});
    let r = app
        .call("POST", "/v1/decide", Some(&app.decide), Some(ask.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["campaign"], "banner");
    assert_eq!(r.body["message"], "<p>Hello </p>");
    assert_eq!(r.body["decisions"][0]["reason"], "not_in_segment");
    assert_eq!(r.body["decisions"][1]["selected"], true);

    // The global web cap is 5 a day: four more, then no message, and why.
    for _ in 0..4 {
        let r = app
            .call("POST", "/v1/decide", Some(&app.decide), Some(ask.clone()))
            .await;
        assert_eq!(r.body["campaign"], "banner");
    }
    let r = app
        .call("POST", "/v1/decide", Some(&app.decide), Some(ask.clone()))
        .await;
    assert_eq!(r.body["campaign"], Value::Null, "{}", r.body);
    assert_eq!(r.body["decisions"][1]["reason"], "frequency_cap");
    assert!(
        r.body["decisions"][1]["explanation"]
            .as_str()
            .unwrap()
            .contains("at most 5")
    );

    let r = app
        .call("POST", "/v1/decide", Some(&app.ingest), Some(ask.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (body, status, code) in [
        (
            json!({"subject": "ann", "channel": "email", "campaigns": ["banner"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel_mismatch",
        ),
        (
            json!({"subject": "ann", "channel": "web", "campaigns": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_campaign",
        ),
        (
            json!({"subject": "ann", "channel": "web", "campaigns": []}),
            StatusCode::BAD_REQUEST,
            "invalid_campaigns",
        ),
        (
            json!({"subject": "ann", "channel": "pigeon", "campaigns": ["banner"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_channel",
        ),
        (
            json!({"subject": "ann", "channel": "web", "campaigns": ["banner"], "time_zone": "Mars/Base"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time_zone",
        ),
    ] {
        let r = app
            .call("POST", "/v1/decide", Some(&app.decide), Some(body))
            .await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }
}

/// What the test webhook saw.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) requests: Vec<(HeaderMap, String)>,
}

/// A webhook on a local port that answers 503 to its first `failures` requests.
pub(crate) async fn webhook(failures: usize) -> (String, Arc<Mutex<Seen>>) {
    let (app, seen) = webhook_router(failures);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

/// The webhook's routes (`POST /hook`), to serve over any listener.
pub(crate) fn webhook_router(failures: usize) -> (axum::Router, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = Arc::clone(&state);
            async move {
                let mut s = state.lock().unwrap();
                s.requests.push((headers, body));
                if s.requests.len() <= failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    (app, seen)
}

pub(crate) const WEBHOOK_SECRET: &str = "whsec-test-0123456789abcdef0123456789";

async fn app_with_webhook(url: &str) -> TestApp {
    let app = TestApp::with_config_text(
        k1(),
        &format!(
            "[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\nretry_ms_base = 1000\n"
        ),
    );
    runner(&app, "ann", 3).await;
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_retries_with_backoff_until_the_webhook_accepts() {
    let (url, seen) = webhook(2).await;
    let app = app_with_webhook(&url).await;
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(json!({"userId": "ann", "messageId": "id-1", "traits": {"email": "ann@example.com"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = run(&app, "c", false).await;
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let settings = &app.state.config.campaigns;
    let client = outbox::client(settings).unwrap();
    let at = |ms: i64| Timestamp::from_millis(NOW + ms);

    let pass = outbox::run_once(store(&app), settings, &client, at(0))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.failed), (1, 1));
    // Backing off: not due again for a second, then two.
    let pass = outbox::run_once(store(&app), settings, &client, at(999))
        .await
        .unwrap();
    assert_eq!(pass.claimed, 0);
    let pass = outbox::run_once(store(&app), settings, &client, at(1_000))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.failed), (1, 1));
    let pass = outbox::run_once(store(&app), settings, &client, at(2_999))
        .await
        .unwrap();
    assert_eq!(pass.claimed, 0);
    let pass = outbox::run_once(store(&app), settings, &client, at(3_000))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.delivered), (1, 1));
    let pass = outbox::run_once(store(&app), settings, &client, at(1_000_000))
        .await
        .unwrap();
    assert_eq!(pass.claimed, 0, "delivered once accepted");

    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    assert_eq!(d.delivered_at, Some(at(3_000)));
    assert_eq!(d.attempts, 3);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 3);
    for (i, (headers, body)) in seen.requests.iter().enumerate() {
        assert_eq!(
            headers["idempotency-key"],
            d.idempotency_key.as_str(),
            "same key on every attempt"
        );
        let sent: Value = serde_json::from_str(body).unwrap();
        let mut queued: Value = serde_json::to_value(webhook_payload(d).unwrap()).unwrap();
        assert!(
            queued.get("to").is_none(),
            "the outbox never holds the address"
        );
        queued["to"] = json!("ann@example.com");
        assert_eq!(sent, queued, "the queued delivery, addressed when sent");
        let sig = headers["candor-signature"].to_str().unwrap();
        let (t, v1) = sig.split_once(",v1=").unwrap();
        let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
        let sent_at = [0, 1_000, 3_000][i];
        assert_eq!(t, (NOW + sent_at) / 1000);
        verify_webhook(WEBHOOK_SECRET.as_bytes(), t, body.as_bytes(), v1, t, 300).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_webhook_loses_nothing() {
    // A port nothing listens on: bind, note it, and close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = app_with_webhook(&format!("http://{addr}/hook")).await;
    let r = run(&app, "c", false).await;
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let settings = &app.state.config.campaigns;
    let client = outbox::client(settings).unwrap();
    let mut t = NOW;
    for _ in 0..5 {
        let pass = outbox::run_once(store(&app), settings, &client, Timestamp::from_millis(t))
            .await
            .unwrap();
        assert_eq!((pass.claimed, pass.failed), (1, 1));
        t += 10 * 3_600_000;
    }
    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    assert_eq!(d.delivered_at, None);
    assert_eq!(d.attempts, 5);
    assert!(d.last_error.is_some());
    assert!(d.payload.is_some(), "still queued, whole");
}

#[tokio::test]
async fn a_restricted_person_is_excluded_until_the_restriction_is_lifted() {
    let app = TestApp::with_policy(k1());
    runner(&app, "ann", 3).await;
    runner(&app, "bob", 3).await;
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active", "channel": "web", "purpose": "targeted_advertising", "template": "New in Running"})).await;
    grant(&app, "ann", &["targeted_advertising"]).await;
    grant(&app, "bob", &["targeted_advertising"]).await;
    let r = app
        .call(
            "POST",
            "/v1/subjects/ann/restriction",
            Some(&app.admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = run(&app, "c", false).await;
    assert_eq!(r.body["excluded"]["restricted"], 1, "{}", r.body);
    assert_eq!(r.body["selected"], 1, "{}", r.body);
    // The person's export says so.
    let export = app
        .call("GET", "/v1/subjects/ann/export", Some(&app.admin), None)
        .await;
    let outcomes = &export.body["processing"]["campaigns"];
    assert_eq!(outcomes[0]["campaign"], "c", "{}", export.body);
    assert_eq!(outcomes[0]["sent"], false);
    assert_eq!(outcomes[0]["reason"], "restricted");
    let segments = &export.body["processing"]["segments"];
    assert_eq!(segments[0]["segment"], "active", "{}", export.body);
    assert!(
        segments[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("views(30d)")
    );
    app.call(
        "DELETE",
        "/v1/subjects/ann/restriction",
        Some(&app.admin),
        None,
    )
    .await;
    let r = run(&app, "c", true).await;
    assert_eq!(r.body["selected"], 2, "{}", r.body);
}

/// The people of a run whose outcome is `reason`, by external id.
fn with_reason(app: &TestApp, run_id: &str, people: &[String], reason: &str) -> Vec<String> {
    let people: Vec<&str> = people.iter().map(String::as_str).collect();
    reasons(app, run_id, &people)
        .into_iter()
        .filter(|(_, r)| r == reason)
        .map(|(p, _)| p)
        .collect()
}

#[tokio::test]
async fn a_holdout_keeps_the_same_people_out_of_every_run_and_tells_them_why() {
    let app = TestApp::with_policy(k1());
    let people: Vec<String> = (0..40).map(|i| format!("h{i}")).collect();
    for p in &people {
        runner(&app, p, 3).await;
    }
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(
        &app,
        json!({"id": "held", "segment": "active", "holdout_percent": 25}),
    )
    .await;
    // Who is held out follows from the campaign's stored seed alone.
    let record = off_runtime(|| store(&app).campaign("held").unwrap().unwrap());
    let stored: StoredCampaign = serde_json::from_str(&record.spec).unwrap();
    assert_eq!(stored.holdout_percent, 25);
    let expected: Vec<String> = people
        .iter()
        .filter(|p| {
            let key = app.state.subject_key(p).unwrap();
            in_control_group(stored.seed, &key, stored.holdout_percent)
        })
        .cloned()
        .collect();
    // The seed is drawn when the campaign is created: some of the 40, far from all (a draw
    // outside this range has odds of about one in 100,000; the pure crate checks the share
    // itself over many people).
    assert!(
        (1..=25).contains(&expected.len()),
        "{} of 40 held out",
        expected.len()
    );

    let r = run(&app, "held", false).await;
    let first = r.body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["excluded"]["control_group"],
        expected.len(),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["selected"],
        people.len() - expected.len(),
        "{}",
        r.body
    );
    assert_eq!(with_reason(&app, &first, &people, "control_group"), {
        let mut e = expected.clone();
        e.sort();
        e
    });

    // The control group gets nothing; everyone else gets one message.
    let deliveries = off_runtime(|| store(&app).run_deliveries(&first).unwrap());
    assert_eq!(deliveries.len(), people.len() - expected.len());
    for p in &expected {
        let key = app.state.subject_key(p).unwrap();
        assert!(
            deliveries.iter().all(|d| d.subject != key),
            "{p} is in the control group but was sent the message"
        );
    }

    // A held-out person can see why.
    let r = app
        .call(
            "GET",
            &format!("/v1/subjects/{}/campaigns", expected[0]),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"][0]["campaign"], "held");
    assert_eq!(r.body["items"][0]["reason"], "control_group");
    assert_eq!(
        r.body["items"][0]["explanation"],
        "not sent: you were chosen at random for the comparison group, which gets no message"
    );

    // A later run holds out the very same people.
    let r = run(&app, "held", false).await;
    let second = r.body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        with_reason(&app, &second, &people, "control_group"),
        with_reason(&app, &first, &people, "control_group")
    );
    let deliveries = off_runtime(|| store(&app).run_deliveries(&second).unwrap());
    for p in &expected {
        let key = app.state.subject_key(p).unwrap();
        assert!(deliveries.iter().all(|d| d.subject != key));
    }
}
