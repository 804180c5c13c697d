//! Experiments as policy-versioned objects, and their validation.
//!
//! An [`Experiment`] is plain data (serde), so the store keeps it as one row and the API
//! serves it as is. [`validate`] is the gate at creation and at every change: it returns every
//! problem at once, each with a stable code ([`DefinitionError::code`]) and a message that says
//! what to change.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Buckets per experiment: allocations and the holdout share are in basis points of these.
pub const BUCKETS: u32 = 10_000;

/// The arm name reserved for the global holdout; no variant may take it.
pub const HOLDOUT_ARM: &str = "holdout";

/// The most variants one experiment may have: each arm thins the others' samples.
pub const VARIANTS_LEN_MAX: usize = 8;

/// The most guardrail metrics one experiment may have.
pub const GUARDRAILS_LEN_MAX: usize = 8;

/// The longest metric window (and pre-period): 90 days.
pub const WINDOW_MS_MAX: i64 = 90 * 24 * 60 * 60 * 1000;

/// The most items a variant may ask a slot for.
pub const N_ITEMS_MAX: u32 = 100;

/// The longest name, variant name, salt, layer or campaign message, in bytes.
pub const TEXT_BYTES_MAX: usize = 200;

/// What an experiment varies: a recommendation slot or a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    /// A recommendation slot on the site (for example `home` or `product-page`).
    Slot(String),
    /// A campaign, by its id.
    Campaign(String),
}

/// What a variant changes. Every field is optional: an unset field keeps the slot's or
/// campaign's own setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantSettings {
    /// The recommendation model (`ease`, `knn`, `popularity`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Re-ranking breadth in `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversity: Option<f64>,
    /// Share of the list given to exploration, in `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploration_share: Option<f64>,
    /// Number of items shown, `1..=N_ITEMS_MAX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_items: Option<u32>,
    /// The campaign message shown to this variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_message: Option<String>,
}

impl VariantSettings {
    /// The recommendation parameters a slot experiment may set.
    pub const SLOT_PARAMETERS: [&'static str; 4] =
        ["model", "diversity", "exploration_share", "n_items"];
    /// The campaign parameters a campaign experiment may set.
    pub const CAMPAIGN_PARAMETERS: [&'static str; 1] = ["campaign_message"];

    /// The names of the parameters this variant sets.
    pub fn parameters(&self) -> Vec<&'static str> {
        let set = [
            ("model", self.model.is_some()),
            ("diversity", self.diversity.is_some()),
            ("exploration_share", self.exploration_share.is_some()),
            ("n_items", self.n_items.is_some()),
            ("campaign_message", self.campaign_message.is_some()),
        ];
        set.into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect()
    }

    /// These settings with every parameter `other` sets and these do not: how the variants of
    /// experiments in different layers of one slot compose. Layers never set the same
    /// parameter (refused at creation), so the order only matters for definitions stored
    /// before that rule; there `self` wins.
    pub fn compose(self, other: &VariantSettings) -> VariantSettings {
        VariantSettings {
            model: self.model.or_else(|| other.model.clone()),
            diversity: self.diversity.or(other.diversity),
            exploration_share: self.exploration_share.or(other.exploration_share),
            n_items: self.n_items.or(other.n_items),
            campaign_message: self
                .campaign_message
                .or_else(|| other.campaign_message.clone()),
        }
    }
}

/// One arm of an experiment. The first variant is the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Unique within the experiment; shown in reports.
    pub name: String,
    /// Share of the people not held out, in basis points; all variants sum to [`BUCKETS`].
    pub allocation_bp: u32,
    /// What the variant changes.
    #[serde(default)]
    pub settings: VariantSettings,
}

/// What a metric measures per exposed person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// 1 if the person had at least one event of the type in the window, else 0.
    Conversion,
    /// The sum of the events' revenue in the window (revenue per exposed person).
    Revenue,
    /// Events of the type on items of a list shown to the person by this experiment,
    /// attributed by the list id.
    RecommendedClicks,
}

impl MetricKind {
    /// The name used in reports and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Conversion => "conversion",
            MetricKind::Revenue => "revenue",
            MetricKind::RecommendedClicks => "recommended_clicks",
        }
    }
}

