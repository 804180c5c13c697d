//! The linter run when a segment is created: it judges what a rule reads against the policy.
//!
//! * Every feature must read only data categories the segment's purpose allows.
//! * Sensitive and protected categories are refused whatever the purpose, even one marked
//!   `sensitive`: such a purpose may exist for fairness audits, and segments must never
//!   select people by those characteristics.
//! * Attributes the policy declares as likely proxies for protected characteristics warn.

use std::fmt;

use candor_domain::ids::{CategoryId, PurposeId};
use candor_domain::policy::{CategoryClass, Policy, Purpose};

use crate::rule::features::{self, FeatureKind};
use crate::rule::{Expr, ExprKind, Pos};

/// What a lint finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LintCode {
    /// The segment names a purpose the policy does not declare.
    UnknownPurpose,
    /// A feature reads a category the purpose does not allow.
    CategoryNotAllowed,
    /// A feature reads a sensitive category.
    SensitiveCategory,
    /// A feature reads a protected characteristic.
    ProtectedCategory,
    /// A feature reads a category missing from the policy's taxonomy.
    UnknownCategory,
    /// A feature reads a declared likely proxy for a protected characteristic.
    ProxyAttribute,
}

impl LintCode {
    /// A stable machine-readable code.
    pub fn as_str(self) -> &'static str {
        match self {
            LintCode::UnknownPurpose => "unknown_purpose",
            LintCode::CategoryNotAllowed => "category_not_allowed",
            LintCode::SensitiveCategory => "sensitive_category",
            LintCode::ProtectedCategory => "protected_category",
            LintCode::UnknownCategory => "unknown_category",
            LintCode::ProxyAttribute => "proxy_attribute",
        }
    }
}

/// One finding, with the position of the feature it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintIssue {
    /// What it is about.
    pub code: LintCode,
    /// Where in the rule.
    pub pos: Pos,
    /// A sentence for the operator naming the feature, the category and the purpose.
    pub message: String,
}

impl fmt::Display for LintIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Everything the linter found. A segment with errors must not be created; warnings are
/// shown to the operator, who may go ahead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintReport {
    /// Findings that refuse the segment.
    pub errors: Vec<LintIssue>,
    /// Findings to show.
    pub warnings: Vec<LintIssue>,
}

impl LintReport {
    /// Whether the segment may be created.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Lints a rule's syntax tree for a segment serving `purpose`.
///
/// Calls of unknown features are skipped: the type checker reports those.
pub fn lint(rule: &Expr, purpose: &PurposeId, policy: &Policy) -> LintReport {
    let mut report = LintReport::default();
    let serves = policy.purpose(purpose);
    if serves.is_none() {
        report.errors.push(LintIssue {
            code: LintCode::UnknownPurpose,
            pos: rule.span.pos,
            message: format!("the policy declares no purpose `{purpose}`"),
        });
    }
    walk(rule, &mut |e| {
        if let ExprKind::Call(call) = &e.kind {
            lint_call(e, call, purpose, serves, policy, &mut report);
        }
    });
    report
}

/// Visits every node; recursion is bounded by the parser's depth limit.
fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Call(call) => call.args.iter().for_each(|a| walk(a, f)),
        ExprKind::Not(inner) => walk(inner, f),
        ExprKind::And(items) | ExprKind::Or(items) => items.iter().for_each(|a| walk(a, f)),
        ExprKind::Compare(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        _ => {}
    }
}

fn lint_call(
    e: &Expr,
    call: &crate::rule::Call,
    purpose: &PurposeId,
    serves: Option<&Purpose>,
    policy: &Policy,
    report: &mut LintReport,
) {
    let Some(spec) = features::feature(&call.name) else {
        return;
    };
    let shown = |e: &Expr| -> String {
        // Rebuilt from the tree, since the linter is not handed the source text.
        let args: Vec<String> = match &e.kind {
            ExprKind::Call(c) => c.args.iter().map(|a| a.to_string()).collect(),
            _ => Vec::new(),
        };
        format!("{}({})", call.name, args.join(", "))
    };
    let mut categories: Vec<&str> = spec.categories.to_vec();
    let mut attribute_name = None;
    if spec.kind == FeatureKind::Attribute {
        let Some(ExprKind::Str(name)) = call.args.first().map(|a| &a.kind) else {
            return;
        };
        let Some(attr) = features::attribute(name) else {
            return;
        };
        categories.push(attr.category);
        attribute_name = Some(name.as_str());
    }
    let feature = shown(e);
    for cat in categories {
        let class = CategoryId::parse(cat)
            .ok()
            .and_then(|id| policy.category(&id))
            .map(|c| c.class);
        match class {
            None => report.errors.push(LintIssue {
                code: LintCode::UnknownCategory,
                pos: e.span.pos,
                message: format!(
                    "`{feature}` reads the data category `{cat}`, which the policy does not declare"
                ),
            }),
            Some(CategoryClass::Sensitive) => report.errors.push(LintIssue {
                code: LintCode::SensitiveCategory,
                pos: e.span.pos,
                message: format!(
                    "`{feature}` reads `{cat}`, a sensitive category; segments may never use sensitive data, whatever the purpose"
                ),
            }),
            Some(CategoryClass::Protected) => report.errors.push(LintIssue {
                code: LintCode::ProtectedCategory,
                pos: e.span.pos,
                message: format!(
                    "`{feature}` reads `{cat}`, a protected characteristic; segments may never select people by it, whatever the purpose"
                ),
            }),
            Some(CategoryClass::Ordinary) => {
                if let Some(p) = serves
                    && !p.categories.iter().any(|c| c.as_str() == cat)
                {
                    let allowed: Vec<&str> = p.categories.iter().map(|c| c.as_str()).collect();
                    report.errors.push(LintIssue {
                        code: LintCode::CategoryNotAllowed,
                        pos: e.span.pos,
                        message: format!(
                            "`{feature}` reads `{cat}`, which purpose `{purpose}` does not allow (it allows {})",
                            allowed.join(", ")
                        ),
                    });
                }
            }
        }
        let proxy = policy.proxy_attributes.iter().find(|p| {
            Some(p.as_str()) == attribute_name || p.as_str() == call.name || p.as_str() == cat
        });
        if let Some(proxy) = proxy {
            report.warnings.push(LintIssue {
                code: LintCode::ProxyAttribute,
                pos: e.span.pos,
                message: format!(
                    "`{feature}` reads `{proxy}`, which the policy lists as a likely proxy for a protected characteristic; check the audience for fairness"
                ),
            });
        }
    }
}
