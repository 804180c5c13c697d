//! Group fairness metrics over a binary decision (selected into a campaign audience, shown a
//! recommendation slot), with the definitions Fairlearn uses so that numbers can be compared
//! with that tool's output.
//!
//! # Small groups are suppressed
//!
//! A group with fewer than `k_min` members is listed by label only: no count, no rate. Such a
//! group is also left out of every aggregate — the "overall" rates, the parity differences and
//! ratios. Two reasons:
//!
//! * Privacy. A rate over three people says something about each of them. And if the overall
//!   counts included suppressed members, subtracting the reported groups from the overall
//!   would give the suppressed group's count back.
//! * Statistics. A rate over a handful of people swings wildly; letting it drive a parity
//!   ratio would raise alerts on noise.
//!
//! So "overall" in this module means "all members of reported groups", which equals
//! Fairlearn's overall whenever nothing is suppressed. The policy default is
//! [`K_MIN_DEFAULT`].
//!
//! # Undefined values are `None`
//!
//! Nothing here returns NaN. A rate over nobody, a difference with fewer than two reported
//! groups, a ratio whose denominator is zero: all `None`, which callers must treat as
//! "insufficient data", not as parity.

use std::collections::BTreeMap;

use crate::attributes::{AttributeKind, AuditAttributes, GroupKey};

/// Policy default for the smallest group that is reported.
pub const K_MIN_DEFAULT: u64 = 10;
/// The four-fifths rule's threshold on the demographic parity ratio.
pub const FOUR_FIFTHS_THRESHOLD: f64 = 0.8;
/// Most distinct groups in one tally; self-declared values are free text, so bound them.
pub const GROUPS_LEN_MAX: usize = 256;
/// Longest group label accepted by [`GroupTally::add_labelled`].
pub const GROUP_LABEL_BYTES_MAX: usize = 64;
/// The standard normal quantile for a two-sided 95% interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Why a decision could not be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FairnessError {
    /// The tally already holds [`GROUPS_LEN_MAX`] groups.
    #[error("more than {GROUPS_LEN_MAX} distinct groups")]
    TooManyGroups,
    /// A label is empty, longer than [`GROUP_LABEL_BYTES_MAX`], or holds control characters.
    #[error("a group label must be 1..={GROUP_LABEL_BYTES_MAX} bytes without control characters")]
    InvalidLabel,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    n: u64,
    n_selected: u64,
    /// Members whose outcome is known to be positive.
    n_positive: u64,
    /// ... of whom were selected.
    n_true_positive: u64,
    /// Members whose outcome is known to be negative.
    n_negative: u64,
    /// ... of whom were selected.
    n_false_positive: u64,
}

impl Counts {
    fn add(&mut self, selected: bool, outcome: Option<bool>) {
        self.n += 1;
        self.n_selected += u64::from(selected);
        match outcome {
            Some(true) => {
                self.n_positive += 1;
                self.n_true_positive += u64::from(selected);
            }
            Some(false) => {
                self.n_negative += 1;
                self.n_false_positive += u64::from(selected);
            }
            None => {}
        }
    }

    fn merge(&mut self, other: &Counts) {
        self.n += other.n;
        self.n_selected += other.n_selected;
        self.n_positive += other.n_positive;
        self.n_true_positive += other.n_true_positive;
        self.n_negative += other.n_negative;
        self.n_false_positive += other.n_false_positive;
    }

    fn rates(&self) -> Option<Rates> {
        Some(Rates {
            n: self.n,
            n_selected: self.n_selected,
            selection_rate: ratio_u64(self.n_selected, self.n)?,
            selection_rate_ci: wilson_interval(self.n_selected, self.n)?,
            true_positive_rate: ratio_u64(self.n_true_positive, self.n_positive),
            false_positive_rate: ratio_u64(self.n_false_positive, self.n_negative),
        })
    }
}

