use candor_domain::SubjectKey;
use candor_domain::crypto::{self, DataKey};
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use candor_store::KekRoot;
use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;

#[test]
fn sqlite_passes_the_contract() {
    // Each check gets its own directory; the TempDirs live until the end of the test.
    let mut dirs = Vec::new();
    candor_store::contract::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        dirs.push(dir);
        store
    });
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        s.meta_put_if_absent("k", b"v").unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.meta_get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("candor.db")).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("newer than this Candor"), "{err}");
}

/// Holds one more reader connection inside a read, until none is free or `left` runs out;
/// returns how many were held when `reads_in_place` first said no.
fn hold_readers(store: &SqliteStore, held: usize, left: usize) -> Option<usize> {
    if !store.reads_in_place() {
        return Some(held);
    }
    if left == 0 {
        return None;
    }
    let key = candor_domain::SubjectKey::from_bytes([7; 32]);
    let found = std::cell::Cell::new(None);
    store
        .serving_inputs(&key, &|_, _| {
            found.set(hold_readers(store, held + 1, left - 1));
            false
        })
        .unwrap();
    found.get()
}

#[test]
fn reads_run_in_place_only_while_a_reader_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    assert!(store.reads_in_place(), "an idle store has free readers");
    let held = hold_readers(&store, 0, 16).expect("readers run out");
    assert!(held >= 2, "more than one reader: {held}");
    assert!(store.reads_in_place(), "readers are free again afterwards");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_new_data_directory_and_its_files_are_private() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let store = SqliteStore::open(&dir).unwrap();
    store.meta_put_if_absent("k", b"v").unwrap();
    assert_eq!(mode(&dir), 0o700);
    // While the store is open, SQLite's log and shared memory sit beside the database.
    for name in ["candor.db", "candor.db-wal", "candor.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}

#[cfg(unix)]
#[test]
fn loose_modes_left_from_before_are_tightened_at_open() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    // A database another connection holds open in WAL mode, readable by everyone, as an
    // older Candor left it, and a file of someone else's beside it.
    let db = dir.join("candor.db");
    let held = rusqlite::Connection::open(&db).unwrap();
    held.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let outside = parent.path().join("elsewhere.txt");
    std::fs::write(&outside, "x").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("link.txt")).unwrap();
    let files = ["candor.db", "candor.db-wal", "candor.db-shm", "notes.txt"];
    set_mode(&dir, 0o755);
    for name in files {
        set_mode(&dir.join(name), 0o644);
    }
    set_mode(&outside, 0o644);

    let store = SqliteStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    for name in files {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    assert_eq!(mode(&outside), 0o644, "a link's target is not Candor's");
    store.meta_put_if_absent("k", b"v").unwrap();
    drop(held);
}

/// A data key that looks like one: no byte pattern to find by chance.
fn random_looking(n: u8) -> [u8; 32] {
    keyed_hash(b"test", "data key", &[n])
}

