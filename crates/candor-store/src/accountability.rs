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

/// Exposures are stored one row per served list, not per item: a list of ten was ten rows and
/// ten entries in the by-subject index, the largest write of a recommendations request. The
/// trait still speaks of single exposures; these convert between the two.
///
/// An exposure's id (the paging cursor) is its list's id times this stride plus its position
/// in the list, so exposures page in the order they were served.
pub(crate) const EXPOSURE_ID_STRIDE: i64 = 1 << 16;

/// What one [`crate::EventStore::delete_exposures_before`] call deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletedExposures {
    /// Served lists deleted.
    pub lists: u64,
    /// The exposures they held.
    pub exposures: u64,
}

/// The columns of an exposure list row, as both backends read them.
pub(crate) const EXPOSURE_LIST_COLUMNS: &str = "id, subject_key, slot, at, personalized, items";

/// One served list to store: its first exposure carries what the list's exposures share.
pub(crate) struct ExposureList<'a> {
    pub first: &'a Exposure,
    /// `[[rank, item_id, provider], ...]` in the order served.
    pub items: String,
    pub n_items: i64,
}

/// Groups consecutive exposures of one list — the same subject, slot, time and kind, as the
/// server records a served list — into rows.
pub(crate) fn exposure_lists(exposures: &[Exposure]) -> Vec<ExposureList<'_>> {
    let same_list = |a: &Exposure, b: &Exposure| {
        a.subject == b.subject
            && a.slot == b.slot
            && a.at == b.at
            && a.personalized == b.personalized
    };
    let max_len = usize::try_from(EXPOSURE_ID_STRIDE).unwrap_or(usize::MAX);
    let mut lists = Vec::new();
    let mut start = 0;
    while start < exposures.len() {
        let first = &exposures[start];
        let mut end = start + 1;
        while end < exposures.len() && end - start < max_len && same_list(first, &exposures[end]) {
            end += 1;
        }
        let items: Vec<(u32, &str, &str)> = exposures[start..end]
            .iter()
            .map(|e| (e.rank, e.item_id.as_str(), e.provider.as_str()))
            .collect();
        lists.push(ExposureList {
            first,
            items: serde_json::to_string(&items).unwrap_or_else(|_| String::from("[]")),
            n_items: (end - start) as i64,
        });
        start = end;
    }
    lists
}

/// A stored list row, as read by either backend.
pub(crate) struct ExposureListRow {
    pub id: i64,
    pub subject_key: Vec<u8>,
    pub slot: String,
    pub at: i64,
    pub personalized: bool,
    pub items: String,
}

/// The exposures of stored lists with their ids, in the order served; `None` when a row is
/// unreadable.
pub(crate) fn expand_lists(rows: Vec<ExposureListRow>) -> Option<Vec<(i64, Exposure)>> {
    let mut out = Vec::new();
    for row in rows {
        let subject =
            SubjectKey::from_bytes(<[u8; 32]>::try_from(row.subject_key.as_slice()).ok()?);
        let mut items: Vec<(u32, String, String)> = serde_json::from_str(&row.items).ok()?;
        // Served in rank order; lists migrated from single rows are put back in it.
        items.sort_by_key(|&(rank, _, _)| rank);
        for (position, (rank, item_id, provider)) in items.into_iter().enumerate() {
            out.push((
                row.id * EXPOSURE_ID_STRIDE + position as i64,
                Exposure {
                    subject,
                    slot: row.slot.clone(),
                    item_id,
                    rank,
                    at: Timestamp::from_millis(row.at),
                    personalized: row.personalized,
                    provider,
                },
            ));
        }
    }
    Some(out)
}

/// The list id to read from for a page that starts after exposure `after`, and how many lists
/// to read for `limit` exposures and one more: the first list may be all before the cursor,
/// and every list has at least one exposure.
pub(crate) fn list_page_bounds(after: Option<i64>, limit: i64) -> (i64, i64) {
    (
        after.map_or(0, |a| a.div_euclid(EXPOSURE_ID_STRIDE)),
        limit + 2,
    )
}

/// The exposures after `after` among those read for a page.
pub(crate) fn exposures_after(
    rows: Vec<(i64, Exposure)>,
    after: Option<i64>,
) -> Vec<(i64, Exposure)> {
    rows.into_iter()
        .filter(|(id, _)| after.is_none_or(|a| *id > a))
        .collect()
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
