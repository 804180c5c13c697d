//! Data-subject rights over HTTP: access and portability (export), rectification, erasure,
//! restriction, objection, the request log and "why am I seeing this".
//!
//! Every `/v1/subjects/{id}/...` route here asks [`Credential::for_subject`] for leave to act
//! (`Act::Privacy`): an admin key, or the person's own session token with the `privacy`
//! scope. Each request a person makes is recorded in the request log with its jurisdiction's
//! statutory deadline.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, Decision, Reason, Source, SubjectFacts};
use candor_domain::crypto::{self, DataKey};
use candor_domain::profile::Profile;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{
    DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrRequest, NewDsrRequest, StoredEvent,
    SubjectRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::consent::{ConsentRecordBody, ConsentStateBody, record_body, state_body};
use super::{PageBody, PageQuery, cursor};
use crate::auth::{Access, Allowed, Server, act, scope};
use crate::erasure::{self, SignedReceipt};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::ingest::contact_context;
use crate::state::AppState;

/// Longest contact value accepted on rectification, in bytes.
pub const CONTACT_VALUE_BYTES_MAX: usize = 320;
/// Longest interest category name accepted, in bytes.
pub const CATEGORY_BYTES_MAX: usize = 128;
/// Most distinct items looked up to explain one recommendation.
const EXPLAIN_ITEMS_MAX: usize = 500;

// --- The request log. ---

/// `?jurisdiction=` on every request a person makes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// The law the request is made under (`gdpr`, `ccpa`, or any configured in
    /// `[subject_rights] deadline_days`); the configured default when absent.
    pub jurisdiction: Option<String>,
}

