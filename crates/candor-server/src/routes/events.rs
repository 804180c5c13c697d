//! Ingestion: `/v1/events` and the Segment-spec endpoints, plus reading stored events and
//! the anonymous drop counters.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use candor_domain::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{PageBody, cursor};
use crate::auth::{Allowed, Credential, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::consent::has_gpc;
use crate::state::AppState;
use candor_app::ingest::{self, Call, Outcome};

/// A batch of events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsBody {
    /// Segment-spec events: `type` (track, page, identify), `event`, `userId` or
    /// `anonymousId`, `messageId`, `timestamp`, `properties`, `traits`, `context`. Each is
    /// checked on its own: one that is not a valid event (even one that is not an object) is
    /// answered `invalid` in `results` without refusing the others.
    #[schema(value_type = Vec<Value>, min_items = 1, max_items = 1000)]
    pub events: Vec<Value>,
    /// The credential, when there is no `Authorization` header (see `SECURITY.md`).
    #[serde(rename = "writeKey")]
    pub write_key: Option<String>,
}

/// A Segment `batch` call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SegmentBatch {
    /// The events, each checked on its own as in `/v1/events`.
    #[schema(value_type = Vec<Value>, min_items = 1, max_items = 1000)]
    pub batch: Vec<Value>,
    /// Taken whatever it holds, and not used: libraries fill it with their own details.
    #[serde(default)]
    #[schema(value_type = Value)]
    pub context: Option<Value>,
    /// When the library sent the batch, by the device's clock: corrects the clock skew of
    /// every event without a `sentAt` of its own.
    pub sent_at: Option<String>,
    /// When the library made the batch (RudderStack's libraries send it); not used.
    pub timestamp: Option<String>,
    /// The credential, when there is no `Authorization` header (see `SECURITY.md`).
    pub write_key: Option<String>,
    /// Taken whatever it holds, and not used.
    #[serde(default)]
    #[schema(value_type = Value)]
    pub integrations: Option<Value>,
    /// Taken whatever it holds, and not used.
    #[serde(default, rename = "_metadata")]
    #[schema(value_type = Value)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyProblem {
    pub name: String,
    /// `unknown_property` or `invalid_property`.
    pub reason: &'static str,
}

/// What happened to one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    pub index: usize,
    /// `accepted`, `dropped` or `invalid`.
    pub status: &'static str,
    /// Why it was dropped or invalid: `no_consent`, `unknown_event_type`, `duplicate`,
    /// `expired`, `invalid_timestamp`, `missing_subject_id`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The purposes the stored event serves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Properties removed because no purpose the event serves needs their data category.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub minimized: Vec<String>,
    /// Properties removed because they are undeclared or of the wrong type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_properties: Vec<PropertyProblem>,
    /// For identify: events of the anonymous visitor merged into the identified subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_events: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    pub accepted: usize,
    pub dropped: usize,
    pub invalid: usize,
    pub results: Vec<EventResult>,
}

fn result_body(index: usize, o: Outcome) -> EventResult {
    let problems = |v: Vec<(String, &'static str)>| {
        v.into_iter()
            .map(|(name, reason)| PropertyProblem { name, reason })
            .collect()
    };
    let mut r = EventResult {
        index,
        status: "accepted",
        reason: None,
        message: None,
        purposes: Vec::new(),
        expires_at: None,
        minimized: Vec::new(),
        invalid_properties: Vec::new(),
        merged_events: None,
    };
    match o {
        Outcome::Accepted {
            purposes,
            expires_at,
            minimized,
            invalid_properties,
            merged_events,
        } => {
            r.purposes = purposes;
            r.expires_at = expires_at.map(Timestamp::to_rfc3339);
            r.minimized = minimized;
            r.invalid_properties = problems(invalid_properties);
            r.merged_events = (merged_events > 0).then_some(merged_events);
        }
        Outcome::Dropped {
            reason,
            invalid_properties,
        } => {
            r.status = "dropped";
            r.reason = Some(reason);
            r.invalid_properties = problems(invalid_properties);
        }
        Outcome::Invalid(inv) => {
            r.status = "invalid";
            r.reason = Some(inv.code);
            r.message = Some(inv.message);
        }
    }
    r
}

