//! Health, readiness, the OpenAPI document, the policy as banners need it, and the GPC
//! well-known resource.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Allowed, Server, act, scope};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses(
    (status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.blocking(|store| store.ping()).await?;
    Ok(Json(Health { status: "ready" }))
}

/// Global Privacy Control support statement.
pub async fn gpc_json() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        candor_signals::GPC_WELL_KNOWN_JSON,
    )
}

/// A purpose as a consent banner presents it.
#[derive(Serialize, ToSchema)]
pub struct PurposeBody {
    pub id: String,
    pub title: String,
    /// The plain-language text to show, exactly as written in the policy.
    pub text: String,
    pub legal_basis: &'static str,
    /// Whether the purpose is off until the person opts in.
    pub requires_consent: bool,
    pub sale_or_sharing: bool,
    pub targeted_advertising: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<&'static str>,
    pub session_only: bool,
    pub retention_days: u32,
    /// Data categories the purpose may use.
    pub categories: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyBody {
    pub version: String,
    pub controller: String,
    pub contact: String,
    pub purposes: Vec<PurposeBody>,
}

/// The purposes people are asked about, for consent banners and the privacy center.
#[utoipa::path(get, path = "/v1/policy", tag = "policy", security(("api_key" = [])),
    responses((status = 200, body = PolicyBody), (status = 401, body = ErrorBody)))]
pub async fn policy(
    State(state): State<AppState>,
    _: Allowed<act::ReadPolicy>,
) -> ApiResult<Json<PolicyBody>> {
    let p = &state.policy;
    Ok(Json(PolicyBody {
        version: p.version.to_string(),
        controller: p.controller.clone(),
        contact: p.contact.clone(),
        purposes: p
            .purposes
            .iter()
            .map(|p| PurposeBody {
                id: p.id.to_string(),
                title: p.title.clone(),
                text: p.text.clone(),
                legal_basis: p.legal_basis.as_str(),
                requires_consent: p.needs_consent(),
                sale_or_sharing: p.sale_or_sharing,
                targeted_advertising: p.targeted_advertising,
                channel: p.channel.map(|c| c.as_str()),
                session_only: p.session_only,
                retention_days: p.retention_days,
                categories: p.categories.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    }))
}

/// The record of processing (GDPR Art. 30) generated from the policy.
#[utoipa::path(get, path = "/v1/policy/data-map", tag = "policy", security(("api_key" = [])),
    responses((status = 200, description = "The data map", body = Object), (status = 403, body = ErrorBody)))]
pub async fn data_map(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.policy.data_map()))
}
