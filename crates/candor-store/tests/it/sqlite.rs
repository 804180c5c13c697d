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
