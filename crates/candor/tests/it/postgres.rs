//! Several `candor serve` processes over one PostgreSQL database behave as one, and a database
//! that goes away gives 503s with a retry hint, then service again without a restart.
//!
//! The server comes from `CANDOR_TEST_POSTGRES_URL` (`scripts/test.sh` always sets it); each
//! test gets a schema of its own, dropped at the end.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, candor};

const URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

/// A schema of its own on the test server; dropped with the value.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    /// `None` when no test server is configured; a configured server that cannot be reached
    /// fails the test (CI must never pass by skipping).
    fn fresh(tag: &str) -> Option<Schema> {
        let Ok(url) = std::env::var(URL_VAR) else {
            println!("{URL_VAR} is unset; skipping (scripts/test.sh sets it)");
            return None;
        };
        let name = format!("candor_e2e_{tag}_{}", std::process::id());
        sql(
            &url,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        )
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but unusable: {e}"));
        Some(Schema { url, name })
    }

    /// The storage URL for `candor`: the test server with this schema first on the search path.
    fn storage_url(&self, via: Option<u16>) -> String {
        let mut url = self.url.clone();
        if let Some(port) = via {
            // Through the relay, whether or not the URL names PostgreSQL's port.
            let mut parsed = reqwest::Url::parse(&url).expect("the test URL parses");
            parsed
                .set_port(Some(port))
                .expect("the test URL has a host");
            url = parsed.to_string();
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{}", self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = sql(
            &self.url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

/// Runs SQL on a thread of its own: the synchronous driver may not block a thread that drives
/// async tasks, as a test's body does.
fn sql(url: &str, sql: &str) -> Result<(), String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            candor_store::postgres::connect_client(url)
                .map_err(|e| e.to_string())?
                .batch_execute(sql)
                .map_err(|e| e.to_string())
        })
        .join()
        .unwrap()
    })
}

fn key(dir: &Path, storage: &str, scope: &str) -> String {
    let out = candor()
        .env("CANDOR_STORAGE_URL", storage)
        .args(["keys", "create", "--scope", scope, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().last().unwrap().to_owned()
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = http.request(method, url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_behave_as_one() {
    let Some(schema) = Schema::fresh("two") else {
        return;
    };
    // Both instances share the server secret (in the data directory) and the database.
    let dir = tempfile::tempdir().unwrap();
    let storage = schema.storage_url(None);
    let admin = key(dir.path(), &storage, "admin");
    let ingest = key(dir.path(), &storage, "ingest");
    let decide = key(dir.path(), &storage, "decide");
    let env = [("CANDOR_STORAGE_URL", storage.as_str())];
    let a = Server::start(dir.path(), &env);
    let b = Server::start(dir.path(), &env);
    let http = reqwest::Client::new();
    use reqwest::Method;

    let items = json!({"items": [
        {"id": "shoe-1", "title": "Trail shoe", "categories": ["Running"]},
        {"id": "shoe-2", "title": "Road shoe", "categories": ["Running"]},
        {"id": "mat-1", "title": "Yoga mat", "categories": ["Yoga"]}]});
    let (s, body, _) = call(&http, Method::PUT, a.url("/v1/items"), &admin, Some(items)).await;
    assert_eq!(s, 200, "{body}");

    // A choice recorded through one instance is what the other answers with.
    let grant = json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]});
    for u in 0..6 {
        let url = a.url(&format!("/v1/subjects/runner-{u}/consents"));
        let (s, _, _) = call(&http, Method::PUT, url, &ingest, Some(grant.clone())).await;
        assert_eq!(s, 200);
    }
    let (_, state, _) = call(
        &http,
        Method::GET,
        b.url("/v1/subjects/runner-0/consents"),
        &decide,
        None,
    )
    .await;
    let personalization = state["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "personalization")
        .unwrap();
    assert_eq!(personalization["allowed"], true, "{state}");

    // Events through the other instance pass the gate on that consent.
    let events: Vec<Value> = (0..6)
        .flat_map(|u| {
            ["shoe-1", "shoe-2"].map(|p| {
                json!({"type": "track", "event": "Product Viewed", "userId": format!("runner-{u}"),
                       "messageId": format!("{u}-{p}"), "properties": {"product_id": p}})
            })
        })
        .collect();
    let (s, body, _) = call(
        &http,
        Method::POST,
        b.url("/v1/events"),
        &ingest,
        Some(json!({ "events": events })),
    )
    .await;
    assert_eq!((s, body["accepted"].as_u64()), (200, Some(12)), "{body}");

    // A withdrawal through B bumps the models' generation: A, which built its models before
    // any data existed, rebuilds on its own and then personalizes for the others.
    let withdraw = json!({"decisions": [{"purpose": "personalization", "decision": "withdrawn"}]});
    let url = b.url("/v1/subjects/runner-5/consents");
    let (s, _, _) = call(&http, Method::PUT, url, &ingest, Some(withdraw)).await;
    assert_eq!(s, 200);
    let recs = |server: &Server, user: &str| {
        server.url(&format!("/v1/subjects/{user}/recommendations?n=2"))
    };
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let (_, r, _) = call(&http, Method::GET, recs(&a, "runner-0"), &decide, None).await;
        if r["personalized"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "instance A never rebuilt: {r}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The withdrawn person gets a non-personalized answer from either instance at once.
    for server in [&a, &b] {
        let (_, r, _) = call(&http, Method::GET, recs(server, "runner-5"), &decide, None).await;
        assert_eq!(r["personalized"], false, "{r}");
        assert_eq!(r["basis"]["code"], "withdrawn", "{r}");
    }
}

/// A TCP relay in front of PostgreSQL that can be cut and restored, as a database failover or
/// a network partition would.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (target, up2, open2) = (target.to_owned(), Arc::clone(&up), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                drop(open);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay { port, up, open }
    }

    /// Every connection through the relay dies, and new ones are refused.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_database_gives_503_then_recovers_without_a_restart() {
    let Some(schema) = Schema::fresh("lost") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let direct = schema.storage_url(None);
    let ingest = key(dir.path(), &direct, "ingest");
    let decide = key(dir.path(), &direct, "decide");
    let target = reqwest::Url::parse(&schema.url).unwrap();
    let relay = Relay::start(&format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(5432)
    ));
    let via = schema.storage_url(Some(relay.port));
    let server = Server::start(dir.path(), &[("CANDOR_STORAGE_URL", via.as_str())]);
    let http = reqwest::Client::new();
    use reqwest::Method;
    let grant = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]});
    let put = |user: &str| server.url(&format!("/v1/subjects/{user}/consents"));
    let (s, _, _) = call(
        &http,
        Method::PUT,
        put("before"),
        &ingest,
        Some(grant.clone()),
    )
    .await;
    assert_eq!(s, 200, "acknowledged before the loss");

    relay.cut();
    for path in [put("during"), server.url("/v1/subjects/before/consents")] {
        let method = if path.ends_with("during/consents") {
            Method::PUT
        } else {
            Method::GET
        };
        let key = if method == Method::PUT {
            &ingest
        } else {
            &decide
        };
        let body = (method == Method::PUT).then(|| grant.clone());
        let (s, body, headers) = call(&http, method, path, key, body).await;
        assert_eq!(s, 503, "{body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(headers.contains_key("retry-after"), "{headers:?}");
    }
    let (s, _, _) = call(&http, Method::GET, server.url("/readyz"), &decide, None).await;
    assert_eq!(s, 503, "not ready while the database is away");

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, state, _) = call(
            &http,
            Method::GET,
            server.url("/v1/subjects/before/consents"),
            &decide,
            None,
        )
        .await;
        if s == 200 {
            // What was acknowledged before the loss is still there.
            assert!(state.to_string().contains("\"allowed\":true"), "{state}");
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {s} {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, _, _) = call(&http, Method::PUT, put("after"), &ingest, Some(grant)).await;
    assert_eq!(s, 200, "writes work again, same process");
}

