//! Positive rationals: the exact parameters of the samplers (a scale t/s, a variance n/d).

use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// The largest numerator or denominator a [`Ratio`] takes. It keeps every sampler's products in
/// range for the conversions to and from `i64` and bounds a scale at 2^48 (far beyond any
/// count's useful noise).
pub const RATIO_PART_MAX: u64 = 1 << 48;

/// A non-negative rational `num / den` in lowest terms, `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RatioParts", into = "RatioParts")]
pub struct Ratio {
    num: u64,
    den: u64,
}

#[derive(Serialize, Deserialize)]
struct RatioParts {
    num: u64,
    den: u64,
}

impl TryFrom<RatioParts> for Ratio {
    type Error = AnalyticsError;
    fn try_from(parts: RatioParts) -> Result<Self, Self::Error> {
        Ratio::new(parts.num, parts.den)
    }
}

impl From<Ratio> for RatioParts {
    fn from(r: Ratio) -> Self {
        RatioParts {
            num: r.num,
            den: r.den,
        }
    }
}

impl Ratio {
    /// `num / den`, reduced; refuses a zero denominator and parts above [`RATIO_PART_MAX`].
    pub fn new(num: u64, den: u64) -> Result<Self, AnalyticsError> {
        if den == 0 {
            return Err(AnalyticsError::invalid(
                "ratio",
                "the denominator must be positive",
            ));
        }
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        if num > RATIO_PART_MAX || den > RATIO_PART_MAX {
            return Err(AnalyticsError::invalid(
                "ratio",
                format!("{num}/{den} has a part above 2^48; use a coarser fraction"),
            ));
        }
        Ok(Ratio { num, den })
    }

    /// The integer `n`.
    pub fn integer(n: u64) -> Result<Self, AnalyticsError> {
        Ratio::new(n, 1)
    }

    /// The numerator (lowest terms).
    pub fn num(self) -> u64 {
        self.num
    }

    /// The denominator (lowest terms, positive).
    pub fn den(self) -> u64 {
        self.den
    }

    /// The nearest `f64`, for display and for the closed-form pmf.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
