//! Noisy reports: bound every person's contribution, aggregate per period and cell, select the
//! cells that may be shown, add exact noise, and say what it cost.
//!
//! The second phase builds each concrete report on this: conversions per slot or campaign
//! (cell = slot, value = revenue), top items or categories per week (cell = item), interest
//! shares (cell = category; shares are ratios of released counts, so post-processing), consent
//! rates (cell = purpose × source × outcome), drops by reason (cell = reason).

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;
use crate::bound::{BoundingKey, Bounds, CellKey, Row, bound_and_aggregate};
use crate::budget::{BudgetLedger, Delta, Epsilon, PrivacyCost, ReportFamily};
use crate::noise::{Calibrated, Noise, Released, laplace_scale};
use crate::select::selection_threshold;

/// The most periods one report may cover (a year of days).
pub const PERIODS_MAX: usize = 366;

/// How days are grouped into the periods a budget is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One period per day.
    Day,
    /// One period per ISO week, Monday to Sunday.
    Week,
}

impl Granularity {
    /// The first day of the period holding `day` (days since 1970-01-01, a Thursday).
    pub fn period_start(self, day: i32) -> i32 {
        match self {
            Granularity::Day => day,
            Granularity::Week => day - (day + 3).rem_euclid(7),
        }
    }
}

/// The mechanism for a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mechanism", rename_all = "snake_case")]
pub enum Mechanism {
    /// Discrete Laplace calibrated to the L1 sensitivity: pure ε.
    Laplace,
    /// Discrete Gaussian calibrated to the L2 sensitivity: better when people touch many
    /// cells, at the cost of a δ.
    Gaussian {
        /// The δ this measure spends.
        delta: Delta,
    },
}

/// One measure's share of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// ε spent on this measure.
    pub epsilon: Epsilon,
    /// How it is noised.
    pub mechanism: Mechanism,
}

/// What a report computes and how its budget is split across its measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConfig {
    /// Period length.
    pub granularity: Granularity,
    /// First day covered (days since 1970-01-01); the whole period holding it is reported.
    pub first_day: i32,
    /// Last day covered; the whole period holding it is reported.
    pub last_day: i32,
    /// Contribution bounds.
    pub bounds: Bounds,
    /// ε of the distinct-people count, which also decides which cells are shown.
    pub people_epsilon: Epsilon,
    /// δ of the partition selection.
    pub selection_delta: Delta,
    /// Events per cell, if wanted.
    pub events: Option<Measure>,
    /// Sum of clamped values per cell, if wanted.
    pub sum: Option<Measure>,
}

/// The noise of every measure and the selection threshold: public, shown beside the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoisePlan {
    /// Noise of the people counts.
    pub people: Calibrated,
    /// Noisy people count a cell needs to be shown.
    pub selection_threshold: i64,
    /// Noise of the event counts.
    pub events: Option<Calibrated>,
    /// Noise of the sums.
    pub sum: Option<Calibrated>,
}

impl ReportConfig {
    /// The periods covered, by first day.
    pub fn periods(&self) -> Result<Vec<i32>, AnalyticsError> {
        if self.first_day > self.last_day {
            return Err(AnalyticsError::invalid(
                "first_day",
                "the first day is after the last day",
            ));
        }
        let first = self.granularity.period_start(self.first_day);
        let step = match self.granularity {
            Granularity::Day => 1,
            Granularity::Week => 7,
        };
        let periods: Vec<i32> = (first..=self.last_day).step_by(step).collect();
        if periods.len() > PERIODS_MAX {
            return Err(AnalyticsError::invalid(
                "last_day",
                format!("a report covers at most {PERIODS_MAX} periods; split the range"),
            ));
        }
        Ok(periods)
    }

    /// What each period's release costs: the sum (basic composition) of its measures.
    pub fn cost_per_period(&self) -> PrivacyCost {
        let mut cost = PrivacyCost::new(self.people_epsilon, self.selection_delta);
        for measure in [self.events, self.sum].into_iter().flatten() {
            let delta = match measure.mechanism {
                Mechanism::Laplace => Delta::default(),
                Mechanism::Gaussian { delta } => delta,
            };
            cost = cost.plus(PrivacyCost::new(measure.epsilon, delta));
        }
        cost
    }

