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
use candor_store::prelude::*;
use candor_store::{EventBatch, InsertOutcome, NewEvent, StoreError};

const URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

/// The test database's URL, or `None` (after saying so) when none is configured. A configured
/// server that cannot be reached fails the test: CI must never pass by skipping.
fn database() -> Option<Database> {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("{URL_VAR} is unset; skipping the PostgreSQL tests (scripts/test.sh sets it)");
        return None;
    };
    if let Err(e) = candor_store::postgres::connect_client(&url) {
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
        candor_store::postgres::connect_client(&self.url).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let schemas = std::mem::take(&mut *self.schemas.lock().unwrap_or_else(|p| p.into_inner()));
        if schemas.is_empty() {
            return;
        }
        if let Ok(mut c) = candor_store::postgres::connect_client(&self.url) {
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
    // Versions are the primary key, so as many rows as the highest version means every
    // migration recorded exactly once, however many there are.
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
    assert!(n >= 3, "{n}");
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

#[test]
fn two_instances_appending_keep_one_linear_audit_chain() {
    use candor_accountability::audit::{
        Actor, AuditAction, AuditDetails, AuditDraft, TargetRef, verify,
    };
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let (one, two) = (db.store(&schema), db.store(&schema));
    std::thread::scope(|scope| {
        for (t, store) in [(0u32, &one), (1, &two), (2, &one), (3, &two)] {
            scope.spawn(move || {
                for i in 0..15u32 {
                    let draft = AuditDraft {
                        at_ms: i64::from(t * 100 + i),
                        actor: Actor::System,
                        action: AuditAction::PolicyChanged,
                        target: TargetRef::parse(&format!("policy:{t}-{i}")).unwrap(),
                        purpose: None,
                        details: AuditDetails::new(),
                    };
                    store.audit_append(draft).unwrap();
                }
            });
        }
    });
    let mut entries = Vec::new();
    let mut page = candor_store::PageRequest::first(25);
    loop {
        let got = two.audit_entries(page).unwrap();
        entries.extend(got.items);
        match got.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    assert_eq!(entries.len(), 60);
    assert!(verify(entries).is_intact());
}

fn root(secret: &[u8]) -> candor_store::KekRoot {
    candor_store::KekRoot::from_server_secret(secret)
}

const SECRET: &[u8] = b"the right server secret, 32 bytes";

/// A data key that looks like one: no byte pattern to find by chance.
fn random_looking(n: u32) -> [u8; 32] {
    candor_domain::ids::keyed_hash(b"test", "data key", &n.to_be_bytes())
}

#[test]
fn the_database_alone_unwraps_no_data_key() {
    use candor_domain::crypto::{self, DataKey};
    use candor_domain::ids::keyed_hash;
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let now = Timestamp::from_millis(1);
    let s = subject(1);
    let key = random_looking(1);
    {
        let store = db.store(&schema);
        store.unlock_data_keys(root(SECRET), now).unwrap();
        assert_eq!(store.data_key(&s, key, now).unwrap(), key);
    }
    let row = db
        .admin()
        .query_one(
            &format!(
                "SELECT s.data_key, k.salt FROM \"{schema}\".subject_keys s
                 JOIN \"{schema}\".keks k ON k.id = s.kek_id WHERE s.subject_key = $1"
            ),
            &[&s.as_bytes().as_slice()],
        )
        .unwrap();
    let (stored, salt): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
    assert!(!stored.windows(32).any(|w| w == key), "stored in the clear");
    // The documented derivation, by hand: only the right secret opens the stored bytes.
    let kek = |secret: &[u8]| {
        let root = keyed_hash(secret, "data-key-wrap", b"");
        DataKey::from_bytes(keyed_hash(&root, "kek", &salt))
    };
    let context = [b"candor data key\0".as_slice(), s.as_bytes().as_slice()].concat();
    assert_eq!(crypto::open(&kek(SECRET), &context, &stored).unwrap(), key);
    assert!(crypto::open(&kek(b"a wrong server secret, 32 bytes."), &context, &stored).is_err());
    // An instance started with another secret refuses it and unwraps nothing.
    let store = db.store(&schema);
    let err = store
        .unlock_data_keys(root(b"a wrong server secret, 32 bytes."), now)
        .unwrap_err();
    assert!(err.to_string().contains("does not unwrap"), "{err}");
    assert!(store.existing_data_key(&s).is_err());
}

#[test]
fn keys_stored_in_the_clear_are_wrapped_at_the_next_start() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let now = Timestamp::from_millis(1);
    let keys: Vec<(SubjectKey, [u8; 32])> =
        (0..3).map(|n| (subject(n), random_looking(n))).collect();
    {
        let store = db.store(&schema);
        store.unlock_data_keys(root(SECRET), now).unwrap();
        for (s, k) in &keys {
            store.data_key(s, *k, now).unwrap();
        }
    }
    // What the schema upgrade leaves of keys stored before wrapping: the key in the clear,
    // no KEK named, no KEK at all.
    let mut admin = db.admin();
    for (s, k) in &keys {
        admin
            .execute(
                &format!(
                    "UPDATE \"{schema}\".subject_keys SET data_key = $2, kek_id = NULL
                     WHERE subject_key = $1"
                ),
                &[&s.as_bytes().as_slice(), &k.as_slice()],
            )
            .unwrap();
    }
    admin
        .batch_execute(&format!("DELETE FROM \"{schema}\".keks"))
        .unwrap();
    let store = db.store(&schema);
    assert_eq!(store.kek_status().unwrap().n_unwrapped, 3);
    assert_eq!(store.unlock_data_keys(root(SECRET), now).unwrap(), 3);
    assert!(store.kek_status().unwrap().settled());
    for (s, k) in &keys {
        assert_eq!(store.existing_data_key(s).unwrap(), Some(*k));
        let stored: Vec<u8> = admin
            .query_one(
                &format!("SELECT data_key FROM \"{schema}\".subject_keys WHERE subject_key = $1"),
                &[&s.as_bytes().as_slice()],
            )
            .unwrap()
            .get(0);
        assert!(!stored.windows(32).any(|w| w == k.as_slice()));
    }
}

#[test]
fn keys_created_on_one_instance_while_another_rotates_all_end_under_the_newest_kek() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let now = Timestamp::from_millis(1);
    let (one, two) = (db.store(&schema), db.store(&schema));
    one.unlock_data_keys(root(SECRET), now).unwrap();
    two.unlock_data_keys(root(SECRET), now).unwrap();
    const N: u32 = 300;
    std::thread::scope(|scope| {
        for t in 0..2 {
            let one = &one;
            scope.spawn(move || {
                for n in (t..N).step_by(2) {
                    let k = random_looking(n);
                    assert_eq!(one.data_key(&subject(n), k, now).unwrap(), k);
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..3 {
                candor_store::wrap::rotate_kek(&two, now).unwrap();
            }
        });
    });
    let status = two.kek_status().unwrap();
    assert_eq!(status.keks.len(), 4);
    assert!(status.settled(), "{status:?}");
    for n in 0..N {
        assert_eq!(
            two.existing_data_key(&subject(n)).unwrap(),
            Some(random_looking(n))
        );
    }
}

/// Two instances charging one analytics budget at once: together they spend exactly what it
/// affords, never more, and a query released by one is answered by the other without a charge.
#[test]
fn instances_racing_on_one_analytics_budget_never_overspend() {
    use candor_analytics::{Delta, Epsilon, PrivacyCost, ReportFamily};
    use candor_store::analytics::{AnalyticsStore, BudgetCharge, ChargeOutcome, Release};
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let stores = [db.store(&schema), db.store(&schema)];
    let family = ReportFamily::parse("conversions").unwrap();
    let cost = |micros| PrivacyCost::new(Epsilon::from_micros(micros), Delta::default());
    let charge = BudgetCharge {
        family: family.clone(),
        first_day: 20_000,
        last_day: 20_006,
        cost: cost(250_000),
        limit: cost(1_000_000),
    };
    let charged = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for (s, store) in stores.iter().enumerate() {
            for t in 0..3 {
                let (charge, family, charged) = (&charge, &family, &charged);
                scope.spawn(move || {
                    for i in 0..3 {
                        let release = Release {
                            family: family.clone(),
                            query: format!("s{s}-t{t}-{i}"),
                            last_day: 20_006,
                            report: "{}".to_owned(),
                        };
                        let outcome = store
                            .charge_release(charge, &release, Timestamp::from_millis(1))
                            .unwrap();
                        if outcome == ChargeOutcome::Charged {
                            charged.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        }
    });
    assert_eq!(
        charged.into_inner(),
        4,
        "four charges of 0.25 fit a budget of 1"
    );
    let spent = stores[1].budget_spent(&family, 20_000, 20_006).unwrap();
    assert_eq!(spent.len(), 7);
    assert!(spent.values().all(|s| *s == cost(1_000_000)), "{spent:?}");

    let release = Release {
        family: family.clone(),
        query: "s0-t0-0".to_owned(),
        last_day: 20_006,
        report: "other numbers".to_owned(),
    };
    let first = stores[0].released(&family, "s0-t0-0").unwrap();
    let again = stores[1]
        .charge_release(&charge, &release, Timestamp::from_millis(2))
        .unwrap();
    match (first, again) {
        (Some(stored), ChargeOutcome::AlreadyReleased(report)) => assert_eq!(report, stored),
        (None, ChargeOutcome::Exhausted { .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// The serving read never touches a person's events unless the caller's check, made on the
/// ledger that read returned, allows their history: with the events table locked by another
/// session, a read whose check says no returns at once, and one whose check says yes waits
/// for the lock and then returns the history.
#[test]
fn the_serving_read_reads_history_only_after_the_check() {
    use std::sync::mpsc;
    use std::time::Duration;
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let store = std::sync::Arc::new(db.store(&schema));
    let s = subject(3);
    store
        .insert_events(EventBatch {
            events: vec![NewEvent {
                item_id: Some("sku-1".to_owned()),
                ..viewed(s, 1)
            }],
            now: Some(Timestamp::from_millis(5_000)),
            half_life_days: 14.0,
            dedupe_window_ms: 1_000,
            ..EventBatch::default()
        })
        .unwrap();
    let mut admin = db.admin();
    let mut lock = admin.transaction().unwrap();
    lock.batch_execute(&format!(
        "LOCK TABLE \"{schema}\".events IN ACCESS EXCLUSIVE MODE"
    ))
    .unwrap();
    let read = |allow: bool| {
        let (tx, rx) = mpsc::channel();
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            let _ = tx.send(store.serving_inputs(&s, &|_, _| allow).unwrap());
        });
        rx
    };
    let denied = read(false).recv_timeout(Duration::from_secs(10));
    let allowed = read(true);
    let waiting = allowed.recv_timeout(Duration::from_millis(300)).is_err();
    lock.commit().unwrap();
    assert!(
        denied
            .expect("a read without history never waits on events")
            .history
            .is_empty()
    );
    assert!(waiting, "a read with history reads the events table");
    let allowed = allowed.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(allowed.history.len(), 1);
}

/// Batches whose consents name the same people in opposite orders, from two instances at
/// once, all commit: subject rows are taken in one order, so they wait for each other rather
/// than deadlock.
#[test]
fn instances_committing_consents_in_opposite_orders_all_commit() {
    use candor_domain::consent::{ConsentRecord, Decision, Source, SubjectFacts};
    use candor_domain::policy::{PolicyVersion, PurposeVersion};
    use candor_store::IngestCommit;
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let stores = [db.store(&schema), db.store(&schema)];
    const SUBJECTS: u32 = 20;
    const COMMITS: usize = 8;
    let record = |at: i64| ConsentRecord {
        purpose: PurposeId::parse("analytics").unwrap(),
        decision: Decision::Granted,
        purpose_version: PurposeVersion::from_stored("1".to_owned()),
        policy_version: PolicyVersion::from_stored("1".to_owned()),
        source: Source::Api,
        bulk: false,
        evidence: String::new(),
        at: Timestamp::from_millis(at),
    };
    std::thread::scope(|scope| {
        for (t, store) in [&stores[0], &stores[1], &stores[0], &stores[1]]
            .into_iter()
            .enumerate()
        {
            scope.spawn(move || {
                let mut order: Vec<u32> = (0..SUBJECTS).collect();
                if t % 2 == 1 {
                    order.reverse();
                }
                for i in 0..COMMITS {
                    let at = 1_000 + i as i64;
                    store
                        .commit_ingest(IngestCommit {
                            subjects: order
                                .iter()
                                .map(|n| (subject(100 + n), SubjectFacts::default()))
                                .collect(),
                            consents: order
                                .iter()
                                .map(|n| (subject(100 + n), vec![record(at)]))
                                .collect(),
                            audit: Vec::new(),
                            batch: EventBatch {
                                now: Some(Timestamp::from_millis(at)),
                                ..EventBatch::default()
                            },
                        })
                        .unwrap();
                }
            });
        }
    });
    for n in 0..SUBJECTS {
        let records = stores[0].consent_records(&subject(100 + n)).unwrap();
        assert_eq!(records.len(), 4 * COMMITS, "every commit's record kept");
    }
}
