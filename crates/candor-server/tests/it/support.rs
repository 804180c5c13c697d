//! A test harness around the router: a fresh store, fixed clock and keys per test.
//!
//! The store is SQLite in a temporary directory, or, with `CANDOR_TEST_BACKEND=postgres`, a
//! fresh schema on the PostgreSQL server at `CANDOR_TEST_POSTGRES_URL` (dropped when the test
//! ends): `scripts/test.sh` runs this whole suite on both, so every endpoint behaves alike.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use candor_app::api_key::{NewKey, create_key};
use candor_app::config::{Config, Overrides};
use candor_app::{Clock, ServerSecret};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_server::AppState;
use std::sync::atomic::{AtomicU32, Ordering};

use candor_store::postgres::PostgresStore;
use candor_store::sqlite::SqliteStore;
use candor_store::{Scope, Store};
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
    /// A server key with the `sessions` scope: what a shop's backend mints tokens with.
    pub sessions: String,
    /// A publishable key for [`SHOP_ORIGIN`].
    pub publishable: String,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

/// A PostgreSQL schema that lives as long as one test.
struct PgSchema {
    url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        off_runtime(|| {
            if let Ok(mut c) = candor_store::postgres::connect_client(&self.url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        });
    }
}

/// Runs blocking store work on a thread of its own: the PostgreSQL driver is synchronous and
/// may not block a thread that drives async tasks, as a test's body does.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

/// The origin the test shop's pages come from.
pub const SHOP_ORIGIN: &str = "https://shop.example";

struct Keys {
    admin: String,
    ingest: String,
    decide: String,
    sessions: String,
    publishable: String,
}

fn test_keys(store: &dyn Store) -> Keys {
    let now = Timestamp::from_millis(NOW);
    let key = |scopes, origins: &[&str]| {
        create_key(
            store,
            NewKey {
                scopes,
                allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
                label: String::new(),
                expires_at: None,
            },
            now,
        )
        .unwrap()
        .1
    };
    Keys {
        admin: key(vec![Scope::Admin], &[]),
        ingest: key(vec![Scope::Ingest], &[]),
        decide: key(vec![Scope::Decide], &[]),
        sessions: key(vec![Scope::Sessions], &[]),
        publishable: key(vec![Scope::Publishable], &[SHOP_ORIGIN]),
    }
}

/// The server secret of every test app.
pub const SECRET: [u8; 32] = [7; 32];

/// The store the suite runs on: SQLite by default, PostgreSQL when asked; its data keys
/// unlocked with [`SECRET`], as `candor serve` unlocks them with the server secret.
fn test_store(dir: &std::path::Path) -> (Arc<dyn Store>, Option<PgSchema>) {
    let (store, schema) = backend_store(dir);
    store
        .unlock_data_keys(
            candor_store::KekRoot::from_server_secret(&SECRET),
            Timestamp::from_millis(NOW),
        )
        .unwrap();
    (store, schema)
}

fn backend_store(dir: &std::path::Path) -> (Arc<dyn Store>, Option<PgSchema>) {
    match std::env::var("CANDOR_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let url = std::env::var("CANDOR_TEST_POSTGRES_URL")
                .expect("CANDOR_TEST_BACKEND=postgres needs CANDOR_TEST_POSTGRES_URL");
            static N: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "candor_http_{}_{nanos}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let schema = PgSchema { url, name };
            let store = PostgresStore::connect(&schema.url, Some(&schema.name))
                .unwrap_or_else(|e| panic!("PostgreSQL must be reachable for this run: {e}"));
            (Arc::new(store), Some(schema))
        }
        Ok("sqlite") | Err(_) => (Arc::new(SqliteStore::open(dir).unwrap()), None),
        Ok(other) => panic!("unknown CANDOR_TEST_BACKEND `{other}`; use sqlite or postgres"),
    }
}