/// Deliveries per subject in a schema, straight from the database.
fn deliveries_per_subject(schema: &Schema) -> Vec<i64> {
    let (url, name) = (schema.url.clone(), schema.name.clone());
    std::thread::spawn(move || {
        let mut c = candor_store::postgres::connect_client(&url).unwrap();
        c.query(
            &format!("SELECT count(*) FROM {name}.deliveries GROUP BY subject_key"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn frequency_caps_hold_across_instances_under_concurrent_runs() {
    let Some(schema) = Schema::fresh("caps") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = schema.storage_url(None);
    let admin = key(dir.path(), &storage, "admin");
    let ingest = key(dir.path(), &storage, "ingest");
    let env = [("CANDOR_STORAGE_URL", storage.as_str())];
    let a = Server::start(dir.path(), &env);
    let b = Server::start(dir.path(), &env);
    let http = reqwest::Client::new();
    use reqwest::Method;

    // On-site messages: no quiet hours, so the test does not depend on the time of day.
    let people = 12;
    let grant = json!({"decisions": [
        {"purpose": "personalization", "decision": "granted"},
        {"purpose": "targeted_advertising", "decision": "granted"}]});
    for p in 0..people {
        let url = a.url(&format!("/v1/subjects/fan-{p}/consents"));
        let (s, body, _) = call(&http, Method::PUT, url, &ingest, Some(grant.clone())).await;
        assert_eq!(s, 200, "{body}");
        let events: Vec<Value> = (0..3)
            .map(|i| {
                json!({"type": "track", "event": "Product Viewed", "userId": format!("fan-{p}"),
                            "messageId": format!("fan-{p}-{i}"),
                            "properties": {"product_id": "sku-1", "category": "Running"}})
            })
            .collect();
        let (s, body, _) = call(
            &http,
            Method::POST,
            b.url("/v1/events"),
            &ingest,
            Some(json!({ "events": events })),
        )
        .await;
        assert_eq!(s, 200, "{body}");
    }
    let segment = json!({"id": "fans", "name": "Fans", "purpose": "targeted_advertising", "rule": "views(30d) >= 2"});
    let (s, body, _) = call(
        &http,
        Method::POST,
        a.url("/v1/segments"),
        &admin,
        Some(segment),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let campaign = json!({"id": "once", "segment": "fans", "channel": "web", "purpose": "targeted_advertising",
                          "template": "New in Running", "cap": {"max": 1, "window_days": 7}});
    let (s, body, _) = call(
        &http,
        Method::POST,
        b.url("/v1/campaigns"),
        &admin,
        Some(campaign),
    )
    .await;
    assert_eq!(s, 201, "{body}");

    // Three runs on each instance at once, racing for the same people.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let url = if i % 2 == 0 {
                a.url("/v1/campaigns/once/run")
            } else {
                b.url("/v1/campaigns/once/run")
            };
            let (http, admin) = (http.clone(), admin.clone());
            tokio::spawn(async move {
                let r = http.post(url).bearer_auth(admin).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, 200, "{body}");
    }
    let per_subject = deliveries_per_subject(&schema);
    assert_eq!(per_subject.len(), people, "everyone got the message once");
    assert!(
        per_subject.iter().all(|&n| n == 1),
        "over-delivery: {per_subject:?}"
    );
}
