//! SQLite side of private analytics (migration 14).

use std::collections::BTreeMap;

use candor_analytics::{PrivacyCost, ReportFamily};
use candor_domain::time::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params, params_from_iter};

use super::SqliteStore;
use super::campaigns::key_from;
use crate::StoreResult;
use crate::analytics::{
    AnalyticsConsent, AnalyticsEvent, AnalyticsRange, AnalyticsStore, AnalyticsTouch, BudgetCharge,
    ChargeOutcome, Release, check_days, cost_columns, cost_from_columns, list_items, minor_units,
    sql,
};

fn p(n: u8) -> String {
    format!("?{n}")
}

fn json_text(key: &str) -> String {
    format!("CAST(json_extract(e.properties, '$.{key}') AS TEXT)")
}

fn spent(
    c: &rusqlite::Connection,
    family: &ReportFamily,
    first_day: i32,
    last_day: i32,
) -> rusqlite::Result<BTreeMap<i32, PrivacyCost>> {
    c.prepare_cached(&sql::spent(p))?
        .query_map(params![family.as_str(), first_day, last_day], |r| {
            Ok((r.get(0)?, cost_from_columns(r.get(1)?, r.get(2)?)))
        })?
        .collect()
}

impl AnalyticsStore for SqliteStore {
    fn budget_spent(
        &self,
        family: &ReportFamily,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<BTreeMap<i32, PrivacyCost>> {
        check_days(first_day, last_day)?;
        self.read(|c| spent(c, family, first_day, last_day))
    }

    fn released(&self, family: &ReportFamily, query: &str) -> StoreResult<Option<String>> {
        self.read(|c| {
            c.query_row(&sql::released(p), params![family.as_str(), query], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    fn charge_release(
        &self,
        charge: &BudgetCharge,
        release: &Release,
        now: Timestamp,
    ) -> StoreResult<ChargeOutcome> {
        check_days(charge.first_day, charge.last_day)?;
        // One writer connection: the transaction below is the only one running, so its check
        // and its update see the same spending.
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let claimed = tx.execute(
                &sql::claim_release(p),
                params![
                    release.family.as_str(),
                    release.query,
                    release.report,
                    now.as_millis()
                ],
            )?;
            if claimed == 0 {
                let report: String = tx.query_row(
                    &sql::released(p),
                    params![release.family.as_str(), release.query],
                    |r| r.get(0),
                )?;
                return Ok(ChargeOutcome::AlreadyReleased(report));
            }
            let (eps, delta) = cost_columns(charge.cost);
            let (eps_max, delta_max) = cost_columns(charge.limit);
            let family = charge.family.as_str();
            for day in charge.first_day..=charge.last_day {
                let changed = tx
                    .prepare_cached(&sql::charge_day(p, "INTEGER"))?
                    .execute(params![family, day, eps, delta, eps_max, delta_max])?;
                if changed == 0 {
                    let spent = spent(&tx, &charge.family, day, day)?
                        .remove(&day)
                        .unwrap_or_default();
                    // Dropping the transaction rolls back the claim and the days charged.
                    return Ok(ChargeOutcome::Exhausted {
                        day,
                        remaining: charge.limit.minus(spent),
                    });
                }
            }
            tx.commit()?;
            Ok(ChargeOutcome::Charged)
        })
    }

    fn analytics_events(
        &self,
        range: &AnalyticsRange,
        event_types: &[String],
    ) -> StoreResult<Vec<AnalyticsEvent>> {
        if event_types.is_empty() {
            return Ok(Vec::new());
        }
        let n_types = u8::try_from(event_types.len().min(200)).unwrap_or(200);
        let text = sql::events(p, json_text, n_types);
        self.read(|c| {
            let mut values: Vec<rusqlite::types::Value> = vec![
                range.from.as_millis().into(),
                range.to.as_millis().into(),
                range.country.clone().into(),
            ];
            values.extend(
                event_types
                    .iter()
                    .take(n_types.into())
                    .map(|t| t.clone().into()),
            );
            c.prepare(&text)?
                .query_map(params_from_iter(values), |r| {
                    let revenue: Option<String> = r.get(4)?;
                    let total: Option<String> = r.get(5)?;
                    Ok(AnalyticsEvent {
                        subject: key_from(r.get(0)?)?,
                        event_type: r.get(1)?,
                        item_id: r.get(2)?,
                        category: r.get(3)?,
                        revenue_minor: minor_units(revenue.as_deref(), total.as_deref()),
                        at: Timestamp::from_millis(r.get(6)?),
                        country: r.get(7)?,
                    })
                })?
                .collect()
        })
    }

    fn analytics_touches(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsTouch>> {
        let bounds = params![range.from.as_millis(), range.to.as_millis()];
        self.read(|c| {
            let mut touches: Vec<AnalyticsTouch> = c
                .prepare(&sql::exposure_lists(p))?
                .query_map(bounds, |r| {
                    let items: String = r.get(2)?;
                    Ok(AnalyticsTouch {
                        subject: key_from(r.get(0)?)?,
                        channel: r.get(1)?,
                        items: list_items(&items),
                        at: Timestamp::from_millis(r.get(3)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let messages = c
                .prepare(&sql::deliveries(p))?
                .query_map(bounds, |r| {
                    Ok(AnalyticsTouch {
                        subject: key_from(r.get(0)?)?,
                        channel: r.get(1)?,
                        items: Vec::new(),
                        at: Timestamp::from_millis(r.get(2)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            touches.extend(messages);
            touches.sort_by_key(|t| t.at);
            Ok(touches)
        })
    }

    fn analytics_consents(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsConsent>> {
        self.read(|c| {
            c.prepare(&sql::consents(p))?
                .query_map(
                    params![
                        range.from.as_millis(),
                        range.to.as_millis(),
                        range.country.as_deref()
                    ],
                    |r| {
                        let decision: String = r.get(3)?;
                        Ok(AnalyticsConsent {
                            subject: key_from(r.get(0)?)?,
                            purpose: r.get(1)?,
                            source: r.get(2)?,
                            granted: decision == "granted",
                            at: Timestamp::from_millis(r.get(4)?),
                            country: r.get(5)?,
                        })
                    },
                )?
                .collect()
        })
    }
}
