//! Batched reads of what the consent gate and the serving path need about subjects.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::AgeBand;
use candor_domain::policy::Interaction;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::SqliteStore;
use super::campaigns::key_from;
use super::{CONSENT_COLUMNS, consent_from_row, consent_from_row_at};
use crate::model::PurposeTexts;
use crate::sql::ServingReads;
use crate::{HistoryRef, Preferences, ServingInputs, ServingState, StoreResult, SubjectLedger};

/// Keys per `IN (...)` list, well under SQLite's limit on bound parameters.
const KEYS_PER_QUERY: usize = 500;

/// The facts, ledger and restriction of every key, three range reads per 500 keys.
fn ledgers(
    conn: &Connection,
    keys: &[SubjectKey],
) -> rusqlite::Result<HashMap<SubjectKey, SubjectLedger>> {
    let (distinct, mut out) = SubjectLedger::blank_for(keys);
    for chunk in distinct.chunks(KEYS_PER_QUERY) {
        let marks = super::marks(chunk.len());
        let keys = || params_from_iter(chunk.iter().map(|k| k.as_bytes().as_slice()));
        let mut facts = conn.prepare_cached(&format!(
            "SELECT subject_key, age_band, country FROM subjects WHERE subject_key IN ({marks})"
        ))?;
        let mut rows = facts.query(keys())?;
        while let Some(r) = rows.next()? {
            let key = key_from(r.get(0)?)?;
            let band: Option<String> = r.get(1)?;
            if let Some(l) = out.get_mut(&key) {
                l.facts.age_band = band.as_deref().and_then(AgeBand::parse);
                l.facts.country = r.get(2)?;
            }
        }
        let mut consents = conn.prepare_cached(&format!(
            "SELECT subject_key, {CONSENT_COLUMNS} FROM consents WHERE subject_key IN ({marks}) ORDER BY subject_key, id"
        ))?;
        let mut rows = consents.query(keys())?;
        while let Some(r) = rows.next()? {
            let key = key_from(r.get(0)?)?;
            let (_, record) = consent_from_row_at(r, 1)?;
            if let Some(l) = out.get_mut(&key) {
                l.records.push(record);
            }
        }
        let mut restricted = conn.prepare_cached(&format!(
            "SELECT subject_key FROM restrictions WHERE subject_key IN ({marks})"
        ))?;
        let mut rows = restricted.query(keys())?;
        while let Some(r) = rows.next()? {
            if let Some(l) = out.get_mut(&key_from(r.get(0)?)?) {
                l.restricted = true;
            }
        }
    }
    Ok(out)
}

/// One subject's serving inputs on one connection: the ledger, the preferences, then, if
/// `wants_history` allows it, each event of the history handed to `each` as it is read.
fn serving_inputs_each(
    conn: &Connection,
    key: &SubjectKey,
    wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
    each: &mut dyn FnMut(HistoryRef<'_>),
) -> rusqlite::Result<ServingState> {
    let k = key.as_bytes().as_slice();
    // The subject's facts, restriction and preferences in one row, whether or not they exist.
    let (band, country, restricted, prefs): (Option<String>, Option<String>, bool, Option<String>) =
        conn.prepare_cached(
            "SELECT s.age_band, s.country, r.subject_key IS NOT NULL, p.preferences
             FROM (SELECT ?1 AS k) AS q
             LEFT JOIN subjects s ON s.subject_key = q.k
             LEFT JOIN restrictions r ON r.subject_key = q.k
             LEFT JOIN preferences p ON p.subject_key = q.k",
        )?
        .query_row([k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?
        .unwrap_or_default();
    let mut ledger = SubjectLedger {
        restricted,
        ..SubjectLedger::default()
    };
    ledger.facts.age_band = band.as_deref().and_then(AgeBand::parse);
    ledger.facts.country = country;
    ledger.records = conn
        .prepare_cached(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = ?1 ORDER BY id"
        ))?
        .query_map([k], consent_from_row)?
        .map(|r| r.map(|(_, rec)| rec))
        .collect::<rusqlite::Result<_>>()?;
    let preferences = match prefs {
        Some(t) => {
            serde_json::from_str(&t).map_err(|_| super::bad_row("preferences", "unreadable"))?
        }
        None => Preferences::default(),
    };
    if wants_history(&ledger, &preferences) {
        let mut history = conn.prepare_cached(&crate::model::history_sql("?1"))?;
        let mut rows = history.query([k])?;
        let mut purposes = PurposeTexts::default();
        while let Some(r) = rows.next()? {
            each(history_ref(r, &mut purposes)?);
        }
    }
    Ok(ServingState {
        ledger,
        preferences,
    })
}

/// One row of [`crate::model::history_sql`], borrowed from the row's own text: serving reads
/// it on every request. The purposes are parsed once per distinct text of the read.
fn history_ref<'r>(
    r: &'r rusqlite::Row<'_>,
    purposes: &'r mut PurposeTexts,
) -> rusqlite::Result<HistoryRef<'r>> {
    let interaction = r.get_ref(1)?.as_str()?;
    let listed = r.get_ref(2)?.as_str()?;
    Ok(HistoryRef {
        item_id: r.get_ref(0)?.as_str()?,
        interaction: Interaction::parse(interaction)
            .ok_or_else(|| super::bad_row("interaction", interaction))?,
        purposes: purposes
            .parse(listed)
            .map_err(|p| super::bad_row("purpose", p))?,
        occurred_at: Timestamp::from_millis(r.get(3)?),
        expires_at: Timestamp::from_millis(r.get(4)?),
    })
}

impl ServingReads for SqliteStore {
    fn subject_ledgers_impl(
        &self,
        keys: &[SubjectKey],
    ) -> StoreResult<HashMap<SubjectKey, SubjectLedger>> {
        self.read(|c| ledgers(c, keys))
    }

    fn serving_inputs_impl(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
    ) -> StoreResult<ServingInputs> {
        let mut history = Vec::new();
        let ServingState {
            ledger,
            preferences,
        } = self.read(|c| {
            serving_inputs_each(c, key, wants_history, &mut |e| history.push(e.to_event()))
        })?;
        Ok(ServingInputs {
            ledger,
            preferences,
            history,
        })
    }

    fn serving_inputs_each_impl(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
        each: &mut dyn FnMut(HistoryRef<'_>),
    ) -> StoreResult<ServingState> {
        self.read(|c| serving_inputs_each(c, key, wants_history, each))
    }
}
