//! The SQL both backends run, written once.
//!
//! Each query here is plain SQL that SQLite and PostgreSQL both accept, with numbered
//! placeholders (`?1`, `?2`…) that the PostgreSQL connection rewrites to `$1`, `$2`…. The
//! dialect differences left are handled in one place each:
//!
//! - **Parameters** are [`Value`]s; a PostgreSQL connection converts each to the type its
//!   statement expects (INT4, INT8, BOOLEAN, BYTEA, TEXT), so one query binds the same values
//!   to SQLite's dynamic columns and PostgreSQL's strict ones.
//! - **Rows** are read through [`Row`], whose integer accessor reads any integer or boolean
//!   column, so `bulk` reads the same from SQLite's `0/1` and PostgreSQL's `BOOLEAN`.
//! - **Upserts** use `ON CONFLICT … DO UPDATE` and `RETURNING`, which both accept; times are
//!   integer milliseconds computed in Rust, so no SQL time function is needed; sums are
//!   `CAST(… AS BIGINT)` (PostgreSQL sums BIGINT to NUMERIC); text that must sort in byte
//!   order says ` COLLATE "C"`, which SQLite's connection drops (byte order is its default).
//!
//! A backend provides connections ([`Conn`]) and runs closures over them ([`SqlBackend`]);
//! the aggregate traits are implemented once, for every [`SqlBackend`], in this module's
//! children. A backend keeps only what genuinely differs: connections and pooling,
//! migrations, TLS, file modes, and the paths it runs its own way ([`SqlBackend`]'s hooks).

pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod campaigns;
pub(crate) mod consent;
pub(crate) mod data_keys;
pub(crate) mod events;
pub(crate) mod experiments;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod preferences;
pub(crate) mod profiles;
pub(crate) mod rights;

use crate::StoreResult;

/// What can fail inside one store operation: the driver, or a row Candor cannot read back.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Pg(postgres::Error),
    BadRow(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        DbError::Pg(e)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Sqlite(e) => e.fmt(f),
            DbError::Pg(e) => e.fmt(f),
            DbError::BadRow(msg) => f.write_str(msg),
        }
    }
}

pub(crate) type DbResult<T> = Result<T, DbError>;

/// A stored value Candor cannot read back.
pub(crate) fn bad_row(what: &str, value: &str) -> DbError {
    DbError::BadRow(format!("unreadable {what} `{value}`"))
}

/// One query parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Value::Blob(v)
    }
}

impl<'a> From<&'a candor_domain::SubjectKey> for Value<'a> {
    fn from(v: &'a candor_domain::SubjectKey) -> Self {
        Value::Blob(v.as_bytes())
    }
}

impl From<candor_domain::time::Timestamp> for Value<'_> {
    fn from(v: candor_domain::time::Timestamp) -> Self {
        Value::Int(v.as_millis())
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The parameters of one query, each converted to a [`Value`].
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($v)),*][..]
    };
}
pub(crate) use params;

/// One result row. Columns are numbered from 0; a NULL read by a non-optional accessor is
/// an unreadable row, not a panic.
pub(crate) trait Row {
    /// An integer or boolean column (booleans read as 0 or 1).
    fn opt_i64(&self, i: usize) -> DbResult<Option<i64>>;
    fn opt_text(&self, i: usize) -> DbResult<Option<String>>;
    fn opt_blob(&self, i: usize) -> DbResult<Option<Vec<u8>>>;
    fn opt_f64(&self, i: usize) -> DbResult<Option<f64>>;
    /// A text column borrowed from the row, for reads too large to allocate per row.
    fn opt_str(&self, i: usize) -> DbResult<Option<&str>>;
    /// A blob column borrowed from the row.
    fn opt_bytes(&self, i: usize) -> DbResult<Option<&[u8]>>;

    fn str(&self, i: usize) -> DbResult<&str> {
        self.opt_str(i)?.ok_or_else(|| null(i))
    }
    fn i64(&self, i: usize) -> DbResult<i64> {
        self.opt_i64(i)?.ok_or_else(|| null(i))
    }
    fn bool(&self, i: usize) -> DbResult<bool> {
        self.i64(i).map(|v| v != 0)
    }
    fn text(&self, i: usize) -> DbResult<String> {
        self.opt_text(i)?.ok_or_else(|| null(i))
    }
    fn blob(&self, i: usize) -> DbResult<Vec<u8>> {
        self.opt_blob(i)?.ok_or_else(|| null(i))
    }
    fn f64(&self, i: usize) -> DbResult<f64> {
        self.opt_f64(i)?.ok_or_else(|| null(i))
    }
    fn time(&self, i: usize) -> DbResult<candor_domain::time::Timestamp> {
        self.i64(i).map(candor_domain::time::Timestamp::from_millis)
    }
    fn opt_time(&self, i: usize) -> DbResult<Option<candor_domain::time::Timestamp>> {
        Ok(self
            .opt_i64(i)?
            .map(candor_domain::time::Timestamp::from_millis))
    }
    fn key(&self, i: usize) -> DbResult<candor_domain::SubjectKey> {
        let bytes = self.opt_bytes(i)?.ok_or_else(|| null(i))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad_row("subject key", "of wrong length"))?;
        Ok(candor_domain::SubjectKey::from_bytes(bytes))
    }
}

