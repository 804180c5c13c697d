//! Always-valid inference: the mixture sequential probability ratio test (mSPRT) with a
//! normal mixture over the effect.
//!
//! At each look the effect estimate `d` with variance `v` (treatment minus control, as from
//! [`crate::stats::welch`]) gives the mixture likelihood ratio against "no effect"
//!
//! ```text
//! Λ = sqrt(v / (v + τ²)) · exp(τ² d² / (2 v (v + τ²)))
//! ```
//!
//! where `τ²` is the variance of the normal mixture over effects (the scale of effect one
//! expects). Under no effect `Λ` is a nonnegative martingale, so by Ville's inequality it
//! exceeds `1/α` at *any* look with probability at most `α`: `min(1, 1/Λ)` is a p-value that
//! stays valid however often one peeks and whenever one stops, and inverting the test gives a
//! confidence sequence. Keeping the smallest p and the intersection of the intervals over
//! looks ([`SequentialState`]) is still valid and never loosens.

use serde::{Deserialize, Serialize};

use crate::stats::{StatsError, positive};

/// An always-valid p-value and interval at one look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialLook {
    /// `min(1, 1/Λ)`.
    pub p_value: f64,
    /// Lower end of the `1 − alpha` confidence sequence.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
}

/// The mSPRT at one look, from the effect estimate and its variance.
pub fn msprt(
    estimate: f64,
    variance: f64,
    tau_sq: f64,
    alpha: f64,
) -> Result<SequentialLook, StatsError> {
    if !(alpha > 0.0 && alpha < 1.0 && positive(tau_sq)) {
        return Err(StatsError::Parameter);
    }
    if !positive(variance) {
        return Err(StatsError::NoVariance);
    }
    let spread = variance + tau_sq;
    // In logs: Λ overflows long before the p-value stops being representable.
    let log_lambda =
        0.5 * (variance / spread).ln() + tau_sq * estimate * estimate / (2.0 * variance * spread);
    let p_value = (-log_lambda).exp().min(1.0);
    // Every θ whose Λ(θ) stays below 1/α.
    let radius =
        (variance * spread / tau_sq * (2.0 * (1.0 / alpha).ln() + (spread / variance).ln())).sqrt();
    Ok(SequentialLook {
        p_value,
        ci_low: estimate - radius,
        ci_high: estimate + radius,
    })
}

/// The running always-valid result across looks: the smallest p-value and the intersection of
/// the intervals so far. Stored between looks by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialState {
    /// Looks taken.
    pub n_looks: u64,
    /// The smallest p-value so far.
    pub p_value: f64,
    /// The largest lower end so far.
    pub ci_low: f64,
    /// The smallest upper end so far.
    pub ci_high: f64,
}

impl Default for SequentialState {
    fn default() -> Self {
        SequentialState {
            n_looks: 0,
            p_value: 1.0,
            ci_low: f64::NEG_INFINITY,
            ci_high: f64::INFINITY,
        }
    }
}

impl SequentialState {
    /// Folds in one more look. The p-value never rises and the interval never widens, so no
    /// look reports an effect an earlier look's running interval excludes. Should the new
    /// interval miss the running one altogether (under the model, at most an `alpha` chance
    /// over all looks), the running interval stands: an earlier bound is never taken back.
    pub fn update(self, look: SequentialLook) -> SequentialState {
        let (low, high) = (self.ci_low.max(look.ci_low), self.ci_high.min(look.ci_high));
        let (ci_low, ci_high) = if low <= high {
            (low, high)
        } else {
            (self.ci_low, self.ci_high)
        };
        SequentialState {
            n_looks: self.n_looks + 1,
            p_value: self.p_value.min(look.p_value),
            ci_low,
            ci_high,
        }
    }
}
