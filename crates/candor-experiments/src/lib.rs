//! Candor's experiments core: A/B tests of recommendation strategies and campaigns, with a
//! global holdout, consent-aware assignment and statistics that stay sound under peeking.
//!
//! * [`definition`]: experiments as policy-versioned data, and [`validate`], which refuses
//!   bad definitions with stable codes.
//! * [`assign`]: deterministic bucketing by SHA-256, the holdout first, stickiness across
//!   identify, enrollment only with consent.
//! * [`outcome`]: per-person outcomes in windows after first exposure, clicks attributed by
//!   list id, nothing counted while consent is withdrawn.
//! * [`stats`]: Welch's t-test, the delta method, CUPED, the sample-ratio check.
//! * [`sequential`]: the mixture SPRT's always-valid p-values and confidence sequences.
//! * [`adjust`]: Holm and Benjamini–Hochberg.
//! * [`report`] and [`render`]: k-suppressed results as Markdown, JSON and SVG.
//!
//! **Architecture invariant:** this crate is pure. It does no IO, reads no clock (callers
//! pass `now` as Unix milliseconds) and draws no random numbers; consent arrives as the
//! caller's verdict, derived from the ledger on the request at hand.

pub mod adjust;
pub mod assign;
pub mod definition;
pub mod outcome;
pub mod render;
pub mod report;
pub mod sequential;
pub mod stats;

pub use adjust::{Adjustment, benjamini_hochberg, holm};
pub use assign::{
    Arm, Assignment, Decision, NotEnrolled, Subject, arm_for, assign, bucket, carry_over,
};
pub use definition::{
    BUCKETS, Context, DefinitionError, Denominator, Direction, Experiment, Guardrail, HOLDOUT_ARM,
    Metric, MetricKind, Target, Variant, VariantSettings, validate,
};
pub use outcome::{
    Event, Exposure, MetricOutcomes, Observations, PersonOutcome, Withdrawn, outcomes,
    withdrawn_periods,
};
pub use report::{Report, ReportConfig, Sequential, report, report_after};
pub use sequential::{SequentialLook, SequentialState, msprt};
pub use stats::{
    Cuped, Estimate, RatioSummary, Srm, StatsError, Summary, cuped, delta_ratio, srm, welch, z_test,
};
