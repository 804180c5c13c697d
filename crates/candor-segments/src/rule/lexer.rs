//! Turns rule text into tokens, each with the position a person would look for it at.

use super::{Pos, RuleError, RuleErrorKind, Span};

/// A duration literal such as `7d`, in milliseconds. Only whole hours, days and weeks exist in
/// the language: windows over behaviour are never finer than an hour.
///
/// Windows compare by length alone, so `24h == 1d`; the unit is kept only to print it back.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    ms: i64,
    unit: WindowUnit,
    amount: u32,
}

impl PartialEq for Window {
    fn eq(&self, other: &Window) -> bool {
        self.ms == other.ms
    }
}

impl Eq for Window {}

impl PartialOrd for Window {
    fn partial_cmp(&self, other: &Window) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Window {
    fn cmp(&self, other: &Window) -> std::cmp::Ordering {
        self.ms.cmp(&other.ms)
    }
}

impl std::hash::Hash for Window {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ms.hash(state);
    }
}

/// The unit a window was written in, kept so it prints back the way it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum WindowUnit {
    Hours,
    Days,
    Weeks,
}

/// Longest window a rule may name: ten years. Longer than any retention period, so a longer
/// window could only be a mistake.
pub const WINDOW_DAYS_MAX: u32 = 3650;

const HOUR_MS: i64 = 60 * 60 * 1000;

impl Window {
    /// A window of whole days.
    pub fn days(days: u32) -> Window {
        Window {
            ms: i64::from(days) * 24 * HOUR_MS,
            unit: WindowUnit::Days,
            amount: days,
        }
    }

    /// A window of whole hours.
    pub fn hours(hours: u32) -> Window {
        Window {
            ms: i64::from(hours) * HOUR_MS,
            unit: WindowUnit::Hours,
            amount: hours,
        }
    }

    /// A window of whole weeks.
    pub fn weeks(weeks: u32) -> Window {
        Window {
            ms: i64::from(weeks) * 7 * 24 * HOUR_MS,
            unit: WindowUnit::Weeks,
            amount: weeks,
        }
    }

    /// The length in milliseconds.
    pub fn as_millis(self) -> i64 {
        self.ms
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.unit {
            WindowUnit::Hours => 'h',
            WindowUnit::Days => 'd',
            WindowUnit::Weeks => 'w',
        };
        write!(f, "{}{unit}", self.amount)
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Number(f64),
    Str(String),
    Window(Window),
    True,
    False,
    And,
    Or,
    Not,
    LParen,
    RParen,
    Comma,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Eof,
}

impl Tok {
    /// How the token is named in "expected ..., found ..." messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("name `{name}`"),
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Window(w) => format!("duration `{w}`"),
            Tok::True => "`true`".to_owned(),
            Tok::False => "`false`".to_owned(),
            Tok::And => "`and`".to_owned(),
            Tok::Or => "`or`".to_owned(),
            Tok::Not => "`not`".to_owned(),
            Tok::LParen => "`(`".to_owned(),
            Tok::RParen => "`)`".to_owned(),
            Tok::Comma => "`,`".to_owned(),
            Tok::Lt => "`<`".to_owned(),
            Tok::Le => "`<=`".to_owned(),
            Tok::Gt => "`>`".to_owned(),
            Tok::Ge => "`>=`".to_owned(),
            Tok::EqEq => "`==`".to_owned(),
            Tok::Ne => "`!=`".to_owned(),
            Tok::Eof => "the end of the rule".to_owned(),
        }
    }
}

/// A token and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Longest string literal, in bytes; attribute names and categories are short.
const STRING_BYTES_MAX: usize = 256;

