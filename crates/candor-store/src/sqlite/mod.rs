//! The embedded SQLite backend: one database file in a data directory, WAL mode, full fsync
//! on commit, secure delete.

mod campaigns;
mod conn;
mod events;
mod files;
mod ledger;
mod migrations;

pub use files::create_data_dir;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use candor_domain::consent::{ConsentRecord, Decision, Source};
use candor_domain::ids::PurposeId;
use candor_domain::policy::{PolicyVersion, PurposeVersion};
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OpenFlags};

pub(crate) use crate::sql::consent::CONSENT_COLUMNS;
use crate::sql::{Conn, DbError, DbResult, SqlBackend};
use crate::{StoreError, StoreResult};
use conn::SqliteConn;

/// Reader connections kept open; WAL lets them read while the writer writes.
const READERS_LEN: usize = 4;
/// The memory map each reader asks for (SQLite lowers it to its own limit).
const READER_MMAP_BYTES: u64 = 1 << 40;
/// How long a connection waits for a lock before reporting the store unavailable.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "candor.db";

/// The SQLite store.
///
/// Concurrency: SQLite allows one writer at a time, so writes share one connection behind a
/// `std::sync::Mutex` (not a Tokio one: callers are blocking tasks and no `.await` happens
/// while it is held). Reads use a small set of separate connections so they never queue
/// behind a write.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    queue: events::CommitQueue,
    /// The root data keys are wrapped under, once given, and the KEKs derived from it.
    keyring: crate::wrap::Keyring,
    /// Declared last: dropped after the connections it works beside.
    _checkpointer: Checkpointer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::DiskFull
            | C::SystemIoFailure
            | C::CannotOpen => StoreError::Unavailable(e.to_string()),
            C::ConstraintViolation => StoreError::Conflict(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        },
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        _ => StoreError::Other(e.to_string()),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // WAL: readers do not block the writer. synchronous=FULL: a commit returns only after the
    // WAL is fsync'd, so an acknowledged write survives a crash or power loss.
    // secure_delete: deleted rows are overwritten with zeros, so erased data does not linger
    // in free pages of the file. cache_size: 32 MiB per connection (the default is 2 MiB), so
    // the random inserts into the message-id and subject indexes mostly hit cached pages
    // instead of re-reading them from the file.
    //
    // Checkpoints (copying the log back into the database file) run on a background thread
    // (`Checkpointer`), off the commit path; the writer checkpoints by itself only if the log
    // ever passes `WAL_AUTOCHECKPOINT_PAGES`, as a safety net. Between checkpoints, a page the
    // random index inserts touch again and again is copied back once, not once per commit.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32768;
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};
         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES};"
    ))
}

