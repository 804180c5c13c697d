//! The results of an experiment: per metric and arm the number of people and the mean, per
//! comparison with the control the effect, its interval, p-value, adjusted p-value and the
//! always-valid p-value and interval; the sample-ratio check; the guardrails' status.
//!
//! Results are aggregates only. Every count of people goes through the same k-suppression as
//! every other count Candor shows ([`candor_segments::kanon::suppress`]): an arm with fewer
//! than `k_min` people shows its size as "fewer than k", and neither its mean nor any
//! comparison involving it is computed, since a mean over a handful of people is nearly a
//! statement about each of them.

use std::collections::BTreeMap;

use candor_segments::kanon::{SuppressedCount, suppress};
use serde::{Deserialize, Serialize, Serializer};

use crate::adjust::Adjustment;
use crate::definition::{
    BUCKETS, Denominator, Direction, Experiment, HOLDOUT_ARM, Metric, MetricKind,
};
use crate::outcome::{MetricOutcomes, Observations, PersonOutcome, outcomes};
use crate::sequential::{SequentialState, msprt};
use crate::stats::{
    RatioSummary, Srm, StatsError, Summary, cuped, delta_ratio, positive, srm, welch,
};

/// How a report is computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportConfig {
    /// One minus the confidence level of every interval, and the significance level.
    pub alpha: f64,
    /// Counts of people below this are suppressed.
    pub k_min: u32,
    /// The multiplicity adjustment across all comparisons of the report.
    pub adjustment: Adjustment,
    /// The standard deviation of the mSPRT's normal mixture over effects, in units of the
    /// control's standard deviation: the effect size one expects to detect.
    pub mixture_sd_share: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            alpha: 0.05,
            k_min: candor_accountability::K_MIN_DEFAULT as u32,
            adjustment: Adjustment::Holm,
            mixture_sd_share: 0.1,
        }
    }
}

fn count<S: Serializer>(count: &SuppressedCount, serializer: S) -> Result<S::Ok, S::Error> {
    match count.exact() {
        Some(n) => serializer.serialize_u64(n),
        None => serializer.collect_str(count),
    }
}

/// Whether a metric is the one the experiment is decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The primary metric.
    Primary,
    /// A guardrail, with the direction that is harm.
    Guardrail(Direction),
}

/// One arm's line for one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResult {
    /// The arm's name.
    pub arm: String,
    /// People measured, k-suppressed.
    #[serde(serialize_with = "count")]
    pub n: SuppressedCount,
    /// Their mean outcome (for a ratio metric, the ratio of the arm's sums); `None` when `n`
    /// is suppressed or a ratio has nothing to divide by.
    pub mean: Option<f64>,
}

/// The numbers of one comparison with the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    /// Treatment minus control (CUPED-adjusted when the metric has a pre-period; a
    /// difference of ratios, by the delta method, for a ratio metric).
    pub effect: f64,
    /// Lower end of the fixed-horizon interval.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
    /// The fixed-horizon two-sided p-value (Welch; a z test for a ratio metric).
    pub p_value: f64,
    /// The p-value adjusted across the report's comparisons.
    pub p_adjusted: f64,
    /// The mSPRT's always-valid p-value: the smallest over every look so far.
    pub always_valid_p: f64,
    /// Lower end of the always-valid interval: the intersection of every look's so far.
    pub always_valid_low: f64,
    /// Upper end.
    pub always_valid_high: f64,
    /// Looks taken at this comparison, this one included.
    pub n_looks: u64,
}

/// One arm compared with the control.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Comparison {
    /// Computed.
    Estimated {
        /// The arm compared.
        arm: String,
        /// Its numbers.
        #[serde(flatten)]
        effect: Effect,
    },
    /// One of the two arms has fewer than `k_min` people.
    Suppressed {
        /// The arm compared.
        arm: String,
    },
    /// The data allow no test (no variance, say).
    NotComputable {
        /// The arm compared.
        arm: String,
        /// Why.
        reason: StatsError,
    },
}

impl Comparison {
    /// The arm compared with the control.
    pub fn arm(&self) -> &str {
        match self {
            Comparison::Estimated { arm, .. }
            | Comparison::Suppressed { arm }
            | Comparison::NotComputable { arm, .. } => arm,
        }
    }
}

