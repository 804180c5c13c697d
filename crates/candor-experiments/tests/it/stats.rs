//! Every statistic against the reference values `reference/make_fixtures.py` computed with
//! scipy and statsmodels.

use candor_experiments::{
    PersonOutcome, RatioSummary, SequentialLook, SequentialState, StatsError, Summary,
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

#[test]
fn welch_matches_scipy() {
    let fixtures = fixtures();
    for case in fixtures["welch"].as_array().unwrap() {
        let control = Summary::of(&floats(case, "control"));
        let treatment = Summary::of(&floats(case, "treatment"));
        let est = welch(&control, &treatment, f(case, "alpha")).unwrap();
        close(est.effect, f(case, "effect"), "effect", case);
        close(est.statistic, f(case, "statistic"), "statistic", case);
        close(est.df.unwrap(), f(case, "df"), "df", case);
        close(est.p_value, f(case, "p_value"), "p", case);
        close(est.ci_low, f(case, "ci_low"), "ci_low", case);
        close(est.ci_high, f(case, "ci_high"), "ci_high", case);
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
        close(
            control.ratio(),
            f(case, "control_ratio"),
            "control ratio",
            case,
        );
        close(
            control.variance_of_ratio(),
            f(case, "control_variance"),
            "control variance",
            case,
        );
        close(
            treatment.ratio(),
            f(case, "treatment_ratio"),
            "treatment ratio",
            case,
        );
        close(
            treatment.variance_of_ratio(),
            f(case, "treatment_variance"),
            "treatment variance",
            case,
        );
        let est = delta_ratio(&control, &treatment, f(case, "alpha")).unwrap();
        assert_eq!(est.df, None);
        close(est.effect, f(case, "effect"), "effect", case);
        close(est.statistic, f(case, "statistic"), "z", case);
        close(est.p_value, f(case, "p_value"), "p", case);
        close(est.ci_low, f(case, "ci_low"), "ci_low", case);
        close(est.ci_high, f(case, "ci_high"), "ci_high", case);
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
        close(adjusted.theta, f(case, "theta"), "theta", case);
        close(
            adjusted.control.mean,
            f(case, "control_mean"),
            "control mean",
            case,
        );
        close(
            adjusted.control.variance,
            f(case, "control_variance"),
            "control variance",
            case,
        );
        close(
            adjusted.treatment.mean,
            f(case, "treatment_mean"),
            "treatment mean",
            case,
        );
        close(
            adjusted.treatment.variance,
            f(case, "treatment_variance"),
            "treatment variance",
            case,
        );
        let est = welch(&adjusted.control, &adjusted.treatment, f(case, "alpha")).unwrap();
        close(est.effect, f(case, "effect"), "effect", case);
        close(est.statistic, f(case, "statistic"), "statistic", case);
        close(est.df.unwrap(), f(case, "df"), "df", case);
        close(est.p_value, f(case, "p_value"), "p", case);
        close(est.ci_low, f(case, "ci_low"), "ci_low", case);
        close(est.ci_high, f(case, "ci_high"), "ci_high", case);
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
