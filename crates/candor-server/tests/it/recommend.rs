//! Recommendations through the router: consent decides personalization at request time,
//! minors never see restricted items, bought items are not offered again, and every item
//! says why it is there.

use axum::http::StatusCode;
use candor_app::recommend::rebuild_once;
use serde_json::{Value, json};

use crate::support::{Response, TestApp, off_runtime};

/// Running gear, yoga gear, and wine with a wine glass: wine is the most popular, and the
/// glass is bought with nothing but wine.
async fn seed_catalog(app: &TestApp) {
    let items = json!({"items": [
        {"id": "wine-1", "title": "Red wine", "categories": ["Wine"], "restricted": ["alcohol"]},
        {"id": "wine-2", "title": "White wine", "categories": ["Wine"], "restricted": ["alcohol"]},
        {"id": "glass-1", "title": "Wine glass", "categories": ["Kitchen"]},
        {"id": "shoe-1", "title": "Trail shoe", "categories": ["Running"]},
        {"id": "shoe-2", "title": "Road shoe", "categories": ["Running"]},
        {"id": "sock-1", "title": "Running socks", "categories": ["Running"]},
        {"id": "mat-1", "title": "Yoga mat", "categories": ["Yoga"]},
        {"id": "block-1", "title": "Yoga block", "categories": ["Yoga"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn consent(app: &TestApp, subject: &str, body: Value, key: &str) {
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{subject}/consents"),
            Some(key),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn grant(app: &TestApp, subject: &str) {
    let body = json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]});
    consent(app, subject, body, &app.ingest).await;
}

/// A person of 13–15 in Germany (age of digital consent 16) whose guardian granted
/// personalization.
async fn grant_minor(app: &TestApp, subject: &str) {
    let own = json!({"subject": {"age_band": "13-15", "country": "DE"},
        "decisions": [{"purpose": "analytics", "decision": "granted"}]});
    consent(app, subject, own, &app.ingest).await;
    let parental = json!({"source": "parental", "evidence": {"method": "card check"},
        "decisions": [{"purpose": "personalization", "decision": "granted"}]});
    consent(app, subject, parental, &app.admin).await;
}

fn event(name: &str, user: &str, product: &str) -> Value {
    json!({"type": "track", "event": name, "userId": user,
           "messageId": format!("{name}-{user}-{product}"),
           "timestamp": "2026-11-23T09:00:00Z", "properties": {"product_id": product}})
}

async fn post(app: &TestApp, events: Vec<Value>) {
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for result in r.body["results"].as_array().unwrap() {
        assert_eq!(result["status"], "accepted", "{}", r.body);
    }
}

async fn views(app: &TestApp, user: &str, products: &[&str]) {
    grant(app, user).await;
    let events = products
        .iter()
        .map(|p| event("Product Viewed", user, p))
        .collect();
    post(app, events).await;
}

/// Ten wine lovers, four runners, two yogis: wine is the most popular, and running items
/// co-occur with each other only.
async fn seed_shop(app: &TestApp) {
    seed_catalog(app).await;
    for u in 0..10 {
        views(app, &format!("wine-{u}"), &["wine-1", "wine-2", "glass-1"]).await;
    }
    for u in 0..4 {
        views(app, &format!("run-{u}"), &["shoe-1", "shoe-2", "sock-1"]).await;
    }
    for u in 0..2 {
        views(app, &format!("yoga-{u}"), &["mat-1", "block-1"]).await;
    }
}

async fn recs(app: &TestApp, subject: &str, query: &str) -> Response {
    app.call(
        "GET",
        &format!("/v1/subjects/{subject}/recommendations?{query}"),
        Some(&app.decide),
        None,
    )
    .await
}

fn ids(r: &Response) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn rebuild(app: &TestApp) -> candor_app::recommend::RebuildReport {
    off_runtime(|| rebuild_once(&app.state).unwrap())
}

#[tokio::test]
async fn personalized_with_consent_and_popular_without_saying_why() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "alice", &["shoe-1"]).await;
    let report = rebuild(&app);
    assert_eq!(report.n_items, 8);
    assert_eq!(report.subjects_used, 17);

    let r = recs(&app, "alice", "n=2&slot=home&diversity=0").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["personalized"], true);
    assert_eq!(r.body["basis"]["code"], "granted");
    assert_eq!(r.body["basis"]["purpose"], "personalization");
    assert_eq!(r.body["slot"], "home");
    let got = ids(&r);
    assert_eq!(got.len(), 2);
    assert!(
        got.contains(&"shoe-2".to_owned()) && got.contains(&"sock-1".to_owned()),
        "{got:?}"
    );
    for item in r.body["items"].as_array().unwrap() {
        assert_eq!(
            item["reasons"],
            json!([{"kind": "because_you_viewed", "items": ["shoe-1"],
                    "text": "Because you viewed Trail shoe"}])
        );
    }

    // Nobody Candor knows: the same list for everyone, and why.
    let r = recs(&app, "stranger", "n=3").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["personalized"], false);
    assert_eq!(r.body["basis"]["code"], "no_choice_yet");
    assert_eq!(r.body["basis"]["message"], "denied: no choice yet");
    assert_eq!(ids(&r), ["wine-1", "wine-2", "glass-1"]);
    assert_eq!(
        r.body["items"][0]["reasons"],
        json!([{"kind": "popular_in", "category": "Wine", "text": "Popular in Wine"}])
    );

    // Consent without history yet.
    grant(&app, "newcomer").await;
    let r = recs(&app, "newcomer", "").await;
    assert_eq!(r.body["personalized"], false);
    assert_eq!(r.body["basis"]["code"], "no_history");
}

