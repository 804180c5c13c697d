//! candor-analytics' tests: one binary, a module per area.

mod accuracy;
mod bound;
mod budget;
mod privacy;
mod reference;
mod report;
mod samplers;
mod select;
mod stats;

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A generator with a fixed seed: every statistical test sees the same draws on every run.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
