//! Private partition selection: which cells a report may show at all.
//!
//! A cell appears only if its noisy count of distinct people, count + Z with Z ~ discrete
//! Laplace(t), t = C/ε (C = cells per person), reaches a threshold τ. The released people count
//! is that same noisy count.
//!
//! Derivation of τ. Take neighbouring datasets D and D′ = D plus one person. Cells present in
//! both differ by at most 1 person in at most C cells, so their noisy counts are ε-DP (L1
//! sensitivity C, scale C/ε), and thresholding them is post-processing. The remaining risk is a
//! cell present in D′ only: absent from D it is never shown, while in D′ its count is 1 and it is
//! shown with probability P(1 + Z ≥ τ) = P(Z ≥ τ − 1). For the discrete Laplace with
//! q = exp(−1/t), P(Z ≥ k) = q^k / (1 + q) for k ≥ 1. The added person creates at most C such
//! cells, so by the union bound the release of any of them has probability at most
//! C · q^(τ−1) / (1 + q), and requiring this to be at most δ gives
//!
//! τ = 1 + ⌈t · ln(C / (δ · (1 + q)))⌉.
//!
//! Outside that event of probability ≤ δ the outputs on D and D′ are within a factor e^ε, so the
//! selection with its counts is (ε, δ)-differentially private. A category seen by one person
//! clears τ with probability below δ/C; by a handful of people, still rarely.

use crate::budget::Delta;
use crate::{AnalyticsError, Ratio};

/// The threshold τ for people counts noised with discrete Laplace scale `scale` when each
/// person touches at most `cells_per_person_max` cells, for a failure probability `delta`.
pub fn selection_threshold(
    scale: Ratio,
    cells_per_person_max: u64,
    delta: Delta,
) -> Result<i64, AnalyticsError> {
    if delta.units() == 0 {
        return Err(AnalyticsError::invalid(
            "selection_delta",
            "partition selection needs δ > 0: with δ = 0 no cell could ever be shown",
        ));
    }
    let t = scale.as_f64();
    let q = (-1.0 / t).exp();
    let c = cells_per_person_max as f64;
    let d = delta.as_f64();
    let leak = |k: i64| c * q.powf(k as f64) / (1.0 + q);
    let mut k = (t * (c / (d * (1.0 + q))).ln()).ceil().max(1.0) as i64;
    // Settle the float's rounding on the exact smallest k ≥ 1.
    while k > 1 && leak(k - 1) <= d {
        k -= 1;
    }
    while leak(k) > d {
        k += 1;
    }
    Ok(1 + k)
}
