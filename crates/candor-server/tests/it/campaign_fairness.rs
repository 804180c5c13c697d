//! Campaign fairness on stored runs: the report, flags, the hold switch and its
//! acknowledgement, and the metrics they feed.

use axum::http::StatusCode;
use candor_app::campaigns::outbox;
use candor_domain::policy::{DEFAULT_POLICY_TOML, Policy};
use candor_domain::time::Timestamp;
use serde_json::{Value, json};

use crate::campaigns::{WEBHOOK_SECRET, campaign, grant, run, segment, store, views, webhook};
use crate::fairness::declare;
use crate::support::{NOW, TestApp, off_runtime};

fn policy(hold: bool) -> Policy {
    Policy::parse(&DEFAULT_POLICY_TOML.replace(
        "hold_flagged_campaigns = false",
        &format!("hold_flagged_campaigns = {hold}"),
    ))
    .unwrap()
}

/// An app posting deliveries to a test webhook, with twelve women and twelve men who declared
/// their gender under `fairness_audit` and agreed to marketing emails. Everyone has three
/// views except the men from index `men_active` on, who have none: the campaign selects
/// people with two views or more.
async fn population(
    hold: bool,
    men_active: usize,
) -> (
    TestApp,
    std::sync::Arc<std::sync::Mutex<crate::campaigns::Seen>>,
) {
    let (url, seen) = webhook(0).await;
    let app = TestApp::with_config_text(
        policy(hold),
        &format!("[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n"),
    );
    for i in 0..12 {
        for group in ["woman", "man"] {
            let id = format!("{group}-{i}");
            grant(
                &app,
                &id,
                &["personalization", "email_marketing", "fairness_audit"],
            )
            .await;
            assert_eq!(declare(&app, &id, group).await.status, StatusCode::OK);
            views(
                &app,
                &id,
                if group == "man" && i >= men_active {
                    0
                } else {
                    3
                },
            )
            .await;
        }
    }
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "spring", "segment": "active"})).await;
    (app, seen)
}

async fn outbox_pass(app: &TestApp) -> outbox::OutboxReport {
    outbox::run_once(
        store(app),
        &app.state.config.campaigns,
        &outbox::client(&app.state.config.campaigns).unwrap(),
        Timestamp::from_millis(NOW),
    )
    .await
    .unwrap()
}

async fn get(app: &TestApp, path: &str) -> crate::support::Response {
    app.call("GET", path, Some(&app.admin), None).await
}

async fn acknowledge(app: &TestApp, campaign: &str, body: Value) -> crate::support::Response {
    app.call(
        "POST",
        &format!("/v1/fairness/campaigns/{campaign}/acknowledge"),
        Some(&app.admin),
        Some(body),
    )
    .await
}

fn gender(report: &Value) -> &Value {
    report["by_attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute"] == "gender")
        .unwrap()
}

