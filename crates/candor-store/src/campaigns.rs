//! Records of segments, campaigns, audience runs, the delivery outbox and unsubscribes, as
//! plain data. The store never interprets rules, templates or caps beyond counting deliveries
//! inside a window: the rules live in `candor-segments`, the wire formats in the server.

use std::collections::HashMap;

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

impl NewOutcome {
    /// The outcome as decided, before any cap reservation.
    pub fn as_decided(&self) -> RunOutcome {
        RunOutcome {
            subject: self.subject,
            selected: self.reason.is_none(),
            reason: self.reason.clone(),
        }
    }
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

/// Outcomes a commit handles at a time: one grouped cap count and one multi-row insert per
/// table each, instead of two counts and two inserts per person.
pub(crate) const COMMIT_CHUNK_LEN: usize = 500;

/// Deliveries that already count against a run's two caps for one subject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CapUse {
    /// On the run's channel, inside the channel cap's window.
    pub channel: u32,
    /// Of the run's campaign, inside the campaign cap's window.
    pub campaign: u32,
}

impl NewRun {
    /// Start of the rolling window of `cap` ending at this run's `now`: deliveries strictly
    /// after it count. No upper bound: a racing run that read its clock a moment later may
    /// already have delivered "after" this run's `now`, and that delivery counts.
    pub(crate) fn window_start(&self, cap: CapLimit) -> i64 {
        self.now.as_millis().saturating_sub(cap.window_ms)
    }

    /// Where the campaign cap's window starts; with no campaign cap, after every delivery.
    pub(crate) fn campaign_window_start(&self) -> i64 {
        self.campaign_cap.map_or(i64::MAX, |c| self.window_start(c))
    }

    fn has_room(&self, used: CapUse) -> bool {
        used.channel < self.channel_cap.max
            && self.campaign_cap.is_none_or(|c| used.campaign < c.max)
    }

    /// Decides the run's final outcomes a chunk at a time, for a backend that already holds
    /// whatever makes its counts exact (SQLite's single writer, PostgreSQL's channel lock)
    /// on its connection `conn`: `count` returns the cap use of the subjects that want a delivery (those it leaves out
    /// have none), `insert` writes a chunk's deliveries and, when the run keeps them, its
    /// outcomes. A subject that appears twice in a chunk sees its first reservation.
    pub(crate) fn reserve<C: ?Sized, E>(
        &self,
        conn: &mut C,
        count: impl Fn(&mut C, &[&SubjectKey]) -> Result<HashMap<SubjectKey, CapUse>, E>,
        insert: impl Fn(&mut C, &[(&SubjectKey, &NewDelivery)], &[RunOutcome]) -> Result<(), E>,
    ) -> Result<Vec<RunOutcome>, E> {
        let mut out = Vec::with_capacity(self.outcomes.len());
        self.reserve_chunks(conn, &self.outcomes, &count, &insert, &mut out)?;
        Ok(out)
    }

    /// [`NewRun::reserve`] for `outcomes` instead of the run's own, appending the final
    /// outcomes to `out`: a streamed run ([`crate::CampaignStore::stream_run`]) reserves each batch
    /// as it is decided.
    pub(crate) fn reserve_chunks<C: ?Sized, E>(
        &self,
        conn: &mut C,
        outcomes: &[NewOutcome],
        count: &impl Fn(&mut C, &[&SubjectKey]) -> Result<HashMap<SubjectKey, CapUse>, E>,
        insert: &impl Fn(&mut C, &[(&SubjectKey, &NewDelivery)], &[RunOutcome]) -> Result<(), E>,
        out: &mut Vec<RunOutcome>,
    ) -> Result<(), E> {
        for chunk in outcomes.chunks(COMMIT_CHUNK_LEN) {
            let wanting: Vec<&SubjectKey> = chunk
                .iter()
                .filter(|o| o.reason.is_none() && o.delivery.is_some())
                .map(|o| &o.subject)
                .collect();
            let mut used = if wanting.is_empty() {
                HashMap::new()
            } else {
                count(conn, &wanting)?
            };
            let mut deliveries = Vec::with_capacity(wanting.len());
            let first = out.len();
            for o in chunk {
                let mut reason = o.reason.clone();
                if let (None, Some(d)) = (&reason, &o.delivery) {
                    let use_ = used.entry(o.subject).or_default();
                    if self.has_room(*use_) {
                        use_.channel += 1;
                        use_.campaign += 1;
                        deliveries.push((&o.subject, d));
                    } else {
                        reason = Some(REASON_FREQUENCY_CAP.to_owned());
                    }
                }
                out.push(RunOutcome {
                    subject: o.subject,
                    selected: reason.is_none(),
                    reason,
                });
            }
            insert(conn, &deliveries, &out[first..])?;
        }
        Ok(())
    }
}

