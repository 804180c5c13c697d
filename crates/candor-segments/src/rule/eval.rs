//! The interpreter over the typed tree, the profile interface it reads through, and the
//! per-clause explanations shown to people.

use std::fmt;

use candor_domain::time::{DAY_MS, Timestamp};

use super::ast::{Expr, ExprKind};
use super::check::{self, BoolNode, NumNode, StrNode, Typed};
use super::lexer::Window;

/// What a rule can read about one person. The server implements it over stored profiles;
/// [`TestProfile`] implements it in memory.
///
/// Windows are rolling and end at `now`: an event at `t` is inside a window `w` when
/// `now - w < t <= now`.
pub trait ProfileView {
    /// Affinity for an item category, from 0 to 1; 0 when nothing is known.
    fn interest(&self, category: &str) -> f64;
    /// Items viewed within the window.
    fn views(&self, window: Window, now: Timestamp) -> u64;
    /// Items bought within the window.
    fn purchases(&self, window: Window, now: Timestamp) -> u64;
    /// Whether an item of the category was viewed within the window.
    fn viewed_in(&self, category: &str, window: Window, now: Timestamp) -> bool;
    /// Whether an item of the category was bought within the window.
    fn purchased_in(&self, category: &str, window: Window, now: Timestamp) -> bool;
    /// The last recorded activity, if any.
    fn last_seen(&self) -> Option<Timestamp>;
    /// ISO 3166-1 alpha-2 country code, if known.
    fn country(&self) -> Option<&str>;
    /// A declared attribute, if the person declared it.
    fn attribute(&self, name: &str) -> Option<&str>;
}

/// Whether `t` lies in the rolling window ending at `now`.
pub fn in_window(t: Timestamp, window: Window, now: Timestamp) -> bool {
    t <= now && t.as_millis() > now.as_millis().saturating_sub(window.as_millis())
}

/// An in-memory profile for tests, demos and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestProfile {
    /// Item category to affinity.
    pub interests: Vec<(String, f64)>,
    /// Views as (when, item category).
    pub views: Vec<(Timestamp, String)>,
    /// Purchases as (when, item category).
    pub purchases: Vec<(Timestamp, String)>,
    /// Last recorded activity.
    pub last_seen: Option<Timestamp>,
    /// Country code.
    pub country: Option<String>,
    /// Declared attributes as (name, value).
    pub attributes: Vec<(String, String)>,
}

impl TestProfile {
    /// An empty profile.
    pub fn new() -> TestProfile {
        TestProfile::default()
    }

    /// Adds an interest.
    pub fn interest(mut self, category: &str, affinity: f64) -> TestProfile {
        self.interests.push((category.to_owned(), affinity));
        self
    }

    /// Adds a view, which also counts as activity.
    pub fn view(mut self, at: Timestamp, category: &str) -> TestProfile {
        self.views.push((at, category.to_owned()));
        self.last_seen = self.last_seen.max(Some(at));
        self
    }

    /// Adds a purchase, which also counts as activity.
    pub fn purchase(mut self, at: Timestamp, category: &str) -> TestProfile {
        self.purchases.push((at, category.to_owned()));
        self.last_seen = self.last_seen.max(Some(at));
        self
    }

    /// Sets the country.
    pub fn country(mut self, code: &str) -> TestProfile {
        self.country = Some(code.to_owned());
        self
    }