async fn metrics(app: &TestApp) -> String {
    let r = get(app, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    r.body.as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flagged_run_with_the_hold_on_waits_for_an_acknowledgement() {
    let (app, seen) = population(true, 4).await;
    // Before any run: nothing to report or acknowledge.
    let r = get(&app, "/v1/fairness/campaigns/spring").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "no_runs"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("run it")
    );
    let r = acknowledge(&app, "spring", json!({"note": "fine"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "campaign_not_flagged")
    );

    // 12 of 12 women and 4 of 12 men selected: parity ratio 1/3.
    let r = run(&app, "spring", false).await;
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(true), json!(true))
    );
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let entry = off_runtime(|| store(&app).audit_last("campaign_run").unwrap().unwrap());
    assert_eq!(entry.details.get("run"), Some(run_id.as_str()));
    assert_eq!(
        (entry.details.get("flagged"), entry.details.get("held")),
        (Some("true"), Some("true"))
    );
    let pass = outbox_pass(&app).await;
    assert_eq!(pass.claimed, 0, "nothing leaves the outbox");
    assert!(seen.lock().unwrap().requests.is_empty());

    let r = get(&app, "/v1/fairness/campaigns/spring").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["campaign"], "spring");
    assert_eq!(b["run"], run_id);
    assert_eq!(
        (b["flagged"].clone(), b["held"].clone()),
        (json!(true), json!(true))
    );
    assert!(b["acknowledged"].is_null());
    assert_eq!(b["report"]["n_audited"], 24);
    let g = gender(&b["report"]);
    let ratio = g["between_groups"]["demographic_parity_ratio"]
        .as_f64()
        .unwrap();
    assert!((ratio - 1.0 / 3.0).abs() < 1e-9, "{ratio}");
    // The conversion window has not closed yet: no equalized odds.
    assert!(g["between_groups"]["equalized_odds_difference"].is_null());
    assert!(
        b["report"].get("items").is_none(),
        "no item side for campaigns"
    );

    let r = get(&app, "/v1/fairness/flags").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let flags = r.body["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0]["kind"], "campaign");
    assert_eq!(flags[0]["id"], "spring");
    assert_eq!(flags[0]["run"], run_id);
    assert_eq!(flags[0]["held"], true);
    assert!(flags[0]["acknowledged"].is_null());
    assert!((flags[0]["parity_ratio"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let text = metrics(&app).await;
    assert!(
        text.contains("candor_fairness_flagged{kind=\"campaign\",id=\"spring\"} 1"),
        "{text}"
    );
    assert!(text.contains("candor_deliveries_held 16"), "{text}");

    // Refusals.
    for (body, code) in [
        (json!({"note": "  "}), "invalid_note"),
        (json!({"note": "x".repeat(1_001)}), "invalid_note"),
    ] {
        let r = acknowledge(&app, "spring", body).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, code));
    }
    let r = acknowledge(&app, "spring", json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        "the note is required"
    );
    let r = acknowledge(&app, "autumn", json!({"note": "fine"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "campaign_not_found")
    );
    let r = app
        .call(
            "POST",
            "/v1/fairness/campaigns/spring/acknowledge",
            Some(&app.decide),
            Some(json!({"note": "fine"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(outbox_pass(&app).await.claimed, 0, "still held");

    // Acknowledged: released, recorded, delivered.
    let note = "Reviewed: the segment follows viewing, which differs by gender here.";
    let r = acknowledge(&app, "spring", json!({"note": note})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["n_flags"].clone(), r.body["n_released"].clone()),
        (json!(1), json!(16))
    );
    assert_eq!(r.body["acknowledged"]["note"], note);
    let entry = off_runtime(|| {
        store(&app)
            .audit_last("fairness_acknowledged")
            .unwrap()
            .unwrap()
    });
    assert_eq!(entry.target.as_str(), "campaign:spring");
    assert_eq!(entry.details.get("note"), Some(note));
    // Idempotent: nothing more happens, the acknowledgement stands, no new audit entry.
    let again = acknowledge(&app, "spring", json!({"note": "once more"})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        (
            again.body["n_flags"].clone(),
            again.body["n_released"].clone()
        ),
        (json!(0), json!(0))
    );
    assert_eq!(again.body["acknowledged"], r.body["acknowledged"]);
    let last = off_runtime(|| store(&app).audit_head().unwrap().unwrap());
    assert!(last.seq >= entry.seq);
    assert_eq!(
        off_runtime(|| store(&app)
            .audit_last("fairness_acknowledged")
            .unwrap()
            .unwrap()
            .seq),
        entry.seq
    );

    let pass = outbox_pass(&app).await;
    assert_eq!((pass.claimed, pass.delivered), (16, 16));
    assert_eq!(seen.lock().unwrap().requests.len(), 16);
    let r = get(&app, "/v1/fairness/campaigns/spring").await;
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(r.body["acknowledged"]["note"], note);
    let text = metrics(&app).await;
    assert!(
        text.contains("candor_fairness_flagged{kind=\"campaign\",id=\"spring\"} 0"),
        "{text}"
    );
    assert!(text.contains("candor_deliveries_held 0"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_hold_a_flagged_run_is_delivered_and_listed() {
    let (app, seen) = population(false, 4).await;
    let r = run(&app, "spring", false).await;
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(true), json!(false))
    );
    let pass = outbox_pass(&app).await;
    assert_eq!(pass.delivered, 16);
    assert_eq!(seen.lock().unwrap().requests.len(), 16);
    let r = get(&app, "/v1/fairness/flags").await;
    let flags = r.body["flags"].as_array().unwrap();
    assert_eq!((flags.len(), flags[0]["held"].clone()), (1, json!(false)));
    let r = get(&app, "/v1/fairness/campaigns/spring").await;
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(true), json!(false))
    );
    // It can still be acknowledged, for the record.
    let r = acknowledge(&app, "spring", json!({"note": "seen"})).await;
    assert_eq!(
        (r.status, r.body["n_released"].clone()),
        (StatusCode::OK, json!(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unflagged_run_is_never_held() {
    // 12 of 12 women and 10 of 12 men: parity ratio 0.83.
    let (app, seen) = population(true, 10).await;
    let r = run(&app, "spring", false).await;
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(false), json!(false))
    );
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(outbox_pass(&app).await.delivered, 22);
    assert_eq!(seen.lock().unwrap().requests.len(), 22);
    let r = get(
        &app,
        &format!("/v1/fairness/campaigns/spring?run={run_id}&k_min=5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["flagged"].clone(), r.body["held"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(r.body["report"]["by_attribute"][0]["k_min"], 5);
    let r = get(&app, "/v1/fairness/flags").await;
    assert_eq!(r.body["flags"], json!([]));
    let r = acknowledge(&app, "spring", json!({"note": "nothing to see"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "campaign_not_flagged")
    );
    for (path, status, code) in [
        (
            "/v1/fairness/campaigns/spring?run=nope",
            StatusCode::NOT_FOUND,
            "run_not_found",
        ),
        (
            "/v1/fairness/campaigns/spring?k_min=1",
            StatusCode::BAD_REQUEST,
            "invalid_k_min",
        ),
        (
            "/v1/fairness/campaigns/spring?colour=red",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/fairness/campaigns/autumn",
            StatusCode::NOT_FOUND,
            "campaign_not_found",
        ),
        (
            "/v1/fairness/campaigns/Not%20An%20Id",
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            "/v1/fairness/flags?k_min=0",
            StatusCode::BAD_REQUEST,
            "invalid_k_min",
        ),
    ] {
        let r = get(&app, path).await;
        assert_eq!((r.status, r.code()), (status, code), "{path}: {}", r.body);
    }
    let r = app
        .call("GET", "/v1/fairness/flags", Some(&app.decide), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn metrics_show_the_request_backlog_and_exclusions() {
    use candor_store::NewDsrRequest;
    const DAY: i64 = 86_400_000;
    let app = TestApp::new();
    let request = |kind: &str, received: i64, completed: Option<i64>| NewDsrRequest {
        kind: kind.to_owned(),
        subject_ref: [received as u8; 32],
        jurisdiction: "gdpr".to_owned(),
        received_at: Timestamp::from_millis(received),
        deadline_at: Timestamp::from_millis(received + 30 * DAY),
        completed_at: completed.map(Timestamp::from_millis),
        detail: "{}".to_owned(),
    };
    off_runtime(|| {
        let s = store(&app);
        s.insert_dsr(&request("access", NOW - 40 * DAY, None))
            .unwrap();
        s.insert_dsr(&request("access", NOW - 2 * DAY, None))
            .unwrap();
        s.insert_dsr(&request("erasure", NOW - 5 * DAY, Some(NOW - 4 * DAY)))
            .unwrap();
    });
    // A decision that excludes someone who never agreed to anything.
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "spring", "segment": "active"})).await;
    let r = app
        .call(
            "POST",
            "/v1/decide",
            Some(&app.decide),
            Some(json!({"subject": "nobody", "channel": "email", "campaigns": ["spring"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reason = r.body["decisions"][0]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = metrics(&app).await;
    assert!(
        text.contains(&format!(
            "candor_campaign_exclusions_total{{reason=\"{reason}\"}} "
        )),
        "{text}"
    );
    assert!(
        text.contains("candor_dsr_open{kind=\"access\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("candor_dsr_open{kind=\"erasure\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("candor_dsr_overdue{kind=\"access\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "candor_dsr_oldest_open_age_seconds {}",
            40 * DAY / 1000
        )),
        "{text}"
    );
    assert!(
        text.contains("# TYPE candor_campaign_exclusions_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE candor_deliveries_held gauge"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equalized_odds_appear_once_the_conversion_window_has_closed() {
    use candor_app::fairness::CONVERSION_WINDOW_DAYS;
    let (app, _seen) = population(false, 4).await;
    run(&app, "spring", false).await;
    // The same store, a week and a day later.
    let day = candor_domain::time::DAY_MS;
    let later_ms = NOW + (CONVERSION_WINDOW_DAYS + 1) * day;
    let later = app.at(Timestamp::from_millis(later_ms));
    // Half of each group bought within the window; one more woman only after it closed.
    let mut events = Vec::new();
    for i in 0..12 {
        for group in ["woman", "man"] {
            let bought_at = match (i % 2, group, i) {
                (0, _, _) => Some(NOW + day),
                (_, "woman", 11) => Some(NOW + (CONVERSION_WINDOW_DAYS) * day + 1),
                _ => None,
            };
            if let Some(at) = bought_at {
                events.push(json!({"type": "track", "event": "Order Completed",
                    "userId": format!("{group}-{i}"), "messageId": format!("order-{group}-{i}"),
                    "timestamp": Timestamp::from_millis(at).to_rfc3339(),
                    "properties": {"order_id": format!("o-{group}-{i}"), "total": 10}}));
            }
        }
    }
    let r = later
        .call(
            "POST",
            "/v1/events",
            Some(&later.ingest),
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = get(&later, "/v1/fairness/campaigns/spring").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g = gender(&r.body["report"]);
    // Women: all selected, so TPR = FPR = 1. Men: selected 0..4, converted the even ones:
    // TPR = 2/6, FPR = 2/6. Equalized odds difference = max(1 - 1/3, 1 - 1/3).
    let eo = g["between_groups"]["equalized_odds_difference"]
        .as_f64()
        .unwrap();
    assert!((eo - 2.0 / 3.0).abs() < 1e-9, "{eo}");
    let women = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["label"] == "woman")
        .unwrap();
    assert_eq!(women["true_positive_rate"], 1.0);
}