#[tokio::test]
async fn withdrawal_makes_the_next_request_non_personalized() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "alice", &["shoe-1"]).await;
    let before = rebuild(&app);
    assert_eq!(recs(&app, "alice", "").await.body["personalized"], true);

    let withdraw = json!({"decisions": [{"purpose": "personalization", "decision": "withdrawn"}]});
    consent(&app, "alice", withdraw, &app.ingest).await;
    // Before any rebuild or retention run: consent is derived per request.
    let r = recs(&app, "alice", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["personalized"], false);
    assert_eq!(r.body["basis"]["code"], "withdrawn");
    assert!(
        r.body["basis"]["message"]
            .as_str()
            .unwrap()
            .starts_with("denied: withdrawn on "),
        "{}",
        r.body
    );
    for item in r.body["items"].as_array().unwrap() {
        assert_ne!(item["reasons"][0]["kind"], "because_you_viewed");
    }

    // The next rebuild leaves her out of the shared models.
    let after = rebuild(&app);
    assert_eq!(after.subjects_used, before.subjects_used - 1);
    assert_eq!(after.subjects_without_consent, 1);
}

#[tokio::test]
async fn minors_never_see_restricted_items() {
    let app = TestApp::new();
    seed_shop(&app).await;
    // An adult who looked at the glass is offered wine first...
    views(&app, "adult", &["glass-1"]).await;
    // ...a minor with the same history, with a guardian's consent, never is.
    grant_minor(&app, "kid").await;
    post(&app, vec![event("Product Viewed", "kid", "glass-1")]).await;
    rebuild(&app);

    let r = recs(&app, "adult", "n=5&diversity=0").await;
    assert_eq!(r.body["personalized"], true);
    assert_eq!(ids(&r)[..2], ["wine-1", "wine-2"]);

    let r = recs(&app, "kid", "n=5&diversity=0").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["personalized"], true, "{}", r.body);
    let got = ids(&r);
    assert!(!got.is_empty());
    assert!(got.iter().all(|id| !id.starts_with("wine")), "{got:?}");

    // Without personalization, popularity would put wine first too.
    let own = json!({"subject": {"age_band": "13-15", "country": "DE"},
        "decisions": [{"purpose": "analytics", "decision": "granted"}]});
    consent(&app, "kid2", own, &app.ingest).await;
    for query in ["n=5", "n=5&context_item=glass-1"] {
        let r = recs(&app, "kid2", query).await;
        assert_eq!(r.body["personalized"], false);
        assert_eq!(r.body["basis"]["code"], "no_choice_yet");
        let got = ids(&r);
        assert_eq!(got.len(), 5, "{query}: {got:?}");
        assert!(
            got.iter().all(|id| !id.starts_with("wine")),
            "{query}: {got:?}"
        );
    }
    // An adult stranger is offered the popular wine.
    let got = ids(&recs(&app, "stranger", "n=3").await);
    assert!(got.contains(&"wine-1".to_owned()), "{got:?}");
}

