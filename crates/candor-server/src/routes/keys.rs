//! Key lifecycle over HTTP (admin key): list, create, revoke and rotate API keys, and rotate
//! the token signing keys. The same operations as `candor keys`, through [`candor_app::keys`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_domain::time::Timestamp;
use candor_store::{ApiKeyRecord, Scope, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use candor_app::api_key::{KeyError, NewKey};

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBody {
    pub id: String,
    /// `server` (a shop's backend) or `publishable` (web pages).
    pub kind: &'static str,
    pub scopes: Vec<&'static str>,
    pub allowed_origins: Vec<String>,
    pub label: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn key_body(r: &ApiKeyRecord, now: Timestamp) -> KeyBody {
    KeyBody {
        id: r.id.clone(),
        kind: candor_app::keys::kind(r),
        scopes: r.scopes.iter().map(|s| s.as_str()).collect(),
        allowed_origins: r.allowed_origins.clone(),
        label: r.label.clone(),
        status: candor_app::keys::status(r, now),
        created_at: r.created_at.to_rfc3339(),
        expires_at: r.expires_at.map(Timestamp::to_rfc3339),
        revoked_at: r.revoked_at.map(Timestamp::to_rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeysBody {
    pub items: Vec<KeyBody>,
}

/// Every API key, revoked and expired ones included; never a secret.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("api_key" = [])),
    responses((status = 200, body = KeysBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<KeysBody>> {
    let now = state.now();
    let keys = state.blocking(|store| store.api_keys()).await?;
    Ok(Json(KeysBody {
        items: keys.iter().map(|k| key_body(k, now)).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyInput {
    /// `ingest`, `decide`, `sessions`, `admin` (server keys) or `publishable` alone.
    pub scopes: Vec<String>,
    /// Browser origins allowed to use the key (required for a publishable key).
    #[serde(default)]
    #[schema(max_items = 32)]
    pub allowed_origins: Vec<String>,
    /// A name for people (at most 200 characters).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
    /// Seconds until the key stops working (at most ten years); it never expires when absent.
    #[schema(maximum = 316224000)]
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyBody {
    /// The full key: shown once, never stored.
    pub key: String,
    pub record: KeyBody,
}

/// Longest key lifetime asked for: ten years.
const KEY_TTL_SECONDS_MAX: u64 = 10 * 366 * 86_400;

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::Invalid(m) => ApiError::bad_request("invalid_key", m),
        KeyError::Store(StoreError::NotFound) => key_not_found(),
        KeyError::Store(e) => e.into(),
    }
}

fn key_not_found() -> ApiError {
    ApiError::not_found("key_not_found", "no API key with that id")
}

fn ttl_ms(seconds: u64, what: &str) -> ApiResult<i64> {
    if seconds > KEY_TTL_SECONDS_MAX {
        return Err(ApiError::bad_request(
            "invalid_ttl",
            format!("{what} must be at most {KEY_TTL_SECONDS_MAX} seconds"),
        ));
    }
    Ok(i64::try_from(seconds).unwrap_or(0) * 1_000)
}

/// Create a key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("api_key" = [])), request_body = NewKeyInput,
    responses((status = 201, body = CreatedKeyBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiJson(body): ApiJson<NewKeyInput>,
) -> ApiResult<(StatusCode, Json<CreatedKeyBody>)> {
    let scopes = body
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_scope",
                    format!("`{s}` is not a scope; expected ingest, decide, sessions, admin or publishable"),
                )
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let now = state.now();
    let expires_at = match body.ttl_seconds {
        None => None,
        Some(s) => Some(now.plus_millis(ttl_ms(s, "ttl_seconds")?)),
    };
    let new = NewKey {
        scopes,
        allowed_origins: body.allowed_origins,
        label: body.label,
        expires_at,
    };
    let actor = caller.actor();
    let (record, key) = state
        .blocking(move |store| Ok(candor_app::keys::create(store, new, actor, now)))
        .await?
        .map_err(key_error)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyBody {
            key,
            record: key_body(&record, now),
        }),
    ))
}

/// Revoke a key: every instance refuses it within five seconds.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", tag = "keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's public id")),
    responses((status = 200, body = KeyBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<KeyBody>> {
    let now = state.now();
    let actor = caller.actor();
    let lookup = id.clone();
    let record = state
        .blocking(move |store| Ok(candor_app::keys::revoke(store, &lookup, actor, now)))
        .await?
        .map_err(|e| match e {
            StoreError::NotFound => key_not_found(),
            e => e.into(),
        })?;
    state.api_keys.forget(&id);
    Ok(Json(key_body(&record, now)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    /// How long the old key keeps working beside the new one (default one day; 0: revoke now;
    /// at most ten years).
    #[schema(maximum = 316224000)]
    pub grace_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKeyBody {
    /// The new key: shown once, never stored.
    pub key: String,
    pub record: KeyBody,
    /// The old key as it now stands.
    pub previous: KeyBody,
}

/// Rotate a key: a successor with the same scopes and origins; the old key expires after the
/// grace period.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's public id")), request_body = RotateInput,
    responses((status = 201, body = RotatedKeyBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RotateInput>,
) -> ApiResult<(StatusCode, Json<RotatedKeyBody>)> {
    let grace = ttl_ms(
        body.grace_seconds
            .unwrap_or(candor_app::api_key::ROTATION_GRACE_SECONDS_DEFAULT),
        "grace_seconds",
    )?;
    let now = state.now();
    let actor = caller.actor();
    let lookup = id.clone();
    let (record, key, previous) = state
        .blocking(move |store| Ok(candor_app::keys::rotate(store, &lookup, grace, actor, now)))
        .await?
        .map_err(key_error)?;
    state.api_keys.forget(&id);
    Ok((
        StatusCode::CREATED,
        Json(RotatedKeyBody {
            key,
            record: key_body(&record, now),
            previous: key_body(&previous, now),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenKeysRotatedBody {
    /// The id of the key that signs from now on.
    pub signing_key: i64,
}

/// Rotate the token signing keys: tokens signed before stay valid until they expire.
#[utoipa::path(post, path = "/v1/token-keys/rotate", tag = "keys", security(("api_key" = [])),
    responses((status = 200, body = TokenKeysRotatedBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rotate_token_keys(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
) -> ApiResult<Json<TokenKeysRotatedBody>> {
    let now = state.now();
    let actor = caller.actor();
    let app = state.clone();
    let id = state
        .blocking(move |store| {
            candor_app::keys::rotate_token_keys(
                store,
                app.secret.as_bytes(),
                &app.config.subject_rights,
                actor,
                now,
            )
        })
        .await?;
    Ok(Json(TokenKeysRotatedBody { signing_key: id }))
}
