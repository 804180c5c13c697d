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

mod accountability;
mod analytics;
mod campaigns;
mod data_keys;
mod events;
mod ledger;
mod migrations;
mod pool;
mod preferences;
mod rights;
mod tls;

use candor_domain::SubjectKey;
use candor_domain::consent::{AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::ids::PurposeId;
use candor_domain::policy::{PolicyVersion, PurposeVersion};
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use postgres::{GenericClient, Row, Transaction};

pub use pool::POOL_LEN_MAX;

use crate::{
    ApiKeyRecord, CatalogItem, DropCount, EventBatch, EventRewrite, InsertOutcome, Narrowed, Page,
    PageRequest, Scope, Store, StoreError, StoreResult, StoredEvent, SubjectRecord, TokenKeyRecord,
    keys,
};
use crate::{ConsentBucketCount, ConsentLatestCount, ConsentStats};
use crate::{
    ConsentTombstone, DsrRequest, ErasureCounts, ErasureIntent, ErasurePlan, NewDsrRequest,
};

/// Decisions per purpose, time bucket and decision (`$1` = since, `$2` = bucket length).
/// COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
const CONSENT_BUCKETS_SQL: &str =
    "SELECT purpose, (at - $1) / $2 AS bucket, decision, count(*) FROM consents
     WHERE at >= $1 GROUP BY purpose, bucket, decision
     ORDER BY purpose COLLATE \"C\", bucket, decision COLLATE \"C\"";
/// Subjects per purpose, purpose version and latest decision: the newest row of each subject
/// and purpose is its current choice (the ledger is append-only).
const CONSENT_LATEST_SQL: &str = "SELECT purpose, purpose_version, decision, count(*) FROM (
       SELECT purpose, purpose_version, decision,
              row_number() OVER (PARTITION BY subject_key, purpose ORDER BY id DESC) AS newest
       FROM consents) AS latest
     WHERE newest = 1 GROUP BY purpose, purpose_version, decision
     ORDER BY purpose COLLATE \"C\", purpose_version COLLATE \"C\", decision COLLATE \"C\"";

/// How many times a write transaction runs when PostgreSQL aborts it for a serialization
/// failure or a deadlock; those are transient and the transaction had no effect.
const TX_ATTEMPTS_MAX: u32 = 4;
/// Longest schema name PostgreSQL keeps without truncating (NAMEDATALEN - 1).
const SCHEMA_NAME_LEN_MAX: usize = 63;
/// First key of the advisory lock that serializes migrations ("CNDR"); the second key is a
/// hash of the schema name, so instances migrating different schemas do not wait on each other.
const MIGRATION_LOCK_CLASS: i32 = 0x434e_4452;

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

/// What can fail inside one store operation: the driver, or a row Candor cannot read back.
#[derive(Debug)]
pub(crate) enum DbError {
    Pg(postgres::Error),
    BadRow(String),
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        DbError::Pg(e)
    }
}

type DbResult<T> = Result<T, DbError>;

