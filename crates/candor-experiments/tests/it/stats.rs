//! Every statistic against the reference values `reference/make_fixtures.py` computed with
//! scipy and statsmodels.

use candor_experiments::{
    Estimate, PersonOutcome, RatioSummary, SequentialLook, SequentialState, StatsError, Summary,
    benjamini_hochberg, cuped, delta_ratio, holm, msprt, srm, welch,
};
use serde_json::Value;

const REL: f64 = 1e-9;

fn fixtures() -> Value {
    let text = include_str!("../fixtures/stats.json");
    serde_json::from_str(text).expect("the fixtures are JSON")
}

fn f(case: &Value, key: &str) -> f64 {
    case[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {}", case["name"]))
}

fn floats(case: &Value, key: &str) -> Vec<f64> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {}", case["name"]))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Relative agreement; values within 1e-15 of zero compare absolutely, since a relative error
/// of a difference that cancels to almost nothing says nothing about either implementation.
fn close(actual: f64, expected: f64, what: &str, case: &Value) {
    let error = (actual - expected).abs();
    assert!(
        error <= REL * expected.abs() || error <= 1e-15,
        "{} / {what}: {actual} vs reference {expected} (relative error {:e})",
        case["name"],
        error / expected.abs()
    );
}

/// Checks each `(value, fixture key)` pair.
fn check_fields(case: &Value, fields: &[(f64, &str)]) {
    for &(actual, key) in fields {
        close(actual, f(case, key), key, case);
    }
}

/// Checks an estimate's effect, statistic, degrees of freedom (t tests), p and interval.
fn check_estimate(est: &Estimate, case: &Value) {
    check_fields(
        case,
        &[
            (est.effect, "effect"),
            (est.statistic, "statistic"),
            (est.p_value, "p_value"),
            (est.ci_low, "ci_low"),
            (est.ci_high, "ci_high"),
        ],
    );
    if let Some(df) = est.df {
        close(df, f(case, "df"), "df", case);
    }
}

#[test]
fn welch_matches_scipy() {
    let fixtures = fixtures();
    for case in fixtures["welch"].as_array().unwrap() {
        let control = Summary::of(&floats(case, "control"));
        let treatment = Summary::of(&floats(case, "treatment"));
        let est = welch(&control, &treatment, f(case, "alpha")).unwrap();
        assert!(est.df.is_some());
        check_estimate(&est, case);
    }
}

#[test]
fn the_delta_method_matches_the_reference() {
    let fixtures = fixtures();
    for case in fixtures["delta"].as_array().unwrap() {
        let control = RatioSummary::of(&floats(case, "control_num"), &floats(case, "control_den"));
        let treatment = RatioSummary::of(
            &floats(case, "treatment_num"),
            &floats(case, "treatment_den"),
        );
        check_fields(
            case,
            &[
                (control.ratio(), "control_ratio"),
                (control.variance_of_ratio(), "control_variance"),
                (treatment.ratio(), "treatment_ratio"),
                (treatment.variance_of_ratio(), "treatment_variance"),
            ],
        );
        let est = delta_ratio(&control, &treatment, f(case, "alpha")).unwrap();
        assert_eq!(est.df, None, "a z test");
        check_estimate(&est, case);
    }
}

fn people(values: &[f64], covariates: &[f64]) -> Vec<PersonOutcome> {
    values
        .iter()
        .zip(covariates)
        .map(|(&value, &covariate)| PersonOutcome {
            value,
            covariate,
            denominator: 0.0,
        })
        .collect()
}

#[test]
fn cuped_matches_statsmodels_and_scipy() {
    let fixtures = fixtures();
    for case in fixtures["cuped"].as_array().unwrap() {
        let control = people(&floats(case, "control_y"), &floats(case, "control_x"));
        let treatment = people(&floats(case, "treatment_y"), &floats(case, "treatment_x"));
        let adjusted = cuped(&control, &treatment);
        check_fields(
            case,
            &[
                (adjusted.theta, "theta"),
                (adjusted.control.mean, "control_mean"),
                (adjusted.control.variance, "control_variance"),
                (adjusted.treatment.mean, "treatment_mean"),
                (adjusted.treatment.variance, "treatment_variance"),
            ],
        );
        let est = welch(&adjusted.control, &adjusted.treatment, f(case, "alpha")).unwrap();
        check_estimate(&est, case);
    }
}

#[test]
fn cuped_reduces_variance_when_the_covariate_predicts() {
    let fixtures = fixtures();
    let case = &fixtures["cuped"][0];
    let raw = Summary::of(&floats(case, "control_y"));
    let control = people(&floats(case, "control_y"), &floats(case, "control_x"));
    let treatment = people(&floats(case, "treatment_y"), &floats(case, "treatment_x"));
    let adjusted = cuped(&control, &treatment);
    assert!(adjusted.control.variance < raw.variance / 4.0);
    // Without a varying covariate nothing changes.
    let flat: Vec<PersonOutcome> = control
        .iter()
        .map(|o| PersonOutcome {
            covariate: 1.0,
            ..*o
        })
        .collect();
    let unchanged = cuped(&flat, &flat);
    assert_eq!(unchanged.theta, 0.0);
    assert_eq!(unchanged.control, raw);
}

#[test]
fn the_sample_ratio_check_matches_scipy_and_flags_below_0_001() {
    let fixtures = fixtures();
    for case in fixtures["srm"].as_array().unwrap() {
        let observed: Vec<u64> = case["observed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let check = srm(&observed, &floats(case, "weights")).unwrap();
        close(
            check.chi_squared,
            f(case, "chi_squared"),
            "chi-squared",
            case,
        );
        close(check.p_value, f(case, "p_value"), "p", case);
        assert_eq!(check.flagged, case["flagged"].as_bool().unwrap());
        assert_eq!(check.df as usize, observed.len() - 1);
    }
}

#[test]
fn msprt_matches_numerical_integration_of_the_mixture() {
    let fixtures = fixtures();
    for case in fixtures["msprt"].as_array().unwrap() {
        let look = msprt(
            f(case, "estimate"),
            f(case, "variance"),
            f(case, "tau_sq"),
            f(case, "alpha"),
        )
        .unwrap();
        close(look.p_value, f(case, "p_value"), "always-valid p", case);
        close(look.ci_low, f(case, "ci_low"), "ci_low", case);
        close(look.ci_high, f(case, "ci_high"), "ci_high", case);
    }
}

#[test]
fn the_sequential_state_keeps_the_smallest_p_and_the_tightest_interval() {
    let looks = [
        SequentialLook {
            p_value: 0.4,
            ci_low: -1.0,
            ci_high: 2.0,
        },
        SequentialLook {
            p_value: 0.03,
            ci_low: 0.1,
            ci_high: 3.0,
        },
        SequentialLook {
            p_value: 0.2,
            ci_low: -0.5,
            ci_high: 1.5,
        },
    ];
    let state = looks
        .into_iter()
        .fold(SequentialState::default(), SequentialState::update);
    assert_eq!(
        state,
        SequentialState {
            n_looks: 3,
            p_value: 0.03,
            ci_low: 0.1,
            ci_high: 1.5
        }
    );
}

#[test]
fn holm_and_benjamini_hochberg_match_statsmodels() {
    let fixtures = fixtures();
    for case in fixtures["adjust"].as_array().unwrap() {
        let p = floats(case, "p_values");
        for (got, want) in holm(&p).iter().zip(floats(case, "holm")) {
            close(*got, want, "holm", case);
        }
        for (got, want) in benjamini_hochberg(&p)
            .iter()
            .zip(floats(case, "benjamini_hochberg"))
        {
            close(*got, want, "benjamini-hochberg", case);
        }
        assert_eq!(holm(&p).len(), p.len());
    }
    assert!(holm(&[]).is_empty());
}

#[test]
fn degenerate_data_are_errors_not_nan() {
    let one = Summary::of(&[1.0]);
    let flat = Summary::of(&[2.0, 2.0, 2.0]);
    let some = Summary::of(&[1.0, 2.0, 3.0]);
    assert_eq!(
        welch(&one, &some, 0.05),
        Err(StatsError::TooFewObservations)
    );
    assert_eq!(welch(&flat, &flat, 0.05), Err(StatsError::NoVariance));
    assert_eq!(welch(&some, &some, 1.5), Err(StatsError::Parameter));
    assert_eq!(msprt(0.1, 0.0, 0.1, 0.05), Err(StatsError::NoVariance));
    assert_eq!(msprt(0.1, 0.1, 0.0, 0.05), Err(StatsError::Parameter));
    assert_eq!(srm(&[1, 2], &[1.0]), Err(StatsError::Split));
    assert_eq!(
        srm(&[0, 0], &[1.0, 1.0]),
        Err(StatsError::TooFewObservations)
    );
    let zero_den = RatioSummary::of(&[1.0, 2.0], &[0.0, 0.0]);
    assert_eq!(
        delta_ratio(&zero_den, &zero_den, 0.05),
        Err(StatsError::NoVariance)
    );
    assert_eq!(Summary::of(&[]).n, 0);
}