fn null(i: usize) -> DbError {
    DbError::BadRow(format!("unexpected NULL in column {i}"))
}

/// Which SQL a connection speaks, for the few spots the shared text cannot cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The catalog's insertion-order column: SQLite's implicit `rowid`, PostgreSQL's identity
    /// column `seq` (same migrations' layout as before).
    pub(crate) fn item_seq(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "seq",
        }
    }

    /// ` FOR UPDATE SKIP LOCKED` where concurrent writers could take the same rows (retention
    /// on several instances takes disjoint sets of rows instead of queueing).
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// How a transaction locks a table against concurrent writers (PostgreSQL's table lock modes;
/// a single writer needs none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// SHARE: conflicts with [`Lock::Exclusive`] only, not with itself nor with readers.
    Share,
    /// SHARE ROW EXCLUSIVE: conflicts with itself and with [`Lock::Share`], not with readers.
    Exclusive,
}

/// One connection, or one transaction on it.
///
/// The SQL handed to it is the shared text: numbered `?n` placeholders, and ` COLLATE "C"`
/// wherever text must sort in byte order (PostgreSQL's default follows the database locale;
/// SQLite's default is already byte order, so its connection drops the clause).
pub(crate) trait Conn {
    /// Locks `table` against concurrent writers until the transaction ends (a no-op where the
    /// backend has a single writer).
    fn lock_table(&mut self, table: &str, lock: Lock) -> DbResult<()>;
    fn dialect(&self) -> Dialect;
    /// Whether other writers run concurrently, so a read-modify-write must lock the rows it
    /// reads (`FOR UPDATE`). False where one connection does every write.
    fn row_locks(&self) -> bool {
        self.dialect() == Dialect::Postgres
    }
    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> DbResult<u64>;
    /// Runs a query and hands each row to `each`, in order.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()>;
}

