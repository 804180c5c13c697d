use candor_accountability::fairness::{
    GroupResult, Metric, Rates, demographic_parity_difference, demographic_parity_ratio,
    equalized_odds_difference, equalized_odds_ratio, false_positive_rate, four_fifths_flag,
    selection_rate, true_positive_rate, wilson_interval,
};
use candor_accountability::{
    AttributeKind, AuditAttributes, FairnessError, GroupTally, Method, MetricFrame,
    fairness_report, parity_alert,
};

/// Published values are rounded to six decimals.
fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a defined value");
    assert!(
        (actual - expected).abs() < 5e-6,
        "expected {expected}, got {actual}"
    );
}

fn tally(y_true: &[u8], y_pred: &[u8], groups: &[&str]) -> GroupTally {
    assert_eq!(y_true.len(), y_pred.len());
    assert_eq!(y_true.len(), groups.len());
    GroupTally::from_labelled(
        groups
            .iter()
            .zip(y_pred.iter().zip(y_true))
            .map(|(g, (&p, &t))| (*g, p == 1, Some(t == 1))),
    )
    .unwrap()
}

/// The running example of Fairlearn's user guide, "Performing a Fairness Assessment" and
/// "Common fairness metrics" (fairlearn.org, docs/user_guide/assessment/): inputs and the
/// published results only.
fn user_guide_example() -> GroupTally {
    tally(
        &[0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1],
        &[0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0],
        &[
            "b", "b", "a", "b", "b", "c", "c", "c", "a", "a", "c", "a", "b", "c", "c", "b", "c",
            "c",
        ],
    )
}

fn group<'a>(frame: &'a MetricFrame, label: &str) -> &'a Rates {
    frame
        .reported()
        .find(|(l, _)| *l == label)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("group {label} not reported"))
}

#[test]
fn user_guide_overall_and_by_group() {
    let frame = MetricFrame::new(&user_guide_example(), 1);
    let overall = frame.overall.unwrap();
    assert_eq!(overall.n, 18);
    close(overall.true_positive_rate, 0.5);
    close(overall.false_positive_rate, 0.666667);
    close(Some(overall.selection_rate), 0.555556);
    for (label, n, tpr, fpr, sel) in [
        ("a", 4, 0.5, 1.0, 0.75),
        ("b", 6, 0.6, 0.0, 0.5),
        ("c", 8, 0.4, 0.666667, 0.5),
    ] {
        let rates = group(&frame, label);
        assert_eq!(rates.n, n);
        close(rates.true_positive_rate, tpr);
        close(rates.false_positive_rate, fpr);
        close(Some(rates.selection_rate), sel);
    }
}

#[test]
fn user_guide_differences_and_ratios() {
    let frame = MetricFrame::new(&user_guide_example(), 1);
    use Method::{BetweenGroups, ToOverall};
    use Metric::{FalsePositiveRate as Fpr, SelectionRate as Sel, TruePositiveRate as Tpr};
    for (metric, method, difference, ratio) in [
        (Tpr, BetweenGroups, 0.2, 0.666667),
        (Fpr, BetweenGroups, 1.0, 0.0),
        (Sel, BetweenGroups, 0.25, 0.666667),
        (Tpr, ToOverall, 0.1, 0.8),
        (Fpr, ToOverall, 0.666667, 0.0),
        (Sel, ToOverall, 0.194444, 0.740741),
    ] {
        close(frame.difference(metric, method), difference);
        close(frame.ratio(metric, method), ratio);
    }
}

#[test]
fn user_guide_demographic_parity_and_equalized_odds() {
    let frame = MetricFrame::new(&user_guide_example(), 1);
    close(
        demographic_parity_difference(&frame, Method::BetweenGroups),
        0.25,
    );
    close(
        demographic_parity_ratio(&frame, Method::BetweenGroups),
        0.666667,
    );
    close(
        equalized_odds_difference(&frame, Method::BetweenGroups),
        1.0,
    );
    close(equalized_odds_ratio(&frame, Method::BetweenGroups), 0.0);
    // To overall: the larger of 0.1 and 0.666667, the smaller of 0.8 and 0.
    close(
        equalized_odds_difference(&frame, Method::ToOverall),
        0.666667,
    );
    close(equalized_odds_ratio(&frame, Method::ToOverall), 0.0);
    assert_eq!(four_fifths_flag(&frame), Some(true));
}

