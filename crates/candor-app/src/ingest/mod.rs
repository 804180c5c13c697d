//! The write path shared by the HTTP endpoints and `candor import`: parse Segment-spec
//! events, run each through the consent gate, store what may be stored, count what may not.

use std::collections::BTreeMap;

use candor_domain::consent::ConsentState;
use candor_domain::events::{self, DropReason, PropValue};
use candor_domain::ids::keyed_hash;
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, PurposeId, SubjectKey};
use candor_store::{EventBatch, IngestCommit, InsertOutcome, Narrowed, Store, StoreResult};
use serde::Deserialize;
use serde_json::Value;

use crate::signals::{ParsedSignals, from_context};

mod plan;
pub use plan::{IngestPlan, plan_batch};

/// How long a message id is remembered: a repeat within this window is acknowledged, not
/// stored twice.
pub const DEDUPE_WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// How far in the future an event's timestamp may be (clock skew), in milliseconds.
pub const FUTURE_SKEW_MS_MAX: i64 = 60 * 60 * 1000;
/// Longest message id accepted.
pub const MESSAGE_ID_BYTES_MAX: usize = 256;

/// One event in the Segment spec's shape. Common fields Segment libraries send are accepted
/// (and not stored); anything else is refused with its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WireEvent {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub event: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub user_id: Option<Value>,
    pub anonymous_id: Option<Value>,
    pub message_id: Option<String>,
    pub timestamp: Option<String>,
    pub original_timestamp: Option<String>,
    pub sent_at: Option<String>,
    pub received_at: Option<String>,
    #[serde(default)]
    pub properties: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub traits: Option<serde_json::Map<String, Value>>,
    /// An object, as the Segment spec has it (an array is refused, not read as empty).
    #[serde(default)]
    pub context: Option<serde_json::Map<String, Value>>,
    pub integrations: Option<Value>,
    pub version: Option<Value>,
    pub channel: Option<String>,
    pub write_key: Option<String>,
    #[serde(rename = "_metadata")]
    pub metadata: Option<Value>,
}

/// What kind of Segment call an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Track,
    Page,
    Identify,
}

/// An event parsed and checked for shape, ready for the gate.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub call: Call,
    pub event_type: String,
    pub subject: SubjectKey,
    /// For identify: the anonymous subject to merge into `subject`.
    pub anonymous: Option<SubjectKey>,
    pub message_id: String,
    pub occurred_at: Timestamp,
    pub properties: BTreeMap<String, PropValue>,
    pub traits: BTreeMap<String, String>,
    /// The event's context carried `gpc: true` (a browser's Global Privacy Control).
    pub gpc: bool,
    /// Consent signals the event's context carried in `context.consent`, already decoded.
    pub signals: Option<ParsedSignals>,
}

/// A refused event: stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        code,
        message: message.into(),
    }
}

/// The answer for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted {
        purposes: Vec<String>,
        expires_at: Option<Timestamp>,
        minimized: Vec<String>,
        invalid_properties: Vec<(String, &'static str)>,
        merged_events: usize,
    },
    Dropped {
        reason: &'static str,
        invalid_properties: Vec<(String, &'static str)>,
    },
    Invalid(Invalid),
}

/// What the pipeline needs besides the events.
pub struct Context<'a> {
    pub store: &'a dyn Store,
    pub policy: &'a Policy,
    pub secret: &'a [u8],
    pub half_life_days: f64,
}

fn external_id(v: &Value, field: &str) -> Result<ExternalId, Invalid> {
    let text = match v {
        Value::String(s) => s.clone(),
        // Segment allows numeric ids; they are ids all the same.
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(invalid(
                "invalid_subject_id",
                format!("{field} must be a string"),
            ));
        }
    };
    ExternalId::parse(&text).map_err(|e| invalid("invalid_subject_id", format!("{field}: {e}")))
}