fn ratio_u64(num: u64, den: u64) -> Option<f64> {
    // Counts stay far below 2^53, so the conversions are exact.
    (den > 0).then(|| num as f64 / den as f64)
}

/// Decisions counted per group: how many members, how many selected, and where the true
/// outcome is known, the confusion counts behind true and false positive rates.
///
/// Memory is one small record per group, whatever the number of decisions.
#[derive(Debug, Clone, Default)]
pub struct GroupTally {
    groups: BTreeMap<GroupKey, Counts>,
    n_undeclared: u64,
}

impl GroupTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one subject's decision under the value they declared for `kind`. A subject who
    /// declared nothing for `kind` is not counted (returns `Ok(false)`): putting them in an
    /// "undeclared" group would compare people who chose not to answer as if they were a
    /// demographic group.
    pub fn add_declared(
        &mut self,
        attributes: &AuditAttributes,
        kind: AttributeKind,
        selected: bool,
        outcome: Option<bool>,
    ) -> Result<bool, FairnessError> {
        match attributes.group_key(kind) {
            Some(key) => {
                self.add_key(key, selected, outcome)?;
                Ok(true)
            }
            None => {
                self.n_undeclared += 1;
                Ok(false)
            }
        }
    }

    /// Counts one decision under a group label the caller already has (an aggregate audit
    /// export, a non-protected grouping such as region, or test data).
    ///
    /// `outcome` is the true label where known: `Some(true)` for a positive outcome, used for
    /// true and false positive rates; `None` leaves the decision out of those two rates.
    pub fn add_labelled(
        &mut self,
        label: &str,
        selected: bool,
        outcome: Option<bool>,
    ) -> Result<(), FairnessError> {
        if label.is_empty()
            || label.len() > GROUP_LABEL_BYTES_MAX
            || label.chars().any(char::is_control)
        {
            return Err(FairnessError::InvalidLabel);
        }
        self.add_key(GroupKey(label.to_owned()), selected, outcome)
    }

    /// A tally of `(group label, selected, outcome)` rows.
    pub fn from_labelled<'a>(
        rows: impl IntoIterator<Item = (&'a str, bool, Option<bool>)>,
    ) -> Result<Self, FairnessError> {
        let mut tally = Self::new();
        for (label, selected, outcome) in rows {
            tally.add_labelled(label, selected, outcome)?;
        }
        Ok(tally)
    }

    fn add_key(
        &mut self,
        key: GroupKey,
        selected: bool,
        outcome: Option<bool>,
    ) -> Result<(), FairnessError> {
        if !self.groups.contains_key(&key) && self.groups.len() >= GROUPS_LEN_MAX {
            return Err(FairnessError::TooManyGroups);
        }
        self.groups.entry(key).or_default().add(selected, outcome);
        Ok(())
    }

    /// Subjects passed to [`GroupTally::add_declared`] without a declaration for the kind.
    /// For the operator's own coverage check; not part of a report.
    pub fn n_undeclared(&self) -> u64 {
        self.n_undeclared
    }
}

/// The share of `true` values; `None` for no values. Fairlearn's `selection_rate`.
pub fn selection_rate(selected: impl IntoIterator<Item = bool>) -> Option<f64> {
    let (n, n_selected) = selected
        .into_iter()
        .fold((0u64, 0u64), |(n, s), x| (n + 1, s + u64::from(x)));
    ratio_u64(n_selected, n)
}

/// True positive rate (recall): selected among those with a positive outcome. Rows with an
/// unknown outcome are ignored; `None` when no row has a positive outcome.
pub fn true_positive_rate(rows: impl IntoIterator<Item = (bool, Option<bool>)>) -> Option<f64> {
    let mut counts = Counts::default();
    rows.into_iter().for_each(|(s, o)| counts.add(s, o));
    ratio_u64(counts.n_true_positive, counts.n_positive)
}

