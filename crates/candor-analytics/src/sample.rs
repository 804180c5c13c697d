//! Exact samplers: Bernoulli(p) for rational p, Bernoulli(exp(−γ)) for rational γ, the discrete
//! Laplace and the discrete Gaussian (Canonne, Kamath & Steinke, "The Discrete Gaussian for
//! Differential Privacy", 2020, algorithms 1–3).
//!
//! Every decision compares a uniform integer from the caller's generator with an exact
//! fraction; no floating-point number is involved, so the output distribution is exactly the
//! stated one (up to the generator's quality). Floating-point Laplace noise is attackable: the
//! set of doubles it can produce depends on the input, which can reveal the true value.
//!
//! The running time is random (rejection sampling) and depends on the parameters, not on the
//! private data: the parameters come from the sensitivity and ε, both public.

use num_bigint::{BigUint, RandBigInt};
use num_traits::ToPrimitive;
use rand::Rng;

use crate::Ratio;

/// One draw from Bernoulli(p) for a rational `p` in \[0, 1\]; a `p` above 1 is treated as 1.
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: Ratio) -> bool {
    p.num() >= p.den() || rng.gen_range(0..p.den()) < p.num()
}

/// A rational γ' = num/den in \[0, 1), the fractional part of a γ: machine integers while they
/// fit, which is every draw of the discrete Laplace, and big integers for the discrete
/// Gaussian's squared offsets.
enum Fraction {
    Small(u64, u64),
    Big(BigUint, BigUint),
}

impl Fraction {
    /// One draw from Bernoulli(γ'/k).
    fn bernoulli_over<R: Rng + ?Sized>(&self, rng: &mut R, k: u64) -> bool {
        match self {
            Fraction::Small(num, den) => {
                rng.gen_range(0..u128::from(*den) * u128::from(k)) < u128::from(*num)
            }
            Fraction::Big(num, den) => rng.gen_biguint_below(&(den * k)) < *num,
        }
    }
}

/// Bernoulli(exp(−γ')) for γ' in \[0, 1\] (CKS algorithm 1): the number of successive successes
/// of Bernoulli(γ'/k), k = 1, 2, …, is even with probability exp(−γ').
fn bernoulli_exp_neg_unit<R: Rng + ?Sized>(rng: &mut R, gamma: &Fraction) -> bool {
    let mut k = 1;
    while gamma.bernoulli_over(rng, k) {
        k += 1;
    }
    // k − 1 successes happened.
    k % 2 == 1
}

/// Bernoulli(exp(−γ)) for γ = `whole` + `frac`: exp(−γ) = exp(−1)^whole · exp(−frac), each
/// factor an independent draw. (A `whole` saturated at 2^64 − 1 changes a probability below
/// e^(−2^64) only.)
fn bernoulli_exp_neg_split<R: Rng + ?Sized>(rng: &mut R, whole: u64, frac: &Fraction) -> bool {
    let one = Fraction::Small(1, 1);
    for _ in 0..whole {
        if !bernoulli_exp_neg_unit(rng, &one) {
            return false;
        }
    }
    bernoulli_exp_neg_unit(rng, frac)
}

/// One draw from Bernoulli(exp(−γ)) for a rational `γ ≥ 0`.
pub fn bernoulli_exp_neg<R: Rng + ?Sized>(rng: &mut R, gamma: Ratio) -> bool {
    let (num, den) = (gamma.num(), gamma.den());
    bernoulli_exp_neg_split(rng, num / den, &Fraction::Small(num % den, den))
}

/// Bernoulli(exp(−num/den)) for big integers.
fn bernoulli_exp_neg_big<R: Rng + ?Sized>(rng: &mut R, num: &BigUint, den: &BigUint) -> bool {
    let whole = (num / den).to_u64().unwrap_or(u64::MAX);
    bernoulli_exp_neg_split(rng, whole, &Fraction::Big(num % den, den.clone()))
}

/// One draw from the discrete Laplace distribution with rational scale `t > 0`:
/// P(x) ∝ exp(−|x|/t) on the integers (CKS algorithm 2). Adding it to a count whose L1
/// sensitivity is Δ gives (Δ/t)-differential privacy.
///
/// A zero scale returns 0 (no noise): callers never pass one, since [`crate::noise`] derives
/// scales from a positive ε.
pub fn discrete_laplace<R: Rng + ?Sized>(rng: &mut R, scale: Ratio) -> i64 {
    if scale.num() == 0 {
        return 0;
    }
    // Scale t = num/den: U uniform in [0, num) and V geometric give X = U + num·V, geometric
    // with parameter exp(−1/num); ⌊X/den⌋ is then geometric with parameter exp(−1/t).
    let (t, s) = (scale.num(), scale.den());
    let one = Fraction::Small(1, 1);
    loop {
        let u = rng.gen_range(0..t);
        if !bernoulli_exp_neg_unit(rng, &Fraction::Small(u, t)) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp_neg_unit(rng, &one) {
            v += 1;
        }
        let x = u128::from(u) + u128::from(t) * v;
        let y = x / u128::from(s);
        let negative: bool = rng.r#gen();
        if negative && y == 0 {
            continue;
        }
        // |y| beyond i64 needs v > 2^15 successes in a row of a Bernoulli(e⁻¹): probability
        // below e^(−32768), so saturating changes no distribution one could ever observe.
        let y = i64::try_from(y).unwrap_or(i64::MAX);
        return if negative { -y } else { y };
    }
}

/// One draw from the discrete Gaussian with rational variance parameter `σ² > 0`:
/// P(x) ∝ exp(−x²/(2σ²)) on the integers (CKS algorithm 3: a discrete Laplace proposal with
/// integer scale t = ⌊σ⌋ + 1, accepted with probability exp(−(|y| − σ²/t)²/(2σ²))).
pub fn discrete_gaussian<R: Rng + ?Sized>(rng: &mut R, sigma2: Ratio) -> i64 {
    if sigma2.num() == 0 {
        return 0;
    }
    let (n, d) = (sigma2.num(), sigma2.den());
    // ⌊σ⌋ = ⌊√⌊σ²⌋⌋.
    let t = (n / d).isqrt() + 1;
    let proposal = Ratio::integer(t).expect("⌊σ⌋ + 1 is at most 2^24 + 1 for σ² below 2^48");
    let (n_big, d_big, t_big) = (BigUint::from(n), BigUint::from(d), BigUint::from(t));
    // γ = (|y| − n/(d·t))² / (2n/d) = (|y|·d·t − n)² / (2·n·d·t²).
    let den: BigUint = 2u32 * &n_big * &d_big * &t_big * &t_big;
    let dt = &d_big * &t_big;
    loop {
        let y = discrete_laplace(rng, proposal);
        let scaled = BigUint::from(y.unsigned_abs()) * &dt;
        let diff = if scaled >= n_big {
            scaled - &n_big
        } else {
            &n_big - scaled
        };
        if bernoulli_exp_neg_big(rng, &(&diff * &diff), &den) {
            return y;
        }
    }
}