/// One metric's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// Primary or guardrail.
    pub role: Role,
    /// What it measures.
    pub kind: MetricKind,
    /// The event type counted.
    pub event_type: String,
    /// A ratio metric's denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<Denominator>,
    /// The CUPED θ, if the metric has a pre-period.
    pub cuped_theta: Option<f64>,
    /// Every arm, the control first.
    pub arms: Vec<ArmResult>,
    /// Every other arm against the control.
    pub comparisons: Vec<Comparison>,
}

/// A guardrail's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailStatus {
    /// No arm's always-valid interval lies wholly on the harmful side.
    NoHarmDetected,
    /// Some arm's always-valid interval lies wholly on the harmful side.
    Harm,
    /// Some comparison was suppressed or not computable.
    InsufficientData,
}

/// A guardrail's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardrailResult {
    /// The metric.
    pub metric: String,
    /// The verdict. Guardrails are watched continuously, so the verdict rests on the
    /// always-valid interval, which peeking does not invalidate.
    pub status: GuardrailStatus,
}

/// The sample-ratio check's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SrmResult {
    /// Computed over the primary metric's arms.
    Checked(Srm),
    /// Some arm has fewer than `k_min` people: the statistic together with the other arms'
    /// sizes would give its size away.
    Suppressed,
    /// Too few people or arms to check.
    NotComputable {
        /// Why.
        reason: StatsError,
    },
}

/// An experiment's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The experiment.
    pub experiment_id: String,
    /// Its name.
    pub name: String,
    /// The control arm.
    pub control: String,
    /// When the report was computed (the `now` passed in), Unix milliseconds.
    pub as_of_ms: i64,
    /// The settings used.
    pub config: ReportConfig,
    /// The sample-ratio check.
    pub srm: SrmResult,
    /// The primary metric first, then the guardrails.
    pub metrics: Vec<MetricResult>,
    /// The guardrails' verdicts.
    pub guardrails: Vec<GuardrailResult>,
    /// People left out for having seen more than one arm (primary metric), k-suppressed.
    #[serde(serialize_with = "count")]
    pub n_mixed: SuppressedCount,
    /// People whose primary window is still open, k-suppressed.
    #[serde(serialize_with = "count")]
    pub n_window_open: SuppressedCount,
    /// The running always-valid state of every estimated comparison after this look, for the
    /// caller to keep until the next ([`report_after`]).
    #[serde(skip)]
    pub sequential: Sequential,
}

/// The running always-valid state of each comparison, by (metric name, arm).
pub type Sequential = BTreeMap<(String, String), SequentialState>;

/// The arms in report order with their expected share of everyone in basis points: the
/// variants in definition order (the control first), then the holdout if there is one.
fn arms(experiment: &Experiment) -> Vec<(String, f64)> {
    let not_held_out = f64::from(BUCKETS - experiment.holdout_bp.min(BUCKETS));
    let mut arms: Vec<(String, f64)> = experiment
        .variants
        .iter()
        .map(|v| {
            let share = not_held_out * f64::from(v.allocation_bp) / f64::from(BUCKETS);
            (v.name.clone(), share)
        })
        .collect();
    if experiment.holdout_bp > 0 {
        arms.push((HOLDOUT_ARM.to_owned(), f64::from(experiment.holdout_bp)));
    }
    arms
}

/// Computes the report at `now_ms` as a first look.
pub fn report(
    experiment: &Experiment,
    observations: Observations<'_>,
    now_ms: i64,
    config: ReportConfig,
) -> Report {
    report_after(experiment, observations, now_ms, config, &Sequential::new())
}