/// Refuses, one event at a time, what a browser credential may not send: another person's
/// events, a merge with a visitor whose token did not come along, contact data from an
/// anonymous visitor. A server key may send anything.
fn own_event(
    state: &AppState,
    cred: &Credential,
    e: &ingest::Incoming,
) -> Result<(), ingest::Invalid> {
    let refuse = |code: &'static str, message: &str| ingest::Invalid {
        code,
        message: message.to_owned(),
    };
    match cred {
        Credential::Server(_) | Credential::Publishable { .. } => Ok(()),
        Credential::Visitor(v) => {
            if e.subject != v.key || e.anonymous.is_some() {
                return Err(refuse(
                    "subject_not_yours",
                    "a visitor token sends only its own visitor's events: use its \
                     anonymousId and no userId",
                ));
            }
            if e.traits.keys().any(|t| ingest::is_contact_trait(t)) {
                return Err(refuse(
                    "contact_needs_subject_token",
                    "contact details come from the person's own session token or the \
                     shop's backend, never from an anonymous visitor",
                ));
            }
            Ok(())
        }
        Credential::Person(p) => {
            let merge_ok = match (&e.anonymous, &p.visitor) {
                (None, _) => true,
                (Some(a), Some(v)) => *a == v.key,
                (Some(_), None) => false,
            };
            if !p.is_for(state, &e.subject) || !merge_ok {
                return Err(refuse(
                    "subject_not_yours",
                    "a session token sends only its person's events (userId), and merges \
                     only the visitor whose token comes in the Candor-Visitor-Token header",
                ));
            }
            Ok(())
        }
    }
}

/// Fills in a visitor's own anonymous id on events that name nobody.
fn with_visitor_id(cred: &Credential, mut raw: Vec<Value>) -> Vec<Value> {
    if let Credential::Visitor(v) = cred {
        let id = String::from_utf8_lossy(v.claims.anonymous_id.as_bytes()).into_owned();
        for event in &mut raw {
            if let Some(obj) = event.as_object_mut() {
                let named = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
                if !named("userId") && !named("anonymousId") {
                    obj.insert("anonymousId".to_owned(), Value::String(id.clone()));
                }
            }
        }
    }
    raw
}

async fn run(
    state: AppState,
    cred: Credential,
    raw: Vec<Value>,
    default_call: Option<Call>,
    gpc: bool,
) -> ApiResult<Json<IngestResponse>> {
    let max = state.config.limits.event_batch_len_max;
    if raw.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {max} events; this one has {}",
            raw.len()
        )));
    }
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "empty_batch",
            "send at least one event",
        ));
    }
    let raw = with_visitor_id(&cred, raw);
    let outcomes = candor_app::events::ingest_batch(&state, raw, default_call, gpc, |e| {
        own_event(&state, &cred, e)
    })
    .await?;
    let results: Vec<EventResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| result_body(i, o))
        .collect();
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(Json(IngestResponse {
        accepted: count("accepted"),
        dropped: count("dropped"),
        invalid: count("invalid"),
        results,
    }))
}

/// An ingestion request as analytics libraries send it: the credential, allowed to send
/// events, and the body (see [`crate::extract::read_sdk_body`] for the types and encodings).
///
/// The credential is the `Authorization` header, or, when there is none, the body's
/// `writeKey` — where Segment's browser library puts it for beacons, which cannot set
/// headers. A `writeKey` is read exactly as the header would be, so it passes the same checks
/// (a server key with `Origin` is refused, a publishable key cannot send events). With both,
/// they must name the same credential.
pub struct Ingest<T> {
    cred: Credential,
    body: T,
}

