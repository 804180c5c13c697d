//! The routes the privacy center uses accept a subject token for that person, beside the
//! shop's keys: consents, their history, feedback, preferences and recommendations.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, purpose};

async fn token(app: &TestApp, subject: &str) -> String {
    let r = app
        .call(
            "POST",
            "/v1/subject-tokens",
            Some(&app.admin),
            Some(json!({"subject": subject})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

/// Every route of the privacy center, as (method, path under the subject, body).
fn routes() -> Vec<(&'static str, &'static str, Option<serde_json::Value>)> {
    vec![
        ("GET", "/consents", None),
        ("GET", "/consents/history", None),
        (
            "PUT",
            "/consents",
            Some(json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]})),
        ),
        ("GET", "/preferences", None),
        (
            "POST",
            "/feedback",
            Some(json!({"action": "pause_personalization"})),
        ),
        ("GET", "/recommendations", None),
    ]
}

#[tokio::test]
async fn own_token_opens_every_privacy_center_route() {
    let app = TestApp::new();
    let ann = token(&app, "ann").await;
    for (method, path, body) in routes() {
        let r = app
            .call(method, &format!("/v1/subjects/ann{path}"), Some(&ann), body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.body);
    }
    // What the token did is what the shop's keys see.
    let r = app
        .call("GET", "/v1/subjects/ann/consents", Some(&app.decide), None)
        .await;
    assert_eq!(purpose(&r.body, "personalization")["status"], "granted");
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/preferences",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.body["paused"], true);
    let r = app
        .call("GET", "/v1/subjects/ann/recommendations", Some(&ann), None)
        .await;
    assert_eq!(r.body["personalized"], false, "paused: {}", r.body);
}

#[tokio::test]
async fn another_persons_token_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    let bob = token(&app, "bob").await;
    for (method, path, body) in routes() {
        let r = app
            .call(method, &format!("/v1/subjects/ann{path}"), Some(&bob), body)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(r.code(), "token_wrong_subject", "{method} {path}");
    }
    let r = app
        .call("GET", "/v1/subjects/ann/consents", Some(&app.decide), None)
        .await;
    assert_eq!(purpose(&r.body, "personalization")["allowed"], false);
    assert_eq!(
        purpose(&r.body, "personalization")["reason_code"],
        "no_choice_yet"
    );
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/preferences",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.body["paused"], false);
}

#[tokio::test]
async fn forged_token_is_401_and_keys_keep_their_scopes() {
    let app = TestApp::new();
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/consents",
            Some("cst_forged.token"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "token_invalid");
    // An ingest key still cannot read, a decide key still cannot write.
    let r = app
        .call("GET", "/v1/subjects/ann/consents", Some(&app.ingest), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "insufficient_scope");
    let r = app
        .call(
            "POST",
            "/v1/subjects/ann/feedback",
            Some(&app.decide),
            Some(json!({"action": "not_interested", "category": "socks"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "insufficient_scope");
    // Pausing is the person's alone: not even the shop's ingest or admin key may.
    for key in [&app.ingest, &app.admin] {
        let r = app
            .call(
                "POST",
                "/v1/subjects/ann/feedback",
                Some(key),
                Some(json!({"action": "pause_personalization"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.code(), "not_for_server_keys");
    }
    // Without any credential it is still 401.
    let r = app
        .call("GET", "/v1/subjects/ann/preferences", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
