//! Records the store keeps, as plain data.

use candor_domain::consent::SubjectFacts;
use candor_domain::time::Timestamp;

/// Largest page any list returns, whatever the caller asks.
pub const PAGE_LEN_MAX: u32 = 1_000;

/// A page request: items after the cursor (exclusive), at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> PageRequest {
        PageRequest { after: None, limit }
    }

    pub(crate) fn limit_clamped(&self) -> i64 {
        i64::from(self.limit.clamp(1, PAGE_LEN_MAX))
    }
}

/// A page of results and the cursor to pass for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// What the store holds about a subject besides events and consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRecord {
    pub facts: SubjectFacts,
    pub created_at: Timestamp,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Send events and consents; safe to embed in a web page.
    Ingest,
    /// Read recommendations and decisions.
    Decide,
    /// Everything, including operator reads of personal data.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Decide, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Decide => "decide",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An API key as stored: only a hash of its secret part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The public part of the key, used to find it.
    pub id: String,
    /// SHA-256 of the secret part.
    pub secret_hash: [u8; 32],
    pub scopes: Vec<Scope>,
    /// Browser origins allowed to use the key (ingest keys); empty means any.
    pub allowed_origins: Vec<String>,
    pub label: String,
    pub created_at: Timestamp,
}
