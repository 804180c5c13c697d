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

    /// A fresh schema, a store on it with the months from January 2031 on made (see
    /// [`in_2031`]), and an admin connection.
    fn partitioned_2031(&self) -> (String, PostgresStore, postgres::Client) {
        let schema = self.fresh_schema();
        let store = self.store(&schema);
        store.prepare_partitions(in_2031(1, 2)).unwrap();
        (schema, store, self.admin())
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

/// Every table that holds a subject's rows can be sharded by the subject: its primary key
/// leads with `subject_key` (the column a distributed SQL database shards by), and no unique
/// constraint leaves it out (Citus refuses one on a distributed table). Read off the catalog
/// of a freshly migrated schema, so a table added later without such a key fails here.
#[test]
fn per_subject_tables_are_keyed_by_the_subject_first() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    drop(db.store(&schema));
    let mut c = db.admin();
    // Partitions inherit their parent's keys; the parent is what is checked.
    let tables: Vec<String> = c
        .query(
            "SELECT c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'subject_key' AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             ORDER BY c.relname",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        tables.len() >= 18,
        "expected every per-subject table, found {tables:?}"
    );
    let mut wrong = Vec::new();
    for table in &tables {
        // Each unique index (the primary key among them) with its key columns in order.
        let indexes = c
            .query(
                "SELECT i.relname, x.indisprimary,
                        array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k (attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                              ORDER BY k.ord)
                 FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace
                 WHERE n.nspname = $1 AND t.relname = $2 AND x.indisunique",
                &[&schema, table],
            )
            .unwrap();
        let primary: Vec<Vec<String>> = indexes
            .iter()
            .filter(|r| r.get::<_, bool>(1))
            .map(|r| r.get(2))
            .collect();
        match primary.as_slice() {
            [cols] if cols.first().map(String::as_str) == Some("subject_key") => {}
            _ => wrong.push(format!("{table}: primary key {primary:?}")),
        }
        for r in &indexes {
            let cols: Vec<String> = r.get(2);
            if !cols.iter().any(|c| c == "subject_key") {
                wrong.push(format!(
                    "{table}: unique index {} on {cols:?}",
                    r.get::<_, String>(0)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "not keyed by the subject first: {wrong:#?}"
    );
    // The merge log is filed under the subject merged into, and findable by the other.
    let merges: Vec<String> = c
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'merges' ORDER BY indexname",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        merges.iter().any(|d| d.contains("(to_key, id)"))
            && merges.iter().any(|d| d.contains("(from_key)")),
        "{merges:?}"
    );
}
// Time partitions (migration 15). Times are fixed in 2031, after any real clock these tests
// run under, so the months the store creates at start never hold them: each test prepares
// the months it writes into, as the retention job does.

/// An instant in 2031: `month` 1-12, `day` 1-28, at noon UTC.
fn in_2031(month: u32, day: u32) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("2031-{month:02}-{day:02}T12:00:00Z")).unwrap()
}

/// An event of `subject` that happened on Jan 2, 2031 (category `category`), expiring at
/// `expires_at`.
fn expiring(subject: SubjectKey, msg: u16, category: &str, expires_at: Timestamp) -> NewEvent {
    NewEvent {
        properties: format!("{{\"category\":\"{category}\"}}"),
        occurred_at: in_2031(1, 2).plus_millis(i64::from(msg)),
        expires_at,
        ..viewed(subject, msg)
    }
}

fn insert_at(store: &PostgresStore, now: Timestamp, events: Vec<NewEvent>) {
    let out = store
        .insert_events(EventBatch {
            events,
            drops: vec![],
            now: Some(now),
            half_life_days: 30.0,
            dedupe_window_ms: 1,
        })
        .unwrap();
    assert!(
        out.iter()
            .all(|o| matches!(o, InsertOutcome::Stored { .. }))
    );
}

/// The partitions of `parent` in the test's schema, by name.
fn partitions(admin: &mut postgres::Client, schema: &str, parent: &str) -> Vec<String> {
    let mut names: Vec<String> = admin
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
             WHERE n.nspname = $1 AND p.relname = $2",
            &[&schema, &parent],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    names.sort();
    names
}

fn table_exists(admin: &mut postgres::Client, schema: &str, table: &str) -> bool {
    admin
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &table],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
}