fn jurisdiction_days(state: &AppState, asked: Option<&str>) -> ApiResult<(String, u32)> {
    let rights = &state.config.subject_rights;
    let name = asked.unwrap_or(&rights.default_jurisdiction);
    match rights.deadline_days.get(name) {
        Some(days) => Ok((name.to_owned(), *days)),
        None => Err(ApiError::bad_request(
            "unknown_jurisdiction",
            format!(
                "jurisdiction `{name}` is not one of {}",
                rights
                    .deadline_days
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A request to log, received now; `completed` for those answered at once.
fn new_request(
    state: &AppState,
    kind: &str,
    subject: &SubjectKey,
    jurisdiction: Option<&str>,
    completed: bool,
    detail: serde_json::Value,
) -> ApiResult<NewDsrRequest> {
    let (jurisdiction, days) = jurisdiction_days(state, jurisdiction)?;
    let now = state.now();
    Ok(NewDsrRequest {
        kind: kind.to_owned(),
        subject_ref: erasure::subject_ref(state.secret.as_bytes(), subject),
        jurisdiction,
        received_at: now,
        deadline_at: now.plus_millis(i64::from(days) * DAY_MS),
        completed_at: completed.then_some(now),
        detail: detail.to_string(),
    })
}

fn subject_not_found() -> ApiError {
    ApiError::not_found(
        "subject_not_found",
        "Candor holds no data about this subject",
    )
}

// --- Access and portability. ---

#[derive(Debug, Serialize, ToSchema)]
pub struct ControllerBody {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectFactsBody {
    pub age_band: Option<String>,
    pub country: Option<String>,
    pub first_seen: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentsBody {
    /// The state derived from the ledger now, with the reason for each purpose.
    pub current: ConsentStateBody,
    /// Every recorded choice, oldest first.
    pub history: Vec<ConsentRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportEventBody {
    pub event_type: String,
    pub item_id: Option<String>,
    /// The properties kept (others were never stored).
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// The purposes the event is kept for.
    pub purposes: Vec<String>,
    pub occurred_at: String,
    pub received_at: String,
    /// When it is deleted.
    pub expires_at: String,
    pub session_only: bool,
    /// Whether it feeds the interest profile.
    pub feeds_profile: bool,
}

/// What the person, or the shop on their behalf, told Candor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvidedBody {
    pub subject: Option<SubjectFactsBody>,
    /// Contact data, decrypted.
    pub contact: BTreeMap<String, String>,
    pub consents: ConsentsBody,
    /// Behaviour events, oldest first.
    pub events: Vec<ExportEventBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestBody {
    pub category: String,
    /// Share of the person's recent interest, in [0, 1].
    pub share: f64,
}

/// What Candor inferred from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferredBody {
    /// Interest in catalog categories, strongest first.
    pub interests: Vec<InterestBody>,
    pub n_views: u64,
    pub n_adds: u64,
    pub n_purchases: u64,
    pub last_seen: Option<String>,
    /// Interests the person asked Candor to forget; never inferred again.
    pub muted_interests: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessingBody {
    /// Set while processing is restricted: data kept, nothing new collected or personalized.
    pub restricted_since: Option<String>,
    /// The person's choices about recommendations.
    pub preferences: crate::routes::feedback::PreferencesBody,
    /// Recommendations shown to the person, newest last.
    pub exposures: Vec<ExposureBody>,
    /// Every campaign run that decided about the person: sent, or not and why.
    pub campaigns: Vec<CampaignOutcomeBody>,
    /// The marketing segments the person is in now, and the values that put them there.
    pub segments: Vec<crate::routes::segments::MembershipBody>,
    /// The experiments the person is in, with their arm ("you are in test X, variant B").
    pub experiments: Vec<crate::routes::experiments::AssignmentBody>,
}

/// One campaign decision about the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOutcomeBody {
    pub campaign: String,
    pub run: String,
    pub at: String,
    pub sent: bool,
    /// The exclusion code when not sent (`no_consent`, `frequency_cap`, `restricted`...).
    pub reason: Option<String>,
}

/// One item shown in one recommendation list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureBody {
    pub slot: String,
    pub item_id: String,
    pub rank: u32,
    pub at: String,
    pub personalized: bool,
}

/// Everything Candor holds about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportBody {
    /// Always `candor-export/1`.
    pub format: &'static str,
    pub generated_at: String,
    pub controller: ControllerBody,
    pub provided: ProvidedBody,
    pub inferred: InferredBody,
    pub processing: ProcessingBody,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `html`; `Accept: text/html` also selects HTML.
    #[param(pattern = "^(json|html)$")]
    pub format: Option<String>,
    pub jurisdiction: Option<String>,
}

/// What the store holds about one subject, read in one blocking task.
struct Held {
    subject: Option<SubjectRecord>,
    records: Vec<ConsentRecord>,
    events: Vec<StoredEvent>,
    contact: BTreeMap<String, String>,
    profile: Option<Profile>,
    muted: Vec<String>,
    restricted: Option<Timestamp>,
    exposures: Vec<candor_store::Exposure>,
    preferences: candor_store::Preferences,
    campaigns: Vec<candor_store::SubjectOutcome>,
    experiments: Vec<crate::experiments::PersonAssignment>,
}

fn gather(
    store: &dyn candor_store::Store,
    subject: &SubjectKey,
    now: Timestamp,
) -> candor_store::StoreResult<Option<Held>> {
    if store.subject_footprint(subject)?.is_empty() {
        return Ok(None);
    }
    let sealed = store.contact(subject)?;
    let mut contact = BTreeMap::new();
    if !sealed.is_empty() {
        // The key exists whenever contact data does; `fresh` is never used then.
        let key = DataKey::from_bytes(store.data_key(subject, random_key(), now)?);
        for (field, bytes) in sealed {
            match crypto::open(&key, &contact_context(subject, &field), &bytes) {
                Ok(plain) => {
                    contact.insert(field, String::from_utf8_lossy(&plain).into_owned());
                }
                Err(e) => tracing::warn!(error = %e, "contact field does not open"),
            }
        }
    }
    Ok(Some(Held {
        subject: store.subject(subject)?,
        records: store.consent_records(subject)?,
        events: store.all_events(subject)?,
        contact,
        profile: store.profile(subject)?,
        muted: store.muted_interests(subject)?,
        restricted: store.restriction(subject)?,
        exposures: store.exposures_for_subject(subject)?,
        campaigns: store.subject_outcomes(subject, 10_000)?,
        preferences: store.preferences(subject)?,
        experiments: crate::experiments::assignments_of_person(store, subject)?,
    }))
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut k);
    k
}

fn interests(profile: Option<&Profile>, now: Timestamp, half_life_days: f64) -> Vec<InterestBody> {
    let mut v: Vec<InterestBody> = profile
        .map(|p| p.interest_shares(now, half_life_days))
        .unwrap_or_default()
        .into_iter()
        .map(|(category, share)| InterestBody { category, share })
        .collect();
    v.sort_by(|a, b| b.share.total_cmp(&a.share));
    v
}

fn export_body(state: &AppState, held: Held) -> ExportBody {
    let now = state.now();
    let facts = held
        .subject
        .as_ref()
        .map(|s| s.facts.clone())
        .unwrap_or_default();
    let derived = consent::derive(&state.policy, &facts, &held.records);
    let profile = held.profile.as_ref();
    ExportBody {
        format: "candor-export/1",
        generated_at: now.to_rfc3339(),
        controller: ControllerBody {
            name: state.policy.controller.clone(),
            contact: state.policy.contact.clone(),
        },
        provided: ProvidedBody {
            subject: held.subject.map(|s| SubjectFactsBody {
                age_band: s.facts.age_band.map(|b| b.to_string()),
                country: s.facts.country,
                first_seen: s.created_at.to_rfc3339(),
            }),
            contact: held.contact,
            consents: ConsentsBody {
                current: state_body(&state.policy, &derived),
                history: held.records.into_iter().map(record_body).collect(),
            },
            events: held
                .events
                .into_iter()
                .map(|e| ExportEventBody {
                    event_type: e.event_type,
                    item_id: e.item_id,
                    properties: serde_json::from_str(&e.properties)
                        .unwrap_or(serde_json::Value::String(e.properties)),
                    purposes: e.purposes.iter().map(ToString::to_string).collect(),
                    occurred_at: e.occurred_at.to_rfc3339(),
                    received_at: e.received_at.to_rfc3339(),
                    expires_at: e.expires_at.to_rfc3339(),
                    session_only: e.session_only,
                    feeds_profile: e.interaction.is_some(),
                })
                .collect(),
        },
        inferred: InferredBody {
            interests: interests(profile, now, state.config.profiles.half_life_days),
            n_views: profile.map_or(0, |p| p.n_views),
            n_adds: profile.map_or(0, |p| p.n_adds),
            n_purchases: profile.map_or(0, |p| p.n_purchases),
            last_seen: profile
                .and_then(|p| p.last_seen)
                .map(|t| Timestamp::from_millis(t).to_rfc3339()),
            muted_interests: held.muted,
        },
        processing: ProcessingBody {
            restricted_since: held.restricted.map(Timestamp::to_rfc3339),
            preferences: held.preferences.into(),
            exposures: held
                .exposures
                .into_iter()
                .map(|e| ExposureBody {
                    slot: e.slot,
                    item_id: e.item_id,
                    rank: e.rank,
                    at: e.at.to_rfc3339(),
                    personalized: e.personalized,
                })
                .collect(),
            campaigns: held
                .campaigns
                .into_iter()
                .map(|o| CampaignOutcomeBody {
                    campaign: o.campaign_id,
                    run: o.run_id,
                    at: o.at.to_rfc3339(),
                    sent: o.selected,
                    reason: o.reason,
                })
                .collect(),
            segments: Vec::new(),
            experiments: held.experiments.into_iter().map(Into::into).collect(),
        },
    }
}

fn wants_html(q: &ExportQuery, headers: &HeaderMap) -> ApiResult<bool> {
    match q.format.as_deref() {
        Some("html") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("format `{other}` is not one of json, html"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))),
    }
}

/// Everything held about a person, as JSON separating what they told us from what Candor
/// inferred, or as a readable HTML page (subject token or admin key).
#[utoipa::path(get, path = "/v1/subjects/{id}/export", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), ExportQuery),
    responses((status = 200, description = "JSON, or a page for people when `format=html` or `Accept: text/html`",
            content((ExportBody = "application/json"), (String = "text/html"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<ExportQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let subject = access.key();
    let html = wants_html(&q, &headers)?;
    let request = new_request(
        &state,
        "access",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "format": if html { "html" } else { "json" }}),
    )?;
    let now = state.now();
    let audit = crate::audit::AuditEvent::new(
        access.audit_actor(),
        crate::audit::AuditAction::DataExported,
        crate::audit::AuditTarget::Subject(subject),
    )
    .detail("format", if html { "html" } else { "json" });
    let held = state
        .blocking(move |store| {
            let held = gather(store, &subject, now)?;
            if held.is_some() {
                store.insert_dsr(&request)?;
                // Recorded before the data leaves: who read a person's data, and how.
                crate::audit::record(store, audit, now)?;
            }
            Ok(held)
        })
        .await?
        .ok_or_else(subject_not_found)?;
    let mut body = export_body(&state, held);
    body.processing.segments = crate::routes::segments::memberships(&state, subject).await?;
    let mut response = if html {
        axum::response::Html(render_html(&body)).into_response()
    } else {
        Json(body).into_response()
    };
    let h = response.headers_mut();
    // Personal data: never cached; the page runs no script and loads nothing.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table><tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for cell in r {
            out.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The export as a self-contained page; every value is escaped.
pub fn render_html(b: &ExportBody) -> String {
    let mut o = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your data</title>\n\
         <style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}</style>\n\
         </head><body>\n<h1>The data we hold about you</h1>\n",
    );
    o.push_str(&format!(
        "<p>Prepared {} by {} (contact: {}).</p>\n",
        escape(&b.generated_at),
        escape(&b.controller.name),
        escape(&b.controller.contact)
    ));
    if let Some(since) = &b.processing.restricted_since {
        o.push_str(&format!(
            "<p><strong>Processing is restricted since {}</strong>: we keep your data but collect nothing new and personalize nothing.</p>\n",
            escape(since)
        ));
    }
    o.push_str("<h2>What you told us</h2>\n<h3>About you</h3>\n");
    let mut about = Vec::new();
    if let Some(s) = &b.provided.subject {
        about.push(vec!["First seen".into(), s.first_seen.clone()]);
        if let Some(a) = &s.age_band {
            about.push(vec!["Age band".into(), a.clone()]);
        }
        if let Some(c) = &s.country {
            about.push(vec!["Country".into(), c.clone()]);
        }
    }
    for (k, v) in &b.provided.contact {
        about.push(vec![k.clone(), v.clone()]);
    }
    table(&mut o, &["", ""], about);
    o.push_str("<h3>Your choices, as they stand</h3>\n");
    table(
        &mut o,
        &["Purpose", "What it means", "Allowed", "Why"],
        b.provided
            .consents
            .current
            .purposes
            .iter()
            .map(|p| {
                vec![
                    p.title.clone(),
                    p.text.clone(),
                    if p.allowed { "yes" } else { "no" }.into(),
                    p.reason.clone(),
                ]
            })
            .collect(),
    );
    o.push_str("<h3>Every choice you made</h3>\n");
    table(
        &mut o,
        &["When", "Purpose", "Decision", "How"],
        b.provided
            .consents
            .history
            .iter()
            .map(|r| {
                vec![
                    r.at.clone(),
                    r.purpose.clone(),
                    r.decision.into(),
                    r.source.into(),
                ]
            })
            .collect(),
    );
    o.push_str("<h3>What you did on the site</h3>\n");
    table(
        &mut o,
        &["When", "Event", "Item", "Details", "Kept for", "Deleted on"],
        b.provided
            .events
            .iter()
            .map(|e| {
                vec![
                    e.occurred_at.clone(),
                    e.event_type.clone(),
                    e.item_id.clone().unwrap_or_default(),
                    e.properties.to_string(),
                    e.purposes.join(", "),
                    e.expires_at.clone(),
                ]
            })
            .collect(),
    );
    o.push_str("<h2>What we inferred</h2>\n<h3>Your interests</h3>\n");
    table(
        &mut o,
        &["Category", "Share of your recent interest"],
        b.inferred
            .interests
            .iter()
            .map(|i| vec![i.category.clone(), format!("{:.0}%", i.share * 100.0)])
            .collect(),
    );
    o.push_str(&format!(
        "<p>From {} views, {} additions to the basket and {} purchases.</p>\n",
        b.inferred.n_views, b.inferred.n_adds, b.inferred.n_purchases
    ));
    if !b.inferred.muted_interests.is_empty() {
        o.push_str(&format!(
            "<p>Interests you asked us to forget, never inferred again: {}.</p>\n",
            escape(&b.inferred.muted_interests.join(", "))
        ));
    }
    o.push_str("<h2>Tests you are in</h2>\n");
    table(
        &mut o,
        &["Test", "Your group", "Since", "Lists shown"],
        b.processing
            .experiments
            .iter()
            .map(|e| {
                vec![
                    e.name.clone(),
                    e.arm.clone(),
                    e.assigned_at.clone(),
                    e.n_lists_shown.to_string(),
                ]
            })
            .collect(),
    );
    o.push_str("</body></html>\n");
    o
}

// --- Rectification. ---

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBody {
    /// The contact data now held, decrypted.
    pub contact: BTreeMap<String, String>,
}

/// Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
/// holds can be corrected, and each is sealed with the subject's data key as on ingestion.
#[utoipa::path(put, path = "/v1/subjects/{id}/contact", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    request_body(content = Object, description = "Field name to corrected value"),
    responses((status = 200, body = ContactBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_contact(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
    ApiJson(body): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<Json<ContactBody>> {
    let subject = access.key();
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "send at least one contact field to correct",
        ));
    }
    for (field, value) in &body {
        if value.trim().is_empty()
            || value.len() > CONTACT_VALUE_BYTES_MAX
            || value.chars().any(char::is_control)
        {
            return Err(ApiError::bad_request(
                "invalid_contact_value",
                format!(
                    "`{field}` must be 1 to {CONTACT_VALUE_BYTES_MAX} bytes of text without control characters"
                ),
            ));
        }
        if field == "email" && !value.contains('@') {
            return Err(ApiError::bad_request(
                "invalid_contact_value",
                "`email` must be an email address",
            ));
        }
    }
    let fields: Vec<String> = body.keys().cloned().collect();
    let request = new_request(
        &state,
        "rectification",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "contact_fields": fields}),
    )?;
    let now = state.now();
    let contact = state
        .blocking(move |store| {
            let held = store.contact(&subject)?;
            if let Some(f) = body.keys().find(|f| !held.iter().any(|(h, _)| h == *f)) {
                return Ok(Err(f.clone()));
            }
            let key = DataKey::from_bytes(store.data_key(&subject, random_key(), now)?);
            for (field, value) in &body {
                let mut nonce = [0u8; crypto::NONCE_LEN];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
                let sealed = crypto::seal(
                    &key,
                    nonce,
                    &contact_context(&subject, field),
                    value.as_bytes(),
                );
                store.put_contact(&subject, field, &sealed)?;
            }
            store.insert_dsr(&request)?;
            Ok(Ok(gather(store, &subject, now)?.map(|h| h.contact)))
        })
        .await?
        .map_err(|field| {
            ApiError::unprocessable(
                "contact_field_not_held",
                format!(
                    "Candor holds no `{field}` for this subject, so there is nothing to correct"
                ),
            )
        })?
        .ok_or_else(subject_not_found)?;
    Ok(Json(ContactBody { contact }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestRemovedBody {
    pub category: String,
    /// Whether the profile held the interest.
    pub removed: bool,
    /// Every interest the person asked Candor to forget.
    pub muted_interests: Vec<String>,
}

/// Remove an inferred interest and keep it out of the profile from now on.
#[utoipa::path(delete, path = "/v1/subjects/{id}/interests/{category}", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"),
        ("category" = String, Path, description = "A catalog category from the export's `inferred.interests`"),
        RequestQuery),
    responses((status = 200, body = InterestRemovedBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_interest(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiPath((_id, category)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<InterestRemovedBody>> {
    let subject = access.key();
    if category.is_empty()
        || category.len() > CATEGORY_BYTES_MAX
        || category.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "invalid_category",
            format!("a category is 1 to {CATEGORY_BYTES_MAX} bytes without control characters"),
        ));
    }
    let request = new_request(
        &state,
        "rectification",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "interest_removed": category}),
    )?;
    let now = state.now();
    let c = category.clone();
    let muted_max = state.config.limits.muted_categories_max;
    let (removed, muted) = state
        .blocking(move |store| {
            if store.subject_footprint(&subject)?.is_empty() {
                return Ok(None);
            }
            let muted = store.muted_interests(&subject)?;
            if !muted.contains(&c) && muted.len() >= muted_max {
                return Ok(Some(Err(ApiError::unprocessable(
                    "preferences_full",
                    format!("a person may mute at most {muted_max} interests"),
                ))));
            }
            let removed = store.mute_interest(&subject, &c, now)?;
            store.insert_dsr(&request)?;
            Ok(Some(Ok((removed, store.muted_interests(&subject)?))))
        })
        .await?
        .ok_or_else(subject_not_found)??;
    Ok(Json(InterestRemovedBody {
        category,
        removed,
        muted_interests: muted,
    }))
}

// --- Erasure. ---

/// Erase everything held about a person and return a signed receipt. Consent records become a
/// consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
/// on. Erasing again once nothing is held returns the original receipt (200); a subject
/// Candor never held anything about is 404.
#[utoipa::path(delete, path = "/v1/subjects/{id}", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = SignedReceipt), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_subject(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<SignedReceipt>> {
    let subject = access.key();
    let request = new_request(
        &state,
        "erasure",
        &subject,
        q.jurisdiction.as_deref(),
        false,
        serde_json::json!({"by": access.actor()}),
    )?;
    let secret = state.secret.clone();
    let plan = erasure::plan(
        secret.as_bytes(),
        &subject,
        state.config.subject_rights.keep_consent_proof,
    );
    let now = state.now();
    let audit = crate::audit::AuditEvent::new(
        access.audit_actor(),
        crate::audit::AuditAction::Erasure,
        crate::audit::AuditTarget::Subject(subject),
    );
    let keep_until = now.plus_millis(crate::token_keys::token_lifetime_ms_max(
        &state.config.subject_rights,
    ));
    let reference = crate::subject_token::revocation_ref(state.secret.as_bytes(), &subject);
    let app = state.clone();
    let receipt = state
        .blocking(move |store| {
            // Every token issued for them so far dies with their data, first, so no request
            // racing the erasure can start with one.
            store.revoke_subject_tokens(&reference, now, keep_until)?;
            if store.subject_footprint(&subject)?.is_empty() {
                match store.latest_dsr(&request.subject_ref, "erasure")? {
                    None => return Ok(None),
                    Some(done) if done.status == DSR_STATUS_COMPLETED => {
                        // Purge again: a first answer that failed at the purge is retried here.
                        store.purge_deleted()?;
                        return Ok(serde_json::from_str::<SignedReceipt>(&done.detail).ok());
                    }
                    // Begun and interrupted: finish it below.
                    Some(_) => {}
                }
            }
            let receipt = crate::recommend::erasing(&app, subject, || {
                erasure::erase(store, secret.as_bytes(), &subject, &plan, &request, now)
            })?;
            // The log keeps that an erasure happened, under a digest, never what was erased.
            crate::audit::record(store, audit, now)?;
            Ok(Some(receipt))
        })
        .await?
        .ok_or_else(subject_not_found)?;
    tracing::info!(request_id = receipt.receipt.request_id, "subject erased");
    // Their interactions trained the shared models; every instance rebuilds without them.
    crate::recommend::invalidate(&state).await;
    Ok(Json(receipt))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptCheckBody {
    /// Whether this server signed the receipt, unchanged.
    pub valid: bool,
}

/// Check an erasure receipt's signature (any API key).
#[utoipa::path(post, path = "/v1/dsr/receipts/verify", tag = "subject rights", security(("api_key" = [])),
    request_body = SignedReceipt,
    responses((status = 200, body = ReceiptCheckBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn verify_receipt(
    State(state): State<AppState>,
    _: Allowed<act::VerifyReceipt>,
    ApiJson(body): ApiJson<SignedReceipt>,
) -> ApiResult<Json<ReceiptCheckBody>> {
    Ok(Json(ReceiptCheckBody {
        valid: erasure::verify(state.secret.as_bytes(), &body),
    }))
}

// --- Restriction and objection. ---

#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictionBody {
    pub restricted: bool,
    pub since: Option<String>,
}

async fn set_restriction(
    state: AppState,
    access: Access<act::Privacy>,
    q: RequestQuery,
    restrict: bool,
) -> ApiResult<Json<RestrictionBody>> {
    let subject = access.key();
    let request = new_request(
        &state,
        if restrict {
            "restriction"
        } else {
            "restriction_lifted"
        },
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor()}),
    )?;
    let now = state.now();
    let since = state
        .blocking(move |store| {
            store.set_restriction(&subject, restrict.then_some(now))?;
            store.insert_dsr(&request)?;
            store.restriction(&subject)
        })
        .await?;
    Ok(Json(RestrictionBody {
        restricted: since.is_some(),
        since: since.map(Timestamp::to_rfc3339),
    }))
}

