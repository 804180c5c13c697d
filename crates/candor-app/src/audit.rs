//! Recording what happened in the audit chain.
//!
//! [`record`] is the one function every feature calls to leave evidence: consent changes,
//! data-subject requests, policy changes, key creation, campaign runs and operator reads of
//! personal data. It builds an entry from an [`AuditEvent`] and appends it through
//! [`Store::audit_append`], which links it to the current head atomically.
//!
//! Subjects appear only as `subject:<hex subject key>`: the keyed, one-way pseudonym the rest
//! of the store uses, never the shop's raw id. The log outlives erasure, and keeps nothing
//! that identifies a person without the server secret.

pub use candor_accountability::audit::{
    Actor, AuditAction, AuditEntry, BreakKind, ChainBreak, ChainHead,
};
use candor_accountability::audit::{
    AuditDetails, AuditDraft, DETAIL_VALUE_BYTES_MAX, PurposeRef, TargetRef, VerifyOutcome, verify,
    verify_against_anchor,
};
use candor_domain::SubjectKey;
use candor_domain::consent::ConsentRecord;
use candor_domain::time::Timestamp;
use candor_store::{PageRequest, Store, StoreError, StoreResult};

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    /// A data subject, by their subject key.
    Subject(SubjectKey),
    /// The privacy policy.
    Policy,
    /// An API key, by its public id.
    ApiKey(String),
    /// A campaign, by its id.
    Campaign(String),
    /// A recommendation slot, by name.
    Slot(String),
    /// The audit log itself (verification, export).
    AuditLog,
}

impl AuditTarget {
    /// The stored reference. Ids that do not fit the reference alphabet are replaced by a
    /// SHA-256 prefix, so a strange id can never make an entry unrecordable.
    pub fn reference(&self) -> String {
        match self {
            // A one-way digest of the pseudonym, not the pseudonym: the log is append-only and
            // outlives erasure, so it must not hold the key that finds a person's data. Given
            // the person's id (and the server secret) the entries about them can still be
            // found when they ask.
            AuditTarget::Subject(key) => {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                h.update(b"candor audit subject\0");
                h.update(key.as_bytes());
                format!("subject:{}", &hex::encode(h.finalize())[..32])
            }
            AuditTarget::Policy => "policy".to_owned(),
            AuditTarget::ApiKey(id) => format!("api_key:{}", token_or_digest(id)),
            AuditTarget::Campaign(id) => format!("campaign:{}", token_or_digest(id)),
            AuditTarget::Slot(name) => format!("slot:{}", token_or_digest(name)),
            AuditTarget::AuditLog => "audit_log".to_owned(),
        }
    }
}

fn token_or_digest(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if ok {
        s.to_owned()
    } else {
        use sha2::Digest;
        format!(
            "sha256-{}",
            &hex::encode(sha2::Sha256::digest(s.as_bytes()))[..32]
        )
    }
}

/// One thing to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: AuditAction,
    pub target: AuditTarget,
    /// The policy purpose the action served, where one applies.
    pub purpose: Option<String>,
    /// Short particulars (`decision` => `granted`); never personal data.
    pub details: Vec<(&'static str, String)>,
}

impl AuditEvent {
    pub fn new(actor: Actor, action: AuditAction, target: AuditTarget) -> AuditEvent {
        AuditEvent {
            actor,
            action,
            target,
            purpose: None,
            details: Vec::new(),
        }
    }

    pub fn purpose(mut self, purpose: impl Into<String>) -> AuditEvent {
        self.purpose = Some(purpose.into());
        self
    }

    pub fn detail(mut self, key: &'static str, value: impl Into<String>) -> AuditEvent {
        self.details.push((key, value.into()));
        self
    }

    /// The entry to append at `now`. An event that cannot be expressed as an entry (a
    /// malformed purpose or detail key) is a bug in the caller: [`StoreError::Other`].
    pub fn into_draft(self, now: Timestamp) -> StoreResult<AuditDraft> {
        self.draft(now)
            .map_err(|e| StoreError::Other(format!("audit entry refused: {e}")))
    }

