//! Private analytics: what each report family has spent of its privacy budget per day, the
//! reports already released (so a repeated request gets the same numbers, not fresh noise to
//! average away), and the reads that feed reports. No table here holds anything about one
//! person: budgets and released reports are aggregates, and the reads return pseudonymous rows
//! to the pure report code, which bounds and noises them before anything leaves the process.
//!
//! Budgets are kept per day whatever a report's granularity: a weekly report charges each day
//! of its weeks, so daily and weekly reports over the same days draw on one budget.

use std::collections::BTreeMap;

use candor_analytics::{Delta, Epsilon, PrivacyCost, ReportFamily};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use crate::StoreResult;

/// The longest day range one charge or read may cover: a year and a week, so a weekly report
/// over a year fits.
pub const ANALYTICS_DAYS_MAX: i32 = 373;

/// One report's charge: its cost, for every day from `first_day` to `last_day` (days since
/// 1970-01-01), against the family's per-day `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCharge {
    pub family: ReportFamily,
    pub first_day: i32,
    pub last_day: i32,
    pub cost: PrivacyCost,
    pub limit: PrivacyCost,
}

/// A released report, stored under its family and the text of its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub family: ReportFamily,
    /// Everything that makes two requests the same report (range, granularity, filters and
    /// the day the data was read up to).
    pub query: String,
    /// The last day the report covers (days since 1970-01-01): it is pruned a grace after.
    pub last_day: i32,
    /// The released report, as the caller serialized it.
    pub report: String,
}

/// What [`AnalyticsStore::charge_release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The budget was charged and the release stored, in one transaction.
    Charged,
    /// The same query was already released: nothing was charged; this is that report.
    AlreadyReleased(String),
    /// `day` could not afford the cost: nothing was charged or stored.
    Exhausted { day: i32, remaining: PrivacyCost },
}

/// A stored event that a report may count: its purposes include `analytics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsEvent {
    pub subject: SubjectKey,
    pub event_type: String,
    pub item_id: Option<String>,
    /// The `category` property, when the event kept one.
    pub category: Option<String>,
    /// The `revenue` (else `total`) property in minor units (cents), 0 when absent.
    pub revenue_minor: u64,
    pub at: Timestamp,
    /// The subject's declared country, when the read filters by country.
    pub country: Option<String>,
}

/// One event of a streaming read ([`AnalyticsStore::analytics_events_each`]), borrowed from
/// the row it was read from: a report over millions of events allocates nothing per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub subject: SubjectKey,
    /// The position of the event's type in the `event_types` the read was given.
    pub type_index: usize,
    pub item_id: Option<&'a str>,
    /// The `category` property, for types whose properties are read.
    pub category: Option<&'a str>,
    /// The `revenue` (else `total`) property in minor units, for types whose properties are
    /// read; else 0.
    pub revenue_minor: u64,
    pub at: Timestamp,
    /// The subject's declared country, when the read filters by country.
    pub country: Option<&'a str>,
}

/// One touch of a streaming read ([`AnalyticsStore::analytics_touches_each`]), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchRef<'a> {
    pub subject: SubjectKey,
    /// The slot or the campaign id.
    pub channel: &'a str,
    /// The items shown (empty for a campaign message).
    pub items: &'a [&'a str],
    pub at: Timestamp,
}

/// A moment a subject was reached: items shown in a recommendation slot, or a campaign message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsTouch {
    pub subject: SubjectKey,
    /// The slot or the campaign id.
    pub channel: String,
    /// The items shown (empty for a campaign message).
    pub items: Vec<String>,
    pub at: Timestamp,
}

/// One consent record, as consent-rate reports count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsConsent {
    pub subject: SubjectKey,
    pub purpose: String,
    pub source: String,
    pub granted: bool,
    pub at: Timestamp,
    pub country: Option<String>,
}

/// A time range `[from, to)` and an optional country filter for the reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsRange {
    pub from: Timestamp,
    pub to: Timestamp,
    pub country: Option<String>,
}

