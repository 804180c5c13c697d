//! The experiments core's tests: one binary, a module per area.

mod assign;
mod definition;
mod outcome;
mod report;
mod simulate;
mod stats;

use std::collections::BTreeSet;

use candor_experiments::{
    Direction, Experiment, Guardrail, Metric, MetricKind, Target, Variant, VariantSettings,
};

/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The sample experiment's start.
pub const START_MS: i64 = 1_780_000_000_000;

/// A metric with a 7-day window and no pre-period.
pub fn metric(name: &str, kind: MetricKind, event_type: &str) -> Metric {
    Metric {
        name: name.to_owned(),
        kind,
        event_type: event_type.to_owned(),
        window_ms: 7 * DAY_MS,
        pre_window_ms: 0,
        per: None,
    }
}

/// A variant with default settings.
pub fn variant(name: &str, allocation_bp: u32) -> Variant {
    Variant {
        name: name.to_owned(),
        allocation_bp,
        settings: VariantSettings::default(),
    }
}

/// A two-arm test of a diverse home slot against the current one, with a 10 % holdout.
pub fn experiment() -> Experiment {
    Experiment {
        id: "exp-home-diversity".to_owned(),
        name: "Home slot: more diversity".to_owned(),
        policy_version: "7".to_owned(),
        purpose: "personalization".to_owned(),
        target: Target::Slot("home".to_owned()),
        layer: None,
        salt: "exp-home-diversity-salt".to_owned(),
        variants: vec![
            variant("control", 5000),
            Variant {
                settings: VariantSettings {
                    diversity: Some(0.8),
                    n_items: Some(12),
                    ..VariantSettings::default()
                },
                ..variant("diverse", 5000)
            },
        ],
        holdout_bp: 1000,
        start_ms: START_MS,
        stop_ms: Some(START_MS + 30 * DAY_MS),
        primary: metric("orders", MetricKind::Conversion, "Order Completed"),
        guardrails: vec![Guardrail {
            metric: metric("revenue", MetricKind::Revenue, "Order Completed"),
            direction: Direction::HigherIsBetter,
        }],
    }
}

/// The event types the sample policy declares.
pub fn declared() -> BTreeSet<String> {
    ["Order Completed", "Product Added", "Product Clicked"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}
