//! Records of segments, campaigns, audience runs, the delivery outbox and unsubscribes, as
//! plain data. The store never interprets rules, templates or caps beyond counting deliveries
//! inside a window: the rules live in `candor-segments`, the wire formats in the server.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

/// A saved segment: its rule as written and the purpose it serves, checked by the server
/// before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub rule: String,
    pub created_at: Timestamp,
}

/// A saved campaign. `spec` is the server's JSON of the validated campaign; the store keeps it
/// byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub id: String,
    pub segment_id: String,
    pub spec: String,
    pub created_at: Timestamp,
}

/// At most `max` deliveries in the rolling window of `window_ms` ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapLimit {
    pub max: u32,
    pub window_ms: i64,
}

/// A message to record for one subject: counted against caps from now on and, with a
/// `payload`, queued in the outbox for the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Unique per (campaign, run, subject): a retried commit never queues a message twice.
    pub idempotency_key: String,
    /// JSON to post; `None` for a message the caller shows itself (on-site decisions).
    pub payload: Option<String>,
}

/// The decision for one subject, as the server made it from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutcome {
    pub subject: SubjectKey,
    /// `None` when selected; otherwise the exclusion code (`not_in_segment`, ...).
    pub reason: Option<String>,
    /// The delivery to reserve when selected.
    pub delivery: Option<NewDelivery>,
}

/// One audience run (or one real-time decision) to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub run_id: String,
    pub campaign_id: String,
    pub channel: String,
    pub now: Timestamp,
    /// The channel's global cap across all campaigns.
    pub channel_cap: CapLimit,
    /// The campaign's own cap, on top.
    pub campaign_cap: Option<CapLimit>,
    /// Whether to keep the run and its per-subject outcomes (audience runs do; real-time
    /// decisions keep only the delivery they reserve).
    pub record_outcomes: bool,
    pub outcomes: Vec<NewOutcome>,
    /// The run's fairness flag, when its group fairness was measured before the commit and a
    /// demographic parity ratio fell below four-fifths: stored in the same transaction.
    pub flag: Option<NewFlag>,
    /// Hold the run's deliveries (keep them out of the outbox until an operator acknowledges)
    /// when the run is flagged or the campaign still has an unacknowledged flag. Decided
    /// inside the transaction, so an acknowledgement cannot slip between the check and the
    /// insert.
    pub hold_if_flagged: bool,
}

/// A flagged run, as measured before its commit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewFlag {
    /// The lowest demographic parity ratio over the attributes measured.
    pub parity_ratio: f64,
}

/// A stored fairness flag of a campaign run.
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessFlag {
    pub campaign_id: String,
    pub run_id: String,
    pub parity_ratio: f64,
    pub flagged_at: Timestamp,
    /// The run's deliveries are held until the flag is acknowledged.
    pub held: bool,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledgement_note: Option<String>,
}

/// What acknowledging a campaign's flags did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledgement {
    /// The campaign has never been flagged: there is nothing to acknowledge.
    NotFlagged,
    /// Every flag is acknowledged now. `n_flags` were acknowledged by this call (0 when all
    /// already were: the call changed nothing and `at`/`note` are the earlier ones) and
    /// `n_released` held deliveries were let out to the outbox.
    Done {
        n_flags: u64,
        n_released: u64,
        at: Timestamp,
        note: String,
    },
}

/// What happened to one subject in a committed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub subject: SubjectKey,
    pub selected: bool,
    /// The exclusion code when not selected.
    pub reason: Option<String>,
}

/// Reason recorded for a subject whose selection found the cap already full when the slot was
/// to be reserved (another run got there first).
pub const REASON_FREQUENCY_CAP: &str = "frequency_cap";

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: String,
    pub campaign_id: String,
    pub at: Timestamp,
}

/// A delivery as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub subject: SubjectKey,
    pub campaign_id: String,
    pub run_id: String,
    pub channel: String,
    pub at: Timestamp,
    pub idempotency_key: String,
    pub payload: Option<String>,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// Kept out of the outbox until the campaign's fairness flag is acknowledged.
    pub held: bool,
}

/// What the campaign rules need about one subject besides consent and profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketingState {
    /// Channels the subject unsubscribed from.
    pub unsubscribed: Vec<String>,
    /// IANA time zone the subject declared, if any.
    pub time_zone: Option<String>,
    /// Deliveries since the cutoff asked for, oldest first: (campaign id, channel, when).
    pub deliveries: Vec<(String, String, Timestamp)>,
}

/// One run's outcome for one subject, for explaining it to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectOutcome {
    pub run_id: String,
    pub campaign_id: String,
    pub at: Timestamp,
    pub selected: bool,
    pub reason: Option<String>,
}

/// Everything the campaign rules read about one subject, loaded a page of subjects at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct AudienceRow {
    pub key: SubjectKey,
    pub facts: candor_domain::consent::SubjectFacts,
    /// The consent ledger, oldest first.
    pub consents: Vec<candor_domain::consent::ConsentRecord>,
    pub profile: Option<candor_domain::profile::Profile>,
    /// Every event, oldest first.
    pub events: Vec<crate::StoredEvent>,
    pub marketing: MarketingState,
}