/// Computes the report at `now_ms` as one more look after those whose running state is
/// `prior`: each comparison's always-valid p-value and interval fold this look into its
/// running minimum and intersection, and [`Report::sequential`] holds the states to keep.
pub fn report_after(
    experiment: &Experiment,
    observations: Observations<'_>,
    now_ms: i64,
    config: ReportConfig,
    prior: &Sequential,
) -> Report {
    let mut sequential = Sequential::new();
    let arms = arms(experiment);
    let control = arms.first().map(|(a, _)| a.clone()).unwrap_or_default();
    let roles = std::iter::once((&experiment.primary, Role::Primary)).chain(
        experiment
            .guardrails
            .iter()
            .map(|g| (&g.metric, Role::Guardrail(g.direction))),
    );
    let mut primary_outcomes = None;
    let mut metrics = Vec::new();
    for (metric, role) in roles {
        let measured = outcomes(metric, observations, now_ms);
        metrics.push(metric_result(
            metric,
            role,
            &measured,
            &arms,
            config,
            prior,
            &mut sequential,
        ));
        primary_outcomes.get_or_insert(measured);
    }
    adjust_all(&mut metrics, config.adjustment);
    let primary_outcomes = primary_outcomes.unwrap_or_default();
    let observed: Vec<u64> = arms
        .iter()
        .map(|(arm, _)| {
            primary_outcomes
                .by_arm
                .get(arm)
                .map_or(0, |v| v.len() as u64)
        })
        .collect();
    let weights: Vec<f64> = arms.iter().map(|(_, w)| *w).collect();
    let srm = if observed.iter().any(|&n| n < u64::from(config.k_min)) {
        SrmResult::Suppressed
    } else {
        match srm(&observed, &weights) {
            Ok(checked) => SrmResult::Checked(checked),
            Err(reason) => SrmResult::NotComputable { reason },
        }
    };
    let guardrails = metrics
        .iter()
        .filter_map(|m| match m.role {
            Role::Guardrail(direction) => Some(GuardrailResult {
                metric: m.name.clone(),
                status: guardrail_status(&m.comparisons, direction),
            }),
            Role::Primary => None,
        })
        .collect();
    Report {
        experiment_id: experiment.id.clone(),
        name: experiment.name.clone(),
        control,
        as_of_ms: now_ms,
        config,
        srm,
        metrics,
        guardrails,
        n_mixed: suppress(primary_outcomes.n_mixed, config.k_min),
        n_window_open: suppress(primary_outcomes.n_window_open, config.k_min),
        sequential,
    }
}

fn metric_result(
    metric: &Metric,
    role: Role,
    measured: &MetricOutcomes,
    arms: &[(String, f64)],
    config: ReportConfig,
    prior: &Sequential,
    sequential: &mut Sequential,
) -> MetricResult {
    let empty = Vec::new();
    let of = |arm: &str| measured.by_arm.get(arm).unwrap_or(&empty);
    let shown = |people: &[PersonOutcome]| people.len() as u64 >= u64::from(config.k_min);
    let arm_results = arms
        .iter()
        .map(|(arm, _)| {
            let people = of(arm);
            ArmResult {
                arm: arm.clone(),
                n: suppress(people.len() as u64, config.k_min),
                mean: shown(people)
                    .then(|| arm_mean(metric, people))
                    .filter(|m| m.is_finite()),
            }
        })
        .collect();
    let mut cuped_theta = None;
    let mut comparisons = Vec::new();
    if let Some((control_arm, _)) = arms.first() {
        let control = of(control_arm);
        for (arm, _) in &arms[1..] {
            let treatment = of(arm);
            let arm = arm.clone();
            if !shown(control) || !shown(treatment) {
                comparisons.push(Comparison::Suppressed { arm });
                continue;
            }
            let compared = compare(metric, control, treatment, config);
            comparisons.push(match compared {
                Ok((mut effect, theta)) => {
                    let key = (metric.name.clone(), arm.clone());
                    let state = prior.get(&key).copied().unwrap_or_default().update(
                        crate::sequential::SequentialLook {
                            p_value: effect.always_valid_p,
                            ci_low: effect.always_valid_low,
                            ci_high: effect.always_valid_high,
                        },
                    );
                    effect.always_valid_p = state.p_value;
                    effect.always_valid_low = state.ci_low;
                    effect.always_valid_high = state.ci_high;
                    effect.n_looks = state.n_looks;
                    sequential.insert(key, state);
                    cuped_theta = cuped_theta.or(theta);
                    Comparison::Estimated { arm, effect }
                }
                Err(reason) => Comparison::NotComputable { arm, reason },
            });
        }
    }
    MetricResult {
        name: metric.name.clone(),
        role,
        kind: metric.kind,
        event_type: metric.event_type.clone(),
        per: metric.per.clone(),
        cuped_theta,
        arms: arm_results,
        comparisons,
    }
}

fn values(people: &[PersonOutcome]) -> Vec<f64> {
    people.iter().map(|o| o.value).collect()
}

