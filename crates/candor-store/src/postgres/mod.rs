//! The PostgreSQL backend: many stateless Candor instances sharing one database.
//!
//! Same tables and semantics as the SQLite backend. Differences that follow from many writers
//! instead of one:
//!
//! - Every write is one transaction at PostgreSQL's default READ COMMITTED. Rows that a
//!   read-modify-write depends on are locked (`FOR UPDATE`, or the row an `ON CONFLICT` upsert
//!   touches), always in a sorted order, so concurrent calls from any number of instances
//!   neither lose updates nor deadlock one another. A serialization failure or deadlock that
//!   still happens (retention against ingestion) is retried a few times.
//! - There is no group commit queue: PostgreSQL already commits concurrent transactions
//!   together (one WAL flush serves every commit waiting for it).
//! - A commit returns only once it is durable: each connection sets `synchronous_commit = on`,
//!   whatever the server's default.

mod campaigns;
mod conn;
mod events;
mod ledger;
mod migrations;
mod partitions;
mod pool;
mod tls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use postgres::Transaction;

pub use pool::POOL_LEN_MAX;

use crate::sql::{Conn, SqlBackend};
use crate::{StoreError, StoreResult};
use conn::{PgConn, Statements};

/// How many times a write transaction runs when PostgreSQL aborts it for a serialization
/// failure or a deadlock; those are transient and the transaction had no effect.
const TX_ATTEMPTS_MAX: u32 = 4;
/// Longest schema name PostgreSQL keeps without truncating (NAMEDATALEN - 1).
const SCHEMA_NAME_LEN_MAX: usize = 63;
/// First key of the advisory lock that serializes migrations ("CNDR"); the second key is a
/// hash of the schema name, so instances migrating different schemas do not wait on each other.
const MIGRATION_LOCK_CLASS: i32 = 0x434e_4452;

/// Store calls this process made on PostgreSQL, and the wall time they took in nanoseconds:
/// waiting for a pooled connection, the round trips, the database's own work and the commit,
/// and the decoding of rows in between. Process-wide (every store in the process adds to it),
/// like the metrics it feeds; two relaxed adds per call.
static DB_CALLS: AtomicU64 = AtomicU64::new(0);
static DB_NANOS: AtomicU64 = AtomicU64::new(0);

/// How long this process's store calls have spent on PostgreSQL so far ([`db_time`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DbTime {
    pub calls: u64,
    /// Summed over calls: concurrent calls each count their own time.
    pub seconds: f64,
}

/// The store calls made on PostgreSQL by this process since it started, and their summed wall
/// time: what its requests spent waiting on the database rather than on their own CPU (the
/// decoding of rows aside, which is small beside a round trip).
pub fn db_time() -> DbTime {
    DbTime {
        calls: DB_CALLS.load(Ordering::Relaxed),
        seconds: DB_NANOS.load(Ordering::Relaxed) as f64 / 1e9,
    }
}

/// Adds the call's wall time to [`db_time`] when dropped, however the call ends.
struct Timed(Instant);

