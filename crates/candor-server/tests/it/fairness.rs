//! Audit attributes (kept apart, consent-gated, erasable), slot fairness reports and metrics.

use axum::http::StatusCode;
use candor_domain::time::Timestamp;
use candor_store::Exposure;
use serde_json::json;

use crate::support::{NOW, TestApp, off_runtime};

async fn grant_fairness(app: &TestApp, id: &str) {
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{id}/consents"),
            Some(&app.ingest),
            Some(json!({"decisions": [{"purpose": "fairness_audit", "decision": "granted"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The person declares their own attributes, with their own session token: no shop key may.
pub(crate) async fn declare(app: &TestApp, id: &str, gender: &str) -> crate::support::Response {
    let token = app.subject_token(id, &["privacy"]).await;
    app.call(
        "PUT",
        &format!("/v1/subjects/{id}/audit-attributes"),
        Some(&token),
        Some(json!({"attributes": {"gender": gender, "age_band": "25-34"}})),
    )
    .await
}

#[tokio::test]
async fn attributes_need_the_fairness_consent_and_are_stored_sealed() {
    let app = TestApp::new();
    let r = declare(&app, "p1", "woman").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "fairness_audit_not_granted");
    grant_fairness(&app, "p1").await;
    let r = declare(&app, "p1", "woman").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["declared"], 2);

    let key = app.state.subject_key("p1").unwrap();
    let sealed = off_runtime(|| app.state.store.audit_attributes(&key).unwrap().unwrap());
    assert!(!String::from_utf8_lossy(&sealed).contains("woman"));

    // Bad input.
    for (body, code) in [
        (json!({"attributes": {}}), "empty_update"),
        (
            json!({"attributes": {"shoe_size": "42"}}),
            "unknown_attribute",
        ),
        (
            json!({"attributes": {"gender": "  "}}),
            "invalid_attribute_value",
        ),
    ] {
        let token = app.subject_token("p1", &["privacy"]).await;
        let r = app
            .call(
                "PUT",
                "/v1/subjects/p1/audit-attributes",
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.code(), code);
    }
    let r = app
        .call(
            "PUT",
            "/v1/subjects/p1/audit-attributes",
            Some(&app.decide),
            Some(json!({"attributes": {"gender": "woman"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Erasure removes them.
    assert!(off_runtime(|| app
        .state
        .store
        .delete_audit_attributes(&key)
        .unwrap()));
    assert_eq!(
        off_runtime(|| app.state.store.audit_attributes(&key).unwrap()),
        None
    );
}

#[tokio::test]
async fn a_slot_that_favours_one_group_is_flagged() {
    let app = TestApp::new();
    let items = json!({"items": [
        {"id": "a", "title": "A", "categories": ["x"], "provider": "Big"},
        {"id": "b", "title": "B", "categories": ["x"], "provider": "Big"},
        {"id": "c", "title": "C", "categories": ["x"], "provider": "Small"}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut exposures = Vec::new();
    for i in 0..12 {
        for (group, exposed_below) in [("woman", 10), ("man", 4)] {
            let id = format!("{group}-{i}");
            grant_fairness(&app, &id).await;
            assert_eq!(declare(&app, &id, group).await.status, StatusCode::OK);
            if i < exposed_below {
                exposures.push(Exposure {
                    subject: app.state.subject_key(&id).unwrap(),
                    slot: "home_top".into(),
                    item_id: if i % 2 == 0 { "a" } else { "b" }.into(),
                    rank: 1,
                    at: Timestamp::from_millis(NOW - 1_000),
                    personalized: true,
                    provider: "Big".into(),
                });
            }
        }
    }
    off_runtime(|| app.state.store.record_exposures(&exposures).unwrap());

    let r = app
        .call("GET", "/v1/fairness/slots/home_top", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["n_exposures"], 14);
    assert_eq!(b["people"]["n_audited"], 24);
    assert_eq!(b["people"]["flagged"], true);
    let gender = b["people"]["by_attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute"] == "gender")
        .unwrap();
    let ratio = gender["between_groups"]["demographic_parity_ratio"]
        .as_f64()
        .unwrap();
    assert!((ratio - 0.4).abs() < 1e-9, "{ratio}");
    assert_eq!(gender["four_fifths_flag"], true);
    // Everyone shares one age band: a single group, so no parity figures and no flag.
    let age = b["people"]["by_attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute"] == "age_band")
        .unwrap();
    assert!(age["four_fifths_flag"].is_null());
    // Item side: the small provider got nothing; two of three items were shown.
    let small = b["items"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "Small")
        .unwrap();
    assert_eq!(small["n_exposures"], 0);
    assert!((b["items"]["coverage"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);

    // A higher k suppresses every group.
    let r = app
        .call(
            "GET",
            "/v1/fairness/slots/home_top?k_min=13",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.body["people"]["flagged"], false);

    // The flag reaches the metrics.
    let r = app.call("GET", "/metrics", Some(&app.admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body.as_str().unwrap().to_owned();
    assert!(
        text.contains("candor_fairness_flagged{kind=\"slot\",id=\"home_top\"}"),
        "{text}"
    );
    assert!(text.contains(
        "candor_consent_decisions_total{purpose=\"fairness_audit\",decision=\"granted\"}"
    ));
    assert!(text.contains("candor_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/fairness/slots/{slot}\",le=\"+Inf\"}"));
    assert!(!text.contains("woman-"), "no ids in metrics");
}

#[tokio::test]
async fn an_empty_period_says_so_and_bad_queries_are_refused() {
    let app = TestApp::new();
    let r = app
        .call("GET", "/v1/fairness/slots/nowhere", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["empty"], true);
    assert_eq!(r.body["people"]["flagged"], false);
    for (path, code) in [
        ("/v1/fairness/slots/home?since=yesterday", "invalid_since"),
        ("/v1/fairness/slots/home?k_min=1", "invalid_k_min"),
        ("/v1/fairness/slots/a%20b", "invalid_slot"),
    ] {
        let r = app.call("GET", path, Some(&app.admin), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(r.code(), code);
    }
    for path in ["/v1/fairness/slots/home", "/metrics"] {
        let r = app.call("GET", path, Some(&app.decide), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        let r = app.call("GET", path, None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn campaign_outcomes_plug_into_the_same_report() {
    use candor_app::fairness::{CampaignOutcome, campaign_report};
    let app = TestApp::new();
    let mut outcomes = Vec::new();
    for i in 0..10 {
        for group in ["woman", "man"] {
            let id = format!("{group}-{i}");
            grant_fairness(&app, &id).await;
            assert_eq!(declare(&app, &id, group).await.status, StatusCode::OK);
            // Everyone selected among women, half among men; conversions known for all.
            outcomes.push(CampaignOutcome {
                subject: app.state.subject_key(&id).unwrap(),
                selected: group == "woman" || i % 2 == 0,
                converted: Some(i < 5),
            });
        }
    }
    // Someone without attributes is left out.
    outcomes.push(CampaignOutcome {
        subject: app.state.subject_key("stranger").unwrap(),
        selected: true,
        converted: None,
    });
    let report = off_runtime(|| {
        campaign_report(
            app.state.store.as_ref(),
            &app.state.policy,
            "spring",
            &outcomes,
            10,
        )
        .unwrap()
    });
    assert_eq!(report.n_audited, 20);
    assert!(report.flagged());
    let (_, gender, _) = report
        .by_kind
        .iter()
        .find(|(k, _, _)| k.as_str() == "gender")
        .unwrap();
    assert_eq!(gender.between_groups.dp_ratio, Some(0.5));
    assert!(gender.between_groups.eo_difference.is_some());
}
