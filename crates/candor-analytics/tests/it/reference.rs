//! Candor's samplers against OpenDP's: two-sample chi-squared tests on the histograms
//! `reference/make_fixtures.py` wrote from OpenDP's `make_laplace` and `make_gaussian` over
//! integers.

use std::collections::BTreeMap;

use candor_analytics::Ratio;
use candor_analytics::sample::{discrete_gaussian, discrete_laplace};
use serde_json::Value;

use crate::rng;
use crate::stats::{assert_fits, chi2_two_sample, histogram};

const FIXTURE: &str = include_str!("../fixtures/opendp.json");

fn reference(name: &str) -> (f64, BTreeMap<i64, u64>) {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let entry = &fixture[name];
    let parameter = entry
        .get("scale")
        .or_else(|| entry.get("sigma"))
        .unwrap()
        .as_f64()
        .unwrap();
    let counts = entry["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
        .collect();
    (parameter, counts)
}

#[test]
fn discrete_laplace_draws_from_opendps_distribution() {
    let (scale, theirs) = reference("discrete_laplace");
    assert_eq!(scale, 2.5, "the fixture's scale is 5/2");
    let mut rng = rng(11);
    let ours =
        histogram((0..100_000).map(|_| discrete_laplace(&mut rng, Ratio::new(5, 2).unwrap())));
    assert_fits(
        "discrete Laplace(5/2) vs OpenDP",
        chi2_two_sample(&ours, &theirs),
    );
}

#[test]
fn discrete_gaussian_draws_from_opendps_distribution() {
    let (sigma, theirs) = reference("discrete_gaussian");
    assert_eq!(sigma, 3.0, "the fixture's σ is 3, σ² = 9");
    let mut rng = rng(12);
    let ours =
        histogram((0..100_000).map(|_| discrete_gaussian(&mut rng, Ratio::integer(9).unwrap())));
    assert_fits(
        "discrete Gaussian(σ² = 9) vs OpenDP",
        chi2_two_sample(&ours, &theirs),
    );
}

#[test]
fn the_two_sample_test_tells_a_different_scale_apart() {
    // The comparison has power: OpenDP's Laplace(5/2) against ours at 3 is refused.
    let (_, theirs) = reference("discrete_laplace");
    let mut rng = rng(13);
    let ours =
        histogram((0..100_000).map(|_| discrete_laplace(&mut rng, Ratio::integer(3).unwrap())));
    let (statistic, df) = chi2_two_sample(&ours, &theirs);
    assert!(
        statistic > 10.0 * crate::stats::chi2_critical(df),
        "χ² = {statistic} with {df} df"
    );
}
