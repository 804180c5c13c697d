//! The embedded SQLite backend: one database file in a data directory, WAL mode, full fsync
//! on commit, secure delete.

mod accountability;
mod analytics;
mod campaigns;
mod data_keys;
mod events;
mod files;
mod ledger;
mod migrations;
mod preferences;
mod rights;

pub use files::create_data_dir;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use candor_domain::SubjectKey;
use candor_domain::consent::{AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::ids::PurposeId;
use candor_domain::policy::{PolicyVersion, PurposeVersion};
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use candor_domain::profile::Profile;

use crate::{
    ApiKeyRecord, CatalogItem, DropCount, EventBatch, EventRewrite, InsertOutcome, Narrowed, Page,
    PageRequest, Scope, Store, StoreError, StoreResult, StoredEvent, SubjectRecord, TokenKeyRecord,
    keys,
};
use crate::{ConsentBucketCount, ConsentLatestCount, ConsentStats};
use crate::{
    ConsentTombstone, DsrRequest, ErasureCounts, ErasureIntent, ErasurePlan, NewDsrRequest,
};

/// Decisions per purpose, time bucket and decision (`?1` = since, `?2` = bucket length).
const CONSENT_BUCKETS_SQL: &str =
    "SELECT purpose, (at - ?1) / ?2 AS bucket, decision, count(*) FROM consents
     WHERE at >= ?1 GROUP BY purpose, bucket, decision ORDER BY purpose, bucket, decision";
/// Subjects per purpose, purpose version and latest decision: the newest row of each subject
/// and purpose is its current choice (the ledger is append-only).
const CONSENT_LATEST_SQL: &str = "SELECT purpose, purpose_version, decision, count(*) FROM (
       SELECT purpose, purpose_version, decision,
              row_number() OVER (PARTITION BY subject_key, purpose ORDER BY id DESC) AS newest
       FROM consents)
     WHERE newest = 1 GROUP BY purpose, purpose_version, decision
     ORDER BY purpose, purpose_version, decision";

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
    /// locked until [`Store::unlock_data_keys`].
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
        let conn = free.unwrap_or_else(|| {
            self.readers[first]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        });
        f(&conn).map_err(map_err)
    }
}

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

fn upsert_subject_tx(
    conn: &Connection,
    key: &SubjectKey,
    facts: &SubjectFacts,
    now: Timestamp,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO subjects (subject_key, age_band, country, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject_key) DO UPDATE SET
            age_band = coalesce(excluded.age_band, subjects.age_band),
            country = coalesce(excluded.country, subjects.country)",
        params![
            key.as_bytes().as_slice(),
            facts.age_band.map(|b| b.to_string()),
            facts.country.as_deref(),
            now.as_millis()
        ],
    )?;
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

pub(crate) const CONSENT_COLUMNS: &str =
    "id, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at";

fn api_key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let hash: Vec<u8> = r.get(1)?;
    let scopes: String = r.get(2)?;
    let origins: String = r.get(3)?;
    Ok(ApiKeyRecord {
        id: r.get(0)?,
        secret_hash: hash
            .try_into()
            .map_err(|_| bad_row("key hash", "of wrong length"))?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| bad_row("scope", s)))
            .collect::<rusqlite::Result<_>>()?,
        allowed_origins: origins
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        label: r.get(4)?,
        created_at: Timestamp::from_millis(r.get(5)?),
        expires_at: r.get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(Timestamp::from_millis),
    })
}