/// Restrict processing (GDPR Art. 18): data is kept, new events are dropped with reason
/// `restricted`, and nothing is personalized until the restriction is lifted.
#[utoipa::path(post, path = "/v1/subjects/{id}/restriction", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = RestrictionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_restriction(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<RestrictionBody>> {
    set_restriction(state, access, q, true).await
}

/// Lift a restriction.
#[utoipa::path(delete, path = "/v1/subjects/{id}/restriction", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = RestrictionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete_restriction(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<RestrictionBody>> {
    set_restriction(state, access, q, false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionBody {
    /// The marketing purposes withdrawn by this objection.
    pub withdrawn: Vec<String>,
    pub consents: ConsentStateBody,
}

/// Whether a purpose is marketing: messages on a channel, targeted advertising, or sale and
/// sharing of personal data.
pub fn is_marketing(p: &candor_domain::policy::Purpose) -> bool {
    p.channel.is_some() || p.targeted_advertising || p.sale_or_sharing
}

/// Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
/// withdrawn, recorded in the ledger with source `subject`.
#[utoipa::path(post, path = "/v1/subjects/{id}/objection", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = ObjectionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_objection(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<ObjectionBody>> {
    let subject = access.key();
    let now = state.now();
    let policy = state.policy.clone();
    let records: Vec<ConsentRecord> = policy
        .purposes
        .iter()
        .filter(|p| is_marketing(p))
        .map(|p| ConsentRecord {
            purpose: p.id.clone(),
            decision: Decision::Withdrawn,
            purpose_version: p.version.clone(),
            policy_version: policy.version.clone(),
            source: Source::Subject,
            bulk: true,
            evidence: serde_json::json!({"request": "objection", "by": access.actor()}).to_string(),
            at: now,
        })
        .collect();
    let withdrawn: Vec<String> = records.iter().map(|r| r.purpose.to_string()).collect();
    let request = new_request(
        &state,
        "objection",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "withdrawn": withdrawn}),
    )?;
    let (all, facts) = state
        .blocking(move |store| {
            store.append_consents(&subject, &SubjectFacts::default(), &records, now)?;
            store.insert_dsr(&request)?;
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            Ok((store.consent_records(&subject)?, facts))
        })
        .await?;
    let derived = consent::derive(&state.policy, &facts, &all);
    Ok(Json(ObjectionBody {
        withdrawn,
        consents: state_body(&state.policy, &derived),
    }))
}