/// A metric over one event type, measured in a window after the person's first exposure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    /// Unique within the experiment.
    pub name: String,
    /// What is measured.
    pub kind: MetricKind,
    /// The event type counted (`Order Completed`, `Product Added`, `Product Clicked`, …); it
    /// must be declared by the policy.
    pub event_type: String,
    /// The window after first exposure, in milliseconds.
    pub window_ms: i64,
    /// The pre-period before first exposure whose value is the CUPED covariate, in
    /// milliseconds; 0 turns the adjustment off.
    #[serde(default)]
    pub pre_window_ms: i64,
    /// Makes the metric a ratio (revenue per recommended click, say): the sum of the measure
    /// above over everyone in an arm divided by the sum of this one, in the same window,
    /// compared with the delta method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Denominator>,
}

/// The denominator of a ratio metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denominator {
    /// What is measured.
    pub kind: MetricKind,
    /// The event type counted; it must be declared by the policy.
    pub event_type: String,
}

/// Which way a guardrail metric must not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Harm is a decrease (conversion, revenue).
    HigherIsBetter,
    /// Harm is an increase (complaints, unsubscribes).
    LowerIsBetter,
}

/// A metric that must not get worse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardrail {
    /// The metric watched.
    pub metric: Metric,
    /// Which way is harm.
    pub direction: Direction,
}

/// An experiment, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Stable id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The policy version the experiment was defined under: its metrics' event types and the
    /// purpose are checked against that policy.
    pub policy_version: String,
    /// The purpose every arm needs (personalization for a slot, marketing for a campaign):
    /// only people whose consent covers it are enrolled.
    pub purpose: String,
    /// The slot or campaign varied.
    pub target: Target,
    /// Experiments in different layers may share a target and a time range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The assignment salt; changing it reshuffles everyone, so it is fixed at creation.
    pub salt: String,
    /// The arms; the first is the control.
    pub variants: Vec<Variant>,
    /// Share of people in the global holdout (no personalization at all), in basis points of
    /// everyone. The holdout has one salt for all experiments, so experiments with the same
    /// share hold out the same people, and a smaller share holds out a subset of a larger.
    #[serde(default)]
    pub holdout_bp: u32,
    /// Start, Unix milliseconds (inclusive).
    pub start_ms: i64,
    /// Stop, Unix milliseconds (exclusive); `None` runs until stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<i64>,
    /// The metric the experiment is decided on.
    pub primary: Metric,
    /// Metrics that must not get worse.
    #[serde(default)]
    pub guardrails: Vec<Guardrail>,
}

impl Experiment {
    /// Whether the experiment assigns people at `now_ms`.
    pub fn is_running(&self, now_ms: i64) -> bool {
        self.start_ms <= now_ms && self.stop_ms.is_none_or(|stop| now_ms < stop)
    }

    /// The control variant (the first), if any.
    pub fn control(&self) -> Option<&Variant> {
        self.variants.first()
    }

    /// Every metric, the primary first.
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        std::iter::once(&self.primary).chain(self.guardrails.iter().map(|g| &g.metric))
    }

    /// Whether the two experiments vary the same target at some common time.
    pub fn shares_target_and_time(&self, other: &Experiment) -> bool {
        let ends_after = |stop: Option<i64>, start: i64| stop.is_none_or(|stop| stop > start);
        self.target == other.target
            && ends_after(self.stop_ms, other.start_ms)
            && ends_after(other.stop_ms, self.start_ms)
    }

    /// Whether the two experiments compete for the same people on the same target at some
    /// time: same target, overlapping time ranges, and the same layer or either without one
    /// (an experiment without a layer takes the whole target).
    pub fn overlaps(&self, other: &Experiment) -> bool {
        let same_layer = match (&self.layer, &other.layer) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same_layer && self.shares_target_and_time(other)
    }

    /// The parameters any variant sets, in a fixed order.
    pub fn parameters(&self) -> BTreeSet<&'static str> {
        self.variants
            .iter()
            .flat_map(|v| v.settings.parameters())
            .collect()
    }

    /// A parameter both experiments set while they run in different layers of one target at
    /// the same time: their variants would not compose.
    pub fn parameter_clash(&self, other: &Experiment) -> Option<&'static str> {
        if self.overlaps(other) || !self.shares_target_and_time(other) {
            return None;
        }
        let theirs = other.parameters();
        self.parameters().into_iter().find(|p| theirs.contains(p))
    }
}

