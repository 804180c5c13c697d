//! Noise mechanisms as values: which distribution, at which scale, calibrated from a
//! sensitivity and a privacy cost; their exact pmf and their exact 95 % interval.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::budget::{Delta, EPSILON_UNITS, Epsilon};
use crate::{AnalyticsError, Ratio, sample};

/// The coverage of every interval this crate publishes.
pub const COVERAGE: f64 = 0.95;

/// Denominator of a discrete Gaussian's σ² (rounded up to a multiple of 1/1000).
const SIGMA2_DEN: u64 = 1000;

/// The noise added to one released number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mechanism", rename_all = "snake_case")]
pub enum Noise {
    /// Discrete Laplace, P(z) ∝ exp(−|z|/scale).
    DiscreteLaplace {
        /// The scale t.
        scale: Ratio,
    },
    /// Discrete Gaussian, P(z) ∝ exp(−z²/(2σ²)).
    DiscreteGaussian {
        /// The variance parameter σ².
        sigma2: Ratio,
    },
}

/// The discrete Laplace scale Δ₁/ε giving ε-differential privacy to a value of L1 sensitivity
/// `l1`; refuses ε = 0 and scales above 2^48.
pub fn laplace_scale(l1: u64, epsilon: Epsilon) -> Result<Ratio, AnalyticsError> {
    if epsilon.micros() == 0 {
        return Err(AnalyticsError::invalid(
            "epsilon",
            "a noisy release needs ε > 0",
        ));
    }
    let num = l1
        .checked_mul(EPSILON_UNITS)
        .ok_or_else(|| AnalyticsError::invalid("bounds", "the sensitivity is too large"))?;
    Ratio::new(num, epsilon.micros()).map_err(|_| {
        AnalyticsError::invalid("bounds", "the noise scale (sensitivity / ε) is above 2^48")
    })
}

impl Noise {
    /// Discrete Laplace noise giving ε-differential privacy to a value of L1 sensitivity
    /// `l1`: scale = Δ₁/ε, exact because ε is a count of millionths.
    pub fn laplace(l1: u64, epsilon: Epsilon) -> Result<Noise, AnalyticsError> {
        laplace_scale(l1, epsilon).map(|scale| Noise::DiscreteLaplace { scale })
    }

    /// Discrete Gaussian noise giving (ε, δ)-differential privacy to a value whose squared L2
    /// sensitivity is `l2_squared`. The discrete Gaussian with variance σ² is ρ-zCDP with
    /// ρ = Δ₂²/(2σ²) (Canonne, Kamath & Steinke 2020), and ρ-zCDP implies
    /// (ρ + 2√(ρ ln(1/δ)), δ)-DP (Bun & Steinke 2016); the largest ρ within ε is
    /// (√(ln(1/δ) + ε) − √(ln(1/δ)))². σ² is rounded up, which only adds noise.
    pub fn gaussian(
        l2_squared: u64,
        epsilon: Epsilon,
        delta: Delta,
    ) -> Result<Noise, AnalyticsError> {
        if epsilon.micros() == 0 || delta.units() == 0 {
            return Err(AnalyticsError::invalid(
                "delta",
                "the Gaussian mechanism needs ε > 0 and δ > 0",
            ));
        }
        let log_inv_delta = -delta.as_f64().ln();
        let rho = ((log_inv_delta + epsilon.as_f64()).sqrt() - log_inv_delta.sqrt()).powi(2);
        // Shave ρ by a relative 1e-9 so rounding in the float arithmetic above cannot make σ²
        // smaller than the exact one.
        let sigma2 = l2_squared as f64 / (2.0 * rho * (1.0 - 1e-9));
        let num = (sigma2 * SIGMA2_DEN as f64).ceil();
        if !num.is_finite() || num >= crate::ratio::RATIO_PART_MAX as f64 {
            return Err(AnalyticsError::invalid(
                "bounds",
                "the Gaussian noise variance is above 2^38",
            ));
        }
        Ok(Noise::DiscreteGaussian {
            sigma2: Ratio::new(num as u64, SIGMA2_DEN)?,
        })
    }

