//! Records the store keeps, as plain data.

use candor_domain::SubjectKey;
use candor_domain::consent::SubjectFacts;
use candor_domain::time::Timestamp;

/// Largest page any list returns, whatever the caller asks.
pub const PAGE_LEN_MAX: u32 = 1_000;

/// A page request: items after the cursor (exclusive), at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> PageRequest {
        PageRequest { after: None, limit }
    }

    pub(crate) fn limit_clamped(&self) -> i64 {
        i64::from(self.limit.clamp(1, PAGE_LEN_MAX))
    }
}

/// A page of results and the cursor to pass for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// What the store holds about a subject besides events and consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRecord {
    pub facts: SubjectFacts,
    pub created_at: Timestamp,
}

/// What an API key may do.
///
/// `Publishable` stands alone: a publishable key lives in web pages and can do nothing but
/// start a visitor session. Every other scope belongs to a server key, which lives on a shop's
/// backend and never in a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Send events and consents for anyone (a shop's backend).
    Ingest,
    /// Read anyone's recommendations and decisions (a shop's backend).
    Decide,
    /// Everything, including operator reads of personal data.
    Admin,
    /// Mint subject session tokens for the shop's logged-in people (a shop's backend).
    Sessions,
    /// Start visitor sessions from web pages of the key's allowed origins; nothing else.
    Publishable,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Ingest,
        Scope::Decide,
        Scope::Admin,
        Scope::Sessions,
        Scope::Publishable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Decide => "decide",
            Scope::Admin => "admin",
            Scope::Sessions => "sessions",
            Scope::Publishable => "publishable",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An API key as stored: only a hash of its secret part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The public part of the key, used to find it.
    pub id: String,
    /// SHA-256 of the secret part.
    pub secret_hash: [u8; 32],
    pub scopes: Vec<Scope>,
    /// Browser origins allowed to use the key. A publishable key has at least one; a server
    /// key with none is refused whenever a browser origin presents it.
    pub allowed_origins: Vec<String>,
    pub label: String,
    pub created_at: Timestamp,
    /// The key stops working at this instant, if set.
    pub expires_at: Option<Timestamp>,
    /// When the key was revoked; a revoked key never works again.
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// A publishable key: safe in web pages, starts visitor sessions only.
    pub fn is_publishable(&self) -> bool {
        self.scopes.contains(&Scope::Publishable)
    }

    /// Whether the key may be used at `now`: not revoked and not expired.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none()
            && self
                .expires_at
                .is_none_or(|e| now.as_millis() < e.as_millis())
    }
}

/// A key that signs visitor and subject tokens, sealed under a key derived from the server
/// secret (the database alone cannot forge a token). The newest live key signs; every key
/// verifies until `retired_at` plus the longest token lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKeyRecord {
    pub id: i64,
    pub sealed: Vec<u8>,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// A catalog item.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    /// Free-form attributes (JSON object text).
    pub attributes: String,
    /// Restricted categories (alcohol, gambling...) the item belongs to.
    pub restricted: Vec<String>,
    pub provider: String,
}

/// An event the gate admitted, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub subject: candor_domain::SubjectKey,
    /// Keyed hash of the message id, for idempotency.
    pub message_hash: [u8; 32],
    pub event_type: String,
    pub item_id: Option<String>,
    /// Kept properties as a JSON object text.
    pub properties: String,
    pub purposes: Vec<candor_domain::PurposeId>,
    pub occurred_at: Timestamp,
    pub expires_at: Timestamp,
    pub session_only: bool,
    /// Feeds the interest profile with this interaction.
    pub profile: Option<candor_domain::policy::Interaction>,
}

/// Everything one ingestion request writes, committed together.
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    pub events: Vec<NewEvent>,
    /// `(event_type, reason)` of events not stored: only anonymous counters move.
    pub drops: Vec<(String, String)>,
    pub now: Option<Timestamp>,
    pub half_life_days: f64,
    /// How long a message id is remembered for idempotency.
    pub dedupe_window_ms: i64,
}

/// A planned ingestion batch for [`crate::EventStore::commit_ingest`].
#[derive(Debug, Clone)]
pub struct IngestCommit {
    /// Facts stated for subjects (each created if new), written before their consents; a
    /// `None` field keeps what is held.
    pub subjects: Vec<(SubjectKey, candor_domain::consent::SubjectFacts)>,
    /// Consent records to append, per subject, oldest first.
    pub consents: Vec<(SubjectKey, Vec<candor_domain::consent::ConsentRecord>)>,
    /// Audit entries to append, in order.
    pub audit: Vec<candor_accountability::audit::AuditDraft>,
    /// The events and drops.
    pub batch: EventBatch,
}

