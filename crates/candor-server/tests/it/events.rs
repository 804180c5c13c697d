//! Ingestion through the router: the gate, minimization, idempotency, partial batches,
//! Segment shapes, identify merges, withdrawal and retention.

use axum::http::StatusCode;
use candor_app::jobs::retention_run_once;
use candor_domain::time::{DAY_MS, Timestamp};
use serde_json::{Value, json};

use crate::support::{NOW, TestApp, off_runtime};

async fn grant(app: &TestApp, subject: &str, purposes: &[&str]) {
    let decisions: Vec<Value> = purposes
        .iter()
        .map(|p| json!({"purpose": p, "decision": "granted"}))
        .collect();
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{subject}/consents"),
            Some(&app.ingest),
            Some(json!({"decisions": decisions})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn events_of(app: &TestApp, subject: &str) -> Vec<Value> {
    let r = app
        .call(
            "GET",
            &format!("/v1/subjects/{subject}/events?limit=500"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn viewed(user: &str, msg: &str, product: &str) -> Value {
    json!({"type": "track", "event": "Product Viewed", "userId": user, "messageId": msg,
           "timestamp": "2026-11-23T09:00:00Z", "properties": {"product_id": product, "category": "Running", "price": 20.0}})
}

async fn post(app: &TestApp, events: Vec<Value>) -> crate::support::Response {
    app.call(
        "POST",
        "/v1/events",
        Some(&app.ingest),
        Some(json!({"events": events})),
    )
    .await
}

async fn seed_catalog(app: &TestApp) {
    let items = json!({"items": [
        {"id": "sku-1", "title": "Trail shoe", "categories": ["Running"], "provider": "Acme"},
        {"id": "sku-2", "title": "Yoga mat", "categories": ["Yoga"]},
        {"id": "sku-3", "title": "Red wine", "categories": ["Wine"], "restricted": ["alcohol"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn without_consent_nothing_is_stored_and_only_a_counter_moves() {
    let app = TestApp::new();
    let r = post(&app, vec![viewed("nobody", "m1", "sku-1")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["results"][0]["status"], "dropped");
    assert!(
        r.body["results"][0]["merged_events"].is_null(),
        "{}",
        r.body
    );
    assert!(events_of(&app, "nobody").await.is_empty());
    let drops = app
        .call("GET", "/v1/stats/drops", Some(&app.admin), None)
        .await;
    assert_eq!(drops.body[0]["reason"], "no_consent");
    assert_eq!(drops.body[0]["event_type"], "Product Viewed");
    assert_eq!(drops.body[0]["count"], 1);
    // The counter holds no identifier of any kind.
    assert_eq!(drops.body[0].as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn accepted_events_say_what_was_kept() {
    let app = TestApp::new();
    grant(&app, "ada", &["analytics"]).await;
    let mut e = viewed("ada", "m1", "sku-1");
    e["properties"]["colour"] = json!("red");
    e["properties"]["position"] = json!("first");
    let r = post(&app, vec![e]).await;
    let res = &r.body["results"][0];
    assert_eq!(res["status"], "accepted", "{}", r.body);
    assert_eq!(res["purposes"], json!(["analytics"]));
    let problems = res["invalid_properties"].as_array().unwrap();
    assert!(problems.contains(&json!({"name": "colour", "reason": "unknown_property"})));
    assert!(problems.contains(&json!({"name": "position", "reason": "invalid_property"})));
    let stored = events_of(&app, "ada").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["properties"]["product_id"], "sku-1");
    assert!(stored[0]["properties"].get("colour").is_none());
    assert_eq!(
        stored[0]["personalization"], false,
        "analytics alone does not feed profiles"
    );
    let expires = Timestamp::parse_rfc3339(stored[0]["expires_at"].as_str().unwrap()).unwrap();
    let occurred = Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
    assert_eq!(expires, occurred.plus_days(395));
}

#[tokio::test]
async fn minimization_is_reported() {
    let app = TestApp::new();
    grant(&app, "bo", &["analytics"]).await;
    let e = json!({"event": "Product Added", "userId": "bo", "messageId": "m1",
                   "properties": {"product_id": "sku-1", "price": 12.0, "quantity": 2}});
    let r = post(&app, vec![e]).await;
    let res = &r.body["results"][0];
    assert_eq!(res["status"], "accepted");
    assert_eq!(
        res["minimized"],
        json!(["price", "quantity"]),
        "purchase data is not needed for analytics"
    );
    let stored = events_of(&app, "bo").await;
    assert_eq!(stored[0]["properties"], json!({"product_id": "sku-1"}));
}

#[tokio::test]
async fn repeats_are_acknowledged_not_stored_twice() {
    let app = TestApp::new();
    grant(&app, "cy", &["analytics"]).await;
    let first = post(
        &app,
        vec![viewed("cy", "same", "sku-1"), viewed("cy", "same", "sku-1")],
    )
    .await;
    assert_eq!(first.body["results"][0]["status"], "accepted");
    assert_eq!(first.body["results"][1]["reason"], "duplicate");
    let again = post(&app, vec![viewed("cy", "same", "sku-1")]).await;
    assert_eq!(again.body["results"][0]["reason"], "duplicate");
    assert_eq!(events_of(&app, "cy").await.len(), 1);
}

#[tokio::test]
async fn a_partly_bad_batch_keeps_the_good_part() {
    let app = TestApp::new();
    grant(&app, "di", &["analytics"]).await;
    let batch = vec![
        viewed("di", "ok-1", "sku-1"),
        json!({"event": "Product Viewed", "messageId": "no-id"}),
        json!({"event": "Product Viewed", "userId": "di", "timestamp": "yesterday"}),
        json!({"event": "Product Viewed", "userId": "di", "timestamp": "2099-01-01T00:00:00Z"}),
        json!("not an object"),
        json!({"event": "Product Viewed", "userId": "di", "mood": "happy"}),
        json!({"event": "Teleported", "userId": "di"}),
        json!({"type": "alias", "userId": "di"}),
        json!({"event": "Product Viewed", "userId": {"nested": 1}}),
        viewed("di", "ok-2", "sku-2"),
    ];
    let r = post(&app, batch).await;
    assert_eq!(r.status, StatusCode::OK);
    let reasons: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        reasons,
        [
            "-",
            "missing_subject_id",
            "invalid_timestamp",
            "timestamp_in_future",
            "invalid_event",
            "invalid_event",
            "unknown_event_type",
            "unsupported_call",
            "invalid_subject_id",
            "-"
        ]
    );
    assert!(
        r.body["results"][5]["message"]
            .as_str()
            .unwrap()
            .contains("mood"),
        "unknown fields are named"
    );
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["invalid"].as_u64()),
        (Some(2), Some(7))
    );
    assert_eq!(events_of(&app, "di").await.len(), 2);
}

#[tokio::test]
async fn batch_limits() {
    let app = TestApp::new();
    let r = post(&app, vec![]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "empty_batch")
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| viewed("x", &format!("m{i}"), "s"))
        .collect();
    let r = post(&app, many).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": "all"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.decide),
            Some(json!({"events": [viewed("x", "m", "s")]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn segment_endpoints_and_write_key_auth() {
    let app = TestApp::new();
    grant(&app, "ed", &["analytics", "personalization"]).await;
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", app.ingest),
    );
    let auth = format!("Basic {basic}");
    let track = json!({"event": "Product Viewed", "userId": "ed", "messageId": "t1", "properties": {"product_id": "sku-1"},
        "context": {"library": {"name": "analytics.js"}}, "integrations": {}, "sentAt": "2026-11-23T09:00:00Z"});
    let r = app
        .call_with(
            "POST",
            "/v1/track",
            None,
            Some(track),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 1);
    let page =
        json!({"userId": "ed", "messageId": "p1", "name": "Home", "properties": {"path": "/"}});
    let r = app
        .call("POST", "/v1/page", Some(&app.ingest), Some(page))
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    let batch = json!({"batch": [{"type": "track", "event": "Products Searched", "userId": "ed", "messageId": "b1", "properties": {"query": "shoes"}}],
        "sentAt": "2026-11-23T09:00:00Z"});
    let r = app
        .call("POST", "/v1/batch", Some(&app.ingest), Some(batch))
        .await;
    assert_eq!(r.body["accepted"], 1);
    let types: Vec<String> = events_of(&app, "ed")
        .await
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["Products Searched", "Page Viewed", "Product Viewed"]
    );
}

#[tokio::test]
async fn identify_merges_only_what_the_identified_subject_allows() {
    let app = TestApp::new();
    seed_catalog(&app).await;
    // The anonymous visitor accepted analytics and personalization on this device.
    grant(&app, "anon-1", &["analytics", "personalization"]).await;
    let anon = |msg: &str| json!({"event": "Product Viewed", "anonymousId": "anon-1", "messageId": msg, "properties": {"product_id": "sku-1"}});
    post(&app, vec![anon("a1"), anon("a2")]).await;
    // The account they log into only allows personalization.
    grant(&app, "user-1", &["personalization"]).await;
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(
                json!({"userId": "user-1", "anonymousId": "anon-1", "messageId": "i1",
                        "traits": {"email": "u1@example.com", "favourite_colour": "blue"}}),
            ),
        )
        .await;
    let res = &r.body["results"][0];
    assert_eq!(res["status"], "accepted", "{}", r.body);
    assert_eq!(res["merged_events"], 2);
    // Orders (a contract purpose) need the email; nothing needs the favourite colour.
    assert_eq!(res["minimized"], json!(["favourite_colour"]));
    let key = app.state.subject_key("user-1").unwrap();
    let contact = off_runtime(|| app.state.store.contact(&key).unwrap());
    assert_eq!(contact.len(), 1);
    assert_eq!(contact[0].0, "email");
    assert!(
        !String::from_utf8_lossy(&contact[0].1).contains("u1@example.com"),
        "sealed, not in the clear"
    );
    let merged = events_of(&app, "user-1").await;
    assert_eq!(merged.len(), 2);
    assert_eq!(
        merged[0]["purposes"],
        json!(["personalization"]),
        "narrowed to what the account allows"
    );
    assert!(events_of(&app, "anon-1").await.is_empty());
    // An account with no consent to what the visitor's events serve receives nothing.
    post(&app, vec![json!({"event": "Product Viewed", "anonymousId": "anon-2", "messageId": "z", "properties": {}})]).await;
    grant(&app, "anon-2", &["analytics"]).await;
    post(&app, vec![json!({"event": "Product Viewed", "anonymousId": "anon-2", "messageId": "z2", "properties": {}})]).await;
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(json!({"userId": "user-2", "anonymousId": "anon-2", "messageId": "i2"})),
        )
        .await;
    assert!(
        r.body["results"][0]["merged_events"].is_null(),
        "{}",
        r.body
    );
    assert_eq!(
        events_of(&app, "anon-2").await.len(),
        1,
        "left where it was, to expire"
    );
    assert!(events_of(&app, "user-2").await.is_empty());
}

#[tokio::test]
async fn profiles_learn_only_from_personalization_and_forget_on_withdrawal() {
    let app = TestApp::new();
    seed_catalog(&app).await;
    grant(&app, "fay", &["analytics"]).await;
    post(&app, vec![viewed("fay", "f1", "sku-1")]).await;
    let key = app.state.subject_key("fay").unwrap();
    assert_eq!(
        off_runtime(|| app.state.store.profile(&key).unwrap()),
        None,
        "analytics does not build profiles"
    );
    grant(&app, "fay", &["personalization"]).await;
    post(
        &app,
        vec![viewed("fay", "f2", "sku-2"), viewed("fay", "f3", "sku-2")],
    )
    .await;
    let p = off_runtime(|| app.state.store.profile(&key).unwrap().unwrap());
    assert_eq!(p.n_views, 2);
    assert!(
        p.affinities.contains_key("Yoga") && !p.affinities.contains_key("Running"),
        "{p:?}"
    );

    let withdraw = json!({"decisions": [{"purpose": "personalization", "decision": "withdrawn"}]});
    app.call(
        "PUT",
        "/v1/subjects/fay/consents",
        Some(&app.ingest),
        Some(withdraw),
    )
    .await;
    let later = Timestamp::from_millis(NOW + 60_000);
    let report = off_runtime(|| {
        retention_run_once(app.state.store.as_ref(), &app.state.policy, 14.0, later).unwrap()
    });
    assert_eq!(report.narrowed, 2, "{report:?}");
    assert_eq!(
        off_runtime(|| app.state.store.profile(&key).unwrap()),
        None,
        "the profile derived from withdrawn data is reset"
    );
    let stored = events_of(&app, "fay").await;
    assert!(
        stored.iter().all(|e| e["purposes"] == json!(["analytics"])),
        "{stored:?}"
    );
    let all = json!({"decisions": [{"purpose": "analytics", "decision": "withdrawn"}]});
    app.call(
        "PUT",
        "/v1/subjects/fay/consents",
        Some(&app.ingest),
        Some(all),
    )
    .await;
    let report = off_runtime(|| {
        retention_run_once(app.state.store.as_ref(), &app.state.policy, 14.0, later).unwrap()
    });
    assert_eq!(report.unconsented_deleted, 3);
    assert!(events_of(&app, "fay").await.is_empty());
}

#[tokio::test]
async fn session_only_data_is_gone_after_the_visit() {
    let app = TestApp::new();
    grant(&app, "gus", &["session_personalization"]).await;
    let r = post(&app, vec![viewed("gus", "g1", "sku-1")]).await;
    assert_eq!(
        r.body["results"][0]["purposes"],
        json!(["session_personalization"])
    );
    let key = app.state.subject_key("gus").unwrap();
    assert!(
        off_runtime(|| app.state.store.profile(&key).unwrap().is_some()),
        "the visit is personalized"
    );
    let after_visit = Timestamp::from_millis(NOW + 31 * 60_000);
    let report = off_runtime(|| {
        retention_run_once(
            app.state.store.as_ref(),
            &app.state.policy,
            14.0,
            after_visit,
        )
        .unwrap()
    });
    assert_eq!(report.expired_deleted, 1);
    assert!(off_runtime(|| app
        .state
        .store
        .all_events(&key)
        .unwrap()
        .is_empty()));
    assert_eq!(off_runtime(|| app.state.store.profile(&key).unwrap()), None);
}

#[tokio::test]
async fn retention_deletes_expired_data() {
    let app = TestApp::new();
    grant(&app, "hal", &["analytics"]).await;
    post(&app, vec![viewed("hal", "h1", "sku-1")]).await;
    let key = app.state.subject_key("hal").unwrap();
    let r = off_runtime(|| {
        retention_run_once(
            app.state.store.as_ref(),
            &app.state.policy,
            14.0,
            Timestamp::from_millis(NOW + 394 * DAY_MS),
        )
        .unwrap()
    });
    assert_eq!(r.expired_deleted, 0);
    let r = off_runtime(|| {
        retention_run_once(
            app.state.store.as_ref(),
            &app.state.policy,
            14.0,
            Timestamp::from_millis(NOW + 396 * DAY_MS),
        )
        .unwrap()
    });
    assert_eq!(r.expired_deleted, 1);
    assert!(off_runtime(|| app
        .state
        .store
        .all_events(&key)
        .unwrap()
        .is_empty()));
}

#[tokio::test]
async fn retention_deletes_exposures_past_the_policys_retention() {
    let app = TestApp::new();
    let key = app.state.subject_key("ida").unwrap();
    let days = i64::from(app.state.policy.fairness.exposure_retention_days);
    let shown = |item: &str, at: i64| candor_store::Exposure {
        subject: key,
        slot: "home".to_owned(),
        item_id: item.to_owned(),
        rank: 1,
        at: Timestamp::from_millis(at),
        personalized: true,
        provider: "acme".to_owned(),
    };
    let old = shown("old", NOW - (days + 1) * DAY_MS);
    let recent = shown("recent", NOW - (days - 1) * DAY_MS);
    off_runtime(|| {
        app.state
            .store
            .record_exposures(&[old, recent.clone()])
            .unwrap()
    });
    let r = off_runtime(|| {
        retention_run_once(
            app.state.store.as_ref(),
            &app.state.policy,
            14.0,
            Timestamp::from_millis(NOW),
        )
        .unwrap()
    });
    assert_eq!(r.exposures_deleted, 1);
    assert_eq!(
        off_runtime(|| app.state.store.exposures_for_subject(&key).unwrap()),
        vec![recent]
    );
}

#[tokio::test]
async fn gpc_in_event_context_is_recorded() {
    let app = TestApp::new();
    let all = json!({"choice": "accept_all", "decisions": [{"purpose": "targeted_advertising", "decision": "granted"}, {"purpose": "analytics", "decision": "granted"}]});
    app.call(
        "PUT",
        "/v1/subjects/ivy/consents",
        Some(&app.ingest),
        Some(all),
    )
    .await;
    let mut e = viewed("ivy", "v1", "sku-1");
    e["context"] = json!({"gpc": true});
    let r = post(&app, vec![e]).await;
    assert_eq!(
        r.body["results"][0]["purposes"],
        json!(["analytics"]),
        "targeted advertising is off under GPC"
    );
    let s = app
        .call("GET", "/v1/subjects/ivy/consents", Some(&app.decide), None)
        .await;
    let ads = s.body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "targeted_advertising")
        .unwrap()
        .clone();
    assert_eq!(ads["reason_code"], "global_privacy_control");
}

#[tokio::test]
async fn catalog_round_trip_and_refusals() {
    let app = TestApp::new();
    seed_catalog(&app).await;
    let r = app
        .call("GET", "/v1/items/sku-3", Some(&app.decide), None)
        .await;
    assert_eq!(r.body["restricted"], json!(["alcohol"]));
    let r = app
        .call("GET", "/v1/items/nope", Some(&app.decide), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "item_not_found")
    );
    let bad = json!({"items": [{"id": "x", "title": "Dice", "restricted": ["dice_games"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(bad))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "unknown_restricted_category")
    );
    let r = app
        .call(
            "PUT",
            "/v1/items",
            Some(&app.admin),
            Some(json!({"items": [{"id": "", "title": "t"}]})),
        )
        .await;
    assert_eq!(r.code(), "invalid_item");
    let r = app
        .call("GET", "/v1/items?limit=2", Some(&app.decide), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert!(r.body["next_cursor"].is_string());
}
