use std::slice::from_ref;

use candor_experiments::{
    Context, DefinitionError, Denominator, Experiment, MetricKind, Target, VariantSettings,
    validate,
};

use crate::{DAY_MS, START_MS, declared, experiment, variant};

fn errors(experiment: &Experiment, existing: &[Experiment]) -> Vec<DefinitionError> {
    let declared = declared();
    let context = Context {
        declared_event_types: &declared,
        existing,
    };
    validate(experiment, context).err().unwrap_or_default()
}

fn codes(experiment: &Experiment, existing: &[Experiment]) -> Vec<&'static str> {
    errors(experiment, existing)
        .iter()
        .map(DefinitionError::code)
        .collect()
}

#[test]
fn a_sound_definition_passes_and_round_trips_through_json() {
    let e = experiment();
    assert_eq!(codes(&e, &[]), Vec::<&str>::new());
    let stored = serde_json::to_string(&e).unwrap();
    let back: Experiment = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, e);
}

#[test]
fn allocations_must_sum_to_100_percent() {
    let mut e = experiment();
    e.variants[1].allocation_bp = 4000;
    assert_eq!(codes(&e, &[]), ["experiment_allocation_sum"]);
    let errors = errors(&e, &[]);
    assert_eq!(
        errors[0].to_string(),
        "variant allocations sum to 9000 basis points (90%); they must sum to 10000 (100%)"
    );
}

#[test]
fn empty_duplicate_reserved_and_zero_variants_are_refused() {
    let mut e = experiment();
    e.variants.clear();
    assert_eq!(codes(&e, &[]), ["experiment_variants_empty"]);

    let mut e = experiment();
    e.variants[1].name = "control".to_owned();
    assert_eq!(codes(&e, &[]), ["experiment_variant_duplicate"]);

    let mut e = experiment();
    e.variants[1].name = "holdout".to_owned();
    assert_eq!(codes(&e, &[]), ["experiment_variant_name_reserved"]);

    let mut e = experiment();
    e.variants.push(variant("empty", 0));
    assert_eq!(codes(&e, &[]), ["experiment_allocation_zero"]);

    let mut e = experiment();
    e.variants.truncate(1);
    e.variants[0].allocation_bp = 10_000;
    e.holdout_bp = 0;
    assert_eq!(codes(&e, &[]), ["experiment_nothing_to_compare"]);
    e.holdout_bp = 500;
    assert_eq!(
        codes(&e, &[]),
        Vec::<&str>::new(),
        "a variant against the holdout is fine"
    );
}

#[test]
fn variant_settings_out_of_range_are_refused() {
    let mut e = experiment();
    e.variants[1].settings.diversity = Some(1.5);
    e.variants[1].settings.exploration_share = Some(-0.1);
    e.variants[1].settings.n_items = Some(0);
    e.variants[1].settings.campaign_message = Some(String::new());
    assert_eq!(
        codes(&e, &[]),
        [
            "experiment_variant_setting",
            "experiment_variant_setting",
            "experiment_variant_setting",
            "experiment_variant_setting",
            "experiment_parameter_for_target"
        ],
        "each bad setting is named, and a slot has no campaign message"
    );
}

#[test]
fn a_metric_over_an_undeclared_event_type_is_refused_with_what_to_do() {
    let mut e = experiment();
    e.guardrails[0].metric.event_type = "Checkout Abandoned".to_owned();
    let errors = errors(&e, &[]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code(), "experiment_metric_event_undeclared");
    assert_eq!(
        errors[0].to_string(),
        "metric `revenue` counts event type `Checkout Abandoned`, which policy version 7 does \
         not declare; declare it in the policy's event types or pick a declared one"
    );
}

#[test]
fn ratio_metrics_need_declared_event_types_and_no_pre_period() {
    let mut e = experiment();
    e.guardrails[0].metric.per = Some(Denominator {
        kind: MetricKind::RecommendedClicks,
        event_type: "Product Clicked".to_owned(),
    });
    assert_eq!(codes(&e, &[]), Vec::<&str>::new());
    e.guardrails[0].metric.pre_window_ms = DAY_MS;
    e.guardrails[0].metric.per.as_mut().unwrap().event_type = "Banner Clicked".to_owned();
    assert_eq!(
        codes(&e, &[]),
        [
            "experiment_metric_ratio_pre_period",
            "experiment_metric_event_undeclared"
        ]
    );
}