/// The example in the docstring of Fairlearn's `MetricFrame` (fairlearn.metrics.MetricFrame
/// API reference): selection rates 0.8 and 0.4, difference 0.4, ratio 0.5.
#[test]
fn metric_frame_docstring_example() {
    let sex: Vec<&str> = [["Female"; 5], ["Male"; 5]].concat();
    let frame = MetricFrame::new(
        &tally(
            &[1, 1, 1, 1, 1, 0, 0, 1, 1, 0],
            &[0, 1, 1, 1, 1, 0, 0, 0, 1, 1],
            &sex,
        ),
        1,
    );
    close(Some(group(&frame, "Female").selection_rate), 0.8);
    close(Some(group(&frame, "Male").selection_rate), 0.4);
    close(
        demographic_parity_difference(&frame, Method::BetweenGroups),
        0.4,
    );
    close(demographic_parity_ratio(&frame, Method::BetweenGroups), 0.5);
}

#[test]
fn plain_rates_handle_empty_input() {
    assert_eq!(selection_rate([]), None);
    assert_eq!(selection_rate([true, false, false, true]), Some(0.5));
    assert_eq!(
        true_positive_rate([(true, Some(false)), (true, None)]),
        None
    );
    assert_eq!(
        true_positive_rate([(true, Some(true)), (false, Some(true))]),
        Some(0.5)
    );
    assert_eq!(false_positive_rate([(true, Some(true))]), None);
    assert_eq!(
        false_positive_rate([(true, Some(false)), (true, Some(false))]),
        Some(1.0)
    );
}

#[test]
fn wilson_intervals_match_closed_forms_and_published_values() {
    assert_eq!(wilson_interval(0, 0), None);
    // At 0 and n successes the bounds have closed forms: z²/(n+z²) and n/(n+z²).
    let z2 = 1.959_963_984_540_054f64.powi(2);
    let zero = wilson_interval(0, 10).unwrap();
    assert_eq!(zero.low, 0.0);
    assert!((zero.high - z2 / (10.0 + z2)).abs() < 1e-12);
    let all = wilson_interval(10, 10).unwrap();
    assert!((all.low - 10.0 / (10.0 + z2)).abs() < 1e-12);
    assert!((all.high - 1.0).abs() < 1e-12);
    // 8 of 10: the commonly tabulated Wilson interval is 0.490–0.943.
    let eight = wilson_interval(8, 10).unwrap();
    assert!((eight.low - 0.4902).abs() < 1e-4, "{eight:?}");
    assert!((eight.high - 0.9433).abs() < 1e-4, "{eight:?}");
}

fn rows(
    label: &'static str,
    n: usize,
    n_selected: usize,
) -> Vec<(&'static str, bool, Option<bool>)> {
    (0..n).map(|i| (label, i < n_selected, None)).collect()
}

#[test]
fn small_groups_are_suppressed_and_left_out_of_every_aggregate() {
    let all: Vec<_> = [
        rows("large", 20, 10),
        rows("mid", 12, 3),
        rows("tiny", 3, 3),
    ]
    .concat();
    let report = fairness_report(
        "campaign spring_sale",
        &GroupTally::from_labelled(all).unwrap(),
        10,
    );
    let frame = &report.frame;
    assert_eq!(frame.n_suppressed(), 1);
    let tiny = frame.by_group.iter().find(|r| r.label == "tiny").unwrap();
    assert_eq!(tiny.result, GroupResult::Suppressed);
    // Overall covers the 32 reported members only, so the suppressed count cannot be
    // recovered by subtraction.
    let overall = frame.overall.unwrap();
    assert_eq!((overall.n, overall.n_selected), (32, 13));
    // tiny's rate of 1.0 would make the ratio 0.25; without it, 0.25 / 0.5.
    close(report.between_groups.dp_ratio, 0.5);
    close(report.between_groups.dp_difference, 0.25);
    // No outcomes were given, so equalized odds is undefined rather than zero.
    assert_eq!(report.between_groups.eo_difference, None);
    assert_eq!(report.four_fifths_flag, Some(true));
}

