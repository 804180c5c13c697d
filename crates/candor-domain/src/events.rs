//! The ingestion gate: which purposes an event may serve, which of its properties may be
//! kept, and until when.
//!
//! The rule: an event may serve the purposes its type declares that the subject allows now.
//! If none, it is not stored at all. Otherwise only the properties whose data category one of
//! those purposes needs are kept, and the event expires with the longest retention among them.

use std::collections::BTreeMap;

use crate::consent::ConsentState;
use crate::ids::PurposeId;
use crate::policy::{EventType, Interaction, Policy, PropertyType};
use crate::time::Timestamp;

/// A property value as received: scalars only.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    String(String),
    Number(f64),
    Integer(i64),
    Bool(bool),
    /// Anything else (objects, arrays, null): never stored.
    Other(&'static str),
}

impl PropValue {
    fn fits(&self, ty: PropertyType) -> bool {
        match (self, ty) {
            (PropValue::String(_), PropertyType::String) => true,
            (PropValue::Number(_) | PropValue::Integer(_), PropertyType::Number) => true,
            (PropValue::Integer(_), PropertyType::Integer) => true,
            (PropValue::Number(n), PropertyType::Integer) => n.fract() == 0.0 && n.abs() < 9.0e15,
            (PropValue::Bool(_), PropertyType::Boolean) => true,
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropValue::Number(n) => Some(*n),
            PropValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

/// Why a property was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyIssue {
    /// The event type declares no such property.
    UnknownProperty,
    /// The value does not have the declared type.
    InvalidType,
    /// No purpose the event serves needs the property's data category.
    Minimized,
}

impl PropertyIssue {
    pub fn code(self) -> &'static str {
        match self {
            PropertyIssue::UnknownProperty => "unknown_property",
            PropertyIssue::InvalidType => "invalid_property",
            PropertyIssue::Minimized => "minimized",
        }
    }
}

/// Why a whole event was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    UnknownEventType,
    NoConsent,
    /// The event is older than the longest retention of the purposes it could serve.
    Expired,
    Duplicate,
    /// Processing of the subject's data is restricted (GDPR Art. 18).
    Restricted,
}

impl DropReason {
    pub fn code(self) -> &'static str {
        match self {
            DropReason::UnknownEventType => "unknown_event_type",
            DropReason::NoConsent => "no_consent",
            DropReason::Expired => "expired",
            DropReason::Duplicate => "duplicate",
            DropReason::Restricted => "restricted",
        }
    }
}

/// What the gate decided for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    Dropped {
        reason: DropReason,
        issues: Vec<(String, PropertyIssue)>,
    },
    Accepted(Admitted),
}

/// An event allowed in, reduced to what its purposes need.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub purposes: Vec<PurposeId>,
    pub properties: BTreeMap<String, PropValue>,
    /// Properties not kept, with why.
    pub issues: Vec<(String, PropertyIssue)>,
    pub expires_at: Timestamp,
    /// Every purpose the event serves is session-only: it lives until the visit ends.
    pub session_only: bool,
    /// The event may feed interest profiles and models.
    pub personalization: bool,
    pub interaction: Option<Interaction>,
}

/// Runs the gate for one event of type `event_type` with `properties`, for a subject whose
/// consent is `consent`, at `occurred_at`, received `now`.
pub fn gate(
    policy: &Policy,
    consent: &ConsentState,
    event_type: &str,
    properties: &BTreeMap<String, PropValue>,
    occurred_at: Timestamp,
    now: Timestamp,
) -> GateOutcome {
    let Some(ty) = policy.event_type(event_type) else {
        return GateOutcome::Dropped {
            reason: DropReason::UnknownEventType,
            issues: Vec::new(),
        };
    };
    let issues_of_shape = shape_issues(ty, properties);
    let purposes: Vec<&crate::policy::Purpose> = ty
        .purposes
        .iter()
        .filter(|p| consent.allows(p))
        .filter_map(|p| policy.purpose(p))
        .collect();
    if purposes.is_empty() {
        return GateOutcome::Dropped {
            reason: DropReason::NoConsent,
            issues: issues_of_shape,
        };
    }
    let session_only = purposes.iter().all(|p| p.session_only);
    let expires_at = if session_only {
        let minutes = purposes
            .iter()
            .map(|p| p.session_timeout_minutes)
            .max()
            .unwrap_or(30);
        now.plus_millis(i64::from(minutes) * 60_000)
    } else {
        // Session-only purposes add nothing beyond the visit to a lasting purpose's retention.
        let days = purposes
            .iter()
            .filter(|p| !p.session_only)
            .map(|p| p.retention_days)
            .max()
            .unwrap_or(1);
        occurred_at.plus_days(days)
    };
    if expires_at <= now {
        return GateOutcome::Dropped {
            reason: DropReason::Expired,
            issues: issues_of_shape,
        };
    }
    let mut kept = BTreeMap::new();
    let mut issues = issues_of_shape;
    for (name, value) in properties {
        let Some(spec) = ty.properties.get(name) else {
            continue;
        };
        if !value.fits(spec.ty) {
            continue;
        }
        if purposes
            .iter()
            .any(|p| p.categories.contains(&spec.category))
        {
            kept.insert(name.clone(), value.clone());
        } else {
            issues.push((name.clone(), PropertyIssue::Minimized));
        }
    }
    GateOutcome::Accepted(Admitted {
        purposes: purposes.iter().map(|p| p.id.clone()).collect(),
        properties: kept,
        issues,
        expires_at,
        session_only,
        personalization: purposes.iter().any(|p| p.personalization),
        interaction: ty.interaction,
    })
}

fn shape_issues(
    ty: &EventType,
    properties: &BTreeMap<String, PropValue>,
) -> Vec<(String, PropertyIssue)> {
    properties
        .iter()
        .filter_map(|(name, value)| match ty.properties.get(name) {
            None => Some((name.clone(), PropertyIssue::UnknownProperty)),
            Some(spec) if !value.fits(spec.ty) => Some((name.clone(), PropertyIssue::InvalidType)),
            Some(_) => None,
        })
        .collect()
}

/// Re-evaluates a stored event after consent changed: the purposes it may still serve and its
/// new expiry, or `None` if it serves none and must be deleted.
pub fn still_allowed(
    policy: &Policy,
    consent: &ConsentState,
    purposes: &[PurposeId],
    occurred_at: Timestamp,
    expires_at: Timestamp,
) -> Option<(Vec<PurposeId>, Timestamp)> {
    let kept: Vec<&crate::policy::Purpose> = purposes
        .iter()
        .filter(|p| consent.allows(p))
        .filter_map(|p| policy.purpose(p))
        .collect();
    if kept.is_empty() {
        return None;
    }
    if kept.len() == purposes.len() {
        return Some((purposes.to_vec(), expires_at));
    }
    let expiry = if kept.iter().all(|p| p.session_only) {
        expires_at
    } else {
        let days = kept
            .iter()
            .filter(|p| !p.session_only)
            .map(|p| p.retention_days)
            .max()
            .unwrap_or(1);
        occurred_at.plus_days(days).min(expires_at)
    };
    Some((kept.iter().map(|p| p.id.clone()).collect(), expiry))
}

#[cfg(test)]
mod tests;
