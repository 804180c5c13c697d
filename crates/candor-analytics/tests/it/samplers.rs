//! The exact samplers against their exact pmf: chi-squared goodness of fit at fixed seeds,
//! symmetry and variance.

use candor_analytics::sample::{bernoulli, bernoulli_exp_neg, discrete_gaussian, discrete_laplace};
use candor_analytics::{Noise, Ratio};

use rand::rngs::StdRng;

use crate::rng;
use crate::stats::{assert_fits, chi2_symmetric, histogram};

fn ratio(num: u64, den: u64) -> Ratio {
    Ratio::new(num, den).unwrap()
}

/// Chi-squared for a Bernoulli draw count against its probability.
fn assert_bernoulli(what: &str, successes: u64, n: u64, p: f64) {
    let (n, s) = (n as f64, successes as f64);
    let statistic = (s - n * p).powi(2) / (n * p) + (s - n * p).powi(2) / (n * (1.0 - p));
    assert_fits(what, (statistic, 1));
}

#[test]
fn bernoulli_matches_its_rational_probability() {
    let mut rng = rng(1);
    for (num, den) in [(1, 3), (7, 10), (1, 1000), (999_999, 1_000_000)] {
        let n = 200_000;
        let hits = (0..n)
            .filter(|_| bernoulli(&mut rng, ratio(num, den)))
            .count() as u64;
        assert_bernoulli(
            &format!("Bernoulli({num}/{den})"),
            hits,
            n,
            num as f64 / den as f64,
        );
    }
    // The edges are exact: never and always.
    assert!((0..1000).all(|_| !bernoulli(&mut rng, ratio(0, 5))));
    assert!((0..1000).all(|_| bernoulli(&mut rng, ratio(5, 5))));
}

#[test]
fn bernoulli_exp_neg_matches_exp_of_minus_gamma() {
    let mut rng = rng(2);
    // Below 1, exactly 1, and above 1 (the ⌊γ⌋ factors of e⁻¹).
    for (num, den) in [(1, 3), (1, 1), (5, 2), (17, 4)] {
        let n = 200_000;
        let hits = (0..n)
            .filter(|_| bernoulli_exp_neg(&mut rng, ratio(num, den)))
            .count() as u64;
        let p = (-(num as f64) / den as f64).exp();
        assert_bernoulli(&format!("Bernoulli(exp(−{num}/{den}))"), hits, n, p);
    }
    assert!(
        (0..1000).all(|_| bernoulli_exp_neg(&mut rng, ratio(0, 1))),
        "exp(0) = 1"
    );
}

#[test]
fn discrete_laplace_matches_its_pmf_is_symmetric_and_has_its_variance() {
    let mut rng = rng(3);
    // Scales below 1, fractional, and large with a large denominator.
    for (num, den) in [(1, 3), (5, 2), (40, 1), (123_456, 1000)] {
        check_against_pmf(
            Noise::DiscreteLaplace {
                scale: ratio(num, den),
            },
            &mut rng,
        );
    }
}

#[test]
fn discrete_gaussian_matches_its_pmf_is_symmetric_and_has_its_variance() {
    let mut rng = rng(4);
    // σ² below 1 (variance noticeably below σ²), 9 (the reference's), and a large fraction.
    for (num, den) in [(1, 2), (9, 1), (20_000, 3)] {
        check_against_pmf(
            Noise::DiscreteGaussian {
                sigma2: ratio(num, den),
            },
            &mut rng,
        );
    }
}

/// Draws 100,000 samples of `noise` ([`Noise::sample`] calls the exact sampler) and checks
/// their histogram against the pmf, their symmetry and their variance.
fn check_against_pmf(noise: Noise, rng: &mut StdRng) {
    let samples: Vec<i64> = (0..100_000).map(|_| noise.sample(rng)).collect();
    let counts = histogram(samples.iter().copied());
    let what = format!("{noise:?}");
    assert_fits(&what, chi2_symmetric(&counts, |k| noise.pmf(k)));
    assert_symmetric_with_variance(&samples, noise.std_dev().powi(2), &what);
}

/// The mean is 0 and the variance the pmf's, each within 5 standard errors.
fn assert_symmetric_with_variance(samples: &[i64], variance: f64, what: &str) {
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mean_se = (variance / n).sqrt();
    assert!(
        mean.abs() < 5.0 * mean_se,
        "{what}: mean {mean} is not 0 (se {mean_se})"
    );
    let second = samples.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n;
    let fourth = samples.iter().map(|&x| (x as f64).powi(4)).sum::<f64>() / n;
    let second_se = ((fourth - second * second) / n).sqrt();
    assert!(
        (second - variance).abs() < 5.0 * second_se,
        "{what}: variance {second} differs from {variance} (se {second_se})"
    );
    let positive = samples.iter().filter(|&&x| x > 0).count() as f64;
    let negative = samples.iter().filter(|&&x| x < 0).count() as f64;
    let sign_se = (positive + negative).sqrt();
    assert!(
        (positive - negative).abs() < 5.0 * sign_se,
        "{what}: {positive} positive, {negative} negative"
    );
}

#[test]
fn the_samplers_are_reproducible_from_the_callers_seed() {
    let draw = |seed| -> Vec<i64> {
        let mut rng = rng(seed);
        (0..50)
            .map(|_| {
                discrete_gaussian(&mut rng, ratio(7, 2)) + discrete_laplace(&mut rng, ratio(3, 1))
            })
            .collect()
    };
    assert_eq!(draw(9), draw(9));
    assert_ne!(draw(9), draw(10));
}

#[test]
fn ratios_are_reduced_and_refuse_bad_parts() {
    let r = ratio(10, 4);
    assert_eq!((r.num(), r.den()), (5, 2));
    assert_eq!(r.to_string(), "5/2");
    assert_eq!(
        Ratio::new(1, 0).unwrap_err().code(),
        "analytics_invalid_parameter"
    );
    assert!(Ratio::new(1 << 50, 1).is_err());
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, r#"{"num":5,"den":2}"#);
    assert_eq!(serde_json::from_str::<Ratio>(&json).unwrap(), r);
    assert!(serde_json::from_str::<Ratio>(r#"{"num":1,"den":0}"#).is_err());
}
