//! Experiments through the API: a simulated experiment with a known effect, run end to end
//! (create, serve many people, they convert more often in variant B, report), recovers the
//! effect within its interval; bad definitions are refused with their codes; a withdrawn person
//! is not enrolled; a visitor's arm carries over on identify; only admin keys reach the admin
//! routes; a person sees only their own assignments.

use axum::http::StatusCode;
use candor_app::recommend::rebuild_once;
use candor_domain::time::Timestamp;
use serde_json::{Value, json};

use crate::recommend::post;
use crate::support::{NOW, SHOP_ORIGIN, TestApp, off_runtime};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millis(ms).to_rfc3339()
}

/// A catalog and a few consenting shoppers, so the models have popular items to serve.
async fn shop() -> TestApp {
    let app = TestApp::new();
    let items = json!({"items": [
        {"id": "shoe-1", "title": "Trail shoe", "categories": ["Running"]},
        {"id": "shoe-2", "title": "Road shoe", "categories": ["Running"]},
        {"id": "sock-1", "title": "Running socks", "categories": ["Running"]},
        {"id": "mat-1", "title": "Yoga mat", "categories": ["Yoga"]},
        {"id": "block-1", "title": "Yoga block", "categories": ["Yoga"]}]});
    let r = app
        .call("PUT", "/v1/items", Some(&app.admin), Some(items))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut events = Vec::new();
    for (n, user) in ["seed-1", "seed-2", "seed-3"].iter().enumerate() {
        grant(&app, user).await;
        for product in ["shoe-1", "sock-1", "mat-1"].iter().take(n + 1) {
            events.push(
                json!({"type": "track", "event": "Product Viewed", "userId": user,
                "messageId": format!("seed-{user}-{product}"), "timestamp": rfc3339(NOW - HOUR_MS),
                "properties": {"product_id": product}}),
            );
        }
    }
    post(&app, events).await;
    off_runtime(|| rebuild_once(&app.state).unwrap());
    app
}

async fn consent(app: &TestApp, subject: &str, decision: &str) {
    let body = json!({"decisions": [{"purpose": "personalization", "decision": decision}]});
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{subject}/consents"),
            Some(&app.ingest),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn grant(app: &TestApp, subject: &str) {
    consent(app, subject, "granted").await;
}

/// Two variants on the `home` slot, half each; B is less diverse and shows fewer items.
/// Conversion to an order within a day is the primary metric.
fn definition(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Home diversity",
        "purpose": "personalization",
        "target": {"kind": "slot", "id": "home"},
        "variants": [
            {"name": "A", "allocation_bp": 5000},
            {"name": "B", "allocation_bp": 5000, "settings": {"diversity": 0.2, "n_items": 3}}
        ],
        "start_ms": NOW - HOUR_MS,
        "primary": {"name": "orders", "kind": "conversion", "event_type": "Order Completed",
                    "window_ms": DAY_MS},
        "guardrails": [{"metric": {"name": "adds", "kind": "conversion",
                                   "event_type": "Product Added", "window_ms": DAY_MS},
                        "direction": "higher_is_better"}]
    })
}

async fn create(app: &TestApp, body: Value) -> crate::support::Response {
    app.call("POST", "/v1/experiments", Some(&app.admin), Some(body))
        .await
}

