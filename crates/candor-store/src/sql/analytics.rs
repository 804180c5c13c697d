//! Private analytics (SQLite migration 15, PostgreSQL 12): budgets per family and day, the
//! released reports, and the reads reports count.

use std::collections::BTreeMap;

use candor_analytics::{PrivacyCost, ReportFamily};
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, Dialect, SqlBackend, Value, marks, params};
use crate::StoreResult;
use crate::analytics::{
    AnalyticsConsent, AnalyticsRange, AnalyticsStore, BudgetCharge, ChargeOutcome, EventRef,
    Release, TouchRef, check_days, cost_columns, cost_from_columns, list_items, minor_units,
};

/// Most event types one read names.
const EVENT_TYPES_MAX: usize = 64;

const SPENT: &str = "SELECT period_day, epsilon_micros, delta_units FROM analytics_budgets
    WHERE family = ?1 AND period_day BETWEEN ?2 AND ?3 ORDER BY period_day";

const RELEASED: &str = "SELECT report FROM analytics_releases WHERE family = ?1 AND query = ?2";

/// Claims a query's release; inserts nothing when it exists (on PostgreSQL, after waiting for
/// a concurrent claim to commit or roll back).
const CLAIM_RELEASE: &str =
    "INSERT INTO analytics_releases (family, query, report, released_at, last_day)
    VALUES (?1, ?2, ?3, ?4, CAST(?5 AS BIGINT)) ON CONFLICT (family, query) DO NOTHING";

/// Releases whose days have ended a grace ago; those from before `last_day` was kept, by age.
const PRUNE_RELEASES: &str = "DELETE FROM analytics_releases
    WHERE last_day < CAST(?1 AS BIGINT) OR (last_day IS NULL AND released_at < ?2)";

/// Charges one day: (family, day, ε, δ, ε limit, δ limit). Changes one row when the day's
/// spending stays within the limit and none otherwise: the check and the update are one
/// statement, and on PostgreSQL a concurrent charge of the same day waits for this one's
/// transaction, then re-checks against what it committed.
const CHARGE_DAY: &str =
    "INSERT INTO analytics_budgets (family, period_day, epsilon_micros, delta_units)
    SELECT ?1, ?2, CAST(?3 AS BIGINT), CAST(?4 AS BIGINT)
    WHERE CAST(?3 AS BIGINT) <= CAST(?5 AS BIGINT) AND CAST(?4 AS BIGINT) <= CAST(?6 AS BIGINT)
    ON CONFLICT (family, period_day) DO UPDATE SET
        epsilon_micros = analytics_budgets.epsilon_micros + excluded.epsilon_micros,
        delta_units = analytics_budgets.delta_units + excluded.delta_units
    WHERE analytics_budgets.epsilon_micros + excluded.epsilon_micros <= CAST(?5 AS BIGINT)
      AND analytics_budgets.delta_units + excluded.delta_units <= CAST(?6 AS BIGINT)";

/// A refused charge undoes its claim and the days it charged, inside the transaction.
const SAVEPOINT: &str = "SAVEPOINT analytics_charge";
const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT analytics_charge";

/// A property of an event, as text.
fn property(dialect: Dialect, key: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST(json_extract(e.properties, '$.{key}') AS TEXT)"),
        Dialect::Postgres => format!("(e.properties::jsonb ->> '{key}')"),
    }
}

fn spent(
    c: &mut dyn Conn,
    family: &ReportFamily,
    first_day: i32,
    last_day: i32,
) -> DbResult<BTreeMap<i32, PrivacyCost>> {
    Ok(c.query(
        SPENT,
        params![family.as_str(), i64::from(first_day), i64::from(last_day)],
        |r| Ok((r.i64(0)?, cost_from_columns(r.i64(1)?, r.i64(2)?))),
    )?
    .into_iter()
    .filter_map(|(day, cost)| Some((i32::try_from(day).ok()?, cost)))
    .collect())
}

