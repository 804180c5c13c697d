//! A test harness around the router: a fresh store, fixed clock and keys per test.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_server::auth::{NewKey, create_key};
use candor_server::config::{Config, Overrides};
use candor_server::{AppState, Clock, ServerSecret};
use candor_store::Scope;
use candor_store::sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// 2026-11-23T10:00:00Z.
pub const NOW: i64 = 1_795_435_200_000;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub admin: String,
    pub ingest: String,
    pub decide: String,
    _dir: tempfile::TempDir,
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Response {
    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_policy(Policy::default_policy())
    }

    pub fn with_policy(policy: Policy) -> TestApp {
        TestApp::with_config(policy, "")
    }

    /// A test app whose process settings come from `config_text` (TOML, as in candor.toml).
    pub fn with_config(policy: Policy, config_text: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let mut config = Config::resolve(config_text, Overrides::default()).unwrap();
        config.data_dir = dir.path().to_owned();
        let now = Timestamp::from_millis(NOW);
        let key = |scopes| {
            create_key(
                store.as_ref(),
                NewKey {
                    scopes,
                    allowed_origins: vec![],
                    label: String::new(),
                },
                now,
            )
            .unwrap()
            .1
        };
        let (admin, ingest, decide) = (
            key(vec![Scope::Admin]),
            key(vec![Scope::Ingest]),
            key(vec![Scope::Decide]),
        );
        let state = AppState::new(
            store,
            policy,
            ServerSecret::new(vec![7; 32]),
            config,
            Clock::Fixed(now),
        );
        TestApp {
            router: candor_server::router(state.clone()),
            state,
            admin,
            ingest,
            decide,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Response {
            status,
            body,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.call_with(method, path, key, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }
}

/// The status of one purpose in a consent state body.
pub fn purpose<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == id)
        .unwrap()
}
