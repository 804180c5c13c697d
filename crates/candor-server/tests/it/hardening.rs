//! Limits on every growth, erasure without residue, and the outbox's bounds: each promise of
//! the hardening work, tried.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use candor_app::campaigns::outbox;
use serde_json::json;

use crate::campaigns::{WEBHOOK_SECRET, campaign, k1, run, runner, segment, store};
use crate::support::{NOW, SHOP_ORIGIN, TestApp, off_runtime};

fn app_with_limits(limits: &str) -> TestApp {
    TestApp::with_config_text(
        candor_domain::policy::Policy::default_policy(),
        &format!("[limits]\n{limits}\n"),
    )
}

#[tokio::test]
async fn an_oversized_event_or_value_is_refused_and_the_rest_of_the_batch_kept() {
    let app = TestApp::new();
    let event = |id: &str, value: String| {
        json!({"type": "track", "event": "Product Viewed", "userId": "ann", "messageId": id,
               "properties": {"product_id": "sku-1", "note": value}})
    };
    let megabyte = "x".repeat(1_000_000);
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": [
                event("huge", megabyte),
                event("long", "y".repeat(5_000)),
                event("fine", "z".repeat(10)),
            ]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results[0]["reason"], "event_too_large", "{}", results[0]);
    assert_eq!(results[1]["reason"], "value_too_large", "{}", results[1]);
    assert_ne!(results[2]["status"], "invalid", "{}", results[2]);
    // Nothing of the refused events was stored.
    let bytes = app.stored_bytes();
    assert!(!bytes.windows(1_000).any(|w| w.iter().all(|b| *b == b'x')));
    assert!(!bytes.windows(5_000).any(|w| w.iter().all(|b| *b == b'y')));
}