impl dyn Conn + '_ {
    /// Every row, mapped.
    pub(crate) fn query<T>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        mut map: impl FnMut(&dyn Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |r| {
            out.push(map(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    pub(crate) fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        mut map: impl FnMut(&dyn Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        let mut out = None;
        self.query_each(sql, params, &mut |r| {
            if out.is_none() {
                out = Some(map(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped; a query that returns none is a bug in the SQL.
    pub(crate) fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        map: impl FnMut(&dyn Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.query_opt(sql, params, map)?
            .ok_or_else(|| DbError::BadRow("a query that returns one row returned none".into()))
    }
}

/// A backend the shared SQL runs on: it lends connections and keeps the paths it runs its own
/// way. Writes run in one transaction, committed when the closure succeeds; a backend may run
/// the closure again when the transaction failed for a transient reason (PostgreSQL's
/// serialization failures), so it must not have effects outside the transaction.
pub(crate) trait SqlBackend: Send + Sync + 'static {
    fn read_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T>;
    fn write_sql<T>(&self, f: &mut dyn FnMut(&mut dyn Conn) -> DbResult<T>) -> StoreResult<T>;

    /// See [`crate::MetaStore::reads_in_place`].
    fn reads_in_place(&self) -> bool;
    /// See [`crate::RightsStore::purge_deleted`].
    fn purge_deleted(&self) -> StoreResult<()>;

    /// The root data keys are wrapped under, once given, and the KEKs derived from it.
    fn keyring(&self) -> &crate::wrap::Keyring;
}

/// The consent gate's and serving's reads, each backend's own: they are the hot paths
/// ([`crate::ConsentStore::subject_ledgers`], [`crate::ConsentStore::serving_inputs`]).
pub(crate) trait ServingReads {
    fn subject_ledgers_impl(
        &self,
        keys: &[candor_domain::SubjectKey],
    ) -> StoreResult<std::collections::HashMap<candor_domain::SubjectKey, crate::SubjectLedger>>;
    fn serving_inputs_impl(
        &self,
        key: &candor_domain::SubjectKey,
        wants_history: &dyn Fn(&crate::SubjectLedger, &crate::Preferences) -> bool,
    ) -> StoreResult<crate::ServingInputs>;
    /// See [`crate::ConsentStore::serving_inputs_each`]. By default the collected read,
    /// handed over event by event; a backend streams its rows instead to spare the
    /// allocations of every event.
    fn serving_inputs_each_impl(
        &self,
        key: &candor_domain::SubjectKey,
        wants_history: &dyn Fn(&crate::SubjectLedger, &crate::Preferences) -> bool,
        each: &mut dyn FnMut(crate::HistoryRef<'_>),
    ) -> StoreResult<crate::ServingState> {
        let inputs = self.serving_inputs_impl(key, wants_history)?;
        for event in &inputs.history {
            each(event.borrowed());
        }
        Ok(crate::ServingState {
            ledger: inputs.ledger,
            preferences: inputs.preferences,
        })
    }
}

/// Ingestion, each backend's own: SQLite's group commit, PostgreSQL's set-based batch
/// ([`crate::EventStore::insert_events`]); with it, where events are kept ([`Partitions`]).
pub(crate) trait Ingest: Partitions {
    fn commit_ingest_impl(
        &self,
        commit: crate::IngestCommit,
    ) -> StoreResult<Vec<crate::InsertOutcome>>;
}

/// Time partitions, PostgreSQL's alone: SQLite keeps one table per kind, and every method
/// here does nothing there. See [`crate::EventStore::prepare_partitions`].
pub(crate) trait Partitions {
    /// Creates the partitions the coming months need.
    fn prepare_partitions_impl(&self, _now: candor_domain::time::Timestamp) -> StoreResult<()> {
        Ok(())
    }
    /// Drops the partitions of events wholly expired at `now`, queueing the profiles their
    /// events fed; returns how many events went.
    fn drop_expired_events_impl(&self, _now: candor_domain::time::Timestamp) -> StoreResult<u64> {
        Ok(0)
    }
    /// Drops the partitions of exposure lists wholly served before `before`.
    fn drop_exposures_before_impl(
        &self,
        _before: candor_domain::time::Timestamp,
    ) -> StoreResult<crate::DeletedExposures> {
        Ok(crate::DeletedExposures::default())
    }
    /// Rebuilds up to `limit` queued profiles; returns how many it took from the queue.
    fn rebuild_queued_profiles_impl(
        &self,
        _limit: u32,
        _half_life_days: f64,
        _now: candor_domain::time::Timestamp,
    ) -> StoreResult<u64> {
        Ok(0)
    }
}

/// What each backend stores or orders its own way in campaigns (run outcomes, insertion
/// order), reads in bulk (audience pages) or commits with exact caps across writers (runs).
/// See [`crate::CampaignStore`].
pub(crate) trait CampaignBackend {
    fn segments_impl(&self) -> StoreResult<Vec<crate::SegmentRecord>>;
    fn campaigns_impl(&self) -> StoreResult<Vec<crate::CampaignRecord>>;
    fn audience_page_impl(
        &self,
        after: Option<&candor_domain::SubjectKey>,
        limit: u32,
        query: &crate::AudienceQuery,
    ) -> StoreResult<Vec<crate::AudienceRow>>;
    fn commit_run_impl(&self, run: &crate::NewRun) -> StoreResult<Vec<crate::RunOutcome>>;
    fn stream_run_impl(
        &self,
        run: &crate::NewRun,
        decide: &mut dyn FnMut(&dyn crate::RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[crate::RunOutcome]) -> StoreResult<Option<crate::NewFlag>>,
    ) -> StoreResult<crate::CommittedRun>;
    fn latest_run_impl(&self, campaign_id: &str) -> StoreResult<Option<crate::RunRecord>>;
    fn run_outcomes_impl(&self, run_id: &str) -> StoreResult<Vec<crate::RunOutcome>>;
    fn subject_outcomes_impl(
        &self,
        key: &candor_domain::SubjectKey,
        limit: u32,
    ) -> StoreResult<Vec<crate::SubjectOutcome>>;
}

/// `?1, ?2, …` from `?{from}` for `n` values: a row of a multi-row insert or an `IN` list.
pub(crate) fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns `limit + 1` rows fetched by id into a page and the cursor for the next one.
pub(crate) fn paginate<T>(mut rows: Vec<(i64, T)>, limit: i64) -> crate::Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|(id, _)| *id)
    } else {
        None
    };
    crate::Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}
