//! The consent API: record choices, read the derived state and the ledger.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use candor_domain::consent::{
    AgeBand, ConsentRecord, ConsentState, Decision, Reason, Source, SubjectFacts,
};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PageBody, PageQuery, cursor};
use crate::auth::{Access, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// One choice about one purpose.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// A purpose id from the policy.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z][a-z0-9_]*$")]
    pub purpose: String,
    /// `granted`, `denied` or `withdrawn`.
    #[schema(pattern = "^(granted|denied|withdrawn)$")]
    pub decision: String,
}

/// Facts the consent rules depend on.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectFactsInput {
    /// Declared age band: `13-15`, `18+`, `under-13`.
    pub age_band: Option<String>,
    /// ISO 3166-1 alpha-2 country code, for the age of digital consent (either case).
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
}

/// A batch of consent decisions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentUpdate {
    /// At most the server's `consent_decisions_len_max`.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub decisions: Vec<DecisionInput>,
    /// Where the choice was made: `api` (default), `banner`, `parental` or `import`.
    #[schema(pattern = "^(api|banner|parental|import)$")]
    pub source: Option<String>,
    /// `individual` (default: each decision was chosen for its purpose), or `accept_all` /
    /// `reject_all` for one click covering many purposes. A bulk grant never overrides a
    /// Global Privacy Control opt-out.
    #[schema(pattern = "^(individual|accept_all|reject_all)$")]
    pub choice: Option<String>,
    /// Proof of the choice (banner version, interaction id, guardian verification...): any
    /// JSON, at most the server's `consent_evidence_bytes_max` bytes as sent on.
    #[serde(default)]
    #[schema(value_type = Value)]
    pub evidence: Option<serde_json::Value>,
    #[serde(default)]
    pub subject: Option<SubjectFactsInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeStateBody {
    pub purpose: String,
    pub title: String,
    pub text: String,
    pub legal_basis: &'static str,
    /// Whether the purpose may be used now.
    pub allowed: bool,
    /// `granted`, `denied`, or `not_required` for purposes on another legal basis.
    pub status: &'static str,
    /// Why, as a sentence: "denied: no choice yet".
    pub reason: String,
    /// Why, as a stable code.
    pub reason_code: &'static str,
    /// When the deciding record was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentStateBody {
    pub policy_version: String,
    pub purposes: Vec<PurposeStateBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordBody {
    pub purpose: String,
    pub decision: &'static str,
    pub source: &'static str,
    /// Part of an "accept all" / "reject all" choice.
    pub bulk: bool,
    pub purpose_version: String,
    pub policy_version: String,
    /// The evidence as it was given (any JSON), or the signal a bulk record came from.
    #[schema(value_type = Value)]
    pub evidence: serde_json::Value,
    pub at: String,
}

fn reason_time(reason: &Reason) -> Option<Timestamp> {
    match reason {
        Reason::Granted { at, .. }
        | Reason::Declined { at }
        | Reason::Withdrawn { at }
        | Reason::Objected { at }
        | Reason::GlobalPrivacyControl { at } => Some(*at),
        Reason::PurposeChanged { granted_at } => Some(*granted_at),
        _ => None,
    }
}

pub(crate) fn state_body(policy: &Policy, state: &ConsentState) -> ConsentStateBody {
    let purposes = state
        .purposes
        .iter()
        .filter_map(|s| {
            let p = policy.purpose(&s.purpose)?;
            Some(PurposeStateBody {
                purpose: s.purpose.to_string(),
                title: p.title.clone(),
                text: p.text.clone(),
                legal_basis: p.legal_basis.as_str(),
                allowed: s.allowed,
                status: match (&s.reason, s.allowed) {
                    (Reason::LegalBasis(_), _) => "not_required",
                    (_, true) => "granted",
                    (_, false) => "denied",
                },
                reason: s.reason.to_string(),
                reason_code: s.reason.code(),
                since: reason_time(&s.reason).map(Timestamp::to_rfc3339),
            })
        })
        .collect();
    ConsentStateBody {
        policy_version: policy.version.to_string(),
        purposes,
    }
}

fn parse_facts(input: Option<&SubjectFactsInput>) -> ApiResult<SubjectFacts> {
    let Some(input) = input else {
        return Ok(SubjectFacts::default());
    };
    let age_band = match &input.age_band {
        None => None,
        Some(b) => Some(AgeBand::parse(b).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_age_band",
                format!("age_band `{b}` must look like `13-15`, `18+` or `under-13`"),
            )
        })?),
    };
    let country = match &input.country {
        None => None,
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_country",
                "country must be an ISO 3166-1 alpha-2 code such as US or DE",
            ));
        }
    };
    Ok(SubjectFacts { age_band, country })
}

/// Whether the request carries a Global Privacy Control signal (`Sec-GPC: 1`).
pub(crate) fn has_gpc(headers: &HeaderMap) -> bool {
    candor_signals::parse_sec_gpc(headers.get("sec-gpc").and_then(|v| v.to_str().ok()))
}

