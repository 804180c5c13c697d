//! The syntax tree of a rule, as written: nothing is resolved or checked yet.

use std::fmt;

use super::Span;
use super::lexer::Window;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// Whether the operator orders values rather than only telling them apart.
    pub fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    /// Applies the operator to two ordered values.
    pub(crate) fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// A node of the syntax tree with the span of source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of syntax-tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number literal: `0.3`.
    Number(f64),
    /// A string literal: `"Comedy"`.
    Str(String),
    /// A duration literal: `7d`.
    Window(Window),
    /// `true` or `false`.
    Bool(bool),
    /// A feature call: `views(30d)`.
    Call(Call),
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b and ...`, flattened so long chains do not nest deeply.
    And(Vec<Expr>),
    /// `a or b or ...`, flattened likewise.
    Or(Vec<Expr>),
    /// `a op b`.
    Compare(CmpOp, Box<Expr>, Box<Expr>),
}

/// A call of a feature by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The feature name as written.
    pub name: String,
    /// Where the name was written, for "unknown feature" messages.
    pub name_span: Span,
    /// The arguments in order.
    pub args: Vec<Expr>,
}

/// Renders the tree as an S-expression: compact, unambiguous about grouping, and readable in
/// snapshot tests.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Number(n) => write!(f, "{n}"),
            ExprKind::Str(s) => write!(f, "{s:?}"),
            ExprKind::Window(w) => write!(f, "{w}"),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Call(call) => {
                write!(f, "({}", call.name)?;
                for arg in &call.args {
                    write!(f, " {arg}")?;
                }
                f.write_str(")")
            }
            ExprKind::Not(e) => write!(f, "(not {e})"),
            ExprKind::And(items) | ExprKind::Or(items) => {
                let word = if matches!(self.kind, ExprKind::And(_)) {
                    "and"
                } else {
                    "or"
                };
                write!(f, "({word}")?;
                for item in items {
                    write!(f, " {item}")?;
                }
                f.write_str(")")
            }
            ExprKind::Compare(op, a, b) => write!(f, "({} {a} {b})", op.as_str()),
        }
    }
}