    fn draft(self, now: Timestamp) -> Result<AuditDraft, String> {
        let mut details = AuditDetails::new();
        for (k, v) in &self.details {
            details
                .insert(k, truncate(v, DETAIL_VALUE_BYTES_MAX))
                .map_err(|e| e.to_string())?;
        }
        Ok(AuditDraft {
            at_ms: now.as_millis(),
            actor: self.actor,
            action: self.action,
            target: TargetRef::parse(&self.target.reference()).map_err(|e| e.to_string())?,
            purpose: self
                .purpose
                .as_deref()
                .map(PurposeRef::parse)
                .transpose()
                .map_err(|e| e.to_string())?,
            details,
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Appends one event to the audit chain and returns the stored entry. An event that cannot be
/// expressed as an entry (a malformed purpose or detail key) is a bug in the caller and fails
/// as [`StoreError::Other`]; nothing is written then.
pub fn record(store: &dyn Store, event: AuditEvent, now: Timestamp) -> StoreResult<AuditEntry> {
    store.audit_append(event.into_draft(now)?)
}

/// The `consent_changed` entry for a consent record: its purpose, decision and source.
pub fn consent_event(actor: &Actor, subject: &SubjectKey, r: &ConsentRecord) -> AuditEvent {
    AuditEvent::new(
        actor.clone(),
        AuditAction::ConsentChanged,
        AuditTarget::Subject(*subject),
    )
    .purpose(r.purpose.as_str())
    .detail("decision", r.decision.as_str())
    .detail("source", r.source.as_str())
    .detail("bulk", if r.bulk { "true" } else { "false" })
    .detail("purpose_version", r.purpose_version.as_str())
}

/// Records each consent record as a `consent_changed` entry ([`consent_event`]).
pub fn record_consents(
    store: &dyn Store,
    actor: &Actor,
    subject: &SubjectKey,
    records: &[ConsentRecord],
    now: Timestamp,
) -> StoreResult<()> {
    for r in records {
        crate::counters::note_consent(r.purpose.as_str(), r.decision.as_str());
        record(store, consent_event(actor, subject, r), now)?;
    }
    Ok(())
}

/// Records a policy change when the running policy's version differs from the last one the
/// log holds (or the log holds none). Returns whether an entry was written.
pub fn record_policy_if_changed(
    store: &dyn Store,
    policy: &candor_domain::policy::Policy,
    actor: Actor,
    now: Timestamp,
) -> StoreResult<bool> {
    let version = policy.version.as_str();
    let last = store.audit_last(AuditAction::PolicyChanged.code())?;
    if last.is_some_and(|e| e.details.get("version") == Some(version)) {
        return Ok(false);
    }
    let event = AuditEvent::new(actor, AuditAction::PolicyChanged, AuditTarget::Policy)
        .detail("version", version)
        .detail("purposes", policy.purposes.len().to_string());
    record(store, event, now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_ids_become_digests_and_subjects_are_pseudonyms() {
        assert_eq!(
            AuditTarget::Slot("home_top".into()).reference(),
            "slot:home_top"
        );
        let odd = AuditTarget::Campaign("spring sale!".into()).reference();
        assert!(odd.starts_with("campaign:sha256-"), "{odd}");
        assert!(TargetRef::parse(&odd).is_ok());
        assert_eq!(truncate("ééé", 3), "é");
    }
}

/// What checking the stored chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    /// Every entry hashes, links and is numbered in order.
    Intact(ChainHead),
    /// The first bad entry.
    Broken(ChainBreak),
    /// A stored row cannot even be read back as an entry; the message names its `seq`.
    Unreadable(String),
}

/// Reads the whole chain in storage order and verifies it, against `anchor` when given (a
/// head published earlier), so truncation and a rewritten tail are caught too.
pub fn verify_chain(store: &dyn Store, anchor: Option<&ChainHead>) -> StoreResult<ChainStatus> {
    check_chain(store, anchor).map(|report| report.status)
}

/// [`verify_chain`]'s finding with how much of the chain it read, for reports that show both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub status: ChainStatus,
    /// Entries read back before the verdict (all of them unless a row was unreadable).
    pub entries_read: u64,
    /// Hash of the last entry read; [`candor_accountability::audit::GENESIS_PREV_HASH`] if
    /// none was.
    pub last_hash: [u8; 32],
}

impl ChainReport {
    /// The sequence number of the first bad entry and why it is bad; `None` when intact.
    pub fn first_bad(&self) -> Option<(u64, String)> {
        match &self.status {
            ChainStatus::Intact(_) => None,
            ChainStatus::Broken(b) => Some((b.seq, b.kind.to_string())),
            ChainStatus::Unreadable(m) => Some((unreadable_seq(m).unwrap_or(0), m.clone())),
        }
    }
}

/// Like [`verify_chain`], and also says how many entries it read and the last one's hash.
pub fn check_chain(store: &dyn Store, anchor: Option<&ChainHead>) -> StoreResult<ChainReport> {
    let mut entries = Vec::new();
    let mut page = PageRequest::first(candor_store::PAGE_LEN_MAX);
    let unreadable = loop {
        let got = match store.audit_entries(page) {
            Ok(got) => got,
            Err(StoreError::Other(m)) if m.starts_with(UNREADABLE_PREFIX) => break Some(m),
            Err(e) => return Err(e),
        };
        entries.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => break None,
        }
    };
    let entries_read = entries.len() as u64;
    let last_hash = entries
        .last()
        .map_or(candor_accountability::audit::GENESIS_PREV_HASH, |e| e.hash);
    let status = match unreadable {
        Some(m) => ChainStatus::Unreadable(m),
        None => match anchor {
            Some(anchor) => verify_against_anchor(entries, anchor),
            None => verify(entries),
        }
        .into(),
    };
    Ok(ChainReport {
        status,
        entries_read,
        last_hash,
    })
}

impl From<VerifyOutcome> for ChainStatus {
    fn from(outcome: VerifyOutcome) -> ChainStatus {
        match outcome {
            VerifyOutcome::Intact(head) => ChainStatus::Intact(head),
            VerifyOutcome::Broken(b) => ChainStatus::Broken(b),
        }
    }
}

/// The `seq` an unreadable-row message names.
fn unreadable_seq(message: &str) -> Option<u64> {
    message
        .strip_prefix(UNREADABLE_PREFIX)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// How the store words a row it cannot read back (see `candor_store::accountability`).
const UNREADABLE_PREFIX: &str = "audit entry seq ";
