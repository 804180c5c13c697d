//! Per-person outcomes from exposures and events.
//!
//! A person enters the analysis at their first exposure and is measured over the metric's
//! window after it; the same metric over the pre-period before it is the CUPED covariate.
//! A person contributes nothing while their consent to the experiment's purpose is withdrawn:
//! exposures and events inside a withdrawn period ([`Withdrawn`]) are ignored. A grant given
//! again ends the period, and what follows it counts again, so someone withdrawn before their
//! first exposure enters the analysis at their first exposure after granting again (serving
//! enrolls nobody while withdrawn). Clicks count only on lists this experiment showed the
//! person, matched by list id.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::definition::{Metric, MetricKind};

/// A variant (or the holdout's default) actually shown to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// The subject key (hex), never a raw external id.
    pub subject: String,
    /// The arm's name.
    pub arm: String,
    /// The list shown, if the exposure was a recommendation list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// When, Unix milliseconds.
    pub at_ms: i64,
}

/// A behaviour event, as far as metrics need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The subject key (hex).
    pub subject: String,
    /// The event type (`Order Completed`, …).
    pub event_type: String,
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// The item, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The recommendation list the item was clicked in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// Revenue, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<f64>,
}

/// One person's value of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PersonOutcome {
    /// The metric in the window after first exposure.
    pub value: f64,
    /// The metric in the pre-period before first exposure (0 without a pre-period).
    pub covariate: f64,
    /// A ratio metric's denominator in the window after first exposure (0 for other metrics).
    #[serde(default)]
    pub denominator: f64,
}

/// Outcomes of one metric, by arm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricOutcomes {
    /// Per-person outcomes by arm name, in subject order.
    pub by_arm: BTreeMap<String, Vec<PersonOutcome>>,
    /// People shown more than one arm (an assignment bug or a shared device): left out.
    pub n_mixed: u64,
    /// People whose window has not closed by `now`: left out until it has.
    pub n_window_open: u64,
}

/// A time during which a person's consent to the experiment's purpose was withdrawn (or
/// refused): from `from_ms` (inclusive) until `until_ms` (exclusive; `None` while it lasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    /// The withdrawal, Unix milliseconds.
    pub from_ms: i64,
    /// The next grant, Unix milliseconds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

impl Withdrawn {
    /// Whether `at_ms` falls inside the period.
    pub fn covers(&self, at_ms: i64) -> bool {
        self.from_ms <= at_ms && self.until_ms.is_none_or(|until| at_ms < until)
    }
}

/// The withdrawn periods of one person from their decisions about the experiment's purpose,
/// as `(at_ms, allowed)` in any order: each refusal or withdrawal opens a period (unless one
/// is open), each grant closes the open one.
pub fn withdrawn_periods(decisions: &[(i64, bool)]) -> Vec<Withdrawn> {
    let mut sorted = decisions.to_vec();
    // At the same instant the refusal wins: the protective reading.
    sorted.sort_by_key(|&(at, allowed)| (at, allowed));
    let mut periods = Vec::new();
    let mut open: Option<i64> = None;
    for (at_ms, allowed) in sorted {
        match (open, allowed) {
            (None, false) => open = Some(at_ms),
            (Some(from_ms), true) => {
                open = None;
                if from_ms < at_ms {
                    periods.push(Withdrawn {
                        from_ms,
                        until_ms: Some(at_ms),
                    });
                }
            }
            _ => {}
        }
    }
    if let Some(from_ms) = open {
        periods.push(Withdrawn {
            from_ms,
            until_ms: None,
        });
    }
    periods
}

fn withdrawn_at(periods: Option<&Vec<Withdrawn>>, at_ms: i64) -> bool {
    periods.is_some_and(|p| p.iter().any(|w| w.covers(at_ms)))
}

/// Everything known about the people in an experiment, for outcomes.
#[derive(Debug, Clone, Copy)]
pub struct Observations<'a> {
    /// Exposures of this experiment.
    pub exposures: &'a [Exposure],
    /// Events of the exposed people (others are ignored).
    pub events: &'a [Event],
    /// When each person's consent to the experiment's purpose was withdrawn, by subject key
    /// ([`withdrawn_periods`]).
    pub withdrawals: &'a BTreeMap<String, Vec<Withdrawn>>,
}