/// Splits `src` into tokens; the last is always [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, RuleError> {
    let mut lexer = Lexer {
        src,
        offset: 0,
        pos: Pos { line: 1, column: 1 },
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    src: &'a str,
    offset: usize,
    pos: Pos,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.offset..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.offset..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, start: usize, start_pos: Pos) {
        self.tokens.push(Token {
            tok,
            span: Span {
                start,
                end: self.offset,
                pos: start_pos,
            },
        });
    }

    fn error(&self, pos: Pos, message: String) -> RuleError {
        RuleError::new(RuleErrorKind::Syntax, pos, message)
    }

    fn run(&mut self) -> Result<(), RuleError> {
        while let Some(c) = self.peek() {
            let start = self.offset;
            let start_pos = self.pos;
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if c == '#' {
                // A comment runs to the end of the line, so long rules can say why.
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
                continue;
            }
            if c.is_ascii_alphabetic() || c == '_' {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.bump();
                }
                let word = &self.src[start..self.offset];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    _ => Tok::Ident(word.to_owned()),
                };
                self.push(tok, start, start_pos);
                continue;
            }
            if c.is_ascii_digit() {
                let tok = self.number(start, start_pos)?;
                self.push(tok, start, start_pos);
                continue;
            }
            if c == '"' {
                let tok = self.string(start_pos)?;
                self.push(tok, start, start_pos);
                continue;
            }
            let two = self.peek2();
            let tok = match (c, two) {
                ('(', _) => Tok::LParen,
                (')', _) => Tok::RParen,
                (',', _) => Tok::Comma,
                ('<', Some('=')) => Tok::Le,
                ('>', Some('=')) => Tok::Ge,
                ('=', Some('=')) => Tok::EqEq,
                ('!', Some('=')) => Tok::Ne,
                ('<', _) => Tok::Lt,
                ('>', _) => Tok::Gt,
                ('=', _) => {
                    return Err(self.error(
                        start_pos,
                        "`=` is not an operator; write `==` to compare".to_owned(),
                    ));
                }
                ('&', Some('&')) | ('|', Some('|')) | ('!', _) => {
                    let (sym, word) = match c {
                        '&' => ("&&", "and"),
                        '|' => ("||", "or"),
                        _ => ("!", "not"),
                    };
                    return Err(self.error(
                        start_pos,
                        format!("`{sym}` is not an operator; write `{word}`"),
                    ));
                }
                _ => {
                    return Err(self.error(start_pos, format!("unexpected character {c:?}")));
                }
            };
            let width = match tok {
                Tok::Le | Tok::Ge | Tok::EqEq | Tok::Ne => 2,
                _ => 1,
            };
            for _ in 0..width {
                self.bump();
            }
            self.push(tok, start, start_pos);
        }
        let end = self.offset;
        let pos = self.pos;
        self.push(Tok::Eof, end, pos);
        Ok(())
    }

    /// A number (`5`, `0.3`) or, when a unit letter follows the digits, a window (`7d`).
    fn number(&mut self, start: usize, start_pos: Pos) -> Result<Tok, RuleError> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let mut fraction = false;
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            fraction = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        let digits = &self.src[start..self.offset];
        if let Some(unit) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
            let unit_pos = self.pos;
            self.bump();
            if self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.bump();
                }
                return Err(self.error(
                    start_pos,
                    format!(
                        "`{}` is neither a number nor a duration; durations are written like 24h, 7d or 2w",
                        &self.src[start..self.offset]
                    ),
                ));
            }
            if fraction {
                return Err(self.error(
                    start_pos,
                    format!(
                        "durations are whole numbers of hours, days or weeks, not `{digits}{unit}`"
                    ),
                ));
            }
            let amount: u32 = digits.parse().unwrap_or(u32::MAX);
            let window = match unit {
                'h' => (amount <= WINDOW_DAYS_MAX * 24).then(|| Window::hours(amount)),
                'd' => (amount <= WINDOW_DAYS_MAX).then(|| Window::days(amount)),
                'w' => (amount <= WINDOW_DAYS_MAX / 7).then(|| Window::weeks(amount)),
                _ => {
                    return Err(self.error(
                        unit_pos,
                        format!(
                            "unknown duration unit `{unit}`; use h (hours), d (days) or w (weeks)"
                        ),
                    ));
                }
            };
            return match window {
                Some(w) => Ok(Tok::Window(w)),
                None => Err(self.error(
                    start_pos,
                    format!("the duration `{digits}{unit}` is longer than the limit of {WINDOW_DAYS_MAX} days"),
                )),
            };
        }
        // Digits only, so parsing cannot fail; a huge literal becomes infinity, which is refused.
        let value: f64 = digits.parse().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            return Err(self.error(start_pos, format!("the number `{digits}` is too large")));
        }
        Ok(Tok::Number(value))
    }

    /// A double-quoted string; `\"` and `\\` are the only escapes, because rule strings name
    /// categories and attributes and need nothing more.
    fn string(&mut self, start_pos: Pos) -> Result<Tok, RuleError> {
        self.bump();
        let mut out = String::new();
        loop {
            let esc_pos = self.pos;
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.error(start_pos, "this string is never closed".to_owned()));
                }
                Some('"') => break,
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    other => {
                        let shown =
                            other.map_or_else(|| "end of input".to_owned(), |c| format!("{c:?}"));
                        return Err(self.error(
                            esc_pos,
                            format!(
                                "unknown escape before {shown}; only \\\" and \\\\ are allowed"
                            ),
                        ));
                    }
                },
                Some(c) if c.is_control() => {
                    return Err(self.error(
                        esc_pos,
                        "strings may not contain control characters".to_owned(),
                    ));
                }
                Some(c) => out.push(c),
            }
            if out.len() > STRING_BYTES_MAX {
                return Err(self.error(
                    start_pos,
                    format!("this string is longer than the limit of {STRING_BYTES_MAX} bytes"),
                ));
            }
        }
        Ok(Tok::Str(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, u32, u32)> {
        lex(src)
            .unwrap()
            .into_iter()
            .map(|t| (t.tok, t.span.pos.line, t.span.pos.column))
            .collect()
    }

    #[test]
    fn tokens_carry_line_and_column() {
        assert_eq!(
            kinds("views(7d)\n  >= 2.5 # why\nand"),
            vec![
                (Tok::Ident("views".into()), 1, 1),
                (Tok::LParen, 1, 6),
                (Tok::Window(Window::days(7)), 1, 7),
                (Tok::RParen, 1, 9),
                (Tok::Ge, 2, 3),
                (Tok::Number(2.5), 2, 6),
                (Tok::And, 3, 1),
                (Tok::Eof, 3, 4),
            ]
        );
    }

    #[test]
    fn windows_compare_by_length() {
        assert_eq!(Window::hours(24), Window::days(1));
        assert_eq!(Window::weeks(1), Window::days(7));
        assert!(Window::hours(23) < Window::days(1));
        assert_eq!(Window::hours(48).to_string(), "48h");
    }

    #[test]
    fn a_trailing_dot_is_not_a_fraction() {
        // `5.` is the number 5 followed by an unexpected `.`, not 5.0.
        assert!(lex("5.").is_err());
        assert_eq!(kinds("0.25")[0].0, Tok::Number(0.25));
    }
}
