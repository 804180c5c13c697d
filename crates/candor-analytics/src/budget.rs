//! Privacy budgets: ε and δ in exact integer units, and the ledger that charges reports to a
//! report family's budget for a period and refuses to overspend.
//!
//! Composition is basic: the ε (and the δ) of every report charged to the same family and period
//! add up. A person contributes to each period of a family separately, so the guarantee is per
//! family and period: what any set of that family's reports about one period reveals about one
//! person is bounded by the family's (ε, δ).
//!
//! The ledger is a plain value (serde), so the store keeps it and every instance charges through
//! the same row: the budget holds across restarts and instances when the store updates it in one
//! transaction with the check.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// Units of ε per 1.0: ε is kept in millionths so sums are exact.
pub const EPSILON_UNITS: u64 = 1_000_000;
/// Units of δ per 1.0: δ is kept in units of 10⁻¹⁵.
pub const DELTA_UNITS: u64 = 1_000_000_000_000_000;
/// The largest ε a budget or a report may name: beyond it a "private" report protects nobody.
pub const EPSILON_MAX: u64 = 20 * EPSILON_UNITS;
/// The largest δ: δ is the probability the guarantee fails, so it must stay tiny.
pub const DELTA_MAX: u64 = DELTA_UNITS / 1000;

/// A privacy-loss parameter ε ≥ 0, in millionths.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epsilon(u64);

/// A failure probability δ ≥ 0, in units of 10⁻¹⁵.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Delta(u64);

impl Epsilon {
    /// ε from a decimal, rounded to the nearest millionth; refuses negative, non-finite and
    /// values above [`EPSILON_MAX`].
    pub fn parse(value: f64) -> Result<Self, AnalyticsError> {
        parse_units("epsilon", value, EPSILON_UNITS, EPSILON_MAX).map(Epsilon)
    }

    /// ε in millionths.
    pub fn from_micros(micros: u64) -> Self {
        Epsilon(micros)
    }

    /// ε in millionths.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// ε as a decimal, for display.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / EPSILON_UNITS as f64
    }
}

impl Delta {
    /// δ from a decimal, rounded to the nearest 10⁻¹⁵; refuses negative, non-finite and values
    /// above [`DELTA_MAX`].
    pub fn parse(value: f64) -> Result<Self, AnalyticsError> {
        parse_units("delta", value, DELTA_UNITS, DELTA_MAX).map(Delta)
    }

    /// δ in units of 10⁻¹⁵.
    pub fn from_units(units: u64) -> Self {
        Delta(units)
    }

    /// δ in units of 10⁻¹⁵.
    pub fn units(self) -> u64 {
        self.0
    }

    /// δ as a decimal.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / DELTA_UNITS as f64
    }
}

/// A decimal parameter in integer units (`units` per 1.0), rounded to the nearest unit;
/// refuses negative, non-finite and values above `max` units.
fn parse_units(
    name: &'static str,
    value: f64,
    units: u64,
    max: u64,
) -> Result<u64, AnalyticsError> {
    if !value.is_finite() || value < 0.0 {
        return Err(AnalyticsError::invalid(
            name,
            format!("{name} must be a finite number ≥ 0"),
        ));
    }
    let scaled = (value * units as f64).round();
    if scaled > max as f64 {
        return Err(AnalyticsError::invalid(
            name,
            format!(
                "{name} = {value:e} is above the maximum of {:e}",
                max as f64 / units as f64
            ),
        ));
    }
    Ok(scaled as u64)
}

/// What a release costs, or what a budget allows: (ε, δ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrivacyCost {
    /// ε.
    pub epsilon: Epsilon,
    /// δ.
    pub delta: Delta,
}

impl PrivacyCost {
    /// (ε, δ).
    pub fn new(epsilon: Epsilon, delta: Delta) -> Self {
        PrivacyCost { epsilon, delta }
    }

    /// Basic composition: the cost of running both. Saturates, which only ever makes a charge
    /// refuse.
    pub fn plus(self, other: PrivacyCost) -> PrivacyCost {
        PrivacyCost {
            epsilon: Epsilon(self.epsilon.0.saturating_add(other.epsilon.0)),
            delta: Delta(self.delta.0.saturating_add(other.delta.0)),
        }
    }

    /// What `self` leaves after spending `other`, never below zero: a budget's remainder.
    pub fn minus(self, other: PrivacyCost) -> PrivacyCost {
        PrivacyCost {
            epsilon: Epsilon(self.epsilon.0.saturating_sub(other.epsilon.0)),
            delta: Delta(self.delta.0.saturating_sub(other.delta.0)),
        }
    }

