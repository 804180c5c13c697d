//! The `[analytics]` table of `candor.toml`: each report family's privacy budget per day of
//! data, what one report spends, and the attribution window of conversion reports.

use std::collections::BTreeMap;

use candor_analytics::{Delta, Epsilon, PrivacyCost, ReportFamily};
use serde::Deserialize;

/// Defaults: a family may spend ε = 3 and δ = 10⁻⁶ on any one day of data; a report spends
/// ε = 1 (the "ε = 1 per weekly report") and δ = 10⁻⁸ for partition selection, so three
/// different reports may cover one day; identical requests are answered from the first.
const BUDGET_EPSILON_DEFAULT: f64 = 3.0;
const BUDGET_DELTA_DEFAULT: f64 = 1e-6;
const REPORT_EPSILON_DEFAULT: f64 = 1.0;
const REPORT_DELTA_DEFAULT: f64 = 1e-8;
const ATTRIBUTION_WINDOW_DAYS_DEFAULT: u32 = 7;
/// Longest attribution window: a month.
pub const ATTRIBUTION_WINDOW_DAYS_MAX: u32 = 31;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct CostSection {
    epsilon: f64,
    delta: f64,
}

/// The table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnalyticsSection {
    budget: Option<CostSection>,
    report: Option<CostSection>,
    #[serde(default)]
    budgets: BTreeMap<String, CostSection>,
    attribution_window_days: Option<u32>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct AnalyticsSettings {
    /// What a family may spend per day of data, unless `budgets` names it.
    pub budget: PrivacyCost,
    /// Per-family budgets.
    pub budgets: BTreeMap<ReportFamily, PrivacyCost>,
    /// What one report spends on each day it covers: ε split across its measures, δ for
    /// partition selection.
    pub report: PrivacyCost,
    /// A conversion counts the last touch at most this many days before it.
    pub attribution_window_days: u32,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSection::default()
            .resolve()
            .expect("the defaults are valid")
    }
}

impl AnalyticsSettings {
    /// The per-day budget of `family`.
    pub fn budget_of(&self, family: &ReportFamily) -> PrivacyCost {
        self.budgets.get(family).copied().unwrap_or(self.budget)
    }
}

fn cost(
    name: &str,
    section: Option<CostSection>,
    default: (f64, f64),
) -> Result<PrivacyCost, String> {
    let (epsilon, delta) = section.map_or(default, |s| (s.epsilon, s.delta));
    let epsilon = Epsilon::parse(epsilon).map_err(|e| format!("analytics.{name}.epsilon: {e}"))?;
    let delta = Delta::parse(delta).map_err(|e| format!("analytics.{name}.delta: {e}"))?;
    Ok(PrivacyCost::new(epsilon, delta))
}

impl AnalyticsSection {
    pub(super) fn resolve(self) -> Result<AnalyticsSettings, String> {
        let budget = cost(
            "budget",
            self.budget,
            (BUDGET_EPSILON_DEFAULT, BUDGET_DELTA_DEFAULT),
        )?;
        let report = cost(
            "report",
            self.report,
            (REPORT_EPSILON_DEFAULT, REPORT_DELTA_DEFAULT),
        )?;
        if report.epsilon.micros() == 0 || report.delta.units() == 0 {
            return Err(
                "analytics.report: epsilon and delta must be above 0 (no noise is not private)"
                    .into(),
            );
        }
        let mut budgets = BTreeMap::new();
        for (name, section) in self.budgets {
            let family =
                ReportFamily::parse(&name).map_err(|e| format!("analytics.budgets.{name}: {e}"))?;
            budgets.insert(
                family,
                cost(&format!("budgets.{name}"), Some(section), (0.0, 0.0))?,
            );
        }
        let attribution_window_days = self
            .attribution_window_days
            .unwrap_or(ATTRIBUTION_WINDOW_DAYS_DEFAULT);
        if !(1..=ATTRIBUTION_WINDOW_DAYS_MAX).contains(&attribution_window_days) {
            return Err(format!(
                "analytics.attribution_window_days must be between 1 and {ATTRIBUTION_WINDOW_DAYS_MAX}"
            ));
        }
        Ok(AnalyticsSettings {
            budget,
            budgets,
            report,
            attribution_window_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<AnalyticsSettings, String> {
        toml::from_str::<AnalyticsSection>(text)
            .map_err(|e| e.to_string())?
            .resolve()
    }

    #[test]
    fn defaults_and_per_family_budgets() {
        let s = resolve("").unwrap();
        assert_eq!(s.budget.epsilon.micros(), 3_000_000);
        assert_eq!(s.report.epsilon.micros(), 1_000_000);
        assert_eq!(s.attribution_window_days, 7);
        let s = resolve(
            "budget = { epsilon = 2.0, delta = 1e-7 }\n\
             budgets.conversions = { epsilon = 5.0, delta = 1e-6 }",
        )
        .unwrap();
        let conversions = ReportFamily::parse("conversions").unwrap();
        let drops = ReportFamily::parse("drops").unwrap();
        assert_eq!(s.budget_of(&conversions).epsilon.micros(), 5_000_000);
        assert_eq!(s.budget_of(&drops).epsilon.micros(), 2_000_000);
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        for (text, key) in [
            (
                "report = { epsilon = 0.0, delta = 1e-8 }",
                "analytics.report",
            ),
            (
                "budget = { epsilon = -1.0, delta = 0.0 }",
                "analytics.budget.epsilon",
            ),
            (
                "budgets.Bad = { epsilon = 1.0, delta = 0.0 }",
                "analytics.budgets.Bad",
            ),
            ("attribution_window_days = 0", "attribution_window_days"),
        ] {
            let err = resolve(text).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
