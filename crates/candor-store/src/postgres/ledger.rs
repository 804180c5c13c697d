//! Batched reads of what the consent gate and the serving path need about subjects.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::AgeBand;
use postgres::GenericClient;

use super::DbResult;
use super::PostgresStore;
use super::campaigns::key_from;
use super::conn::PgConn;
use crate::sql::ServingReads;
use crate::sql::consent::{CONSENT_COLUMNS, consent_from_row as consent_from_row_at};
use crate::{Preferences, ServingInputs, StoreResult, SubjectLedger};

/// The facts, ledger and restriction of every key: three queries for the whole batch, each
/// on a statement the connection keeps prepared.
fn ledgers(
    c: &mut PgConn<'_, postgres::Client>,
    keys: &[SubjectKey],
) -> DbResult<HashMap<SubjectKey, SubjectLedger>> {
    let (distinct, mut out) = SubjectLedger::blank_for(keys);
    let list: Vec<&[u8]> = distinct.iter().map(|k| k.as_bytes().as_slice()).collect();
    for r in c.pg_query(
        "SELECT subject_key, age_band, country FROM subjects WHERE subject_key = ANY($1)",
        &[&list],
    )? {
        let band: Option<String> = r.try_get(1)?;
        if let Some(l) = out.get_mut(&key_from(r.try_get(0)?)?) {
            l.facts.age_band = band.as_deref().and_then(AgeBand::parse);
            l.facts.country = r.try_get(2)?;
        }
    }
    for r in c.pg_query(
        &format!(
            "SELECT subject_key, {CONSENT_COLUMNS} FROM consents WHERE subject_key = ANY($1) ORDER BY subject_key, id"
        ),
        &[&list],
    )? {
        let (_, record) = consent_from_row_at(&r, 1)?;
        if let Some(l) = out.get_mut(&key_from(r.try_get(0)?)?) {
            l.records.push(record);
        }
    }
    for r in c.pg_query(
        "SELECT subject_key FROM restrictions WHERE subject_key = ANY($1)",
        &[&list],
    )? {
        if let Some(l) = out.get_mut(&key_from(r.try_get(0)?)?) {
            l.restricted = true;
        }
    }
    Ok(out)
}

/// One subject's serving inputs: the facts, restriction, preferences and ledger in one
/// round trip, then the history if `wants_history` allows it.
fn serving_inputs(
    c: &mut impl GenericClient,
    key: &SubjectKey,
    wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
) -> DbResult<ServingInputs> {
    let k = key.as_bytes().as_slice();
    let row = c.query_one(
        "SELECT s.age_band, s.country,
                EXISTS (SELECT 1 FROM restrictions r WHERE r.subject_key = $1),
                (SELECT p.preferences FROM preferences p WHERE p.subject_key = $1)
         FROM (SELECT 1) AS one LEFT JOIN subjects s ON s.subject_key = $1",
        &[&k],
    )?;
    let band: Option<String> = row.try_get(0)?;
    let prefs: Option<String> = row.try_get(3)?;
    let mut ledger = SubjectLedger {
        restricted: row.try_get(2)?,
        ..SubjectLedger::default()
    };
    ledger.facts.age_band = band.as_deref().and_then(AgeBand::parse);
    ledger.facts.country = row.try_get(1)?;
    ledger.records = c
        .query(
            &format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE subject_key = $1 ORDER BY id"),
            &[&k],
        )?
        .iter()
        .map(|r| consent_from_row_at(r, 0).map(|(_, rec)| rec))
        .collect::<DbResult<_>>()?;
    let preferences = match prefs {
        Some(t) => {
            serde_json::from_str(&t).map_err(|_| super::bad_row("preferences", "document"))?
        }
        None => Preferences::default(),
    };
    let history = if wants_history(&ledger, &preferences) {
        c.query(&crate::model::history_sql("$1"), &[&k])?
            .iter()
            .map(|r| crate::sql::events::history_from_row(r))
            .collect::<DbResult<_>>()?
    } else {
        Vec::new()
    };
    Ok(ServingInputs {
        ledger,
        preferences,
        history,
    })
}

impl ServingReads for PostgresStore {
    fn subject_ledgers_impl(
        &self,
        keys: &[SubjectKey],
    ) -> StoreResult<HashMap<SubjectKey, SubjectLedger>> {
        self.read_pg(|c| ledgers(c, keys))
    }

    fn serving_inputs_impl(
        &self,
        key: &SubjectKey,
        wants_history: &dyn Fn(&SubjectLedger, &Preferences) -> bool,
    ) -> StoreResult<ServingInputs> {
        self.read(|c| serving_inputs(c, key, wants_history))
    }
}