    /// Whether `self` fits within `limit` in both ε and δ.
    pub fn fits(self, limit: PrivacyCost) -> bool {
        self.epsilon <= limit.epsilon && self.delta <= limit.delta
    }
}

/// The name of a family of reports that share one budget (`conversions`, `top-items`, …):
/// 1–64 characters of lowercase ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReportFamily(String);

impl ReportFamily {
    /// Checks the name.
    pub fn parse(name: &str) -> Result<Self, AnalyticsError> {
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(AnalyticsError::invalid(
                "report_family",
                "use 1–64 lowercase letters, digits, `-` or `_`",
            ));
        }
        Ok(ReportFamily(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReportFamily {
    type Error = AnalyticsError;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        ReportFamily::parse(&name)
    }
}

impl From<ReportFamily> for String {
    fn from(family: ReportFamily) -> Self {
        family.0
    }
}

/// One family's budget per period and what each period has spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyAccount {
    /// What each period may spend.
    pub limit: PrivacyCost,
    /// What each period has spent, by the period's first day (days since 1970-01-01).
    pub spent: BTreeMap<i32, PrivacyCost>,
}

/// Every family's budget and spending: a pure state machine the store persists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetLedger {
    families: BTreeMap<ReportFamily, FamilyAccount>,
}

impl BudgetLedger {
    /// A ledger with no families: every charge is refused until a budget is set.
    pub fn new() -> Self {
        BudgetLedger::default()
    }

    /// Sets the per-period budget of `family`. Lowering it below what a period has spent is
    /// allowed; that period then refuses every further charge.
    pub fn set_limit(&mut self, family: ReportFamily, limit: PrivacyCost) {
        self.families
            .entry(family)
            .and_modify(|account| account.limit = limit)
            .or_insert(FamilyAccount {
                limit,
                spent: BTreeMap::new(),
            });
    }

    /// The family's account, if it has a budget.
    pub fn account(&self, family: &ReportFamily) -> Option<&FamilyAccount> {
        self.families.get(family)
    }

    /// What `period` of `family` may still spend.
    pub fn remaining(
        &self,
        family: &ReportFamily,
        period: i32,
    ) -> Result<PrivacyCost, AnalyticsError> {
        let account = self.known(family)?;
        let spent = account.spent.get(&period).copied().unwrap_or_default();
        Ok(account.limit.minus(spent))
    }

    /// Charges `cost` to one period of `family`; refuses, changing nothing, when the period's
    /// spending would exceed the family's limit. Returns what remains.
    pub fn charge(
        &mut self,
        family: &ReportFamily,
        period: i32,
        cost: PrivacyCost,
    ) -> Result<PrivacyCost, AnalyticsError> {
        self.charge_periods(family, &[period], cost)?;
        self.remaining(family, period)
    }

    /// Charges `cost` to each of `periods` of `family`, all or nothing: a report over several
    /// periods either runs on all of them or on none.
    pub fn charge_periods(
        &mut self,
        family: &ReportFamily,
        periods: &[i32],
        cost: PrivacyCost,
    ) -> Result<(), AnalyticsError> {
        // A period named twice is charged once: the report releases it once.
        let periods: BTreeSet<i32> = periods.iter().copied().collect();
        let account = self.known(family)?;
        for &period in &periods {
            let spent = account.spent.get(&period).copied().unwrap_or_default();
            if !spent.plus(cost).fits(account.limit) {
                return Err(exhausted(
                    family.as_str(),
                    period,
                    cost,
                    account.limit.minus(spent),
                ));
            }
        }
        let account = self.families.get_mut(family).expect("checked above");
        for period in periods {
            let spent = account.spent.entry(period).or_default();
            *spent = spent.plus(cost);
        }
        Ok(())
    }

    fn known(&self, family: &ReportFamily) -> Result<&FamilyAccount, AnalyticsError> {
        self.families
            .get(family)
            .ok_or_else(|| AnalyticsError::UnknownFamily {
                family: family.as_str().to_owned(),
            })
    }
}

/// The refusal of a charge that would overspend `family`'s budget for `period`.
fn exhausted(
    family: &str,
    period: i32,
    requested: PrivacyCost,
    remaining: PrivacyCost,
) -> AnalyticsError {
    AnalyticsError::BudgetExhausted {
        family: family.to_owned(),
        period,
        requested_epsilon: requested.epsilon.as_f64(),
        requested_delta: requested.delta.as_f64(),
        remaining_epsilon: remaining.epsilon.as_f64(),
        remaining_delta: remaining.delta.as_f64(),
    }
}
