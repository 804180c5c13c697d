//! Private analytics reports: what worked, told without exposing anyone.
//!
//! One function, [`run_report`], answers every report family over the store, the policy, the
//! settings and `now`: it reads the rows the family counts (only events whose purposes include
//! `analytics`; consent records from the ledger), turns them into (person, day, cell, value)
//! rows, has `candor_analytics` bound each person's contribution, select the cells that may be
//! shown and noise every number, and then charges the family's budget for every day the report
//! covers and stores the release — one store transaction, so a budget holds across restarts
//! and instances, and the same request again returns the same numbers instead of fresh noise
//! (averaging repeated releases would strip the noise away).
//!
//! No HTTP here: the route and the command line both call [`run_report`].

use std::collections::{HashMap, HashSet};

use candor_analytics::report::{PeriodReport, release};
use candor_analytics::{
    BoundingKey, Bounds, CellKey, Granularity, Measure, Mechanism, PersonKey, PrivacyCost,
    Released, ReportConfig, ReportFamily, Row,
};
use candor_domain::SubjectKey;
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::analytics::{
    AnalyticsRange, BudgetCharge, ChargeOutcome, EventRef, Release, TouchRef,
};
use candor_store::{Store, StoreResult};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::config::AnalyticsSettings;
use crate::error::{AppError, AppResult};

/// The most days one report may cover (a year).
pub const REPORT_DAYS_MAX: i32 = 366;
/// The most dropped events a drops report reads before asking for a shorter range.
pub const DROP_ROWS_MAX: u64 = 5_000_000;

/// The report families: each has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Orders and revenue credited to recommendation slots and campaigns.
    Conversions,
    /// Items viewed and bought.
    TopItems,
    /// Categories viewed and bought.
    TopCategories,
    /// Each category's share of the people showing interest.
    InterestShare,
    /// Consent choices per purpose and source.
    ConsentRates,
    /// Events dropped at ingestion, by reason.
    Drops,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::Conversions,
        Family::TopItems,
        Family::TopCategories,
        Family::InterestShare,
        Family::ConsentRates,
        Family::Drops,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Conversions => "conversions",
            Family::TopItems => "top-items",
            Family::TopCategories => "top-categories",
            Family::InterestShare => "interest-share",
            Family::ConsentRates => "consent-rates",
            Family::Drops => "drops",
        }
    }

    pub fn parse(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == name)
    }

    fn report_family(self) -> ReportFamily {
        ReportFamily::parse(self.as_str()).expect("family names are valid")
    }

    /// Where the family's numbers come from, stated in every report.
    pub fn consent_basis(self) -> &'static str {
        match self {
            Family::Conversions => {
                "Orders and product views whose purposes include `analytics`, as granted when each \
                 event was recorded (a withdrawal removes the purpose from later events); \
                 recommendation lists and campaign messages only label those orders."
            }
            Family::TopItems | Family::TopCategories | Family::InterestShare => {
                "Product views and orders whose purposes include `analytics`, as granted when each \
                 event was recorded (a withdrawal removes the purpose from later events)."
            }
            Family::ConsentRates => {
                "The consent ledger, kept to show consent was obtained; only noisy totals leave it."
            }
            Family::Drops => {
                "Anonymous counters of events not stored (day, event type, reason): they hold \
                 no identifier, so no person's contribution can be bounded and each dropped \
                 event counts as one contributor — privacy per event, not per person. No other \
                 report counts these events; the exact counters are shown to administrators \
                 at /v1/stats/drops."
            }
        }
    }

    /// Contribution bounds: per person and period, at most `cells` cells, `rows` rows per
    /// cell, values clamped to `value_max`.
    fn bounds(self) -> Bounds {
        let (rows_per_cell_max, cells_per_person_max, value_max) = match self {
            // An order of up to 200.00 counts whole; a person counts in one cell per period.
            Family::Conversions => (2, 1, 20_000),
            Family::TopItems | Family::TopCategories => (1, 8, 1),
            Family::InterestShare => (1, 5, 1),
            // Grants and refusals of each purpose, from one or two sources.
            Family::ConsentRates => (1, 8, 1),
            Family::Drops => (1, 1, 1),
        };
        Bounds {
            rows_per_cell_max,
            cells_per_person_max,
            value_max,
        }
    }

    /// How a report's ε is split: (people, events, sum) in percent. Conversions give half to
    /// revenue: its noise is scaled to the largest order a person may add (2 × 200.00), so it
    /// needs the most ε for a cell of 1,000 people to stay within 5 % (see
    /// `docs/analytics-accuracy.md`); people and orders are counted within 5 % on a quarter.
    fn epsilon_split(self) -> (u64, u64, u64) {
        match self {
            Family::Conversions => (25, 25, 50),
            _ => (100, 0, 0),
        }
    }

    /// The report's configuration: its bounds, and the report's (ε, δ) split across its
    /// measures (δ for partition selection).
    pub fn report_config(
        self,
        cost: PrivacyCost,
        granularity: Granularity,
        first_day: i32,
        last_day: i32,
    ) -> ReportConfig {
        let (people_pct, events_pct, sum_pct) = self.epsilon_split();
        let measure = |pct: u64| {
            (pct > 0).then(|| Measure {
                epsilon: part(cost.epsilon, pct),
                mechanism: Mechanism::Laplace,
            })
        };
        ReportConfig {
            granularity,
            first_day,
            last_day,
            bounds: self.bounds(),
            people_epsilon: part(cost.epsilon, people_pct),
            selection_delta: cost.delta,
            events: measure(events_pct),
            sum: measure(sum_pct),
        }
    }

    /// What a cell's people count counts.
    pub fn unit(self) -> &'static str {
        match self {
            Family::Drops => "dropped events",
            _ => "people",
        }
    }
}

