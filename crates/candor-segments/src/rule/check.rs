//! The type checker, which also lowers the syntax tree into the typed tree the interpreter
//! runs. Doing both in one walk means a tree that type-checks is exactly a tree that runs.

use super::ast::{Call, CmpOp, Expr, ExprKind};
use super::features::{self, FeatureKind, Type};
use super::lexer::Window;
use super::{RuleError, RuleErrorKind};

/// A condition, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BoolNode {
    Lit(bool),
    Not(Box<BoolNode>),
    And(Box<[BoolNode]>),
    Or(Box<[BoolNode]>),
    CmpNum(CmpOp, NumNode, NumNode),
    CmpStr(CmpOp, StrNode, StrNode),
    CmpBool(CmpOp, Box<BoolNode>, Box<BoolNode>),
    CmpWindow(CmpOp, Window, Window),
    ViewedIn(Box<str>, Window),
    PurchasedIn(Box<str>, Window),
}

impl BoolNode {
    /// The longest window any event feature under this node reads (`views`, `purchases`,
    /// `viewed_in`, `purchased_in`); `None` when none does.
    pub(crate) fn event_window(&self) -> Option<Window> {
        match self {
            BoolNode::Lit(_) | BoolNode::CmpStr(..) | BoolNode::CmpWindow(..) => None,
            BoolNode::Not(inner) => inner.event_window(),
            BoolNode::And(items) | BoolNode::Or(items) => {
                items.iter().filter_map(BoolNode::event_window).max()
            }
            BoolNode::CmpNum(_, a, b) => a.event_window().max(b.event_window()),
            BoolNode::CmpBool(_, a, b) => a.event_window().max(b.event_window()),
            BoolNode::ViewedIn(_, w) | BoolNode::PurchasedIn(_, w) => Some(*w),
        }
    }
}

/// A number-valued expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NumNode {
    Lit(f64),
    Interest(Box<str>),
    Views(Window),
    Purchases(Window),
    DaysSinceLastSeen,
    Attribute(Box<str>),
}

impl NumNode {
    fn event_window(&self) -> Option<Window> {
        match self {
            NumNode::Views(w) | NumNode::Purchases(w) => Some(*w),
            NumNode::Lit(_)
            | NumNode::Interest(_)
            | NumNode::DaysSinceLastSeen
            | NumNode::Attribute(_) => None,
        }
    }
}

/// A string-valued expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StrNode {
    Lit(Box<str>),
    Country,
    Attribute(Box<str>),
}

/// The result of checking one expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed {
    Bool(BoolNode),
    Num(NumNode),
    Str(StrNode),
    Window(Window),
}

impl Typed {
    fn ty(&self) -> Type {
        match self {
            Typed::Bool(_) => Type::Bool,
            Typed::Num(_) => Type::Number,
            Typed::Str(_) => Type::String,
            Typed::Window(_) => Type::Duration,
        }
    }
}

/// Checks a whole rule, which must be a condition.
pub(crate) fn check_rule(expr: &Expr) -> Result<BoolNode, RuleError> {
    match check(expr)? {
        Typed::Bool(b) => Ok(b),
        other => Err(type_error(
            expr,
            format!(
                "a segment rule must be a condition (bool), but this is a {}; compare it with something, e.g. `... >= 1`",
                other.ty()
            ),
        )),
    }
}

fn type_error(expr: &Expr, message: String) -> RuleError {
    RuleError::new(RuleErrorKind::Type, expr.span.pos, message)
}

/// Checks an expression of any type. Recursion is bounded by the parser's depth limit.
pub(crate) fn check(expr: &Expr) -> Result<Typed, RuleError> {
    Ok(match &expr.kind {
        ExprKind::Number(n) => Typed::Num(NumNode::Lit(*n)),
        ExprKind::Str(s) => Typed::Str(StrNode::Lit(s.as_str().into())),
        ExprKind::Window(w) => Typed::Window(*w),
        ExprKind::Bool(b) => Typed::Bool(BoolNode::Lit(*b)),
        ExprKind::Call(call) => check_call(call)?,
        ExprKind::Not(inner) => Typed::Bool(BoolNode::Not(Box::new(condition(inner, "not")?))),
        ExprKind::And(items) => Typed::Bool(BoolNode::And(
            items
                .iter()
                .map(|e| condition(e, "and"))
                .collect::<Result<_, _>>()?,
        )),
        ExprKind::Or(items) => Typed::Bool(BoolNode::Or(
            items
                .iter()
                .map(|e| condition(e, "or"))
                .collect::<Result<_, _>>()?,
        )),
        ExprKind::Compare(op, a, b) => {
            let (ta, tb) = (check(a)?, check(b)?);
            let node = match (ta, tb) {
                (Typed::Num(x), Typed::Num(y)) => BoolNode::CmpNum(*op, x, y),
                (Typed::Window(x), Typed::Window(y)) => BoolNode::CmpWindow(*op, x, y),
                (Typed::Str(x), Typed::Str(y)) if !op.is_ordering() => BoolNode::CmpStr(*op, x, y),
                (Typed::Bool(x), Typed::Bool(y)) if !op.is_ordering() => {
                    BoolNode::CmpBool(*op, Box::new(x), Box::new(y))
                }
                (x, y) if x.ty() == y.ty() => {
                    return Err(type_error(
                        expr,
                        format!(
                            "{} values have no order; compare them with `==` or `!=`, not `{}`",
                            x.ty(),
                            op.as_str()
                        ),
                    ));
                }
                (x, y) => {
                    return Err(type_error(
                        expr,
                        format!(
                            "cannot compare a {} with a {} using `{}`",
                            x.ty(),
                            y.ty(),
                            op.as_str()
                        ),
                    ));
                }
            };
            Typed::Bool(node)
        }
    })
}

