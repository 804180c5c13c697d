//! Multiplicity adjustments across the metrics (and comparisons) of one report.
//!
//! Both return adjusted p-values in the input order, matching statsmodels' `multipletests`
//! with `holm` and `fdr_bh`.

use serde::{Deserialize, Serialize};

/// Which adjustment a report applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Holm's step-down: controls the family-wise error rate.
    #[default]
    Holm,
    /// Benjamini–Hochberg: controls the false discovery rate.
    BenjaminiHochberg,
}

impl Adjustment {
    /// Adjusts `p_values`.
    pub fn apply(self, p_values: &[f64]) -> Vec<f64> {
        match self {
            Adjustment::Holm => holm(p_values),
            Adjustment::BenjaminiHochberg => benjamini_hochberg(p_values),
        }
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Adjustment::Holm => "Holm",
            Adjustment::BenjaminiHochberg => "Benjamini-Hochberg",
        }
    }
}

/// Indices of `p_values`, smallest p first (ties in input order).
fn ascending(p_values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    order
}

/// Holm's step-down adjustment: the i-th smallest p (from 0) times `m − i`, made
/// non-decreasing, capped at 1.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in ascending(p_values).iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Benjamini–Hochberg: the i-th smallest p (from 1) times `m / i`, made non-decreasing from
/// the largest down, capped at 1.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in ascending(p_values).iter().enumerate().rev() {
        running = running.min(p_values[i] * m as f64 / (rank + 1) as f64);
        adjusted[i] = running;
    }
    adjusted
}