impl From<EventBatch> for IngestCommit {
    /// Events alone: no consent and no audit entry to write with them.
    fn from(batch: EventBatch) -> Self {
        Self {
            subjects: Vec::new(),
            consents: Vec::new(),
            audit: Vec::new(),
            batch,
        }
    }
}

/// What happened to each [`NewEvent`] of a batch, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Stored { id: i64 },
    Duplicate,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub event_type: String,
    pub item_id: Option<String>,
    pub properties: String,
    pub purposes: Vec<candor_domain::PurposeId>,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    pub expires_at: Timestamp,
    pub session_only: bool,
    /// How the event feeds the interest profile, if a personalization purpose allows it.
    pub interaction: Option<candor_domain::policy::Interaction>,
}

impl StoredEvent {
    /// What serving reads of this event, if it can feed a profile at all (it names an item
    /// and was admitted with an interaction).
    pub fn as_history(&self) -> Option<HistoryEvent> {
        Some(HistoryEvent {
            item_id: self.item_id.clone()?,
            interaction: self.interaction?,
            purposes: self.purposes.clone(),
            occurred_at: self.occurred_at,
            expires_at: self.expires_at,
        })
    }
}

/// One past event as a recommendations request reads it: the item and what the person did
/// with it, and what decides whether it may still feed personalization (its purposes, when it
/// happened, when it expires). Only events with an item and an interaction are read.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub item_id: String,
    pub interaction: candor_domain::policy::Interaction,
    pub purposes: Vec<candor_domain::PurposeId>,
    pub occurred_at: Timestamp,
    pub expires_at: Timestamp,
}

impl HistoryEvent {
    /// The event as [`crate::ConsentStore::serving_inputs_each`] hands it over.
    pub fn borrowed(&self) -> HistoryRef<'_> {
        HistoryRef {
            item_id: &self.item_id,
            interaction: self.interaction,
            purposes: &self.purposes,
            occurred_at: self.occurred_at,
            expires_at: self.expires_at,
        }
    }
}

/// One past event of a streaming history read ([`crate::ConsentStore::serving_inputs_each`]),
/// borrowed from the read: nothing is allocated per event. Events of one read that were
/// stored for the same purposes share one parsed list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRef<'a> {
    pub item_id: &'a str,
    pub interaction: candor_domain::policy::Interaction,
    pub purposes: &'a [candor_domain::PurposeId],
    pub occurred_at: Timestamp,
    pub expires_at: Timestamp,
}

impl HistoryRef<'_> {
    pub fn to_event(&self) -> HistoryEvent {
        HistoryEvent {
            item_id: self.item_id.to_owned(),
            interaction: self.interaction,
            purposes: self.purposes.to_vec(),
            occurred_at: self.occurred_at,
            expires_at: self.expires_at,
        }
    }
}

/// Stored purpose lists parsed once per distinct text within one read: a history repeats a
/// few texts (the purposes events were admitted for) over thousands of rows.
#[derive(Debug, Default)]
pub(crate) struct PurposeTexts {
    /// Each distinct text seen so far with its parsed list, at most [`PURPOSE_TEXTS_MAX`].
    parsed: Vec<(String, Vec<candor_domain::PurposeId>)>,
    /// The list of a text read past the limit, parsed afresh each time.
    overflow: Vec<candor_domain::PurposeId>,
}

/// Distinct purpose texts remembered per read; a policy declares a handful of purposes, so a
/// history that names more combinations than this is parsed row by row past it.
const PURPOSE_TEXTS_MAX: usize = 16;

impl PurposeTexts {
    /// The purposes of `text`; the error is the first unreadable purpose.
    pub(crate) fn parse<'t>(
        &mut self,
        text: &'t str,
    ) -> Result<&[candor_domain::PurposeId], &'t str> {
        if let Some(at) = self.parsed.iter().position(|(seen, _)| seen == text) {
            return Ok(&self.parsed[at].1);
        }
        let list = purposes_from_text(text)?;
        if self.parsed.len() < PURPOSE_TEXTS_MAX {
            self.parsed.push((text.to_owned(), list));
            return Ok(&self.parsed[self.parsed.len() - 1].1);
        }
        self.overflow = list;
        Ok(&self.overflow)
    }
}