/// A report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub family: Family,
    /// First and last day asked for (days since 1970-01-01); whole periods are reported.
    pub first_day: i32,
    pub last_day: i32,
    pub granularity: Granularity,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: Option<String>,
}

/// Stable codes of the refusals a report answers with (kinds mapped in the server's one table).
pub mod codes {
    /// No such report family (not found).
    pub const UNKNOWN_FAMILY: &str = "unknown_report_family";
    /// A malformed or out-of-bounds request (invalid).
    pub const INVALID_QUERY: &str = "invalid_report_query";
    /// A covered day cannot afford the report (conflict).
    pub const BUDGET_EXHAUSTED: &str = "privacy_budget_exhausted";
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::invalid(codes::INVALID_QUERY, message)
}

/// (ε, δ) as decimals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostBody {
    pub epsilon: f64,
    pub delta: f64,
}

impl From<PrivacyCost> for CostBody {
    fn from(c: PrivacyCost) -> Self {
        CostBody {
            epsilon: c.epsilon.as_f64(),
            delta: c.delta.as_f64(),
        }
    }
}

/// One shown cell: every number with its noise and 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellBody {
    pub cell: String,
    /// Distinct contributors (see the report's `unit`).
    pub people: Released,
    /// Events (orders, for conversions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Released>,
    /// Revenue in minor units (cents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_minor: Option<Released>,
    /// The cell's share of its group's people (interest share: of the period's shown
    /// categories; consent rates: granted of granted + not granted), when every cell of the
    /// group was shown. Computed from the noisy counts, so it costs no budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodBody {
    /// First day of the period, `YYYY-MM-DD`.
    pub start: String,
    /// Shown cells, most people first.
    pub cells: Vec<CellBody>,
}

/// The noise of each measure, public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseBody {
    pub measure: String,
    pub epsilon: f64,
    pub noise: candor_analytics::Calibrated,
}

/// A released report, as stored and as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasedReport {
    pub family: String,
    pub by: Granularity,
    /// First and last day covered (whole periods), `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub country: Option<String>,
    pub consent_basis: String,
    pub unit: String,
    pub released_at: String,
    /// What the report spent on each day it covers.
    pub charged_per_day: CostBody,
    /// A cell is shown only when its noisy count of people reaches this.
    pub selection_threshold: i64,
    pub noise: Vec<NoiseBody>,
    pub periods: Vec<PeriodBody>,
}

/// A report and where its family's budget stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutcome {
    pub report: ReleasedReport,
    /// Whether this is an earlier release of the same request (nothing was charged now).
    pub repeated: bool,
    /// The least any covered day has left of the family's budget.
    pub remaining: PrivacyCost,
    pub budget: PrivacyCost,
}

/// The family's budget and what it has left, as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetBody {
    /// What the family may spend on any one day of data.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub per_day: CostBody,
    /// The least any day the report covers has left.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub remaining: CostBody,
}