/// Storage of private analytics.
pub trait AnalyticsStore {
    /// What `family` has spent on each day from `first_day` to `last_day` that has spent
    /// anything.
    fn budget_spent(
        &self,
        family: &ReportFamily,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<BTreeMap<i32, PrivacyCost>>;

    /// The report released for `query` of `family`, if there is one.
    fn released(&self, family: &ReportFamily, query: &str) -> StoreResult<Option<String>>;

    /// In one transaction: if `release`'s query was already released, returns that report and
    /// charges nothing; otherwise charges `charge` to every day it covers — each day only if
    /// its spending stays within the limit, all days or none — and stores the release. Two
    /// callers racing, on one instance or several, can neither both spend the last of a
    /// budget nor both release the same query.
    fn charge_release(
        &self,
        charge: &BudgetCharge,
        release: &Release,
        now: Timestamp,
    ) -> StoreResult<ChargeOutcome>;

    /// Hands `each` every event of `event_types` in the range whose purposes include
    /// `analytics`, in no particular order, in one pass over the events; the category and
    /// revenue are read (from each event's JSON, the costly part) only for the types also in
    /// `properties_of`.
    fn analytics_events_each(
        &self,
        range: &AnalyticsRange,
        event_types: &[String],
        properties_of: &[String],
        each: &mut dyn FnMut(EventRef<'_>),
    ) -> StoreResult<()>;

    /// The events of `event_types` in the range whose purposes include `analytics`; with
    /// `properties`, their category and revenue, otherwise none and 0.
    fn analytics_events(
        &self,
        range: &AnalyticsRange,
        event_types: &[String],
        properties: bool,
    ) -> StoreResult<Vec<AnalyticsEvent>> {
        let properties_of: &[String] = if properties { event_types } else { &[] };
        let mut out = Vec::new();
        self.analytics_events_each(range, event_types, properties_of, &mut |e| {
            out.push(AnalyticsEvent {
                subject: e.subject,
                event_type: event_types[e.type_index].clone(),
                item_id: e.item_id.map(str::to_owned),
                category: e.category.map(str::to_owned),
                revenue_minor: e.revenue_minor,
                at: e.at,
                country: e.country.map(str::to_owned),
            })
        })?;
        Ok(out)
    }

    /// Hands `each` the recommendation lists served in the range (`channel` = slot), then the
    /// campaign messages recorded in it (`channel` = campaign id), each in no particular order
    /// (callers sort what they keep: sorting every row in the database costs more).
    fn analytics_touches_each(
        &self,
        range: &AnalyticsRange,
        each: &mut dyn FnMut(TouchRef<'_>),
    ) -> StoreResult<()>;

    /// Recommendation lists served in the range (`channel` = slot), and campaign messages
    /// recorded in it (`channel` = campaign id), oldest first.
    fn analytics_touches(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsTouch>> {
        let mut out = Vec::new();
        self.analytics_touches_each(range, &mut |t| {
            out.push(AnalyticsTouch {
                subject: t.subject,
                channel: t.channel.to_owned(),
                items: t.items.iter().map(|i| (*i).to_owned()).collect(),
                at: t.at,
            })
        })?;
        out.sort_by_key(|t| t.at);
        Ok(out)
    }

    /// Deletes the releases whose last covered day is before `ended_before_day`, and those
    /// stored without one (made before the day was kept) released before `released_before`.
    /// Budgets are kept: a pruned request asked again is a new release, charged again.
    /// Returns how many were deleted.
    fn prune_releases(&self, ended_before_day: i32, released_before: Timestamp)
    -> StoreResult<u64>;

    /// Consent records made in the range.
    fn analytics_consents(&self, range: &AnalyticsRange) -> StoreResult<Vec<AnalyticsConsent>>;
}

/// Checks a charge's day range.
pub(crate) fn check_days(first_day: i32, last_day: i32) -> StoreResult<()> {
    if first_day > last_day || last_day - first_day >= ANALYTICS_DAYS_MAX {
        return Err(crate::StoreError::Other(format!(
            "an analytics day range must be ordered and at most {ANALYTICS_DAYS_MAX} days"
        )));
    }
    Ok(())
}

/// A stored (ε, δ) pair, read back from two integer columns.
pub(crate) fn cost_from_columns(epsilon_micros: i64, delta_units: i64) -> PrivacyCost {
    PrivacyCost::new(
        Epsilon::from_micros(u64::try_from(epsilon_micros).unwrap_or(0)),
        Delta::from_units(u64::try_from(delta_units).unwrap_or(0)),
    )
}

/// A cost as the two integer columns (ε and δ are bounded far below `i64::MAX`).
pub(crate) fn cost_columns(cost: PrivacyCost) -> (i64, i64) {
    (
        i64::try_from(cost.epsilon.micros()).unwrap_or(i64::MAX),
        i64::try_from(cost.delta.units()).unwrap_or(i64::MAX),
    )
}

/// A property read as text, in minor units: "12.34" → 1234; absent, negative or unreadable → 0.
pub(crate) fn minor_units(revenue: Option<&str>, total: Option<&str>) -> u64 {
    let parse = |s: Option<&str>| s.and_then(|s| s.trim().parse::<f64>().ok());
    match parse(revenue).or_else(|| parse(total)) {
        Some(v) if v.is_finite() && v > 0.0 => (v * 100.0).round().min(u64::MAX as f64) as u64,
        _ => 0,
    }
}

/// The items of a stored exposure list (`[[rank, item_id, provider], ...]`), borrowed from
/// the text when no item id needs unescaping.
pub(crate) fn list_items(items: &str) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    if let Ok(items) = serde_json::from_str::<Vec<(u32, &str, serde::de::IgnoredAny)>>(items) {
        return items
            .into_iter()
            .map(|(_, item, _)| Cow::Borrowed(item))
            .collect();
    }
    serde_json::from_str::<Vec<(u32, String, serde::de::IgnoredAny)>>(items)
        .map(|items| {
            items
                .into_iter()
                .map(|(_, item, _)| Cow::Owned(item))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_minor_units() {
        assert_eq!(minor_units(Some("12.34"), None), 1234);
        assert_eq!(minor_units(None, Some("5")), 500);
        assert_eq!(minor_units(Some("x"), Some("1")), 100);
        assert_eq!(minor_units(Some("-3"), None), 0);
        assert_eq!(minor_units(None, None), 0);
    }

    #[test]
    fn list_items_read_plain_and_escaped_ids() {
        let items = list_items(r#"[[1,"a","p"],[2,"b\"c","p"]]"#);
        assert_eq!(items, ["a", "b\"c"]);
        assert!(list_items("not json").is_empty());
    }
}
