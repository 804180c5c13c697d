//! The consent API end to end through the router.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{TestApp, purpose};

const PATH: &str = "/v1/subjects/shopper-1/consents";

#[tokio::test]
async fn opt_in_grant_withdraw() {
    let app = TestApp::new();
    let r = app.call("GET", PATH, Some(&app.decide), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let p = purpose(&r.body, "personalization");
    assert_eq!(p["allowed"], false);
    assert_eq!(p["reason"], "denied: no choice yet");
    assert_eq!(
        purpose(&r.body, "order_fulfilment")["status"],
        "not_required"
    );

    let grant = json!({"decisions": [{"purpose": "personalization", "decision": "granted"}], "source": "banner"});
    let r = app.call("PUT", PATH, Some(&app.ingest), Some(grant)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    assert_eq!(
        purpose(&r.body, "personalization")["reason"],
        "granted: on 2026-11-23 via banner"
    );

    let withdraw = json!({"decisions": [{"purpose": "personalization", "decision": "withdrawn"}]});
    app.call("PUT", PATH, Some(&app.ingest), Some(withdraw))
        .await;
    let r = app.call("GET", PATH, Some(&app.decide), None).await;
    assert_eq!(purpose(&r.body, "personalization")["allowed"], false);
    assert_eq!(
        purpose(&r.body, "personalization")["reason_code"],
        "withdrawn"
    );

    let h = app
        .call("GET", &format!("{PATH}/history"), Some(&app.decide), None)
        .await;
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["decision"], "withdrawn", "newest first");
    assert_eq!(items[1]["source"], "banner");
    assert!(items[1]["policy_version"].as_str().unwrap().len() >= 8);
}

#[tokio::test]
async fn gpc_header_denies_sale_and_sharing_even_with_accept_all() {
    let app = TestApp::new();
    let all = json!({"choice": "accept_all", "source": "banner", "decisions": [
        {"purpose": "analytics", "decision": "granted"},
        {"purpose": "personalization", "decision": "granted"},
        {"purpose": "targeted_advertising", "decision": "granted"}]});
    let r = app
        .call_with(
            "PUT",
            PATH,
            Some(&app.ingest),
            Some(all.clone()),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let ads = purpose(&r.body, "targeted_advertising");
    assert_eq!(ads["allowed"], false);
    assert_eq!(
        ads["reason"],
        "denied: Global Privacy Control on 2026-11-23"
    );
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    // Accept-all again later, without the header: GPC still holds.
    let r = app.call("PUT", PATH, Some(&app.ingest), Some(all)).await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], false);
    // An explicit grant of that one purpose lifts it, and a later request with the header
    // does not undo that explicit choice.
    let explicit = json!({"decisions": [{"purpose": "targeted_advertising", "decision": "granted"}], "source": "banner"});
    let r = app
        .call_with(
            "PUT",
            PATH,
            Some(&app.ingest),
            Some(explicit),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
    let r = app
        .call_with(
            "PUT",
            PATH,
            Some(&app.ingest),
            Some(json!({"subject": {"country": "DE"}})),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
}

#[tokio::test]
async fn only_exactly_1_counts_as_gpc() {
    let app = TestApp::new();
    let all = json!({"choice": "accept_all", "decisions": [{"purpose": "targeted_advertising", "decision": "granted"}]});
    let r = app
        .call_with(
            "PUT",
            PATH,
            Some(&app.ingest),
            Some(all),
            &[("sec-gpc", "0")],
        )
        .await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
}

#[tokio::test]
async fn minors_need_a_parent() {
    let app = TestApp::new();
    let own = json!({"subject": {"age_band": "13-15", "country": "DE"},
        "decisions": [{"purpose": "personalization", "decision": "granted"}, {"purpose": "targeted_advertising", "decision": "granted"}]});
    let r = app.call("PUT", PATH, Some(&app.ingest), Some(own)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        purpose(&r.body, "personalization")["reason_code"],
        "needs_parental_consent"
    );
    assert_eq!(
        purpose(&r.body, "targeted_advertising")["reason_code"],
        "minor_no_targeted_advertising"
    );
    let parental_without_evidence = json!({"source": "parental", "decisions": [{"purpose": "personalization", "decision": "granted"}]});
    let r = app
        .call(
            "PUT",
            PATH,
            Some(&app.admin),
            Some(parental_without_evidence),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "evidence_required")
    );
    let parental = json!({"source": "parental", "evidence": {"method": "card check"},
        "decisions": [{"purpose": "personalization", "decision": "granted"}, {"purpose": "targeted_advertising", "decision": "granted"}]});
    let r = app
        .call("PUT", PATH, Some(&app.admin), Some(parental))
        .await;
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    assert_eq!(
        purpose(&r.body, "targeted_advertising")["allowed"],
        false,
        "never for minors, even with a parent"
    );
}

#[tokio::test]
async fn bad_decisions_are_refused_whole() {
    let app = TestApp::new();
    let cases = [
        (
            json!({"decisions": [{"purpose": "telepathy", "decision": "granted"}]}),
            "unknown_purpose",
        ),
        (
            json!({"decisions": [{"purpose": "analytics", "decision": "maybe"}]}),
            "invalid_decision",
        ),
        (
            json!({"decisions": [{"purpose": "analytics", "decision": "granted"}], "source": "gpc"}),
            "invalid_source",
        ),
        (
            json!({"decisions": [{"purpose": "analytics", "decision": "granted"}], "choice": "some"}),
            "invalid_choice",
        ),
        (
            json!({"decisions": [{"purpose": "analytics", "decision": "granted"}, {"purpose": "analytics", "decision": "denied"}]}),
            "duplicate_purpose",
        ),
        (json!({"decisions": []}), "empty_update"),
        (json!({"subject": {"age_band": "teen"}}), "invalid_age_band"),
        (
            json!({"subject": {"country": "Germany"}}),
            "invalid_country",
        ),
        (
            json!({"decisions": [{"purpose": "analytics", "decision": "granted"}, {"purpose": "nope", "decision": "granted"}]}),
            "unknown_purpose",
        ),
    ];
    for (body, code) in cases {
        let r = app
            .call("PUT", PATH, Some(&app.ingest), Some(body.clone()))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    // Nothing was written by any refused request: no partial writes.
    let h = app
        .call("GET", &format!("{PATH}/history"), Some(&app.decide), None)
        .await;
    assert_eq!(h.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn history_is_paginated() {
    let app = TestApp::new();
    for d in ["granted", "withdrawn", "granted", "withdrawn", "granted"] {
        let body = json!({"decisions": [{"purpose": "analytics", "decision": d}]});
        app.call("PUT", PATH, Some(&app.ingest), Some(body)).await;
    }
    let p1 = app
        .call(
            "GET",
            &format!("{PATH}/history?limit=2"),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_owned();
    let p2 = app
        .call(
            "GET",
            &format!("{PATH}/history?limit=2&cursor={cursor}"),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 2);
    let c2 = p2.body["next_cursor"].as_str().unwrap().to_owned();
    let p3 = app
        .call(
            "GET",
            &format!("{PATH}/history?limit=2&cursor={c2}"),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 1);
    assert!(p3.body.get("next_cursor").is_none());
    for bad in ["limit=0", "limit=100000", "cursor=zzz", "colour=1"] {
        let r = app
            .call(
                "GET",
                &format!("{PATH}/history?{bad}"),
                Some(&app.decide),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn subjects_are_pseudonymized_at_rest() {
    let app = TestApp::new();
    let body = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]});
    app.call(
        "PUT",
        "/v1/subjects/ada@example.com/consents",
        Some(&app.ingest),
        Some(body),
    )
    .await;
    let stored = app.stored_bytes();
    // The scan sees the data: the pseudonym is there, raw (SQLite) or as hex (PostgreSQL).
    let key = app.state.subject_key("ada@example.com").unwrap();
    let raw = key.as_bytes().to_vec();
    let hex: Vec<u8> = raw
        .iter()
        .flat_map(|b| format!("{b:02x}").into_bytes())
        .collect();
    assert!(
        [raw, hex]
            .iter()
            .any(|k| stored.windows(k.len()).any(|w| w == k.as_slice())),
        "the scan does not see the stored subject"
    );
    let needle = b"ada@example.com";
    assert!(
        !stored.windows(needle.len()).any(|w| w == needle),
        "the external id is stored in the clear"
    );
}