/// Rows of `subject` in each partition of `events` holding any.
fn rows_by_partition(
    admin: &mut postgres::Client,
    schema: &str,
    subject: &SubjectKey,
) -> Vec<(String, i64)> {
    admin
        .query(
            &format!(
                "SELECT tableoid::regclass::text, count(*) FROM \"{schema}\".events
                 WHERE subject_key = $1 GROUP BY 1 ORDER BY 1"
            ),
            &[&subject.as_bytes().as_slice()],
        )
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0).rsplit('.').next().unwrap().to_owned(),
                r.get(1),
            )
        })
        .collect()
}

/// One retention pass as the job runs it: drop and delete, then the queued profiles.
fn retention(store: &PostgresStore, now: Timestamp) -> (u64, u64) {
    store.prepare_partitions(now).unwrap();
    let mut deleted = 0;
    loop {
        let n = store.delete_expired(now, 100, 30.0, 1).unwrap();
        deleted += n;
        if n < 100 {
            break;
        }
    }
    let mut rebuilt = 0;
    loop {
        let n = store.rebuild_queued_profiles(2, 30.0, now).unwrap();
        rebuilt += n;
        if n < 2 {
            break;
        }
    }
    (deleted, rebuilt)
}

#[test]
fn retention_drops_wholly_expired_partitions_and_rebuilds_their_profiles() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let start = in_2031(1, 2);
    let (a, b, c) = (subject(1), subject(2), subject(3));
    insert_at(
        &store,
        start,
        vec![
            // February: wholly expired by March 10.
            expiring(a, 1, "Hiking", in_2031(2, 10)),
            expiring(c, 2, "Hiking", in_2031(2, 20)),
            // March: one expired by March 10, one live.
            expiring(a, 3, "Running", in_2031(3, 5)),
            expiring(a, 4, "Running", in_2031(3, 20)),
            // B has what A keeps, at the same instant, and nothing else: A's profile must
            // end equal to B's.
            NewEvent {
                occurred_at: in_2031(1, 2).plus_millis(4),
                ..expiring(b, 5, "Running", in_2031(3, 20))
            },
        ],
    );
    assert_eq!(
        rows_by_partition(&mut admin, &schema, &a),
        [
            ("events_p203102".to_owned(), 1),
            ("events_p203103".to_owned(), 2)
        ]
    );
    assert_ne!(store.profile(&a).unwrap(), store.profile(&b).unwrap());
    assert!(store.profile(&c).unwrap().is_some());

    let now = in_2031(3, 10);
    let (deleted, rebuilt) = retention(&store, now);
    assert_eq!(
        deleted, 3,
        "two rows of February dropped, one of March deleted"
    );
    assert_eq!(rebuilt, 2, "A and C queued");
    assert!(!partitions(&mut admin, &schema, "events").contains(&"events_p203102".to_owned()));
    assert!(
        !table_exists(&mut admin, &schema, "events_p203102")
            && !table_exists(&mut admin, &schema, "events_x203102"),
        "dropped, not only detached"
    );
    assert!(partitions(&mut admin, &schema, "events").contains(&"events_p203103".to_owned()));
    assert_eq!(
        rows_by_partition(&mut admin, &schema, &a),
        [("events_p203103".to_owned(), 1)],
        "the live row of the partly expired month stays"
    );
    let kept: Vec<i64> = store
        .all_events(&a)
        .unwrap()
        .iter()
        .map(|e| e.expires_at.as_millis())
        .collect();
    assert_eq!(kept, [in_2031(3, 20).as_millis()]);
    assert_eq!(
        store.profile(&a).unwrap(),
        store.profile(&b).unwrap(),
        "A's profile holds nothing of its dropped and deleted events"
    );
    assert!(
        store
            .profile(&c)
            .unwrap()
            .is_none_or(|p| p == Default::default()),
        "C had only dropped events"
    );
    let queued: i64 = admin
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".profile_rebuilds"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(queued, 0);
    assert_eq!(
        retention(&store, now),
        (0, 0),
        "a second pass finds nothing"
    );
}