    /// Declares an attribute.
    pub fn attribute(mut self, name: &str, value: &str) -> TestProfile {
        self.attributes.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl ProfileView for TestProfile {
    fn interest(&self, category: &str) -> f64 {
        self.interests
            .iter()
            .find(|(c, _)| c == category)
            .map_or(0.0, |(_, a)| *a)
    }

    fn views(&self, window: Window, now: Timestamp) -> u64 {
        self.views
            .iter()
            .filter(|(t, _)| in_window(*t, window, now))
            .count() as u64
    }

    fn purchases(&self, window: Window, now: Timestamp) -> u64 {
        self.purchases
            .iter()
            .filter(|(t, _)| in_window(*t, window, now))
            .count() as u64
    }

    fn viewed_in(&self, category: &str, window: Window, now: Timestamp) -> bool {
        self.views
            .iter()
            .any(|(t, c)| c == category && in_window(*t, window, now))
    }

    fn purchased_in(&self, category: &str, window: Window, now: Timestamp) -> bool {
        self.purchases
            .iter()
            .any(|(t, c)| c == category && in_window(*t, window, now))
    }

    fn last_seen(&self) -> Option<Timestamp> {
        self.last_seen
    }

    fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Evaluates a condition. A comparison with an unknown value (no country, never seen, an
/// undeclared attribute) is false whatever the operator: a segment never selects someone on
/// the strength of data it does not have.
pub(crate) fn eval_bool(node: &BoolNode, p: &(impl ProfileView + ?Sized), now: Timestamp) -> bool {
    match node {
        BoolNode::Lit(b) => *b,
        BoolNode::Not(inner) => !eval_bool(inner, p, now),
        BoolNode::And(items) => items.iter().all(|n| eval_bool(n, p, now)),
        BoolNode::Or(items) => items.iter().any(|n| eval_bool(n, p, now)),
        BoolNode::CmpNum(op, a, b) => match (eval_num(a, p, now), eval_num(b, p, now)) {
            (Some(x), Some(y)) => op.apply(x, y),
            _ => false,
        },
        BoolNode::CmpStr(op, a, b) => match (eval_str(a, p), eval_str(b, p)) {
            (Some(x), Some(y)) => op.apply(x, y),
            _ => false,
        },
        BoolNode::CmpBool(op, a, b) => op.apply(eval_bool(a, p, now), eval_bool(b, p, now)),
        BoolNode::CmpWindow(op, a, b) => op.apply(a, b),
        BoolNode::ViewedIn(c, w) => p.viewed_in(c, *w, now),
        BoolNode::PurchasedIn(c, w) => p.purchased_in(c, *w, now),
    }
}

fn eval_num(node: &NumNode, p: &(impl ProfileView + ?Sized), now: Timestamp) -> Option<f64> {
    let v = match node {
        NumNode::Lit(n) => *n,
        NumNode::Interest(c) => p.interest(c),
        NumNode::Views(w) => p.views(*w, now) as f64,
        NumNode::Purchases(w) => p.purchases(*w, now) as f64,
        NumNode::DaysSinceLastSeen => {
            let last = p.last_seen()?;
            (now.as_millis().saturating_sub(last.as_millis()).max(0) / DAY_MS) as f64
        }
        NumNode::Attribute(name) => p.attribute(name)?.trim().parse().ok()?,
    };
    // A profile store that hands back NaN has no value to offer.
    (!v.is_nan()).then_some(v)
}

fn eval_str<'p>(node: &'p StrNode, p: &'p (impl ProfileView + ?Sized)) -> Option<&'p str> {
    match node {
        StrNode::Lit(s) => Some(s),
        StrNode::Country => p.country(),
        StrNode::Attribute(name) => p.attribute(name),
    }
}

/// A feature value as shown to people.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A condition.
    Bool(bool),
    /// Text.
    Text(String),
    /// The profile has no value (no country, never seen, attribute not declared).
    Unknown,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{n:.0}"),
            Value::Number(n) => write!(f, "{}", (n * 100.0).round() / 100.0),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Unknown => f.write_str("unknown"),
        }
    }
}

/// One leaf condition of a rule and what it came to for one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The clause as written in the rule.
    pub source: String,
    /// Each feature call in the clause, as written, with its value.
    pub values: Vec<(String, Value)>,
    /// Whether the clause holds.
    pub holds: bool,
    /// Whether it sits under an odd number of `not`s, so that it supports membership when it
    /// does not hold.
    pub negated: bool,
    text: String,
}

impl fmt::Display for Clause {
    /// E.g. `views(30d) = 12 >= 5`, or `views(30d) = 3, not >= 5` when it does not hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a rule did or did not match one person, clause by clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Whether the whole rule matched.
    pub matched: bool,
    /// Every leaf condition in source order.
    pub clauses: Vec<Clause>,
}

