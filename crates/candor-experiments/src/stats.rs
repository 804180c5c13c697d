//! Fixed-horizon statistics: Welch's t-test, the delta method for ratio metrics, CUPED and the
//! sample-ratio-mismatch check. Every function is checked against scipy and statsmodels in
//! the fixtures `reference/make_fixtures.py` writes.
//!
//! Effects are always treatment minus control. Nothing here returns NaN or panics on data:
//! too little data or no variance is a [`StatsError`].

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};
use thiserror::Error;

use crate::outcome::PersonOutcome;

/// The SRM check flags a split whose p-value is below this.
pub const SRM_P_THRESHOLD: f64 = 0.001;

/// Why a statistic cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsError {
    /// An arm has fewer than two observations.
    #[error("each arm needs at least two observations")]
    TooFewObservations,
    /// The estimate has no variance (every value the same), so no test is possible.
    #[error("the data have no variance")]
    NoVariance,
    /// A confidence level outside (0, 1), or a mixture variance that is not positive.
    #[error("a parameter is out of range")]
    Parameter,
    /// The observed and expected splits do not match in length, or expect nothing.
    #[error("the observed and expected splits do not match")]
    Split,
}

/// Count, mean and sample variance (n − 1 denominator) of one arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Observations.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sample variance; 0 with fewer than two observations.
    pub variance: f64,
}

impl Summary {
    /// Summarises values in two passes (the mean first), which keeps the variance accurate
    /// when the mean is large against the spread.
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len();
        if n == 0 {
            return Summary {
                n: 0,
                mean: 0.0,
                variance: 0.0,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = if n < 2 {
            0.0
        } else {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        };
        Summary {
            n: n as u64,
            mean,
            variance,
        }
    }

    /// The variance of the mean.
    pub fn variance_of_mean(&self) -> f64 {
        self.variance / self.n as f64
    }
}

/// An estimated effect with its test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Treatment minus control.
    pub effect: f64,
    /// Standard error of the effect.
    pub std_error: f64,
    /// The test statistic (t or z).
    pub statistic: f64,
    /// Degrees of freedom of the t distribution; `None` for a normal (z) test.
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Lower end of the confidence interval.
    pub ci_low: f64,
    /// Upper end of the confidence interval.
    pub ci_high: f64,
}

/// Whether `x` is a positive finite number (false for NaN).
pub(crate) fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

fn check_alpha(alpha: f64) -> Result<(), StatsError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Parameter)
    }
}

/// Welch's unequal-variance t-test of the difference in means, with a `1 − alpha` interval.
/// Matches `scipy.stats.ttest_ind(treatment, control, equal_var=False)`.
pub fn welch(control: &Summary, treatment: &Summary, alpha: f64) -> Result<Estimate, StatsError> {
    check_alpha(alpha)?;
    if control.n < 2 || treatment.n < 2 {
        return Err(StatsError::TooFewObservations);
    }
    let va = control.variance_of_mean();
    let vb = treatment.variance_of_mean();
    let var = va + vb;
    if !positive(var) {
        return Err(StatsError::NoVariance);
    }
    let df = var * var / (va * va / (control.n - 1) as f64 + vb * vb / (treatment.n - 1) as f64);
    let effect = treatment.mean - control.mean;
    let se = var.sqrt();
    let t = effect / se;
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|_| StatsError::Parameter)?;
    let p_value = (2.0 * dist.sf(t.abs())).min(1.0);
    let radius = quantile(&dist, 1.0 - alpha / 2.0) * se;
    Ok(Estimate {
        effect,
        std_error: se,
        statistic: t,
        df: Some(df),
        p_value,
        ci_low: effect - radius,
        ci_high: effect + radius,
    })
}

/// A z test from an effect and its variance, with a `1 − alpha` interval.
pub fn z_test(effect: f64, variance: f64, alpha: f64) -> Result<Estimate, StatsError> {
    check_alpha(alpha)?;
    if !positive(variance) {
        return Err(StatsError::NoVariance);
    }
    let se = variance.sqrt();
    let z = effect / se;
    let normal = standard_normal();
    let radius = quantile(&normal, 1.0 - alpha / 2.0) * se;
    Ok(Estimate {
        effect,
        std_error: se,
        statistic: z,
        df: None,
        p_value: (2.0 * normal.sf(z.abs())).min(1.0),
        ci_low: effect - radius,
        ci_high: effect + radius,
    })
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// The `q` quantile of a distribution, polished with Newton steps on its CDF: the
/// distributions' own inverses start from approximations good to about 1e-9, the CDFs are
/// good to near machine precision, and intervals are compared with references at 1e-9.
fn quantile<D: ContinuousCDF<f64, f64> + Continuous<f64, f64>>(dist: &D, q: f64) -> f64 {
    let mut x = dist.inverse_cdf(q.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON));
    for _ in 0..3 {
        let density = dist.pdf(x);
        if !positive(density) {
            break;
        }
        // cdf(x) − q, written with the survival function, which keeps the digits the CDF
        // loses in the upper tail where interval quantiles live.
        let step = ((1.0 - q) - dist.sf(x)) / density;
        if !step.is_finite() {
            break;
        }
        x -= step;
    }
    x
}

/// Per-person sums behind a ratio metric (total revenue over total clicks, say): the means of
/// numerator and denominator, their sample variances and covariance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioSummary {
    /// People.
    pub n: u64,
    /// Mean numerator.
    pub mean_num: f64,
    /// Mean denominator.
    pub mean_den: f64,
    /// Sample variance of the numerator.
    pub var_num: f64,
    /// Sample variance of the denominator.
    pub var_den: f64,
    /// Sample covariance of numerator and denominator.
    pub cov: f64,
}

