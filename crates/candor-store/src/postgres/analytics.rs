//! PostgreSQL side of private analytics (migration 11).

use std::collections::BTreeMap;

use candor_analytics::{PrivacyCost, ReportFamily};
use candor_domain::time::Timestamp;
use postgres::GenericClient;
use postgres::types::ToSql;

use super::campaigns::key_from;
use super::{DbResult, PostgresStore};
use crate::StoreResult;
use crate::analytics::{
    AnalyticsConsent, AnalyticsEvent, AnalyticsRange, AnalyticsStore, AnalyticsTouch, BudgetCharge,
    ChargeOutcome, Release, check_days, cost_columns, cost_from_columns, list_items, minor_units,
    sql,
};

fn p(n: u8) -> String {
    format!("${n}")
}

fn json_text(key: &str) -> String {
    format!("(e.properties::jsonb ->> '{key}')")
}

fn spent(
    c: &mut impl GenericClient,
    family: &ReportFamily,
    first_day: i32,
    last_day: i32,
) -> DbResult<BTreeMap<i32, PrivacyCost>> {
    c.query(&sql::spent(p), &[&family.as_str(), &first_day, &last_day])?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                cost_from_columns(r.try_get(1)?, r.try_get(2)?),
            ))
        })
        .collect()
}

impl AnalyticsStore for PostgresStore {
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
            Ok(c.query_opt(&sql::released(p), &[&family.as_str(), &query])?
                .map(|r| r.try_get(0))
                .transpose()?)
        })
    }

    fn charge_release(
        &self,
        charge: &BudgetCharge,
        release: &Release,
        now: Timestamp,
    ) -> StoreResult<ChargeOutcome> {
        check_days(charge.first_day, charge.last_day)?;
        let (eps, delta) = cost_columns(charge.cost);
        let (eps_max, delta_max) = cost_columns(charge.limit);
        let family = charge.family.as_str();
        self.write(|tx| {
            // A savepoint, so a refusal undoes the claim and the days charged while `write`
            // commits the (then empty) transaction.
            let mut sp = tx.transaction()?;
            // A concurrent claim of the same query holds its row until it commits or rolls
            // back; this insert waits for it, then inserts nothing or claims the query.
            let claimed = sp.execute(
                &sql::claim_release(p),
                &[
                    &release.family.as_str(),
                    &release.query,
                    &release.report,
                    &now.as_millis(),
                ],
            )?;
            if claimed == 0 {
                let report: String = sp
                    .query_one(
                        &sql::released(p),
                        &[&release.family.as_str(), &release.query],
                    )?
                    .try_get(0)?;
                return Ok(ChargeOutcome::AlreadyReleased(report));
            }
            // Days in ascending order, as every charge takes them, so two charges never wait
            // for each other's rows in a cycle.
            let statement = sp.prepare(&sql::charge_day(p, "BIGINT"))?;
            for day in charge.first_day..=charge.last_day {
                let changed = sp.execute(
                    &statement,
                    &[&family, &day, &eps, &delta, &eps_max, &delta_max],
                )?;
                if changed == 0 {
                    let spent = spent(&mut sp, &charge.family, day, day)?
                        .remove(&day)
                        .unwrap_or_default();
                    return Ok(ChargeOutcome::Exhausted {
                        day,
                        remaining: charge.limit.minus(spent),
                    });
                }
            }
            sp.commit()?;
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
        let (from, to) = (range.from.as_millis(), range.to.as_millis());
        self.read(|c| {
            let mut values: Vec<&(dyn ToSql + Sync)> = vec![&from, &to, &range.country];
            values.extend(
                event_types
                    .iter()
                    .take(n_types.into())
                    .map(|t| t as &(dyn ToSql + Sync)),
            );
            c.query(&text, &values)?
                .iter()
                .map(|r| {
                    let revenue: Option<String> = r.try_get(4)?;
                    let total: Option<String> = r.try_get(5)?;
                    Ok(AnalyticsEvent {
                        subject: key_from(r.try_get(0)?)?,
                        event_type: r.try_get(1)?,
                        item_id: r.try_get(2)?,
                        category: r.try_get(3)?,
                        revenue_minor: minor_units(revenue.as_deref(), total.as_deref()),
                        at: Timestamp::from_millis(r.try_get(6)?),
                        country: r.try_get(7)?,
                    })
                })
                .collect()
        })
    }

    fn analytics_touches(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsTouch>> {
        let (from, to) = (range.from.as_millis(), range.to.as_millis());
        self.read(|c| {
            let mut touches = c
                .query(&sql::exposure_lists(p), &[&from, &to])?
                .iter()
                .map(|r| {
                    let items: String = r.try_get(2)?;
                    Ok(AnalyticsTouch {
                        subject: key_from(r.try_get(0)?)?,
                        channel: r.try_get(1)?,
                        items: list_items(&items),
                        at: Timestamp::from_millis(r.try_get(3)?),
                    })
                })
                .collect::<DbResult<Vec<_>>>()?;
            for r in c.query(&sql::deliveries(p), &[&from, &to])? {
                touches.push(AnalyticsTouch {
                    subject: key_from(r.try_get(0)?)?,
                    channel: r.try_get(1)?,
                    items: Vec::new(),
                    at: Timestamp::from_millis(r.try_get(2)?),
                });
            }
            touches.sort_by_key(|t| t.at);
            Ok(touches)
        })
    }

    fn analytics_consents(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsConsent>> {
        let (from, to) = (range.from.as_millis(), range.to.as_millis());
        self.read(|c| {
            c.query(&sql::consents(p), &[&from, &to, &range.country])?
                .iter()
                .map(|r| {
                    let decision: String = r.try_get(3)?;
                    Ok(AnalyticsConsent {
                        subject: key_from(r.try_get(0)?)?,
                        purpose: r.try_get(1)?,
                        source: r.try_get(2)?,
                        granted: decision == "granted",
                        at: Timestamp::from_millis(r.try_get(4)?),
                        country: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }
}
