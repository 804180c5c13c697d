//! Candor's segments and campaigns.
//!
//! * [`rule`]: the segment rule language (lexer, parser, type checker, interpreter) and the
//!   per-clause explanations people see.
//! * [`lint`](mod@lint): the check at segment creation that a rule reads only data its purpose allows,
//!   and never sensitive or protected categories.
//! * [`segment`]: a named segment, checked and linted once for the purpose it serves.
//! * [`kanon`]: k-anonymity for every count shown to operators.
//! * [`campaign`]: campaigns, frequency caps, quiet hours, holdouts and the decision for one
//!   person, with its reason.
//! * [`template`]: placeholder substitution for messages; no template engine.
//! * [`signing`]: webhook signatures, unsubscribe tokens and delivery idempotency keys.
//!
//! **Architecture invariant:** this crate is pure. It does no IO, reads no clock (callers pass
//! `now`) and draws no random numbers (callers pass seeds), so every decision can be replayed
//! and explained from its inputs.

pub mod campaign;
pub mod kanon;
pub mod lint;
pub mod rule;
pub mod segment;
pub mod signing;
pub mod template;

pub use campaign::{
    Campaign, CampaignError, CampaignSpec, Cap, CapHit, ConsentCheck, ContactRules, Decision,
    DeliveryHistory, Exclusion, ExclusionCode, FrequencyCaps, QuietHours, SubjectSnapshot, Summary,
    audience_summary, cap_allows, decide,
};
pub use kanon::{SuppressedCount, suppress};
pub use lint::{LintReport, lint};
pub use rule::{ProfileView, Rule, RuleError, TestProfile, explain};
pub use segment::{Segment, SegmentError};
pub use signing::{
    delivery_idempotency_key, sign_webhook, unsubscribe_token, verify_unsubscribe_token,
    verify_webhook,
};
pub use template::{Template, TemplateError};