/// A released report, its repetition and the budget, as the API and the command line send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsBody {
    /// The report: each period's shown cells with every number as `{value, ci95_low,
    /// ci95_high, noise, noise_std_dev}`, the noise and ε of each measure, the selection
    /// threshold, the consent basis and what it charged per day.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: ReleasedReport,
    /// Whether this is the earlier release of the same request (nothing charged now).
    pub repeated: bool,
    pub budget: BudgetBody,
}

impl From<ReportOutcome> for AnalyticsBody {
    fn from(o: ReportOutcome) -> Self {
        AnalyticsBody {
            report: o.report,
            repeated: o.repeated,
            budget: BudgetBody {
                per_day: o.budget.into(),
                remaining: o.remaining.into(),
            },
        }
    }
}

/// Days since 1970-01-01 of `t` (UTC).
pub fn day_of(t: Timestamp) -> i32 {
    i32::try_from(t.as_millis().div_euclid(DAY_MS)).unwrap_or(i32::MAX)
}

fn day_start(day: i32) -> Timestamp {
    Timestamp::from_millis(i64::from(day) * DAY_MS)
}

/// `YYYY-MM-DD` of a day number.
pub fn date_of(day: i32) -> String {
    day_start(day).date()
}

/// A day number from `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<i32> {
    let t = Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z"))?;
    (text.len() == 10).then(|| day_of(t))
}

fn period_len(granularity: Granularity) -> i32 {
    match granularity {
        Granularity::Day => 1,
        Granularity::Week => 7,
    }
}

/// The key rows are bounded under: the server secret, the family and the granularity (the
/// bounding itself mixes in each period), so families pick their rows independently and a
/// rerun keeps the same ones.
fn bounding_key(secret: &[u8], family: Family, granularity: Granularity) -> BoundingKey {
    let by = match granularity {
        Granularity::Day => "day",
        Granularity::Week => "week",
    };
    BoundingKey::new(candor_domain::ids::keyed_hash(
        secret,
        "analytics-bounding",
        format!("{}|{by}", family.as_str()).as_bytes(),
    ))
}

fn person(subject: &SubjectKey) -> PersonKey {
    PersonKey::new(subject.to_hex())
}

fn part(epsilon: candor_analytics::Epsilon, percent: u64) -> candor_analytics::Epsilon {
    candor_analytics::Epsilon::from_micros(epsilon.micros() * percent / 100)
}

/// Days a released report is kept after the last day it covers. Within them the same request
/// returns the same numbers; after them, a request for those days is a new release, charged
/// to the family's budget like any other (budgets are never pruned, so pruning cannot let a
/// day be spent past its limit). A release covering today reads the data up to today only,
/// so from tomorrow on the same request is a new release anyway: the grace keeps a finished
/// period's final report repeatable for a month.
pub const RELEASE_GRACE_DAYS: i32 = 30;

/// Deletes the releases whose last covered day is more than [`RELEASE_GRACE_DAYS`] before
/// `now`'s day (and those stored before the day was kept, once that must hold: released a
/// grace and a week ago, since a weekly release ends at most six days after it was made).
/// Returns how many were deleted.
pub fn prune_releases(store: &dyn Store, now: Timestamp) -> StoreResult<u64> {
    let ended_before = day_of(now) - RELEASE_GRACE_DAYS;
    let released_before = now.plus_millis(-i64::from(RELEASE_GRACE_DAYS + 7) * DAY_MS);
    store.prune_releases(ended_before, released_before)
}

/// Days a report covers when `from` is not given.
pub const DAYS_DEFAULT: i32 = 30;

/// The request that a family name, `from` and `to` (`YYYY-MM-DD`; defaults: today and 29 days
/// before `to`), a granularity and a country name, checked.
pub fn parse_request(
    family: &str,
    from: Option<&str>,
    to: Option<&str>,
    granularity: Granularity,
    country: Option<&str>,
    today: i32,
) -> AppResult<ReportRequest> {
    let family = Family::parse(family).ok_or_else(|| {
        AppError::not_found(
            codes::UNKNOWN_FAMILY,
            format!(
                "no report `{family}`; use one of conversions, top-items, top-categories, \
                 interest-share, consent-rates, drops"
            ),
        )
    })?;
    let day = |name: &str, text: Option<&str>, default: i32| -> AppResult<i32> {
        text.map_or(Ok(default), |t| {
            parse_day(t)
                .ok_or_else(|| invalid(format!("`{name}` must be a date such as 2026-11-01")))
        })
    };
    let last_day = day("to", to, today)?;
    let first_day = day("from", from, last_day - (DAYS_DEFAULT - 1))?;
    let country = match country {
        None => None,
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(invalid(
                "`country` must be a two-letter ISO 3166-1 code such as DE",
            ));
        }
    };
    Ok(ReportRequest {
        family,
        first_day,
        last_day,
        granularity,
        country,
    })
}