/// Where a streamed run's decisions go as they are made ([`crate::CampaignStore::stream_run`]).
/// Several threads may write at once.
pub trait RunSink: Sync {
    /// Takes a batch of decided outcomes, each of a subject not yet written in this run.
    fn write(&self, outcomes: Vec<NewOutcome>) -> crate::StoreResult<()>;
}

/// A [`RunSink`] that keeps the outcomes for a commit at the end (the default
/// [`crate::CampaignStore::stream_run`]).
#[derive(Default)]
pub(crate) struct BufferedRun(std::sync::Mutex<Vec<NewOutcome>>);

impl BufferedRun {
    pub(crate) fn into_outcomes(self) -> Vec<NewOutcome> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl RunSink for BufferedRun {
    fn write(&self, outcomes: Vec<NewOutcome>) -> crate::StoreResult<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(outcomes);
        Ok(())
    }
}

/// A streamed run, committed.
#[derive(Debug)]
pub struct CommittedRun {
    /// Every final outcome (after cap reservations), in the order the batches were written.
    pub outcomes: Vec<RunOutcome>,
    /// The run queued deliveries and they are held behind a fairness flag.
    pub held: bool,
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

/// What a page of the audience holds besides each subject's facts, consents, profile and
/// marketing state: only what the caller's rules can read, so a run over a million people
/// does not load and parse every event they ever sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudienceQuery {
    /// Deliveries strictly after this instant (the longest cap window).
    pub deliveries_since: Timestamp,
    /// Profile events (those with an interaction) that occurred strictly after this instant;
    /// `None` reads no events at all.
    pub events_since: Option<Timestamp>,
    /// Only subjects whose key is at most this one (inclusive), so that several readers can
    /// each take a part of the key space; `None` reads to the end.
    pub up_to: Option<SubjectKey>,
}

impl AudienceQuery {
    /// The highest key a page may hold: `up_to`, or the highest key there can be.
    pub fn last_key(&self) -> [u8; 32] {
        self.up_to.map_or([u8::MAX; 32], |k| *k.as_bytes())
    }
}

/// The part of a stored event a segment rule reads: when, how it fed the profile, and which
/// item category it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceEvent {
    pub occurred_at: Timestamp,
    pub interaction: candor_domain::policy::Interaction,
    pub item_id: Option<String>,
    /// The `category` property the site sent (a string), used for items not in the catalog.
    pub category: Option<String>,
}

impl AudienceEvent {
    /// The rule's view of a stored event; `None` for events that feed no profile.
    pub fn of(e: &crate::StoredEvent) -> Option<AudienceEvent> {
        Some(AudienceEvent {
            occurred_at: e.occurred_at,
            interaction: e.interaction?,
            item_id: e.item_id.clone(),
            category: category_property(&e.properties),
        })
    }
}

/// The `category` property of an event's properties JSON, if it is a string. Reads only that
/// key: every other property is skipped without being built.
pub(crate) fn category_property(properties: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Properties<'a> {
        #[serde(borrow, default)]
        category: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Properties<'_>>(properties)
        .ok()?
        .category
        .map(std::borrow::Cow::into_owned)
}

/// Everything the campaign rules read about one subject, loaded a page of subjects at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct AudienceRow {
    pub key: SubjectKey,
    pub facts: candor_domain::consent::SubjectFacts,
    /// The consent ledger, oldest first.
    pub consents: Vec<candor_domain::consent::ConsentRecord>,
    pub profile: Option<candor_domain::profile::Profile>,
    /// The profile events the query asked for, in storage order.
    pub events: Vec<AudienceEvent>,
    pub marketing: MarketingState,
    /// Since when processing is restricted at the person's request, if it is.
    pub restriction: Option<Timestamp>,
    /// The person's recommendation preferences (self-exclusion among them).
    pub preferences: crate::Preferences,
}

impl AudienceRow {
    /// A row with the subject's facts and nothing else yet, for backends to fill.
    pub fn new(key: SubjectKey, facts: candor_domain::consent::SubjectFacts) -> AudienceRow {
        AudienceRow {
            key,
            facts,
            consents: Vec::new(),
            profile: None,
            events: Vec::new(),
            marketing: MarketingState::default(),
            restriction: None,
            preferences: crate::Preferences::default(),
        }
    }
}
