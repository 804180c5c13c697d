//! Candor's durable truth.
//!
//! [`Store`] is the one interface the rest of Candor uses to keep data; every backend passes
//! the same contract suite (`contract`, behind the `contract` feature). The embedded default
//! is [`sqlite::SqliteStore`]; [`postgres::PostgresStore`] lets many instances share one
//! database.
//!
//! **Architecture invariant:** no driver type crosses this crate's boundary. Callers see domain
//! types and [`StoreError`], never `rusqlite` or `postgres` errors.
//!
//! The trait is synchronous: SQLite is an in-process library, and the server calls the store
//! from blocking tasks so the async runtime never waits on disk.

pub mod accountability;
pub mod analytics;
pub mod campaigns;
pub mod experiments;
pub mod model;
pub mod postgres;
pub mod rights;
mod sql;
pub mod sqlite;
pub mod wrap;

#[cfg(feature = "contract")]
pub mod contract;

use candor_domain::SubjectKey;
use candor_domain::consent::{ConsentRecord, SubjectFacts};
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use std::collections::BTreeMap;

pub use accountability::{DeletedExposures, Exposure};
pub use analytics::AnalyticsStore;
pub use campaigns::*;
pub use candor_accountability::audit::{AuditDraft, AuditEntry};
pub use experiments::*;
pub use model::*;
pub use rights::*;
pub use wrap::{KekRecord, KekRoot, KekStatus};

/// What can go wrong when storing or loading, without driver details.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is busy, gone or out of space; retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The storage contract: every aggregate's trait. Callers hold `&dyn Store` or
/// `Arc<dyn Store>` and bring the aggregate traits into scope with `use candor_store::prelude::*`.
pub trait Store:
    MetaStore
    + AnalyticsStore
    + ConsentStore
    + KeyStore
    + EventStore
    + RightsStore
    + AuditStore
    + CampaignStore
    + ExperimentStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: MetaStore
        + AnalyticsStore
        + ConsentStore
        + KeyStore
        + EventStore
        + RightsStore
        + AuditStore
        + CampaignStore
        + ExperimentStore
        + Send
        + Sync
        + 'static
{
}

/// [`CampaignStore::stream_run`] for a backend that cannot reserve while the run is decided:
/// collects the outcomes, measures them, then commits them in one [`CampaignStore::commit_run`].
pub(crate) fn stream_buffered<S: CampaignStore + ?Sized>(
    store: &S,
    run: &NewRun,
    decide: &mut dyn FnMut(&dyn RunSink) -> StoreResult<()>,
    measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<NewFlag>>,
) -> StoreResult<CommittedRun> {
    let sink = BufferedRun::default();
    decide(&sink)?;
    let outcomes = sink.into_outcomes();
    let decided: Vec<RunOutcome> = outcomes.iter().map(NewOutcome::as_decided).collect();
    let flag = measure(&decided)?;
    let run = NewRun {
        outcomes,
        flag,
        ..run.clone()
    };
    let outcomes = store.commit_run(&run)?;
    let held = run.hold_if_flagged && store.held_deliveries(Some(&run.run_id))? > 0;
    Ok(CommittedRun { outcomes, held })
}

/// The store traits, for one `use` wherever a store is called.
pub mod prelude {
    pub use crate::{
        AnalyticsStore, AuditStore, CampaignStore, ConsentStore, EventStore, ExperimentStore,
        KeyStore, MetaStore, RightsStore, Store,
    };
}

/// Process-wide values and liveness: readiness, the meta table, generation counters.
pub trait MetaStore {
    /// Whether the store can serve requests now (for `/readyz`).
    fn ping(&self) -> StoreResult<()>;

    /// Whether a short read could run right now on the caller's thread without waiting: on
    /// the network, or for a connection another thread holds. A hint, not a promise — a read
    /// started on it may still wait a little if another thread takes the connection first.
    /// The server runs point reads in place on its async workers when this says so, and on
    /// the blocking pool otherwise. By default, never.
    fn reads_in_place(&self) -> bool {
        false
    }