fn build_records(
    state: &AppState,
    body: &ConsentUpdate,
    now: Timestamp,
) -> ApiResult<Vec<ConsentRecord>> {
    let policy = &state.policy;
    let limits = &state.config.limits;
    if body.decisions.len() > limits.consent_decisions_len_max {
        return Err(ApiError::bad_request(
            "too_many_decisions",
            format!(
                "at most {} decisions per request",
                limits.consent_decisions_len_max
            ),
        ));
    }
    let source = match body.source.as_deref() {
        None | Some("api") => Source::Api,
        Some("banner") => Source::Banner,
        Some("parental") => Source::Parental,
        Some("import") => Source::Import,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_source",
                format!(
                    "source `{other}` is not one of api, banner, parental, import (signals have their own endpoint)"
                ),
            ));
        }
    };
    let bulk = match body.choice.as_deref() {
        None | Some("individual") => false,
        Some("accept_all" | "reject_all") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_choice",
                format!("choice `{other}` is not one of individual, accept_all, reject_all"),
            ));
        }
    };
    let evidence = match &body.evidence {
        None => String::from("{}"),
        Some(v) => v.to_string(),
    };
    if evidence.len() > limits.consent_evidence_bytes_max {
        return Err(ApiError::PayloadTooLarge(format!(
            "evidence is {} bytes; the limit is {}",
            evidence.len(),
            limits.consent_evidence_bytes_max
        )));
    }
    if source == Source::Parental && body.evidence.is_none() {
        return Err(ApiError::bad_request(
            "evidence_required",
            "a parental grant must carry evidence of how the guardian was verified",
        ));
    }
    let mut records: Vec<ConsentRecord> = Vec::with_capacity(body.decisions.len());
    for d in &body.decisions {
        let purpose = policy.purpose_by_name(&d.purpose).ok_or_else(|| {
            ApiError::bad_request(
                "unknown_purpose",
                format!("the policy declares no purpose `{}`", d.purpose),
            )
        })?;
        let decision = Decision::parse(&d.decision).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_decision",
                format!(
                    "decision `{}` is not one of granted, denied, withdrawn",
                    d.decision
                ),
            )
        })?;
        if records.iter().any(|r| r.purpose == purpose.id) {
            return Err(ApiError::bad_request(
                "duplicate_purpose",
                format!("purpose `{}` appears twice in one request", purpose.id),
            ));
        }
        records.push(ConsentRecord {
            purpose: purpose.id.clone(),
            decision,
            purpose_version: purpose.version.clone(),
            policy_version: policy.version.clone(),
            source,
            bulk,
            evidence: evidence.clone(),
            at: now,
        });
    }
    Ok(records)
}

/// Record consent decisions for a subject (`Sec-GPC: 1` honoured).
#[utoipa::path(put, path = "/v1/subjects/{id}/consents", tag = "consent", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person; pseudonymized on arrival")),
    request_body = ConsentUpdate,
    responses((status = 200, body = ConsentStateBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_consents(
    State(state): State<AppState>,
    access: Access<act::WriteConsent>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ConsentUpdate>,
) -> ApiResult<Json<ConsentStateBody>> {
    let subject = access.key();
    let now = state.now();
    // Who may record what comes before whether it is well-formed.
    if !access.is_server() && matches!(body.source.as_deref(), Some("parental" | "import")) {
        return Err(ApiError::forbidden(
            "needs_server_key",
            "a parental or imported consent can only come from the shop's backend, which \
             verified it; a browser records its own choices as `banner` or `api`",
        ));
    }
    let facts = parse_facts(body.subject.as_ref())?;
    let requested = build_records(&state, &body, now)?;
    let gpc = has_gpc(&headers);
    let update = candor_app::consent::ConsentUpdate {
        subject,
        facts,
        requested,
        gpc,
        by_server: access.is_server(),
        actor: access.audit_actor(),
        evidence: body.evidence.as_ref().map(|e| e.to_string()),
    };
    let derived = candor_app::consent::update(&state, update).await?;
    tracing::info!(key = %access.label(), gpc, "consent recorded");
    Ok(Json(state_body(&state.policy, &derived)))
}

/// The current consent state, with the reason for each purpose.
#[utoipa::path(get, path = "/v1/subjects/{id}/consents", tag = "consent", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person")),
    responses((status = 200, body = ConsentStateBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_consents(
    State(state): State<AppState>,
    access: Access<act::ReadConsent>,
) -> ApiResult<Json<ConsentStateBody>> {
    let derived = candor_app::consent::state(&state, access.key()).await?;
    Ok(Json(state_body(&state.policy, &derived)))
}

/// The consent ledger of a subject, newest first.
#[utoipa::path(get, path = "/v1/subjects/{id}/consents/history", tag = "consent", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), PageQuery),
    responses((status = 200, body = PageBody<ConsentRecordBody>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn consent_history(
    State(state): State<AppState>,
    access: Access<act::ReadConsent>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageBody<ConsentRecordBody>>> {
    let subject = access.key();
    let page = q.to_request(&state)?;
    let page = candor_app::consent::history(&state, subject, page).await?;
    Ok(Json(PageBody {
        items: page.items.into_iter().map(record_body).collect(),
        next_cursor: cursor(page.next),
    }))
}

pub(crate) fn record_body(r: ConsentRecord) -> ConsentRecordBody {
    ConsentRecordBody {
        purpose: r.purpose.to_string(),
        decision: r.decision.as_str(),
        source: r.source.as_str(),
        bulk: r.bulk,
        purpose_version: r.purpose_version.as_str().to_owned(),
        policy_version: r.policy_version.as_str().to_owned(),
        evidence: serde_json::from_str(&r.evidence)
            .unwrap_or(serde_json::Value::String(r.evidence)),
        at: r.at.to_rfc3339(),
    }
}