#[test]
fn the_database_file_alone_unwraps_no_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let secret: &[u8] = b"the right server secret, 32 bytes";
    let now = Timestamp::from_millis(1);
    let s = SubjectKey::from_bytes([3; 32]);
    let key = random_looking(1);
    let sealed = crypto::seal(
        &DataKey::from_bytes(key),
        [1; 24],
        b"email",
        b"ada@example.com",
    );
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .unlock_data_keys(KekRoot::from_server_secret(secret), now)
            .unwrap();
        assert_eq!(store.data_key(&s, key, now).unwrap(), key);
        store.put_contact(&s, "email", &sealed).unwrap();
    }
    // Closed, so everything is in the one file (the log is checkpointed and removed).
    let file = std::fs::read(dir.path().join("candor.db")).unwrap();
    assert!(
        !file.windows(32).any(|w| w == key),
        "the data key is in the file"
    );

    let conn = rusqlite::Connection::open(dir.path().join("candor.db")).unwrap();
    let (stored, kek_id): (Vec<u8>, i64) = conn
        .query_row(
            "SELECT data_key, kek_id FROM subject_keys WHERE subject_key = ?1",
            [s.as_bytes().as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let salt: Vec<u8> = conn
        .query_row("SELECT salt FROM keks WHERE id = ?1", [kek_id], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    assert_ne!(stored.as_slice(), key.as_slice());
    // The documented derivation, by hand: the KEK comes from the server secret and the
    // stored salt, and the wrapped key opens only in its own subject's row.
    let kek = |secret: &[u8]| {
        let root = keyed_hash(secret, "data-key-wrap", b"");
        DataKey::from_bytes(keyed_hash(&root, "kek", &salt))
    };
    let context = [b"candor data key\0".as_slice(), s.as_bytes().as_slice()].concat();
    let unwrapped = crypto::open(&kek(secret), &context, &stored).unwrap();
    assert_eq!(unwrapped, key);
    assert_eq!(
        crypto::open(&DataKey::from_bytes(key), b"email", &sealed).unwrap(),
        b"ada@example.com"
    );
    assert!(crypto::open(&kek(b"a wrong server secret, 32 bytes."), &context, &stored).is_err());
    assert!(
        crypto::open(
            &DataKey::from_bytes(salt.clone().try_into().unwrap()),
            &context,
            &stored
        )
        .is_err()
    );

    // A store given another secret refuses it and unwraps nothing.
    let store = SqliteStore::open(dir.path()).unwrap();
    let err = store
        .unlock_data_keys(
            KekRoot::from_server_secret(b"a wrong server secret, 32 bytes."),
            now,
        )
        .unwrap_err();
    assert!(err.to_string().contains("does not unwrap"), "{err}");
    assert!(store.existing_data_key(&s).is_err());
    assert!(
        store
            .data_key(&SubjectKey::from_bytes([4; 32]), key, now)
            .is_err()
    );
}

#[test]
fn a_rotation_rewraps_every_stored_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = || KekRoot::from_server_secret(b"the right server secret, 32 bytes");
    let now = Timestamp::from_millis(1);
    let store = SqliteStore::open(dir.path()).unwrap();
    store.unlock_data_keys(root(), now).unwrap();
    let keys: Vec<(SubjectKey, [u8; 32])> = (0..1_100u32)
        .map(|n| {
            let k = keyed_hash(b"test", "subject", &n.to_be_bytes());
            (SubjectKey::from_bytes(k), random_looking((n % 251) as u8))
        })
        .collect();
    for (s, k) in &keys {
        store.data_key(s, *k, now).unwrap();
    }
    let raw = |store: &SqliteStore| -> Vec<(Vec<u8>, i64)> {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.prepare("SELECT data_key, kek_id FROM subject_keys ORDER BY subject_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let before = raw(&store);
    // More keys than one batch: the rotation commits several.
    let (kek, n) = candor_store::wrap::rotate_kek(&store, Timestamp::from_millis(2)).unwrap();
    assert_eq!((kek, n), (2, 1_100));
    let after = raw(&store);
    assert_eq!(after.len(), before.len());
    for ((old, old_kek), (new, new_kek)) in before.iter().zip(&after) {
        assert_eq!((*old_kek, *new_kek), (1, 2));
        assert_ne!(old, new);
    }
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 0);
    for (s, k) in &keys {
        assert_eq!(store.existing_data_key(s).unwrap(), Some(*k));
    }
}

/// An analytics budget spent before a restart stays spent after it.
#[test]
fn analytics_budgets_survive_reopening() {
    use candor_analytics::{Delta, Epsilon, PrivacyCost, ReportFamily};
    use candor_store::analytics::{AnalyticsStore, BudgetCharge, ChargeOutcome, Release};
    let dir = tempfile::tempdir().unwrap();
    let family = ReportFamily::parse("top-items").unwrap();
    let cost = |micros| PrivacyCost::new(Epsilon::from_micros(micros), Delta::default());
    let charge = BudgetCharge {
        family: family.clone(),
        first_day: 5,
        last_day: 5,
        cost: cost(600_000),
        limit: cost(1_000_000),
    };
    let release = |query: &str| Release {
        family: family.clone(),
        query: query.to_owned(),
        last_day: 5,
        report: query.to_owned(),
    };
    {
        let s = SqliteStore::open(dir.path()).unwrap();
        let outcome = s.charge_release(&charge, &release("a"), Timestamp::from_millis(1));
        assert_eq!(outcome.unwrap(), ChargeOutcome::Charged);
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        s.charge_release(&charge, &release("b"), Timestamp::from_millis(2))
            .unwrap(),
        ChargeOutcome::Exhausted {
            day: 5,
            remaining: cost(400_000)
        }
    );
    assert_eq!(s.released(&family, "a").unwrap().as_deref(), Some("a"));
}
