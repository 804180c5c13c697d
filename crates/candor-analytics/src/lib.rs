//! Candor's privacy-preserving analytics core: reports about people that no one can be singled
//! out from.
//!
//! A report is computed in four pure steps:
//!
//! 1. [`bound`]: each person counts in at most C cells per period, with at most N rows per cell
//!    and values clamped to [0, U], so one person's influence (the sensitivity) is known;
//! 2. [`noise`] and [`sample`]: exact discrete Laplace or discrete Gaussian noise, sampled with
//!    integer arithmetic only, calibrated to that sensitivity and the measure's ε;
//! 3. [`select`]: a cell is shown only when its noisy count of people clears a threshold
//!    derived from (ε, δ), so an item or category seen by very few people never appears;
//! 4. [`budget`]: the report's (ε, δ) is charged to its family's budget for each period it
//!    covers, and refused when that would overspend.
//!
//! [`report`] strings them together; [`accuracy`] states the 95 % interval of every number and
//! the curve of relative error against cell size.
//!
//! **Architecture invariant:** no IO, no clock. Randomness comes only from the generator the
//! caller passes (`rand` 0.8's `Rng`); the server passes one seeded from the operating system,
//! the tests fixed seeds.
//!
//! # Why not the `opendp` crate
//!
//! OpenDP is the reference these mechanisms are tested against (`tests/it/reference.rs` compares
//! sample histograms with ones from OpenDP's Python package, `reference/make_fixtures.py`), but
//! it is not a dependency, for four reasons found in its 0.16 release:
//!
//! - its default features build OpenSSL from C source (`openssl-src`, pinned to `=300.3.1`),
//!   which Candor's build avoids everywhere (rustls with ring, no OpenSSL);
//! - without that feature it draws its randomness from `rand` 0.7's thread generator and labels
//!   this insecure; either way it reads its own entropy, so noise cannot come from a generator
//!   the caller passes and the statistical tests could not use fixed seeds;
//! - it needs Rust 1.88 while the workspace promises 1.85, and brings `rand` 0.7, `num` 0.3,
//!   `statrs`, `dashu` and proc-macro tooling into a single binary for the few mechanisms used
//!   here;
//! - those mechanisms are short and well specified (Canonne, Kamath & Steinke 2020), so their
//!   exactness is reviewable in [`sample`], and their distribution is checked against OpenDP's.

pub mod accuracy;
pub mod bound;
pub mod budget;
mod error;
pub mod noise;
mod ratio;
pub mod report;
pub mod sample;
pub mod select;

pub use bound::{BoundingKey, Bounds, CellKey, PersonKey, Row, Sensitivity};
pub use budget::{BudgetLedger, Delta, Epsilon, PrivacyCost, ReportFamily};
pub use error::AnalyticsError;
pub use noise::{Calibrated, Noise, Released};
pub use ratio::{RATIO_PART_MAX, Ratio};
pub use report::{
    Granularity, Measure, Mechanism, Report, ReportConfig, charge_and_release, release,
};