fn prop_value(v: &Value) -> PropValue {
    match v {
        Value::String(s) => PropValue::String(s.clone()),
        Value::Bool(b) => PropValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => PropValue::Integer(i),
            None => n
                .as_f64()
                .map_or(PropValue::Other("number"), PropValue::Number),
        },
        Value::Null => PropValue::Other("null"),
        Value::Array(_) => PropValue::Other("array"),
        Value::Object(_) => PropValue::Other("object"),
    }
}

/// Parses one wire event. `default_call` applies to the single-call endpoints (`/v1/track`...).
pub fn parse(
    raw: Value,
    default_call: Option<Call>,
    secret: &[u8],
    now: Timestamp,
) -> Result<Incoming, Invalid> {
    if !raw.is_object() {
        return Err(invalid("invalid_event", "each event must be a JSON object"));
    }
    // Calls Candor does not take are refused by name before their fields are read, so the
    // reason is the call, not a field only that call has (`previousId`, `groupId`).
    if let Some(kind @ ("alias" | "group" | "screen")) = raw.get("type").and_then(Value::as_str) {
        return Err(invalid(
            "unsupported_call",
            format!(
                "type `{kind}` is not one of track, page, identify{}",
                if kind == "alias" {
                    ": to merge a visitor into a person, send identify with both their \
                     anonymousId and userId"
                } else {
                    ""
                }
            ),
        ));
    }
    let w: WireEvent =
        serde_json::from_value(raw).map_err(|e| invalid("invalid_event", e.to_string()))?;
    let call = match (w.kind.as_deref(), default_call) {
        (Some("track"), _) => Call::Track,
        (Some("page"), _) => Call::Page,
        (Some("identify"), _) => Call::Identify,
        (None, Some(c)) => c,
        (None, None) => Call::Track,
        (Some(other), _) => {
            return Err(invalid(
                "unsupported_call",
                format!("type `{other}` is not one of track, page, identify"),
            ));
        }
    };
    let user = w
        .user_id
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| external_id(v, "userId"))
        .transpose()?;
    let anon = w
        .anonymous_id
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| external_id(v, "anonymousId"))
        .transpose()?;
    let key = |id: &ExternalId| SubjectKey::derive(secret, id);
    let (subject, anonymous) = match (&user, &anon) {
        (Some(u), a) => (key(u), a.as_ref().map(key)),
        (None, Some(a)) => (key(a), None),
        (None, None) => {
            return Err(invalid(
                "missing_subject_id",
                "an event needs a userId or an anonymousId",
            ));
        }
    };
    let event_type = match call {
        Call::Track => w
            .event
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| invalid("missing_event_name", "a track call needs an `event` name"))?,
        Call::Page => "Page Viewed".to_owned(),
        Call::Identify => "Identify".to_owned(),
    };
    let message_id = match w.message_id {
        Some(m) if m.is_empty() || m.len() > MESSAGE_ID_BYTES_MAX => {
            return Err(invalid(
                "invalid_message_id",
                format!("messageId must be 1 to {MESSAGE_ID_BYTES_MAX} bytes"),
            ));
        }
        Some(m) => m,
        None => {
            // Without a message id there is nothing to deduplicate on; give it a unique one.
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
            format!("candor-{}", hex::encode(bytes))
        }
    };
    // A device's clock may be off. As Segment does, the time between the library sending
    // (`sentAt`, by the device's clock) and Candor receiving (`now`) moves the device's
    // timestamp onto the server's clock: timestamp + (receivedAt − sentAt).
    let skew_ms = match &w.sent_at {
        None => 0,
        Some(s) => {
            let sent = Timestamp::parse_rfc3339(s).ok_or_else(|| {
                invalid(
                    "invalid_sent_at",
                    format!("sentAt `{s}` is not RFC 3339, e.g. 2026-11-23T10:00:00Z"),
                )
            })?;
            now.as_millis() - sent.as_millis()
        }
    };
    let occurred_at = match w.timestamp.or(w.original_timestamp) {
        None => now,
        Some(t) => Timestamp::parse_rfc3339(&t)
            .ok_or_else(|| {
                invalid(
                    "invalid_timestamp",
                    format!("timestamp `{t}` is not RFC 3339, e.g. 2026-11-23T10:00:00Z"),
                )
            })?
            .plus_millis(skew_ms),
    };
    if occurred_at.as_millis() > now.as_millis() + FUTURE_SKEW_MS_MAX {
        return Err(invalid(
            "timestamp_in_future",
            "the event's timestamp is more than an hour in the future",
        ));
    }
    let mut properties: BTreeMap<String, PropValue> = w
        .properties
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.clone(), prop_value(v)))
        .collect();
    if call == Call::Page
        && let Some(name) = w.name
    {
        properties
            .entry("name".to_owned())
            .or_insert(PropValue::String(name));
    }
    let traits = w
        .traits
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
        .collect();
    let context = w.context.map(Value::Object);
    let gpc = context
        .as_ref()
        .and_then(|c| c.get("gpc"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let signals = from_context(context.as_ref()).map_err(|m| invalid("invalid_signal", m))?;
    Ok(Incoming {
        call,
        event_type,
        subject,
        anonymous,
        message_id,
        occurred_at,
        properties,
        traits,
        gpc,
        signals,
    })
}

/// Runs a batch through the gate and stores what may be stored. Returns one outcome per
/// input, in order; only storage failures are errors. Reads the ledgers of the batch's
/// subjects in one call, plans the batch ([`plan_batch`]), commits the plan, then merges
/// what each `identify` names.
pub fn ingest(
    ctx: &Context<'_>,
    parsed: Vec<Result<Incoming, Invalid>>,
    header_gpc: bool,
    now: Timestamp,
) -> StoreResult<Vec<Outcome>> {
    let involved: Vec<SubjectKey> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .flat_map(|e| std::iter::once(e.subject).chain(e.anonymous))
        .collect();
    let ledgers = ctx.store.subject_ledgers(&involved)?;
    let hash = |id: &str| keyed_hash(ctx.secret, "message", id.as_bytes());
    let plan = plan_batch(ctx.policy, &ledgers, &parsed, header_gpc, &hash, now);
    let IngestPlan {
        consents,
        audit,
        events,
        drops,
        mut outcomes,
        slots,
        states,
    } = plan;
    let commit = IngestCommit {
        subjects: Vec::new(),
        consents,
        audit: audit
            .into_iter()
            .map(|e| e.into_draft(now))
            .collect::<StoreResult<Vec<_>>>()?,
        batch: EventBatch {
            events,
            drops,
            now: Some(now),
            half_life_days: ctx.half_life_days,
            dedupe_window_ms: DEDUPE_WINDOW_MS,
        },
    };
    let noted: Vec<(PurposeId, &'static str)> = commit
        .consents
        .iter()
        .flat_map(|(_, records)| records)
        .map(|r| (r.purpose.clone(), r.decision.as_str()))
        .collect();
    let inserted = ctx.store.commit_ingest(commit)?;
    for (purpose, decision) in &noted {
        crate::counters::note_consent(purpose.as_str(), decision);
    }
    for (slot, result) in slots.into_iter().zip(inserted) {
        if result == InsertOutcome::Duplicate {
            outcomes[slot] = Some(Outcome::Dropped {
                reason: DropReason::Duplicate.code(),
                invalid_properties: Vec::new(),
            });
        }
    }
    for (i, p) in parsed.iter().enumerate() {
        if let Ok(e) = p
            && e.call == Call::Identify
            && outcomes[i].is_none()
        {
            outcomes[i] = Some(identify(ctx, e, &states[&e.subject], now)?);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Invalid(invalid("internal", "not processed"))))
        .collect())
}

/// `identify`: merge the anonymous visitor's events into the identified subject — only those
/// the identified subject's consent allows, narrowed to the purposes allowed — and record it.
fn identify(
    ctx: &Context<'_>,
    e: &Incoming,
    state: &ConsentState,
    now: Timestamp,
) -> StoreResult<Outcome> {
    let mut merged = 0;
    if let Some(anon) = &e.anonymous
        && anon != &e.subject
    {
        let moved: Vec<Narrowed> = ctx
            .store
            .all_events(anon)?
            .into_iter()
            .filter_map(|ev| {
                let (purposes, expires_at) = events::still_allowed(
                    ctx.policy,
                    state,
                    &ev.purposes,
                    ev.occurred_at,
                    ev.expires_at,
                )?;
                let feeds_profile = ev.interaction.is_some()
                    && purposes
                        .iter()
                        .any(|p| ctx.policy.purpose(p).is_some_and(|p| p.personalization));
                Some(Narrowed {
                    id: ev.id,
                    purposes,
                    expires_at,
                    feeds_profile,
                })
            })
            .collect();
        merged = moved.len();
        if merged > 0 {
            ctx.store
                .merge_events(anon, &e.subject, &moved, ctx.half_life_days, now)?;
        }
        // The visitor's experiment arms stay theirs as the known person, so the variant they
        // saw does not change on sign-in.
        crate::experiments::carry_over_on_identify(ctx.store, anon, &e.subject)?;
    }
    let (stored_traits, minimized) = store_traits(ctx, e, state, now)?;
    let allowed: Vec<String> = state.allowed().map(ToString::to_string).collect();
    if merged == 0 && stored_traits == 0 && allowed.is_empty() {
        return Ok(Outcome::Dropped {
            reason: DropReason::NoConsent.code(),
            invalid_properties: Vec::new(),
        });
    }
    Ok(Outcome::Accepted {
        purposes: allowed,
        expires_at: None,
        minimized,
        invalid_properties: Vec::new(),
        merged_events: merged,
    })
}

/// Contact traits and the data category each belongs to.
const CONTACT_TRAITS: &[(&str, &str)] = &[
    ("email", "email"),
    ("phone", "phone"),
    ("name", "name"),
    ("first_name", "name"),
    ("firstName", "name"),
    ("last_name", "name"),
    ("lastName", "name"),
];

/// Whether a trait is contact data (sealed when stored, and sent only by a shop's backend or
/// the person themselves).
pub fn is_contact_trait(name: &str) -> bool {
    CONTACT_TRAITS.iter().any(|(t, _)| *t == name)
}

/// Seals contact traits with the subject's data key when an allowed purpose needs their
/// category; reports the others as minimized. Other traits are never stored.
fn store_traits(
    ctx: &Context<'_>,
    e: &Incoming,
    state: &ConsentState,
    now: Timestamp,
) -> StoreResult<(usize, Vec<String>)> {
    let mut stored = 0;
    let mut minimized = Vec::new();
    for (name, value) in &e.traits {
        let Some((_, category)) = CONTACT_TRAITS.iter().find(|(t, _)| t == name) else {
            minimized.push(name.clone());
            continue;
        };
        let needed = state
            .allowed()
            .filter_map(|p| ctx.policy.purpose(p))
            .any(|p| p.categories.iter().any(|c| c.as_str() == *category));
        if !needed {
            minimized.push(name.clone());
            continue;
        }
        let mut fresh = [0u8; 32];
        let mut nonce = [0u8; candor_domain::crypto::NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut fresh);
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let key =
            candor_domain::crypto::DataKey::from_bytes(ctx.store.data_key(&e.subject, fresh, now)?);
        let sealed = candor_domain::crypto::seal(
            &key,
            nonce,
            &contact_context(&e.subject, name),
            value.as_bytes(),
        );
        ctx.store.put_contact(&e.subject, name, &sealed)?;
        stored += 1;
    }
    Ok((stored, minimized))
}

/// Binds sealed contact data to its subject and field.
pub fn contact_context(subject: &SubjectKey, field: &str) -> Vec<u8> {
    let mut c = subject.as_bytes().to_vec();
    c.extend_from_slice(field.as_bytes());
    c
}