/// Releases `request`'s report, or the one released before for the same request, charging
/// the family's budget for each day it covers. `secret` keys the contribution bounding.
pub fn run_report(
    store: &dyn Store,
    policy: &Policy,
    settings: &AnalyticsSettings,
    secret: &[u8],
    request: &ReportRequest,
    now: Timestamp,
) -> AppResult<ReportOutcome> {
    let family = request.family;
    let today = day_of(now);
    if request.first_day > request.last_day {
        return Err(invalid("`from` is after `to`"));
    }
    if request.last_day > today {
        return Err(invalid(
            "`to` is in the future; reports cover days up to today",
        ));
    }
    if request.last_day - request.first_day >= REPORT_DAYS_MAX {
        return Err(invalid(format!(
            "a report covers at most {REPORT_DAYS_MAX} days; split the range"
        )));
    }
    if family == Family::Drops && request.country.is_some() {
        return Err(invalid(
            "drop counters hold no country; ask without `country`",
        ));
    }
    let granularity = request.granularity;
    let first_day = granularity.period_start(request.first_day);
    let last_day = granularity.period_start(request.last_day) + period_len(granularity) - 1;
    // Data of days not over yet still changes: the release is for the data up to today.
    let as_of = last_day.min(today);
    let query = format!(
        "v1|{first_day}|{last_day}|{}|{}|{as_of}",
        period_len(granularity),
        request.country.as_deref().unwrap_or("")
    );
    let report_family = family.report_family();
    let budget = settings.budget_of(&report_family);
    let remaining = |store: &dyn Store| -> AppResult<PrivacyCost> {
        let spent = store.budget_spent(&report_family, first_day, last_day)?;
        Ok(spent
            .values()
            .map(|s| budget.minus(*s))
            .min_by_key(|c| (c.epsilon, c.delta))
            .unwrap_or(budget))
    };
    let decode = |text: &str| -> AppResult<ReleasedReport> {
        serde_json::from_str(text)
            .map_err(|e| AppError::internal(format!("unreadable stored report: {e}")))
    };
    if let Some(text) = store.released(&report_family, &query)? {
        return Ok(ReportOutcome {
            report: decode(&text)?,
            repeated: true,
            remaining: remaining(store)?,
            budget,
        });
    }

    let config = family.report_config(settings.report, granularity, first_day, last_day);
    let range = AnalyticsRange {
        from: day_start(first_day),
        to: day_start(last_day + 1),
        country: request.country.clone(),
    };
    let window_days = i32::try_from(settings.attribution_window_days).unwrap_or(31);
    let rows = report_rows(store, policy, family, &range, window_days)?;
    let key = bounding_key(secret, family, granularity);
    let mut rng = rand::rngs::StdRng::from_entropy();
    let report = release(&rows, &config, &key, &mut rng).map_err(|e| invalid(e.to_string()))?;
    let charged = report.charged_per_period;

    let mut noise = vec![NoiseBody {
        measure: family.unit().to_owned(),
        epsilon: config.people_epsilon.as_f64(),
        noise: report.noise.people,
    }];
    for (name, m, calibrated) in [
        ("events", config.events, report.noise.events),
        ("revenue_minor", config.sum, report.noise.sum),
    ] {
        if let (Some(m), Some(calibrated)) = (m, calibrated) {
            noise.push(NoiseBody {
                measure: name.to_owned(),
                epsilon: m.epsilon.as_f64(),
                noise: calibrated,
            });
        }
    }
    let released = ReleasedReport {
        family: family.as_str().to_owned(),
        by: granularity,
        from: date_of(first_day),
        to: date_of(last_day),
        country: request.country.clone(),
        consent_basis: family.consent_basis().to_owned(),
        unit: family.unit().to_owned(),
        released_at: now.to_rfc3339(),
        charged_per_day: charged.into(),
        selection_threshold: report.noise.selection_threshold,
        noise,
        periods: report
            .periods
            .iter()
            .map(|p| period_body(family, p))
            .collect(),
    };
    let text = serde_json::to_string(&released).map_err(|e| AppError::internal(e.to_string()))?;
    let outcome = store.charge_release(
        &BudgetCharge {
            family: report_family.clone(),
            first_day,
            last_day,
            cost: charged,
            limit: budget,
        },
        &Release {
            family: report_family.clone(),
            query,
            last_day,
            report: text,
        },
        now,
    )?;
    let (report, repeated) = match outcome {
        ChargeOutcome::Charged => (released, false),
        ChargeOutcome::AlreadyReleased(text) => (decode(&text)?, true),
        ChargeOutcome::Exhausted { day, remaining } => {
            return Err(AppError::conflict(
                codes::BUDGET_EXHAUSTED,
                format!(
                    "the {} privacy budget for {} is spent (ε {} left, the report needs {}); \
                     ask for other days, or repeat an earlier request",
                    family.as_str(),
                    date_of(day),
                    remaining.epsilon.as_f64(),
                    charged.epsilon.as_f64()
                ),
            ));
        }
    };
    Ok(ReportOutcome {
        report,
        repeated,
        remaining: remaining(store)?,
        budget,
    })
}