#[tokio::test]
async fn purchased_items_are_not_offered_again() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "carol", &["shoe-1"]).await;
    post(&app, vec![event("Order Completed", "carol", "shoe-2")]).await;
    rebuild(&app);
    let r = recs(&app, "carol", "n=8&diversity=0").await;
    assert_eq!(r.body["personalized"], true);
    let got = ids(&r);
    assert!(!got.contains(&"shoe-2".to_owned()), "{got:?}");
    assert!(!got.contains(&"shoe-1".to_owned()), "{got:?}");
    assert_eq!(got[0], "sock-1");
    // The strongest thing she did with each item names the reason, never "viewed" of
    // something bought.
    let reasons = &r.body["items"][0]["reasons"][0];
    if reasons["items"] == json!(["shoe-2"]) {
        assert_eq!(reasons["kind"], "because_you_bought", "{}", r.body);
        assert_eq!(reasons["text"], "Because you bought Road shoe");
    } else {
        assert_eq!(reasons["items"], json!(["shoe-1"]), "{}", r.body);
        assert_eq!(reasons["kind"], "because_you_viewed");
        assert_eq!(reasons["text"], "Because you viewed Trail shoe");
    }
}

#[tokio::test]
async fn every_item_carries_a_reason_with_its_sentence() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "alice", &["shoe-1"]).await;
    rebuild(&app);

    // Relevance only: the two related items, then popular items to fill the list.
    let r = recs(&app, "alice", "n=5&diversity=0").await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for item in &items[..2] {
        assert_eq!(item["reasons"][0]["kind"], "because_you_viewed");
    }
    for item in &items[2..] {
        let reason = &item["reasons"][0];
        assert_eq!(reason["kind"], "popular_in", "{}", r.body);
        let category = item["categories"][0].as_str().unwrap();
        assert_eq!(reason["category"], category);
        assert_eq!(reason["text"], format!("Popular in {category}"));
    }

    // Full diversity keeps a share of the list for other interests.
    let r = recs(&app, "alice", "n=5&diversity=1").await;
    let items = r.body["items"].as_array().unwrap();
    let explored: Vec<&Value> = items
        .iter()
        .filter(|i| i["reasons"][0]["kind"] == "exploration")
        .collect();
    assert_eq!(explored.len(), 1, "{}", r.body);
    assert_eq!(
        explored[0]["reasons"][0]["text"],
        "Picked to broaden your recommendations"
    );
    assert_ne!(explored[0]["categories"][0], "Running");
    for item in items {
        let reason = &item["reasons"][0];
        assert!(reason["text"].as_str().is_some_and(|t| !t.is_empty()));
    }

    // Similar to what is on screen, for someone without consent.
    let r = recs(&app, "stranger", "n=3&context_item=shoe-1").await;
    assert_eq!(r.body["personalized"], false);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(
        items[0]["reasons"],
        json!([{"kind": "similar_to", "items": ["shoe-1"], "text": "Similar to Trail shoe"}])
    );
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["reasons"][0]["kind"], "popular_in");
}

