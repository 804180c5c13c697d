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

pub mod campaigns;
pub mod model;
pub mod postgres;
pub mod sqlite;

#[cfg(feature = "contract")]
pub mod contract;

use candor_domain::SubjectKey;
use candor_domain::consent::{ConsentRecord, SubjectFacts};
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;

pub use campaigns::*;
pub use model::*;

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

/// The storage contract.
pub trait Store: Send + Sync + 'static {
    /// Whether the store can serve requests now (for `/readyz`).
    fn ping(&self) -> StoreResult<()>;

    /// Reads a process-wide value (server secret, demo seed...).
    fn meta_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value` under `key` unless one exists; returns the value that is stored now, so
    /// concurrent first starts agree on one secret.
    fn meta_put_if_absent(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>>;

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
    /// A page of a subject's consent history, newest first.
    fn consent_history(
        &self,
        key: &SubjectKey,
        page: PageRequest,
    ) -> StoreResult<Page<ConsentRecord>>;

    /// The subject's data key, created from `fresh` if the subject has none yet.
    fn data_key(&self, key: &SubjectKey, fresh: [u8; 32], now: Timestamp) -> StoreResult<[u8; 32]>;
    /// Stores sealed contact data (already encrypted with the subject's data key).
    fn put_contact(&self, key: &SubjectKey, field: &str, sealed: &[u8]) -> StoreResult<()>;
    fn contact(&self, key: &SubjectKey) -> StoreResult<Vec<(String, Vec<u8>)>>;

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
    /// Deletes events past their expiry (at most `limit`), rebuilds the affected profiles and
    /// forgets message ids older than the dedupe window. Returns the number of events deleted.
    fn delete_expired(
        &self,
        now: Timestamp,
        limit: u32,
        half_life_days: f64,
        dedupe_window_ms: i64,
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

    fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    fn api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>>;

    // --- Segments and campaigns -----------------------------------------------------------

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
    /// campaign decision reads (deliveries since `deliveries_since`). The default loads one
    /// subject at a time; a backend can answer with a few set-based reads per page.
    fn audience_page(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
        deliveries_since: Timestamp,
    ) -> StoreResult<Vec<AudienceRow>> {
        self.subject_keys(after, limit)?
            .into_iter()
            .map(|key| {
                Ok(AudienceRow {
                    facts: self.subject(&key)?.map(|s| s.facts).unwrap_or_default(),
                    consents: self.consent_records(&key)?,
                    profile: self.profile(&key)?,
                    events: self.all_events(&key)?,
                    marketing: self.marketing_state(&key, deliveries_since)?,
                    key,
                })
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
    fn run(&self, id: &str) -> StoreResult<Option<RunRecord>>;
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
