//! `candor serve` over real HTTP.

use serde_json::json;

use crate::support::{Server, create_key};

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = create_key(dir.path(), "ingest");
    let decide = create_key(dir.path(), "decide");
    let server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();

    let health: serde_json::Value = http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let r = http
        .put(server.url("/v1/subjects/e2e-user/consents"))
        .bearer_auth(&ingest)
        .header("sec-gpc", "1")
        .json(&json!({"choice": "accept_all", "decisions": [
            {"purpose": "personalization", "decision": "granted"},
            {"purpose": "targeted_advertising", "decision": "granted"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let state: serde_json::Value = http
        .get(server.url("/v1/subjects/e2e-user/consents"))
        .bearer_auth(&decide)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let find = |id: &str| {
        state["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["purpose"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find("personalization")["allowed"], true);
    assert_eq!(
        find("targeted_advertising")["reason_code"],
        "global_privacy_control"
    );

    let r = http
        .get(server.url("/v1/subjects/e2e-user/consents"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthenticated");
}