/// What [`crate::ConsentStore::serving_inputs_each`] returns besides the history it streams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServingState {
    pub ledger: SubjectLedger,
    pub preferences: Preferences,
}

/// A subject's history as serving reads it, oldest first, with `subject` standing for the
/// backend's parameter; the same text on both backends. Its columns, in the order
/// `history_from_row` reads them, are all in the SQLite `events_by_subject` index (migration
/// 10), so the read touches no table row.
pub(crate) fn history_sql(subject: &str) -> String {
    format!(
        "SELECT item_id, interaction, purposes, occurred_at, expires_at FROM events
         WHERE subject_key = {subject} AND interaction IS NOT NULL AND item_id IS NOT NULL
         ORDER BY id"
    )
}

/// Parses a stored comma-separated purpose list; the error is the first unreadable purpose.
pub(crate) fn purposes_from_text(text: &str) -> Result<Vec<candor_domain::PurposeId>, &str> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|p| candor_domain::PurposeId::parse(p).map_err(|_| p))
        .collect()
}

/// An anonymous counter of events not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCount {
    pub day: i64,
    pub event_type: String,
    pub reason: String,
    pub n: u64,
}

/// Consent decisions recorded for one purpose in one time bucket of [`ConsentStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentBucketCount {
    pub purpose: String,
    /// Index of the bucket: `(at - since) / bucket_ms`.
    pub bucket: i64,
    /// `granted`, `denied` or `withdrawn`.
    pub decision: String,
    pub n: u64,
}

/// How many subjects' latest recorded decision for a purpose is `decision`, given under
/// `purpose_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentLatestCount {
    pub purpose: String,
    pub purpose_version: String,
    pub decision: String,
    pub n: u64,
}

/// Anonymous aggregates of the consent ledger, for operators' charts. Counts only; the server
/// suppresses them below k before anyone sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentStats {
    /// Decisions per purpose, bucket and decision, ordered by those; empty cells are absent.
    pub buckets: Vec<ConsentBucketCount>,
    /// Subjects per purpose, purpose version and latest decision, ordered by those.
    pub latest: Vec<ConsentLatestCount>,
}

/// Changes the retention job makes to one subject's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventRewrite {
    pub delete: Vec<i64>,
    pub narrow: Vec<Narrowed>,
}

/// An event that keeps only some of its purposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrowed {
    pub id: i64,
    pub purposes: Vec<candor_domain::PurposeId>,
    pub expires_at: Timestamp,
    /// Whether a remaining purpose still lets it feed the profile.
    pub feeds_profile: bool,
}

/// A person's own choices about what is recommended to them. They hold whatever their consent:
/// a muted category or a hidden item is left out of every list, personalized or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preferences {
    /// Categories the person is not interested in.
    #[serde(default)]
    pub muted_categories: std::collections::BTreeSet<String>,
    /// Items the person is not interested in.
    #[serde(default)]
    pub hidden_items: std::collections::BTreeSet<String>,
    /// Personalization paused: lists are non-personalized while the consent stays as it is.
    #[serde(default)]
    pub paused: bool,
    /// The person excluded themselves from the policy's `self_excluded` restricted categories
    /// (gambling, alcohol...): never shown them again.
    #[serde(default)]
    pub self_excluded: bool,
}

impl Preferences {
    pub fn is_empty(&self) -> bool {
        self == &Preferences::default()
    }
}

/// What the consent gate needs about one subject, read for a whole batch at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectLedger {
    /// Default facts for a subject Candor holds nothing about.
    pub facts: SubjectFacts,
    /// The consent ledger, oldest first.
    pub records: Vec<candor_domain::consent::ConsentRecord>,
    /// Processing is restricted (GDPR Art. 18).
    pub restricted: bool,
}

impl SubjectLedger {
    /// The distinct keys, sorted, and an empty ledger for each: where a batched read starts.
    pub(crate) fn blank_for(
        keys: &[SubjectKey],
    ) -> (
        Vec<SubjectKey>,
        std::collections::HashMap<SubjectKey, SubjectLedger>,
    ) {
        let mut distinct = keys.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let blank = distinct
            .iter()
            .map(|k| (*k, SubjectLedger::default()))
            .collect();
        (distinct, blank)
    }
}

/// Everything a recommendations request reads about its subject, in one store call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServingInputs {
    pub ledger: SubjectLedger,
    pub preferences: Preferences,
    /// Every event that names an item and an interaction, oldest first — read only when the
    /// caller's check allowed it.
    pub history: Vec<HistoryEvent>,
}