/// The cells of one period, most people first, with each one's share of its group.
fn period_body(family: Family, period: &PeriodReport) -> PeriodBody {
    let group_of = |cell: &str| -> Option<String> {
        match family {
            Family::InterestShare => Some(String::new()),
            Family::ConsentRates => cell.rsplit_once('/').map(|(g, _)| g.to_owned()),
            _ => None,
        }
    };
    let mut totals: HashMap<String, (i64, usize)> = HashMap::new();
    for c in &period.cells {
        if let Some(g) = group_of(c.cell.as_str()) {
            let t = totals.entry(g).or_default();
            t.0 += c.people.value.max(0);
            t.1 += 1;
        }
    }
    // A consent group is complete with both outcomes shown.
    let complete = |n: usize| family != Family::ConsentRates || n == 2;
    let mut cells: Vec<CellBody> = period
        .top_by_people(period.cells.len())
        .into_iter()
        .map(|c| {
            let share = group_of(c.cell.as_str())
                .and_then(|g| totals.get(&g).copied())
                .filter(|(total, n)| *total > 0 && complete(*n))
                .map(|(total, _)| c.people.value.max(0) as f64 / total as f64);
            let share = match family {
                // The share shown for a consent group is the granted one.
                Family::ConsentRates if !c.cell.as_str().ends_with("/granted") => None,
                _ => share,
            };
            CellBody {
                cell: c.cell.as_str().to_owned(),
                people: c.people,
                events: c.events,
                revenue_minor: c.sum,
                share,
            }
        })
        .collect();
    cells.shrink_to_fit();
    PeriodBody {
        start: date_of(period.period_start_day),
        cells,
    }
}

/// The rows a family counts: (person, day, cell, value).
fn report_rows(
    store: &dyn Store,
    policy: &Policy,
    family: Family,
    range: &AnalyticsRange,
    window_days: i32,
) -> AppResult<Vec<Row>> {
    let types_with = |wanted: &[Interaction]| -> Vec<String> {
        policy
            .event_types
            .values()
            .filter(|t| t.interaction.is_some_and(|i| wanted.contains(&i)))
            .map(|t| t.name.clone())
            .collect()
    };
    let row = |subject: &SubjectKey, at: Timestamp, cell: String, value: u64| Row {
        person: person(subject),
        day: day_of(at),
        cell: CellKey::new(cell),
        value,
    };
    Ok(match family {
        Family::Conversions => {
            let purchases = types_with(&[Interaction::Purchase]);
            let views = types_with(&[Interaction::View]);
            let inputs = ConversionInputs::read(store, &purchases, &views, range, window_days)?;
            conversion_rows(inputs, window_days)
        }
        Family::TopItems | Family::TopCategories | Family::InterestShare => {
            let wanted: &[Interaction] = match family {
                Family::InterestShare => {
                    &[Interaction::View, Interaction::Add, Interaction::Purchase]
                }
                _ => &[Interaction::View, Interaction::Purchase],
            };
            let purchases = types_with(&[Interaction::Purchase]);
            store
                .analytics_events(range, &types_with(wanted), family != Family::TopItems)?
                .into_iter()
                .filter_map(|e| {
                    let verb = if purchases.contains(&e.event_type) {
                        "bought"
                    } else {
                        "viewed"
                    };
                    let cell = match family {
                        Family::TopItems => format!("{verb}:{}", e.item_id.as_deref()?),
                        Family::TopCategories => format!("{verb}:{}", e.category.as_deref()?),
                        _ => e.category.clone()?,
                    };
                    Some(row(&e.subject, e.at, cell, 1))
                })
                .collect()
        }
        Family::ConsentRates => store
            .analytics_consents(range)?
            .into_iter()
            .map(|c| {
                let outcome = if c.granted { "granted" } else { "not_granted" };
                let cell = format!("{}/{}/{outcome}", c.purpose, c.source);
                row(&c.subject, c.at, cell, 1)
            })
            .collect(),
        Family::Drops => {
            let (first, last) = (day_of(range.from), day_of(range.to) - 1);
            let counts = store.drop_counts(i64::from(first))?;
            let total: u64 = counts.iter().map(|c| c.n).sum();
            if total > DROP_ROWS_MAX {
                return Err(invalid(format!(
                    "more than {DROP_ROWS_MAX} dropped events in the range; ask for fewer days"
                )));
            }
            let mut rows = Vec::new();
            for c in counts {
                let Ok(day) = i32::try_from(c.day) else {
                    continue;
                };
                if !(first..=last).contains(&day) {
                    continue;
                }
                let cell = format!("{}/{}", c.reason, c.event_type);
                for i in 0..c.n {
                    rows.push(Row {
                        person: PersonKey::new(format!("{day}/{cell}/{i}")),
                        day,
                        cell: CellKey::new(cell.clone()),
                        value: 1,
                    });
                }
            }
            rows
        }
    })
}