/// A problem with an experiment definition.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DefinitionError {
    /// A required text field is empty or too long.
    #[error("`{field}` must be 1 to {TEXT_BYTES_MAX} bytes long")]
    Text {
        /// The field's name.
        field: &'static str,
    },
    /// No variants.
    #[error("an experiment needs at least one variant; add a control variant")]
    VariantsEmpty,
    /// Too many variants.
    #[error("{n} variants is more than the {VARIANTS_LEN_MAX} allowed; remove some")]
    VariantsTooMany {
        /// How many were given.
        n: usize,
    },
    /// Two variants share a name.
    #[error("variant name `{name}` is used twice; give every variant its own name")]
    VariantDuplicate {
        /// The repeated name.
        name: String,
    },
    /// A variant takes the holdout's name.
    #[error("variant name `{HOLDOUT_ARM}` is reserved for the global holdout; rename the variant")]
    VariantNameReserved,
    /// A variant setting is out of range.
    #[error("variant `{variant}`: `{setting}` must be {expected}")]
    VariantSetting {
        /// The variant.
        variant: String,
        /// The setting.
        setting: &'static str,
        /// The accepted range.
        expected: &'static str,
    },
    /// A single variant with no holdout compares nothing.
    #[error("one variant without a holdout compares nothing; add a variant or a holdout share")]
    NothingToCompare,
    /// Allocations do not sum to 100 %.
    #[error(
        "variant allocations sum to {sum_bp} basis points ({}%); they must sum to {BUCKETS} (100%)",
        *sum_bp as f64 / 100.0
    )]
    AllocationSum {
        /// The sum given.
        sum_bp: u64,
    },
    /// A variant gets no traffic.
    #[error("variant `{variant}` has a zero allocation; give it a share or remove it")]
    AllocationZero {
        /// The variant.
        variant: String,
    },
    /// The holdout share is not below 100 %.
    #[error("the holdout share is {holdout_bp} basis points; it must be below {BUCKETS} (100%)")]
    HoldoutShare {
        /// The share given.
        holdout_bp: u32,
    },
    /// Stop is not after start.
    #[error("the stop time must be after the start time")]
    TimeRange,
    /// A metric window is out of range.
    #[error(
        "metric `{metric}`: the window must be 1 ms to 90 days and the pre-period 0 to 90 days"
    )]
    MetricWindow {
        /// The metric.
        metric: String,
    },
    /// A metric counts an event type the policy does not declare.
    #[error(
        "metric `{metric}` counts event type `{event_type}`, which policy version \
         {policy_version} does not declare; declare it in the policy's event types or pick a \
         declared one"
    )]
    MetricEventUndeclared {
        /// The metric.
        metric: String,
        /// The event type.
        event_type: String,
        /// The policy version checked against.
        policy_version: String,
    },
    /// A ratio metric with a pre-period: CUPED is not defined for ratios here.
    #[error(
        "metric `{metric}` is a ratio, which has no pre-period adjustment; set its \
         `pre_window_ms` to 0"
    )]
    MetricRatioPrePeriod {
        /// The metric.
        metric: String,
    },
    /// Two metrics share a name.
    #[error("metric name `{name}` is used twice; give every metric its own name")]
    MetricDuplicate {
        /// The repeated name.
        name: String,
    },
    /// Too many guardrails.
    #[error("{n} guardrails is more than the {GUARDRAILS_LEN_MAX} allowed; remove some")]
    GuardrailsTooMany {
        /// How many were given.
        n: usize,
    },
    /// Another experiment already varies the same target for the same people at the same time.
    #[error(
        "experiment `{other}` already runs on this target in the same layer during this time; \
         put one of them in another layer or make their time ranges disjoint"
    )]
    Overlap {
        /// The other experiment's id.
        other: String,
    },
    /// Two experiments in different layers of one target set the same parameter.
    #[error(
        "experiment `{other}` runs on this target in another layer during this time and also \
         sets `{parameter}`; layers compose only when each sets its own parameters, so drop \
         `{parameter}` from one of them or make their time ranges disjoint"
    )]
    LayerParameter {
        /// The other experiment's id.
        other: String,
        /// The parameter both set.
        parameter: &'static str,
    },
    /// A variant sets a parameter its target does not have.
    #[error(
        "variant `{variant}` sets `{parameter}`, which a {target} experiment cannot vary; it \
         may set {allowed}"
    )]
    ParameterForTarget {
        /// The variant.
        variant: String,
        /// The parameter.
        parameter: &'static str,
        /// `slot` or `campaign`.
        target: &'static str,
        /// The parameters that target allows.
        allowed: &'static str,
    },
}