/// Computes each exposed person's outcome of `metric` (and, for a ratio metric, its
/// denominator), counting only windows closed by `now_ms`.
pub fn outcomes(metric: &Metric, observations: Observations<'_>, now_ms: i64) -> MetricOutcomes {
    let mut exposures_by_subject: BTreeMap<&str, Vec<&Exposure>> = BTreeMap::new();
    for exposure in observations.exposures {
        if !withdrawn_at(
            observations.withdrawals.get(&exposure.subject),
            exposure.at_ms,
        ) {
            exposures_by_subject
                .entry(&exposure.subject)
                .or_default()
                .push(exposure);
        }
    }
    let mut events_by_subject: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    let counted = |event_type: &str| {
        event_type == metric.event_type
            || metric
                .per
                .as_ref()
                .is_some_and(|d| d.event_type == event_type)
    };
    for event in observations.events {
        if counted(&event.event_type)
            && exposures_by_subject.contains_key(event.subject.as_str())
            && !withdrawn_at(observations.withdrawals.get(&event.subject), event.at_ms)
        {
            events_by_subject
                .entry(&event.subject)
                .or_default()
                .push(event);
        }
    }
    let mut out = MetricOutcomes::default();
    for (subject, exposures) in exposures_by_subject {
        let arms: BTreeSet<&str> = exposures.iter().map(|e| e.arm.as_str()).collect();
        let Some(&arm) = arms.first() else { continue };
        if arms.len() > 1 {
            out.n_mixed += 1;
            continue;
        }
        let first_ms = exposures.iter().map(|e| e.at_ms).min().unwrap_or(i64::MAX);
        let window_end_ms = first_ms.saturating_add(metric.window_ms);
        // A withdrawal that lasts past the window's end closes the window when it began:
        // nothing after it can count, so there is nothing to wait for.
        let end_ms = observations
            .withdrawals
            .get(subject)
            .into_iter()
            .flatten()
            .find(|w| w.covers(window_end_ms))
            .map_or(window_end_ms, |w| {
                w.from_ms.max(first_ms).min(window_end_ms)
            });
        if end_ms > now_ms {
            out.n_window_open += 1;
            continue;
        }
        let events = events_by_subject.remove(subject).unwrap_or_default();
        let outcome = person_outcome(metric, &exposures, &events, first_ms, end_ms);
        out.by_arm.entry(arm.to_owned()).or_default().push(outcome);
    }
    out
}

fn person_outcome(
    metric: &Metric,
    exposures: &[&Exposure],
    events: &[&Event],
    first_ms: i64,
    end_ms: i64,
) -> PersonOutcome {
    // When each list was first shown: a click counts only on a list already shown.
    let mut lists: BTreeMap<&str, i64> = BTreeMap::new();
    for exposure in exposures {
        if let Some(list) = &exposure.list_id {
            let at = lists.entry(list).or_insert(exposure.at_ms);
            *at = (*at).min(exposure.at_ms);
        }
    }
    let lists = &lists;
    let in_window = |kind: MetricKind, event_type: &str| {
        let events = events
            .iter()
            .filter(move |e| e.event_type == event_type && (first_ms..end_ms).contains(&e.at_ms))
            .filter(move |e| match kind {
                MetricKind::RecommendedClicks => e
                    .list_id
                    .as_deref()
                    .and_then(|list| lists.get(list))
                    .is_some_and(|&shown_ms| shown_ms <= e.at_ms),
                MetricKind::Conversion | MetricKind::Revenue => true,
            });
        aggregate(kind, events)
    };
    // Before exposure no list of this experiment existed, so the pre-period counts clicks on
    // any recommendation list: the person's habit the covariate stands for.
    let pre_start_ms = first_ms.saturating_sub(metric.pre_window_ms);
    let in_pre = events
        .iter()
        .filter(|e| e.event_type == metric.event_type)
        .filter(|e| metric.pre_window_ms > 0 && (pre_start_ms..first_ms).contains(&e.at_ms))
        .filter(|e| metric.kind != MetricKind::RecommendedClicks || e.list_id.is_some());
    PersonOutcome {
        value: in_window(metric.kind, &metric.event_type),
        covariate: aggregate(metric.kind, in_pre),
        denominator: metric
            .per
            .as_ref()
            .map_or(0.0, |d| in_window(d.kind, &d.event_type)),
    }
}

fn aggregate<'a>(kind: MetricKind, events: impl Iterator<Item = &'a &'a Event>) -> f64 {
    match kind {
        MetricKind::Conversion => {
            let mut events = events;
            if events.next().is_some() { 1.0 } else { 0.0 }
        }
        MetricKind::Revenue => events.filter_map(|e| e.revenue).sum(),
        MetricKind::RecommendedClicks => events.count() as f64,
    }
}
