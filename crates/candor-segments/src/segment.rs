//! A named segment: a rule, the purpose it serves, and the linter's verdict, checked once at
//! creation.

use candor_domain::ids::PurposeId;
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;

use crate::lint::{LintIssue, LintReport, lint};
use crate::rule::{Explanation, ProfileView, Rule, RuleError};

/// Longest segment name, in bytes; names are shown to people in sentences.
pub const SEGMENT_NAME_BYTES_MAX: usize = 100;

/// Why a segment was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SegmentError {
    /// Empty, too long, or with control characters.
    #[error("segment names are 1 to {SEGMENT_NAME_BYTES_MAX} bytes of printable text")]
    InvalidName,
    /// The purpose is not a valid id.
    #[error("`{0}` is not a purpose id")]
    InvalidPurpose(String),
    /// The rule does not parse or type-check.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// The linter refused the rule.
    #[error("{0}")]
    Lint(LintReport),
}

/// A segment that passed the type checker and the linter.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    name: String,
    purpose: PurposeId,
    rule: Rule,
    warnings: Vec<LintIssue>,
}

impl Segment {
    /// Parses, checks and lints a segment serving `purpose`.
    pub fn create(
        name: &str,
        rule: &str,
        purpose: &str,
        policy: &Policy,
    ) -> Result<Segment, SegmentError> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > SEGMENT_NAME_BYTES_MAX
            || name.chars().any(char::is_control)
        {
            return Err(SegmentError::InvalidName);
        }
        let purpose = PurposeId::parse(purpose)
            .map_err(|_| SegmentError::InvalidPurpose(purpose.to_owned()))?;
        let rule = Rule::parse(rule)?;
        let report = lint(rule.ast(), &purpose, policy);
        if !report.is_ok() {
            return Err(SegmentError::Lint(report));
        }
        Ok(Segment {
            name: name.to_owned(),
            purpose,
            rule,
            warnings: report.warnings,
        })
    }

    /// The name shown to people.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The purpose it serves.
    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }

    /// The rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Proxy warnings to show the operator.
    pub fn warnings(&self) -> &[LintIssue] {
        &self.warnings
    }

    /// Whether the person is in the segment.
    pub fn matches(&self, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> bool {
        self.rule.matches(profile, now)
    }

    /// The clause-by-clause explanation for one person.
    pub fn explain(&self, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> Explanation {
        self.rule.explain(profile, now)
    }

    /// The sentence for the privacy center: "You are in 'Runners' because views(30d) = 12 >= 5."
    pub fn sentence(&self, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> String {
        self.explain(profile, now).sentence(&self.name)
    }
}