#[test]
fn a_detached_month_is_erased_with_its_person_and_dropped_by_the_next_pass() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let start = in_2031(1, 2);
    let (a, b) = (subject(1), subject(2));
    insert_at(
        &store,
        start,
        vec![
            expiring(a, 1, "Hiking", in_2031(2, 10)),
            expiring(a, 2, "Hiking", in_2031(2, 11)),
            expiring(b, 3, "Hiking", in_2031(2, 12)),
            expiring(b, 4, "Running", in_2031(3, 20)),
        ],
    );
    let now = in_2031(3, 10);
    // A pass cut off after its first step: February is out of `events` and in a table of
    // its own.
    // (The months made at start, before 2031 and empty, go with it.)
    assert!(store.detach_expired_event_months(now).unwrap() >= 1);
    assert!(!partitions(&mut admin, &schema, "events").contains(&"events_p203102".to_owned()));
    assert!(table_exists(&mut admin, &schema, "events_x203102"));
    assert!(store.all_events(&a).unwrap().is_empty(), "gone from reads");
    assert_eq!(store.all_events(&b).unwrap().len(), 1);
    let detached_rows = |admin: &mut postgres::Client, s: &SubjectKey| -> i64 {
        admin
            .query_one(
                &format!("SELECT count(*) FROM \"{schema}\".events_x203102 WHERE subject_key = $1"),
                &[&s.as_bytes().as_slice()],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(detached_rows(&mut admin, &a), 2);

    // Erasure leaves nothing of A behind, not even in the month awaiting its drop.
    store
        .erase_subject(&a, &candor_store::ErasurePlan { tombstone: None })
        .unwrap();
    assert_eq!(detached_rows(&mut admin, &a), 0);
    assert_eq!(
        detached_rows(&mut admin, &b),
        1,
        "B's row is not A's to erase"
    );

    // The next pass counts what the month held then, queues B and drops it.
    let (deleted, rebuilt) = retention(&store, now);
    assert_eq!(deleted, 1, "B's February row; A's went with the erasure");
    assert_eq!(rebuilt, 1, "B queued, A erased");
    assert!(!table_exists(&mut admin, &schema, "events_x203102"));
    assert_eq!(store.all_events(&b).unwrap().len(), 1);
    assert_eq!(
        retention(&store, now),
        (0, 0),
        "a second pass finds nothing"
    );
}

#[test]
fn an_erasure_waits_for_a_detached_month_being_dropped_and_completes() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let a = subject(1);
    insert_at(
        &store,
        in_2031(1, 2),
        vec![
            expiring(a, 1, "Hiking", in_2031(2, 10)),
            expiring(a, 2, "Hiking", in_2031(3, 20)),
        ],
    );
    assert!(store.detach_expired_event_months(in_2031(3, 10)).unwrap() >= 1);
    // Another instance's retention holds the detached month, as `retire` does, to note it.
    let mut retiring = admin.transaction().unwrap();
    retiring
        .batch_execute(&format!(
            "LOCK TABLE \"{schema}\".events_x203102 IN SHARE ROW EXCLUSIVE MODE"
        ))
        .unwrap();
    std::thread::scope(|scope| {
        let erasure =
            scope.spawn(|| store.erase_subject(&a, &candor_store::ErasurePlan { tombstone: None }));
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            !erasure.is_finished(),
            "the erasure waits for the month being noted"
        );
        retiring
            .batch_execute(&format!("DROP TABLE \"{schema}\".events_x203102"))
            .unwrap();
        retiring.commit().unwrap();
        let counts = erasure.join().unwrap().expect("the erasure completes");
        assert_eq!(
            counts["events"], 1,
            "the live row; February went with the drop"
        );
    });
    assert!(!table_exists(&mut admin, &schema, "events_x203102"));
    assert!(store.all_events(&a).unwrap().is_empty());
    assert!(store.subject_footprint(&a).unwrap().is_empty());
}