    /// One draw of this noise.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
        match *self {
            Noise::DiscreteLaplace { scale } => sample::discrete_laplace(rng, scale),
            Noise::DiscreteGaussian { sigma2 } => sample::discrete_gaussian(rng, sigma2),
        }
    }

    /// The noise's standard deviation, for display beside the number.
    pub fn std_dev(&self) -> f64 {
        match *self {
            Noise::DiscreteLaplace { scale } => {
                // Var = 2q/(1−q)², q = exp(−1/t).
                let q = (-1.0 / scale.as_f64()).exp();
                (2.0 * q).sqrt() / (1.0 - q)
            }
            Noise::DiscreteGaussian { sigma2 } => {
                // Below σ for small σ, so summed; from σ = 2 on, the difference is below
                // double precision (Poisson summation, as for the normalizer).
                let s2 = sigma2.as_f64();
                if s2 >= 4.0 {
                    return s2.sqrt();
                }
                let var: f64 = (1..=64)
                    .map(|z| 2.0 * (z as f64).powi(2) * self.pmf(z))
                    .sum();
                var.sqrt()
            }
        }
    }

    /// P(noise = z), from the closed form (Laplace) or the normalized sum (Gaussian).
    pub fn pmf(&self, z: i64) -> f64 {
        match *self {
            Noise::DiscreteLaplace { scale } => {
                let q = (-1.0 / scale.as_f64()).exp();
                (1.0 - q) / (1.0 + q) * q.powf(z.unsigned_abs() as f64)
            }
            Noise::DiscreteGaussian { sigma2 } => {
                let s2 = sigma2.as_f64();
                (-(z as f64).powi(2) / (2.0 * s2)).exp() / gaussian_normalizer(s2)
            }
        }
    }

    /// The smallest k with P(|noise| ≤ k) ≥ 95 %: the released value ± k is the exact 95 %
    /// interval of the noise distribution.
    pub fn half_width_95(&self) -> u64 {
        match *self {
            Noise::DiscreteLaplace { scale } => {
                // P(|Z| > k) = 2 q^(k+1) / (1 + q): solve, then settle the float's rounding by
                // stepping to the exact smallest k.
                let t = scale.as_f64();
                let q = (-1.0 / t).exp();
                let outside = |k: u64| 2.0 * q.powf(k as f64 + 1.0) / (1.0 + q);
                let guess = (t * (2.0 / ((1.0 - COVERAGE) * (1.0 + q))).ln() - 1.0)
                    .ceil()
                    .max(0.0);
                let mut k = guess as u64;
                while k > 0 && outside(k - 1) <= 1.0 - COVERAGE {
                    k -= 1;
                }
                while outside(k) > 1.0 - COVERAGE {
                    k += 1;
                }
                k
            }
            Noise::DiscreteGaussian { sigma2 } => {
                // p(z + 1) = p(z) · r^(2z+1), r = exp(−1/(2σ²)): one multiplication a step, so a
                // σ of hundreds of thousands costs milliseconds.
                let r = (-1.0 / (2.0 * sigma2.as_f64())).exp();
                let (mut p, mut ratio) = (self.pmf(0), r);
                let mut inside = p;
                let mut k = 0;
                while inside < COVERAGE {
                    p *= ratio;
                    ratio *= r * r;
                    inside += 2.0 * p;
                    k += 1;
                }
                k
            }
        }
    }
}

/// Σ_z exp(−z²/(2σ²)). For σ ≥ 2 Poisson summation gives √(2π)·σ·(1 + 2Σ exp(−2π²σ²m²)), whose
/// correction is below 1e-34, so √(2π)·σ is exact in double precision; below, sum directly.
fn gaussian_normalizer(s2: f64) -> f64 {
    if s2 >= 4.0 {
        return (2.0 * std::f64::consts::PI * s2).sqrt();
    }
    let mut total = 1.0;
    for z in 1..=64 {
        total += 2.0 * (-(z as f64).powi(2) / (2.0 * s2)).exp();
    }
    total
}

/// A noise distribution with what is shown beside every number it noises, computed once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibrated {
    /// The distribution.
    pub noise: Noise,
    /// Its standard deviation.
    pub std_dev: f64,
    /// Half the width of the exact 95 % interval ([`Noise::half_width_95`]).
    pub ci95_half_width: u64,
}

impl Calibrated {
    /// Computes the standard deviation and the interval's half width.
    pub fn new(noise: Noise) -> Self {
        Calibrated {
            noise,
            std_dev: noise.std_dev(),
            ci95_half_width: noise.half_width_95(),
        }
    }
}

/// A noisy number with its noise: what every report publishes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Released {
    /// The true value plus noise. Not clamped: clamping negatives to zero would bias the
    /// interval.
    pub value: i64,
    /// The noise distribution.
    pub noise: Noise,
    /// Its standard deviation.
    pub noise_std_dev: f64,
    /// Lower end of the 95 % interval.
    pub ci95_low: i64,
    /// Upper end of the 95 % interval.
    pub ci95_high: i64,
}

impl Released {
    /// Adds one draw of the noise to `exact`.
    pub fn draw<R: Rng + ?Sized>(exact: i64, noise: &Calibrated, rng: &mut R) -> Released {
        let value = exact.saturating_add(noise.noise.sample(rng));
        let k = i64::try_from(noise.ci95_half_width).unwrap_or(i64::MAX);
        Released {
            value,
            noise: noise.noise,
            noise_std_dev: noise.std_dev,
            ci95_low: value.saturating_sub(k),
            ci95_high: value.saturating_add(k),
        }
    }
}
