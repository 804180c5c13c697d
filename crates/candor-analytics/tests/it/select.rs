//! Partition selection: the threshold is the smallest that keeps the chance of showing a cell
//! only one person is in below δ, and such cells do not appear.

use candor_analytics::select::selection_threshold;
use candor_analytics::{Delta, Noise, Ratio};

use crate::rng;

/// P(Z ≥ k) for the discrete Laplace with scale t, k ≥ 1.
fn upper_tail(t: f64, k: i64) -> f64 {
    let q = (-1.0 / t).exp();
    q.powf(k as f64) / (1.0 + q)
}

#[test]
fn the_threshold_is_the_smallest_that_bounds_the_leak_by_delta() {
    for (scale, cells, delta) in [
        ((4u64, 1u64), 4u64, 1e-6),
        ((1, 2), 1, 1e-9),
        ((50, 1), 10, 1e-5),
    ] {
        let scale = Ratio::new(scale.0, scale.1).unwrap();
        let tau = selection_threshold(scale, cells, Delta::parse(delta).unwrap()).unwrap();
        let t = scale.as_f64();
        let leak = |tau: i64| cells as f64 * upper_tail(t, tau - 1);
        assert!(leak(tau) <= delta, "τ = {tau} leaks {}", leak(tau));
        assert!(leak(tau - 1) > delta, "τ − 1 = {} would do", tau - 1);
    }
    // Worked example: C = 4 cells at ε = 1 gives t = 4, and τ = 1 + ⌈4 · ln(4 / (1e-6 · (1 + e^(−1/4))))⌉.
    let tau =
        selection_threshold(Ratio::integer(4).unwrap(), 4, Delta::parse(1e-6).unwrap()).unwrap();
    assert_eq!(
        tau,
        1 + (4.0 * (4.0 / (1e-6 * (1.0 + (-0.25f64).exp()))).ln()).ceil() as i64
    );
}

#[test]
fn a_zero_delta_is_refused() {
    let refused =
        selection_threshold(Ratio::integer(1).unwrap(), 1, Delta::parse(0.0).unwrap()).unwrap_err();
    assert_eq!(refused.code(), "analytics_invalid_parameter");
}

#[test]
fn a_cell_of_one_person_is_shown_no_more_often_than_delta_allows() {
    // A large δ makes the rare event measurable: 1 + Z ≥ τ must happen at most δ/C of the time.
    let scale = Ratio::integer(2).unwrap();
    let delta = 1e-3;
    let tau = selection_threshold(scale, 1, Delta::parse(delta).unwrap()).unwrap();
    let noise = Noise::DiscreteLaplace { scale };
    let mut rng = rng(21);
    let n = 200_000;
    let shown = (0..n).filter(|_| 1 + noise.sample(&mut rng) >= tau).count() as f64;
    let expected = upper_tail(2.0, tau - 1) * n as f64;
    assert!(expected <= delta * n as f64);
    assert!(
        shown <= delta * n as f64 + 4.0 * (delta * n as f64).sqrt(),
        "shown {shown} times"
    );
    assert!(
        (shown - expected).abs() <= 4.0 * expected.sqrt() + 1.0,
        "shown {shown}, expected {expected}"
    );
}