fn ratio_summary(people: &[PersonOutcome]) -> RatioSummary {
    let denominators: Vec<f64> = people.iter().map(|o| o.denominator).collect();
    RatioSummary::of(&values(people), &denominators)
}

/// An arm's mean outcome: the ratio of the sums for a ratio metric.
fn arm_mean(metric: &Metric, people: &[PersonOutcome]) -> f64 {
    match metric.per {
        Some(_) => ratio_summary(people).ratio(),
        None => Summary::of(&values(people)).mean,
    }
}

/// One arm against the control: the fixed-horizon estimate (delta method for a ratio,
/// Welch on CUPED-adjusted outcomes with a pre-period, else Welch), then the mSPRT on the
/// same estimate. Returns the CUPED θ when one was used.
fn compare(
    metric: &Metric,
    control: &[PersonOutcome],
    treatment: &[PersonOutcome],
    config: ReportConfig,
) -> Result<(Effect, Option<f64>), StatsError> {
    // The per-person spread of each arm, which scales the mixture over effects.
    let (fixed, spreads, theta) = if metric.per.is_some() {
        let (c, t) = (ratio_summary(control), ratio_summary(treatment));
        let spread = |r: &RatioSummary| (r.n as f64 * r.variance_of_ratio()).sqrt();
        let fixed = delta_ratio(&c, &t, config.alpha)?;
        (fixed, [spread(&c), spread(&t)], None)
    } else if metric.pre_window_ms > 0 {
        let adjusted = cuped(control, treatment);
        let (c, t) = (adjusted.control, adjusted.treatment);
        let fixed = welch(&c, &t, config.alpha)?;
        (
            fixed,
            [c.variance.sqrt(), t.variance.sqrt()],
            Some(adjusted.theta),
        )
    } else {
        let (c, t) = (
            Summary::of(&values(control)),
            Summary::of(&values(treatment)),
        );
        let fixed = welch(&c, &t, config.alpha)?;
        (fixed, [c.variance.sqrt(), t.variance.sqrt()], None)
    };
    // A control with no spread: scale the mixture by the treatment's instead.
    let spread = if positive(spreads[0]) {
        spreads[0]
    } else {
        spreads[1]
    };
    let tau = config.mixture_sd_share * spread;
    let sequential = msprt(
        fixed.effect,
        fixed.std_error.powi(2),
        tau * tau,
        config.alpha,
    )?;
    let effect = Effect {
        effect: fixed.effect,
        ci_low: fixed.ci_low,
        ci_high: fixed.ci_high,
        p_value: fixed.p_value,
        p_adjusted: fixed.p_value,
        always_valid_p: sequential.p_value,
        always_valid_low: sequential.ci_low,
        always_valid_high: sequential.ci_high,
        n_looks: 1,
    };
    Ok((effect, theta))
}

/// Replaces every estimated comparison's `p_adjusted` with its adjustment across the report.
fn adjust_all(metrics: &mut [MetricResult], adjustment: Adjustment) {
    let estimated = || {
        metrics
            .iter()
            .flat_map(|m| &m.comparisons)
            .filter_map(|c| match c {
                Comparison::Estimated { effect, .. } => Some(effect.p_value),
                _ => None,
            })
    };
    let adjusted = adjustment.apply(&estimated().collect::<Vec<_>>());
    let effects = metrics
        .iter_mut()
        .flat_map(|m| &mut m.comparisons)
        .filter_map(|c| match c {
            Comparison::Estimated { effect, .. } => Some(effect),
            _ => None,
        });
    for (effect, p) in effects.zip(adjusted) {
        effect.p_adjusted = p;
    }
}

fn guardrail_status(comparisons: &[Comparison], direction: Direction) -> GuardrailStatus {
    let mut status = GuardrailStatus::NoHarmDetected;
    for comparison in comparisons {
        match comparison {
            Comparison::Estimated { effect, .. } => {
                let harmed = match direction {
                    Direction::HigherIsBetter => effect.always_valid_high < 0.0,
                    Direction::LowerIsBetter => effect.always_valid_low > 0.0,
                };
                if harmed {
                    return GuardrailStatus::Harm;
                }
            }
            Comparison::Suppressed { .. } | Comparison::NotComputable { .. } => {
                status = GuardrailStatus::InsufficientData;
            }
        }
    }
    status
}