#[test]
fn insufficient_data_is_none_never_nan() {
    let empty = fairness_report("empty", &GroupTally::new(), 10);
    assert_eq!(empty.frame.overall, None);
    assert_eq!(empty.between_groups.dp_difference, None);
    assert_eq!(empty.to_overall.dp_ratio, None);
    assert_eq!(empty.four_fifths_flag, None);

    let single = fairness_report(
        "one group",
        &GroupTally::from_labelled(rows("only", 15, 5)).unwrap(),
        10,
    );
    assert!(single.frame.overall.is_some());
    assert_eq!(single.between_groups.dp_difference, None);
    assert_eq!(single.to_overall.dp_ratio, None);

    let nobody = [rows("x", 10, 0), rows("y", 10, 0)].concat();
    let nobody = fairness_report(
        "nobody selected",
        &GroupTally::from_labelled(nobody).unwrap(),
        10,
    );
    assert_eq!(nobody.between_groups.dp_difference, Some(0.0));
    assert_eq!(nobody.between_groups.dp_ratio, None);
    assert_eq!(nobody.to_overall.dp_ratio, None);
    assert_eq!(parity_alert(&nobody, 0.8), None);
}

#[test]
fn parity_alert_flags_ratios_below_the_threshold() {
    let skewed = [rows("18-24", 40, 8), rows("25-34", 50, 25)].concat();
    let report = fairness_report(
        "slot home_hero",
        &GroupTally::from_labelled(skewed).unwrap(),
        10,
    );
    let alert = parity_alert(&report, 0.8).expect("0.4 is below 0.8");
    close(Some(alert.ratio), 0.4);
    assert_eq!(alert.lowest, ("18-24".to_owned(), 0.2));
    assert_eq!(alert.highest, ("25-34".to_owned(), 0.5));
    assert_eq!(alert.title, "slot home_hero");
    assert_eq!(parity_alert(&report, 0.4), None);

    let even = [rows("a", 10, 5), rows("b", 10, 4)].concat();
    let report = fairness_report("even", &GroupTally::from_labelled(even).unwrap(), 10);
    assert_eq!(parity_alert(&report, 0.8), None);
}

#[test]
fn declared_attributes_group_subjects_and_undeclared_ones_are_left_out() {
    let declared = |band: &str| {
        AuditAttributes::new()
            .with(AttributeKind::AgeBand, band)
            .unwrap()
    };
    let mut tally = GroupTally::new();
    for i in 0..10 {
        assert!(
            tally
                .add_declared(&declared("25-34"), AttributeKind::AgeBand, i < 5, None)
                .unwrap()
        );
        assert!(
            tally
                .add_declared(&declared(" 35-44 "), AttributeKind::AgeBand, i < 2, None)
                .unwrap()
        );
    }
    let gender_only = AuditAttributes::new()
        .with(AttributeKind::Gender, "woman")
        .unwrap();
    assert!(
        !tally
            .add_declared(&gender_only, AttributeKind::AgeBand, true, None)
            .unwrap()
    );
    assert_eq!(tally.n_undeclared(), 1);
    let frame = MetricFrame::new(&tally, 10);
    let labels: Vec<&str> = frame.reported().map(|(l, _)| l).collect();
    assert_eq!(labels, ["25-34", "35-44"]);
    close(demographic_parity_ratio(&frame, Method::BetweenGroups), 0.4);
    // Debug output does not reveal declared values either.
    assert_eq!(format!("{gender_only:?}"), "AuditAttributes(1 declared)");
}

#[test]
fn group_counts_and_labels_are_bounded() {
    let mut tally = GroupTally::new();
    for i in 0..256 {
        tally.add_labelled(&format!("g{i}"), true, None).unwrap();
    }
    assert_eq!(
        tally.add_labelled("one more", true, None),
        Err(FairnessError::TooManyGroups)
    );
    assert!(tally.add_labelled("g0", false, None).is_ok());
    assert_eq!(
        tally.add_labelled("", true, None),
        Err(FairnessError::InvalidLabel)
    );
    assert_eq!(
        tally.add_labelled("a\nb", true, None),
        Err(FairnessError::InvalidLabel)
    );
    assert!(
        AuditAttributes::new()
            .with(AttributeKind::Gender, "  ")
            .is_err()
    );
}
