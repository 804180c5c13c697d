//! Candor's web front end: the JS SDK, the privacy center, the operator console and the demo
//! shop, embedded in the binary.
//!
//! [`router`] serves the files under `assets/` from memory. Every page is plain HTML, CSS and
//! JavaScript that talks to the `/v1/` API exactly as a shop's own site would, so the front
//! end needs no server-side state and no access to the store.
//!
//! **Who holds what.** A page a visitor or customer loads never holds a server key (those
//! open every person's data). It holds at most:
//! - a publishable key (`cnd_pk_...`), bound to the shop's origins, which can only start a
//!   visitor session (`POST /v1/visitor-sessions`) and read the policy;
//! - the visitor token Candor issues for that browser (`cvt_...`), which reaches that one
//!   anonymous visitor's data;
//! - a subject token (`cst_...`) for the logged-in person, minted by the shop's backend with a
//!   server key, which reaches that one person's data (and the privacy center's actions).
//!
//! The SDK (`candor.js`) refuses server keys outright. The demo shop gets its publishable key
//! and the demo shopper's subject token from `/shop/config.js`; the privacy center opens only
//! from a personal link carrying a subject token. The operator console is for the operator,
//! not for visitors: served by Candor itself (same origin), it uses the admin key the operator
//! types in, kept in that tab only.
//!
//! **Architecture invariant:** nothing is fetched from another origin at run time — no CDN,
//! font or script — so a person's browser talks only to the Candor instance it came to, and
//! the pages' `Content-Security-Policy` says so.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};

/// What the front end needs from the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Credentials for the demo shop; `None` outside `candor demo`, and the shop then runs as
    /// an anonymous visitor and asks for a publishable key.
    pub demo: Option<DemoKeys>,
}

/// What `candor demo` creates for its shop. Only the publishable key and fresh subject tokens
/// reach a browser.
#[derive(Clone)]
pub struct DemoKeys {
    /// Publishable (`cnd_pk_...`), allowed for the demo's own origin: it can only start
    /// visitor sessions, so it is safe in the shop's page.
    pub publishable: String,
    /// Admin-scoped. Never served to a browser: the console asks the operator for it, so a
    /// visitor of the demo shop cannot become its operator.
    pub admin: String,
    /// Mints a fresh subject token for [`DEMO_SUBJECT_ID`], as a shop's backend does when a
    /// person logs in: the demo shop acts as that person with it, and its privacy-center link
    /// carries it. Called on each load of the shop's configuration, so the token never
    /// outlives its short lifetime. `None`: the shop runs as an anonymous visitor.
    pub shopper_token: Option<TokenMinter>,
}

/// Issues a subject token; supplied by whoever holds the server secret.
pub type TokenMinter = Arc<dyn Fn() -> String + Send + Sync>;

impl std::fmt::Debug for DemoKeys {
    // Keys are secrets; a debug print of the configuration must not leak them into logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoKeys(<redacted>)")
    }
}

/// The person the demo shop is logged in as, so its privacy-center link shows the same
/// consents. A login link `/shop/#subject=ID&token=cst_...` (a token minted by a backend, such
/// as the browser tests) logs the tab in as someone else; `/shop/#anonymous` shops as a
/// visitor.
pub const DEMO_SUBJECT_ID: &str = "demo-shopper";

/// One embedded file.
struct Asset {
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($file:literal, $ty:expr) => {
        Asset {
            content_type: $ty,
            body: include_bytes!(concat!("../assets/", $file)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The JS SDK, for the size test and for anyone embedding it elsewhere.
pub const SDK_JS: &str = include_str!("../assets/sdk/candor.js");

static SDK: Asset = Asset {
    content_type: JS,
    body: SDK_JS.as_bytes(),
};
static PAGE_CSS: Asset = asset!("page.css", CSS);
static COMMON_JS: Asset = asset!("common.js", JS);
static PRIVACY_HTML: Asset = asset!("privacy/index.html", HTML);
static PRIVACY_JS: Asset = asset!("privacy/app.js", JS);
static CONSOLE_HTML: Asset = asset!("console/index.html", HTML);
static CONSOLE_JS: Asset = asset!("console/app.js", JS);
static CONSOLE_CHARTS_JS: Asset = asset!("console/charts.js", JS);
static SHOP_HTML: Asset = asset!("shop/index.html", HTML);
static SHOP_JS: Asset = asset!("shop/app.js", JS);

/// Pages may load only their own files and talk only to their own origin; nothing may frame
/// them, so a "Delete my data" button cannot be clickjacked.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

fn respond(asset: &'static Asset) -> Response {
    let mut res = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // The files change only with the binary; revalidating keeps an upgraded
            // instance from serving a stale SDK against a newer API.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // The shop's and the privacy center's URLs may carry a token; it must not leak to
            // any page a link leads to.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        asset.body,
    )
        .into_response();
    if asset.content_type == HTML {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    } else {
        // Shops load the SDK from Candor's origin into their own pages.
        res.headers_mut().insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
    }
    res
}

fn serve<S: Clone + Send + Sync + 'static>(asset: &'static Asset) -> MethodRouter<S> {
    get(move || async move { respond(asset) })
}

/// `window.CandorDemo = {...}` for the demo shop: the publishable key and the demo shopper's
/// own subject token, nothing more — no server key ever.
fn demo_config_js(keys: &DemoKeys) -> String {
    let mut config = serde_json::json!({ "publishableKey": keys.publishable });
    if let Some(mint) = &keys.shopper_token {
        // Only the demo shopper's own token: it opens that one person's data.
        config["subject"] = serde_json::Value::from(DEMO_SUBJECT_ID);
        config["subjectToken"] = serde_json::Value::String(mint());
    }
    // JSON is valid JavaScript; serde_json escapes every string, so values cannot break out.
    format!("window.CandorDemo = {config};\n")
}

/// The front end's routes. Merge into the API router; this router has no fallback of its own,
/// so the API's 404 answers for everything else.
pub fn router<S: Clone + Send + Sync + 'static>(config: WebConfig) -> Router<S> {
    let mut router = Router::new()
        .route("/sdk/candor.js", serve(&SDK))
        .route(
            "/privacy",
            get(|| async { Redirect::permanent("/privacy/") }),
        )
        .route("/privacy/", serve(&PRIVACY_HTML))
        .route("/privacy/app.js", serve(&PRIVACY_JS))
        .route("/privacy/page.css", serve(&PAGE_CSS))
        .route("/privacy/common.js", serve(&COMMON_JS))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", serve(&CONSOLE_HTML))
        .route("/console/app.js", serve(&CONSOLE_JS))
        .route("/console/charts.js", serve(&CONSOLE_CHARTS_JS))
        .route("/console/page.css", serve(&PAGE_CSS))
        .route("/console/common.js", serve(&COMMON_JS))
        .route("/shop", get(|| async { Redirect::permanent("/shop/") }))
        .route("/shop/", serve(&SHOP_HTML))
        .route("/shop/app.js", serve(&SHOP_JS))
        .route("/shop/page.css", serve(&PAGE_CSS))
        .route("/shop/common.js", serve(&COMMON_JS));
    if let Some(keys) = &config.demo {
        let keys = keys.clone();
        router = router.route(
            "/shop/config.js",
            get(move || {
                let body = demo_config_js(&keys);
                async move {
                    (
                        StatusCode::OK,
                        [
                            (header::CONTENT_TYPE, JS),
                            (header::CACHE_CONTROL, "no-store"),
                            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                        ],
                        body,
                    )
                }
            }),
        );
    }
    router
}