#[tokio::test]
async fn bad_requests_have_stable_codes() {
    let app = TestApp::new();
    seed_shop(&app).await;
    rebuild(&app);
    let r = recs(&app, "alice", "context_item=nope").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "item_not_found")
    );
    let r = recs(&app, "alice", "n=101").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_n"));
    let r = recs(&app, "alice", "n=0").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_n"));
    let r = recs(&app, "alice", "n=100").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = recs(&app, "alice", "diversity=2").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_diversity")
    );
    let r = app
        .call(
            "GET",
            "/v1/subjects/alice/recommendations",
            Some(&app.ingest),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let r = app
        .call("GET", "/v1/items/nope/similar", Some(&app.decide), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "item_not_found")
    );
    let r = app
        .call(
            "GET",
            "/v1/items/shoe-1/similar?n=101",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_n"));
}

#[tokio::test]
async fn similar_items_come_from_co_occurrence_and_leave_restricted_items_out() {
    let app = TestApp::new();
    seed_shop(&app).await;
    rebuild(&app);
    let r = app
        .call(
            "GET",
            "/v1/items/shoe-1/similar?n=5",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["item"], "shoe-1");
    assert_eq!(ids(&r), ["shoe-2", "sock-1"]);
    assert_eq!(
        r.body["items"][0]["reasons"],
        json!([{"kind": "similar_to", "items": ["shoe-1"], "text": "Similar to Trail shoe"}])
    );
    // Only wine was ever seen with the glass, and no viewer's age is known here.
    let r = app
        .call("GET", "/v1/items/glass-1/similar", Some(&app.decide), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"], json!([]));
}

/// Feedback as the person gives it, with their own session token (pausing and removing from
/// history are theirs alone).
async fn feedback(app: &TestApp, subject: &str, body: Value) -> Response {
    let token = app.subject_token(subject, &["recommendations"]).await;
    app.call(
        "POST",
        &format!("/v1/subjects/{subject}/feedback"),
        Some(&token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn not_interested_hides_items_and_categories_on_the_next_request() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "dana", &["shoe-1"]).await;
    rebuild(&app);
    let before = ids(&recs(&app, "dana", "n=8&diversity=0").await);
    assert!(before.contains(&"sock-1".to_owned()), "{before:?}");
    assert!(before.iter().any(|id| id.starts_with("wine")), "{before:?}");

    let r = feedback(
        &app,
        "dana",
        json!({"action": "not_interested", "item": "sock-1"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["preferences"]["hidden_items"], json!(["sock-1"]));
    let r = feedback(
        &app,
        "dana",
        json!({"action": "not_interested", "category": "Wine"}),
    )
    .await;
    assert_eq!(r.body["preferences"]["muted_categories"], json!(["Wine"]));

    // No rebuild in between: the next list already leaves them out, personalized or not.
    let r = recs(&app, "dana", "n=8&diversity=0").await;
    assert_eq!(r.body["personalized"], true);
    let got = ids(&r);
    assert!(!got.contains(&"sock-1".to_owned()), "{got:?}");
    assert!(got.iter().all(|id| !id.starts_with("wine")), "{got:?}");
    let r = recs(&app, "dana", "n=8&context_item=glass-1").await;
    assert!(
        ids(&r)
            .iter()
            .all(|id| !id.starts_with("wine") && id != "sock-1")
    );

    // Undo.
    feedback(
        &app,
        "dana",
        json!({"action": "interested_again", "category": "Wine"}),
    )
    .await;
    let got = ids(&recs(&app, "dana", "n=8&diversity=0").await);
    assert!(got.iter().any(|id| id.starts_with("wine")), "{got:?}");
    let r = app
        .call(
            "GET",
            "/v1/subjects/dana/preferences",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"muted_categories": [], "hidden_items": ["sock-1"], "paused": false, "self_excluded": false})
    );
}

#[tokio::test]
async fn pausing_personalization_keeps_consent_and_resuming_restores_it() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "erin", &["shoe-1"]).await;
    rebuild(&app);
    assert_eq!(recs(&app, "erin", "").await.body["personalized"], true);

    let r = feedback(&app, "erin", json!({"action": "pause_personalization"})).await;
    assert_eq!(r.body["preferences"]["paused"], true);
    let r = recs(&app, "erin", "").await;
    assert_eq!(r.body["personalized"], false);
    assert_eq!(r.body["basis"]["code"], "paused");
    for item in r.body["items"].as_array().unwrap() {
        assert_ne!(item["reasons"][0]["kind"], "because_you_viewed");
    }
    let consents = app
        .call("GET", "/v1/subjects/erin/consents", Some(&app.decide), None)
        .await;
    assert_eq!(consents.status, StatusCode::OK);
    assert!(
        consents.body.to_string().contains("granted"),
        "consent untouched"
    );

    feedback(&app, "erin", json!({"action": "resume_personalization"})).await;
    assert_eq!(recs(&app, "erin", "").await.body["personalized"], true);
}