/// The `home` list for `subject` as the shop's backend asks for it.
async fn home(app: &TestApp, subject: &str) -> Value {
    let r = app
        .call(
            "GET",
            &format!("/v1/subjects/{subject}/recommendations?slot=home"),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn estimated(report: &Value, metric: &str) -> Value {
    let metric = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == metric)
        .unwrap_or_else(|| panic!("no metric {metric} in {report}"));
    let comparison = &metric["comparisons"][0];
    assert_eq!(comparison["status"], "estimated", "{report}");
    comparison.clone()
}

#[tokio::test]
async fn a_simulated_experiment_recovers_its_known_effect() {
    let app = shop().await;
    let r = create(&app, definition("home-diversity")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(
        r.body["definition"]["policy_version"],
        app.state.policy.version.to_string(),
        "pinned to the policy it was validated against"
    );

    // 400 people are served; A converts 1 in 5 and B 1 in 2: a true effect of +0.3.
    let n_people = 400;
    let (mut n_a, mut n_b) = (0, 0);
    let mut orders = Vec::new();
    for i in 0..n_people {
        let user = format!("shopper-{i}");
        grant(&app, &user).await;
        let list = home(&app, &user).await;
        let arm = list["experiment"]["arm"].as_str().unwrap().to_owned();
        assert_eq!(list["experiment"]["id"], "home-diversity");
        assert!(
            list["experiment"]["list_id"]
                .as_str()
                .unwrap()
                .starts_with("l_")
        );
        // Sticky: the next list is the same arm.
        assert_eq!(home(&app, &user).await["experiment"]["arm"], arm.as_str());
        let converts = match arm.as_str() {
            "A" => {
                n_a += 1;
                n_a % 5 == 0
            }
            "B" => {
                // The variant's settings apply: three items.
                assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
                n_b += 1;
                n_b % 2 == 0
            }
            other => panic!("unexpected arm {other}"),
        };
        if converts {
            orders.push(
                json!({"type": "track", "event": "Order Completed", "userId": user,
                "messageId": format!("order-{user}"), "timestamp": rfc3339(NOW + HOUR_MS),
                "properties": {"order_id": format!("o-{i}"), "revenue": 20.0}}),
            );
        }
    }
    assert!(n_a > 150 && n_b > 150, "a fair split: {n_a} / {n_b}");
    let app = app.at(Timestamp::from_millis(NOW + 2 * HOUR_MS));
    for chunk in orders.chunks(500) {
        post(&app, chunk.to_vec()).await;
    }

    // Two days later every window has closed.
    let app = app.at(Timestamp::from_millis(NOW + 2 * DAY_MS));
    let r = app
        .call(
            "GET",
            "/v1/experiments/home-diversity/report",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report = r.body;
    assert_eq!(report["control"], "A");
    assert_eq!(report["srm"]["status"], "checked", "{report}");
    let orders = estimated(&report, "orders");
    let effect = orders["effect"].as_f64().unwrap();
    let (low, high) = (
        orders["ci_low"].as_f64().unwrap(),
        orders["ci_high"].as_f64().unwrap(),
    );
    assert!(
        low <= 0.3 && 0.3 <= high,
        "the true effect 0.3 is in [{low}, {high}]"
    );
    assert!(low > 0.0, "the effect is detected: [{low}, {high}]");
    assert!((effect - 0.3).abs() < 0.05, "estimate {effect}");
    let (av_low, av_high) = (
        orders["always_valid_low"].as_f64().unwrap(),
        orders["always_valid_high"].as_f64().unwrap(),
    );
    assert!(av_low <= 0.3 && 0.3 <= av_high, "[{av_low}, {av_high}]");
    // Nobody added to a cart: the guardrail has no variance to test, and says so.
    assert_eq!(report["guardrails"][0]["metric"], "adds");
    // Counts are about arms of hundreds: shown exactly.
    let arms = &report["metrics"][0]["arms"];
    assert_eq!(
        arms[0]["n"].as_u64().unwrap() + arms[1]["n"].as_u64().unwrap(),
        400
    );

    // The same report as Markdown and SVG.
    for (format, content_type) in [("markdown", "text/markdown"), ("svg", "image/svg+xml")] {
        let r = app
            .call(
                "GET",
                &format!("/v1/experiments/home-diversity/report?format={format}"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let ct = r.headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with(content_type), "{ct}");
        assert!(r.body.as_str().unwrap().contains("Home diversity"));
    }
    let r = app
        .call(
            "GET",
            "/v1/experiments/home-diversity/report?format=pdf",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Stopped, it enrolls nobody new.
    let r = app
        .call(
            "POST",
            "/v1/experiments/home-diversity/stop",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "stopped");
    grant(&app, "latecomer").await;
    assert!(home(&app, "latecomer").await.get("experiment").is_none());
}

#[tokio::test]
async fn a_small_experiment_is_suppressed() {
    let app = shop().await;
    assert_eq!(
        create(&app, definition("small")).await.status,
        StatusCode::CREATED
    );
    for i in 0..6 {
        let user = format!("few-{i}");
        grant(&app, &user).await;
        home(&app, &user).await;
    }
    let app = app.at(Timestamp::from_millis(NOW + 2 * DAY_MS));
    let r = app
        .call(
            "GET",
            "/v1/experiments/small/report",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let k = app.state.policy.k_anonymity;
    for arm in r.body["metrics"][0]["arms"].as_array().unwrap() {
        assert_eq!(arm["n"], format!("fewer than {k}"), "{}", r.body);
        assert!(arm["mean"].is_null());
    }
    assert_eq!(r.body["srm"]["status"], "suppressed");
    assert_eq!(
        r.body["metrics"][0]["comparisons"][0]["status"],
        "suppressed"
    );
}

#[tokio::test]
async fn bad_definitions_are_refused_with_their_codes() {
    let app = shop().await;
    let mut bad_sum = definition("bad-sum");
    bad_sum["variants"][1]["allocation_bp"] = json!(4000);
    let r = create(&app, bad_sum).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "experiment_allocation_sum");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("90%"));

    let mut undeclared = definition("undeclared");
    undeclared["primary"]["event_type"] = json!("Coupon Redeemed");
    let r = create(&app, undeclared).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "experiment_metric_event_undeclared");

    let mut unknown_model = definition("model");
    unknown_model["variants"][1]["settings"]["model"] = json!("deep-magic");
    let r = create(&app, unknown_model).await;
    assert_eq!(r.code(), "experiment_variant_model");

    let mut unknown_purpose = definition("purpose");
    unknown_purpose["purpose"] = json!("mind_reading");
    let r = create(&app, unknown_purpose).await;
    assert_eq!(r.code(), "experiment_purpose_unknown");

    let mut unknown_campaign = definition("campaign");
    unknown_campaign["target"] = json!({"kind": "campaign", "id": "no-such-campaign"});
    unknown_campaign["purpose"] = json!("email_marketing");
    let r = create(&app, unknown_campaign).await;
    assert_eq!(r.code(), "experiment_campaign_unknown");

    let r = create(&app, json!({"id": "shapeless"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_experiment");
    let r = create(&app, json!({"id": "Not An Id"})).await;
    assert_eq!(r.code(), "invalid_id");

    assert_eq!(
        create(&app, definition("first")).await.status,
        StatusCode::CREATED
    );
    let r = create(&app, definition("first")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "experiment_exists");
    // The same slot, at the same time, without a layer: overlap.
    let r = create(&app, definition("second")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "experiment_overlap");
    // In a layer of its own beside a layered one it may run.
    let r = app
        .call("POST", "/v1/experiments/first/stop", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Stopped, it no longer overlaps what starts from now on.
    let mut layered = definition("layered-1");
    layered["layer"] = json!("ranking");
    layered["start_ms"] = json!(NOW);
    assert_eq!(create(&app, layered).await.status, StatusCode::CREATED);
    let mut other_layer = definition("layered-2");
    other_layer["layer"] = json!("length");
    other_layer["start_ms"] = json!(NOW);
    assert_eq!(create(&app, other_layer).await.status, StatusCode::CREATED);

    let listed = app
        .call("GET", "/v1/experiments", Some(&app.admin), None)
        .await;
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["first", "layered-1", "layered-2"],
        "only what was created"
    );
    let r = app
        .call("GET", "/v1/experiments/nope", Some(&app.admin), None)
        .await;
    assert_eq!(r.code(), "experiment_not_found");
}

#[tokio::test]
async fn only_admin_keys_reach_the_admin_routes() {
    let app = shop().await;
    let (_, visitor_token) = app.visitor().await;
    grant(&app, "ann").await;
    let ann = app.subject_token("ann", &[]).await;
    assert_eq!(
        create(&app, definition("x")).await.status,
        StatusCode::CREATED
    );
    for key in [&app.ingest, &app.decide, &app.sessions] {
        let r = app
            .call("POST", "/v1/experiments", Some(key), Some(definition("y")))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app
            .call("GET", "/v1/experiments/x/report", Some(key), None)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    for token in [&visitor_token, &ann, &app.publishable] {
        let r = app
            .call_with(
                "GET",
                "/v1/experiments",
                Some(token),
                None,
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
}

/// The experiments listed in `subject`'s export, read with `key`.
async fn own_experiments(app: &TestApp, subject: &str, key: &str) -> crate::support::Response {
    app.call_with(
        "GET",
        &format!("/v1/subjects/{subject}/export"),
        Some(key),
        None,
        &[("origin", SHOP_ORIGIN)],
    )
    .await
}

#[tokio::test]
async fn people_see_their_own_assignments_and_withdrawal_stops_enrollment() {
    let app = shop().await;
    assert_eq!(
        create(&app, definition("mine")).await.status,
        StatusCode::CREATED
    );
    grant(&app, "ann").await;
    grant(&app, "bob").await;
    let ann_arm = home(&app, "ann").await["experiment"]["arm"].clone();
    let bob_arm = home(&app, "bob").await["experiment"]["arm"].clone();

    let ann = app.subject_token("ann", &[]).await;
    let r = own_experiments(&app, "ann", &ann).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mine = &r.body["processing"]["experiments"];
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["experiment"], "mine");
    assert_eq!(mine[0]["arm"], ann_arm);
    assert_eq!(mine[0]["n_lists_shown"], 1);
    let text = mine[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Home diversity") && text.contains(ann_arm.as_str().unwrap()),
        "{text}"
    );
    // Ann's token does not open Bob's.
    let r = own_experiments(&app, "bob", &ann).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let bob = app.subject_token("bob", &[]).await;
    let r = own_experiments(&app, "bob", &bob).await;
    assert_eq!(r.body["processing"]["experiments"][0]["arm"], bob_arm);

    // A withdrawal stops enrollment at once: no experiment, and nobody new is enrolled
    // after withdrawing either.
    consent(&app, "ann", "withdrawn").await;
    assert!(home(&app, "ann").await.get("experiment").is_none());
    grant(&app, "cleo").await;
    consent(&app, "cleo", "withdrawn").await;
    assert!(home(&app, "cleo").await.get("experiment").is_none());
    let cleo = app.subject_token("cleo", &[]).await;
    let r = own_experiments(&app, "cleo", &cleo).await;
    assert_eq!(r.body["processing"]["experiments"], json!([]));
    // Someone who never chose is not enrolled.
    assert!(home(&app, "stranger").await.get("experiment").is_none());

    // Erasure takes the assignment with everything else.
    let r = app
        .call("DELETE", "/v1/subjects/bob", Some(&app.admin), None)
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let count = off_runtime(|| app.state.store.experiment_exposures("mine").unwrap().len());
    assert_eq!(count, 1, "only ann's exposure is left");
}

#[tokio::test]
async fn a_visitors_arm_carries_over_on_identify() {
    let app = shop().await;
    assert_eq!(
        create(&app, definition("carry")).await.status,
        StatusCode::CREATED
    );
    let (anon, visitor_token) = app.visitor().await;
    let body = json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]});
    let r = app
        .call_with(
            "PUT",
            &format!("/v1/subjects/{anon}/consents"),
            Some(&visitor_token),
            Some(body),
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call_with(
            "GET",
            &format!("/v1/subjects/{anon}/recommendations?slot=home"),
            Some(&visitor_token),
            None,
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let arm = r.body["experiment"]["arm"].clone();
    assert!(arm.is_string(), "{}", r.body);

    grant(&app, "dana").await;
    post(
        &app,
        vec![
            json!({"type": "identify", "userId": "dana", "anonymousId": anon,
                    "messageId": "identify-dana"}),
        ],
    )
    .await;
    let dana = app.subject_token("dana", &[]).await;
    let r = own_experiments(&app, "dana", &dana).await;
    let mine = &r.body["processing"]["experiments"];
    assert_eq!(mine[0]["arm"], arm, "{mine}");
    assert_eq!(mine[0]["n_lists_shown"], 1, "the visitor's list came along");
    assert_eq!(home(&app, "dana").await["experiment"]["arm"], arm);
}

#[tokio::test]
async fn the_holdout_gets_no_personalization() {
    let app = shop().await;
    let mut held = definition("held");
    held["holdout_bp"] = json!(5000);
    assert_eq!(create(&app, held).await.status, StatusCode::CREATED);
    let (mut n_holdout, mut n_variants) = (0, 0);
    for i in 0..40 {
        let user = format!("held-{i}");
        grant(&app, &user).await;
        // History to personalize from, so a non-personalized list is the holdout's doing.
        post(
            &app,
            vec![
                json!({"type": "track", "event": "Product Viewed", "userId": user,
                "messageId": format!("held-view-{i}"), "timestamp": rfc3339(NOW - HOUR_MS),
                "properties": {"product_id": "shoe-1"}}),
            ],
        )
        .await;
        let list = home(&app, &user).await;
        if list["experiment"]["arm"] == "holdout" {
            n_holdout += 1;
            assert_eq!(list["personalized"], false, "{list}");
            assert_eq!(list["basis"]["code"], "experiment_holdout", "{list}");
        } else {
            n_variants += 1;
            assert_ne!(list["basis"]["code"], "experiment_holdout", "{list}");
        }
    }
    assert!(
        n_holdout > 5 && n_variants > 5,
        "{n_holdout} held out, {n_variants} in variants"
    );
}
