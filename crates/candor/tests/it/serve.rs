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

/// A 2xx means on disk: kill the server with SIGKILL right after the answer, restart it on
/// the same data directory, and every acknowledged event is there.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = create_key(dir.path(), "ingest");
    let admin = create_key(dir.path(), "admin");
    let mut server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    let grant = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]});
    let r = http
        .put(server.url("/v1/subjects/durable/consents"))
        .bearer_auth(&ingest)
        .json(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut acknowledged = 0;
    for batch in 0..4 {
        let events: Vec<_> = (0..500)
            .map(|i| json!({"event": "Product Viewed", "userId": "durable", "messageId": format!("k-{batch}-{i}"),
                            "properties": {"product_id": format!("sku-{i}")}}))
            .collect();
        let r = http
            .post(server.url("/v1/events"))
            .bearer_auth(&ingest)
            .json(&json!({"events": events}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        acknowledged += body["accepted"].as_u64().unwrap();
    }
    // SIGKILL: no shutdown hook, no flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let server = Server::start(dir.path(), &[]);
    let mut stored = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url("/v1/subjects/durable/events?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = http
            .get(url)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stored += page["items"].as_array().unwrap().len() as u64;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(acknowledged, 2000);
    assert_eq!(
        stored, acknowledged,
        "every acknowledged event survived SIGKILL"
    );
}