#[tokio::test]
async fn one_person_cannot_grow_the_consent_ledger_without_bound() {
    let app = app_with_limits("consent_records_per_subject_per_day_max = 3");
    let put = |decision: &str| {
        json!({"decisions": [{"purpose": "analytics", "decision": decision}],
               "evidence": {"banner": "x".repeat(1_000)}})
    };
    for d in ["granted", "withdrawn", "granted"] {
        let r = app
            .call(
                "PUT",
                "/v1/subjects/ann/consents",
                Some(&app.ingest),
                Some(put(d)),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ann/consents",
            Some(&app.ingest),
            Some(put("withdrawn")),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "consent_quota_exceeded")
    );
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // NOW is noon UTC: twelve hours to the next day.
    assert_eq!(wait, 12 * 3_600);
    let history = app
        .call(
            "GET",
            "/v1/subjects/ann/consents/history",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(
        history.body["items"].as_array().unwrap().len(),
        3,
        "nothing was added"
    );
    // Signals count against the same quota; another person has their own.
    let r = app
        .call(
            "POST",
            "/v1/subjects/ann/consent-signals",
            Some(&app.ingest),
            Some(json!({"gpc": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = app
        .call(
            "PUT",
            "/v1/subjects/bob/consents",
            Some(&app.ingest),
            Some(put("granted")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The next day, ann may choose again.
    let app = app.at(candor_domain::time::Timestamp::from_millis(
        NOW + 14 * 3_600_000,
    ));
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ann/consents",
            Some(&app.ingest),
            Some(put("withdrawn")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn muted_categories_and_hidden_items_are_bounded() {
    let app = app_with_limits("muted_categories_max = 2\nhidden_items_max = 1");
    let r = app
        .call(
            "PUT",
            "/v1/items",
            Some(&app.admin),
            Some(
                json!({"items": [{"id": "a", "title": "A", "categories": ["c"]},
                                  {"id": "b", "title": "B", "categories": ["c"]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let feedback = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.call(
                "POST",
                "/v1/subjects/ann/feedback",
                Some(&app.ingest),
                Some(body),
            )
            .await
        }
    };
    for c in ["one", "two", "two"] {
        let r = feedback(json!({"action": "not_interested", "category": c})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = feedback(json!({"action": "not_interested", "category": "three"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "preferences_full")
    );
    // Undoing one frees a place.
    feedback(json!({"action": "interested_again", "category": "one"})).await;
    let r = feedback(json!({"action": "not_interested", "category": "three"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = feedback(json!({"action": "not_interested", "item": "a"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = feedback(json!({"action": "not_interested", "item": "b"})).await;
    assert_eq!(r.code(), "preferences_full");
}

#[tokio::test]
async fn keys_and_people_are_rate_limited_with_retry_after() {
    let app = app_with_limits(
        "key_requests_per_second = 1\nkey_requests_burst = 3\n\
         subject_requests_per_second = 1\nsubject_requests_burst = 2",
    );
    let path = "/v1/subjects/ann/consents";
    for _ in 0..3 {
        assert_eq!(
            app.call("GET", path, Some(&app.decide), None).await.status,
            StatusCode::OK
        );
    }
    let r = app.call("GET", path, Some(&app.decide), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert_eq!(r.headers["retry-after"], "1");
    // Another key has its own bucket.
    assert_eq!(
        app.call("GET", path, Some(&app.admin), None).await.status,
        StatusCode::OK
    );
    // A visitor's token is limited per person.
    let (visitor, token) = app.visitor().await;
    let own = format!("/v1/subjects/{visitor}/consents");
    for _ in 0..2 {
        let r = app
            .call_with("GET", &own, Some(&token), None, &[("origin", SHOP_ORIGIN)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app
        .call_with("GET", &own, Some(&token), None, &[("origin", SHOP_ORIGIN)])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_leaves_no_exposure_and_no_unsubscribe_row() {
    let app = TestApp::new();
    let r = app
        .call(
            "PUT",
            "/v1/items",
            Some(&app.admin),
            Some(
                json!({"items": [{"id": "sku-1", "title": "Shoe", "categories": ["running"]},
                                  {"id": "sku-2", "title": "Sock", "categories": ["running"]}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    crate::campaigns::grant(&app, "ann", &["personalization", "email_marketing"]).await;
    crate::campaigns::views(&app, "ann", 2).await;
    // Others who viewed both items, so ann's list has something in it.
    for who in ["bob", "cy", "di"] {
        crate::campaigns::grant(&app, who, &["personalization"]).await;
        for item in ["sku-1", "sku-2"] {
            let r = app
                .call(
                    "POST",
                    "/v1/track",
                    Some(&app.ingest),
                    Some(json!({"userId": who, "event": "Product Viewed",
                                "properties": {"product_id": item}})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }
    let ann = app.state.subject_key("ann").unwrap();
    let state = app.state.clone();
    off_runtime(move || candor_app::recommend::rebuild_once(&state).unwrap());
    // A list shown to ann sits in the exposure buffer, unwritten, when she is erased.
    let r = app
        .call(
            "GET",
            "/v1/subjects/ann/recommendations",
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        app.state
            .exposures
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.subject == ann),
        "the list was buffered: {}",
        r.body
    );
    let r = app
        .call("DELETE", "/v1/subjects/ann", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A request that began before the erasure buffers its list after it.
    candor_app::recommend::buffer_exposures(
        &app.state,
        vec![candor_store::Exposure {
            subject: ann,
            slot: "home".into(),
            item_id: "sku-1".into(),
            rank: 1,
            at: app.state.now(),
            personalized: true,
            provider: String::new(),
        }],
    );
    let state = app.state.clone();
    off_runtime(move || candor_app::recommend::flush_exposures(&state).unwrap());
    let state = app.state.clone();
    let footprint = off_runtime(move || state.store.subject_footprint(&ann).unwrap());
    assert!(footprint.values().all(|n| *n == 0), "{footprint:?}");

    // Her unsubscribe link, used after the erasure, answers but records nothing.
    let token = candor_segments::signing::unsubscribe_token(
        &candor_app::campaigns::unsubscribe_secret(app.state.secret.as_bytes()),
        &ann,
        candor_domain::policy::Channel::Email,
    );
    let r = app
        .call("POST", &format!("/v1/unsubscribe/{token}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let state = app.state.clone();
    let footprint = off_runtime(move || state.store.subject_footprint(&ann).unwrap());
    assert!(footprint.values().all(|n| *n == 0), "{footprint:?}");
    // The confirmation page forbids loading anything and being framed.
    let r = app
        .call("GET", &format!("/v1/unsubscribe/{token}"), None, None)
        .await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
}

/// A webhook that answers after `delay`, counting how many requests it holds at once.
async fn slow_webhook(delay: std::time::Duration) -> (String, Arc<Mutex<(usize, usize, usize)>>) {
    let seen = Arc::new(Mutex::new((0usize, 0usize, 0usize))); // (now, most, total)
    let state = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let state = Arc::clone(&state);
            async move {
                {
                    let mut s = state.lock().unwrap();
                    s.0 += 1;
                    s.1 = s.1.max(s.0);
                    s.2 += 1;
                }
                tokio::time::sleep(delay).await;
                state.lock().unwrap().0 -= 1;
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_posts_concurrently_within_its_bound() {
    let (url, seen) = slow_webhook(std::time::Duration::from_millis(200)).await;
    let app = TestApp::with_config_text(
        k1(),
        &format!("[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n"),
    );
    for i in 0..40 {
        runner(&app, &format!("p{i}"), 3).await;
    }
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    let r = run(&app, "c", false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pass = outbox::run_once(
        store(&app),
        &app.state.config.campaigns,
        &outbox::client(&app.state.config.campaigns).unwrap(),
        app.state.now(),
    )
    .await
    .unwrap();
    assert_eq!(pass.delivered, pass.claimed);
    assert!(pass.claimed > 20, "{pass:?}");
    let (_, most, total) = *seen.lock().unwrap();
    assert_eq!(total as u32, pass.claimed);
    assert!(most > 1, "posts ran one at a time");
    assert!(most <= outbox::OUTBOX_CONCURRENCY, "{most} at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_errors_never_keep_the_urls_credentials() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://hook-user:hunter2@{addr}/hook?token=sesame");
    let app = TestApp::with_config_text(
        k1(),
        &format!("[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n"),
    );
    runner(&app, "ann", 3).await;
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    let r = run(&app, "c", false).await;
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    let pass = outbox::run_once(
        store(&app),
        &app.state.config.campaigns,
        &outbox::client(&app.state.config.campaigns).unwrap(),
        app.state.now(),
    )
    .await
    .unwrap();
    assert_eq!(pass.failed, 1);
    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    let error = d.last_error.clone().unwrap();
    assert!(error.contains(&addr.to_string()), "{error}");
    for secret in ["hunter2", "hook-user", "sesame", "token="] {
        assert!(!error.contains(secret), "{error}");
    }
}