#[test]
fn instances_removing_the_same_month_at_once_count_it_once() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let other = db.store(&schema);
    let events: Vec<NewEvent> = (0..40u16)
        .map(|m| {
            expiring(
                subject(u32::from(m % 7)),
                m,
                "Hiking",
                in_2031(2, 1 + u32::from(m % 27)),
            )
        })
        .collect();
    insert_at(&store, in_2031(1, 2), events);
    let now = in_2031(3, 10);
    let (x, y) = std::thread::scope(|scope| {
        let x = scope.spawn(|| store.delete_expired(now, 100, 30.0, 1).unwrap());
        let y = scope.spawn(|| other.delete_expired(now, 100, 30.0, 1).unwrap());
        (x.join().unwrap(), y.join().unwrap())
    });
    assert_eq!(x + y, 40, "each of February's rows counted once: {x} + {y}");
    assert!(!table_exists(&mut admin, &schema, "events_p203102"));
    assert!(!table_exists(&mut admin, &schema, "events_x203102"));
}

#[test]
fn retention_drops_wholly_old_partitions_of_exposures() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let list = |day_month: (u32, u32), n: u32| -> Vec<candor_store::Exposure> {
        (1..=n)
            .map(|rank| candor_store::Exposure {
                subject: subject(1),
                slot: "home".into(),
                item_id: format!("i{rank}"),
                rank,
                at: in_2031(day_month.1, day_month.0),
                personalized: true,
                provider: "shop".into(),
            })
            .collect()
    };
    store.record_exposures(&list((5, 1), 3)).unwrap();
    store.record_exposures(&list((20, 1), 2)).unwrap();
    store.record_exposures(&list((5, 2), 4)).unwrap();
    store.record_exposures(&list((20, 2), 1)).unwrap();
    let deleted = store.delete_exposures_before(in_2031(2, 10), 100).unwrap();
    assert_eq!((deleted.lists, deleted.exposures), (3, 9));
    assert!(!table_exists(&mut admin, &schema, "exposure_lists_p203101"));
    assert!(!table_exists(&mut admin, &schema, "exposure_lists_x203101"));
    let left = store.exposures_for_subject(&subject(1)).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].at, in_2031(2, 20));
}

#[test]
fn erasure_and_export_reach_every_partition() {
    let Some(db) = database() else { return };
    let (schema, store, mut admin) = db.partitioned_2031();
    let start = in_2031(1, 2);
    let s = subject(7);
    let expiries = [in_2031(2, 1), in_2031(5, 1), in_2031(9, 1)];
    // One event far beyond the months created: the DEFAULT partition takes it.
    let far = Timestamp::parse_rfc3339("2040-01-01T00:00:00Z").unwrap();
    let mut events: Vec<NewEvent> = expiries
        .iter()
        .enumerate()
        .map(|(i, x)| expiring(s, i as u16, "Running", *x))
        .collect();
    events.push(expiring(s, 9, "Running", far));
    insert_at(&store, start, events);
    assert_eq!(
        rows_by_partition(&mut admin, &schema, &s),
        [
            ("events_default".to_owned(), 1),
            ("events_p203102".to_owned(), 1),
            ("events_p203105".to_owned(), 1),
            ("events_p203109".to_owned(), 1),
        ]
    );
    let exported = store.all_events(&s).unwrap();
    assert_eq!(exported.len(), 4, "export reads every partition");
    assert!(
        exported.windows(2).all(|w| w[0].id < w[1].id),
        "in id order"
    );
    assert_eq!(store.subject_footprint(&s).unwrap()["events"], 4);
    let page = store
        .events(
            &s,
            candor_store::PageRequest {
                after: None,
                limit: 2,
            },
        )
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].expires_at, far,
        "newest first across partitions"
    );

    let counts = store
        .erase_subject(&s, &candor_store::ErasurePlan { tombstone: None })
        .unwrap();
    assert_eq!(counts["events"], 4);
    assert!(rows_by_partition(&mut admin, &schema, &s).is_empty());
    assert!(store.subject_footprint(&s).unwrap().is_empty());
}