impl DefinitionError {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            DefinitionError::Text { .. } => "experiment_text",
            DefinitionError::VariantsEmpty => "experiment_variants_empty",
            DefinitionError::VariantsTooMany { .. } => "experiment_variants_too_many",
            DefinitionError::VariantDuplicate { .. } => "experiment_variant_duplicate",
            DefinitionError::VariantNameReserved => "experiment_variant_name_reserved",
            DefinitionError::VariantSetting { .. } => "experiment_variant_setting",
            DefinitionError::NothingToCompare => "experiment_nothing_to_compare",
            DefinitionError::AllocationSum { .. } => "experiment_allocation_sum",
            DefinitionError::AllocationZero { .. } => "experiment_allocation_zero",
            DefinitionError::HoldoutShare { .. } => "experiment_holdout_share",
            DefinitionError::TimeRange => "experiment_time_range",
            DefinitionError::MetricWindow { .. } => "experiment_metric_window",
            DefinitionError::MetricEventUndeclared { .. } => "experiment_metric_event_undeclared",
            DefinitionError::MetricRatioPrePeriod { .. } => "experiment_metric_ratio_pre_period",
            DefinitionError::MetricDuplicate { .. } => "experiment_metric_duplicate",
            DefinitionError::GuardrailsTooMany { .. } => "experiment_guardrails_too_many",
            DefinitionError::Overlap { .. } => "experiment_overlap",
            DefinitionError::LayerParameter { .. } => "experiment_layer_parameter",
            DefinitionError::ParameterForTarget { .. } => "experiment_parameter_for_target",
        }
    }
}

/// What a definition is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The event type names the policy version declares.
    pub declared_event_types: &'a BTreeSet<String>,
    /// The other experiments (one with the same id, the experiment's own earlier version, is
    /// skipped).
    pub existing: &'a [Experiment],
}

