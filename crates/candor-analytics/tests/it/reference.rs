//! Candor's samplers against OpenDP's: two-sample chi-squared tests on the histograms
//! `reference/make_fixtures.py` wrote from OpenDP's `make_laplace` and `make_gaussian` over
//! integers.

use std::collections::BTreeMap;

use candor_analytics::{Noise, Ratio};
use serde_json::Value;

use crate::rng;
use crate::stats::{assert_fits, chi2_critical, chi2_two_sample, histogram};

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

/// Two-sample chi-squared of 100,000 draws of `noise` against the fixture's `name` histogram,
/// after checking the fixture was made with the parameter `noise` has.
fn against_opendp(name: &str, parameter: f64, noise: Noise, seed: u64) -> (f64, usize) {
    let (theirs_parameter, theirs) = reference(name);
    assert_eq!(
        theirs_parameter, parameter,
        "the fixture's {name} parameter"
    );
    let mut rng = rng(seed);
    let ours = histogram((0..100_000).map(|_| noise.sample(&mut rng)));
    chi2_two_sample(&ours, &theirs)
}

#[test]
fn discrete_laplace_draws_from_opendps_distribution() {
    let noise = Noise::DiscreteLaplace {
        scale: Ratio::new(5, 2).unwrap(),
    };
    assert_fits(
        "discrete Laplace(5/2) vs OpenDP",
        against_opendp("discrete_laplace", 2.5, noise, 11),
    );
}

#[test]
fn discrete_gaussian_draws_from_opendps_distribution() {
    // OpenDP's parameter is σ = 3, ours σ² = 9.
    let noise = Noise::DiscreteGaussian {
        sigma2: Ratio::integer(9).unwrap(),
    };
    assert_fits(
        "discrete Gaussian(σ² = 9) vs OpenDP",
        against_opendp("discrete_gaussian", 3.0, noise, 12),
    );
}

#[test]
fn the_two_sample_test_tells_a_different_scale_apart() {
    // The comparison has power: ours at scale 3 against OpenDP's at 5/2 is refused.
    let noise = Noise::DiscreteLaplace {
        scale: Ratio::integer(3).unwrap(),
    };
    let (statistic, df) = against_opendp("discrete_laplace", 2.5, noise, 13);
    assert!(
        statistic > 10.0 * chi2_critical(df),
        "χ² = {statistic} with {df} df"
    );
}
