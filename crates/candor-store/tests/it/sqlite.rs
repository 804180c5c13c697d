use candor_store::Store;
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