// --- The request log. ---

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DsrQuery {
    /// `in_progress` or `completed`.
    #[param(pattern = "^(in_progress|completed)$")]
    pub status: Option<String>,
    /// Items per page (default 50, at most the server's `page_len_max`).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^c[+-]?[0-9]+$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DsrBody {
    pub id: i64,
    /// access, rectification, erasure, restriction, restriction_lifted or objection.
    pub kind: String,
    /// A keyed hash of the subject (the same for all of one person's requests); never an id.
    pub subject_ref: String,
    pub jurisdiction: String,
    pub received_at: String,
    /// The statutory deadline for answering.
    pub deadline_at: String,
    pub completed_at: Option<String>,
    pub status: String,
    /// Still open past its deadline.
    pub overdue: bool,
    /// What was done (for erasures, the signed receipt).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

fn dsr_body(r: DsrRequest, now: Timestamp) -> DsrBody {
    DsrBody {
        id: r.id,
        overdue: r.completed_at.is_none() && r.deadline_at.as_millis() < now.as_millis(),
        kind: r.kind,
        subject_ref: hex::encode(r.subject_ref),
        jurisdiction: r.jurisdiction,
        received_at: r.received_at.to_rfc3339(),
        deadline_at: r.deadline_at.to_rfc3339(),
        completed_at: r.completed_at.map(Timestamp::to_rfc3339),
        status: r.status,
        detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
    }
}

/// Data-subject requests, newest first, with their deadlines (admin key).
#[utoipa::path(get, path = "/v1/dsr", tag = "subject rights", security(("api_key" = [])),
    params(DsrQuery),
    responses((status = 200, body = PageBody<DsrBody>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_dsr(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<DsrQuery>,
) -> ApiResult<Json<PageBody<DsrBody>>> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ (DSR_STATUS_IN_PROGRESS | DSR_STATUS_COMPLETED)) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("status `{other}` is not one of in_progress, completed"),
            ));
        }
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request(&state)?;
    let page = state
        .blocking(move |store| store.dsr_requests(status.as_deref(), page))
        .await?;
    let now = state.now();
    Ok(Json(PageBody {
        items: page.items.into_iter().map(|r| dsr_body(r, now)).collect(),
        next_cursor: cursor(page.next),
    }))
}