#[test]
fn a_month_created_later_takes_its_rows_from_the_default_partition() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let stores = [db.store(&schema), db.store(&schema)];
    let mut admin = db.admin();
    let start = in_2031(1, 2);
    stores[0].prepare_partitions(start).unwrap();
    let s = subject(8);
    // 2033-06 is beyond the 25 months ahead of January 2031.
    let late = Timestamp::parse_rfc3339("2033-06-15T00:00:00Z").unwrap();
    insert_at(&stores[0], start, vec![expiring(s, 1, "Running", late)]);
    assert_eq!(
        rows_by_partition(&mut admin, &schema, &s),
        [("events_default".to_owned(), 1)]
    );
    // Two instances prepare the months of a later start at once: each month is made once.
    let later = in_2031(12, 1);
    std::thread::scope(|scope| {
        for store in &stores {
            scope.spawn(move || store.prepare_partitions(later).unwrap());
        }
    });
    assert_eq!(
        rows_by_partition(&mut admin, &schema, &s),
        [("events_p203306".to_owned(), 1)]
    );
    let names = partitions(&mut admin, &schema, "events");
    assert!(names.contains(&"events_p203312".to_owned()), "{names:?}");
    assert!(names.contains(&"events_default".to_owned()));
    assert_eq!(stores[1].all_events(&s).unwrap()[0].expires_at, late);
}