/// Largest page cache of the writer connection, in KiB (256 MiB).
const WRITER_CACHE_KIB: u32 = 262_144;
/// Pages in the write-ahead log past which the writer checkpoints inline (256 MiB of 4 KiB
/// pages): the background checkpointer normally keeps the log far below this.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 65_536;
/// Size the log file is cut back to after a checkpoint resets it.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// How often the background checkpointer runs.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Copies committed pages from the write-ahead log into the database file on its own thread
/// and connection (`PRAGMA wal_checkpoint(PASSIVE)`: never blocks the writer or readers),
/// until dropped.
struct Checkpointer {
    stop: std::sync::Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        let stop = std::sync::Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let (lock, wake) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    stopped = wake
                        .wait_timeout(stopped, CHECKPOINT_INTERVAL)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if *stopped {
                        return;
                    }
                    // A failed pass (the disk is full, say) is retried on the next tick; the
                    // log keeps every committed page until then, so nothing is lost.
                    if let Err(e) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
                    {
                        tracing::warn!(error = %e, "background checkpoint failed");
                    }
                }
            })
            .map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot start the checkpoint thread: {e}")),
                )
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    /// On Unix the directory ends up 0700 and every file in it 0600 (`files`). Data keys stay
    /// locked until [`KeyStore::unlock_data_keys`].
    pub fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        create_data_dir(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        // Before SQLite opens it, so the logs it creates beside it copy this mode.
        files::create_database_file(&path)
            .and_then(|()| files::restrict(data_dir))
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot restrict access to data directory {}: {e}",
                    data_dir.display()
                ))
            })?;
        let mut writer = Connection::open(&path).map_err(map_err)?;
        configure(&writer).map_err(map_err)?;
        migrate(&mut writer)?;
        // The writer may keep more pages than a reader: one transaction of a large audience
        // run touches a few hundred MiB of pages, and a cache smaller than that spills dirty
        // pages into the log mid-transaction and writes them again when they change once more.
        // An upper bound, not an allocation: a quiet writer keeps only the pages it used. The
        // writer maps the file like the readers, so pages it only reads are not copied.
        writer
            .execute_batch(&format!(
                "PRAGMA cache_size = -{WRITER_CACHE_KIB}; PRAGMA mmap_size = {READER_MMAP_BYTES};"
            ))
            .map_err(map_err)?;
        let readers = (0..READERS_LEN)
            .map(|_| {
                let c = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(map_err)?;
                c.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
                    .map_err(map_err)?;
                // Readers keep as many pages cached as the writer, and read the database file
                // through a memory map instead of copying each page out of the OS cache. The
                // map asks for far more than any file: SQLite caps it at its compile-time limit
                // (2 GiB), and a run over a large audience reads the whole file, where every
                // page past the map is a system call and a copy. It is address space, not
                // memory: the pages are the OS cache's.
                c.execute_batch(&format!(
                    "PRAGMA cache_size = -32768; PRAGMA mmap_size = {READER_MMAP_BYTES};"
                ))
                .map_err(map_err)?;
                Ok(Mutex::new(c))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let checkpointer = Checkpointer::start(&path).map_err(map_err)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            queue: events::CommitQueue::default(),
            keyring: crate::wrap::Keyring::default(),
            _checkpointer: checkpointer,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        // A poisoned lock means a panic while writing; the transaction is rolled back, so the
        // connection itself is still usable.
        let mut conn = self.writer_connection();
        f(&mut conn).map_err(map_err)
    }

    /// The writer connection, outside any transaction.
    pub(crate) fn writer_connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // A panic inside a transaction that rusqlite does not roll back itself (a streamed
        // run's) leaves it open: roll it back before the next writer builds on it.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        conn
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        f(&self.reader()).map_err(map_err)
    }

    /// A reader connection.
    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        // The first free connection from the next one in turn, and only if all are busy a
        // wait for that one: a quick point read must not queue behind a long read (a page of
        // an audience run) on another thread while a connection sits idle.
        let n = self.readers.len();
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|j| match self.readers[(first + j) % n].try_lock() {
            Ok(conn) => Some(conn),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        free.unwrap_or_else(|| {
            self.readers[first]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        })
    }
}

pub(crate) fn map_db_err(e: DbError) -> StoreError {
    match e {
        DbError::Sqlite(e) => map_err(e),
        DbError::Pg(e) => StoreError::Other(e.to_string()),
        DbError::BadRow(msg) => StoreError::Other(msg),
    }
}

impl SqlBackend for SqliteStore {
    fn read_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T> {
        f(&mut SqliteConn(&self.reader())).map_err(map_db_err)
    }

    fn write_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T> {
        let mut conn = self.writer_connection();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let v = f(&mut SqliteConn(&tx)).map_err(map_db_err)?;
        tx.commit().map_err(map_err)?;
        Ok(v)
    }

    /// A point read here is a few page lookups in memory or in the mapped file, shorter than
    /// handing it to another thread and back — as long as a reader connection is free.
    fn reads_in_place(&self) -> bool {
        self.readers
            .iter()
            .any(|r| !matches!(r.try_lock(), Err(std::sync::TryLockError::WouldBlock)))
    }

    /// TRUNCATE: copy every committed frame into the database file, then cut the log to zero
    /// bytes, so no earlier version of an erased page survives in the -wal file.
    fn purge_deleted(&self) -> StoreResult<()> {
        self.write(|c| {
            // A reader mid-statement keeps the log from being truncated; readers are short, so
            // wait for them a little before answering busy (the caller's retry purges then).
            let mut busy: i64 = 1;
            for attempt in 0..PURGE_ATTEMPTS {
                if attempt > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                busy = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                if busy == 0 {
                    break;
                }
            }
            if busy != 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("a reader kept the write-ahead log from being truncated".into()),
                ));
            }
            Ok(())
        })
    }

    fn keyring(&self) -> &crate::wrap::Keyring {
        &self.keyring
    }
}

