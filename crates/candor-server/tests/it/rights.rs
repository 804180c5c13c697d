//! Data-subject rights through the router: the token matrix, export, rectification, erasure,
//! restriction, objection, the request log and explanations.

use axum::http::StatusCode;
use candor_app::subject_token;
use candor_domain::time::{DAY_MS, Timestamp};
use serde_json::{Value, json};

use crate::support::{NOW, TestApp, off_runtime, purpose};

const SECRET: [u8; 32] = [7; 32];

/// The test clock's now plus `ms`, as the API writes times.
fn at(ms: i64) -> String {
    Timestamp::from_millis(NOW + ms).to_rfc3339()
}

/// A subject with contact data, consents, events and a profile.
async fn seed(app: &TestApp, user: &str) {
    let items = json!({"items": [
        {"id": "sku-1", "title": "Trail <shoe>", "categories": ["Running"]},
        {"id": "sku-2", "title": "Yoga mat", "categories": ["Yoga"]},
        {"id": "sku-3", "title": "Road shoe", "categories": ["Running"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let decisions = json!({"source": "banner", "decisions": [
        {"purpose": "personalization", "decision": "granted"},
        {"purpose": "email_marketing", "decision": "granted"},
        {"purpose": "analytics", "decision": "denied"}]});
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{user}/consents"),
            Some(&app.ingest),
            Some(decisions),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(json!({"userId": user, "messageId": format!("{user}-i"), "traits": {"email": format!("{user}@example.com")}})),
        )
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    let ev = |msg: &str, product: &str, name: &str| {
        json!({"type": "track", "event": name, "userId": user, "messageId": format!("{user}-{msg}"),
               "timestamp": "2026-11-23T09:00:00Z", "properties": {"product_id": product}})
    };
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": [ev("1", "sku-1", "Product Viewed"), ev("2", "sku-2", "Product Viewed"),
                                   ev("3", "sku-1", "Product Added")]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for res in r.body["results"].as_array().unwrap() {
        assert_eq!(res["status"], "accepted", "{}", r.body);
    }
}

async fn token_for(app: &TestApp, user: &str) -> String {
    let r = app
        .call(
            "POST",
            "/v1/subject-tokens",
            Some(&app.admin),
            Some(json!({"subject": user})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["expires_at"], at(900_000), "default fifteen minutes");
    r.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn token_matrix() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    seed(&app, "bob").await;
    let ann = token_for(&app, "ann").await;
    assert!(ann.starts_with("cst_"));
    assert!(!ann.contains("ann"));
    let key = app.state.subject_key("ann").unwrap();
    let now = Timestamp::from_millis(NOW);
    // Signed by a key this server never held, and one that expired as it was made.
    let stranger = subject_token::SigningKey {
        id: 1,
        bytes: [8; 32],
    };
    let all = subject_token::TokenScopes::all();
    let foreign = subject_token::issue(&stranger, &SECRET, &key, all, now, now.plus_millis(60_000));
    let signing = candor_app::signing::signing_key(&app.state).await.unwrap();
    let expired = subject_token::issue(&signing, &SECRET, &key, all, now, now);
    let mut tampered = ann.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });

    let routes: [(&str, &str); 4] = [
        ("GET", "/v1/subjects/ann/export"),
        ("GET", "/v1/subjects/ann/explanations?item=sku-1"),
        ("POST", "/v1/subjects/ann/restriction"),
        ("DELETE", "/v1/subjects/ann/restriction"),
    ];
    for (method, path) in routes {
        let code = |key: Option<&str>| {
            let app = &app;
            let key = key.map(str::to_owned);
            async move {
                let r = app.call(method, path, key.as_deref(), None).await;
                (r.status, r.code().to_owned())
            }
        };
        assert_eq!(code(Some(&app.admin)).await.0, StatusCode::OK, "{path}");
        assert_eq!(code(Some(&ann)).await.0, StatusCode::OK, "{path}");
        assert_eq!(
            code(Some(&token_for(&app, "bob").await)).await,
            (StatusCode::FORBIDDEN, "token_wrong_subject".into()),
            "{path}"
        );
        assert_eq!(
            code(Some(&expired)).await,
            (StatusCode::UNAUTHORIZED, "token_expired".into()),
            "{path}"
        );
        assert_eq!(
            code(Some(&foreign)).await,
            (StatusCode::UNAUTHORIZED, "token_invalid".into()),
            "{path}"
        );
        assert_eq!(
            code(Some(&tampered)).await,
            (StatusCode::UNAUTHORIZED, "token_invalid".into()),
            "{path}"
        );
        assert_eq!(
            code(Some("cst_not-a-token")).await,
            (StatusCode::UNAUTHORIZED, "token_invalid".into()),
            "{path}"
        );
        assert_eq!(
            code(Some(&app.decide)).await,
            (StatusCode::FORBIDDEN, "insufficient_scope".into()),
            "{path}"
        );
        assert_eq!(
            code(Some(&app.ingest)).await,
            (StatusCode::FORBIDDEN, "insufficient_scope".into()),
            "{path}"
        );
        assert_eq!(code(None).await.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    // A token can never change another person's data either.
    let bob = token_for(&app, "bob").await;
    for (method, path, body) in [
        ("DELETE", "/v1/subjects/ann", None),
        (
            "PUT",
            "/v1/subjects/ann/contact",
            Some(json!({"email": "x@example.com"})),
        ),
        ("DELETE", "/v1/subjects/ann/interests/Running", None),
        ("POST", "/v1/subjects/ann/objection", None),
    ] {
        let r = app.call(method, path, Some(&bob), body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.code(), "token_wrong_subject");
    }
    assert!(off_runtime(|| app
        .state
        .store
        .profile(&key)
        .unwrap()
        .is_some()));

    // Only admins issue tokens, and only within the configured lifetime.
    let r = app
        .call(
            "POST",
            "/v1/subject-tokens",
            Some(&app.decide),
            Some(json!({"subject": "ann"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "POST",
            "/v1/subject-tokens",
            Some(&ann),
            Some(json!({"subject": "ann"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a token cannot mint tokens"
    );
    assert_eq!(r.code(), "needs_server_key");
    for ttl in [0, 86_401] {
        let r = app
            .call(
                "POST",
                "/v1/subject-tokens",
                Some(&app.admin),
                Some(json!({"subject": "ann", "ttl_seconds": ttl})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.code(), "invalid_ttl");
    }
    let r = app
        .call(
            "POST",
            "/v1/subject-tokens",
            Some(&app.admin),
            Some(json!({"subject": ""})),
        )
        .await;
    assert_eq!(r.code(), "invalid_subject_id");
}

#[tokio::test]
async fn export_separates_what_was_told_from_what_was_inferred() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    let r = app
        .call("GET", "/v1/subjects/ann/export", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let b = &r.body;
    assert_eq!(b["format"], "candor-export/1");
    assert_eq!(b["provided"]["contact"]["email"], "ann@example.com");
    let history = b["provided"]["consents"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["source"], "banner");
    assert_eq!(
        purpose(&b["provided"]["consents"]["current"], "personalization")["allowed"],
        true
    );
    let events = b["provided"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["purposes"], json!(["personalization"]));
    assert_eq!(events[0]["feeds_profile"], true);
    assert!(events[0]["expires_at"].as_str().unwrap() > "2026-11-23");
    let interests = b["inferred"]["interests"].as_array().unwrap();
    assert_eq!(interests[0]["category"], "Running", "strongest first");
    assert_eq!(interests.len(), 2);
    assert_eq!(b["inferred"]["n_adds"], 1);
    assert!(b["processing"]["restricted_since"].is_null());
    assert!(
        !r.body
            .to_string()
            .contains(&app.state.subject_key("ann").unwrap().to_hex())
    );

    // The same as a page, escaped; by query or by Accept.
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/export?format=html",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.body.as_str().unwrap();
    assert!(page.contains("What you told us") && page.contains("What we inferred"));
    assert!(page.contains("ann@example.com"));
    assert!(page.contains("Running"));
    let r = app
        .call_with(
            "GET",
            "/v1/subjects/ann/export",
            Some(&token),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert!(r.body.as_str().unwrap().starts_with("<!doctype html>"));
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/export?format=pdf",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_format");
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/export?jurisdiction=mars",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.code(), "unknown_jurisdiction");
    let r = app
        .call("GET", "/v1/subjects/nobody/export", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "subject_not_found");
}

#[test]
fn html_escapes_everything() {
    let page = candor_server::routes::rights::escape("<script>alert('x')</script>&\"");
    assert_eq!(
        page,
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
    );
}

#[tokio::test]
async fn html_export_escapes_stored_values() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ann/contact",
            Some(&app.admin),
            Some(json!({"email": "<b>x</b>@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/export?format=html",
            Some(&app.admin),
            None,
        )
        .await;
    let page = r.body.as_str().unwrap();
    assert!(page.contains("&lt;b&gt;x&lt;/b&gt;@example.com"));
    assert!(!page.contains("<b>x</b>"));
}

#[tokio::test]
async fn rectification_corrects_contact_and_removed_interests_stay_removed() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ann/contact",
            Some(&token),
            Some(json!({"email": "ann@new.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["contact"]["email"], "ann@new.example");
    let key = app.state.subject_key("ann").unwrap();
    let stored = off_runtime(|| app.state.store.contact(&key).unwrap());
    assert!(
        !String::from_utf8_lossy(&stored[0].1).contains("ann@new.example"),
        "sealed"
    );
    for (body, code) in [
        (json!({"phone": "+44 1"}), "contact_field_not_held"),
        (json!({"email": "no-at-sign"}), "invalid_contact_value"),
        (json!({"email": ""}), "invalid_contact_value"),
        (json!({}), "empty_update"),
    ] {
        let r = app
            .call("PUT", "/v1/subjects/ann/contact", Some(&token), Some(body))
            .await;
        assert_eq!(r.code(), code);
        assert!(r.status.is_client_error());
    }

    let r = app
        .call(
            "DELETE",
            "/v1/subjects/ann/interests/Running",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["removed"], true);
    assert_eq!(r.body["muted_interests"], json!(["Running"]));
    // A new Running event does not bring the interest back.
    let r = app
        .call(
            "POST",
            "/v1/track",
            Some(&app.ingest),
            Some(json!({"event": "Product Viewed", "userId": "ann", "messageId": "later", "properties": {"product_id": "sku-3"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let export = app
        .call("GET", "/v1/subjects/ann/export", Some(&token), None)
        .await;
    let interests = export.body["inferred"]["interests"].as_array().unwrap();
    assert_eq!(interests.len(), 1);
    assert_eq!(interests[0]["category"], "Yoga");
    assert_eq!(
        export.body["inferred"]["muted_interests"],
        json!(["Running"])
    );
    let r = app
        .call(
            "DELETE",
            "/v1/subjects/nobody/interests/Running",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn erasure_deletes_everything_returns_a_signed_receipt_and_is_safe_twice() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    seed(&app, "bob").await;
    let token = token_for(&app, "ann").await;
    let key = app.state.subject_key("ann").unwrap();
    let r = app
        .call("DELETE", "/v1/subjects/ann", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let receipt = r.body.clone();
    let deleted = &receipt["receipt"]["deleted"];
    assert_eq!(deleted["events"], 3);
    assert_eq!(deleted["consents"], 3);
    assert_eq!(deleted["contact"], 1);
    assert_eq!(deleted["data_key"], 1);
    assert_eq!(deleted["profile"], 1);
    assert_eq!(receipt["receipt"]["consent_proof_kept"], 3);
    assert_eq!(receipt["receipt"]["data_key_destroyed"], true);
    assert_eq!(receipt["receipt"]["completed_at"], at(0));
    assert_eq!(receipt["signature"].as_str().unwrap().len(), 64);
    assert!(!receipt.to_string().contains(&key.to_hex()));
    assert!(off_runtime(|| app
        .state
        .store
        .subject_footprint(&key)
        .unwrap()
        .is_empty()));
    // The other subject is untouched.
    let bob = app.state.subject_key("bob").unwrap();
    assert_eq!(
        off_runtime(|| app.state.store.all_events(&bob).unwrap().len()),
        3
    );
    // Tombstones are kept under the one-way hash, without evidence.
    let proof = candor_app::erasure::consent_proof(&SECRET, &key);
    assert_eq!(
        off_runtime(|| app.state.store.consent_tombstones(&proof).unwrap().len()),
        3
    );

    // The receipt verifies; a changed one does not.
    let r = app
        .call(
            "POST",
            "/v1/dsr/receipts/verify",
            Some(&app.admin),
            Some(receipt.clone()),
        )
        .await;
    assert_eq!(r.body["valid"], true, "{}", r.body);
    let mut forged = receipt.clone();
    forged["receipt"]["deleted"]["events"] = json!(1);
    let r = app
        .call(
            "POST",
            "/v1/dsr/receipts/verify",
            Some(&app.admin),
            Some(forged),
        )
        .await;
    assert_eq!(r.body["valid"], false);
    let r = app
        .call(
            "POST",
            "/v1/dsr/receipts/verify",
            Some(&app.admin),
            Some(json!({"receipt": 1})),
        )
        .await;
    assert!(r.status.is_client_error());

    // Twice: the original receipt, nothing new logged.
    let again = app
        .call("DELETE", "/v1/subjects/ann", Some(&app.admin), None)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, receipt);
    // Never known: 404.
    let r = app
        .call("DELETE", "/v1/subjects/nobody", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "subject_not_found");
    let log = app.call("GET", "/v1/dsr", Some(&app.admin), None).await;
    let erasures: Vec<&Value> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "erasure")
        .collect();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0]["status"], "completed");
    assert_eq!(erasures[0]["detail"], receipt);
}

#[tokio::test]
async fn erasure_without_consent_proof_keeps_no_tombstone() {
    let app = TestApp::with_config(|c| c.subject_rights.keep_consent_proof = false);
    seed(&app, "ann").await;
    let key = app.state.subject_key("ann").unwrap();
    let r = app
        .call("DELETE", "/v1/subjects/ann", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["receipt"]["consent_proof_kept"], 0);
    let proof = candor_app::erasure::consent_proof(&SECRET, &key);
    assert!(off_runtime(|| app.state.store.consent_tombstones(&proof).unwrap()).is_empty());
}

#[tokio::test]
async fn an_interrupted_erasure_is_finished_on_resume() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let key = app.state.subject_key("ann").unwrap();
    let store = app.state.store.as_ref();
    let plan = candor_app::erasure::plan(&SECRET, &key, true);
    let request = candor_store::NewDsrRequest {
        kind: "erasure".into(),
        subject_ref: candor_app::erasure::subject_ref(&SECRET, &key),
        jurisdiction: "gdpr".into(),
        received_at: Timestamp::from_millis(NOW),
        deadline_at: Timestamp::from_millis(NOW + 30 * 86_400_000),
        completed_at: None,
        detail: "{}".into(),
    };
    // The process died after the deletes committed, before the request was marked done.
    off_runtime(|| store.begin_erasure(&key, &plan, &request).unwrap());
    off_runtime(|| store.erase_subject(&key, &plan).unwrap());
    let open = app
        .call("GET", "/v1/dsr?status=in_progress", Some(&app.admin), None)
        .await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        off_runtime(|| candor_app::erasure::resume_pending(
            store,
            &SECRET,
            Timestamp::from_millis(NOW)
        )
        .unwrap()),
        1
    );
    assert!(off_runtime(|| store.erasure_intents().unwrap().is_empty()));
    let open = app
        .call("GET", "/v1/dsr?status=in_progress", Some(&app.admin), None)
        .await;
    assert!(open.body["items"].as_array().unwrap().is_empty());
    // The receipt reports the first pass's counts, and erasing again returns it.
    let r = app
        .call("DELETE", "/v1/subjects/ann", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["receipt"]["deleted"]["events"], 3);
}

#[tokio::test]
async fn restriction_freezes_processing_and_keeps_data() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    let r = app
        .call("POST", "/v1/subjects/ann/restriction", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["restricted"], true);
    assert_eq!(r.body["since"], at(0));
    let track = json!({"event": "Product Viewed", "userId": "ann", "messageId": "frozen", "properties": {"product_id": "sku-2"}});
    let r = app
        .call("POST", "/v1/track", Some(&app.ingest), Some(track.clone()))
        .await;
    assert_eq!(r.body["results"][0]["status"], "dropped", "{}", r.body);
    assert_eq!(r.body["results"][0]["reason"], "restricted");
    let drops = app
        .call("GET", "/v1/stats/drops", Some(&app.admin), None)
        .await;
    assert!(
        drops.body.to_string().contains("restricted"),
        "{}",
        drops.body
    );
    let export = app
        .call("GET", "/v1/subjects/ann/export", Some(&token), None)
        .await;
    assert_eq!(
        export.body["provided"]["events"].as_array().unwrap().len(),
        3,
        "data kept"
    );
    assert_eq!(export.body["processing"]["restricted_since"], at(0));
    let why = app
        .call(
            "GET",
            "/v1/subjects/ann/explanations?item=sku-1",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(why.body["personalized"], false, "{}", why.body);

    let r = app
        .call("DELETE", "/v1/subjects/ann/restriction", Some(&token), None)
        .await;
    assert_eq!(r.body["restricted"], false);
    let track = json!({"event": "Product Viewed", "userId": "ann", "messageId": "thawed", "properties": {"product_id": "sku-2"}});
    let r = app
        .call("POST", "/v1/track", Some(&app.ingest), Some(track))
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
}

#[tokio::test]
async fn objection_withdraws_every_marketing_purpose_in_one_call() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    let r = app
        .call("POST", "/v1/subjects/ann/objection", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let withdrawn = r.body["withdrawn"].as_array().unwrap();
    assert!(withdrawn.contains(&json!("email_marketing")));
    assert!(withdrawn.contains(&json!("targeted_advertising")));
    assert!(!withdrawn.contains(&json!("personalization")));
    assert_eq!(
        purpose(&r.body["consents"], "email_marketing")["allowed"],
        false
    );
    assert_eq!(
        purpose(&r.body["consents"], "personalization")["allowed"],
        true
    );
    let h = app
        .call(
            "GET",
            "/v1/subjects/ann/consents/history",
            Some(&app.decide),
            None,
        )
        .await;
    let newest = &h.body["items"][0];
    assert_eq!(newest["source"], "subject");
    assert_eq!(newest["decision"], "withdrawn");
}

#[tokio::test]
async fn every_request_is_logged_with_its_deadline_and_no_ids() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    app.call("GET", "/v1/subjects/ann/export", Some(&token), None)
        .await;
    app.call(
        "GET",
        "/v1/subjects/ann/export?jurisdiction=ccpa",
        Some(&token),
        None,
    )
    .await;
    app.call(
        "PUT",
        "/v1/subjects/ann/contact",
        Some(&token),
        Some(json!({"email": "a@b.example"})),
    )
    .await;
    app.call("POST", "/v1/subjects/ann/restriction", Some(&token), None)
        .await;
    app.call("DELETE", "/v1/subjects/ann/restriction", Some(&token), None)
        .await;
    app.call("POST", "/v1/subjects/ann/objection", Some(&token), None)
        .await;
    app.call("DELETE", "/v1/subjects/ann", Some(&token), None)
        .await;
    let r = app
        .call("GET", "/v1/dsr?limit=3", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = r.body["items"].as_array().unwrap().clone();
    assert_eq!(first.len(), 3);
    let next = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .call(
            "GET",
            &format!("/v1/dsr?limit=10&cursor={next}"),
            Some(&app.admin),
            None,
        )
        .await;
    let mut all = first;
    all.extend(r.body["items"].as_array().unwrap().iter().cloned());
    let kinds: Vec<&str> = all.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "erasure",
            "objection",
            "restriction_lifted",
            "restriction",
            "rectification",
            "access",
            "access"
        ]
    );
    let ccpa = &all[5];
    assert_eq!(ccpa["jurisdiction"], "ccpa");
    assert_eq!(ccpa["deadline_at"], at(45 * DAY_MS), "45 days");
    assert_eq!(all[6]["deadline_at"], at(30 * DAY_MS), "30 days");
    assert!(
        all.iter()
            .all(|r| r["status"] == "completed" && r["overdue"] == false)
    );
    assert!(
        all.iter()
            .all(|r| r["subject_ref"] == all[0]["subject_ref"])
    );
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("ann"), "{text}");
    assert!(!text.contains(&app.state.subject_key("ann").unwrap().to_hex()));
    let r = app
        .call("GET", "/v1/dsr?status=completed", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 7);
    let r = app
        .call("GET", "/v1/dsr?status=in_progress", Some(&app.admin), None)
        .await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = app
        .call("GET", "/v1/dsr?status=lost", Some(&app.admin), None)
        .await;
    assert_eq!(r.code(), "invalid_status");
    let r = app.call("GET", "/v1/dsr", Some(&app.decide), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Ann's erasure voided her token; a live one may still not read the queue.
    let r = app.call("GET", "/v1/dsr", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "token_revoked");
    let bob = token_for(&app, "bob").await;
    let r = app.call("GET", "/v1/dsr", Some(&bob), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "needs_server_key");
}

#[tokio::test]
async fn explanations_name_interests_data_purpose_and_consent() {
    let app = TestApp::new();
    seed(&app, "ann").await;
    let token = token_for(&app, "ann").await;
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/explanations?item=sku-3",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["personalized"], true);
    assert_eq!(b["interests_used"][0]["category"], "Running");
    assert!(b["reasons"][0].as_str().unwrap().contains("Running"));
    assert_eq!(b["data_used"]["events_by_type"]["Product Viewed"], 1);
    assert_eq!(b["data_used"]["events_by_type"]["Product Added"], 1);
    let p = b["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "personalization")
        .unwrap();
    assert_eq!(p["allowed"], true);
    assert_eq!(p["consent_record"]["decision"], "granted");
    assert_eq!(p["consent_record"]["source"], "banner");

    // After withdrawal nothing about the person is used.
    app.call(
        "PUT",
        "/v1/subjects/ann/consents",
        Some(&app.ingest),
        Some(json!({"decisions": [{"purpose": "personalization", "decision": "withdrawn"}]})),
    )
    .await;
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/explanations?item=sku-3",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.body["personalized"], false);
    assert!(r.body["interests_used"].as_array().unwrap().is_empty());
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/explanations?item=nope",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.code(), "item_not_found");
    let r = app
        .call("GET", "/v1/subjects/ann/explanations", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_rights_are_in_the_openapi_document_and_check_their_input() {
    let app = TestApp::new();
    let r = app.call("GET", "/openapi.json", None, None).await;
    let paths = &r.body["paths"];
    for (path, method) in [
        ("/v1/subject-tokens", "post"),
        ("/v1/subjects/{id}", "delete"),
        ("/v1/subjects/{id}/export", "get"),
        ("/v1/subjects/{id}/contact", "put"),
        ("/v1/subjects/{id}/interests/{category}", "delete"),
        ("/v1/subjects/{id}/restriction", "post"),
        ("/v1/subjects/{id}/restriction", "delete"),
        ("/v1/subjects/{id}/objection", "post"),
        ("/v1/subjects/{id}/explanations", "get"),
        ("/v1/dsr", "get"),
        ("/v1/dsr/receipts/verify", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let long = "x".repeat(300);
    let r = app
        .call(
            "DELETE",
            &format!("/v1/subjects/{long}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_subject_id");
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/export?nonsense=1",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            "DELETE",
            &format!("/v1/subjects/ann/interests/{}", "c".repeat(200)),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.code(), "invalid_category");
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ann/contact",
            Some(&app.admin),
            Some(json!({"email": 5})),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
}