/// A fast hasher for keys no one outside can choose: subject keys (already keyed hashes of
/// the external ids) and the dense ids handed out below. Item ids and slots, which events
/// name freely, stay on the standard (keyed) hasher.
#[derive(Debug, Default, Clone, Copy)]
struct DenseHasher(u64);

impl DenseHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for DenseHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(n.into());
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type Dense = std::hash::BuildHasherDefault<DenseHasher>;

/// Dense ids for strings seen many times (items, slots), allocating once per distinct string.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

/// An order in the range, or a view of an item a list showed the same person: what
/// attribution needs, in a few words.
#[derive(Debug, Clone, Copy)]
struct ConversionEvent {
    subject: u32,
    at: i64,
    /// The viewed item; unused for orders.
    item: u32,
    order: bool,
    revenue_minor: u64,
}

/// A recommendation list (its items at `items` in [`ConversionInputs::items_shown`]) or a
/// campaign message (no items).
#[derive(Debug, Clone, Copy)]
struct ConversionTouch {
    subject: u32,
    at: i64,
    channel: u32,
    items: (u32, u32),
}

/// What a conversion report reads, interned: no owned string per event, and only the views
/// that can be clicks (of an item a list showed that person).
#[derive(Debug, Default)]
pub struct ConversionInputs {
    subjects: Vec<SubjectKey>,
    subject_ids: HashMap<SubjectKey, u32, Dense>,
    items: Interner,
    channels: Interner,
    /// (subject, item) of every item a list showed, as `subject << 32 | item`.
    shown: HashSet<u64, Dense>,
    items_shown: Vec<u32>,
    touches: Vec<ConversionTouch>,
    events: Vec<ConversionEvent>,
    /// Orders are counted in `[from, to)`.
    from: i64,
    to: i64,
}

impl ConversionInputs {
    fn new(range: &AnalyticsRange) -> Self {
        ConversionInputs {
            from: range.from.as_millis(),
            to: range.to.as_millis(),
            ..ConversionInputs::default()
        }
    }

    /// Reads, in one pass over each table, the touches from the window before `range` on,
    /// then the orders in `range` (of `purchases`, with their revenue) and the views (of
    /// `views`) that can be clicks.
    pub fn read(
        store: &dyn Store,
        purchases: &[String],
        views: &[String],
        range: &AnalyticsRange,
        window_days: i32,
    ) -> AppResult<ConversionInputs> {
        let wider = AnalyticsRange {
            from: range.from.plus_millis(-i64::from(window_days) * DAY_MS),
            ..range.clone()
        };
        let mut inputs = ConversionInputs::new(range);
        store.analytics_touches_each(&wider, &mut |t| inputs.touch(t))?;
        let types: Vec<String> = purchases.iter().chain(views).cloned().collect();
        store.analytics_events_each(&wider, &types, purchases, &mut |e| {
            inputs.event(e, e.type_index < purchases.len())
        })?;
        Ok(inputs)
    }

    /// Orders and candidate clicks read.
    pub fn events_len(&self) -> usize {
        self.events.len()
    }