/// The header value a body's `writeKey` stands for.
fn write_key_header(key: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| ApiError::TokenRejected("key_invalid", "the writeKey is malformed".into()))
}

impl<T: DeserializeOwned> FromRequest<AppState> for Ingest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        // With a header, the credential is checked before a byte of the body is read.
        let header_cred = if parts.headers.contains_key(header::AUTHORIZATION) {
            let Allowed(cred, _) =
                Allowed::<act::SendEvents>::from_request_parts(&mut parts, state).await?;
            Some(cred)
        } else {
            None
        };
        let bytes = crate::extract::read_sdk_body(&parts, body, state).await?;
        let value: Value = crate::extract::parse_value(&bytes)?;
        let write_key = match value.get("writeKey") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) => Some(k.trim().to_owned()),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_body",
                    "invalid request body: writeKey must be a string",
                ));
            }
        };
        let cred = match (header_cred, write_key) {
            (Some(cred), None) => cred,
            (Some(cred), Some(key)) => {
                let presented = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|h| h.to_str().ok())
                    .and_then(crate::auth::bearer_or_basic);
                if presented.as_deref() != Some(key.as_str()) {
                    return Err(ApiError::bad_request(
                        "write_key_mismatch",
                        "the body's writeKey and the Authorization header name different \
                         credentials; send one of them",
                    ));
                }
                cred
            }
            (None, Some(key)) if !key.is_empty() => {
                parts
                    .headers
                    .insert(header::AUTHORIZATION, write_key_header(&key)?);
                let Allowed(cred, _) =
                    Allowed::<act::SendEvents>::from_request_parts(&mut parts, state).await?;
                cred
            }
            (None, _) => {
                return Err(ApiError::Unauthenticated(
                    "send a key or token as `Authorization: Bearer CREDENTIAL`, or as the \
                     body's `writeKey`"
                        .into(),
                ));
            }
        };
        let body = crate::extract::from_value(value)?;
        Ok(Ingest { cred, body })
    }
}

/// Gives every event without its own `sentAt` the batch's, so each event's clock skew is
/// corrected (see `ingest::parse`).
fn with_sent_at(mut raw: Vec<Value>, sent_at: Option<&str>) -> Vec<Value> {
    if let Some(sent_at) = sent_at {
        for event in &mut raw {
            if let Some(obj) = event.as_object_mut() {
                obj.entry("sentAt")
                    .or_insert_with(|| Value::String(sent_at.to_owned()));
            }
        }
    }
    raw
}

/// Ingest a batch. Each event is gated by consent and minimized; the answer says what
/// happened to each. A 200 means every accepted event is on disk.
#[utoipa::path(post, path = "/v1/events", tag = "events", security(("api_key" = [])), request_body = EventsBody,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Ingest { cred, body }: Ingest<EventsBody>,
) -> ApiResult<Json<IngestResponse>> {
    run(state, cred, body.events, None, has_gpc(&headers)).await
}

/// Segment-spec `batch`. The batch's `sentAt` corrects the clock skew of every event that
/// has no `sentAt` of its own.
#[utoipa::path(post, path = "/v1/batch", tag = "events", security(("api_key" = [])), request_body = SegmentBatch,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn post_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Ingest { cred, body }: Ingest<SegmentBatch>,
) -> ApiResult<Json<IngestResponse>> {
    let raw = with_sent_at(body.batch, body.sent_at.as_deref());
    run(state, cred, raw, None, has_gpc(&headers)).await
}

async fn single(
    state: AppState,
    cred: Credential,
    headers: HeaderMap,
    body: Map<String, Value>,
    call: Call,
) -> ApiResult<Json<IngestResponse>> {
    // A single call's body is one event, so one that is not an object is refused whole (422,
    // as the document says), unlike a batch, where each event is answered on its own.
    run(
        state,
        cred,
        vec![Value::Object(body)],
        Some(call),
        has_gpc(&headers),
    )
    .await
}