    /// Checks the configuration and derives every noise distribution and the threshold.
    pub fn noise_plan(&self) -> Result<NoisePlan, AnalyticsError> {
        self.bounds.validate()?;
        self.periods()?;
        let scale = laplace_scale(self.bounds.people()?.l1, self.people_epsilon)?;
        let people = Noise::DiscreteLaplace { scale };
        let selection_threshold = selection_threshold(
            scale,
            self.bounds.cells_per_person_max.into(),
            self.selection_delta,
        )?;
        let noise =
            |measure: Option<Measure>, sensitivity| -> Result<Option<Calibrated>, AnalyticsError> {
                let Some(measure) = measure else {
                    return Ok(None);
                };
                let sensitivity: crate::Sensitivity = sensitivity?;
                let noise = match measure.mechanism {
                    Mechanism::Laplace => Noise::laplace(sensitivity.l1, measure.epsilon)?,
                    Mechanism::Gaussian { delta } => {
                        Noise::gaussian(sensitivity.l2_squared, measure.epsilon, delta)?
                    }
                };
                Ok(Some(Calibrated::new(noise)))
            };
        Ok(NoisePlan {
            people: Calibrated::new(people),
            selection_threshold,
            events: noise(self.events, self.bounds.events())?,
            sum: noise(self.sum, self.bounds.sum())?,
        })
    }
}

/// One shown cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellReport {
    /// The cell.
    pub cell: CellKey,
    /// Distinct people (noisy, at least the selection threshold).
    pub people: Released,
    /// Events, if asked for.
    pub events: Option<Released>,
    /// Sum of clamped values, if asked for.
    pub sum: Option<Released>,
}

/// One period's shown cells, by cell key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodReport {
    /// The period's first day (days since 1970-01-01).
    pub period_start_day: i32,
    /// The cells that cleared the selection threshold.
    pub cells: Vec<CellReport>,
}

impl PeriodReport {
    /// The `k` cells with the most people, by released count (ties by cell key): "top items
    /// this week". Ranking noisy counts is post-processing and costs no budget.
    pub fn top_by_people(&self, k: usize) -> Vec<&CellReport> {
        let mut cells: Vec<&CellReport> = self.cells.iter().collect();
        cells.sort_by(|a, b| {
            b.people
                .value
                .cmp(&a.people.value)
                .then_with(|| a.cell.cmp(&b.cell))
        });
        cells.truncate(k);
        cells
    }
}

/// A released report: every number noisy, with its interval, its noise and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The configuration it answers.
    pub config: ReportConfig,
    /// The noise of each measure and the selection threshold.
    pub noise: NoisePlan,
    /// One entry per period of the range, empty periods included.
    pub periods: Vec<PeriodReport>,
    /// What each period was charged.
    pub charged_per_period: PrivacyCost,
}

/// Charges the report to `family`'s budget for every period it covers (all or nothing), then
/// releases it. Refused, with nothing charged, when any period's budget would be overspent.
pub fn charge_and_release<R: Rng + ?Sized>(
    ledger: &mut BudgetLedger,
    family: &ReportFamily,
    rows: &[Row],
    config: &ReportConfig,
    key: &BoundingKey,
    rng: &mut R,
) -> Result<Report, AnalyticsError> {
    // The plan is checked before charging, so a bad configuration costs nothing.
    config.noise_plan()?;
    ledger.charge_periods(family, &config.periods()?, config.cost_per_period())?;
    release(rows, config, key, rng)
}

/// Computes the noisy report without touching a budget. Each call spends
/// [`ReportConfig::cost_per_period`] of privacy; callers serving people's data go through
/// [`charge_and_release`].
pub fn release<R: Rng + ?Sized>(
    rows: &[Row],
    config: &ReportConfig,
    key: &BoundingKey,
    rng: &mut R,
) -> Result<Report, AnalyticsError> {
    let plan = config.noise_plan()?;
    let periods = config.periods()?;
    let (first, last) = (periods[0], periods[periods.len() - 1]);
    let granularity = config.granularity;
    let period_of = |day: i32| {
        let period = granularity.period_start(day);
        (first..=last).contains(&period).then_some(period)
    };
    let totals = bound_and_aggregate(rows, period_of, &config.bounds, key);

    let mut reports: Vec<PeriodReport> = periods
        .iter()
        .map(|&period_start_day| PeriodReport {
            period_start_day,
            cells: Vec::new(),
        })
        .collect();
    for ((period, cell), totals) in totals {
        let people = Released::draw(saturating_i64(totals.people), &plan.people, rng);
        if people.value < plan.selection_threshold {
            continue;
        }
        let events = plan
            .events
            .as_ref()
            .map(|noise| Released::draw(saturating_i64(totals.events), noise, rng));
        let sum = plan
            .sum
            .as_ref()
            .map(|noise| Released::draw(saturating_i64(totals.sum), noise, rng));
        let index = periods
            .binary_search(&period)
            .expect("rows are mapped to the range's periods");
        reports[index].cells.push(CellReport {
            cell,
            people,
            events,
            sum,
        });
    }
    Ok(Report {
        config: *config,
        noise: plan,
        periods: reports,
        charged_per_period: config.cost_per_period(),
    })
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