/// False positive rate: selected among those with a negative outcome. Rows with an unknown
/// outcome are ignored; `None` when no row has a negative outcome.
pub fn false_positive_rate(rows: impl IntoIterator<Item = (bool, Option<bool>)>) -> Option<f64> {
    let mut counts = Counts::default();
    rows.into_iter().for_each(|(s, o)| counts.add(s, o));
    ratio_u64(counts.n_false_positive, counts.n_negative)
}

/// A closed interval within `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The Wilson score 95% interval for `successes` out of `n`; `None` when `n` is 0.
///
/// Wilson rather than the textbook `p ± z·sqrt(p(1-p)/n)` because that one collapses to a
/// zero-width interval at rates of 0 or 1 and leaves `[0, 1]` for small groups — exactly the
/// cases a fairness report must not make look certain.
pub fn wilson_interval(successes: u64, n: u64) -> Option<Interval> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denominator;
    let half = Z_95 / denominator * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    Some(Interval {
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    })
}

/// Rates for one group, or for all reported groups together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Members.
    pub n: u64,
    /// Members selected.
    pub n_selected: u64,
    /// `n_selected / n`.
    pub selection_rate: f64,
    /// Wilson score 95% interval of the selection rate.
    pub selection_rate_ci: Interval,
    /// Selected among members with a positive outcome; `None` if none has a known positive
    /// outcome.
    pub true_positive_rate: Option<f64>,
    /// Selected among members with a negative outcome; `None` if none has a known negative
    /// outcome.
    pub false_positive_rate: Option<f64>,
}

impl Rates {
    /// The value of one metric.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::SelectionRate => Some(self.selection_rate),
            Metric::TruePositiveRate => self.true_positive_rate,
            Metric::FalsePositiveRate => self.false_positive_rate,
        }
    }
}

/// A group's line in a report.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupResult {
    /// The group is large enough to report.
    Reported(Rates),
    /// The group has fewer than `k_min` members: no count, no rate, excluded from aggregates.
    Suppressed,
}

/// One group of a [`MetricFrame`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The group's label (the declared value, or the caller's label).
    pub label: String,
    /// Its rates, or the fact that it was suppressed.
    pub result: GroupResult,
}

/// Which per-group metric to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Share selected.
    SelectionRate,
    /// Share selected among positive outcomes.
    TruePositiveRate,
    /// Share selected among negative outcomes.
    FalsePositiveRate,
}

/// How groups are compared, as in Fairlearn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Largest minus smallest group value; smallest over largest.
    BetweenGroups,
    /// Largest distance of any group from the overall value; smallest of the group/overall
    /// ratios, each taken as at most 1.
    ToOverall,
}

/// A group label with one of its rates.
pub type LabelledRate<'a> = (&'a str, f64);

/// Per-group rates with small groups suppressed, and the overall rates of the reported groups.
/// Fairlearn's `MetricFrame` for the three rates this crate needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFrame {
    /// The suppression threshold used.
    pub k_min: u64,
    /// Rates over all members of reported groups; `None` if no group is reported.
    pub overall: Option<Rates>,
    /// Every group, in label order.
    pub by_group: Vec<GroupRow>,
}

impl MetricFrame {
    /// Computes the frame from a tally, suppressing groups with fewer than `k_min` members.
    pub fn new(tally: &GroupTally, k_min: u64) -> Self {
        let mut overall = Counts::default();
        let by_group = tally
            .groups
            .iter()
            .map(|(key, counts)| {
                let result = match counts.rates() {
                    Some(rates) if counts.n >= k_min => {
                        overall.merge(counts);
                        GroupResult::Reported(rates)
                    }
                    _ => GroupResult::Suppressed,
                };
                GroupRow {
                    label: key.0.clone(),
                    result,
                }
            })
            .collect();
        MetricFrame {
            k_min,
            overall: overall.rates(),
            by_group,
        }
    }