fn token_key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenKeyRecord> {
    Ok(TokenKeyRecord {
        id: r.get(0)?,
        sealed: r.get(1)?,
        created_at: Timestamp::from_millis(r.get(2)?),
        retired_at: r.get::<_, Option<i64>>(3)?.map(Timestamp::from_millis),
    })
}

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())))
    }

    /// A point read here is a few page lookups in memory or in the mapped file, shorter than
    /// handing it to another thread and back — as long as a reader connection is free.
    fn reads_in_place(&self) -> bool {
        self.readers
            .iter()
            .any(|r| !matches!(r.try_lock(), Err(std::sync::TryLockError::WouldBlock)))
    }

    fn meta_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    fn meta_put_if_absent(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        self.write(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![key, value],
            )?;
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        })
    }

    fn subject(&self, key: &SubjectKey) -> StoreResult<Option<SubjectRecord>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT age_band, country, created_at FROM subjects WHERE subject_key = ?1",
            )?
            .query_row([key.as_bytes().as_slice()], |r| {
                let band: Option<String> = r.get(0)?;
                Ok(SubjectRecord {
                    facts: SubjectFacts {
                        age_band: band.as_deref().and_then(AgeBand::parse),
                        country: r.get(1)?,
                    },
                    created_at: Timestamp::from_millis(r.get(2)?),
                })
            })
            .optional()
        })
    }

    fn upsert_subject(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| upsert_subject_tx(c, key, facts, now))
    }

    fn append_consents(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        records: &[ConsentRecord],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| {
            let tx = c.transaction()?;
            upsert_subject_tx(&tx, key, facts, now)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO consents (subject_key, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for r in records {
                    stmt.execute(params![
                        key.as_bytes().as_slice(),
                        r.purpose.as_str(),
                        r.decision.as_str(),
                        r.purpose_version.as_str(),
                        r.policy_version.as_str(),
                        r.source.as_str(),
                        i64::from(r.bulk),
                        r.evidence,
                        r.at.as_millis()
                    ])?;
                }
            }
            tx.commit()
        })
    }

    fn consent_records(&self, key: &SubjectKey) -> StoreResult<Vec<ConsentRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = ?1 ORDER BY id"
            ))?;
            stmt.query_map([key.as_bytes().as_slice()], consent_from_row)?
                .map(|r| r.map(|(_, rec)| rec))
                .collect()
        })
    }

    fn subject_ledgers(
        &self,
        keys: &[SubjectKey],
    ) -> StoreResult<std::collections::HashMap<SubjectKey, crate::SubjectLedger>> {
        self.read(|c| ledger::ledgers(c, keys))
    }

    fn serving_inputs(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&crate::SubjectLedger, &crate::Preferences) -> bool,
    ) -> StoreResult<crate::ServingInputs> {
        self.read(|c| ledger::serving_inputs(c, key, wants_history))
    }

    fn consent_history(
        &self,
        key: &SubjectKey,
        page: PageRequest,
    ) -> StoreResult<Page<ConsentRecord>> {
        let limit = page.limit_clamped();
        let rows: Vec<(i64, ConsentRecord)> = self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ))?;
            stmt.query_map(
                params![key.as_bytes().as_slice(), page.after.unwrap_or(i64::MAX), limit + 1],
                consent_from_row,
            )?
            .collect()
        })?;
        Ok(paginate(rows, limit))
    }

    fn data_key(&self, key: &SubjectKey, fresh: [u8; 32], now: Timestamp) -> StoreResult<[u8; 32]> {
        self.data_key_impl(key, fresh, now)
    }

    fn put_contact(&self, key: &SubjectKey, field: &str, sealed: &[u8]) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO contact (subject_key, field, sealed) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key, field) DO UPDATE SET sealed = excluded.sealed",
                params![key.as_bytes().as_slice(), field, sealed],
            )?;
            Ok(())
        })
    }

    fn existing_data_key(&self, key: &SubjectKey) -> StoreResult<Option<[u8; 32]>> {
        self.existing_data_key_impl(key)
    }

    fn unlock_data_keys(&self, root: crate::KekRoot, now: Timestamp) -> StoreResult<u64> {
        self.unlock_data_keys_impl(root, now)
    }

    fn add_kek(&self, now: Timestamp) -> StoreResult<i64> {
        self.add_kek_impl(now)
    }

    fn rewrap_data_keys(&self, limit: u32) -> StoreResult<u64> {
        self.rewrap_data_keys_impl(limit)
    }

    fn kek_status(&self) -> StoreResult<crate::KekStatus> {
        self.kek_status_impl()
    }

    fn contact(&self, key: &SubjectKey) -> StoreResult<Vec<(String, Vec<u8>)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT field, sealed FROM contact WHERE subject_key = ?1 ORDER BY field",
            )?;
            stmt.query_map([key.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
    }

    fn upsert_items(&self, items: &[CatalogItem], now: Timestamp) -> StoreResult<()> {
        self.write(|c| events::upsert_items(c, items, now))
    }

    fn item(&self, id: &str) -> StoreResult<Option<CatalogItem>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM items WHERE item_id = ?1",
                events::ITEM_COLUMNS
            ))?
            .query_row([id], events::item_from_row)
            .optional()
            .map(|o| o.map(|(_, it)| it))
        })
    }

    fn items(&self, page: PageRequest) -> StoreResult<Page<CatalogItem>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM items WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                events::ITEM_COLUMNS
            ))?
            .query_map(
                params![page.after.unwrap_or(0), limit + 1],
                events::item_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(paginate(rows, limit))
    }

    fn insert_events(&self, batch: EventBatch) -> StoreResult<Vec<InsertOutcome>> {
        events::insert_events(self, batch)
    }

    fn events(&self, key: &SubjectKey, page: PageRequest) -> StoreResult<Page<StoredEvent>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM events WHERE subject_key = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                events::EVENT_COLUMNS
            ))?
            .query_map(params![key.as_bytes().as_slice(), page.after.unwrap_or(i64::MAX), limit + 1], |r| {
                events::event_from_row(r).map(|e| (e.id, e))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(paginate(rows, limit))
    }

    fn all_events(&self, key: &SubjectKey) -> StoreResult<Vec<StoredEvent>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM events WHERE subject_key = ?1 ORDER BY id",
                events::EVENT_COLUMNS
            ))?
            .query_map([key.as_bytes().as_slice()], events::event_from_row)?
            .collect()
        })
    }

    fn subjects_with_events(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<SubjectKey>> {
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let rows: Vec<Vec<u8>> = self.read(|c| {
            c.prepare_cached(
                "SELECT DISTINCT subject_key FROM events WHERE subject_key > ?1 ORDER BY subject_key LIMIT ?2",
            )?
            .query_map(params![after, i64::from(limit)], |r| r.get(0))?
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(SubjectKey::from_bytes)
            .collect())
    }

    fn rewrite_events(
        &self,
        key: &SubjectKey,
        rewrite: &EventRewrite,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| {
            events::rewrite(
                c,
                key,
                &rewrite.delete,
                &rewrite.narrow,
                half_life_days,
                now,
            )
        })
    }

    fn delete_expired(
        &self,
        now: Timestamp,
        limit: u32,
        half_life_days: f64,
        dedupe_window_ms: i64,
    ) -> StoreResult<u64> {
        self.write(|c| events::delete_expired(c, now, limit, half_life_days, dedupe_window_ms))
    }

    fn merge_events(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        moved: &[Narrowed],
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| events::merge(c, from, to, moved, half_life_days, now))
    }

    fn profile(&self, key: &SubjectKey) -> StoreResult<Option<Profile>> {
        self.read(|c| events::load_profile(c, key))
    }

    fn put_profile(&self, key: &SubjectKey, profile: &Profile, now: Timestamp) -> StoreResult<()> {
        self.write(|c| events::save_profile(c, key, profile, now))
    }

    fn drop_counts(&self, since_day: i64) -> StoreResult<Vec<DropCount>> {
        self.read(|c| events::drop_counts(c, since_day))
    }

    fn consent_stats(&self, since: Timestamp, bucket_ms: i64) -> StoreResult<ConsentStats> {
        self.read(|c| {
            let buckets = c
                .prepare_cached(CONSENT_BUCKETS_SQL)?
                .query_map(params![since.as_millis(), bucket_ms.max(1)], |r| {
                    Ok(ConsentBucketCount {
                        purpose: r.get(0)?,
                        bucket: r.get(1)?,
                        decision: r.get(2)?,
                        n: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let latest = c
                .prepare_cached(CONSENT_LATEST_SQL)?
                .query_map([], |r| {
                    Ok(ConsentLatestCount {
                        purpose: r.get(0)?,
                        purpose_version: r.get(1)?,
                        decision: r.get(2)?,
                        n: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ConsentStats { buckets, latest })
        })
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        self.write(|c| {
            c.execute(
                &format!(
                    "INSERT INTO api_keys ({}) VALUES ({})",
                    keys::API_KEY_COLUMNS,
                    marks(8)
                ),
                params![
                    key.id,
                    key.secret_hash.as_slice(),
                    scopes.join(","),
                    key.allowed_origins.join(" "),
                    key.label,
                    key.created_at.as_millis(),
                    key.expires_at.map(Timestamp::as_millis),
                    key.revoked_at.map(Timestamp::as_millis)
                ],
            )?;
            Ok(())
        })
    }

    fn api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM api_keys WHERE id = ?1",
                keys::API_KEY_COLUMNS
            ))?
            .query_row([id], api_key_from_row)
            .optional()
        })
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {} FROM api_keys ORDER BY created_at, id",
                keys::API_KEY_COLUMNS
            ))?;
            stmt.query_map([], api_key_from_row)?.collect()
        })
    }

    fn revoke_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write(|c| {
            c.execute(
                &keys::revoke_api_key_sql("?1", "?2"),
                params![id, at.as_millis()],
            )
        })?;
        keys::found(n as u64)
    }

    fn expire_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write(|c| {
            c.execute(
                &keys::expire_api_key_sql("?1", "?2"),
                params![id, at.as_millis()],
            )
        })?;
        keys::found(n as u64)
    }

    fn token_keys(&self) -> StoreResult<Vec<TokenKeyRecord>> {
        self.read(|c| {
            c.prepare_cached(keys::TOKEN_KEYS_SQL)?
                .query_map([], token_key_from_row)?
                .collect()
        })
    }

    fn insert_token_key(
        &self,
        sealed: &[u8],
        now: Timestamp,
        retire_others: bool,
    ) -> StoreResult<i64> {
        self.write(|c| {
            let tx = c.transaction()?;
            if retire_others {
                tx.execute(&keys::retire_token_keys_sql("?1"), [now.as_millis()])?;
            }
            let id = tx.query_row(
                &keys::insert_token_key_sql("?1", "?2"),
                params![sealed, now.as_millis()],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    fn delete_token_keys_retired_before(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(|c| {
            c.execute(
                &keys::delete_token_keys_retired_before_sql("?1"),
                [before.as_millis()],
            )
            .map(|n| n as u64)
        })
    }

    fn tokens_not_before(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read(|c| {
            c.prepare_cached(&keys::tokens_not_before_sql("?1"))?
                .query_row([key.as_bytes().as_slice()], |r| {
                    r.get(0).map(Timestamp::from_millis)
                })
                .optional()
        })
    }

    fn revoke_subject_tokens(
        &self,
        key: &SubjectKey,
        at: Timestamp,
        keep_until: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                &keys::revoke_subject_tokens_sql("?1", "?2", "?3"),
                params![
                    key.as_bytes().as_slice(),
                    at.as_millis(),
                    keep_until.as_millis()
                ],
            )?;
            Ok(())
        })
    }

    fn delete_expired_token_revocations(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(|c| {
            c.execute(
                &keys::delete_expired_token_revocations_sql("?1"),
                [now.as_millis()],
            )
            .map(|n| n as u64)
        })
    }

    fn generation(&self, name: &str) -> StoreResult<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT value FROM generations WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0))
        })
    }

    fn bump_generation(&self, name: &str) -> StoreResult<i64> {
        self.write(|c| {
            c.query_row(
                "INSERT INTO generations (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                [name],
                |r| r.get(0),
            )
        })
    }

    fn preferences(&self, key: &SubjectKey) -> StoreResult<crate::Preferences> {
        self.read(|c| preferences::load(c, key))
    }

    fn put_preferences(
        &self,
        key: &SubjectKey,
        preferences: &crate::Preferences,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| preferences::save(c, key, preferences, now))
    }

    // --- Data-subject rights (sqlite/rights.rs). ---

    fn subject_footprint(
        &self,
        key: &SubjectKey,
    ) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.read(|c| rights::footprint(c, key))
    }

    fn erase_subject(&self, key: &SubjectKey, plan: &ErasurePlan) -> StoreResult<ErasureCounts> {
        self.write(|c| rights::erase(c, key, plan))
    }

    fn begin_erasure(
        &self,
        key: &SubjectKey,
        plan: &ErasurePlan,
        request: &NewDsrRequest,
    ) -> StoreResult<i64> {
        self.write(|c| rights::begin_erasure(c, key, plan, request))
    }

    fn erasure_intents(&self) -> StoreResult<Vec<ErasureIntent>> {
        self.read(rights::erasure_intents)
    }

    fn finish_erasure(
        &self,
        key: &SubjectKey,
        request_id: i64,
        detail: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|c| rights::finish_erasure(c, key, request_id, detail, now))
    }

    fn consent_tombstones(&self, proof: &[u8; 32]) -> StoreResult<Vec<ConsentTombstone>> {
        self.read(|c| rights::consent_tombstones(c, proof))
    }

    fn purge_deleted(&self) -> StoreResult<()> {
        self.write(|c| rights::purge_deleted(c))
    }

    fn restriction(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read(|c| rights::restriction(c, key))
    }

    fn set_restriction(&self, key: &SubjectKey, since: Option<Timestamp>) -> StoreResult<bool> {
        self.write(|c| rights::set_restriction(c, key, since))
    }

    fn mute_interest(&self, key: &SubjectKey, category: &str, now: Timestamp) -> StoreResult<bool> {
        self.write(|c| rights::mute_interest(c, key, category, now))
    }

    fn muted_interests(&self, key: &SubjectKey) -> StoreResult<Vec<String>> {
        self.read(|c| rights::muted(c, key))
    }

    fn insert_dsr(&self, request: &NewDsrRequest) -> StoreResult<i64> {
        self.write(|c| rights::insert_dsr(c, request))
    }

    fn dsr_requests(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DsrRequest>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM dsr_requests WHERE (?1 IS NULL OR status = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3",
                rights::DSR_COLUMNS
            ))?
            .query_map(
                params![status, page.after.unwrap_or(i64::MAX), limit + 1],
                rights::dsr_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(paginate(rows, limit))
    }

    fn latest_dsr(&self, subject_ref: &[u8; 32], kind: &str) -> StoreResult<Option<DsrRequest>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM dsr_requests WHERE subject_ref = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
                rights::DSR_COLUMNS
            ))?
            .query_row(params![subject_ref.as_slice(), kind], rights::dsr_from_row)
            .optional()
            .map(|o| o.map(|(_, r)| r))
        })
    }

    fn dsr_summary(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<crate::DsrKindSummary>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT kind,
                        sum(completed_at IS NULL),
                        sum(completed_at IS NOT NULL),
                        sum(completed_at IS NULL AND deadline_at < ?2),
                        sum(completed_at IS NOT NULL AND completed_at > deadline_at),
                        min(CASE WHEN completed_at IS NULL THEN received_at END)
                 FROM dsr_requests WHERE received_at >= ?1 OR completed_at IS NULL
                 GROUP BY kind ORDER BY kind",
            )?
            .query_map(params![since.as_millis(), now.as_millis()], |r| {
                Ok(crate::DsrKindSummary {
                    kind: r.get(0)?,
                    n_open: r.get::<_, i64>(1)? as u64,
                    n_closed: r.get::<_, i64>(2)? as u64,
                    n_overdue: r.get::<_, i64>(3)? as u64,
                    n_closed_late: r.get::<_, i64>(4)? as u64,
                    oldest_open_received_at: r
                        .get::<_, Option<i64>>(5)?
                        .map(Timestamp::from_millis),
                })
            })?
            .collect()
        })
    }

    // --- Accountability (migration 3): see `accountability.rs`. ---

    fn audit_append(&self, draft: crate::AuditDraft) -> StoreResult<crate::AuditEntry> {
        self.audit_append_impl(draft)
    }

    fn audit_entries(&self, page: PageRequest) -> StoreResult<Page<crate::AuditEntry>> {
        self.audit_entries_impl(page)
    }

    fn audit_head(&self) -> StoreResult<Option<crate::AuditEntry>> {
        self.audit_head_impl()
    }

    fn audit_last(&self, action: &str) -> StoreResult<Option<crate::AuditEntry>> {
        self.audit_last_impl(action)
    }

    fn put_audit_attributes(
        &self,
        key: &SubjectKey,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.put_audit_attributes_impl(key, sealed, now)
    }

    fn audit_attributes(&self, key: &SubjectKey) -> StoreResult<Option<Vec<u8>>> {
        self.audit_attributes_impl(key)
    }

    fn audit_attributes_after(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectKey, Vec<u8>)>> {
        self.audit_attributes_after_impl(after, limit)
    }

    fn delete_audit_attributes(&self, key: &SubjectKey) -> StoreResult<bool> {
        self.delete_audit_attributes_impl(key)
    }

    fn record_exposures(&self, exposures: &[crate::Exposure]) -> StoreResult<()> {
        self.record_exposures_impl(exposures)
    }

    fn exposures_for_slot(
        &self,
        slot: &str,
        since: Timestamp,
        page: PageRequest,
    ) -> StoreResult<Page<crate::Exposure>> {
        self.exposures_for_slot_impl(slot, since, page)
    }

    fn exposures_for_subject(&self, key: &SubjectKey) -> StoreResult<Vec<crate::Exposure>> {
        self.exposures_for_subject_impl(key)
    }

    fn delete_exposures(&self, key: &SubjectKey) -> StoreResult<u64> {
        self.delete_exposures_impl(key)
    }

    fn delete_exposures_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<crate::DeletedExposures> {
        self.delete_exposures_before_impl(before, limit)
    }

    fn exposure_slots(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT DISTINCT slot FROM exposure_lists WHERE at >= ?1 ORDER BY slot LIMIT ?2",
            )?
            .query_map(params![since.as_millis(), i64::from(limit)], |r| r.get(0))?
            .collect()
        })
    }

    // --- Segments and campaigns (see `campaigns.rs`) ---------------------------------------

    fn insert_segment(&self, segment: &crate::SegmentRecord) -> StoreResult<()> {
        self.insert_segment_impl(segment)
    }

    fn segment(&self, id: &str) -> StoreResult<Option<crate::SegmentRecord>> {
        self.segment_impl(id)
    }

    fn segments(&self) -> StoreResult<Vec<crate::SegmentRecord>> {
        self.segments_impl()
    }

    fn insert_campaign(&self, campaign: &crate::CampaignRecord) -> StoreResult<()> {
        self.insert_campaign_impl(campaign)
    }

    fn campaign(&self, id: &str) -> StoreResult<Option<crate::CampaignRecord>> {
        self.campaign_impl(id)
    }

    fn campaigns(&self) -> StoreResult<Vec<crate::CampaignRecord>> {
        self.campaigns_impl()
    }

    fn subject_keys(&self, after: Option<&SubjectKey>, limit: u32) -> StoreResult<Vec<SubjectKey>> {
        self.subject_keys_impl(after, limit)
    }

    fn audience_page(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        query: &crate::AudienceQuery,
    ) -> StoreResult<Vec<crate::AudienceRow>> {
        self.audience_page_impl(after, limit, query)
    }

    fn marketing_state(
        &self,
        key: &SubjectKey,
        since: Timestamp,
    ) -> StoreResult<crate::MarketingState> {
        self.marketing_state_impl(key, since)
    }

    fn set_time_zone(&self, key: &SubjectKey, time_zone: &str) -> StoreResult<()> {
        self.set_time_zone_impl(key, time_zone)
    }

    fn unsubscribe(&self, key: &SubjectKey, channel: &str, now: Timestamp) -> StoreResult<()> {
        self.unsubscribe_impl(key, channel, now)
    }

    fn commit_run(&self, run: &crate::NewRun) -> StoreResult<Vec<crate::RunOutcome>> {
        self.commit_run_impl(run)
    }

    fn stream_run(
        &self,
        run: &crate::NewRun,
        decide: &mut dyn FnMut(&dyn crate::RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[crate::RunOutcome]) -> StoreResult<Option<crate::NewFlag>>,
    ) -> StoreResult<crate::CommittedRun> {
        self.stream_run_impl(run, decide, measure)
    }

    fn run(&self, id: &str) -> StoreResult<Option<crate::RunRecord>> {
        self.run_impl(id)
    }

    fn latest_run(&self, campaign_id: &str) -> StoreResult<Option<crate::RunRecord>> {
        self.latest_run_impl(campaign_id)
    }

    fn fairness_flags(
        &self,
        campaign_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<crate::FairnessFlag>> {
        self.fairness_flags_impl(campaign_id, limit)
    }

    fn acknowledge_fairness_flags(
        &self,
        campaign_id: &str,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<crate::Acknowledgement> {
        self.acknowledge_fairness_flags_impl(campaign_id, note, now)
    }

    fn held_deliveries(&self, run_id: Option<&str>) -> StoreResult<u64> {
        self.held_deliveries_impl(run_id)
    }

    fn run_outcomes(&self, run_id: &str) -> StoreResult<Vec<crate::RunOutcome>> {
        self.run_outcomes_impl(run_id)
    }

    fn subject_outcomes(
        &self,
        key: &SubjectKey,
        limit: u32,
    ) -> StoreResult<Vec<crate::SubjectOutcome>> {
        self.subject_outcomes_impl(key, limit)
    }

    fn run_deliveries(&self, run_id: &str) -> StoreResult<Vec<crate::DeliveryRecord>> {
        self.run_deliveries_impl(run_id)
    }

    fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::DeliveryRecord>> {
        self.claim_deliveries_impl(now, lease_ms, limit)
    }

    fn delivery_succeeded(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        self.delivery_succeeded_impl(id, now)
    }

    fn delivery_failed(&self, id: i64, next_attempt_at: Timestamp, error: &str) -> StoreResult<()> {
        self.delivery_failed_impl(id, next_attempt_at, error)
    }

    fn erase_campaign_data(&self, key: &SubjectKey) -> StoreResult<()> {
        self.erase_campaign_data_impl(key)
    }
}

/// Turns `limit + 1` rows fetched by id into a page and the cursor for the next one.
pub(crate) fn paginate<T>(mut rows: Vec<(i64, T)>, limit: i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|(id, _)| *id)
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}