/// Checks a definition; returns every problem found, in field order.
pub fn validate(experiment: &Experiment, context: Context<'_>) -> Result<(), Vec<DefinitionError>> {
    let mut errors = Vec::new();
    let text_ok = |s: &str| !s.trim().is_empty() && s.len() <= TEXT_BYTES_MAX;
    let texts: [(&'static str, &str); 5] = [
        ("id", &experiment.id),
        ("name", &experiment.name),
        ("policy_version", &experiment.policy_version),
        ("salt", &experiment.salt),
        ("purpose", &experiment.purpose),
    ];
    for (field, value) in texts {
        if !text_ok(value) {
            errors.push(DefinitionError::Text { field });
        }
    }
    let target_id = match &experiment.target {
        Target::Slot(id) | Target::Campaign(id) => id,
    };
    if !text_ok(target_id) {
        errors.push(DefinitionError::Text { field: "target" });
    }
    if experiment
        .layer
        .as_deref()
        .is_some_and(|layer| !text_ok(layer))
    {
        errors.push(DefinitionError::Text { field: "layer" });
    }
    check_variants(experiment, &mut errors);
    if experiment.holdout_bp >= BUCKETS {
        errors.push(DefinitionError::HoldoutShare {
            holdout_bp: experiment.holdout_bp,
        });
    }
    if experiment
        .stop_ms
        .is_some_and(|stop| stop <= experiment.start_ms)
    {
        errors.push(DefinitionError::TimeRange);
    }
    check_metrics(experiment, context.declared_event_types, &mut errors);
    for other in context.existing {
        if other.id == experiment.id {
            continue;
        }
        if experiment.overlaps(other) {
            errors.push(DefinitionError::Overlap {
                other: other.id.clone(),
            });
        } else if let Some(parameter) = experiment.parameter_clash(other) {
            errors.push(DefinitionError::LayerParameter {
                other: other.id.clone(),
                parameter,
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_variants(experiment: &Experiment, errors: &mut Vec<DefinitionError>) {
    let variants = &experiment.variants;
    if variants.is_empty() {
        errors.push(DefinitionError::VariantsEmpty);
        return;
    }
    if variants.len() > VARIANTS_LEN_MAX {
        errors.push(DefinitionError::VariantsTooMany { n: variants.len() });
    }
    if variants.len() == 1 && experiment.holdout_bp == 0 {
        errors.push(DefinitionError::NothingToCompare);
    }
    let mut seen = BTreeSet::new();
    for variant in variants {
        if variant.name.trim().is_empty() || variant.name.len() > TEXT_BYTES_MAX {
            errors.push(DefinitionError::Text {
                field: "variant name",
            });
        } else if variant.name == HOLDOUT_ARM {
            errors.push(DefinitionError::VariantNameReserved);
        } else if !seen.insert(variant.name.as_str()) {
            errors.push(DefinitionError::VariantDuplicate {
                name: variant.name.clone(),
            });
        }
        if variant.allocation_bp == 0 {
            errors.push(DefinitionError::AllocationZero {
                variant: variant.name.clone(),
            });
        }
        check_settings(variant, errors);
        let (target, allowed, names): (_, _, &[&str]) = match experiment.target {
            Target::Slot(_) => (
                "slot",
                "model, diversity, exploration_share and n_items",
                &VariantSettings::SLOT_PARAMETERS,
            ),
            Target::Campaign(_) => (
                "campaign",
                "campaign_message",
                &VariantSettings::CAMPAIGN_PARAMETERS,
            ),
        };
        for parameter in variant.settings.parameters() {
            if !names.contains(&parameter) {
                errors.push(DefinitionError::ParameterForTarget {
                    variant: variant.name.clone(),
                    parameter,
                    target,
                    allowed,
                });
            }
        }
    }
    let sum_bp: u64 = variants.iter().map(|v| u64::from(v.allocation_bp)).sum();
    if sum_bp != u64::from(BUCKETS) {
        errors.push(DefinitionError::AllocationSum { sum_bp });
    }
}

fn check_settings(variant: &Variant, errors: &mut Vec<DefinitionError>) {
    let settings = &variant.settings;
    let mut bad = |setting: &'static str, expected: &'static str| {
        errors.push(DefinitionError::VariantSetting {
            variant: variant.name.clone(),
            setting,
            expected,
        })
    };
    let share_ok = |x: Option<f64>| x.is_none_or(|x| (0.0..=1.0).contains(&x));
    if !share_ok(settings.diversity) {
        bad("diversity", "a number from 0 to 1");
    }
    if !share_ok(settings.exploration_share) {
        bad("exploration_share", "a number from 0 to 1");
    }
    if settings.n_items.is_some_and(|n| n == 0 || n > N_ITEMS_MAX) {
        bad("n_items", "an integer from 1 to 100");
    }
    let text_ok = |s: &Option<String>| {
        s.as_deref()
            .is_none_or(|s| !s.trim().is_empty() && s.len() <= TEXT_BYTES_MAX)
    };
    if !text_ok(&settings.model) {
        bad("model", "a model name of 1 to 200 bytes");
    }
    if !text_ok(&settings.campaign_message) {
        bad("campaign_message", "a message of 1 to 200 bytes");
    }
}

fn check_metrics(
    experiment: &Experiment,
    declared_event_types: &BTreeSet<String>,
    errors: &mut Vec<DefinitionError>,
) {
    if experiment.guardrails.len() > GUARDRAILS_LEN_MAX {
        errors.push(DefinitionError::GuardrailsTooMany {
            n: experiment.guardrails.len(),
        });
    }
    let mut seen = BTreeSet::new();
    for metric in experiment.metrics() {
        if !seen.insert(metric.name.as_str()) {
            errors.push(DefinitionError::MetricDuplicate {
                name: metric.name.clone(),
            });
        }
        if metric.name.trim().is_empty() || metric.name.len() > TEXT_BYTES_MAX {
            errors.push(DefinitionError::Text {
                field: "metric name",
            });
        }
        let window_ok = (1..=WINDOW_MS_MAX).contains(&metric.window_ms)
            && (0..=WINDOW_MS_MAX).contains(&metric.pre_window_ms);
        if !window_ok {
            errors.push(DefinitionError::MetricWindow {
                metric: metric.name.clone(),
            });
        }
        if metric.per.is_some() && metric.pre_window_ms != 0 {
            errors.push(DefinitionError::MetricRatioPrePeriod {
                metric: metric.name.clone(),
            });
        }
        let event_types =
            std::iter::once(&metric.event_type).chain(metric.per.iter().map(|d| &d.event_type));
        for event_type in event_types {
            if !declared_event_types.contains(event_type) {
                errors.push(DefinitionError::MetricEventUndeclared {
                    metric: metric.name.clone(),
                    event_type: event_type.clone(),
                    policy_version: experiment.policy_version.clone(),
                });
            }
        }
    }
}
