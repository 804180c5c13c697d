//! Records behind the data-subject rights: erasure intents, consent-proof tombstones and the
//! log of requests with their statutory deadlines.

use std::collections::BTreeMap;

use candor_domain::time::Timestamp;

/// Rows removed by an erasure, per kind of data ("events", "consents", "data_key"...).
pub type ErasureCounts = BTreeMap<String, u64>;

/// What one subject's erasure keeps: a consent-proof tombstone per consent record, stored under
/// `proof` (a one-way keyed hash the caller computes), or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasurePlan {
    pub tombstone: Option<[u8; 32]>,
}

/// An erasure that was started and not yet marked done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureIntent {
    pub subject: candor_domain::SubjectKey,
    pub request_id: i64,
    pub plan: ErasurePlan,
    pub started_at: Timestamp,
    /// What was deleted, once the deleting transaction committed.
    pub counts: Option<ErasureCounts>,
}

/// Proof that a consent choice was made, kept after erasure without anything that links it to
/// the person except a hash only the controller can recompute from the person's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTombstone {
    pub purpose: String,
    pub decision: String,
    pub source: String,
    pub purpose_version: String,
    pub policy_version: String,
    pub at: Timestamp,
}

/// Kinds of requests a person can make.
pub const DSR_KINDS: [&str; 6] = [
    "access",
    "rectification",
    "erasure",
    "restriction",
    "restriction_lifted",
    "objection",
];

/// Request statuses.
pub const DSR_STATUS_IN_PROGRESS: &str = "in_progress";
pub const DSR_STATUS_COMPLETED: &str = "completed";

/// A request to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDsrRequest {
    pub kind: String,
    /// A keyed hash of the subject key: lets an operator group requests of one person without
    /// any identifier in the log.
    pub subject_ref: [u8; 32],
    pub jurisdiction: String,
    pub received_at: Timestamp,
    pub deadline_at: Timestamp,
    /// Set for requests answered at once.
    pub completed_at: Option<Timestamp>,
    /// Free text (JSON) about the outcome: counts, the erasure receipt.
    pub detail: String,
}

/// The request log of one kind, summed (metrics and reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrKindSummary {
    pub kind: String,
    /// Not completed yet.
    pub n_open: u64,
    pub n_closed: u64,
    /// Open past their deadline.
    pub n_overdue: u64,
    /// Completed after their deadline.
    pub n_closed_late: u64,
    /// When the oldest open request arrived.
    pub oldest_open_received_at: Option<Timestamp>,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrRequest {
    pub id: i64,
    pub kind: String,
    pub subject_ref: [u8; 32],
    pub jurisdiction: String,
    pub received_at: Timestamp,
    pub deadline_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub status: String,
    pub detail: String,
}

/// Every table holding data about a subject, as `(kind, table, condition, weight)` with `{k}`
/// standing for the subject key parameter and `weight` what one row counts for: `1`, or the
/// column saying how many records it holds (a served list holds several exposures). [`crate::RightsStore::erase_subject`] deletes from each and
/// [`crate::RightsStore::subject_footprint`] counts each, in both backends. A table added for
/// subject data must be listed here, or erasure leaves it behind (the contract suite checks
/// the footprint is empty after erasure).
///
/// `token_revocations` is absent on purpose: a marker holds only the subject key and two
/// instants (tokens issued before the first are void; the marker goes after the second, once
/// every token it voids has expired, through [`crate::KeyStore::delete_expired_token_revocations`]).
/// It must outlive the subject's erasure, or erasing someone would bring the session tokens
/// issued to them before it back to life.
pub(crate) const SUBJECT_TABLES: &[(&str, &str, &str, &str)] = &[
    ("events", "events", "subject_key = {k}", "1"),
    ("profile", "profiles", "subject_key = {k}", "1"),
    ("contact", "contact", "subject_key = {k}", "1"),
    ("data_key", "subject_keys", "subject_key = {k}", "1"),
    ("consents", "consents", "subject_key = {k}", "1"),
    ("subject", "subjects", "subject_key = {k}", "1"),
    ("merges", "merges", "from_key = {k} OR to_key = {k}", "1"),
    ("restriction", "restrictions", "subject_key = {k}", "1"),
    (
        "muted_interests",
        "muted_interests",
        "subject_key = {k}",
        "1",
    ),
    ("preferences", "preferences", "subject_key = {k}", "1"),
    (
        "exposures",
        "exposure_lists",
        "subject_key = {k}",
        "n_items",
    ),
    (
        "audit_attributes",
        "audit_attributes",
        "subject_key = {k}",
        "1",
    ),
    (
        "campaign_outcomes",
        "run_outcomes",
        "subject_key = {k}",
        "1",
    ),
    ("deliveries", "deliveries", "subject_key = {k}", "1"),
    ("unsubscribes", "unsubscribes", "subject_key = {k}", "1"),
    ("time_zone", "subject_time_zones", "subject_key = {k}", "1"),
];

/// The `SUBJECT_TABLES` entry of `kind`, for a store method that deletes one kind alone.
pub(crate) fn subject_table(
    kind: &str,
) -> &'static (&'static str, &'static str, &'static str, &'static str) {
    SUBJECT_TABLES
        .iter()
        .find(|t| t.0 == kind)
        .unwrap_or_else(|| panic!("`{kind}` is not in SUBJECT_TABLES"))
}

/// The count kind under which kept consent-proof tombstones are reported.
pub const TOMBSTONES_KEPT: &str = "consent_tombstones_kept";

pub(crate) fn counts_text(counts: &ErasureCounts) -> String {
    serde_json::to_string(counts).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn counts_parse(text: &str) -> Option<ErasureCounts> {
    serde_json::from_str(text).ok()
}
