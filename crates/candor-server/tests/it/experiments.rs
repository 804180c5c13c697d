//! Experiments through the API: a simulated experiment with a known effect, run end to end
//! (create, serve many people, they convert more often in variant B, report), recovers the
//! effect within its interval; bad definitions are refused with their codes; a withdrawn person
//! is not enrolled; a visitor's arm carries over on identify; only admin keys reach the admin
//! routes; a person sees only their own assignments.

use std::collections::BTreeSet;

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
    shop_in(TestApp::new()).await
}

/// [`shop`] in `app`.
async fn shop_in(app: TestApp) -> TestApp {
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

/// The app with its clock at `NOW + ms`, its models rebuilt (a new state starts without).
fn later(app: TestApp, ms: i64) -> TestApp {
    let app = app.at(Timestamp::from_millis(NOW + ms));
    off_runtime(|| rebuild_once(&app.state).unwrap());
    app
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
    unknown_campaign["variants"][1]["settings"] = json!({});
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
    // Both set diversity and n_items: their variants would not compose.
    let r = create(&app, other_layer.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "experiment_layer_parameter");
    other_layer["variants"][1]["settings"] = json!({"model": "popularity"});
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

/// One experiment per layer on `home`: `ranking` varies diversity, `length` the list length.
fn layered(id: &str, layer: &str, settings: Value) -> Value {
    let mut d = definition(id);
    d["layer"] = json!(layer);
    d["variants"][1]["settings"] = settings;
    d
}

#[tokio::test]
async fn experiments_in_different_layers_of_a_slot_compose() {
    let app = shop().await;
    let r = create(
        &app,
        layered("ranking", "ranking", json!({"diversity": 0.1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = create(&app, layered("length", "length", json!({"n_items": 2}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A third layer that sets the list length again is refused, naming the clash.
    let r = create(&app, layered("length-2", "size", json!({"n_items": 4}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "experiment_layer_parameter");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`length`") && message.contains("n_items"),
        "{message}"
    );

    let mut seen_short = false;
    for i in 0..24 {
        let user = format!("layered-{i}");
        grant(&app, &user).await;
        let list = home(&app, &user).await;
        let served = list["experiments"].as_array().unwrap();
        assert_eq!(served.len(), 2, "one experiment per layer: {list}");
        // Created at the same instant: in id order.
        assert_eq!(served[0]["id"], "length");
        assert_eq!(served[1]["id"], "ranking");
        let list_id = list["list_id"].as_str().unwrap();
        assert!(
            served.iter().all(|s| s["list_id"] == list_id),
            "one list, one id: {list}"
        );
        assert_eq!(list["experiment"], served[0], "the oldest, as before");
        // The length layer's arm decides the length whatever the ranking layer's arm is.
        let n = list["items"].as_array().unwrap().len();
        if served[0]["arm"] == "B" {
            assert_eq!(n, 2, "{list}");
            seen_short = true;
        } else {
            assert!(n > 2, "{list}");
        }
    }
    assert!(seen_short);
    // Each experiment recorded its own exposure of each list.
    let (ranking, length) = off_runtime(|| {
        let store = &app.state.store;
        (
            store.experiment_exposures("ranking").unwrap(),
            store.experiment_exposures("length").unwrap(),
        )
    });
    assert_eq!((ranking.len(), length.len()), (24, 24));
    assert!(
        ranking
            .iter()
            .zip(&length)
            .all(|(a, b)| a.list_id == b.list_id && a.subject == b.subject)
    );
}

/// The `clicks` experiment: recommended clicks on `Product Clicked` within a day.
fn clicks_definition() -> Value {
    let mut d = definition("clicks");
    d["primary"] = json!({"name": "clicks", "kind": "recommended_clicks",
                          "event_type": "Product Clicked", "window_ms": DAY_MS});
    d["guardrails"] = json!([]);
    d
}

#[tokio::test]
async fn a_click_counts_for_the_list_whose_id_it_carries() {
    let app = shop().await;
    let r = create(&app, clicks_definition()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Everyone clicks an item of the list they were shown. In arm A the click carries the
    // list's id (as candor.js sends it); in arm B it does not, or carries another list's.
    let mut clicks = Vec::new();
    let mut other_list = None::<String>;
    for i in 0..60 {
        let user = format!("clicker-{i}");
        grant(&app, &user).await;
        let list = home(&app, &user).await;
        let list_id = list["list_id"].as_str().unwrap().to_owned();
        let item = list["items"][0]["id"].as_str().unwrap().to_owned();
        let mut properties = json!({"product_id": item, "position": 1});
        if list["experiment"]["arm"] == "A" {
            properties["list_id"] = json!(list_id);
        } else if let Some(other) = &other_list {
            properties["list_id"] = json!(other);
        }
        other_list = Some(list_id);
        clicks.push(
            json!({"type": "track", "event": "Product Clicked", "userId": user,
            "messageId": format!("click-{i}"), "timestamp": rfc3339(NOW + HOUR_MS),
            "properties": properties}),
        );
    }
    let app = later(app, 2 * HOUR_MS);
    post(&app, clicks).await;
    // The policy declares `list_id`, so it is kept with the click.
    let kept = off_runtime(|| {
        app.state
            .store
            .experiment_events("clicks", Timestamp::from_millis(NOW))
            .unwrap()
    });
    assert_eq!(kept.len(), 60);
    assert!(kept.iter().filter(|e| e.list_id.is_some()).count() >= 30);

    let app = app.at(Timestamp::from_millis(NOW + 2 * DAY_MS));
    let r = app
        .call(
            "GET",
            "/v1/experiments/clicks/report",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let arms = &r.body["metrics"][0]["arms"];
    assert_eq!(arms[0]["arm"], "A");
    assert_eq!(
        arms[0]["mean"], 1.0,
        "every click with its list's id: {}",
        r.body
    );
    assert_eq!(arms[1]["arm"], "B");
    assert_eq!(
        arms[1]["mean"], 0.0,
        "no click without the list's id, or with another's: {}",
        r.body
    );
}

#[tokio::test]
async fn later_reports_never_leave_an_earlier_running_bound() {
    let mut app = shop().await;
    assert_eq!(
        create(&app, definition("looks")).await.status,
        StatusCode::CREATED
    );
    let mut last: Option<(f64, f64, f64)> = None;
    let mut n = 0;
    for look in 0..4i64 {
        // A wave of 60 people each day; B converts more often.
        let day = NOW + look * DAY_MS;
        app = later(app, look * DAY_MS);
        let mut orders = Vec::new();
        for _ in 0..60 {
            let user = format!("looker-{n}");
            n += 1;
            grant(&app, &user).await;
            let list = home(&app, &user).await;
            let converts = match list["experiment"]["arm"].as_str().unwrap() {
                "A" => n % 4 == 0,
                _ => n % 2 == 0,
            };
            if converts {
                orders.push(
                    json!({"type": "track", "event": "Order Completed", "userId": user,
                    "messageId": format!("order-{user}"), "timestamp": rfc3339(day + HOUR_MS),
                    "properties": {"order_id": format!("o-{user}")}}),
                );
            }
        }
        app = later(app, look * DAY_MS + 2 * HOUR_MS);
        post(&app, orders).await;
        app = later(app, look * DAY_MS + DAY_MS + 2 * HOUR_MS);
        let r = app
            .call(
                "GET",
                "/v1/experiments/looks/report",
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let orders = estimated(&r.body, "orders");
        assert_eq!(orders["n_looks"], look + 1, "{orders}");
        let now = (
            orders["always_valid_p"].as_f64().unwrap(),
            orders["always_valid_low"].as_f64().unwrap(),
            orders["always_valid_high"].as_f64().unwrap(),
        );
        assert!(now.1 <= now.2, "{orders}");
        if let Some(before) = last {
            assert!(now.0 <= before.0, "p never rises: {before:?} then {now:?}");
            assert!(
                now.1 >= before.1 && now.2 <= before.2,
                "the interval never leaves the earlier one: {before:?} then {now:?}"
            );
        }
        last = Some(now);
    }
    // The state is kept per experiment, metric and arm, in the store.
    let states = off_runtime(|| app.state.store.sequential_states("looks").unwrap());
    let orders = states.iter().find(|s| s.metric == "orders").unwrap();
    assert_eq!((orders.arm.as_str(), orders.n_looks), ("B", 4));
}

#[tokio::test]
async fn a_grant_given_again_re_enrolls_for_what_follows_and_nothing_in_between_counts() {
    let mut app = shop_in(TestApp::with_policy(crate::campaigns::k1())).await;
    let mut d = definition("again");
    d["primary"] = json!({"name": "revenue", "kind": "revenue",
                          "event_type": "Order Completed", "window_ms": DAY_MS});
    d["guardrails"] = json!([]);
    assert_eq!(create(&app, d).await.status, StatusCode::CREATED);
    grant(&app, "wanda").await;
    let arm = home(&app, "wanda").await["experiment"]["arm"].clone();
    let order = |id: &str, ms: i64, revenue: f64| {
        json!({"type": "track", "event": "Order Completed", "userId": "wanda",
               "messageId": id, "timestamp": rfc3339(NOW + ms),
               "properties": {"order_id": id, "revenue": revenue}})
    };
    // Withdrawn for two hours: not in the test meanwhile, and the order placed then (kept
    // for fulfilment) does not count.
    app = later(app, HOUR_MS);
    consent(&app, "wanda", "withdrawn").await;
    assert!(home(&app, "wanda").await.get("experiment").is_none());
    app = later(app, 2 * HOUR_MS);
    post(&app, vec![order("o-1", 2 * HOUR_MS, 40.0)]).await;
    // Granted again: back in the test, in the same arm, and what follows counts.
    app = later(app, 3 * HOUR_MS);
    grant(&app, "wanda").await;
    assert_eq!(home(&app, "wanda").await["experiment"]["arm"], arm);
    app = later(app, 4 * HOUR_MS);
    post(&app, vec![order("o-2", 4 * HOUR_MS, 7.0)]).await;

    app = later(app, 2 * DAY_MS);
    let r = app
        .call(
            "GET",
            "/v1/experiments/again/report",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let arms = r.body["metrics"][0]["arms"].as_array().unwrap();
    let mine = arms.iter().find(|a| a["arm"] == arm).unwrap();
    assert_eq!(mine["n"], 1, "{}", r.body);
    assert_eq!(
        mine["mean"], 7.0,
        "only the order after the grant: {}",
        r.body
    );
    let exposures = off_runtime(|| app.state.store.experiment_exposures("again").unwrap());
    assert_eq!(
        exposures.len(),
        2,
        "exposed before and after, not while withdrawn"
    );
}

/// A web campaign `banner` for people with two or more views, sent for targeted advertising.
async fn banner(app: &TestApp) {
    let r = app
        .call(
            "POST",
            "/v1/segments",
            Some(&app.admin),
            Some(
                json!({"id": "active", "name": "active", "purpose": "targeted_advertising",
                        "rule": "views(30d) >= 2"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(
            "POST",
            "/v1/campaigns",
            Some(&app.admin),
            Some(
                json!({"id": "banner", "segment": "active", "channel": "web",
                        "purpose": "targeted_advertising", "template": "<p>Hello</p>"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// A test of the banner's message: A keeps the campaign's, B says something else.
fn banner_test() -> Value {
    json!({
        "id": "banner-copy",
        "name": "Banner copy",
        "purpose": "targeted_advertising",
        "target": {"kind": "campaign", "id": "banner"},
        "variants": [
            {"name": "A", "allocation_bp": 5000},
            {"name": "B", "allocation_bp": 5000,
             "settings": {"campaign_message": "<p>New in for you</p>"}}
        ],
        "start_ms": NOW - HOUR_MS,
        "primary": {"name": "orders", "kind": "conversion", "event_type": "Order Completed",
                    "window_ms": DAY_MS}
    })
}

#[tokio::test]
async fn a_campaign_test_applies_its_arms_message_and_exposes_only_what_is_shown() {
    let app = TestApp::with_policy(crate::campaigns::k1());
    banner(&app).await;
    // Refused: another purpose than the campaign's, a message the channel does not accept,
    // a recommendation parameter on a campaign.
    let mut wrong_purpose = banner_test();
    wrong_purpose["purpose"] = json!("personalization");
    assert_eq!(
        create(&app, wrong_purpose).await.code(),
        "experiment_purpose_mismatch"
    );
    let mut bad_message = banner_test();
    bad_message["variants"][1]["settings"]["campaign_message"] = json!("Hi {{nickname}}");
    assert_eq!(
        create(&app, bad_message).await.code(),
        "experiment_campaign_message"
    );
    let mut slot_setting = banner_test();
    slot_setting["variants"][1]["settings"]["n_items"] = json!(3);
    assert_eq!(
        create(&app, slot_setting).await.code(),
        "experiment_parameter_for_target"
    );
    let r = create(&app, banner_test()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let exposures = || off_runtime(|| app.state.store.experiment_exposures("banner-copy").unwrap());
    let decide = |subject: &str, dry_run: bool| json!({"subject": subject, "channel": "web", "campaigns": ["banner"], "dry_run": dry_run});
    let mut arms = BTreeSet::new();
    for i in 0..16 {
        let user = format!("viewer-{i}");
        crate::campaigns::grant(&app, &user, &["personalization", "targeted_advertising"]).await;
        crate::campaigns::views(&app, &user, 3).await;
        // A dry run shows nothing: no exposure.
        let r = app
            .call(
                "POST",
                "/v1/decide",
                Some(&app.decide),
                Some(decide(&user, true)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(exposures().len(), i, "a dry run exposes nobody");
        let r = app
            .call(
                "POST",
                "/v1/decide",
                Some(&app.decide),
                Some(decide(&user, false)),
            )
            .await;
        assert_eq!(r.body["campaign"], "banner", "{}", r.body);
        let arm = r.body["experiment"]["arm"].as_str().unwrap().to_owned();
        assert_eq!(r.body["experiment"]["id"], "banner-copy");
        let expected = if arm == "B" {
            "<p>New in for you</p>"
        } else {
            "<p>Hello</p>"
        };
        assert_eq!(r.body["message"], expected, "{}", r.body);
        assert_eq!(exposures().len(), i + 1, "the message shown is exposed");
        assert_eq!(exposures()[i].arm, arm);
        arms.insert(arm);
    }
    assert_eq!(arms.len(), 2, "both arms served: {arms:?}");

    // Without consent to the campaign's purpose: not selected, not enrolled, not exposed.
    crate::campaigns::grant(&app, "no-ads", &["personalization"]).await;
    crate::campaigns::views(&app, "no-ads", 3).await;
    let r = app
        .call(
            "POST",
            "/v1/decide",
            Some(&app.decide),
            Some(decide("no-ads", false)),
        )
        .await;
    assert_eq!(r.body["campaign"], Value::Null, "{}", r.body);
    assert!(r.body.get("experiment").is_none());
    assert_eq!(exposures().len(), 16);
    let key = app.state.subject_key("no-ads").unwrap();
    assert!(off_runtime(|| app.state.store.assignment("banner-copy", &key).unwrap()).is_none());

    // The report counts the people shown a message, by arm.
    let r = app
        .call(
            "GET",
            "/v1/experiments/banner-copy/report",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_runs_messages_are_exposed_when_sent() {
    use crate::campaigns::{WEBHOOK_SECRET, k1, runner, webhook};
    let (url, seen) = webhook(0).await;
    let app = TestApp::with_config_text(
        k1(),
        &format!("[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n"),
    );
    crate::campaigns::segment(&app, "active", "views(30d) >= 2").await;
    crate::campaigns::campaign(&app, json!({"id": "mail", "segment": "active"})).await;
    let mut test = banner_test();
    test["id"] = json!("mail-copy");
    test["purpose"] = json!("email_marketing");
    test["target"]["id"] = json!("mail");
    // An email message must offer a way out.
    test["variants"][1]["settings"]["campaign_message"] = json!("Spring picks");
    assert_eq!(
        create(&app, test.clone()).await.code(),
        "experiment_campaign_message"
    );
    test["variants"][1]["settings"]["campaign_message"] =
        json!("Spring picks. Unsubscribe: {{unsubscribe_url}}");
    let r = create(&app, test).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for i in 0..12 {
        runner(&app, &format!("reader-{i}"), 3).await;
    }
    let r = crate::campaigns::run(&app, "mail", false).await;
    assert_eq!(r.body["selected"], 12, "{}", r.body);
    let exposures = || off_runtime(|| app.state.store.experiment_exposures("mail-copy").unwrap());
    assert!(
        exposures().is_empty(),
        "queued is not sent: nobody is exposed yet"
    );

    let settings = &app.state.config.campaigns;
    let client = candor_app::campaigns::outbox::client(settings).unwrap();
    let pass = candor_app::campaigns::outbox::run_once(
        std::sync::Arc::clone(&app.state.store),
        settings,
        &client,
        Timestamp::from_millis(NOW + 1_000),
    )
    .await
    .unwrap();
    assert_eq!(pass.delivered, 12);
    let sent = exposures();
    assert_eq!(sent.len(), 12, "every message sent is exposed once");
    // Each message posted is its arm's, and each arm is stored as the person's assignment.
    let posted: Vec<candor_app::campaigns::DeliveryPayload> = seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    for exposure in &sent {
        let payload = posted
            .iter()
            .find(|p| p.subject == exposure.subject.to_hex())
            .unwrap();
        let spring = payload.message.starts_with("Spring picks");
        assert_eq!(spring, exposure.arm == "B", "{}", payload.message);
        let stored = off_runtime(|| {
            app.state
                .store
                .assignment("mail-copy", &exposure.subject)
                .unwrap()
        });
        assert_eq!(stored.unwrap().arm, exposure.arm);
    }
    let arms: BTreeSet<&str> = sent.iter().map(|e| e.arm.as_str()).collect();
    assert_eq!(arms.len(), 2, "{arms:?}");
}