// --- Why am I seeing this. ---

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExplanationQuery {
    /// The catalog item shown to the person.
    pub item: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeUsedBody {
    pub purpose: String,
    pub title: String,
    pub legal_basis: &'static str,
    pub allowed: bool,
    /// Why the purpose is or is not allowed now.
    pub reason: String,
    /// The ledger record the permission rests on, when it rests on consent.
    pub consent_record: Option<ConsentRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DataUsedBody {
    /// Events that fed the interests used, by event type.
    pub events_by_type: BTreeMap<String, u64>,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplanationBody {
    pub item: ExplainedItem,
    /// Whether anything about the person may shape what they see of this item.
    pub personalized: bool,
    /// The reasons, as sentences.
    pub reasons: Vec<String>,
    /// The person's interests in the item's categories, as used.
    pub interests_used: Vec<InterestBody>,
    pub data_used: DataUsedBody,
    /// The personalization purposes and the consent each relied on.
    pub purposes: Vec<PurposeUsedBody>,
}

/// Why a person sees an item: the interests it matches, the data they came from, the purpose
/// and the consent record it relied on (subject token or admin key).
#[utoipa::path(get, path = "/v1/subjects/{id}/explanations", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), ExplanationQuery),
    responses((status = 200, body = ExplanationBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explanations(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<ExplanationQuery>,
) -> ApiResult<Json<ExplanationBody>> {
    let subject = access.key();
    let item_id = q.item.clone();
    let gathered = state
        .blocking(move |store| {
            let Some(item) = store.item(&item_id)? else {
                return Ok(None);
            };
            let events = store.all_events(&subject)?;
            // The categories of every item the person interacted with (bounded).
            let mut cats: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for e in events.iter().filter(|e| e.interaction.is_some()) {
                if let Some(i) = &e.item_id
                    && !cats.contains_key(i)
                    && cats.len() < EXPLAIN_ITEMS_MAX
                {
                    let c = store.item(i)?.map(|it| it.categories).unwrap_or_default();
                    cats.insert(i.clone(), c);
                }
            }
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            Ok(Some((
                item,
                events,
                cats,
                facts,
                store.consent_records(&subject)?,
                store.profile(&subject)?,
                store.restriction(&subject)?,
            )))
        })
        .await?;
    let Some((item, events, cats, facts, records, profile, restricted)) = gathered else {
        return Err(ApiError::not_found(
            "item_not_found",
            format!("the catalog has no item `{}`", q.item),
        ));
    };
    let now = state.now();
    let derived = consent::derive(&state.policy, &facts, &records);
    let purposes: Vec<PurposeUsedBody> = derived
        .purposes
        .iter()
        .filter_map(|s| {
            let p = state.policy.purpose(&s.purpose)?;
            p.personalization.then(|| PurposeUsedBody {
                purpose: p.id.to_string(),
                title: p.title.clone(),
                legal_basis: p.legal_basis.as_str(),
                allowed: s.allowed,
                reason: s.reason.to_string(),
                consent_record: match &s.reason {
                    Reason::Granted { at, .. } => records
                        .iter()
                        .rev()
                        .find(|r| {
                            r.purpose == p.id && r.at == *at && r.decision == Decision::Granted
                        })
                        .cloned()
                        .map(record_body),
                    _ => None,
                },
            })
        })
        .collect();
    let allowed = purposes.iter().any(|p| p.allowed);
    let shares = profile
        .as_ref()
        .map(|p| p.interest_shares(now, state.config.profiles.half_life_days))
        .unwrap_or_default();
    let interests_used: Vec<InterestBody> = item
        .categories
        .iter()
        .filter_map(|c| {
            shares.get(c).map(|s| InterestBody {
                category: c.clone(),
                share: *s,
            })
        })
        .collect();
    let mut events_by_type: BTreeMap<String, u64> = BTreeMap::new();
    let (mut first, mut last): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    for e in events.iter().filter(|e| e.interaction.is_some()) {
        let matches = e.item_id.as_ref().is_some_and(|i| {
            cats.get(i)
                .is_some_and(|c| c.iter().any(|c| item.categories.contains(c)))
        });
        if matches {
            *events_by_type.entry(e.event_type.clone()).or_insert(0) += 1;
            first = Some(first.map_or(e.occurred_at, |f| f.min(e.occurred_at)));
            last = Some(last.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        }
    }
    let personalized = allowed && restricted.is_none() && !interests_used.is_empty();
    let mut reasons = Vec::new();
    if restricted.is_some() {
        reasons.push(
            "Processing of your data is restricted, so nothing about you is used.".to_owned(),
        );
    } else if !allowed {
        reasons.push(
            "You have not allowed personalization, so this is shown to everyone alike.".to_owned(),
        );
    } else if interests_used.is_empty() {
        reasons.push(
            "Nothing we know about you matches this item; it is shown for its popularity."
                .to_owned(),
        );
    } else {
        for i in &interests_used {
            reasons.push(format!(
                "You showed interest in {} ({:.0}% of your recent interest).",
                i.category,
                i.share * 100.0
            ));
        }
    }
    Ok(Json(ExplanationBody {
        item: ExplainedItem {
            id: item.id,
            title: item.title,
            categories: item.categories,
        },
        personalized,
        reasons,
        interests_used: if personalized {
            interests_used
        } else {
            Vec::new()
        },
        data_used: DataUsedBody {
            events_by_type: if personalized {
                events_by_type
            } else {
                BTreeMap::new()
            },
            first_at: first.filter(|_| personalized).map(Timestamp::to_rfc3339),
            last_at: last.filter(|_| personalized).map(Timestamp::to_rfc3339),
        },
        purposes,
    }))
}
