//! Events over any transport: a batch of raw Segment-spec events checked, parsed, let through
//! by the caller's authority, and ingested; a person's stored events for the operator (an
//! audited read); the anonymous drop counters.

use candor_domain::SubjectKey;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{DropCount, Page, PageRequest, StoredEvent};
use serde_json::Value;

use crate::audit::AuditEvent;
use crate::config::Limits;
use crate::ingest::{self, Call, Incoming, Invalid, Outcome};
use crate::{App, AppError, AppResult};

/// Most days of drop counters one answer covers.
pub const DROP_DAYS_MAX: u32 = 400;
/// Days of drop counters when none are asked for.
const DROP_DAYS_DEFAULT: u32 = 30;

/// The size of a JSON value as sent (close enough: strings and numbers by their text), and its
/// longest string, found in one walk without serializing it again.
fn json_size(v: &Value) -> (usize, usize) {
    match v {
        Value::Null | Value::Bool(_) => (5, 0),
        Value::Number(n) => (n.to_string().len(), 0),
        Value::String(s) => (s.len() + 2, s.len()),
        Value::Array(items) => items.iter().fold((2, 0), |(n, m), x| {
            let (xn, xm) = json_size(x);
            (n + xn + 1, m.max(xm))
        }),
        Value::Object(map) => map.iter().fold((2, 0), |(n, m), (k, x)| {
            let (xn, xm) = json_size(x);
            (n + k.len() + 4 + xn, m.max(xm).max(k.len()))
        }),
    }
}

/// Refuses an event larger than `[limits] event_bytes_max`, or holding a value longer than
/// `property_value_bytes_max`, before anything of it is parsed or stored.
pub fn size_checked(limits: &Limits, raw: &Value) -> Result<(), Invalid> {
    let (bytes, longest) = json_size(raw);
    if bytes > limits.event_bytes_max {
        return Err(Invalid {
            code: "event_too_large",
            message: format!(
                "an event is at most {} bytes; this one is about {bytes}",
                limits.event_bytes_max
            ),
        });
    }
    if longest > limits.property_value_bytes_max {
        return Err(Invalid {
            code: "value_too_large",
            message: format!(
                "a property or trait value is at most {} bytes; one here has {longest}",
                limits.property_value_bytes_max
            ),
        });
    }
    Ok(())
}

/// Ingests a batch of raw events: each is size-checked, parsed (a single call's `default_call`
/// applies to events that name none), and let through only if `allowed` (who may send it,
/// which the transport knows); then the batch is planned and committed. One outcome per event,
/// in order.
pub async fn ingest_batch(
    app: &App,
    raw: Vec<Value>,
    default_call: Option<Call>,
    gpc: bool,
    allowed: impl Fn(&Incoming) -> Result<(), Invalid>,
) -> AppResult<Vec<Outcome>> {
    let now = app.now();
    let limits = &app.config.limits;
    let parsed: Vec<_> = raw
        .into_iter()
        .map(|v| {
            size_checked(limits, &v)?;
            let e = ingest::parse(v, default_call, app.secret.as_bytes(), now)?;
            allowed(&e).map(|()| e)
        })
        .collect();
    let st = app.clone();
    let outcomes = app
        .blocking(move |store| {
            let ctx = ingest::Context {
                store,
                policy: &st.policy,
                secret: st.secret.as_bytes(),
                half_life_days: st.config.profiles.half_life_days,
            };
            ingest::ingest(&ctx, parsed, gpc, now)
        })
        .await?;
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    crate::counters::note_events(
        count(|o| matches!(o, Outcome::Accepted { .. })),
        count(|o| matches!(o, Outcome::Invalid(_))),
    );
    Ok(outcomes)
}

/// A page of a person's stored events for the operator. `read` (the operator's audited read)
/// is in the audit log before the data is returned; expired events are gone for every reader,
/// even before the retention job runs.
pub async fn subject_events(
    app: &App,
    subject: SubjectKey,
    page: PageRequest,
    read: AuditEvent,
) -> AppResult<Page<StoredEvent>> {
    let now = app.now();
    let mut page = app
        .blocking(move |store| {
            let page = store.events(&subject, page)?;
            crate::audit::record(store, read, now)?;
            Ok(page)
        })
        .await?;
    page.items.retain(|e| e.expires_at > now);
    Ok(page)
}

/// The anonymous drop counters of the last `days` (UTC) days, 30 unless given.
pub async fn drop_counts(app: &App, days: Option<u32>) -> AppResult<Vec<DropCount>> {
    let days = days.unwrap_or(DROP_DAYS_DEFAULT);
    if days == 0 || days > DROP_DAYS_MAX {
        return Err(AppError::invalid(
            "invalid_days",
            format!("days must be between 1 and {DROP_DAYS_MAX}"),
        ));
    }
    let since = app.now().as_millis().div_euclid(DAY_MS) - i64::from(days) + 1;
    app.blocking(move |store| store.drop_counts(since)).await
}

/// The start of the UTC day a drop counter counts.
pub fn drop_day(count: &DropCount) -> Timestamp {
    Timestamp::from_millis(count.day * DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_values_over_their_limits_are_refused() {
        let limits = Limits {
            event_bytes_max: 100,
            property_value_bytes_max: 10,
            ..Limits::default()
        };
        let ok = serde_json::json!({"event": "Viewed", "properties": {"sku": "a1"}});
        assert!(size_checked(&limits, &ok).is_ok());
        let long_value = serde_json::json!({"properties": {"sku": "x".repeat(11)}});
        assert_eq!(
            size_checked(&limits, &long_value).unwrap_err().code,
            "value_too_large"
        );
        let many: Vec<Value> = (0..60).map(Value::from).collect();
        let large = serde_json::json!({"items": many});
        assert_eq!(
            size_checked(&limits, &large).unwrap_err().code,
            "event_too_large"
        );
    }
}