#[test]
fn migrating_an_unpartitioned_database_keeps_its_rows() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    PostgresStore::migrate_only_to(&db.url, Some(&schema), 14).unwrap();
    let mut admin = db.admin();
    let s = subject(9);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Rows as version 14 stored them: long expired, live this year, far ahead.
    for (i, expires_at) in [
        1_000_i64,
        now_ms + 86_400_000,
        now_ms + 20 * 365 * 86_400_000,
    ]
    .into_iter()
    .enumerate()
    {
        admin
            .execute(
                &format!(
                    "INSERT INTO \"{schema}\".events (subject_key, event_type, item_id, properties,
                        purposes, occurred_at, received_at, expires_at, session_only, interaction)
                     VALUES ($1, 'Product Viewed', NULL, '{{}}', 'personalization', $2, $2, $3,
                        FALSE, 'view')"
                ),
                &[&s.as_bytes().as_slice(), &(i as i64), &expires_at],
            )
            .unwrap();
    }
    admin
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".exposure_lists (subject_key, slot, at, personalized, items, n_items)
                 VALUES ($1, 'home', $2, TRUE, '[[1,\"i1\",\"shop\"]]', 1)"
            ),
            &[&s.as_bytes().as_slice(), &now_ms],
        )
        .unwrap();
    let store = db.store(&schema);
    let events = store.all_events(&s).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events
            .iter()
            .map(|e| e.occurred_at.as_millis())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(store.exposures_for_subject(&s).unwrap().len(), 1);
    let by_partition = rows_by_partition(&mut admin, &schema, &s);
    // The long expired row and the one 20 years ahead are outside the months created; the
    // one of tomorrow is in its month.
    assert_eq!(by_partition.len(), 2, "{by_partition:?}");
    assert_eq!(by_partition[0], ("events_default".to_owned(), 2));
    assert!(by_partition[1].0.starts_with("events_p") && by_partition[1].1 == 1);
    // New ids follow the old ones.
    insert_at(
        &store,
        Timestamp::from_millis(now_ms),
        vec![NewEvent {
            expires_at: Timestamp::from_millis(now_ms + 86_400_000),
            ..viewed(s, 1)
        }],
    );
    let events = store.all_events(&s).unwrap();
    assert!(events[3].id > events[2].id);
    let pk: String = admin
        .query_one(
            &format!(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE conrelid = '\"{schema}\".events'::regclass AND contype = 'p'"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(pk, "PRIMARY KEY (subject_key, id, expires_at)");
}

/// A subject's profile made from nothing out of its stored events, as a rebuild makes it.
fn rebuilt(
    store: &PostgresStore,
    s: &SubjectKey,
    half_life_days: f64,
) -> candor_domain::profile::Profile {
    let events = store.all_events(s).unwrap();
    let categories: Vec<Option<String>> = events
        .iter()
        .map(|e| {
            let props: serde_json::Value = serde_json::from_str(&e.properties).unwrap();
            props["category"].as_str().map(str::to_owned)
        })
        .collect();
    candor_domain::profile::Profile::rebuild(
        events.iter().zip(&categories).filter_map(|(e, category)| {
            Some(candor_domain::profile::ProfileEvent {
                interaction: e.interaction?,
                catalog: &[],
                category: category.as_deref(),
                at: e.occurred_at,
            })
        }),
        half_life_days,
    )
}

#[test]
fn instances_racing_on_shared_subjects_in_opposite_orders_store_each_message_once() {
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let stores = [db.store(&schema), db.store(&schema)];
    const SUBJECTS: u32 = 12;
    const MESSAGES: u16 = 240;
    const BATCH_LEN: usize = 40;
    const HALF_LIFE_DAYS: f64 = 30.0;
    let subjects: Vec<SubjectKey> = (0..SUBJECTS).map(subject).collect();
    // Message `m` belongs to subject `m % SUBJECTS`, a third of them session-only, in one of
    // three categories; events hours apart so the decay is visible.
    let event = |m: u16| {
        let mut e = viewed(subjects[usize::from(m) % subjects.len()], m);
        e.properties = format!("{{\"category\":\"c{}\"}}", m % 3);
        e.occurred_at = Timestamp::from_millis(1_000 + i64::from(m) * 3_600_000);
        e.session_only = m.is_multiple_of(3);
        e
    };
    let n_stored = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for (t, store) in [
            (0, &stores[0]),
            (1, &stores[1]),
            (2, &stores[0]),
            (3, &stores[1]),
        ] {
            let n_stored = &n_stored;
            let event = &event;
            scope.spawn(move || {
                // Every thread sends every message; odd threads walk both the messages and
                // (so) the subjects backwards, and shuffle within a batch, so the orders in
                // which concurrent batches meet rows cross everywhere unless the store sorts.
                let mut ids: Vec<u16> = (0..MESSAGES).collect();
                if t % 2 == 1 {
                    ids.reverse();
                }
                for chunk in ids.chunks(BATCH_LEN) {
                    let mut chunk = chunk.to_vec();
                    chunk.rotate_left(t * 7 % BATCH_LEN);
                    let out = store
                        .insert_events(EventBatch {
                            events: chunk.iter().map(|m| event(*m)).collect(),
                            drops: vec![
                                ("Product Viewed".into(), format!("reason-{}", 3 - t)),
                                ("Product Viewed".into(), format!("reason-{t}")),
                            ],
                            now: Some(Timestamp::from_millis(5_000)),
                            half_life_days: HALF_LIFE_DAYS,
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
    });
    assert_eq!(
        n_stored.into_inner(),
        u32::from(MESSAGES),
        "one Stored per id"
    );
    let mut seen = std::collections::BTreeSet::new();
    for s in &subjects {
        for e in stores[0].all_events(s).unwrap() {
            assert!(seen.insert(e.occurred_at), "a message stored twice");
        }
        let held = stores[1].profile(s).unwrap().unwrap();
        let rebuilt = rebuilt(&stores[0], s, HALF_LIFE_DAYS);
        assert_eq!(held.n_views, rebuilt.n_views);
        assert_eq!(held.last_seen, rebuilt.last_seen);
        assert_eq!(
            held.affinities.keys().collect::<Vec<_>>(),
            rebuilt.affinities.keys().collect::<Vec<_>>()
        );
        for (category, a) in &held.affinities {
            let b = &rebuilt.affinities[category];
            // Folding in another order sums the same decayed terms in another order.
            assert!(
                (a.value - b.value).abs() < 1e-9 && a.as_of == b.as_of,
                "{category}: {a:?} held, {b:?} rebuilt"
            );
        }
    }
    assert_eq!(seen.len(), usize::from(MESSAGES), "every message stored");
    let batches = 4 * (usize::from(MESSAGES) / BATCH_LEN);
    let drops: u64 = stores[0].drop_counts(0).unwrap().iter().map(|d| d.n).sum();
    assert_eq!(
        drops,
        2 * batches as u64,
        "no drop counter increment is lost"
    );
}

#[test]
fn ingestion_batches_with_consents_and_audit_entries_keep_one_linear_chain() {
    use candor_accountability::audit::{
        Actor, AuditAction, AuditDetails, AuditDraft, TargetRef, verify,
    };
    use candor_domain::consent::{ConsentRecord, Decision, Source, SubjectFacts};
    use candor_domain::policy::{PolicyVersion, PurposeVersion};
    let Some(db) = database() else { return };
    let schema = db.fresh_schema();
    let (one, two) = (db.store(&schema), db.store(&schema));
    let draft = |t: u32, i: u32, j: u32| AuditDraft {
        at_ms: i64::from(t * 1_000 + i * 10 + j),
        actor: Actor::System,
        action: AuditAction::PolicyChanged,
        target: TargetRef::parse(&format!("policy:{t}-{i}-{j}")).unwrap(),
        purpose: None,
        details: AuditDetails::new(),
    };
    let record = |t: u32, i: u32, j: u32| ConsentRecord {
        purpose: PurposeId::parse("analytics").unwrap(),
        decision: if j.is_multiple_of(2) {
            Decision::Granted
        } else {
            Decision::Denied
        },
        purpose_version: PurposeVersion::from_stored("1".into()),
        policy_version: PolicyVersion::from_stored("1".into()),
        source: Source::Api,
        bulk: false,
        evidence: format!("{t}-{i}-{j}"),
        at: Timestamp::from_millis(i64::from(t * 1_000 + i * 10 + j)),
    };
    std::thread::scope(|scope| {
        for (t, store) in [(0u32, &one), (1, &two), (2, &one), (3, &two)] {
            scope.spawn(move || {
                for i in 0..8u32 {
                    if i % 3 == 2 {
                        store.audit_append(draft(t, i, 0)).unwrap();
                        continue;
                    }
                    // Two subjects per batch, one shared by every thread, named in either order.
                    let mut keys = [subject(100), subject(200 + t)];
                    if t % 2 == 1 {
                        keys.reverse();
                    }
                    store
                        .commit_ingest(candor_store::IngestCommit {
                            subjects: keys
                                .iter()
                                .map(|k| {
                                    let facts = SubjectFacts {
                                        country: Some(format!("C{t}")),
                                        ..SubjectFacts::default()
                                    };
                                    (*k, facts)
                                })
                                .collect(),
                            consents: keys
                                .iter()
                                .map(|k| (*k, (0..3).map(|j| record(t, i, j)).collect()))
                                .collect(),
                            audit: (0..3).map(|j| draft(t, i, j)).collect(),
                            batch: EventBatch {
                                now: Some(Timestamp::from_millis(5_000)),
                                ..EventBatch::default()
                            },
                        })
                        .unwrap();
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
    // Per thread: 2 single appends and 6 batches of 3 entries.
    assert_eq!(entries.len(), 4 * (2 + 6 * 3));
    assert!(verify(entries).is_intact());
    // Each batch's records keep their order in the ledger.
    for t in 0..4u32 {
        let ledger = one.consent_records(&subject(200 + t)).unwrap();
        let evidence: Vec<&str> = ledger.iter().map(|r| r.evidence.as_str()).collect();
        let expected: Vec<String> = [0u32, 1, 3, 4, 6, 7]
            .iter()
            .flat_map(|i| (0..3).map(move |j| format!("{t}-{i}-{j}")))
            .collect();
        assert_eq!(evidence, expected);
        let facts = one.subject(&subject(200 + t)).unwrap().unwrap().facts;
        assert_eq!(facts.country.as_deref(), Some(format!("C{t}").as_str()));
    }
    assert_eq!(one.consent_records(&subject(100)).unwrap().len(), 4 * 6 * 3);
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
