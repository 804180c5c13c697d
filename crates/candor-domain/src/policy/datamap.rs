//! The record of processing (GDPR Art. 30) generated from the policy: per purpose, what data,
//! which legal basis, for how long, fed by which events.

use serde::Serialize;

use super::Policy;

/// The record of processing.
#[derive(Debug, Clone, Serialize)]
pub struct DataMap {
    pub controller: String,
    pub contact: String,
    pub policy_version: String,
    pub purposes: Vec<DataMapEntry>,
}

/// One purpose in the record of processing.
#[derive(Debug, Clone, Serialize)]
pub struct DataMapEntry {
    pub purpose: String,
    pub title: String,
    pub text: String,
    pub legal_basis: &'static str,
    pub retention_days: u32,
    /// `category (class)` for every category the purpose may use.
    pub categories: Vec<String>,
    /// `Event Type: property, property` for every event that can feed the purpose, listing
    /// only the properties whose category the purpose needs.
    pub collected_from: Vec<String>,
    pub sale_or_sharing: bool,
    pub targeted_advertising: bool,
    pub channel: Option<&'static str>,
    pub session_only: bool,
}

pub(super) fn build(policy: &Policy) -> DataMap {
    let purposes = policy
        .purposes
        .iter()
        .map(|p| {
            let categories = p
                .categories
                .iter()
                .map(|c| {
                    let class = policy.category(c).map_or("ordinary", |d| d.class.as_str());
                    format!("{c} ({class})")
                })
                .collect();
            let collected_from = policy
                .event_types
                .values()
                .filter(|e| e.purposes.contains(&p.id))
                .map(|e| {
                    let props: Vec<&str> = e
                        .properties
                        .iter()
                        .filter(|(_, s)| p.categories.contains(&s.category))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    format!(
                        "{}: {}",
                        e.name,
                        if props.is_empty() {
                            "-".to_owned()
                        } else {
                            props.join(", ")
                        }
                    )
                })
                .collect();
            DataMapEntry {
                purpose: p.id.to_string(),
                title: p.title.clone(),
                text: p.text.clone(),
                legal_basis: p.legal_basis.as_str(),
                retention_days: p.retention_days,
                categories,
                collected_from,
                sale_or_sharing: p.sale_or_sharing,
                targeted_advertising: p.targeted_advertising,
                channel: p.channel.map(|c| c.as_str()),
                session_only: p.session_only,
            }
        })
        .collect();
    DataMap {
        controller: policy.controller.clone(),
        contact: policy.contact.clone(),
        policy_version: policy.version.to_string(),
        purposes,
    }
}

impl DataMap {
    /// Plain text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Record of processing (policy version {})\nController: {}\nContact: {}\n",
            self.policy_version, self.controller, self.contact
        );
        for e in &self.purposes {
            out.push_str(&format!(
                "\n{} — {}\n  legal basis: {}\n  retention: {} days{}\n  data: {}\n",
                e.purpose,
                e.title,
                e.legal_basis,
                e.retention_days,
                if e.session_only {
                    " (session only)"
                } else {
                    ""
                },
                e.categories.join(", "),
            ));
            if e.sale_or_sharing || e.targeted_advertising {
                out.push_str("  counts as sale/sharing or targeted advertising (honours GPC)\n");
            }
            if let Some(c) = e.channel {
                out.push_str(&format!("  channel: {c}\n"));
            }
            for src in &e.collected_from {
                out.push_str(&format!("  from {src}\n"));
            }
            out.push_str(&format!("  shown to people: \"{}\"\n", e.text));
        }
        out
    }

    /// A Markdown table, for a privacy officer's records.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Record of processing\n\nController: {}  \nContact: {}  \nPolicy version: `{}`\n\n\
             | Purpose | Legal basis | Data categories | Retention | Sale/sharing or targeted ads | Channel |\n\
             |---|---|---|---|---|---|\n",
            self.controller, self.contact, self.policy_version
        );
        for e in &self.purposes {
            out.push_str(&format!(
                "| **{}** — {} | {} | {} | {} days{} | {} | {} |\n",
                e.purpose,
                md_escape(&e.title),
                e.legal_basis,
                e.categories.join(", "),
                e.retention_days,
                if e.session_only { " (session)" } else { "" },
                if e.sale_or_sharing || e.targeted_advertising {
                    "yes"
                } else {
                    "no"
                },
                e.channel.unwrap_or("–"),
            ));
        }
        out.push_str("\n## What people are told\n\n");
        for e in &self.purposes {
            out.push_str(&format!("- **{}**: {}\n", e.purpose, md_escape(&e.text)));
        }
        out
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}
