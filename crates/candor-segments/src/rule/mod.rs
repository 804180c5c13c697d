//! The segment rule language: a small typed expression language over profile features.
//!
//! ```text
//! interest("Comedy") >= 0.3 and views(30d) >= 5 and not purchased_in("Drama", 7d)
//! ```
//!
//! Text goes through a hand-written lexer, a recursive-descent parser ([`parse`]) and a type
//! checker that lowers the tree into a typed form; [`Rule::parse`] does all three, once, when
//! a segment is created, and [`Rule::matches`] then runs the typed form for each person.
//! Nothing in a rule is ever executed as code: it can only read the features in
//! [`features::FEATURES`].
//!
//! Limits: [`RULE_BYTES_MAX`] bytes of text and [`RULE_DEPTH_MAX`] levels of nesting, so that
//! no rule can exhaust memory or the stack.

mod ast;
mod check;
mod eval;
pub mod features;
mod lexer;
mod parser;

use std::fmt;

use candor_domain::time::Timestamp;

pub use ast::{Call, CmpOp, Expr, ExprKind};
pub use eval::{Clause, Explanation, ProfileView, TestProfile, Value, in_window};
pub use features::{AttributeSpec, FeatureKind, FeatureSpec, Type};
pub use lexer::{WINDOW_DAYS_MAX, Window};

/// Longest rule accepted, in bytes.
pub const RULE_BYTES_MAX: usize = 4096;

/// Deepest nesting of parentheses, `not` and argument lists accepted.
pub const RULE_DEPTH_MAX: usize = 32;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where a piece of a rule was written: byte offsets into the text and the position of its
/// first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// Line and column of the first character.
    pub pos: Pos,
}

impl Span {
    /// The span from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end.max(self.end),
            pos: self.pos,
        }
    }
}

/// What kind of mistake a rule has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleErrorKind {
    /// Longer than [`RULE_BYTES_MAX`].
    TooLong,
    /// Nested deeper than [`RULE_DEPTH_MAX`].
    TooDeep,
    /// Not a well-formed rule.
    Syntax,
    /// A feature or attribute name that does not exist.
    UnknownFeature,
    /// A feature called with the wrong number of arguments.
    Arity,
    /// Values of the wrong type.
    Type,
}

impl RuleErrorKind {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            RuleErrorKind::TooLong => "rule_too_long",
            RuleErrorKind::TooDeep => "rule_too_deep",
            RuleErrorKind::Syntax => "syntax_error",
            RuleErrorKind::UnknownFeature => "unknown_feature",
            RuleErrorKind::Arity => "wrong_arity",
            RuleErrorKind::Type => "type_error",
        }
    }
}

/// A rule refused, with the position of the mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct RuleError {
    /// What kind of mistake.
    pub kind: RuleErrorKind,
    /// Where.
    pub pos: Pos,
    /// A sentence for the operator.
    pub message: String,
}

impl RuleError {
    pub(crate) fn new(kind: RuleErrorKind, pos: Pos, message: String) -> RuleError {
        RuleError { kind, pos, message }
    }
}

/// Parses rule text into its syntax tree, without type checking.
pub fn parse(src: &str) -> Result<Expr, RuleError> {
    if src.len() > RULE_BYTES_MAX {
        return Err(RuleError::new(
            RuleErrorKind::TooLong,
            Pos { line: 1, column: 1 },
            format!(
                "the rule is {} bytes; the limit is {RULE_BYTES_MAX}",
                src.len()
            ),
        ));
    }
    let tokens = lexer::lex(src)?;
    parser::parse_tokens(&tokens)
}

/// A parsed and type-checked rule, ready to run against many profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    source: String,
    ast: Expr,
    compiled: check::BoolNode,
}

impl Rule {
    /// Parses and type-checks a rule.
    pub fn parse(src: &str) -> Result<Rule, RuleError> {
        let ast = parse(src)?;
        let compiled = check::check_rule(&ast)?;
        Ok(Rule {
            source: src.to_owned(),
            ast,
            compiled,
        })
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The syntax tree, for the linter and for display.
    pub fn ast(&self) -> &Expr {
        &self.ast
    }

    /// Whether the person matches. Allocation-free; cost is one walk over the typed tree plus
    /// whatever the profile's methods cost.
    pub fn matches(&self, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> bool {
        eval::eval_bool(&self.compiled, profile, now)
    }

    /// The longest window of events the rule reads (views and purchases), or `None` when it
    /// reads no event at all: a caller loading people for this rule can leave out every event
    /// older than `now - window`, or every event, without changing a single answer.
    pub fn event_window(&self) -> Option<Window> {
        self.compiled.event_window()
    }

    /// The value of each clause for one person, for "You are in 'Runners' because ...".
    pub fn explain(&self, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> Explanation {
        let matched = self.matches(profile, now);
        eval::explain(&self.source, &self.ast, matched, profile, now)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Free-function form of [`Rule::explain`].
pub fn explain(rule: &Rule, profile: &(impl ProfileView + ?Sized), now: Timestamp) -> Explanation {
    rule.explain(profile, now)
}
