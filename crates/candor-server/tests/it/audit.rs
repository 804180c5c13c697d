//! The audit log in the running API: what gets recorded, by whom, and that it never holds a
//! raw subject id; the admin-only listing and head.

use axum::http::StatusCode;
use candor_accountability::audit::{VerifyOutcome, verify};
use candor_app::audit::{Actor, record_policy_if_changed};
use candor_domain::policy::{DEFAULT_POLICY_TOML, Policy};
use candor_domain::time::Timestamp;
use serde_json::{Value, json};

use crate::support::{NOW, TestApp, off_runtime};

async fn audit_entries(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/v1/audit?limit=2".to_owned();
    loop {
        let r = app.call("GET", &path, Some(&app.admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/audit?limit=2&cursor={c}"),
            None => return out,
        }
    }
}

fn key_id(key: &str) -> &str {
    // cnd_sk_<id>_<secret>
    key.split('_').nth(2).unwrap()
}

#[tokio::test]
async fn consent_changes_are_recorded_with_purpose_and_pseudonym() {
    let app = TestApp::new();
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ada@example.com/consents",
            Some(&app.ingest),
            Some(json!({"decisions": [
                {"purpose": "analytics", "decision": "granted"},
                {"purpose": "email_marketing", "decision": "denied"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = audit_entries(&app).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let key = app.state.subject_key("ada@example.com").unwrap();
    let subject = candor_app::audit::AuditTarget::Subject(key).reference();
    assert!(
        !subject.contains(&key.to_hex()),
        "the log does not hold the pseudonym itself, which erasure must remove"
    );
    for (e, (purpose, decision)) in entries
        .iter()
        .zip([("analytics", "granted"), ("email_marketing", "denied")])
    {
        assert_eq!(e["action"], "consent_changed");
        assert_eq!(e["actor"], format!("api_key:{}", key_id(&app.ingest)));
        assert_eq!(e["target"], subject);
        assert_eq!(e["purpose"], purpose);
        assert_eq!(e["details"]["decision"], decision);
        assert_eq!(e["details"]["source"], "api");
    }
    assert_eq!(entries[1]["prev_hash"], entries[0]["hash"]);
    // The raw id is nowhere in the log.
    assert!(!Value::Array(entries.clone()).to_string().contains("ada@"));

    let head = app
        .call("GET", "/v1/audit/head", Some(&app.admin), None)
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.body["seq"], 2);
    assert_eq!(head.body["hash"], entries[1]["hash"]);

    // The stored chain verifies.
    let store = app.state.store.clone();
    let stored = off_runtime(|| {
        store
            .audit_entries(candor_store::PageRequest::first(100))
            .unwrap()
            .items
    });
    assert!(matches!(verify(stored), VerifyOutcome::Intact(h) if h.count == 2));
}

#[tokio::test]
async fn signals_and_gpc_are_recorded() {
    let app = TestApp::new();
    let r = app
        .call(
            "POST",
            "/v1/subjects/shopper-1/consent-signals",
            Some(&app.ingest),
            Some(json!({"gpc": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = audit_entries(&app).await;
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["action"] == "consent_changed"
        && e["details"]["source"] == "gpc"
        && e["details"]["decision"] == "denied"));

    // GPC on an event batch: the person's own browser asked, so the actor is the subject.
    let before = entries.len();
    let r = app
        .call_with(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": [{"type": "track", "event": "Product Viewed", "userId": "shopper-2",
                "messageId": "m1", "timestamp": "2026-11-23T09:00:00Z", "properties": {}}]})),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = audit_entries(&app).await;
    assert!(entries.len() > before);
    assert!(entries[before..].iter().all(|e| e["actor"] == "subject"));
}

#[tokio::test]
async fn operator_reads_of_personal_data_are_recorded_with_purpose() {
    let app = TestApp::new();
    let r = app
        .call(
            "GET",
            "/v1/subjects/shopper-1/events?purpose=support_request",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = audit_entries(&app).await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["action"], "personal_data_read");
    assert_eq!(e["actor"], format!("api_key:{}", key_id(&app.admin)));
    assert_eq!(e["purpose"], "support_request");
    assert_eq!(e["details"]["what"], "events");

    // A malformed purpose is refused before anything is read or recorded.
    let r = app
        .call(
            "GET",
            "/v1/subjects/shopper-1/events?purpose=Because%20I%20can",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_access_purpose");
    assert_eq!(audit_entries(&app).await.len(), 1);
}

#[tokio::test]
async fn the_audit_log_is_for_admins_only() {
    let app = TestApp::new();
    for path in ["/v1/audit", "/v1/audit/head", "/v1/audit/verify"] {
        for key in [&app.ingest, &app.decide] {
            let r = app.call("GET", path, Some(key), None).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(r.code(), "insufficient_scope");
        }
        let r = app.call("GET", path, None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .call("GET", "/v1/audit/head", Some(&app.admin), None)
        .await;
    assert_eq!(r.body["seq"], 0);
    assert_eq!(r.body["hash"], "0".repeat(64));
    let r = app
        .call("GET", "/v1/audit?cursor=nope", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_cursor");
}

#[tokio::test]
async fn a_policy_is_recorded_once_per_version() {
    let app = TestApp::new();
    let store = app.state.store.clone();
    let now = Timestamp::from_millis(NOW);
    let policy = Policy::default_policy();
    assert!(off_runtime(|| record_policy_if_changed(
        store.as_ref(),
        &policy,
        Actor::System,
        now
    )
    .unwrap()));
    assert!(!off_runtime(|| record_policy_if_changed(
        store.as_ref(),
        &policy,
        Actor::System,
        now
    )
    .unwrap()));
    let changed = Policy::parse(&DEFAULT_POLICY_TOML.replace(
        "id = \"analytics\"",
        "id = \"analytics\"\n# a comment changes nothing",
    ))
    .unwrap();
    let edited =
        Policy::parse(&DEFAULT_POLICY_TOML.replacen("retention_days = ", "retention_days = 1", 1))
            .unwrap();
    assert_eq!(
        off_runtime(
            || record_policy_if_changed(store.as_ref(), &changed, Actor::System, now).unwrap()
        ),
        changed.version != policy.version
    );
    assert!(off_runtime(|| record_policy_if_changed(
        store.as_ref(),
        &edited,
        Actor::System,
        now
    )
    .unwrap()));
    // Switching back is a change too.
    assert!(off_runtime(|| record_policy_if_changed(
        store.as_ref(),
        &policy,
        Actor::System,
        now
    )
    .unwrap()));
    let entries = audit_entries(&app).await;
    let versions: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "policy_changed")
        .map(|e| e["details"]["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.first(), Some(&policy.version.as_str()));
    assert_eq!(versions.last(), Some(&policy.version.as_str()));
    assert!(entries.iter().all(|e| e["actor"] == "system"));
}

/// Five consent changes: five entries, seq 1 to 5.
async fn five_entries(app: &TestApp) {
    let decisions: Vec<Value> = ["analytics", "personalization", "email_marketing"]
        .iter()
        .map(|p| json!({"purpose": p, "decision": "granted"}))
        .collect();
    for (who, n) in [("ada", 3), ("bo", 2)] {
        let r = app
            .call(
                "PUT",
                &format!("/v1/subjects/{who}/consents"),
                Some(&app.ingest),
                Some(json!({"decisions": decisions[..n].to_vec()})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

async fn verdict(app: &TestApp) -> Value {
    let r = app
        .call("GET", "/v1/audit/verify", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test]
async fn verify_reports_an_intact_chain_with_its_head() {
    let app = TestApp::new();
    let empty = verdict(&app).await;
    assert_eq!(
        empty,
        json!({"ok": true, "entries": 0, "head": "0".repeat(64), "first_bad": null})
    );
    five_entries(&app).await;
    let v = verdict(&app).await;
    let head = app
        .call("GET", "/v1/audit/head", Some(&app.admin), None)
        .await
        .body;
    assert_eq!(
        v,
        json!({"ok": true, "entries": 5, "head": head["hash"], "first_bad": null})
    );
}

#[tokio::test]
async fn verify_names_the_first_tampered_entry() {
    // A field changed behind the store's back: the entry no longer matches its hash.
    let app = TestApp::new();
    five_entries(&app).await;
    assert_eq!(
        app.tamper("UPDATE audit_log SET at = at + 1 WHERE seq = 3"),
        1
    );
    let v = verdict(&app).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["entries"], 5);
    assert_eq!(v["first_bad"], json!({"seq": 3, "reason": "hash mismatch"}));

    // A row deleted: the gap is found at the entry after it.
    let app = TestApp::new();
    five_entries(&app).await;
    assert_eq!(app.tamper("DELETE FROM audit_log WHERE seq = 2"), 1);
    let v = verdict(&app).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["entries"], 4);
    assert_eq!(
        v["first_bad"],
        json!({"seq": 3, "reason": "sequence gap (expected 2)"})
    );

    // A value that cannot even be read back names its entry too, and is not a 500.
    let app = TestApp::new();
    five_entries(&app).await;
    assert_eq!(
        app.tamper("UPDATE audit_log SET actor = 'somebody else' WHERE seq = 4"),
        1
    );
    let v = verdict(&app).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad"]["seq"], 4, "{v}");
    assert!(
        v["first_bad"]["reason"]
            .as_str()
            .unwrap()
            .contains("unreadable"),
        "{v}"
    );
}