fn bad_row(what: &str, value: &str) -> DbError {
    DbError::BadRow(format!("unreadable {what} `{value}`"))
}

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
    client: &mut postgres::Client,
    f: &mut impl FnMut(&mut Transaction<'_>) -> DbResult<T>,
) -> Attempt<T> {
    let mut tx = match client.transaction() {
        Ok(tx) => tx,
        Err(e) => return Attempt::BeginFailed(e.into()),
    };
    match f(&mut tx).and_then(|v| tx.commit().map(|()| v).map_err(DbError::from)) {
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
        store.migrate()?;
        Ok(store)
    }

    /// The schema Candor's tables live in, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn migrate(&self) -> StoreResult<()> {
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
            for (i, sql) in migrations::MIGRATIONS.iter().enumerate().skip(current) {
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

    /// Runs one read. Reads have no effects, so one that finds its pooled connection dead
    /// runs again on a new connection: the caller never sees a stale connection's error.
    fn read<T>(&self, mut f: impl FnMut(&mut postgres::Client) -> DbResult<T>) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        loop {
            match f(conn.client()) {
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

    /// Runs `f` in one transaction and commits it.
    ///
    /// A pooled connection that died while idle fails at `BEGIN`, before anything ran, so the
    /// transaction moves to a new connection. A failure after `BEGIN` is never retried on
    /// connection loss: the commit may or may not have happened, and the caller must know.
    fn write<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> DbResult<T>) -> StoreResult<T> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut conn = self.pool.get()?;
            let mut outcome = attempt(conn.client(), &mut f);
            if let Attempt::BeginFailed(DbError::Pg(e)) = &outcome
                && conn.reused
                && is_connection_loss(e)
            {
                conn = self.pool.replace(conn)?;
                outcome = attempt(conn.client(), &mut f);
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

fn upsert_subject_tx(
    c: &mut impl GenericClient,
    key: &SubjectKey,
    facts: &SubjectFacts,
    now: Timestamp,
) -> DbResult<()> {
    c.execute(
        "INSERT INTO subjects (subject_key, age_band, country, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (subject_key) DO UPDATE SET
            age_band = coalesce(excluded.age_band, subjects.age_band),
            country = coalesce(excluded.country, subjects.country)",
        &[
            &key.as_bytes().as_slice(),
            &facts.age_band.map(|b| b.to_string()),
            &facts.country.as_deref(),
            &now.as_millis(),
        ],
    )?;
    Ok(())
}

pub(super) const CONSENT_COLUMNS: &str =
    "id, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at";

pub(super) fn consent_from_row(r: &Row) -> DbResult<(i64, ConsentRecord)> {
    consent_from_row_at(r, 0)
}

/// A consent row whose `CONSENT_COLUMNS` start at column `at`.
pub(super) fn consent_from_row_at(r: &Row, at: usize) -> DbResult<(i64, ConsentRecord)> {
    let purpose: String = r.try_get(at + 1)?;
    let decision: String = r.try_get(at + 2)?;
    let source: String = r.try_get(at + 5)?;
    Ok((
        r.try_get(at)?,
        ConsentRecord {
            purpose: PurposeId::parse(&purpose).map_err(|_| bad_row("purpose", &purpose))?,
            decision: Decision::parse(&decision).ok_or_else(|| bad_row("decision", &decision))?,
            purpose_version: PurposeVersion::from_stored(r.try_get(at + 3)?),
            policy_version: PolicyVersion::from_stored(r.try_get(at + 4)?),
            source: Source::parse(&source).ok_or_else(|| bad_row("source", &source))?,
            bulk: r.try_get(at + 6)?,
            evidence: r.try_get(at + 7)?,
            at: Timestamp::from_millis(r.try_get(at + 8)?),
        },
    ))
}

fn api_key_from_row(r: &Row) -> DbResult<ApiKeyRecord> {
    let hash: Vec<u8> = r.try_get(1)?;
    let scopes: String = r.try_get(2)?;
    let origins: String = r.try_get(3)?;
    Ok(ApiKeyRecord {
        id: r.try_get(0)?,
        secret_hash: hash
            .try_into()
            .map_err(|_| bad_row("key hash", "of wrong length"))?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| bad_row("scope", s)))
            .collect::<DbResult<_>>()?,
        allowed_origins: origins
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        label: r.try_get(4)?,
        created_at: Timestamp::from_millis(r.try_get(5)?),
        expires_at: r.try_get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
        revoked_at: r.try_get::<_, Option<i64>>(7)?.map(Timestamp::from_millis),
    })
}

fn token_key_from_row(r: &Row) -> DbResult<TokenKeyRecord> {
    Ok(TokenKeyRecord {
        id: r.try_get(0)?,
        sealed: r.try_get(1)?,
        created_at: Timestamp::from_millis(r.try_get(2)?),
        retired_at: r.try_get::<_, Option<i64>>(3)?.map(Timestamp::from_millis),
    })
}

impl Store for PostgresStore {
    fn ping(&self) -> StoreResult<()> {
        self.read(|c| {
            c.simple_query("SELECT 1")?;
            Ok(())
        })
    }

    fn meta_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(DbError::from)
        })
    }

    fn meta_put_if_absent(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        // At READ COMMITTED a racing insert makes this one wait, then do nothing; the SELECT
        // (a new statement, so a new snapshot) then sees whichever value won.
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&key, &value],
            )?;
            Ok(tx
                .query_one("SELECT value FROM meta WHERE key = $1", &[&key])?
                .try_get(0)?)
        })
    }

    fn subject(&self, key: &SubjectKey) -> StoreResult<Option<SubjectRecord>> {
        self.read(|c| {
            let Some(r) = c.query_opt(
                "SELECT age_band, country, created_at FROM subjects WHERE subject_key = $1",
                &[&key.as_bytes().as_slice()],
            )?
            else {
                return Ok(None);
            };
            let band: Option<String> = r.try_get(0)?;
            Ok(Some(SubjectRecord {
                facts: SubjectFacts {
                    age_band: band.as_deref().and_then(AgeBand::parse),
                    country: r.try_get(1)?,
                },
                created_at: Timestamp::from_millis(r.try_get(2)?),
            }))
        })
    }

    fn upsert_subject(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|tx| upsert_subject_tx(tx, key, facts, now))
    }

    fn append_consents(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        records: &[ConsentRecord],
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|tx| {
            upsert_subject_tx(tx, key, facts, now)?;
            let stmt = tx.prepare(
                "INSERT INTO consents (subject_key, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )?;
            for r in records {
                tx.execute(
                    &stmt,
                    &[
                        &key.as_bytes().as_slice(),
                        &r.purpose.as_str(),
                        &r.decision.as_str(),
                        &r.purpose_version.as_str(),
                        &r.policy_version.as_str(),
                        &r.source.as_str(),
                        &r.bulk,
                        &r.evidence,
                        &r.at.as_millis(),
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn consent_records(&self, key: &SubjectKey) -> StoreResult<Vec<ConsentRecord>> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = $1 ORDER BY id"
                ),
                &[&key.as_bytes().as_slice()],
            )?
            .iter()
            .map(|r| consent_from_row(r).map(|(_, rec)| rec))
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
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                ),
                &[
                    &key.as_bytes().as_slice(),
                    &page.after.unwrap_or(i64::MAX),
                    &(limit + 1),
                ],
            )?
            .iter()
            .map(consent_from_row)
            .collect::<DbResult<Vec<_>>>()
        })?;
        Ok(crate::sqlite::paginate(rows, limit))
    }

    fn data_key(&self, key: &SubjectKey, fresh: [u8; 32], now: Timestamp) -> StoreResult<[u8; 32]> {
        self.data_key_impl(key, fresh, now)
    }

    fn put_contact(&self, key: &SubjectKey, field: &str, sealed: &[u8]) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO contact (subject_key, field, sealed) VALUES ($1, $2, $3)
                 ON CONFLICT (subject_key, field) DO UPDATE SET sealed = excluded.sealed",
                &[&key.as_bytes().as_slice(), &field, &sealed],
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
        // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
        self.read(|c| {
            c.query(
                "SELECT field, sealed FROM contact WHERE subject_key = $1 ORDER BY field COLLATE \"C\"",
                &[&key.as_bytes().as_slice()],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn upsert_items(&self, items: &[CatalogItem], now: Timestamp) -> StoreResult<()> {
        self.write(|tx| events::upsert_items(tx, items, now))
    }

    fn item(&self, id: &str) -> StoreResult<Option<CatalogItem>> {
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {} FROM items WHERE item_id = $1",
                    events::ITEM_COLUMNS
                ),
                &[&id],
            )?
            .map(|r| events::item_from_row(&r).map(|(_, it)| it))
            .transpose()
        })
    }

    fn items(&self, page: PageRequest) -> StoreResult<Page<CatalogItem>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM items WHERE seq > $1 ORDER BY seq LIMIT $2",
                    events::ITEM_COLUMNS
                ),
                &[&page.after.unwrap_or(0), &(limit + 1)],
            )?
            .iter()
            .map(events::item_from_row)
            .collect::<DbResult<Vec<_>>>()
        })?;
        Ok(crate::sqlite::paginate(rows, limit))
    }

    fn insert_events(&self, batch: EventBatch) -> StoreResult<Vec<InsertOutcome>> {
        self.write(|tx| events::insert_events(tx, &batch))
    }

    fn events(&self, key: &SubjectKey, page: PageRequest) -> StoreResult<Page<StoredEvent>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM events WHERE subject_key = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    events::EVENT_COLUMNS
                ),
                &[
                    &key.as_bytes().as_slice(),
                    &page.after.unwrap_or(i64::MAX),
                    &(limit + 1),
                ],
            )?
            .iter()
            .map(|r| events::event_from_row(r).map(|e| (e.id, e)))
            .collect::<DbResult<Vec<_>>>()
        })?;
        Ok(crate::sqlite::paginate(rows, limit))
    }

    fn all_events(&self, key: &SubjectKey) -> StoreResult<Vec<StoredEvent>> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM events WHERE subject_key = $1 ORDER BY id",
                    events::EVENT_COLUMNS
                ),
                &[&key.as_bytes().as_slice()],
            )?
            .iter()
            .map(events::event_from_row)
            .collect()
        })
    }

    fn subjects_with_events(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<SubjectKey>> {
        // BYTEA compares bytewise, like SQLite's BLOB; the empty key sorts before all others.
        let after = after.map_or_else(Vec::new, |k| k.as_bytes().to_vec());
        let rows: Vec<Vec<u8>> = self.read(|c| {
            c.query(
                "SELECT DISTINCT subject_key FROM events WHERE subject_key > $1 ORDER BY subject_key LIMIT $2",
                &[&after, &i64::from(limit)],
            )?
            .iter()
            .map(|r| r.try_get(0).map_err(DbError::from))
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
        self.write(|tx| {
            events::rewrite(
                tx,
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
        self.write(|tx| events::delete_expired(tx, now, limit, half_life_days, dedupe_window_ms))
    }

    fn merge_events(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        moved: &[Narrowed],
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|tx| events::merge(tx, from, to, moved, half_life_days, now))
    }

    fn profile(&self, key: &SubjectKey) -> StoreResult<Option<Profile>> {
        self.read(|c| events::load_profile(c, key))
    }

    fn put_profile(&self, key: &SubjectKey, profile: &Profile, now: Timestamp) -> StoreResult<()> {
        self.write(|tx| events::save_profile(tx, key, profile, now))
    }

    fn drop_counts(&self, since_day: i64) -> StoreResult<Vec<DropCount>> {
        self.read(|c| events::drop_counts(c, since_day))
    }

    fn consent_stats(&self, since: Timestamp, bucket_ms: i64) -> StoreResult<ConsentStats> {
        self.read(|c| {
            let count = |r: &Row, i| -> DbResult<u64> {
                Ok(u64::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0))
            };
            let buckets = c
                .query(
                    CONSENT_BUCKETS_SQL,
                    &[&since.as_millis(), &bucket_ms.max(1)],
                )?
                .iter()
                .map(|r| {
                    Ok(ConsentBucketCount {
                        purpose: r.try_get(0)?,
                        bucket: r.try_get(1)?,
                        decision: r.try_get(2)?,
                        n: count(r, 3)?,
                    })
                })
                .collect::<DbResult<_>>()?;
            let latest = c
                .query(CONSENT_LATEST_SQL, &[])?
                .iter()
                .map(|r| {
                    Ok(ConsentLatestCount {
                        purpose: r.try_get(0)?,
                        purpose_version: r.try_get(1)?,
                        decision: r.try_get(2)?,
                        n: count(r, 3)?,
                    })
                })
                .collect::<DbResult<_>>()?;
            Ok(ConsentStats { buckets, latest })
        })
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO api_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    keys::API_KEY_COLUMNS
                ),
                &[
                    &key.id,
                    &key.secret_hash.as_slice(),
                    &scopes.join(","),
                    &key.allowed_origins.join(" "),
                    &key.label,
                    &key.created_at.as_millis(),
                    &key.expires_at.map(Timestamp::as_millis),
                    &key.revoked_at.map(Timestamp::as_millis),
                ],
            )?;
            Ok(())
        })
    }

    fn api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {} FROM api_keys WHERE id = $1",
                    keys::API_KEY_COLUMNS
                ),
                &[&id],
            )?
            .map(|r| api_key_from_row(&r))
            .transpose()
        })
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM api_keys ORDER BY created_at, id COLLATE \"C\"",
                    keys::API_KEY_COLUMNS
                ),
                &[],
            )?
            .iter()
            .map(api_key_from_row)
            .collect()
        })
    }

    fn revoke_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write(|tx| {
            Ok(tx.execute(
                &keys::revoke_api_key_sql("$1", "$2"),
                &[&id, &at.as_millis()],
            )?)
        })?;
        keys::found(n)
    }

    fn expire_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write(|tx| {
            Ok(tx.execute(
                &keys::expire_api_key_sql("$1", "$2"),
                &[&id, &at.as_millis()],
            )?)
        })?;
        keys::found(n)
    }

    fn token_keys(&self) -> StoreResult<Vec<TokenKeyRecord>> {
        self.read(|c| {
            c.query(keys::TOKEN_KEYS_SQL, &[])?
                .iter()
                .map(token_key_from_row)
                .collect()
        })
    }

    /// Inserts with the table locked against other insertions (SHARE ROW EXCLUSIVE conflicts
    /// with itself but not with readers): a rotation racing another from a second instance
    /// waits for it, then retires the key it added too, and ids follow commit order.
    fn insert_token_key(
        &self,
        sealed: &[u8],
        now: Timestamp,
        retire_others: bool,
    ) -> StoreResult<i64> {
        self.write(|tx| {
            tx.batch_execute("LOCK TABLE token_keys IN SHARE ROW EXCLUSIVE MODE")?;
            if retire_others {
                tx.execute(&keys::retire_token_keys_sql("$1"), &[&now.as_millis()])?;
            }
            Ok(tx
                .query_one(
                    &keys::insert_token_key_sql("$1", "$2"),
                    &[&sealed, &now.as_millis()],
                )?
                .try_get(0)?)
        })
    }

    fn delete_token_keys_retired_before(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(|tx| {
            Ok(tx.execute(
                &keys::delete_token_keys_retired_before_sql("$1"),
                &[&before.as_millis()],
            )?)
        })
    }

    fn tokens_not_before(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read(|c| {
            c.query_opt(
                &keys::tokens_not_before_sql("$1"),
                &[&key.as_bytes().as_slice()],
            )?
            .map(|r| Ok(Timestamp::from_millis(r.try_get(0)?)))
            .transpose()
        })
    }

    fn revoke_subject_tokens(
        &self,
        key: &SubjectKey,
        at: Timestamp,
        keep_until: Timestamp,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                &keys::revoke_subject_tokens_sql("$1", "$2", "$3"),
                &[
                    &key.as_bytes().as_slice(),
                    &at.as_millis(),
                    &keep_until.as_millis(),
                ],
            )?;
            Ok(())
        })
    }

    fn delete_expired_token_revocations(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(|tx| {
            Ok(tx.execute(
                &keys::delete_expired_token_revocations_sql("$1"),
                &[&now.as_millis()],
            )?)
        })
    }

    fn generation(&self, name: &str) -> StoreResult<i64> {
        self.read(|c| {
            Ok(
                c.query_opt("SELECT value FROM generations WHERE name = $1", &[&name])?
                    .map_or(0, |r| r.get(0)),
            )
        })
    }

    fn bump_generation(&self, name: &str) -> StoreResult<i64> {
        self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO generations (name, value) VALUES ($1, 1)
                     ON CONFLICT (name) DO UPDATE SET value = generations.value + 1 RETURNING value",
                    &[&name],
                )?
                .get(0))
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
        self.write(|tx| preferences::save(tx, key, preferences, now))
    }

    // --- Data-subject rights (postgres/rights.rs). ---

    fn subject_footprint(
        &self,
        key: &SubjectKey,
    ) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.read(|c| rights::footprint(c, key))
    }

    fn erase_subject(&self, key: &SubjectKey, plan: &ErasurePlan) -> StoreResult<ErasureCounts> {
        self.write(|tx| rights::erase(tx, key, plan))
    }

    fn begin_erasure(
        &self,
        key: &SubjectKey,
        plan: &ErasurePlan,
        request: &NewDsrRequest,
    ) -> StoreResult<i64> {
        self.write(|tx| rights::begin_erasure(tx, key, plan, request))
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
        self.write(|tx| rights::finish_erasure(tx, key, request_id, detail, now))
    }

    fn consent_tombstones(&self, proof: &[u8; 32]) -> StoreResult<Vec<ConsentTombstone>> {
        self.read(|c| rights::consent_tombstones(c, proof))
    }

    fn purge_deleted(&self) -> StoreResult<()> {
        // Deleted rows are gone for every reader at commit, but their tuples stay in the heap
        // pages until vacuum prunes them. Vacuum the tables that hold subject data now, so an
        // erased person's rows (their wrapped data key among them) do not wait for
        // autovacuum. Vacuum skips all-visible pages, so this costs about the pages the
        // erasure touched. It cannot prune tuples an older snapshot still sees: a transaction
        // open since before the erasure delays it until that transaction ends. Freed space is
        // reused, not zeroed, until new rows overwrite it (see docs/deployment.md).
        let tables: Vec<&str> = crate::rights::SUBJECT_TABLES
            .iter()
            .map(|(_, table, _, _)| *table)
            .collect();
        let sql = format!("VACUUM {}", tables.join(", "));
        self.read(|c| c.batch_execute(&sql).map_err(DbError::from))
    }

    fn restriction(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read(|c| rights::restriction(c, key))
    }

    fn set_restriction(&self, key: &SubjectKey, since: Option<Timestamp>) -> StoreResult<bool> {
        self.write(|tx| rights::set_restriction(tx, key, since))
    }

    fn mute_interest(&self, key: &SubjectKey, category: &str, now: Timestamp) -> StoreResult<bool> {
        self.write(|tx| rights::mute_interest(tx, key, category, now))
    }

    fn muted_interests(&self, key: &SubjectKey) -> StoreResult<Vec<String>> {
        self.read(|c| rights::muted(c, key))
    }

    fn insert_dsr(&self, request: &NewDsrRequest) -> StoreResult<i64> {
        self.write(|tx| rights::insert_dsr(tx, request))
    }

    fn dsr_requests(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DsrRequest>> {
        let limit = page.limit_clamped();
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM dsr_requests WHERE ($1::text IS NULL OR status = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
                    rights::DSR_COLUMNS
                ),
                &[&status, &page.after.unwrap_or(i64::MAX), &(limit + 1)],
            )?
            .iter()
            .map(rights::dsr_from_row)
            .collect::<DbResult<Vec<_>>>()
        })?;
        Ok(crate::sqlite::paginate(rows, limit))
    }

    fn latest_dsr(&self, subject_ref: &[u8; 32], kind: &str) -> StoreResult<Option<DsrRequest>> {
        self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT {} FROM dsr_requests WHERE subject_ref = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
                    rights::DSR_COLUMNS
                ),
                &[&subject_ref.as_slice(), &kind],
            )?
            .map(|r| rights::dsr_from_row(&r).map(|(_, d)| d))
            .transpose()
        })
    }

    fn dsr_summary(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<crate::DsrKindSummary>> {
        self.read(|c| {
            c.query(
                "SELECT kind,
                        count(*) FILTER (WHERE completed_at IS NULL),
                        count(*) FILTER (WHERE completed_at IS NOT NULL),
                        count(*) FILTER (WHERE completed_at IS NULL AND deadline_at < $2),
                        count(*) FILTER (WHERE completed_at > deadline_at),
                        min(received_at) FILTER (WHERE completed_at IS NULL)
                 FROM dsr_requests WHERE received_at >= $1 OR completed_at IS NULL
                 GROUP BY kind ORDER BY kind",
                &[&since.as_millis(), &now.as_millis()],
            )?
            .iter()
            .map(|r| {
                let n = |i: usize| -> DbResult<u64> { Ok(r.try_get::<_, i64>(i)? as u64) };
                Ok(crate::DsrKindSummary {
                    kind: r.try_get(0)?,
                    n_open: n(1)?,
                    n_closed: n(2)?,
                    n_overdue: n(3)?,
                    n_closed_late: n(4)?,
                    oldest_open_received_at: r
                        .try_get::<_, Option<i64>>(5)?
                        .map(Timestamp::from_millis),
                })
            })
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
            c.query(
                "SELECT DISTINCT slot FROM exposure_lists WHERE at >= $1 ORDER BY slot LIMIT $2",
                &[&since.as_millis(), &i64::from(limit)],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
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