    /// The reported groups with their rates.
    pub fn reported(&self) -> impl Iterator<Item = (&str, &Rates)> {
        self.by_group.iter().filter_map(|row| match &row.result {
            GroupResult::Reported(rates) => Some((row.label.as_str(), rates)),
            GroupResult::Suppressed => None,
        })
    }

    /// Number of suppressed groups.
    pub fn n_suppressed(&self) -> usize {
        self.by_group
            .iter()
            .filter(|row| row.result == GroupResult::Suppressed)
            .count()
    }

    fn values(&self, metric: Metric) -> Vec<f64> {
        self.reported()
            .filter_map(|(_, rates)| rates.get(metric))
            .collect()
    }

    /// The largest disparity in `metric` (always non-negative). `None` with fewer than two
    /// reported groups for which the metric is defined.
    pub fn difference(&self, metric: Metric, method: Method) -> Option<f64> {
        let values = self.values(metric);
        if values.len() < 2 {
            return None;
        }
        match method {
            Method::BetweenGroups => {
                let (min, max) = min_max(&values);
                Some(max - min)
            }
            Method::ToOverall => {
                let overall = self.overall.as_ref()?.get(metric)?;
                Some(
                    values
                        .iter()
                        .map(|v| (v - overall).abs())
                        .fold(0.0, f64::max),
                )
            }
        }
    }

    /// The smallest ratio in `metric`, in `[0, 1]`. `None` with fewer than two reported groups
    /// for which the metric is defined, or when the denominator is zero (every group at 0:
    /// there is no selection to compare).
    pub fn ratio(&self, metric: Metric, method: Method) -> Option<f64> {
        let values = self.values(metric);
        if values.len() < 2 {
            return None;
        }
        match method {
            Method::BetweenGroups => {
                let (min, max) = min_max(&values);
                (max > 0.0).then(|| min / max)
            }
            Method::ToOverall => {
                let overall = self.overall.as_ref()?.get(metric)?;
                if overall <= 0.0 {
                    return None;
                }
                Some(
                    values
                        .iter()
                        .map(|v| {
                            let r = v / overall;
                            if r > 1.0 { 1.0 / r } else { r }
                        })
                        .fold(1.0, f64::min),
                )
            }
        }
    }