/// Segment-spec `track`.
#[utoipa::path(post, path = "/v1/track", tag = "events", security(("api_key" = [])), request_body = Object,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody)))]
pub async fn post_track(
    State(state): State<AppState>,
    headers: HeaderMap,
    Ingest { cred, body }: Ingest<Map<String, Value>>,
) -> ApiResult<Json<IngestResponse>> {
    single(state, cred, headers, body, Call::Track).await
}

/// Segment-spec `page`.
#[utoipa::path(post, path = "/v1/page", tag = "events", security(("api_key" = [])), request_body = Object,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody)))]
pub async fn post_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Ingest { cred, body }: Ingest<Map<String, Value>>,
) -> ApiResult<Json<IngestResponse>> {
    single(state, cred, headers, body, Call::Page).await
}

/// Segment-spec `identify`: merges the anonymous visitor into the identified subject when
/// that subject's consent allows it, and stores contact traits sealed.
#[utoipa::path(post, path = "/v1/identify", tag = "events", security(("api_key" = [])), request_body = Object,
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody)))]
pub async fn post_identify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Ingest { cred, body }: Ingest<Map<String, Value>>,
) -> ApiResult<Json<IngestResponse>> {
    single(state, cred, headers, body, Call::Identify).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEventBody {
    pub id: i64,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub purposes: Vec<String>,
    pub occurred_at: String,
    pub received_at: String,
    pub expires_at: String,
    pub session_only: bool,
    /// Whether the event feeds the interest profile.
    pub personalization: bool,
}

/// A subject's stored events, newest first (operators only).
#[utoipa::path(get, path = "/v1/subjects/{id}/events", tag = "events", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), crate::routes::audit::OperatorReadQuery),
    responses((status = 200, body = PageBody<StoredEventBody>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn subject_events(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<crate::routes::audit::OperatorReadQuery>,
) -> ApiResult<Json<PageBody<StoredEventBody>>> {
    let subject = state.subject_key(&id)?;
    let page = q.page().to_request(&state)?;
    // Every operator read of personal data is in the audit log before the data is returned.
    let read = q.audited_read(&caller, subject, "events")?;
    let page = candor_app::events::subject_events(&state, subject, page, read).await?;
    Ok(Json(PageBody {
        items: page
            .items
            .into_iter()
            .map(|e| StoredEventBody {
                id: e.id,
                event_type: e.event_type,
                item_id: e.item_id,
                properties: serde_json::from_str(&e.properties).unwrap_or(Value::Null),
                purposes: e.purposes.iter().map(ToString::to_string).collect(),
                occurred_at: e.occurred_at.to_rfc3339(),
                received_at: e.received_at.to_rfc3339(),
                expires_at: e.expires_at.to_rfc3339(),
                session_only: e.session_only,
                personalization: e.interaction.is_some(),
            })
            .collect(),
        next_cursor: cursor(page.next),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DropsQuery {
    /// Days back from today (default 30, at most 400).
    #[param(minimum = 1, maximum = 400)]
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DropCountBody {
    pub date: String,
    pub event_type: String,
    pub reason: String,
    pub count: u64,
}

/// Anonymous counts of events not stored, by day, type and reason.
#[utoipa::path(get, path = "/v1/stats/drops", tag = "events", security(("api_key" = [])), params(DropsQuery),
    responses((status = 200, body = Vec<DropCountBody>), (status = 403, body = ErrorBody)))]
pub async fn drop_stats(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<DropsQuery>,
) -> ApiResult<Json<Vec<DropCountBody>>> {
    let rows = candor_app::events::drop_counts(&state, q.days).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DropCountBody {
                date: candor_app::events::drop_day(&r).date(),
                event_type: r.event_type,
                reason: r.reason,
                count: r.n,
            })
            .collect(),
    ))
}
