//! How accurate a released count is: the relative half width of its 95 % interval as a function
//! of the cell's size and ε, and the table `docs/analytics-accuracy.md` is made from.

use serde::{Deserialize, Serialize};

use crate::AnalyticsError;
use crate::bound::Bounds;
use crate::budget::Epsilon;
use crate::noise::Noise;

/// One point of the accuracy curve of a distinct-people count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccuracyPoint {
    /// ε spent on the people count.
    pub epsilon: Epsilon,
    /// True number of people in the cell.
    pub people: u64,
    /// Half width of the exact 95 % interval.
    pub ci95_half_width: u64,
    /// `ci95_half_width / people`: with probability 95 % the released count is within this
    /// fraction of the truth.
    pub relative_error: f64,
}

/// The accuracy of a people count of `people` released with `epsilon` under `bounds`.
pub fn people_count_accuracy(
    bounds: &Bounds,
    epsilon: Epsilon,
    people: u64,
) -> Result<AccuracyPoint, AnalyticsError> {
    bounds.validate()?;
    let half = Noise::laplace(bounds.people()?.l1, epsilon)?.half_width_95();
    Ok(AccuracyPoint {
        epsilon,
        people,
        ci95_half_width: half,
        relative_error: half as f64 / people.max(1) as f64,
    })
}

/// The accuracy table in Markdown: rows are cell sizes, columns values of ε.
pub fn accuracy_markdown(
    bounds: &Bounds,
    epsilons: &[Epsilon],
    sizes: &[u64],
) -> Result<String, AnalyticsError> {
    let mut out = String::new();
    out.push_str("| people in the cell |");
    for epsilon in epsilons {
        out.push_str(&format!(" ε = {} |", epsilon.as_f64()));
    }
    out.push_str("\n|---:|");
    out.push_str(&"---:|".repeat(epsilons.len()));
    out.push('\n');
    for &people in sizes {
        out.push_str(&format!("| {people} |"));
        for &epsilon in epsilons {
            let point = people_count_accuracy(bounds, epsilon, people)?;
            out.push_str(&format!(
                " ±{} ({:.1} %) |",
                point.ci95_half_width,
                100.0 * point.relative_error
            ));
        }
        out.push('\n');
    }
    Ok(out)
}