    /// The reported groups with the lowest and the highest selection rate (first by label on
    /// ties).
    pub fn selection_extremes(&self) -> Option<(LabelledRate<'_>, LabelledRate<'_>)> {
        let mut reported = self.reported().map(|(l, r)| (l, r.selection_rate));
        let first = reported.next()?;
        Some(reported.fold((first, first), |(lo, hi), x| {
            (
                if x.1 < lo.1 { x } else { lo },
                if x.1 > hi.1 { x } else { hi },
            )
        }))
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// Difference in selection rates (0 means parity). Fairlearn's `demographic_parity_difference`.
pub fn demographic_parity_difference(frame: &MetricFrame, method: Method) -> Option<f64> {
    frame.difference(Metric::SelectionRate, method)
}

/// Ratio of selection rates (1 means parity). Fairlearn's `demographic_parity_ratio`.
pub fn demographic_parity_ratio(frame: &MetricFrame, method: Method) -> Option<f64> {
    frame.ratio(Metric::SelectionRate, method)
}

/// The larger of the true positive rate and false positive rate differences. Fairlearn's
/// `equalized_odds_difference` (worst case).
///
/// `None` if either difference is undefined: reporting only the defined one would quietly turn
/// equalized odds into a weaker criterion.
pub fn equalized_odds_difference(frame: &MetricFrame, method: Method) -> Option<f64> {
    let tpr = frame.difference(Metric::TruePositiveRate, method)?;
    let fpr = frame.difference(Metric::FalsePositiveRate, method)?;
    Some(tpr.max(fpr))
}

/// The smaller of the true positive rate and false positive rate ratios. Fairlearn's
/// `equalized_odds_ratio` (worst case). `None` if either ratio is undefined.
pub fn equalized_odds_ratio(frame: &MetricFrame, method: Method) -> Option<f64> {
    let tpr = frame.ratio(Metric::TruePositiveRate, method)?;
    let fpr = frame.ratio(Metric::FalsePositiveRate, method)?;
    Some(tpr.min(fpr))
}

/// Whether the demographic parity ratio (between groups) is below four fifths.
///
/// A screening signal that asks a person to look, not a verdict: the rule comes from one area
/// of employment law and says nothing on its own about whether a campaign is fair.
pub fn four_fifths_flag(frame: &MetricFrame) -> Option<bool> {
    demographic_parity_ratio(frame, Method::BetweenGroups).map(|r| r < FOUR_FIFTHS_THRESHOLD)
}

/// Demographic parity and equalized odds, both ways, for one report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disparities {
    /// Demographic parity difference.
    pub dp_difference: Option<f64>,
    /// Demographic parity ratio.
    pub dp_ratio: Option<f64>,
    /// Equalized odds difference.
    pub eo_difference: Option<f64>,
    /// Equalized odds ratio.
    pub eo_ratio: Option<f64>,
}

impl Disparities {
    /// All four measures for one comparison method.
    pub fn compute(frame: &MetricFrame, method: Method) -> Self {
        Disparities {
            dp_difference: demographic_parity_difference(frame, method),
            dp_ratio: demographic_parity_ratio(frame, method),
            eo_difference: equalized_odds_difference(frame, method),
            eo_ratio: equalized_odds_ratio(frame, method),
        }
    }
}

/// Everything a fairness report shows for one campaign or recommendation slot.
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessReport {
    /// What was audited (`campaign spring_sale by age_band`).
    pub title: String,
    /// The per-group rates.
    pub frame: MetricFrame,
    /// Comparisons between groups.
    pub between_groups: Disparities,
    /// Comparisons of each group with the overall rates.
    pub to_overall: Disparities,
    /// [`four_fifths_flag`].
    pub four_fifths_flag: Option<bool>,
}

/// Computes a report from a tally.
pub fn fairness_report(title: &str, tally: &GroupTally, k_min: u64) -> FairnessReport {
    let frame = MetricFrame::new(tally, k_min);
    FairnessReport {
        title: title.to_owned(),
        between_groups: Disparities::compute(&frame, Method::BetweenGroups),
        to_overall: Disparities::compute(&frame, Method::ToOverall),
        four_fifths_flag: four_fifths_flag(&frame),
        frame,
    }
}

/// Default threshold for [`parity_alert`].
pub const PARITY_ALERT_THRESHOLD_DEFAULT: f64 = FOUR_FIFTHS_THRESHOLD;

/// A campaign or slot whose selection rates diverge enough that a person should look.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The report's title.
    pub title: String,
    /// The demographic parity ratio between groups.
    pub ratio: f64,
    /// The threshold it fell below.
    pub threshold: f64,
    /// The group with the lowest selection rate, and that rate.
    pub lowest: (String, f64),
    /// The group with the highest selection rate, and that rate.
    pub highest: (String, f64),
}

/// Flags a report whose demographic parity ratio (between groups) is below `threshold`
/// (policy default [`PARITY_ALERT_THRESHOLD_DEFAULT`]). No alert when the ratio is undefined:
/// too few reported groups is a coverage problem, reported as such elsewhere, not a disparity.
pub fn parity_alert(report: &FairnessReport, threshold: f64) -> Option<Alert> {
    let ratio = report.between_groups.dp_ratio?;
    if ratio >= threshold {
        return None;
    }
    let ((lo_label, lo), (hi_label, hi)) = report.frame.selection_extremes()?;
    Some(Alert {
        title: report.title.clone(),
        ratio,
        threshold,
        lowest: (lo_label.to_owned(), lo),
        highest: (hi_label.to_owned(), hi),
    })
}
