//! Chi-squared tests for the statistical checks.

use std::collections::BTreeMap;

/// The 1 − 10⁻⁴ quantile of the chi-squared distribution with `df` degrees of freedom
/// (Wilson–Hilferty; within a few percent for df ≥ 1, close enough for a test threshold).
pub fn chi2_critical(df: usize) -> f64 {
    let z = 3.719; // the standard normal's 1 − 10⁻⁴ quantile
    let k = df as f64;
    let h = 2.0 / (9.0 * k);
    k * (1.0 - h + z * h.sqrt()).powi(3)
}

/// A histogram of integer samples.
pub fn histogram(samples: impl IntoIterator<Item = i64>) -> BTreeMap<i64, u64> {
    let mut counts = BTreeMap::new();
    for x in samples {
        *counts.entry(x).or_insert(0) += 1;
    }
    counts
}

/// Goodness of fit of `counts` (n samples) to a symmetric pmf on the integers: bins are the
/// integers with |k| < K, where every bin expects at least 20, and the two tails |k| ≥ K.
/// Returns (statistic, degrees of freedom).
pub fn chi2_symmetric(counts: &BTreeMap<i64, u64>, pmf: impl Fn(i64) -> f64) -> (f64, usize) {
    let n: u64 = counts.values().sum();
    let n = n as f64;
    let mut k = 0;
    while n * pmf(k + 1) >= 20.0 {
        k += 1;
    }
    assert!(k >= 1, "too few samples for a goodness-of-fit test");
    let inner: f64 = (-k + 1..k).map(&pmf).sum();
    let tail = (1.0 - inner) / 2.0;
    let observed =
        |range: &mut dyn Iterator<Item = (&i64, &u64)>| range.map(|(_, c)| *c).sum::<u64>() as f64;
    let mut bins: Vec<(f64, f64)> = vec![
        (observed(&mut counts.range(..=-k)), n * tail),
        (observed(&mut counts.range(k..)), n * tail),
    ];
    for x in -k + 1..k {
        bins.push((counts.get(&x).copied().unwrap_or(0) as f64, n * pmf(x)));
    }
    let statistic = bins.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
    (statistic, bins.len() - 1)
}

/// Two-sample chi-squared test of histograms `a` and `b` (any sizes): bins are the integers
/// where both samples together hold at least 40, and the two tails beyond. Returns
/// (statistic, degrees of freedom).
pub fn chi2_two_sample(a: &BTreeMap<i64, u64>, b: &BTreeMap<i64, u64>) -> (f64, usize) {
    let total = |x: i64| a.get(&x).copied().unwrap_or(0) + b.get(&x).copied().unwrap_or(0);
    let keys: Vec<i64> = a
        .keys()
        .chain(b.keys())
        .copied()
        .filter(|&x| total(x) >= 40)
        .collect();
    let (lo, hi) = (*keys.iter().min().unwrap(), *keys.iter().max().unwrap());
    let bin = |x: i64| x.clamp(lo, hi);
    let mut bins: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (&x, &c) in a {
        bins.entry(bin(x)).or_default().0 += c as f64;
    }
    for (&x, &c) in b {
        bins.entry(bin(x)).or_default().1 += c as f64;
    }
    let (na, nb) = (
        a.values().sum::<u64>() as f64,
        b.values().sum::<u64>() as f64,
    );
    let (ka, kb) = ((nb / na).sqrt(), (na / nb).sqrt());
    let statistic = bins
        .values()
        .map(|(x, y)| (ka * x - kb * y).powi(2) / (x + y))
        .sum();
    (statistic, bins.len() - 1)
}

/// Asserts the test statistic is below the critical value.
pub fn assert_fits(what: &str, (statistic, df): (f64, usize)) {
    let critical = chi2_critical(df);
    assert!(
        statistic < critical,
        "{what}: χ² = {statistic:.1} with {df} df exceeds {critical:.1}"
    );
}