#[tokio::test]
async fn removing_an_item_from_history_deletes_its_events_and_the_models_forget_it() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "finn", &["shoe-1", "mat-1"]).await;
    rebuild(&app);
    let r = feedback(
        &app,
        "finn",
        json!({"action": "remove_from_history", "item": "shoe-1"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["removed_events"], 1);
    let events = app
        .call("GET", "/v1/subjects/finn/events", Some(&app.admin), None)
        .await;
    let text = events.body.to_string();
    assert!(!text.contains("shoe-1") && text.contains("mat-1"), "{text}");
    // What is left explains the list: nothing says "because you viewed Trail shoe".
    let r = recs(&app, "finn", "n=5&diversity=0").await;
    assert_eq!(r.body["personalized"], true);
    for item in r.body["items"].as_array().unwrap() {
        if item["reasons"][0]["kind"] == "because_you_viewed" {
            assert_eq!(item["reasons"][0]["items"], json!(["mat-1"]));
        }
    }
}

#[tokio::test]
async fn self_exclusion_keeps_restricted_items_away() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "gil", &["glass-1"]).await;
    rebuild(&app);
    assert_eq!(
        ids(&recs(&app, "gil", "n=2&diversity=0").await),
        ["wine-1", "wine-2"]
    );
    let r = feedback(&app, "gil", json!({"action": "self_exclude"})).await;
    assert_eq!(r.body["preferences"]["self_excluded"], true);
    for query in ["n=5&diversity=0", "n=5&context_item=glass-1"] {
        let got = ids(&recs(&app, "gil", query).await);
        assert!(!got.is_empty());
        assert!(
            got.iter().all(|id| !id.starts_with("wine")),
            "{query}: {got:?}"
        );
    }
    // Similar items know nobody, so they never show restricted items at all.
    let r = app
        .call("GET", "/v1/items/glass-1/similar", Some(&app.decide), None)
        .await;
    assert!(ids(&r).iter().all(|id| !id.starts_with("wine")));
}