/// The state of a test app: [`SECRET`] and a clock fixed at `now`.
fn app_state(store: Arc<dyn Store>, policy: Policy, config: Config, now: Timestamp) -> AppState {
    AppState::new(
        store,
        policy,
        ServerSecret::new(SECRET.to_vec()),
        config,
        Clock::Fixed(now),
    )
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
        TestApp::build(policy, "", |_| {})
    }

    /// The default policy with changed settings.
    pub fn with_config(change: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::build(Policy::default_policy(), "", change)
    }

    /// A test app whose process settings come from `config_text` (TOML, as in candor.toml).
    pub fn with_config_text(policy: Policy, config_text: &str) -> TestApp {
        TestApp::build(policy, config_text, |_| {})
    }

    fn build(policy: Policy, config_text: &str, change: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        // The PostgreSQL driver is synchronous and may not run on the test's async thread.
        let (store, schema, keys) = off_runtime(|| {
            let (store, schema) = test_store(dir.path());
            let keys = test_keys(store.as_ref());
            (store, schema, keys)
        });
        let mut config = Config::resolve(config_text, Overrides::default()).unwrap();
        config.data_dir = dir.path().to_owned();
        change(&mut config);
        let state = app_state(store, policy, config, Timestamp::from_millis(NOW));
        TestApp {
            router: candor_server::router(state.clone()),
            state,
            admin: keys.admin,
            ingest: keys.ingest,
            decide: keys.decide,
            sessions: keys.sessions,
            publishable: keys.publishable,
            _dir: dir,
            _schema: schema,
        }
    }

    /// The same store and keys with the clock at `now`, for what a later day sees.
    pub fn at(mut self, now: Timestamp) -> TestApp {
        let state = app_state(
            Arc::clone(&self.state.store),
            (*self.state.policy).clone(),
            self.state.config.clone(),
            now,
        );
        self.router = candor_server::router(state.clone());
        self.state = state;
        self
    }

    /// The same database through a new store, as a restarted or second instance sees it: on
    /// SQLite the data directory opened again (the old store closes when this replaces it),
    /// on PostgreSQL a new connection pool on the test's schema.
    pub fn restarted(mut self) -> TestApp {
        let data_dir = self.state.config.data_dir.clone();
        let schema = self
            ._schema
            .as_ref()
            .map(|s| (s.url.clone(), s.name.clone()));
        let (policy, config, now) = (
            (*self.state.policy).clone(),
            self.state.config.clone(),
            self.state.now(),
        );
        let store: Arc<dyn Store> = off_runtime(|| {
            let store: Arc<dyn Store> = match schema {
                Some((url, name)) => Arc::new(PostgresStore::connect(&url, Some(&name)).unwrap()),
                None => Arc::new(SqliteStore::open(&data_dir).unwrap()),
            };
            store
                .unlock_data_keys(
                    candor_store::KekRoot::from_server_secret(&SECRET),
                    Timestamp::from_millis(NOW),
                )
                .unwrap();
            store
        });
        let state = app_state(store, policy, config, now);
        self.router = candor_server::router(state.clone());
        self.state = state;
        self
    }

    /// Everything the store holds, as bytes to scan for what must not be there: on SQLite
    /// every file of the data directory (database, WAL, journals), on PostgreSQL every row of
    /// every table in the test's schema, as text.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match &self._schema {
            None => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(&self.state.config.data_dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() {
                        bytes.extend(std::fs::read(path).unwrap());
                    }
                }
                bytes
            }
            Some(_) => self.stored_rows().concat().into_bytes(),
        }
    }

    /// The SQLite database file (the SQLite backend only).
    fn sqlite_file(&self) -> std::path::PathBuf {
        self.state
            .config
            .data_dir
            .join(candor_store::sqlite::DATABASE_FILE)
    }

    /// Every row of every table, as text, sorted: what a request wrote, compared before and
    /// after (file bytes would also change with the log's checkpoints).
    pub fn stored_rows(&self) -> Vec<String> {
        let mut rows = match &self._schema {
            None => {
                let c = rusqlite::Connection::open(self.sqlite_file()).unwrap();
                let mut tables = c
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap();
                let tables: Vec<String> = tables
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let mut rows = Vec::new();
                for table in tables {
                    let mut q = c.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                    let n = q.column_count();
                    let mut r = q.query([]).unwrap();
                    while let Some(row) = r.next().unwrap() {
                        let values: Vec<rusqlite::types::Value> =
                            (0..n).map(|i| row.get(i).unwrap()).collect();
                        rows.push(format!("{table}: {values:?}"));
                    }
                }
                rows
            }
            Some(schema) => off_runtime(|| {
                let mut c = candor_store::postgres::connect_client(&schema.url).unwrap();
                let tables = c
                    .query(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                        &[&schema.name],
                    )
                    .unwrap();
                let mut rows = Vec::new();
                for t in tables {
                    let table: String = t.get(0);
                    let sql = format!("SELECT t::text FROM {}.{table} t", schema.name);
                    for row in c.query(&sql, &[]).unwrap() {
                        rows.push(format!("{table}: {}", row.get::<_, String>(0)));
                    }
                }
                rows
            }),
        };
        rows.sort();
        rows
    }

    /// Runs one SQL statement straight on the database, behind the store's back, as someone
    /// tampering with it would: on SQLite the data directory's file, on PostgreSQL the test's
    /// schema. Returns the number of rows changed.
    pub fn tamper(&self, sql: &str) -> u64 {
        match &self._schema {
            None => {
                let c = rusqlite::Connection::open(self.sqlite_file()).unwrap();
                c.execute(sql, []).unwrap() as u64
            }
            Some(schema) => off_runtime(|| {
                let mut c = candor_store::postgres::connect_client(&schema.url).unwrap();
                c.batch_execute(&format!("SET search_path TO {}", schema.name))
                    .unwrap();
                c.execute(sql, &[]).unwrap()
            }),
        }
    }

    /// A subject session token for `subject`, minted as a shop's backend would, with
    /// `scopes` (all when empty).
    pub async fn subject_token(&self, subject: &str, scopes: &[&str]) -> String {
        let mut body = serde_json::json!({ "subject": subject });
        if !scopes.is_empty() {
            body["scopes"] = serde_json::json!(scopes);
        }
        let r = self
            .call(
                "POST",
                "/v1/subject-tokens",
                Some(&self.sessions),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// A visitor session started from the shop's page: (anonymous id, visitor token).
    pub async fn visitor(&self) -> (String, String) {
        let r = self
            .call_with(
                "POST",
                "/v1/visitor-sessions",
                Some(&self.publishable),
                None,
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["anonymous_id"].as_str().unwrap().to_owned(),
            r.body["visitor_token"].as_str().unwrap().to_owned(),
        )
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
