//! Accuracy: the published 95 % intervals are the exact quantiles of the noise, and at ε = 1
//! a people count of a cell of at least 1,000 people is within 5 %. The accuracy of every
//! measure under the reports' default bounds and ε split is measured in candor-app
//! (`src/analytics/accuracy.rs`), which writes `docs/analytics-accuracy.md`.

use candor_analytics::accuracy::people_count_accuracy;
use candor_analytics::{Bounds, Epsilon, Noise, Ratio};

/// The bounds the weekly reports use by default: a person counts in up to 4 cells a week.
const WEEKLY: Bounds = Bounds {
    rows_per_cell_max: 5,
    cells_per_person_max: 4,
    value_max: 100_000,
};
const SIZES: [u64; 8] = [50, 100, 300, 1000, 3000, 10_000, 30_000, 100_000];

#[test]
fn at_epsilon_one_a_cell_of_a_thousand_people_is_within_five_percent() {
    for people in SIZES.into_iter().filter(|&n| n >= 1000) {
        let point = people_count_accuracy(&WEEKLY, Epsilon::parse(1.0).unwrap(), people).unwrap();
        assert!(point.relative_error < 0.05, "{point:?}");
    }
    // And the error does shrink with ε and grow for small cells.
    let at = |e: f64, n| {
        people_count_accuracy(&WEEKLY, Epsilon::parse(e).unwrap(), n)
            .unwrap()
            .relative_error
    };
    assert!(at(0.1, 1000) > at(1.0, 1000));
    assert!(at(1.0, 50) > at(1.0, 1000));
}

#[test]
fn the_half_width_is_the_exact_95_percent_quantile() {
    let noises = [
        Noise::DiscreteLaplace {
            scale: Ratio::new(1, 3).unwrap(),
        },
        Noise::DiscreteLaplace {
            scale: Ratio::integer(4).unwrap(),
        },
        Noise::DiscreteLaplace {
            scale: Ratio::new(4_000_000, 100_000).unwrap(),
        },
        Noise::DiscreteGaussian {
            sigma2: Ratio::new(1, 2).unwrap(),
        },
        Noise::DiscreteGaussian {
            sigma2: Ratio::integer(2500).unwrap(),
        },
    ];
    for noise in noises {
        let k = noise.half_width_95() as i64;
        let inside = |k: i64| (-k..=k).map(|z| noise.pmf(z)).sum::<f64>();
        assert!(inside(k) >= 0.95, "{noise:?}: P(|Z| ≤ {k}) = {}", inside(k));
        assert!(
            k == 0 || inside(k - 1) < 0.95,
            "{noise:?}: {} would do",
            k - 1
        );
    }
}
