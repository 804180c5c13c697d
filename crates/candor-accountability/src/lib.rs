//! Candor's accountability core: the evidence that the rules held.
//!
//! * [`audit`]: a hash-chained, tamper-evident log of consent changes, data-subject requests,
//!   policy changes and operator access, with verification that names the first bad entry.
//! * [`fairness`]: selection rates, demographic parity, equalized odds and the four-fifths
//!   flag per group, with small groups suppressed.
//! * [`attributes`]: the self-declared protected attributes those metrics group by, which no
//!   other crate can read.
//! * [`exposure`]: item-side exposure by provider and by popularity, coverage, Gini.
//! * [`render`]: the reports as Markdown and self-contained SVG.
//!
//! **Architecture invariant:** this crate is pure. It does no IO, reads no clock (callers pass
//! `now` as Unix milliseconds) and draws no random numbers, so every function is a
//! deterministic function of its arguments and the tests need no set-up.

pub mod attributes;
pub mod audit;
pub mod exposure;
pub mod fairness;
pub mod render;

pub use attributes::{AttributeError, AttributeKind, AuditAttributes};
pub use audit::{
    Actor, AuditAction, AuditDetails, AuditDraft, AuditEntry, AuditError, BreakKind, ChainBreak,
    ChainHead, PurposeRef, TargetRef, VerifyOutcome, next_entry, verify, verify_against_anchor,
};
pub use exposure::{CatalogItem, ExposureCounts, ItemExposureReport, item_exposure_report};
pub use fairness::{
    Alert, FairnessError, FairnessReport, GroupTally, K_MIN_DEFAULT, Method, MetricFrame,
    PARITY_ALERT_THRESHOLD_DEFAULT, fairness_report, parity_alert,
};
pub use render::{bar_chart_svg, fairness_report_markdown, fairness_report_svg, line_chart_svg};