    fn subject(&mut self, key: SubjectKey) -> u32 {
        let next = u32::try_from(self.subjects.len()).unwrap_or(u32::MAX);
        *self.subject_ids.entry(key).or_insert_with(|| {
            self.subjects.push(key);
            next
        })
    }

    fn touch(&mut self, t: TouchRef<'_>) {
        let subject = self.subject(t.subject);
        let start = u32::try_from(self.items_shown.len()).unwrap_or(u32::MAX);
        for item in t.items {
            let item = self.items.id(item);
            self.items_shown.push(item);
            self.shown.insert(pair(subject, item));
        }
        let end = u32::try_from(self.items_shown.len()).unwrap_or(u32::MAX);
        let channel = self.channels.id(t.channel);
        self.touches.push(ConversionTouch {
            subject,
            at: t.at.as_millis(),
            channel,
            items: (start, end),
        });
    }

    fn event(&mut self, e: EventRef<'_>, order: bool) {
        let at = e.at.as_millis();
        if order {
            if at < self.from || at >= self.to {
                return;
            }
            let subject = self.subject(e.subject);
            self.events.push(ConversionEvent {
                subject,
                at,
                item: 0,
                order,
                revenue_minor: e.revenue_minor,
            });
            return;
        }
        // A view is a click only on an item a list showed that person.
        let (Some(&subject), Some(item)) = (
            self.subject_ids.get(&e.subject),
            e.item_id.and_then(|i| self.items.get(i)),
        ) else {
            return;
        };
        if self.shown.contains(&pair(subject, item)) {
            self.events.push(ConversionEvent {
                subject,
                at,
                item,
                order,
                revenue_minor: 0,
            });
        }
    }
}

fn pair(subject: u32, item: u32) -> u64 {
    (u64::from(subject) << 32) | u64::from(item)
}

/// Where an order is credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Credit {
    Campaign(u32),
    Slot(u32),
    ShownNotClicked(u32),
    None,
}

/// Credits each order in the range to its last touch within the window before it: a click on
/// an item a recommendation slot showed the person (a view of it after the list, within the
/// window) — cell `slot:<slot>` — or a campaign message — `campaign:<id>`. An order with no
/// such touch but a list shown within the window is the baseline `slot:<slot>:shown_not_clicked`;
/// one with neither, `none`. Returns (subject, order time, credit, revenue in minor units); at
/// one instant, touches come before events and orders before views.
fn attribute(inputs: &mut ConversionInputs, window_days: i32) -> Vec<(u32, i64, Credit, u64)> {
    let window_ms = i64::from(window_days) * DAY_MS;
    // Stable: touches of one person at one instant keep lists before messages, as read.
    inputs.touches.sort_by_key(|t| (t.subject, t.at));
    inputs
        .events
        .sort_unstable_by_key(|e| (e.subject, e.at, !e.order, e.item, e.revenue_minor));
    let mut out = Vec::new();
    let mut shown: HashMap<u32, (u32, i64), Dense> = HashMap::default();
    let touches = &inputs.touches;
    let mut ti = 0;
    for events in inputs.events.chunk_by(|a, b| a.subject == b.subject) {
        let subject = events[0].subject;
        if !events.iter().any(|e| e.order) {
            continue;
        }
        while ti < touches.len() && touches[ti].subject < subject {
            ti += 1;
        }
        // Last lists showing each item: item -> (slot, time), updated as time advances.
        shown.clear();
        let mut last_list: Option<(u32, i64)> = None;
        // (time, credit) of the latest click or message.
        let mut last_touch: Option<(i64, Credit)> = None;
        for e in events {
            while ti < touches.len() && touches[ti].subject == subject && touches[ti].at <= e.at {
                let t = touches[ti];
                if t.items.0 == t.items.1 {
                    last_touch = Some((t.at, Credit::Campaign(t.channel)));
                } else {
                    for &item in &inputs.items_shown[t.items.0 as usize..t.items.1 as usize] {
                        shown.insert(item, (t.channel, t.at));
                    }
                    last_list = Some((t.channel, t.at));
                }
                ti += 1;
            }
            let within = |at: i64| e.at - at <= window_ms;
            if !e.order {
                if let Some(&(slot, at)) = shown.get(&e.item)
                    && within(at)
                {
                    last_touch = Some((e.at, Credit::Slot(slot)));
                }
                continue;
            }
            let credit = match (last_touch, last_list) {
                (Some((at, credit)), _) if within(at) => credit,
                (_, Some((slot, at))) if within(at) => Credit::ShownNotClicked(slot),
                _ => Credit::None,
            };
            out.push((subject, e.at, credit, e.revenue_minor));
        }
    }
    out
}