#[tokio::test]
async fn bad_feedback_is_refused_with_a_code() {
    let app = TestApp::new();
    seed_catalog(&app).await;
    for (body, status, code) in [
        (
            json!({"action": "love_it"}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "not_interested"}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "not_interested", "item": "shoe-1", "category": "Running"}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "pause_personalization", "item": "shoe-1"}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "remove_from_history", "category": "Running"}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "not_interested", "item": "nope"}),
            StatusCode::NOT_FOUND,
            "item_not_found",
        ),
        (
            json!({"action": "not_interested", "category": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_feedback",
        ),
        (
            json!({"action": "pause_personalization", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let r = feedback(&app, "hal", body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}: {}", r.body);
    }
    // The decide key may read preferences, not change them.
    let r = app
        .call(
            "POST",
            "/v1/subjects/hal/feedback",
            Some(&app.decide),
            Some(json!({"action": "pause_personalization"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_restricted_person_gets_non_personalized_lists_until_lifted() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "ivy", &["shoe-1"]).await;
    rebuild(&app);
    assert_eq!(recs(&app, "ivy", "").await.body["personalized"], true);
    let r = app
        .call(
            "POST",
            "/v1/subjects/ivy/restriction",
            Some(&app.admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = recs(&app, "ivy", "").await;
    assert_eq!(r.body["personalized"], false);
    assert_eq!(r.body["basis"]["code"], "restricted");
    let r = app
        .call(
            "DELETE",
            "/v1/subjects/ivy/restriction",
            Some(&app.admin),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(recs(&app, "ivy", "").await.body["personalized"], true);
}

#[test]
fn exposures_flush_early_under_load_and_on_the_interval_otherwise() {
    use candor_app::recommend::{
        EXPOSURE_FLUSH_INTERVAL, EXPOSURES_FLUSH_EARLY, exposure_flush_due,
    };
    use std::time::Duration;
    assert!(
        !exposure_flush_due(0, EXPOSURE_FLUSH_INTERVAL * 5),
        "nothing to write"
    );
    assert!(!exposure_flush_due(10, Duration::from_millis(100)));
    assert!(exposure_flush_due(10, EXPOSURE_FLUSH_INTERVAL));
    assert!(
        exposure_flush_due(EXPOSURES_FLUSH_EARLY, Duration::ZERO),
        "a filling buffer is written before the interval is up"
    );
}

#[tokio::test]
async fn exposures_are_recorded_for_known_people_exported_and_erased() {
    let app = TestApp::new();
    seed_shop(&app).await;
    views(&app, "jo", &["shoe-1"]).await;
    rebuild(&app);
    let r = recs(&app, "jo", "n=3&slot=home").await;
    assert_eq!(ids(&r).len(), 3);
    // A stranger's generic list starts no trail.
    recs(&app, "stranger", "n=3&slot=home").await;
    let written = off_runtime(|| candor_app::recommend::flush_exposures(&app.state).unwrap());
    assert_eq!(written, 3);
    let key = app.state.subject_key("jo").unwrap();
    let stored = off_runtime(|| app.state.store.exposures_for_subject(&key).unwrap());
    let shown: Vec<(String, u32)> = stored.iter().map(|e| (e.item_id.clone(), e.rank)).collect();
    let expected: Vec<(String, u32)> = ids(&r).into_iter().zip(1..).collect();
    assert_eq!(shown, expected);
    assert!(stored.iter().all(|e| e.slot == "home" && e.personalized));

    let export = app
        .call("GET", "/v1/subjects/jo/export", Some(&app.admin), None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert_eq!(
        export.body["processing"]["exposures"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let erased = app
        .call("DELETE", "/v1/subjects/jo", Some(&app.admin), None)
        .await;
    assert!(erased.status.is_success(), "{}", erased.body);
    assert!(off_runtime(|| app.state.store.exposures_for_subject(&key).unwrap()).is_empty());
    // The audit log kept who exported and who erased, naming nobody.
    let log = app
        .call("GET", "/v1/audit?limit=100", Some(&app.admin), None)
        .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"data_exported") && actions.contains(&"erasure"),
        "{actions:?}"
    );
    assert!(!log.body.to_string().contains(&key.to_hex()));
}

#[tokio::test]
async fn the_policy_sets_the_default_diversity_and_a_request_overrides_it() {
    use candor_domain::policy::{DEFAULT_POLICY_TOML, Policy};
    let broad =
        Policy::parse(&DEFAULT_POLICY_TOML.replace("diversity = 0.5", "diversity = 1.0")).unwrap();
    assert_eq!(broad.recommendation_diversity.as_f32(), 1.0);
    for app in [TestApp::new(), TestApp::with_policy(broad)] {
        seed_shop(&app).await;
        views(&app, "alice", &["shoe-1"]).await;
        rebuild(&app);
        let policy_default = app.state.policy.recommendation_diversity.as_f32();
        let implicit = recs(&app, "alice", "n=5").await;
        let explicit = recs(&app, "alice", &format!("n=5&diversity={policy_default}")).await;
        assert_eq!(
            ids(&implicit),
            ids(&explicit),
            "no `diversity` means the policy's"
        );
        let explored = |r: &Response| {
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["reasons"][0]["kind"] == "exploration")
                .count()
        };
        if policy_default == 1.0 {
            assert_eq!(explored(&implicit), 1, "{}", implicit.body);
            let narrow = recs(&app, "alice", "n=5&diversity=0").await;
            assert_eq!(explored(&narrow), 0, "the request's value wins");
        }
    }
}