impl Explanation {
    /// A sentence for the person: "You are in 'Runners' because views(30d) = 12 >= 5."
    ///
    /// It names the clauses that pull the same way as the outcome; under `or` that can list
    /// a clause that was not needed, which is still true of the person.
    pub fn sentence(&self, segment: &str) -> String {
        let supporting: Vec<String> = self
            .clauses
            .iter()
            .filter(|c| (c.holds != c.negated) == self.matched)
            .map(|c| c.to_string())
            .collect();
        let head = if self.matched {
            format!("You are in '{segment}'")
        } else {
            format!("You are not in '{segment}'")
        };
        if supporting.is_empty() {
            format!("{head}.")
        } else {
            format!("{head} because {}.", supporting.join(" and "))
        }
    }
}

/// Explains `ast` (a checked rule) for one person; `source` is the rule's text.
pub(crate) fn explain(
    source: &str,
    ast: &Expr,
    matched: bool,
    p: &(impl ProfileView + ?Sized),
    now: Timestamp,
) -> Explanation {
    let mut clauses = Vec::new();
    collect(source, ast, false, p, now, &mut clauses);
    Explanation { matched, clauses }
}

fn collect(
    source: &str,
    e: &Expr,
    negated: bool,
    p: &(impl ProfileView + ?Sized),
    now: Timestamp,
    out: &mut Vec<Clause>,
) {
    match &e.kind {
        ExprKind::Not(inner) => collect(source, inner, !negated, p, now, out),
        ExprKind::And(items) | ExprKind::Or(items) => {
            for item in items {
                collect(source, item, negated, p, now, out);
            }
        }
        _ => {
            let holds = match check::check(e) {
                Ok(Typed::Bool(node)) => eval_bool(&node, p, now),
                // The rule was checked as a whole, so every leaf is a condition.
                _ => false,
            };
            let mut values = Vec::new();
            calls(source, e, p, now, &mut values);
            let text = render(source, e, holds, &values);
            out.push(Clause {
                source: source[e.span.start..e.span.end].to_owned(),
                values,
                holds,
                negated,
                text,
            });
        }
    }
}

fn calls(
    source: &str,
    e: &Expr,
    p: &(impl ProfileView + ?Sized),
    now: Timestamp,
    out: &mut Vec<(String, Value)>,
) {
    match &e.kind {
        ExprKind::Call(_) => {
            let value = match check::check(e) {
                Ok(Typed::Num(n)) => eval_num(&n, p, now).map_or(Value::Unknown, Value::Number),
                Ok(Typed::Str(s)) => {
                    eval_str(&s, p).map_or(Value::Unknown, |s| Value::Text(s.to_owned()))
                }
                Ok(Typed::Bool(b)) => Value::Bool(eval_bool(&b, p, now)),
                _ => Value::Unknown,
            };
            out.push((source[e.span.start..e.span.end].to_owned(), value));
        }
        ExprKind::Compare(_, a, b) => {
            calls(source, a, p, now, out);
            calls(source, b, p, now, out);
        }
        ExprKind::Not(inner) => calls(source, inner, p, now, out),
        ExprKind::And(items) | ExprKind::Or(items) => {
            for item in items {
                calls(source, item, p, now, out);
            }
        }
        _ => {}
    }
}

fn render(source: &str, e: &Expr, holds: bool, values: &[(String, Value)]) -> String {
    let side = |x: &Expr| -> String {
        let text = &source[x.span.start..x.span.end];
        match (&x.kind, values.iter().find(|(s, _)| s == text)) {
            (ExprKind::Call(_), Some((_, v))) => format!("{text} = {v}"),
            _ => text.to_owned(),
        }
    };
    match &e.kind {
        ExprKind::Compare(op, a, b) => {
            let (l, r) = (side(a), side(b));
            if holds {
                format!("{l} {} {r}", op.as_str())
            } else {
                format!("{l}, not {} {r}", op.as_str())
            }
        }
        ExprKind::Call(_) => side(e),
        _ => format!("{} is {holds}", &source[e.span.start..e.span.end]),
    }
}
