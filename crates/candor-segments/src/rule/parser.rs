//! A recursive-descent parser from tokens to the syntax tree.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! rule    := or EOF
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := primary (("<" | "<=" | ">" | ">=" | "==" | "!=") primary)?
//! primary := NUMBER | STRING | DURATION | "true" | "false"
//!          | NAME "(" (or ("," or)*)? ")" | "(" or ")"
//! ```
//!
//! Comparisons do not chain (`1 < x < 2` is refused) because the reading people expect from
//! mathematics is not what a left-to-right evaluation would do.

use super::ast::{Call, CmpOp, Expr, ExprKind};
use super::lexer::{Tok, Token};
use super::{Pos, RULE_DEPTH_MAX, RuleError, RuleErrorKind};

/// Longest argument list accepted; features take at most two.
const ARGS_LEN_MAX: usize = 8;

pub(crate) fn parse_tokens(tokens: &[Token]) -> Result<Expr, RuleError> {
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = p.or()?;
    let next = p.peek();
    if next.tok != Tok::Eof {
        let message = match next.tok {
            Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::EqEq | Tok::Ne => format!(
                "comparisons do not chain; join them with `and` instead of {}",
                next.tok.describe()
            ),
            _ => format!(
                "expected `and`, `or` or the end of the rule, found {}",
                next.tok.describe()
            ),
        };
        return Err(RuleError::new(
            RuleErrorKind::Syntax,
            next.span.pos,
            message,
        ));
    }
    Ok(expr)
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `Eof`, and `bump` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn expected(&self, what: &str) -> RuleError {
        let t = self.peek();
        RuleError::new(
            RuleErrorKind::Syntax,
            t.span.pos,
            format!("expected {what}, found {}", t.tok.describe()),
        )
    }

    /// Counts one level of nesting, refusing rules nested deeper than [`RULE_DEPTH_MAX`] so
    /// that neither this parser nor any later walk over the tree can exhaust the stack.
    fn enter(&mut self, pos: Pos) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > RULE_DEPTH_MAX {
            return Err(RuleError::new(
                RuleErrorKind::TooDeep,
                pos,
                format!("the rule nests deeper than the limit of {RULE_DEPTH_MAX} levels"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.enter(self.peek().span.pos)?;
        let first = self.and()?;
        let mut items = vec![first];
        while self.peek().tok == Tok::Or {
            self.bump();
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(join(items, ExprKind::Or))
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.peek().tok == Tok::And {
            self.bump();
            items.push(self.not()?);
        }
        Ok(join(items, ExprKind::And))
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if self.peek().tok == Tok::Not {
            let not = self.bump();
            self.enter(not.span.pos)?;
            let inner = self.not()?;
            self.depth -= 1;
            let span = not.span.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, RuleError> {
        let lhs = self.primary()?;
        let op = match self.peek().tok {
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::EqEq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.primary()?;
        let span = lhs.span.to(rhs.span);
        Ok(Expr {
            kind: ExprKind::Compare(op, Box::new(lhs), Box::new(rhs)),
            span,
        })
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let kind = match &self.peek().tok {
            Tok::Number(n) => ExprKind::Number(*n),
            Tok::Str(s) => ExprKind::Str(s.clone()),
            Tok::Window(w) => ExprKind::Window(*w),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::LParen => {
                let open = self.bump();
                let mut inner = self.or()?;
                if self.peek().tok != Tok::RParen {
                    return Err(self.expected(&format!(
                        "`)` to close the `(` at {}:{}",
                        open.span.pos.line, open.span.pos.column
                    )));
                }
                let close = self.bump();
                // The parentheses belong to the span, so explanations quote them too.
                inner.span = open.span.to(close.span);
                return Ok(inner);
            }
            Tok::Ident(_) => return self.call(),
            _ => return Err(self.expected("a feature, a literal, `not` or `(`")),
        };
        let t = self.bump();
        Ok(Expr { kind, span: t.span })
    }

    fn call(&mut self) -> Result<Expr, RuleError> {
        let name_tok = self.bump();
        let Tok::Ident(name) = name_tok.tok else {
            return Err(self.expected("a feature name"));
        };
        if self.peek().tok != Tok::LParen {
            return Err(self.expected(&format!(
                "`(` after `{name}`: features are called like `{name}(...)`"
            )));
        }
        self.bump();
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                if args.len() == ARGS_LEN_MAX {
                    return Err(RuleError::new(
                        RuleErrorKind::Syntax,
                        self.peek().span.pos,
                        format!("more than {ARGS_LEN_MAX} arguments"),
                    ));
                }
                args.push(self.or()?);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        if self.peek().tok != Tok::RParen {
            return Err(self.expected(&format!("`,` or `)` in the call of `{name}`")));
        }
        let close = self.bump();
        Ok(Expr {
            kind: ExprKind::Call(Call {
                name,
                name_span: name_tok.span,
                args,
            }),
            span: name_tok.span.to(close.span),
        })
    }
}

/// One item stays itself; several become one flat `and`/`or` node.
fn join(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let span = items[0].span.to(items[items.len() - 1].span);
    Expr {
        kind: make(items),
        span,
    }
}
