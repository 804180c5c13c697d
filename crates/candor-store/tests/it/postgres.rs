//! The contract suite against PostgreSQL, plus what only a shared database has: several
//! instances racing, and connections that die under the store.
//!
//! The server comes from `CANDOR_TEST_POSTGRES_URL` (`scripts/test.sh` always sets it). Every
//! store gets its own fresh schema, dropped when the test ends, so tests run in parallel on
//! one database without seeing each other.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use candor_domain::policy::Interaction;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, PurposeId, SubjectKey};
use candor_store::postgres::PostgresStore;
use candor_store::{EventBatch, InsertOutcome, NewEvent, Store, StoreError};

const URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

/// The test database's URL, or `None` (after saying so) when none is configured. A configured
/// server that cannot be reached fails the test: CI must never pass by skipping.
fn database() -> Option<Database> {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("{URL_VAR} is unset; skipping the PostgreSQL tests (scripts/test.sh sets it)");
        return None;
    };
    if let Err(e) = postgres::Client::connect(&url, postgres::NoTls) {
        panic!("{URL_VAR} is set but PostgreSQL cannot be reached there: {e:?}");
    }
    Some(Database {
        url,
        schemas: Mutex::new(Vec::new()),
    })
}

/// The test server and the schemas a test created on it, dropped when the test ends
/// (including when it fails).
struct Database {
    url: String,
    schemas: Mutex<Vec<String>>,
}

impl Database {
    /// A schema name no other test or run uses.
    fn fresh_schema(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "candor_test_{}_{nanos}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.schemas.lock().unwrap().push(name.clone());
        name
    }

    fn store(&self, schema: &str) -> PostgresStore {
        PostgresStore::connect(&self.url, Some(schema)).unwrap()
    }

    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let schemas = std::mem::take(&mut *self.schemas.lock().unwrap_or_else(|p| p.into_inner()));
        if schemas.is_empty() {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            for s in schemas {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"));
            }
        }
    }
}

#[test]
fn postgres_passes_the_contract() {
    let Some(db) = database() else { return };
    candor_store::contract::run_all(|| db.store(&db.fresh_schema()));
}

fn subject(n: u32) -> SubjectKey {
    SubjectKey::derive(b"pg", &ExternalId::parse(&format!("subject-{n}")).unwrap())
}

fn viewed(subject: SubjectKey, msg: u16) -> NewEvent {
    let mut hash = [0; 32];
    hash[..2].copy_from_slice(&msg.to_be_bytes());
    NewEvent {
        subject,
        message_hash: hash,
        event_type: "Product Viewed".to_owned(),
        item_id: None,
        properties: "{\"category\":\"Running\"}".to_owned(),
        purposes: vec![PurposeId::parse("personalization").unwrap()],
        occurred_at: Timestamp::from_millis(1_000 + i64::from(msg)),
        expires_at: Timestamp::from_millis(1_000_000_000),
        session_only: false,
        profile: Some(Interaction::View),
    }
}

#[test]
fn instances_racing_on_the_same_message_ids_store_each_once() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    // Two stores are two instances: separate pools, one database.
    let stores = [db.store(&schema), db.store(&schema)];
    let s = subject(1);
    const MESSAGES: u16 = 60;
    const THREADS_PER_STORE: usize = 3;
    let n_stored = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for store in &stores {
            for t in 0..THREADS_PER_STORE {
                let n_stored = &n_stored;
                scope.spawn(move || {
                    // Every thread sends every message, in batches of 10, half of them in
                    // reverse order, so lock orders would cross if the store did not sort.
                    let mut ids: Vec<u16> = (0..MESSAGES).collect();
                    if t % 2 == 1 {
                        ids.reverse();
                    }
                    for chunk in ids.chunks(10) {
                        let out = store
                            .insert_events(EventBatch {
                                events: chunk.iter().map(|m| viewed(s, *m)).collect(),
                                drops: vec![("Product Viewed".into(), "no_consent".into())],
                                now: Some(Timestamp::from_millis(5_000)),
                                half_life_days: 1e9,
                                dedupe_window_ms: 86_400_000,
                            })
                            .unwrap();
                        let stored = out
                            .iter()
                            .filter(|o| matches!(o, InsertOutcome::Stored { .. }))
                            .count();
                        n_stored.fetch_add(stored as u32, Ordering::Relaxed);
                    }
                });
            }
        }
    });
    assert_eq!(
        n_stored.into_inner(),
        u32::from(MESSAGES),
        "one Stored per id"
    );
    let events = stores[0].all_events(&s).unwrap();
    assert_eq!(events.len(), usize::from(MESSAGES), "each id stored once");
    let profile = stores[1].profile(&s).unwrap().unwrap();
    assert_eq!(
        profile.n_views,
        u64::from(MESSAGES),
        "no profile update is lost between instances"
    );
    let batches = 2 * THREADS_PER_STORE * usize::from(MESSAGES / 10);
    assert_eq!(
        stores[0].drop_counts(0).unwrap()[0].n,
        batches as u64,
        "no drop counter increment is lost"
    );
}

#[test]
fn instances_starting_at_once_migrate_once() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| db.store(&schema).ping()))
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
    // Counted against the highest version, so the check holds as migrations are appended.
    let row = db
        .admin()
        .query_one(
            &format!(
                "SELECT count(*), max(version)::bigint FROM \"{schema}\".candor_schema_migrations"
            ),
            &[],
        )
        .unwrap();
    let (n, max): (i64, i64) = (row.get(0), row.get(1));
    assert!(max >= 2);
    assert_eq!(n, max, "each migration recorded exactly once");
}

#[test]
fn a_newer_schema_is_refused() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    drop(db.store(&schema));
    db.admin()
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".candor_schema_migrations (version) VALUES (999)"
        ))
        .unwrap();
    let err = PostgresStore::connect(&db.url, Some(&schema))
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer than this Candor"), "{err}");
}

#[test]
fn terminated_connections_are_replaced_without_errors() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    // A name of its own, so terminating this store's connections spares parallel tests.
    let app = format!("{schema}_app");
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let store = PostgresStore::connect(
        &format!("{}{sep}application_name={app}", db.url),
        Some(&schema),
    )
    .unwrap();
    let mut admin = db.admin();
    let mut terminate = || {
        // Fill the pool with several idle connections first, so the store meets more than
        // one dead connection.
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| store.ping().unwrap());
            }
        });
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1) AS t",
                &[&app],
            )
            .unwrap()
            .get(0);
        assert!(n >= 1, "the store had connections to terminate");
    };
    terminate();
    assert_eq!(
        store.meta_put_if_absent("k", b"v").unwrap(),
        b"v",
        "a write"
    );
    terminate();
    assert_eq!(
        store.meta_get("k").unwrap().as_deref(),
        Some(&b"v"[..]),
        "a read"
    );
    terminate();
    store
        .insert_events(EventBatch {
            events: vec![viewed(subject(2), 1)],
            now: Some(Timestamp::from_millis(5_000)),
            half_life_days: 14.0,
            dedupe_window_ms: 1_000,
            ..EventBatch::default()
        })
        .unwrap();
}

#[test]
fn an_unreachable_server_is_unavailable() {
    // Needs no server: nothing listens on port 1.
    let err = PostgresStore::connect(
        "postgres://candor@127.0.0.1:1/candor?connect_timeout=2",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[test]
fn schema_names_are_checked() {
    let err = PostgresStore::connect("postgres://candor@127.0.0.1:1/candor", Some("x\"; DROP"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
}
