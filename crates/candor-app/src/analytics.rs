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

use std::collections::{BTreeMap, HashMap};

use candor_analytics::report::{PeriodReport, release};
use candor_analytics::{
    BoundingKey, Bounds, CellKey, Granularity, Measure, Mechanism, PersonKey, PrivacyCost,
    Released, ReportConfig, ReportFamily, Row,
};
use candor_domain::SubjectKey;
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::analytics::{
    AnalyticsEvent, AnalyticsRange, AnalyticsTouch, BudgetCharge, ChargeOutcome, Release,
};
use candor_store::{Store, StoreError};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::config::AnalyticsSettings;

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
                "Anonymous counters of events not stored: they hold no identifier, so each \
                 dropped event counts as one contributor (event-level, not person-level, privacy)."
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

    /// How a report's ε is split: (people, events, sum) in percent.
    fn epsilon_split(self) -> (u64, u64, u64) {
        match self {
            Family::Conversions => (50, 25, 25),
            _ => (100, 0, 0),
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

/// Why a report was not released.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "no report `{0}`; use one of conversions, top-items, top-categories, interest-share, consent-rates, drops"
    )]
    UnknownFamily(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the {family} privacy budget for {day} is spent (ε {remaining_epsilon} left, the report needs {needed_epsilon}); ask for other days, or repeat an earlier request"
    )]
    BudgetExhausted {
        family: &'static str,
        day: String,
        remaining_epsilon: f64,
        needed_epsilon: f64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
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
) -> Result<ReportRequest, ReportError> {
    let family =
        Family::parse(family).ok_or_else(|| ReportError::UnknownFamily(family.to_owned()))?;
    let day = |name: &str, text: Option<&str>, default: i32| -> Result<i32, ReportError> {
        text.map_or(Ok(default), |t| {
            parse_day(t).ok_or_else(|| {
                ReportError::Invalid(format!("`{name}` must be a date such as 2026-11-01"))
            })
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
            return Err(ReportError::Invalid(
                "`country` must be a two-letter ISO 3166-1 code such as DE".into(),
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
) -> Result<ReportOutcome, ReportError> {
    let family = request.family;
    let today = day_of(now);
    if request.first_day > request.last_day {
        return Err(ReportError::Invalid("`from` is after `to`".into()));
    }
    if request.last_day > today {
        return Err(ReportError::Invalid(
            "`to` is in the future; reports cover days up to today".into(),
        ));
    }
    if request.last_day - request.first_day >= REPORT_DAYS_MAX {
        return Err(ReportError::Invalid(format!(
            "a report covers at most {REPORT_DAYS_MAX} days; split the range"
        )));
    }
    if family == Family::Drops && request.country.is_some() {
        return Err(ReportError::Invalid(
            "drop counters hold no country; ask without `country`".into(),
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
    let remaining = |store: &dyn Store| -> Result<PrivacyCost, ReportError> {
        let spent = store.budget_spent(&report_family, first_day, last_day)?;
        Ok(spent
            .values()
            .map(|s| budget.minus(*s))
            .min_by_key(|c| (c.epsilon, c.delta))
            .unwrap_or(budget))
    };
    let decode = |text: &str| -> Result<ReleasedReport, ReportError> {
        serde_json::from_str(text).map_err(|e| {
            ReportError::Store(StoreError::Other(format!("unreadable stored report: {e}")))
        })
    };
    if let Some(text) = store.released(&report_family, &query)? {
        return Ok(ReportOutcome {
            report: decode(&text)?,
            repeated: true,
            remaining: remaining(store)?,
            budget,
        });
    }

    let cost = settings.report;
    let (people_pct, events_pct, sum_pct) = family.epsilon_split();
    let measure = |pct: u64| {
        (pct > 0).then(|| Measure {
            epsilon: part(cost.epsilon, pct),
            mechanism: Mechanism::Laplace,
        })
    };
    let config = ReportConfig {
        granularity,
        first_day,
        last_day,
        bounds: family.bounds(),
        people_epsilon: part(cost.epsilon, people_pct),
        selection_delta: cost.delta,
        events: measure(events_pct),
        sum: measure(sum_pct),
    };
    let range = AnalyticsRange {
        from: day_start(first_day),
        to: day_start(last_day + 1),
        country: request.country.clone(),
    };
    let window_days = i32::try_from(settings.attribution_window_days).unwrap_or(31);
    let rows = report_rows(store, policy, family, &range, window_days)?;
    let key = bounding_key(secret, family, granularity);
    let mut rng = rand::rngs::StdRng::from_entropy();
    let report =
        release(&rows, &config, &key, &mut rng).map_err(|e| ReportError::Invalid(e.to_string()))?;
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
    let text = serde_json::to_string(&released)
        .map_err(|e| ReportError::Store(StoreError::Other(e.to_string())))?;
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
            report: text,
        },
        now,
    )?;
    let (report, repeated) = match outcome {
        ChargeOutcome::Charged => (released, false),
        ChargeOutcome::AlreadyReleased(text) => (decode(&text)?, true),
        ChargeOutcome::Exhausted { day, remaining } => {
            return Err(ReportError::BudgetExhausted {
                family: family.as_str(),
                day: date_of(day),
                remaining_epsilon: remaining.epsilon.as_f64(),
                needed_epsilon: charged.epsilon.as_f64(),
            });
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
) -> Result<Vec<Row>, ReportError> {
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
            let wider = AnalyticsRange {
                from: Timestamp::from_millis(
                    range.from.as_millis() - i64::from(window_days) * DAY_MS,
                ),
                ..range.clone()
            };
            // Views only mark clicks: their properties are not read.
            let purchases = types_with(&[Interaction::Purchase]);
            let mut events = store.analytics_events(&wider, &purchases, true)?;
            events.extend(store.analytics_events(
                &wider,
                &types_with(&[Interaction::View]),
                false,
            )?);
            let touches = store.analytics_touches(&wider)?;
            attribute(&events, &touches, &purchases, range, window_days)
                .into_iter()
                .map(|(subject, at, cell, value)| row(&subject, at, cell, value))
                .collect()
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
                return Err(ReportError::Invalid(format!(
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

/// Credits each order in `range` to its last touch within the window before it: a click on
/// an item a recommendation slot showed the person (a view of it after the list, within the
/// window) — cell `slot:<slot>` — or a campaign message — `campaign:<id>`. An order with no
/// such touch but a list shown within the window is the baseline `slot:<slot>:shown_not_clicked`;
/// one with neither, `none`. Returns (subject, order time, cell, revenue in minor units).
pub fn attribute(
    events: &[AnalyticsEvent],
    touches: &[AnalyticsTouch],
    purchase_types: &[String],
    range: &AnalyticsRange,
    window_days: i32,
) -> Vec<(SubjectKey, Timestamp, String, u64)> {
    let window_ms = i64::from(window_days) * DAY_MS;
    let mut by_subject: HashMap<SubjectKey, (Vec<&AnalyticsEvent>, Vec<&AnalyticsTouch>)> =
        HashMap::new();
    for e in events {
        by_subject.entry(e.subject).or_default().0.push(e);
    }
    for t in touches {
        if let Some(entry) = by_subject.get_mut(&t.subject) {
            entry.1.push(t);
        }
    }
    let mut out = Vec::new();
    for (subject, (mut events, mut touches)) in by_subject {
        let is_order = |e: &AnalyticsEvent| purchase_types.contains(&e.event_type);
        if !events
            .iter()
            .any(|e| is_order(e) && e.at >= range.from && e.at < range.to)
        {
            continue;
        }
        events.sort_by_key(|e| e.at);
        touches.sort_by_key(|t| t.at);
        // Last lists showing each item: item -> (slot, time), updated as time advances.
        let mut shown: BTreeMap<&str, (&str, Timestamp)> = BTreeMap::new();
        let mut last_list: Option<(&str, Timestamp)> = None;
        // (time, cell) of the latest click or message.
        let mut last_touch: Option<(Timestamp, String)> = None;
        let mut ti = 0;
        for e in &events {
            while ti < touches.len() && touches[ti].at <= e.at {
                let t = touches[ti];
                if t.items.is_empty() {
                    last_touch = Some((t.at, format!("campaign:{}", t.channel)));
                } else {
                    for item in &t.items {
                        shown.insert(item, (&t.channel, t.at));
                    }
                    last_list = Some((&t.channel, t.at));
                }
                ti += 1;
            }
            let within = |at: Timestamp| e.at.as_millis() - at.as_millis() <= window_ms;
            if !is_order(e) {
                if let Some(item) = e.item_id.as_deref()
                    && let Some((slot, at)) = shown.get(item)
                    && within(*at)
                {
                    last_touch = Some((e.at, format!("slot:{slot}")));
                }
                continue;
            }
            if e.at < range.from || e.at >= range.to {
                continue;
            }
            let cell = match (&last_touch, last_list) {
                (Some((at, cell)), _) if within(*at) => cell.clone(),
                (_, Some((slot, at))) if within(at) => format!("slot:{slot}:shown_not_clicked"),
                _ => "none".to_owned(),
            };
            out.push((subject, e.at, cell, e.revenue_minor));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SubjectKey {
        SubjectKey::from_bytes([n; 32])
    }

    fn event(n: u8, kind: &str, item: &str, at_h: i64, revenue: u64) -> AnalyticsEvent {
        AnalyticsEvent {
            subject: key(n),
            event_type: kind.to_owned(),
            item_id: Some(item.to_owned()),
            category: None,
            revenue_minor: revenue,
            at: Timestamp::from_millis(at_h * 3_600_000),
            country: None,
        }
    }

    fn touch(n: u8, channel: &str, items: &[&str], at_h: i64) -> AnalyticsTouch {
        AnalyticsTouch {
            subject: key(n),
            channel: channel.to_owned(),
            items: items.iter().map(|i| (*i).to_owned()).collect(),
            at: Timestamp::from_millis(at_h * 3_600_000),
        }
    }

    #[test]
    fn orders_go_to_the_last_touch_within_the_window() {
        let order = "Order Completed";
        let view = "Product Viewed";
        let events = [
            // 1: shown on home at 10h, clicked at 11h, message at 12h, order at 13h: campaign.
            event(1, view, "a", 11, 0),
            event(1, order, "a", 13, 500),
            // 2: message at 10h, shown and clicked on pdp later: the slot.
            event(2, view, "b", 12, 0),
            event(2, order, "b", 14, 700),
            // 3: shown but never clicked the item it showed.
            event(3, view, "z", 11, 0),
            event(3, order, "z", 12, 300),
            // 4: nothing within the window (the list is 30 days old).
            event(4, order, "c", 800, 100),
            // 5: an order before the range is not counted.
            event(5, order, "c", 1, 100),
        ];
        let touches = [
            touch(1, "home", &["a"], 10),
            touch(1, "spring", &[], 12),
            touch(2, "spring", &[], 10),
            touch(2, "pdp", &["b"], 11),
            touch(3, "home", &["y"], 10),
            touch(4, "home", &["c"], 80),
        ];
        let range = AnalyticsRange {
            from: Timestamp::from_millis(5 * 3_600_000),
            to: Timestamp::from_millis(1_000 * 3_600_000),
            country: None,
        };
        let mut got: Vec<(u8, String, u64)> =
            attribute(&events, &touches, &[order.to_owned()], &range, 7)
                .into_iter()
                .map(|(s, _, cell, v)| (s.as_bytes()[0], cell, v))
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
