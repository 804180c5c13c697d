//! Sessions: how a browser comes to hold a credential for one person.
//!
//! - `POST /v1/visitor-sessions`: a page's publishable key starts a visitor session for a
//!   fresh anonymous id Candor picks; the visitor's own token renews it.
//! - `POST /v1/subject-tokens`: a shop's backend (server key, `sessions` scope) mints a
//!   short-lived session token for a person it has logged in.
//! - `POST /v1/subjects/{id}/sessions/revoke`: "sign out everywhere" — every token issued for
//!   the person so far stops working, on every instance, at the next request.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Access, Allowed, Credential, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use candor_app::audit::{AuditAction, AuditEvent, AuditTarget};
use candor_app::subject_token::parse_scopes;
use candor_app::subject_token::{self};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorSessionRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorSessionBody {
    /// Send as `Authorization: Bearer TOKEN` for this visitor's own consent, events and
    /// recommendations.
    pub visitor_token: String,
    /// The visitor's anonymous id, picked by Candor: use it in paths and as `anonymousId`.
    pub anonymous_id: String,
    pub expires_at: String,
}

/// Start a visitor session (publishable key), or renew one (the visitor's own token).
#[utoipa::path(post, path = "/v1/visitor-sessions", tag = "sessions", security(("api_key" = [])),
    request_body = VisitorSessionRequest,
    responses((status = 201, body = VisitorSessionBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn post_visitor_session(
    State(state): State<AppState>,
    Allowed(cred, _): Allowed<act::StartVisitorSession>,
) -> ApiResult<(StatusCode, Json<VisitorSessionBody>)> {
    // The body, if any, is ignored: a visitor session takes no options yet.
    let (key_id, renew) = match &cred {
        Credential::Publishable { key_id } => (key_id.clone(), None),
        Credential::Visitor(v) => (v.claims.publishable_key_id.clone(), Some(v.claims.clone())),
        // `allow` let through only the two above.
        _ => return Err(ApiError::Internal("unexpected credential".into())),
    };
    let (id, token, expires_at) =
        crate::auth::start_visitor_session(&state, &key_id, renew.as_ref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(VisitorSessionBody {
            visitor_token: token,
            anonymous_id: String::from_utf8_lossy(id.as_bytes()).into_owned(),
            expires_at: expires_at.to_rfc3339(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectTokenRequest {
    /// The shop's id for the person the token is for (at most 256 characters).
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"
    )]
    pub subject: String,
    /// Lifetime in seconds (default `[subject_rights] token_ttl_seconds`, at most
    /// `token_ttl_seconds_max`).
    #[schema(minimum = 1, maximum = 86400)]
    pub ttl_seconds: Option<u64>,
    /// What the token may do: `recommendations`, `consent`, `events`, `privacy` (default all).
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectTokenBody {
    /// Send as `Authorization: Bearer TOKEN` to the person's own endpoints.
    pub token: String,
    pub expires_at: String,
    pub scopes: Vec<&'static str>,
}

/// Mint a short-lived session token for one logged-in person (server key, `sessions` scope).
#[utoipa::path(post, path = "/v1/subject-tokens", tag = "sessions", security(("api_key" = [])),
    request_body = SubjectTokenRequest,
    responses((status = 201, body = SubjectTokenBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_subject_token(
    State(state): State<AppState>,
    _: Server<scope::Sessions>,
    ApiJson(body): ApiJson<SubjectTokenRequest>,
) -> ApiResult<(StatusCode, Json<SubjectTokenBody>)> {
    let subject = state.subject_key(&body.subject)?;
    let scopes = parse_scopes(body.scopes.as_deref())
        .map_err(|m| ApiError::bad_request("invalid_scope", m))?;
    let now = state.now();
    let expires_at =
        subject_token::token_expiry(&state.config.subject_rights, body.ttl_seconds, now)
            .map_err(|m| ApiError::bad_request("invalid_ttl", m))?;
    let signing = candor_app::signing::signing_key(&state).await?;
    let token = subject_token::issue(
        &signing,
        state.secret.as_bytes(),
        &subject,
        scopes,
        now,
        expires_at,
    );
    Ok((
        StatusCode::CREATED,
        Json(SubjectTokenBody {
            token,
            expires_at: expires_at.to_rfc3339(),
            scopes: scopes.names(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedBody {
    /// Every token for the person issued up to this instant no longer works.
    pub revoked_before: String,
}

/// Sign out everywhere: every token issued for the person so far stops working (the person's
/// own token, or an admin key).
#[utoipa::path(post, path = "/v1/subjects/{id}/sessions/revoke", tag = "sessions", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person")),
    responses((status = 200, body = RevokedBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    access: Access<act::RevokeSessions>,
) -> ApiResult<Json<RevokedBody>> {
    let subject = access.key();
    let now = state.now();
    let keep_until = now.plus_millis(candor_app::token_keys::token_lifetime_ms_max(
        &state.config.subject_rights,
    ));
    let reference = subject_token::revocation_ref(state.secret.as_bytes(), &subject);
    let audit = AuditEvent::new(
        access.audit_actor(),
        AuditAction::SubjectTokensRevoked,
        AuditTarget::Subject(subject),
    );
    state
        .blocking(move |store| {
            store.revoke_subject_tokens(&reference, now, keep_until)?;
            candor_app::audit::record(store, audit, now).map(|_| ())
        })
        .await?;
    tracing::info!(by = access.actor(), "subject tokens revoked");
    Ok(Json(RevokedBody {
        revoked_before: now.to_rfc3339(),
    }))
}