impl<B: SqlBackend> AnalyticsStore for B {
    fn budget_spent(
        &self,
        family: &ReportFamily,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<BTreeMap<i32, PrivacyCost>> {
        check_days(first_day, last_day)?;
        self.read_sql(&mut |c| spent(c, family, first_day, last_day))
    }

    fn released(&self, family: &ReportFamily, query: &str) -> StoreResult<Option<String>> {
        self.read_sql(&mut |c| {
            c.query_opt(RELEASED, params![family.as_str(), query], |r| r.text(0))
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
        self.write_sql(&mut |c| {
            c.execute(SAVEPOINT, params![])?;
            let claimed = c.execute(
                CLAIM_RELEASE,
                params![
                    release.family.as_str(),
                    &release.query,
                    &release.report,
                    now,
                    i64::from(release.last_day)
                ],
            )?;
            if claimed == 0 {
                let report = c.query_one(
                    RELEASED,
                    params![release.family.as_str(), &release.query],
                    |r| r.text(0),
                )?;
                return Ok(ChargeOutcome::AlreadyReleased(report));
            }
            // Days in ascending order, as every charge takes them, so two charges never wait
            // for each other's rows in a cycle.
            for day in charge.first_day..=charge.last_day {
                let changed = c.execute(
                    CHARGE_DAY,
                    params![family, i64::from(day), eps, delta, eps_max, delta_max],
                )?;
                if changed == 0 {
                    let spent = spent(c, &charge.family, day, day)?
                        .remove(&day)
                        .unwrap_or_default();
                    c.execute(ROLLBACK_TO_SAVEPOINT, params![])?;
                    return Ok(ChargeOutcome::Exhausted {
                        day,
                        remaining: charge.limit.minus(spent),
                    });
                }
            }
            Ok(ChargeOutcome::Charged)
        })
    }

    fn analytics_events_each(
        &self,
        range: &AnalyticsRange,
        event_types: &[String],
        properties_of: &[String],
        each: &mut dyn FnMut(EventRef<'_>),
    ) -> StoreResult<()> {
        if event_types.is_empty() {
            return Ok(());
        }
        if event_types.len() > EVENT_TYPES_MAX || properties_of.len() > EVENT_TYPES_MAX {
            return Err(crate::StoreError::Other(format!(
                "an analytics read names at most {EVENT_TYPES_MAX} event types"
            )));
        }
        self.read_sql(&mut |c| {
            let dialect = c.dialect();
            let with_properties = marks(4 + event_types.len(), properties_of.len());
            let [category, revenue, total] = ["category", "revenue", "total"].map(|key| {
                if properties_of.is_empty() {
                    "NULL".to_owned()
                } else {
                    format!(
                        "CASE WHEN e.event_type IN ({with_properties}) THEN {} END",
                        property(dialect, key)
                    )
                }
            });
            // The subjects table only when a country is asked for: a lookup per event.
            let (country, join) = match range.country {
                Some(_) => (
                    "s.country",
                    "JOIN subjects s ON s.subject_key = e.subject_key AND s.country = CAST(?3 AS TEXT)",
                ),
                None => ("CAST(?3 AS TEXT)", ""),
            };
            // One pass over the events whatever the types: only the columns reports use.
            let sql = format!(
                "SELECT e.subject_key, e.event_type, e.item_id, {category}, {revenue}, {total},
                        e.occurred_at, {country}
                 FROM events e {join}
                 WHERE e.occurred_at >= ?1 AND e.occurred_at < ?2
                   AND e.event_type IN ({types})
                   AND (',' || e.purposes || ',') LIKE '%,analytics,%'",
                types = marks(4, event_types.len()),
            );
            let mut values: Vec<Value<'_>> = vec![
                range.from.into(),
                range.to.into(),
                range.country.as_deref().into(),
            ];
            values.extend(event_types.iter().map(Value::from));
            values.extend(properties_of.iter().map(Value::from));
            c.query_each(&sql, &values, &mut |r| {
                let event_type = r.str(1)?;
                let Some(type_index) = event_types.iter().position(|t| t == event_type) else {
                    return Ok(());
                };
                each(EventRef {
                    subject: r.key(0)?,
                    type_index,
                    item_id: r.opt_str(2)?,
                    category: r.opt_str(3)?,
                    revenue_minor: minor_units(r.opt_str(4)?, r.opt_str(5)?),
                    at: r.time(6)?,
                    country: r.opt_str(7)?,
                });
                Ok(())
            })
        })
    }

    fn analytics_touches_each(
        &self,
        range: &AnalyticsRange,
        each: &mut dyn FnMut(TouchRef<'_>),
    ) -> StoreResult<()> {
        self.read_sql(&mut |c| {
            c.query_each(
                "SELECT subject_key, slot, items, at FROM exposure_lists
                 WHERE at >= ?1 AND at < ?2",
                params![range.from, range.to],
                &mut |r| {
                    let items = list_items(r.str(2)?);
                    let items: Vec<&str> = items.iter().map(|i| i.as_ref()).collect();
                    each(TouchRef {
                        subject: r.key(0)?,
                        channel: r.str(1)?,
                        items: &items,
                        at: r.time(3)?,
                    });
                    Ok(())
                },
            )?;
            c.query_each(
                "SELECT subject_key, campaign_id, at FROM deliveries
                 WHERE at >= ?1 AND at < ?2",
                params![range.from, range.to],
                &mut |r| {
                    each(TouchRef {
                        subject: r.key(0)?,
                        channel: r.str(1)?,
                        items: &[],
                        at: r.time(2)?,
                    });
                    Ok(())
                },
            )
        })
    }

    fn prune_releases(
        &self,
        ended_before_day: i32,
        released_before: Timestamp,
    ) -> StoreResult<u64> {
        self.write_sql(&mut |c| {
            c.execute(
                PRUNE_RELEASES,
                params![i64::from(ended_before_day), released_before],
            )
        })
    }

    fn analytics_consents(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsConsent>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT c.subject_key, c.purpose, c.source, c.decision, c.at, s.country
                 FROM consents c LEFT JOIN subjects s ON s.subject_key = c.subject_key
                 WHERE c.at >= ?1 AND c.at < ?2
                   AND (CAST(?3 AS TEXT) IS NULL OR s.country = CAST(?3 AS TEXT))",
                params![range.from, range.to, range.country.as_deref()],
                |r| {
                    Ok(AnalyticsConsent {
                        subject: r.key(0)?,
                        purpose: r.text(1)?,
                        source: r.text(2)?,
                        granted: r.text(3)? == "granted",
                        at: r.time(4)?,
                        country: r.opt_text(5)?,
                    })
                },
            )
        })
    }
}
