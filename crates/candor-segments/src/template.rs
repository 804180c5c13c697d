//! Message templates: plain placeholder substitution and nothing else.
//!
//! A template is text with `{{first_name}}`, `{{recommendations}}` and `{{unsubscribe_url}}`.
//! Unknown placeholders are refused when the campaign is created, values are inserted
//! verbatim (HTML-escaped for email and web) and never interpreted, so a value can never
//! become markup or another placeholder.

use std::fmt;

use candor_domain::policy::Channel;

use crate::rule::Pos;

/// Longest template accepted, in bytes.
pub const TEMPLATE_BYTES_MAX: usize = 64 * 1024;

/// A value a template can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{{first_name}}`
    FirstName,
    /// `{{recommendations}}`: the recommended items, joined with ", ".
    Recommendations,
    /// `{{unsubscribe_url}}`
    UnsubscribeUrl,
}

impl Placeholder {
    /// Every placeholder.
    pub const ALL: [Placeholder; 3] = [
        Placeholder::FirstName,
        Placeholder::Recommendations,
        Placeholder::UnsubscribeUrl,
    ];

    /// The name written between the braces.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::FirstName => "first_name",
            Placeholder::Recommendations => "recommendations",
            Placeholder::UnsubscribeUrl => "unsubscribe_url",
        }
    }
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Longer than [`TEMPLATE_BYTES_MAX`].
    #[error("the template is {len} bytes; the limit is {TEMPLATE_BYTES_MAX}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// `{{` with no `}}`.
    #[error("{pos}: this `{{{{` is never closed with `}}}}`")]
    Unclosed {
        /// Where the `{{` is.
        pos: Pos,
    },
    /// A placeholder that does not exist.
    #[error(
        "{pos}: unknown placeholder `{name}`; known placeholders are first_name, recommendations, unsubscribe_url"
    )]
    UnknownPlaceholder {
        /// Where the `{{` is.
        pos: Pos,
        /// What was written between the braces.
        name: String,
    },
    /// An email without a way to unsubscribe.
    #[error(
        "email templates must contain {{{{unsubscribe_url}}}}, so every message offers a one-click way out"
    )]
    MissingUnsubscribe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Placeholder),
}

/// A checked template for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    escape_html: bool,
}

/// The values for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TemplateValues<'a> {
    /// The person's first name, or empty.
    pub first_name: &'a str,
    /// Titles of recommended items.
    pub recommendations: &'a [&'a str],
    /// The person's unsubscribe link.
    pub unsubscribe_url: &'a str,
}

impl Template {
    /// Checks a template for a channel. Email and web templates are HTML, so values are
    /// escaped when inserted.
    pub fn parse(src: &str, channel: Channel) -> Result<Template, TemplateError> {
        if src.len() > TEMPLATE_BYTES_MAX {
            return Err(TemplateError::TooLong { len: src.len() });
        }
        let mut parts = Vec::new();
        let mut rest = src;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let pos = pos_at(src, offset + open);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(TemplateError::Unclosed { pos });
            };
            let name = after[..close].trim();
            let Some(slot) = Placeholder::ALL.into_iter().find(|p| p.as_str() == name) else {
                return Err(TemplateError::UnknownPlaceholder {
                    pos,
                    // Bounded so an error message cannot echo a whole template back.
                    name: name.chars().take(64).collect(),
                });
            };
            parts.push(Part::Slot(slot));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let template = Template {
            parts,
            escape_html: matches!(channel, Channel::Email | Channel::Web),
        };
        if channel == Channel::Email && !template.uses(Placeholder::UnsubscribeUrl) {
            return Err(TemplateError::MissingUnsubscribe);
        }
        Ok(template)
    }

    /// Whether the template asks for a value.
    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.parts.contains(&Part::Slot(placeholder))
    }

    /// Fills the placeholders. Values are inserted verbatim, escaped for HTML channels.
    pub fn render(&self, values: &TemplateValues<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(Placeholder::FirstName) => self.insert(&mut out, values.first_name),
                Part::Slot(Placeholder::UnsubscribeUrl) => {
                    self.insert(&mut out, values.unsubscribe_url)
                }
                Part::Slot(Placeholder::Recommendations) => {
                    for (i, r) in values.recommendations.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        self.insert(&mut out, r);
                    }
                }
            }
        }
        out
    }

    fn insert(&self, out: &mut String, value: &str) {
        if self.escape_html {
            escape_html(out, value);
        } else {
            out.push_str(value);
        }
    }
}

impl fmt::Display for Template {
    /// The template as it would be written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Slot(p) => write!(f, "{{{{{}}}}}", p.as_str())?,
            }
        }
        Ok(())
    }
}

/// Escapes the five characters that matter in HTML text and attribute values.
pub fn escape_html(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn pos_at(src: &str, offset: usize) -> Pos {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}