impl Drop for Timed {
    fn drop(&mut self) {
        let nanos = u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        DB_CALLS.fetch_add(1, Ordering::Relaxed);
        DB_NANOS.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The PostgreSQL store.
///
/// Concurrency: the trait is synchronous and called from blocking threads, so each call checks
/// out one connection from a small bounded pool ([`POOL_LEN_MAX`]) for its whole duration and
/// runs at most one transaction on it. Nothing is cached in the process but derived
/// key-encryption keys, which never change: every instance sees every other instance's
/// commits on its next call.
pub struct PostgresStore {
    pool: pool::Pool,
    schema: Option<String>,
    /// The root data keys are wrapped under, once given, and the KEKs derived from it (the
    /// one thing kept in the process: a KEK never changes once its row exists).
    keyring: crate::wrap::Keyring,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show only the schema.
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

pub(crate) use crate::sql::{DbError, DbResult, bad_row};

fn sqlstate(e: &postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

/// Whether the connection is gone: closed by the server (restart, `pg_terminate_backend`),
/// refused, timed out, or broken at the socket.
fn is_connection_loss(e: &postgres::Error) -> bool {
    if let Some(code) = sqlstate(e) {
        // 08: connection exceptions; 57P01-57P03: admin or crash shutdown, server starting
        // up; 57P05: idle session timeout.
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "57P05");
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    e.is_closed() || io || e.to_string().starts_with("timeout")
}

/// Whether PostgreSQL aborted a transaction that can simply run again.
fn is_retryable(e: &DbError) -> bool {
    matches!(e, DbError::Pg(p) if matches!(sqlstate(p), Some("40001" | "40P01")))
}

/// The driver's message with the server's own text, which `Display` alone leaves out.
fn describe(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    }
}

pub(crate) fn map_err(e: postgres::Error) -> StoreError {
    let msg = describe(&e);
    if is_connection_loss(&e) {
        return StoreError::Unavailable(msg);
    }
    match sqlstate(&e) {
        Some("23505") => StoreError::Conflict(msg),
        // 53: out of disk, memory or connections; 40: still conflicting after retries.
        Some(c) if c.starts_with("53") || c == "40001" || c == "40P01" => {
            StoreError::Unavailable(msg)
        }
        _ => StoreError::Other(msg),
    }
}

fn map_db_err(e: DbError) -> StoreError {
    match e {
        DbError::Pg(e) => map_err(e),
        DbError::BadRow(msg) => StoreError::Other(msg),
        DbError::Sqlite(e) => StoreError::Other(e.to_string()),
    }
}

impl SqlBackend for PostgresStore {
    fn read_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T> {
        self.read_pg(|c| f(c))
    }

    fn write_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T> {
        self.write_pg(|c| f(c))
    }

    fn reads_in_place(&self) -> bool {
        false
    }

    /// Deleted rows are gone for every reader at commit, but their tuples stay in the heap
    /// pages until vacuum prunes them. Vacuum the tables that hold subject data now, so an
    /// erased person's rows (their wrapped data key among them) do not wait for autovacuum.
    /// Vacuum skips all-visible pages, so this costs about the pages the erasure touched. It
    /// cannot prune tuples an older snapshot still sees: a transaction open since before the
    /// erasure delays it until that transaction ends. Freed space is reused, not zeroed, until
    /// new rows overwrite it (see docs/deployment.md).
    fn purge_deleted(&self) -> StoreResult<()> {
        let tables: Vec<&str> = crate::rights::SUBJECT_TABLES
            .iter()
            .map(|(_, table, _, _)| *table)
            .collect();
        let sql = format!("VACUUM {}", tables.join(", "));
        self.read(|c| c.batch_execute(&sql).map_err(DbError::from))
    }

    fn keyring(&self) -> &crate::wrap::Keyring {
        &self.keyring
    }
}

/// Checks that a schema name is a plain lowercase identifier, so it can be quoted into SQL
/// without any chance of injection and means the same thing to every tool.
fn valid_schema(name: &str) -> StoreResult<&str> {
    let ok = !name.is_empty()
        && name.len() <= SCHEMA_NAME_LEN_MAX
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(StoreError::Other(format!(
            "schema name `{name}` must be lowercase letters, digits and underscores, at most {SCHEMA_NAME_LEN_MAX} long"
        )))
    }
}

/// The storage URL read, with its TLS prepared and Candor's connection settings applied: what
/// the pool and [`connect_client`] both connect with.
fn target(url: &str) -> StoreResult<tls::Target> {
    let mut target = tls::Target::parse(url)?;
    let config = &mut target.config;
    // A name set in the URL wins, so operators (and tests) can tell instances apart in
    // `pg_stat_activity`.
    if config.get_application_name().is_none() {
        config.application_name("candor");
    }
    config
        .connect_timeout(std::time::Duration::from_millis(pool::CONNECT_TIMEOUT_MS))
        // Keepalives notice a server that vanished without closing the socket.
        .keepalives(true);
    Ok(target)
}

/// One connection to the database at a storage URL, made exactly as the store makes its own:
/// the one way anything in Candor connects to PostgreSQL, for tools and tests that run SQL of
/// their own (the store never hands out its connections).
///
/// TLS follows the URL's `sslmode`, as for libpq: `disable`; `prefer` (the default: TLS when
/// the server offers it, certificate unchecked); `require` (TLS, certificate unchecked, or its
/// chain checked when `sslrootcert` is given); `verify-ca` (the chain); `verify-full` (the
/// chain and the host name). The chain is checked against `sslrootcert=/path/ca.pem` when
/// given, otherwise against Mozilla's roots and the system's.
pub fn connect_client(url: &str) -> StoreResult<postgres::Client> {
    target(url)?.connect()
}

/// An outcome of one attempt at a write transaction, telling a failed `BEGIN` (nothing ran,
/// safe to retry on another connection) from a failure after it.
enum Attempt<T> {
    Done(T),
    BeginFailed(DbError),
    Failed(DbError),
}

fn attempt<T>(
    (client, statements): (&mut postgres::Client, &mut Statements),
    f: &mut impl FnMut(&mut Transaction<'_>, &mut Statements) -> DbResult<T>,
) -> Attempt<T> {
    let mut tx = match client.transaction() {
        Ok(tx) => tx,
        Err(e) => return Attempt::BeginFailed(e.into()),
    };
    match f(&mut tx, statements).and_then(|v| tx.commit().map(|()| v).map_err(DbError::from)) {
        Ok(v) => Attempt::Done(v),
        // Dropping the transaction rolls it back.
        Err(e) => Attempt::Failed(e),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a key=value string, with
    /// `sslmode` and `sslrootcert` as for libpq: see [`connect_client`]) and applies pending
    /// migrations. With `schema`, Candor's tables live in that schema (created if missing)
    /// instead of the connection's default search path.
    pub fn connect(url: &str, schema: Option<&str>) -> StoreResult<PostgresStore> {
        let store = Self::open(url, schema, migrations::MIGRATIONS.len())?;
        // The months ahead exist before the first event is written; the retention job keeps
        // them ahead while the process runs. The store has no clock of its own but this.
        store.prepare_partitions_pg(candor_domain::time::Timestamp::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        ))?;
        Ok(store)
    }

    /// Migrates the schema up to `version` only and returns nothing usable as a store: for
    /// tests of a schema upgrade, which write rows the way an older Candor left them and then
    /// [`PostgresStore::connect`].
    #[doc(hidden)]
    pub fn migrate_only_to(url: &str, schema: Option<&str>, version: usize) -> StoreResult<()> {
        Self::open(url, schema, version.min(migrations::MIGRATIONS.len())).map(drop)
    }

    fn open(url: &str, schema: Option<&str>, version: usize) -> StoreResult<PostgresStore> {
        let target = target(url)?;
        let schema = schema.map(valid_schema).transpose()?.map(str::to_owned);
        let mut setup = String::from("SET synchronous_commit = on;");
        if let Some(s) = &schema {
            setup.push_str(&format!(" SET search_path = \"{s}\";"));
        }
        let store = PostgresStore {
            pool: pool::Pool::new(target, setup),
            schema,
            keyring: crate::wrap::Keyring::default(),
        };
        store.migrate(version)?;
        Ok(store)
    }

    /// The schema Candor's tables live in, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Applies the migrations up to `version` (all of them but in upgrade tests).
    fn migrate(&self, version: usize) -> StoreResult<()> {
        let schema = self.schema.clone();
        let applied = self.write(|tx| {
            // Take the lock before anything else, including creating the schema: two instances
            // racing on `CREATE SCHEMA IF NOT EXISTS` could otherwise both try to create it.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema(), '')))",
                &[&MIGRATION_LOCK_CLASS, &schema],
            )?;
            if let Some(s) = &schema {
                tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{s}\""))?;
            }
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS candor_schema_migrations (
                    version    INTEGER PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )",
            )?;
            let current: i32 = tx
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM candor_schema_migrations",
                    &[],
                )?
                .try_get(0)?;
            let current = usize::try_from(current).unwrap_or(0);
            if current > migrations::MIGRATIONS.len() {
                return Err(DbError::BadRow(format!(
                    "the database schema is version {current}, newer than this Candor ({}); upgrade Candor",
                    migrations::MIGRATIONS.len()
                )));
            }
            let mut applied = Vec::new();
            for (i, sql) in migrations::MIGRATIONS
                .iter()
                .enumerate()
                .take(version)
                .skip(current)
            {
                let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO candor_schema_migrations (version) VALUES ($1)",
                    &[&version],
                )?;
                applied.push(version);
            }
            Ok(applied)
        })?;
        for version in applied {
            tracing::info!(version, "applied storage migration");
        }
        Ok(())
    }

    /// Runs one read on a client of its own.
    fn read<T>(&self, mut f: impl FnMut(&mut postgres::Client) -> DbResult<T>) -> StoreResult<T> {
        self.read_with(|c, _| f(c))
    }

    /// Runs one read through the pooled connection's prepared statements.
    fn read_pg<T>(
        &self,
        mut f: impl FnMut(&mut PgConn<'_, postgres::Client>) -> DbResult<T>,
    ) -> StoreResult<T> {
        self.read_with(|c, s| f(&mut PgConn::new(c, s)))
    }

    /// Runs one read. Reads have no effects, so one that finds its pooled connection dead
    /// runs again on a new connection: the caller never sees a stale connection's error.
    fn read_with<T>(
        &self,
        mut f: impl FnMut(&mut postgres::Client, &mut Statements) -> DbResult<T>,
    ) -> StoreResult<T> {
        let _timed = Timed(Instant::now());
        let mut conn = self.pool.get()?;
        loop {
            let (client, statements) = conn.parts();
            match f(client, statements) {
                Ok(v) => return Ok(v),
                Err(DbError::Pg(e)) if is_connection_loss(&e) => {
                    if conn.reused {
                        conn = self.pool.replace(conn)?;
                        continue;
                    }
                    conn.discard();
                    return Err(map_err(e));
                }
                Err(e) => return Err(map_db_err(e)),
            }
        }
    }

    /// Runs `f` in one transaction on a client of its own and commits it.
    fn write<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> DbResult<T>) -> StoreResult<T> {
        self.write_with(|tx, _| f(tx))
    }

    /// Runs `f` in one transaction, through the pooled connection's prepared statements, and
    /// commits it.
    fn write_pg<T>(
        &self,
        mut f: impl FnMut(&mut PgConn<'_, Transaction<'_>>) -> DbResult<T>,
    ) -> StoreResult<T> {
        self.write_with(|tx, s| f(&mut PgConn::new(tx, s)))
    }

    /// Runs `f` in one transaction and commits it.
    ///
    /// A pooled connection that died while idle fails at `BEGIN`, before anything ran, so the
    /// transaction moves to a new connection. A failure after `BEGIN` is never retried on
    /// connection loss: the commit may or may not have happened, and the caller must know.
    fn write_with<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>, &mut Statements) -> DbResult<T>,
    ) -> StoreResult<T> {
        let _timed = Timed(Instant::now());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut conn = self.pool.get()?;
            let mut outcome = attempt(conn.parts(), &mut f);
            if let Attempt::BeginFailed(DbError::Pg(e)) = &outcome
                && conn.reused
                && is_connection_loss(e)
            {
                conn = self.pool.replace(conn)?;
                outcome = attempt(conn.parts(), &mut f);
            }
            let err = match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::BeginFailed(e) | Attempt::Failed(e) => e,
            };
            if is_retryable(&err) && attempts < TX_ATTEMPTS_MAX {
                continue;
            }
            if let DbError::Pg(e) = &err
                && is_connection_loss(e)
            {
                conn.discard();
            }
            return Err(map_db_err(err));
        }
    }
}