    /// Reads a process-wide value (server secret, demo seed...).
    fn meta_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Stores `value` under `key` unless one exists; returns the value that is stored now, so
    /// concurrent first starts agree on one secret.
    fn meta_put_if_absent(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>>;

    /// The current value of a named counter (0 if never bumped). Instances compare it with
    /// the value their cache was built at.
    fn generation(&self, name: &str) -> StoreResult<i64>;

    /// Increments a named counter and returns the new value, atomically across instances.
    fn bump_generation(&self, name: &str) -> StoreResult<i64>;
}

/// Subjects and what they decided: facts, the consent ledger, restriction, preferences,
/// data keys and sealed contact data.
pub trait ConsentStore {
    /// The subject's facts and flags, if Candor holds anything about them.
    fn subject(&self, key: &SubjectKey) -> StoreResult<Option<SubjectRecord>>;

    /// Creates the subject if needed and updates the facts that are `Some`.
    fn upsert_subject(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Appends consent records for one subject atomically, creating the subject if needed.
    fn append_consents(
        &self,
        key: &SubjectKey,
        facts: &SubjectFacts,
        records: &[ConsentRecord],
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Every consent record of a subject, oldest first (the input of consent derivation).
    fn consent_records(&self, key: &SubjectKey) -> StoreResult<Vec<ConsentRecord>>;

    /// The facts, consent ledger and restriction of each of `keys` (every key is in the
    /// answer; one Candor knows nothing about has the defaults). One read for a whole batch:
    /// the ingestion gate's lookup.
    fn subject_ledgers(
        &self,
        keys: &[SubjectKey],
    ) -> StoreResult<std::collections::HashMap<SubjectKey, SubjectLedger>>;

    /// What a recommendations request needs about `key` in one call: the ledger, restriction
    /// and preferences, then the history only if `wants_history` says so given those — so a
    /// person whose consent does not allow personalization never has their history loaded.
    fn serving_inputs(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
    ) -> StoreResult<ServingInputs>;

    /// [`ConsentStore::serving_inputs`] handing each history event to `each` as it is read,
    /// oldest first, instead of collecting them: the recommendations request's read, which
    /// keeps only what it can use and allocates nothing per event. `each` is called only
    /// after `wants_history` said yes, within the same read.
    fn serving_inputs_each(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
        each: &mut dyn FnMut(HistoryRef<'_>),
    ) -> StoreResult<ServingState>;

    /// A page of a subject's consent history, newest first.
    fn consent_history(
        &self,
        key: &SubjectKey,
        page: PageRequest,
    ) -> StoreResult<Page<ConsentRecord>>;

    /// The subject's data key, created from `fresh` if the subject has none yet. Stored
    /// wrapped (`wrap`); fails while the store is locked ([`KeyStore::unlock_data_keys`]).
    fn data_key(&self, key: &SubjectKey, fresh: [u8; 32], now: Timestamp) -> StoreResult<[u8; 32]>;

    /// Stores sealed contact data (already encrypted with the subject's data key).
    fn put_contact(&self, key: &SubjectKey, field: &str, sealed: &[u8]) -> StoreResult<()>;

    fn contact(&self, key: &SubjectKey) -> StoreResult<Vec<(String, Vec<u8>)>>;

    /// The subject's data key if one was created, without creating one: for reading sealed
    /// contact data, which never exists without its key.
    fn existing_data_key(&self, key: &SubjectKey) -> StoreResult<Option<[u8; 32]>>;

    /// The consent ledger counted: decisions recorded at or after `since` in buckets of
    /// `bucket_ms` (bucket 0 starts at `since`), and every subject's latest decision per
    /// purpose, whenever it was made.
    fn consent_stats(&self, since: Timestamp, bucket_ms: i64) -> StoreResult<ConsentStats>;

    /// A subject's preferences; the default when they never set any.
    fn preferences(&self, key: &SubjectKey) -> StoreResult<Preferences>;

    /// Replaces a subject's preferences (default preferences delete the row).
    fn put_preferences(
        &self,
        key: &SubjectKey,
        preferences: &Preferences,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Since when processing of the subject's data is restricted, if it is.
    fn restriction(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>>;

    /// Restricts (`Some(since)`) or lifts (`None`). Returns whether anything changed.
    fn set_restriction(&self, key: &SubjectKey, since: Option<Timestamp>) -> StoreResult<bool>;
}

/// Credentials: API keys, token signing keys, per-subject token revocation, and the
/// key-encryption keys data keys are wrapped under.
pub trait KeyStore {
    /// Hands the store the root its key-encryption keys (KEKs) derive from. Creates the first
    /// KEK if there is none, refuses a root that does not derive the newest one (another
    /// server secret), then re-wraps under the newest KEK every data key not under it — keys
    /// stored in the clear before wrapping existed, and those an interrupted rotation left
    /// under an older KEK — a batch per transaction. Returns how many it re-wrapped. Until it
    /// has succeeded, data keys can be neither created nor read.
    fn unlock_data_keys(&self, root: KekRoot, now: Timestamp) -> StoreResult<u64>;

    /// Adds a KEK that wraps every data key created from now on, and retires the others;
    /// they still unwrap the keys they wrap until those are re-wrapped. Returns its id.
    fn add_kek(&self, now: Timestamp) -> StoreResult<i64>;

    /// Re-wraps under the newest KEK up to `limit` data keys that are in the clear or under
    /// an older KEK, in one transaction; returns how many (0: every key is under the newest).
    fn rewrap_data_keys(&self, limit: u32) -> StoreResult<u64>;

    /// Every KEK with how many data keys it wraps, and how many are still in the clear.
    fn kek_status(&self) -> StoreResult<KekStatus>;

    fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;

    fn api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>>;

    /// Every key, revoked and expired ones included, oldest first.
    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>>;

    /// Revokes key `id` at `at`. `NotFound` for an unknown id; revoking a revoked key keeps
    /// the first revocation time and succeeds.
    fn revoke_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    /// Sets when key `id` stops working, never later than an expiry it already has
    /// (rotation's grace period can only shorten a key's life). `NotFound` for an unknown id.
    fn expire_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    /// Every token signing key, oldest first.
    fn token_keys(&self) -> StoreResult<Vec<TokenKeyRecord>>;

    /// Adds a signing key; marks every earlier one retired at `now` when `retire_others`.
    /// Returns the new key's id (ids increase).
    fn insert_token_key(
        &self,
        sealed: &[u8],
        now: Timestamp,
        retire_others: bool,
    ) -> StoreResult<i64>;

    /// Deletes signing keys retired before `before`; returns how many.
    fn delete_token_keys_retired_before(&self, before: Timestamp) -> StoreResult<u64>;

    /// The instant before which every token issued for `key` is void ("sign out
    /// everywhere", erasure), if any.
    fn tokens_not_before(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>>;

    /// Voids every token issued for `key` up to `at`; the marker is kept until `keep_until`
    /// (by then every token it voids has expired anyway). A later `at` wins over an earlier.
    /// Not subject data: it survives erasure on purpose, so an erased person's old tokens
    /// stay void.
    fn revoke_subject_tokens(
        &self,
        key: &SubjectKey,
        at: Timestamp,
        keep_until: Timestamp,
    ) -> StoreResult<()>;

    /// Deletes revocation markers whose `keep_until` has passed; returns how many.
    fn delete_expired_token_revocations(&self, now: Timestamp) -> StoreResult<u64>;
}

/// Events and what is derived from them: the catalog, interest profiles (and muted
/// interests), drop counters and exposures.
pub trait EventStore {
    /// Inserts or replaces catalog items.
    fn upsert_items(&self, items: &[CatalogItem], now: Timestamp) -> StoreResult<()>;

    fn item(&self, id: &str) -> StoreResult<Option<CatalogItem>>;

    /// The catalog in insertion order.
    fn items(&self, page: PageRequest) -> StoreResult<Page<CatalogItem>>;

    /// Stores admitted events, skipping message ids seen within the dedupe window, bumps the
    /// anonymous drop counters and updates interest profiles — all in one durable commit.
    /// Concurrent calls may share a commit (group commit); each returns only once its events
    /// are on disk.
    fn insert_events(&self, batch: EventBatch) -> StoreResult<Vec<InsertOutcome>>;

    /// Commits a planned ingestion batch in one transaction: appends each subject's consent
    /// records (creating the subject with default facts if new), appends the audit entries in
    /// order, then stores the events as [`EventStore::insert_events`] does. All of it or none;
    /// it shares group commits with concurrent batches like `insert_events`.
    fn commit_ingest(&self, commit: IngestCommit) -> StoreResult<Vec<InsertOutcome>>;

    /// A page of a subject's events, newest first.
    fn events(&self, key: &SubjectKey, page: PageRequest) -> StoreResult<Page<StoredEvent>>;

    /// Every event of a subject, oldest first.
    fn all_events(&self, key: &SubjectKey) -> StoreResult<Vec<StoredEvent>>;

    /// Subjects that have stored events, in key order after `after`.
    fn subjects_with_events(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<SubjectKey>>;

    /// Deletes and narrows a subject's events, then rebuilds their profile from what remains.
    fn rewrite_events(
        &self,
        key: &SubjectKey,
        rewrite: &EventRewrite,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Deletes events past their expiry, rebuilds the affected profiles and forgets message
    /// ids older than the dedupe window. Returns the number of events deleted.
    ///
    /// On PostgreSQL every month partition wholly expired at `now` is detached first, in an
    /// instant whatever its size, then noted and dropped; the profiles its events fed are
    /// queued for [`EventStore::rebuild_queued_profiles`] rather than rebuilt in the drop.
    /// Then at most `limit` events are deleted one by one from what expired in the months
    /// still partly live. SQLite deletes at most `limit` events.
    fn delete_expired(
        &self,
        now: Timestamp,
        limit: u32,
        half_life_days: f64,
        dedupe_window_ms: i64,
    ) -> StoreResult<u64>;

    /// Makes sure the storage for the coming months exists: on PostgreSQL, the month
    /// partitions of events and exposure lists (created at every start too); nothing on SQLite.
    /// Safe to call from several instances at once.
    fn prepare_partitions(&self, now: Timestamp) -> StoreResult<()>;

    /// Rebuilds up to `limit` of the profiles [`EventStore::delete_expired`] queued when it
    /// dropped a partition (PostgreSQL), so no profile keeps the contribution of dropped
    /// events. Returns how many subjects it took from the queue: fewer than `limit` once the
    /// queue is empty. Always 0 on SQLite, which rebuilds as it deletes.
    fn rebuild_queued_profiles(
        &self,
        limit: u32,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<u64>;

    /// Moves events from one subject to another (identify), recording the merge.
    fn merge_events(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        moved: &[Narrowed],
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()>;

    fn profile(&self, key: &SubjectKey) -> StoreResult<Option<Profile>>;

    fn put_profile(&self, key: &SubjectKey, profile: &Profile, now: Timestamp) -> StoreResult<()>;

    /// Anonymous counters of events not stored, since `since_day` (days since the epoch).
    fn drop_counts(&self, since_day: i64) -> StoreResult<Vec<DropCount>>;

    /// Mutes an inferred interest: removes it from the profile and keeps it out of every later
    /// profile update, in one transaction. Returns whether the profile held it.
    fn mute_interest(&self, key: &SubjectKey, category: &str, now: Timestamp) -> StoreResult<bool>;

    fn muted_interests(&self, key: &SubjectKey) -> StoreResult<Vec<String>>;

    /// Records exposures (items shown in recommendation slots) in one commit.
    fn record_exposures(&self, exposures: &[Exposure]) -> StoreResult<()>;

    /// A page of a slot's exposures at or after `since`, oldest first.
    fn exposures_for_slot(
        &self,
        slot: &str,
        since: Timestamp,
        page: PageRequest,
    ) -> StoreResult<Page<Exposure>>;

    /// Every exposure of a subject, oldest first (access requests).
    fn exposures_for_subject(&self, key: &SubjectKey) -> StoreResult<Vec<Exposure>>;

    /// Removes a subject's exposures (erasure). Returns how many were removed.
    fn delete_exposures(&self, key: &SubjectKey) -> StoreResult<u64>;

    /// The slots with exposures at or after `since`, in name order (at most `limit`).
    fn exposure_slots(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<String>>;

    /// Retention: deletes, among the `limit` oldest recorded lists, those served before
    /// `before`. Lists are recorded in the order served, so calling again while a call deletes
    /// every list it reads removes the expired ones oldest first, reading little more than it
    /// deletes (there is no index on the time alone).
    fn delete_exposures_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedExposures>;
}

/// Data-subject rights: footprint, erasure and its intents, consent tombstones and the
/// request log.
pub trait RightsStore {
    /// How many rows each kind of personal data holds for the subject ("events", "consents",
    /// "contact", "data_key", "profile", "subject", "merges", "restriction", "muted_interests"
    /// ...). Kinds with no rows are left out, so an empty map means nothing is held.
    fn subject_footprint(&self, key: &SubjectKey) -> StoreResult<BTreeMap<String, u64>>;

    /// Deletes everything held under `key` in one transaction and returns what it deleted.
    /// Consent records become tombstones under `plan.tombstone` when it is set. If an erasure
    /// intent exists for the subject, the counts are saved in it in the same transaction, so a
    /// resumed erasure still reports them. Every table holding subject data must be covered
    /// here: the contract checks that the footprint is empty afterwards.
    fn erase_subject(&self, key: &SubjectKey, plan: &ErasurePlan) -> StoreResult<ErasureCounts>;

    /// Records an erasure request (status in progress) and the intent to erase, together.
    /// Returns the request id; an intent that already exists is returned instead.
    fn begin_erasure(
        &self,
        key: &SubjectKey,
        plan: &ErasurePlan,
        request: &NewDsrRequest,
    ) -> StoreResult<i64>;

    /// Erasures begun and not finished, oldest first (finished on start-up).
    fn erasure_intents(&self) -> StoreResult<Vec<ErasureIntent>>;

    /// Drops the intent and marks the request completed with `detail` (the receipt).
    fn finish_erasure(
        &self,
        key: &SubjectKey,
        request_id: i64,
        detail: &str,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The consent-proof tombstones kept under `proof`, oldest first.
    fn consent_tombstones(&self, proof: &[u8; 32]) -> StoreResult<Vec<ConsentTombstone>>;

    /// Makes deleted data unrecoverable from the store's files (SQLite: checkpoint and
    /// truncate the write-ahead log). A no-op where the backend has nothing to do.
    fn purge_deleted(&self) -> StoreResult<()>;

    /// Records a data-subject request; returns its id.
    fn insert_dsr(&self, request: &NewDsrRequest) -> StoreResult<i64>;

    /// Requests, newest first, optionally only those with `status`.
    fn dsr_requests(
        &self,
        status: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DsrRequest>>;

    /// The newest request of `kind` about the subject `subject_ref` points to.
    fn latest_dsr(&self, subject_ref: &[u8; 32], kind: &str) -> StoreResult<Option<DsrRequest>>;

    /// The request log summed per kind, in kind order, over requests received at or after
    /// `since` and every request still open whenever it arrived (an old open request is still
    /// owed an answer). Overdue means open with its deadline before `now`.
    fn dsr_summary(&self, since: Timestamp, now: Timestamp) -> StoreResult<Vec<DsrKindSummary>>;
}

/// Accountability: the audit chain and per-subject audit attributes.
pub trait AuditStore {
    /// Appends `draft` to the audit chain, linked to the current head, in one transaction that
    /// no other append (from this process or another) can interleave with. Returns the entry
    /// as stored.
    fn audit_append(&self, draft: AuditDraft) -> StoreResult<AuditEntry>;

    /// A page of the audit chain in storage order (oldest first). The cursor is a storage
    /// position, not a sequence number, so a damaged log still pages through every row.
    fn audit_entries(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>>;

    /// The last entry of the chain, if any.
    fn audit_head(&self) -> StoreResult<Option<AuditEntry>>;

    /// The latest entry with this action code (the last recorded policy change, say).
    fn audit_last(&self, action: &str) -> StoreResult<Option<AuditEntry>>;

    /// Stores a subject's audit attributes, already sealed with their data key, replacing
    /// earlier ones.
    fn put_audit_attributes(
        &self,
        key: &SubjectKey,
        sealed: &[u8],
        now: Timestamp,
    ) -> StoreResult<()>;

    /// A subject's sealed audit attributes.
    fn audit_attributes(&self, key: &SubjectKey) -> StoreResult<Option<Vec<u8>>>;

    /// Subjects with audit attributes and their sealed values, in key order after `after`.
    fn audit_attributes_after(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<(SubjectKey, Vec<u8>)>>;

    /// Removes a subject's audit attributes (erasure, or withdrawal of `fairness_audit`).
    /// Returns whether there were any.
    fn delete_audit_attributes(&self, key: &SubjectKey) -> StoreResult<bool>;
}

/// Segments, campaigns, runs, fairness flags and deliveries.
pub trait CampaignStore: ConsentStore + EventStore {
    /// Saves a new segment; `Conflict` if the id is taken (segments are immutable, so running
    /// campaigns keep the audience they were created with).
    fn insert_segment(&self, segment: &SegmentRecord) -> StoreResult<()>;

    fn segment(&self, id: &str) -> StoreResult<Option<SegmentRecord>>;

    /// Every segment, oldest first.
    fn segments(&self) -> StoreResult<Vec<SegmentRecord>>;

    /// Saves a new campaign; `Conflict` if the id is taken.
    fn insert_campaign(&self, campaign: &CampaignRecord) -> StoreResult<()>;

    fn campaign(&self, id: &str) -> StoreResult<Option<CampaignRecord>>;

    /// Every campaign, oldest first.
    fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>>;

    /// Known subjects (anyone with a subject record), in key order after `after`.
    fn subject_keys(&self, after: Option<&SubjectKey>, limit: u32) -> StoreResult<Vec<SubjectKey>>;

    /// The next page of known subjects after `after`, in key order, each with everything a
    /// campaign decision reads (as much history as `query` asks for). The default loads one
    /// subject at a time; a backend can answer with a few set-based reads per page.
    fn audience_page(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        query: &AudienceQuery,
    ) -> StoreResult<Vec<AudienceRow>> {
        let last_key = query.last_key();
        self.subject_keys(after, limit)?
            .into_iter()
            .take_while(|key| key.as_bytes() <= &last_key)
            .map(|key| {
                let facts = self.subject(&key)?.map(|s| s.facts).unwrap_or_default();
                let mut row = AudienceRow::new(key, facts);
                row.consents = self.consent_records(&key)?;
                row.profile = self.profile(&key)?;
                if let Some(since) = query.events_since {
                    row.events = self
                        .all_events(&key)?
                        .iter()
                        .filter(|e| e.occurred_at > since)
                        .filter_map(AudienceEvent::of)
                        .collect();
                }
                row.marketing = self.marketing_state(&key, query.deliveries_since)?;
                row.restriction = self.restriction(&key)?;
                row.preferences = self.preferences(&key)?;
                Ok(row)
            })
            .collect()
    }

    /// Unsubscribes, time zone and the deliveries since `since` of one subject.
    fn marketing_state(&self, key: &SubjectKey, since: Timestamp) -> StoreResult<MarketingState>;

    /// Records a subject's time zone for quiet hours.
    fn set_time_zone(&self, key: &SubjectKey, time_zone: &str) -> StoreResult<()>;

    /// Unsubscribes a subject from a channel; idempotent.
    fn unsubscribe(&self, key: &SubjectKey, channel: &str, now: Timestamp) -> StoreResult<()>;

    /// Commits a run in one transaction: each selected outcome's delivery is reserved only if
    /// the channel cap and the campaign cap still have room when it is written, so concurrent
    /// runs (on any number of instances) never over-deliver. Outcomes that lose the race come
    /// back excluded with [`REASON_FREQUENCY_CAP`]. Returns the final outcomes in order.
    fn commit_run(&self, run: &NewRun) -> StoreResult<Vec<RunOutcome>>;

    /// Commits a run while it is decided: `decide` hands batches of outcomes to the sink (from
    /// any number of threads), then `measure` sees every outcome (final where the backend
    /// reserves caps as the run is decided, otherwise as decided) and returns the run's
    /// fairness flag, and the run commits in one transaction with the same guarantees as
    /// [`CampaignStore::commit_run`] (exact caps, deliveries held when the policy holds a flagged
    /// campaign, nothing visible before the commit and nothing kept when either closure
    /// fails). `run.outcomes` and `run.flag` are not read. The default collects the outcomes
    /// and commits them at the end; a backend that can reserve while the run is decided
    /// overlaps writing with deciding.
    fn stream_run(
        &self,
        run: &NewRun,
        decide: &mut dyn FnMut(&dyn RunSink) -> StoreResult<()>,
        measure: &mut dyn FnMut(&[RunOutcome]) -> StoreResult<Option<NewFlag>>,
    ) -> StoreResult<CommittedRun> {
        stream_buffered(self, run, decide, measure)
    }

    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>>;

    /// The campaign's most recent recorded run (real runs only; dry runs are not kept).
    fn latest_run(&self, campaign_id: &str) -> StoreResult<Option<RunRecord>>;

    /// Stored fairness flags, newest first, of one campaign or of all (at most `limit`).
    fn fairness_flags(
        &self,
        campaign_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<FairnessFlag>>;

    /// Acknowledges every unacknowledged flag of the campaign with `note` and releases its
    /// held deliveries to the outbox, in one transaction that no run committing for the
    /// campaign can interleave with (so no run is held behind a flag acknowledged meanwhile).
    fn acknowledge_fairness_flags(
        &self,
        campaign_id: &str,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<Acknowledgement>;

    /// Undelivered deliveries held behind a fairness flag: of one run, or of every run.
    fn held_deliveries(&self, run_id: Option<&str>) -> StoreResult<u64>;

    /// Every outcome of a run, in subject key order (for explanations and fairness audits).
    fn run_outcomes(&self, run_id: &str) -> StoreResult<Vec<RunOutcome>>;

    /// A subject's outcomes in every recorded run, newest first (at most `limit`).
    fn subject_outcomes(&self, key: &SubjectKey, limit: u32) -> StoreResult<Vec<SubjectOutcome>>;

    /// Every delivery of a run, in id order.
    fn run_deliveries(&self, run_id: &str) -> StoreResult<Vec<DeliveryRecord>>;

    /// Takes up to `limit` queued deliveries due at `now` and leases them until
    /// `now + lease_ms`, so another worker does not post them meanwhile; a worker that dies
    /// leaves them to be taken again after the lease (at-least-once).
    fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;

    /// Marks a delivery as accepted by the webhook.
    fn delivery_succeeded(&self, id: i64, now: Timestamp) -> StoreResult<()>;

    /// Records a failed attempt and when to try again; the delivery stays queued.
    fn delivery_failed(&self, id: i64, next_attempt_at: Timestamp, error: &str) -> StoreResult<()>;

    /// Erasure: deletes every campaign row about the subject (outcomes, deliveries queued or
    /// sent, unsubscribes, time zone).
    fn erase_campaign_data(&self, key: &SubjectKey) -> StoreResult<()>;
}
