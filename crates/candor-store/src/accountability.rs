//! Records of the accountability tables: the audit chain, sealed audit attributes and
//! recommendation exposures. Both backends store the same columns and share the conversions
//! here, so an entry reads back bit for bit as it was hashed.

use std::collections::BTreeMap;

use candor_accountability::audit::{
    Actor, AuditAction, AuditDetails, AuditEntry, PurposeRef, TargetRef,
};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

/// One item shown to one subject in one recommendation slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// Who saw it (pseudonymous).
    pub subject: SubjectKey,
    /// Where it was shown (`home_top`, `pdp_similar`...).
    pub slot: String,
    pub item_id: String,
    /// Position in the list, from 1.
    pub rank: u32,
    pub at: Timestamp,
    /// Whether the list was personalized (a profile shaped it) or a non-personal fallback.
    pub personalized: bool,
    /// Who supplies the item, for exposure share by provider.
    pub provider: String,
}

/// The details map as stored: a JSON object of strings, keys in order.
pub(crate) fn details_to_json(details: &AuditDetails) -> String {
    let map: BTreeMap<&str, &str> = details.iter().collect();
    serde_json::to_string(&map).unwrap_or_else(|_| String::from("{}"))
}

/// The stored columns of one audit entry, before they are checked.
pub(crate) struct AuditRow {
    pub pos: i64,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub purpose: Option<String>,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The column list both backends select, in [`AuditRow`] order.
pub(crate) const AUDIT_COLUMNS: &str =
    "pos, seq, at, actor, action, target, purpose, details, prev_hash, hash";

impl AuditRow {
    /// Rebuilds the entry; a row that cannot be read names its sequence number, so a damaged
    /// log points at the damaged entry.
    pub(crate) fn into_entry(self) -> Result<(i64, AuditEntry), String> {
        let seq = self.seq;
        let bad = |what: &str| format!("audit entry seq {seq} is unreadable: bad {what}");
        let details_map: BTreeMap<String, String> =
            serde_json::from_str(&self.details).map_err(|_| bad("details"))?;
        let mut details = AuditDetails::new();
        for (k, v) in &details_map {
            details.insert(k, v).map_err(|_| bad("details"))?;
        }
        let entry = AuditEntry {
            seq: u64::try_from(self.seq).map_err(|_| bad("sequence number"))?,
            at_ms: self.at,
            actor: Actor::parse(&self.actor).map_err(|_| bad("actor"))?,
            action: AuditAction::parse(&self.action).map_err(|_| bad("action"))?,
            target: TargetRef::parse(&self.target).map_err(|_| bad("target"))?,
            purpose: self
                .purpose
                .as_deref()
                .map(PurposeRef::parse)
                .transpose()
                .map_err(|_| bad("purpose"))?,
            details,
            prev_hash: self
                .prev_hash
                .try_into()
                .map_err(|_| bad("previous hash"))?,
            hash: self.hash.try_into().map_err(|_| bad("hash"))?,
        };
        Ok((self.pos, entry))
    }
}

/// The entry that follows a head given by its stored `(seq, hash)` (`None` for an empty
/// chain).
pub(crate) fn chain_next(
    head: Option<(i64, Vec<u8>)>,
    draft: candor_accountability::audit::AuditDraft,
) -> Result<AuditEntry, String> {
    let mut entry = candor_accountability::audit::next_entry(None, draft);
    if let Some((seq, hash)) = head {
        let seq = u64::try_from(seq)
            .ok()
            .and_then(|s| s.checked_add(1))
            .ok_or_else(|| format!("audit head seq {seq} is unreadable"))?;
        entry.seq = seq;
        entry.prev_hash = hash
            .try_into()
            .map_err(|_| format!("audit head seq {} has a malformed hash", seq - 1))?;
        entry.hash = entry.compute_hash();
    }
    Ok(entry)
}

/// Converts read rows, keeping the storage position as the page cursor.
pub(crate) fn entries_from_rows(
    rows: Vec<AuditRow>,
) -> Result<Vec<(i64, AuditEntry)>, crate::StoreError> {
    rows.into_iter()
        .map(|r| r.into_entry().map_err(crate::StoreError::Other))
        .collect()
}