#[test]
fn bad_windows_times_and_holdouts_are_refused() {
    let mut e = experiment();
    e.primary.window_ms = 0;
    e.guardrails[0].metric.pre_window_ms = -1;
    assert_eq!(codes(&e, &[]), ["experiment_metric_window"; 2]);

    let mut e = experiment();
    e.primary.window_ms = 91 * DAY_MS;
    assert_eq!(codes(&e, &[]), ["experiment_metric_window"]);

    let mut e = experiment();
    e.stop_ms = Some(e.start_ms);
    assert_eq!(codes(&e, &[]), ["experiment_time_range"]);

    let mut e = experiment();
    e.holdout_bp = 10_000;
    assert_eq!(codes(&e, &[]), ["experiment_holdout_share"]);

    let mut e = experiment();
    e.guardrails[0].metric.name = "orders".to_owned();
    assert_eq!(codes(&e, &[]), ["experiment_metric_duplicate"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut e = experiment();
    e.name = " ".to_owned();
    e.variants[0].allocation_bp = 100;
    e.primary.event_type = "Nope".to_owned();
    assert_eq!(
        codes(&e, &[]),
        [
            "experiment_text",
            "experiment_allocation_sum",
            "experiment_metric_event_undeclared"
        ]
    );
}

#[test]
fn overlapping_experiments_on_one_target_need_different_layers_or_times() {
    let running = experiment();
    let mut new = experiment();
    new.id = "exp-home-knn".to_owned();
    new.start_ms = START_MS + 10 * DAY_MS;
    new.stop_ms = None;
    assert_eq!(codes(&new, from_ref(&running)), ["experiment_overlap"]);

    // One layer each, but the running one has none: it takes the whole slot.
    new.layer = Some("ranking".to_owned());
    assert_eq!(codes(&new, from_ref(&running)), ["experiment_overlap"]);

    // Two different layers share the slot when each varies its own parameters.
    let mut layered = running.clone();
    layered.layer = Some("widget-size".to_owned());
    assert_eq!(
        codes(&new, from_ref(&layered)),
        ["experiment_layer_parameter"],
        "both set diversity and n_items"
    );
    let clash = &errors(&new, from_ref(&layered))[0];
    assert!(
        clash.to_string().contains("also sets `diversity`"),
        "{clash}"
    );
    new.variants[1].settings = VariantSettings {
        model: Some("knn".to_owned()),
        ..VariantSettings::default()
    };
    assert_eq!(codes(&new, from_ref(&layered)), Vec::<&str>::new());
    // Stopped before the new one starts, it clashes with nothing.
    let mut over = layered.clone();
    over.variants[1].settings.model = Some("ease".to_owned());
    assert_eq!(codes(&new, from_ref(&over)), ["experiment_layer_parameter"]);
    over.stop_ms = Some(new.start_ms);
    assert_eq!(codes(&new, from_ref(&over)), Vec::<&str>::new());
    // The same layer does not.
    layered.layer = Some("ranking".to_owned());
    assert_eq!(codes(&new, from_ref(&layered)), ["experiment_overlap"]);

    // Disjoint in time: starts exactly when the other stops.
    new.layer = None;
    new.start_ms = running.stop_ms.unwrap();
    assert_eq!(codes(&new, from_ref(&running)), Vec::<&str>::new());

    // Another target.
    let mut other = experiment();
    other.id = "exp-campaign".to_owned();
    other.target = Target::Campaign("spring".to_owned());
    other.variants[1].settings = VariantSettings {
        campaign_message: Some("Spring is here".to_owned()),
        ..VariantSettings::default()
    };
    assert_eq!(codes(&other, from_ref(&running)), Vec::<&str>::new());
    // A campaign has no list to rank.
    other.variants[1].settings.n_items = Some(3);
    assert_eq!(
        codes(&other, &[]),
        ["experiment_parameter_for_target"],
        "a campaign experiment cannot set n_items"
    );

    // Its own earlier version is not an overlap.
    assert_eq!(codes(&running, from_ref(&running)), Vec::<&str>::new());
}