impl RatioSummary {
    /// Summarises paired per-person numerators and denominators (the shorter length counts).
    pub fn of(numerators: &[f64], denominators: &[f64]) -> RatioSummary {
        let n = numerators.len().min(denominators.len());
        let (num, den) = (&numerators[..n], &denominators[..n]);
        let sn = Summary::of(num);
        let sd = Summary::of(den);
        let cov = if n < 2 {
            0.0
        } else {
            num.iter()
                .zip(den)
                .map(|(x, y)| (x - sn.mean) * (y - sd.mean))
                .sum::<f64>()
                / (n - 1) as f64
        };
        RatioSummary {
            n: n as u64,
            mean_num: sn.mean,
            mean_den: sd.mean,
            var_num: sn.variance,
            var_den: sd.variance,
            cov,
        }
    }

    /// The ratio of the means.
    pub fn ratio(&self) -> f64 {
        self.mean_num / self.mean_den
    }

    /// The delta-method variance of the ratio of means:
    /// `(var_num − 2 r cov + r² var_den) / (n · mean_den²)`, with `r` the ratio.
    pub fn variance_of_ratio(&self) -> f64 {
        let r = self.ratio();
        (self.var_num - 2.0 * r * self.cov + r * r * self.var_den)
            / (self.n as f64 * self.mean_den * self.mean_den)
    }
}

/// The difference of two ratio metrics, tested with the delta method (a z test).
pub fn delta_ratio(
    control: &RatioSummary,
    treatment: &RatioSummary,
    alpha: f64,
) -> Result<Estimate, StatsError> {
    if control.n < 2 || treatment.n < 2 {
        return Err(StatsError::TooFewObservations);
    }
    if control.mean_den == 0.0 || treatment.mean_den == 0.0 {
        return Err(StatsError::NoVariance);
    }
    z_test(
        treatment.ratio() - control.ratio(),
        control.variance_of_ratio() + treatment.variance_of_ratio(),
        alpha,
    )
}

/// CUPED: both arms' outcomes adjusted by their pre-period covariate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cuped {
    /// `cov(y, x) / var(x)` over both arms pooled (0 if the covariate does not vary).
    pub theta: f64,
    /// The control's adjusted outcomes.
    pub control: Summary,
    /// The treatment's adjusted outcomes.
    pub treatment: Summary,
}

/// Adjusts outcomes `y − θ (x − x̄)` with θ and x̄ from both arms pooled. Pooling keeps θ the
/// same in both arms, so the adjustment cannot create a difference the outcomes do not have.
pub fn cuped(control: &[PersonOutcome], treatment: &[PersonOutcome]) -> Cuped {
    let all = || control.iter().chain(treatment);
    let n = (control.len() + treatment.len()) as f64;
    let (theta, mean_x) = if n < 2.0 {
        (0.0, 0.0)
    } else {
        let mean_x = all().map(|o| o.covariate).sum::<f64>() / n;
        let mean_y = all().map(|o| o.value).sum::<f64>() / n;
        let sxx: f64 = all().map(|o| (o.covariate - mean_x).powi(2)).sum();
        let sxy: f64 = all()
            .map(|o| (o.covariate - mean_x) * (o.value - mean_y))
            .sum();
        (if sxx > 0.0 { sxy / sxx } else { 0.0 }, mean_x)
    };
    let adjust = |outcomes: &[PersonOutcome]| {
        let adjusted: Vec<f64> = outcomes
            .iter()
            .map(|o| o.value - theta * (o.covariate - mean_x))
            .collect();
        Summary::of(&adjusted)
    };
    Cuped {
        theta,
        control: adjust(control),
        treatment: adjust(treatment),
    }
}

/// The result of the sample-ratio-mismatch check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Srm {
    /// Pearson's chi-squared statistic.
    pub chi_squared: f64,
    /// Degrees of freedom (arms − 1).
    pub df: u32,
    /// The p-value.
    pub p_value: f64,
    /// Whether `p_value < SRM_P_THRESHOLD`: the split is not what the allocation promised, so
    /// the assignment or the exposure logging is broken and the effects cannot be trusted.
    pub flagged: bool,
}

/// Pearson's chi-squared goodness-of-fit of observed arm sizes to the expected split (any
/// positive weights, basis points say). Matches `scipy.stats.chisquare`.
pub fn srm(observed: &[u64], expected_weights: &[f64]) -> Result<Srm, StatsError> {
    let weight_total: f64 = expected_weights.iter().sum();
    if observed.len() != expected_weights.len()
        || observed.len() < 2
        || expected_weights.iter().any(|&w| !positive(w))
    {
        return Err(StatsError::Split);
    }
    let total: u64 = observed.iter().sum();
    if total == 0 {
        return Err(StatsError::TooFewObservations);
    }
    let chi_squared: f64 = observed
        .iter()
        .zip(expected_weights)
        .map(|(&o, &w)| {
            let e = total as f64 * w / weight_total;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    let df = (observed.len() - 1) as u32;
    let dist = ChiSquared::new(f64::from(df)).map_err(|_| StatsError::Parameter)?;
    let p_value = dist.sf(chi_squared);
    Ok(Srm {
        chi_squared,
        df,
        p_value,
        flagged: p_value < SRM_P_THRESHOLD,
    })
}