/// How many times erasure's purge tries to truncate the write-ahead log past busy readers.
const PURGE_ATTEMPTS: u32 = 50;

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(map_err)?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > migrations::MIGRATIONS.len() {
        return Err(StoreError::Other(format!(
            "the database schema is version {current}, newer than this Candor ({}); upgrade Candor",
            migrations::MIGRATIONS.len()
        )));
    }
    for (i, sql) in migrations::MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction().map_err(map_err)?;
        tx.execute_batch(sql).map_err(map_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
        tracing::info!(version = i + 1, "applied storage migration");
    }
    Ok(())
}

/// `?, ?, ?` for an `IN (...)` list or a row of `n` values.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn bad_row(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what} `{value}`"), rusqlite::types::Type::Text)
}

pub(crate) fn consent_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, ConsentRecord)> {
    consent_from_row_at(r, 0)
}

/// A consent row whose `CONSENT_COLUMNS` start at column `at`.
pub(crate) fn consent_from_row_at(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<(i64, ConsentRecord)> {
    // Parsed from the row's own text: an audience run reads millions of these.
    let purpose = r.get_ref(at + 1)?.as_str()?;
    let decision = r.get_ref(at + 2)?.as_str()?;
    let source = r.get_ref(at + 5)?.as_str()?;
    Ok((
        r.get(at)?,
        ConsentRecord {
            purpose: PurposeId::parse(purpose).map_err(|_| bad_row("purpose", purpose))?,
            decision: Decision::parse(decision).ok_or_else(|| bad_row("decision", decision))?,
            purpose_version: PurposeVersion::from_stored(r.get(at + 3)?),
            policy_version: PolicyVersion::from_stored(r.get(at + 4)?),
            source: Source::parse(source).ok_or_else(|| bad_row("source", source))?,
            bulk: r.get::<_, i64>(at + 6)? != 0,
            evidence: r.get(at + 7)?,
            at: Timestamp::from_millis(r.get(at + 8)?),
        },
    ))
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use super::migrations::MIGRATIONS;
    use super::{DATABASE_FILE, SqliteStore};
    use crate::KekRoot;
    use crate::prelude::*;
    use candor_domain::SubjectKey;
    use candor_domain::time::Timestamp;

    /// A database as the Candor before wrapping left it: schema 12, keys in the clear.
    fn database_before_wrapping(dir: &std::path::Path) {
        let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
        for sql in &MIGRATIONS[..12] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 12).unwrap();
        for n in 1..=3u8 {
            conn.execute(
                "INSERT INTO subject_keys (subject_key, data_key, created_at) VALUES (?1, ?2, 0)",
                params![[n; 32].as_slice(), [n + 10; 32].as_slice()],
            )
            .unwrap();
        }
    }

    #[test]
    fn keys_stored_in_the_clear_are_wrapped_at_the_first_start_that_knows_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        database_before_wrapping(dir.path());
        let root = || KekRoot::from_server_secret(b"a server secret of 32 bytes or more");
        let now = Timestamp::from_millis(5);
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            let status = store.kek_status().unwrap();
            assert_eq!((status.keks.len(), status.n_unwrapped), (0, 3));
            assert!(
                store
                    .existing_data_key(&SubjectKey::from_bytes([1; 32]))
                    .is_err(),
                "locked"
            );
            assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 3);
            let status = store.kek_status().unwrap();
            assert!(status.settled(), "{status:?}");
            assert_eq!(status.keks[0].n_data_keys, 3);
        }
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        let rows: Vec<(Vec<u8>, Vec<u8>, Option<i64>)> = conn
            .prepare("SELECT subject_key, data_key, kek_id FROM subject_keys ORDER BY subject_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 3);
        for (key, stored, kek_id) in &rows {
            let plain = [key[0] + 10; 32];
            assert_eq!(*kek_id, Some(1));
            assert!(
                !stored.windows(32).any(|w| w == plain),
                "still in the clear"
            );
        }
        drop(conn);
        // Later starts find nothing to do, and every key opens as it was.
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 0);
        for n in 1..=3u8 {
            assert_eq!(
                store
                    .existing_data_key(&SubjectKey::from_bytes([n; 32]))
                    .unwrap(),
                Some([n + 10; 32])
            );
        }
    }
}