fn condition(expr: &Expr, operator: &str) -> Result<BoolNode, RuleError> {
    match check(expr)? {
        Typed::Bool(b) => Ok(b),
        other => Err(type_error(
            expr,
            format!(
                "`{operator}` needs a condition (bool), but this is a {}",
                other.ty()
            ),
        )),
    }
}

fn check_call(call: &Call) -> Result<Typed, RuleError> {
    let Some(spec) = features::feature(&call.name) else {
        let known: Vec<&str> = features::FEATURES.iter().map(|f| f.name).collect();
        return Err(RuleError::new(
            RuleErrorKind::UnknownFeature,
            call.name_span.pos,
            format!(
                "unknown feature `{}`; known features are {}",
                call.name,
                known.join(", ")
            ),
        ));
    };
    if call.args.len() != spec.args.len() {
        let sig: Vec<&str> = spec.args.iter().map(|t| t.as_str()).collect();
        return Err(RuleError::new(
            RuleErrorKind::Arity,
            call.name_span.pos,
            format!(
                "`{}` takes {} argument{} ({}), but {} {} given",
                spec.name,
                spec.args.len(),
                if spec.args.len() == 1 { "" } else { "s" },
                sig.join(", "),
                call.args.len(),
                if call.args.len() == 1 { "was" } else { "were" }
            ),
        ));
    }
    // Arguments must be literals: what a feature reads (an attribute's data category, say)
    // has to be known when the segment is created, so the linter can judge it.
    let mut strings: Vec<&str> = Vec::new();
    let mut windows: Vec<Window> = Vec::new();
    for (i, (arg, want)) in call.args.iter().zip(spec.args).enumerate() {
        match (&arg.kind, want) {
            (ExprKind::Str(s), Type::String) => strings.push(s),
            (ExprKind::Window(w), Type::Duration) => windows.push(*w),
            _ => {
                let found = check(arg)?.ty();
                let message = if found == *want {
                    format!(
                        "argument {} of `{}` must be a {want} literal, written out in the rule",
                        i + 1,
                        spec.name
                    )
                } else {
                    format!(
                        "argument {} of `{}` must be a {want}, but this is a {found}",
                        i + 1,
                        spec.name
                    )
                };
                return Err(type_error(arg, message));
            }
        }
    }
    Ok(match spec.kind {
        FeatureKind::Interest => Typed::Num(NumNode::Interest(strings[0].into())),
        FeatureKind::Views => Typed::Num(NumNode::Views(windows[0])),
        FeatureKind::Purchases => Typed::Num(NumNode::Purchases(windows[0])),
        FeatureKind::ViewedIn => Typed::Bool(BoolNode::ViewedIn(strings[0].into(), windows[0])),
        FeatureKind::PurchasedIn => {
            Typed::Bool(BoolNode::PurchasedIn(strings[0].into(), windows[0]))
        }
        FeatureKind::DaysSinceLastSeen => Typed::Num(NumNode::DaysSinceLastSeen),
        FeatureKind::Country => Typed::Str(StrNode::Country),
        FeatureKind::Attribute => {
            let name = strings[0];
            let Some(attr) = features::attribute(name) else {
                let known: Vec<&str> = features::ATTRIBUTES.iter().map(|a| a.name).collect();
                return Err(RuleError::new(
                    RuleErrorKind::UnknownFeature,
                    call.args[0].span.pos,
                    format!(
                        "unknown attribute \"{name}\"; known attributes are {}",
                        known.join(", ")
                    ),
                ));
            };
            match attr.result {
                Type::Number => Typed::Num(NumNode::Attribute(name.into())),
                _ => Typed::Str(StrNode::Attribute(name.into())),
            }
        }
    })
}