/// The rows of a conversion report: each attributed order under its person and credit.
pub fn conversion_rows(mut inputs: ConversionInputs, window_days: i32) -> Vec<Row> {
    let credited = attribute(&mut inputs, window_days);
    let mut cells: HashMap<Credit, CellKey> = HashMap::new();
    let mut people: HashMap<u32, PersonKey> = HashMap::new();
    credited
        .into_iter()
        .map(|(subject, at, credit, value)| Row {
            person: people
                .entry(subject)
                .or_insert_with(|| person(&inputs.subjects[subject as usize]))
                .clone(),
            day: day_of(Timestamp::from_millis(at)),
            cell: cells
                .entry(credit)
                .or_insert_with(|| CellKey::new(credit_name(&inputs.channels, credit)))
                .clone(),
            value,
        })
        .collect()
}

fn credit_name(channels: &Interner, credit: Credit) -> String {
    let name = |id: u32| channels.names[id as usize].as_str();
    match credit {
        Credit::Campaign(c) => format!("campaign:{}", name(c)),
        Credit::Slot(s) => format!("slot:{}", name(s)),
        Credit::ShownNotClicked(s) => format!("slot:{}:shown_not_clicked", name(s)),
        Credit::None => "none".to_owned(),
    }
}

#[cfg(test)]
mod accuracy;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SubjectKey {
        SubjectKey::from_bytes([n; 32])
    }

    #[test]
    fn orders_go_to_the_last_touch_within_the_window() {
        let h = |at_h: i64| Timestamp::from_millis(at_h * 3_600_000);
        let range = AnalyticsRange {
            from: h(5),
            to: h(1_000),
            country: None,
        };
        let mut inputs = ConversionInputs::new(&range);
        for (n, channel, items, at_h) in [
            (1, "home", &["a"][..], 10),
            (1, "spring", &[][..], 12),
            (2, "spring", &[][..], 10),
            (2, "pdp", &["b"][..], 11),
            (3, "home", &["y"][..], 10),
            (4, "home", &["c"][..], 80),
        ] {
            inputs.touch(TouchRef {
                subject: key(n),
                channel,
                items,
                at: h(at_h),
            });
        }
        let (order, view) = (true, false);
        for (n, kind, item, at_h, revenue) in [
            // 1: shown on home at 10h, clicked at 11h, message at 12h, order at 13h: campaign.
            (1, view, "a", 11, 0),
            (1, order, "a", 13, 500),
            // 2: message at 10h, shown and clicked on pdp later: the slot.
            (2, view, "b", 12, 0),
            (2, order, "b", 14, 700),
            // 3: shown but never clicked the item it showed.
            (3, view, "z", 11, 0),
            (3, order, "z", 12, 300),
            // 4: nothing within the window (the list is 30 days old).
            (4, order, "c", 800, 100),
            // 5: an order before the range is not counted.
            (5, order, "c", 1, 100),
        ] {
            inputs.event(
                EventRef {
                    subject: key(n),
                    type_index: 0,
                    item_id: Some(item),
                    category: None,
                    revenue_minor: revenue,
                    at: h(at_h),
                    country: None,
                },
                kind,
            );
        }
        assert_eq!(
            inputs.events_len(),
            6,
            "neither the view of an item never shown nor the order before the range is kept"
        );
        let subjects = inputs.subjects.clone();
        let mut got: Vec<(u8, String, u64)> = attribute(&mut inputs, 7)
            .into_iter()
            .map(|(s, _, credit, v)| {
                (
                    subjects[s as usize].as_bytes()[0],
                    credit_name(&inputs.channels, credit),
                    v,
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (1, "campaign:spring".to_owned(), 500),
                (2, "slot:pdp".to_owned(), 700),
                (3, "slot:home:shown_not_clicked".to_owned(), 300),
                (4, "none".to_owned(), 100),
            ]
        );
    }

    #[test]
    fn days_parse_and_print() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(date_of(20_000), "2024-10-04");
        assert_eq!(parse_day("2024-10-04"), Some(20_000));
        assert_eq!(parse_day("2024-13-01"), None);
        assert_eq!(parse_day("yesterday"), None);
    }
}
