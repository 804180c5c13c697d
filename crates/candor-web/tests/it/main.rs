//! The front end's router: what it serves, with which headers, and the SDK's size budget.

use std::io::Write;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use candor_web::{DemoKeys, SDK_JS, WebConfig};
use tower::ServiceExt;

/// The SDK must stay small enough to load on every page view of a shop.
const SDK_GZIP_BYTES_MAX: usize = 15 * 1024;
/// Pages are small; a larger answer means something unexpected is being served.
const BODY_BYTES_MAX: usize = 1 << 20;

struct Got {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(router: &Router, path: &str) -> Got {
    let res = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), BODY_BYTES_MAX)
        .await
        .unwrap();
    Got {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

const PUBLISHABLE: &str = "cnd_pk_00000000000000aa_publishable";
const ADMIN: &str = "cnd_sk_00000000000000bb_admin";

fn demo_keys() -> DemoKeys {
    DemoKeys {
        publishable: PUBLISHABLE.into(),
        admin: ADMIN.into(),
        shopper_token: Some(std::sync::Arc::new(|| "cst_demo_token".to_owned())),
    }
}

#[test]
fn sdk_is_small_when_compressed() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(SDK_JS.as_bytes()).unwrap();
    let n = gz.finish().unwrap().len();
    assert!(
        n < SDK_GZIP_BYTES_MAX,
        "candor.js is {n} bytes gzipped; the budget is {SDK_GZIP_BYTES_MAX}"
    );
}

#[tokio::test]
async fn serves_every_page_and_its_files() {
    let router: Router = candor_web::router(WebConfig::default());
    let cases = [
        ("/sdk/candor.js", "text/javascript"),
        ("/privacy/", "text/html"),
        ("/privacy/app.js", "text/javascript"),
        ("/privacy/common.js", "text/javascript"),
        ("/privacy/page.css", "text/css"),
        ("/console/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/charts.js", "text/javascript"),
        ("/console/page.css", "text/css"),
        ("/shop/", "text/html"),
        ("/shop/app.js", "text/javascript"),
        ("/shop/page.css", "text/css"),
    ];
    for (path, ty) in cases {
        let got = get(&router, path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        let content_type = got.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with(ty), "{path}: {content_type}");
        assert_eq!(got.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(got.headers[header::REFERRER_POLICY], "no-referrer");
        if ty == "text/html" {
            let csp = got.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        }
    }
}

#[tokio::test]
async fn pages_without_a_slash_redirect_to_it() {
    let router: Router = candor_web::router(WebConfig::default());
    for page in ["/privacy", "/console", "/shop"] {
        let got = get(&router, page).await;
        assert!(got.status.is_redirection(), "{page}");
        assert_eq!(got.headers[header::LOCATION], format!("{page}/"));
    }
}

#[tokio::test]
async fn nothing_is_loaded_from_another_origin() {
    let router: Router = candor_web::router(WebConfig::default());
    for path in [
        "/sdk/candor.js",
        "/privacy/",
        "/privacy/app.js",
        "/privacy/common.js",
        "/privacy/page.css",
        "/console/",
        "/console/app.js",
        "/console/charts.js",
        "/shop/",
        "/shop/app.js",
    ] {
        let body = get(&router, path).await.body;
        for needle in [
            "src=\"http",
            "src=\"//",
            "href=\"http",
            "href=\"//",
            "url(http",
            "url(//",
            "@import",
            "fetch(\"http",
        ] {
            assert!(!body.contains(needle), "{path} contains {needle}");
        }
    }
}

#[tokio::test]
async fn demo_config_is_served_only_for_the_demo() {
    let plain: Router = candor_web::router(WebConfig::default());
    assert_eq!(
        get(&plain, "/shop/config.js").await.status,
        StatusCode::NOT_FOUND
    );

    let demo: Router = candor_web::router(WebConfig {
        demo: Some(demo_keys()),
    });
    let got = get(&demo, "/shop/config.js").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        got.body.starts_with("window.CandorDemo = {"),
        "{}",
        got.body
    );
    assert!(
        got.body
            .contains(&format!("\"publishableKey\":\"{PUBLISHABLE}\"")),
        "{}",
        got.body
    );
    assert!(
        got.body
            .contains(&format!("\"subject\":\"{}\"", candor_web::DEMO_SUBJECT_ID))
    );
    // The demo shopper's own token rides along: the shop is logged in as them.
    assert!(got.body.contains("\"subjectToken\":\"cst_demo_token\""));
    // No server key reaches a visitor's browser, under any name.
    assert!(!got.body.contains(ADMIN));
    assert!(!got.body.contains("cnd_sk_"), "{}", got.body);
    for name in ["ingest", "decide", "admin"] {
        assert!(
            !got.body.to_lowercase().contains(name),
            "{name} in {}",
            got.body
        );
    }
    // And nothing else: exactly these three fields.
    let json = got
        .body
        .trim_start_matches("window.CandorDemo = ")
        .trim_end()
        .trim_end_matches(';');
    let config: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut fields: Vec<_> = config.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["publishableKey", "subject", "subjectToken"]);
}

#[tokio::test]
async fn demo_config_without_a_minter_runs_the_shop_as_a_visitor() {
    let mut keys = demo_keys();
    keys.shopper_token = None;
    let demo: Router = candor_web::router(WebConfig { demo: Some(keys) });
    let got = get(&demo, "/shop/config.js").await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.contains(PUBLISHABLE), "{}", got.body);
    assert!(!got.body.contains("subjectToken"), "{}", got.body);
    assert!(!got.body.contains("cnd_sk_"), "{}", got.body);
}

#[tokio::test]
async fn demo_shopper_token_is_minted_on_every_load() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&n);
    let mut keys = demo_keys();
    keys.shopper_token = Some(Arc::new(move || {
        format!("cst_{}", counter.fetch_add(1, Ordering::SeqCst))
    }));
    let demo: Router = candor_web::router(WebConfig { demo: Some(keys) });
    let first = get(&demo, "/shop/config.js").await.body;
    let second = get(&demo, "/shop/config.js").await.body;
    assert!(first.contains("\"subjectToken\":\"cst_0\""), "{first}");
    assert!(second.contains("\"subjectToken\":\"cst_1\""), "{second}");
}

#[test]
fn demo_keys_do_not_print_their_secrets() {
    let shown = format!(
        "{:?}",
        WebConfig {
            demo: Some(demo_keys()),
        }
    );
    assert!(!shown.contains("cnd_"), "{shown}");
}

#[tokio::test]
async fn merges_with_a_router_that_has_a_fallback() {
    // The API router answers unknown paths itself; the front end must not bring a second
    // fallback, or merging would panic.
    let api: Router = Router::new()
        .route("/v1/x", axum::routing::get(|| async { "api" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "api 404") });
    let app = api.merge(candor_web::router(WebConfig::default()));
    assert_eq!(get(&app, "/shop/").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/v1/x").await.body, "api");
    assert_eq!(get(&app, "/nope").await.body, "api 404");
}
