//! One-click unsubscribe (RFC 8058), without login: the signed token in the link is the
//! authority. `GET` shows a confirmation page and changes nothing, because mail scanners
//! follow links; `POST` unsubscribes, and accepts the `List-Unsubscribe=One-Click` body mail
//! clients send.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Html;
use candor_domain::SubjectKey;
use candor_domain::policy::Channel;
use candor_segments::signing::verify_unsubscribe_token;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiPath;
use crate::state::AppState;
use candor_app::campaigns::unsubscribe_secret;

/// The body RFC 8058 mail clients post.
const ONE_CLICK_BODY: &str = "List-Unsubscribe=One-Click";

fn verify(state: &AppState, token: &str) -> ApiResult<(SubjectKey, Channel)> {
    verify_unsubscribe_token(&unsubscribe_secret(state.secret.as_bytes()), token).map_err(|_| {
        ApiError::bad_request(
            "invalid_unsubscribe_token",
            "this unsubscribe link is not valid; copy the whole link from the message",
        )
    })
}

/// A confirmation page with one button; nothing changes until it is pressed.
#[utoipa::path(get, path = "/v1/unsubscribe/{token}", tag = "unsubscribe",
    params(("token" = String, Path, description = "The token from the message's unsubscribe link")),
    responses((status = 200, description = "An HTML confirmation page", content_type = "text/html"),
        (status = 400, body = ErrorBody)))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<impl axum::response::IntoResponse> {
    let (_, channel) = verify(&state, &token)?;
    // The token is URL-safe base64, so it needs no escaping inside the attribute.
    let page = Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head>\
         <body><h1>Stop {channel} messages?</h1>\
         <form method=\"post\" action=\"/v1/unsubscribe/{token}\">\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form></body></html>",
        channel = channel.as_str()
    ));
    // The page loads nothing, runs nothing and posts only to itself; nothing may frame it.
    Ok((
        [
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (axum::http::header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnsubscribedBody {
    pub unsubscribed: bool,
    pub channel: &'static str,
}

/// What a mail client's one-click unsubscribe posts (RFC 8058): nothing, or exactly
/// `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UnsubscribeForm {
    #[schema(
        rename = "List-Unsubscribe",
        pattern = "^One-Click$",
        example = "One-Click"
    )]
    list_unsubscribe: Option<String>,
}

/// Unsubscribe from the channel the token names. Idempotent.
#[utoipa::path(post, path = "/v1/unsubscribe/{token}", tag = "unsubscribe",
    params(("token" = String, Path, description = "The token from the message's unsubscribe link")),
    request_body(content = UnsubscribeForm, content_type = "application/x-www-form-urlencoded",
        description = "Empty, or `List-Unsubscribe=One-Click` (RFC 8058)"),
    responses((status = 200, body = UnsubscribedBody), (status = 400, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Json<UnsubscribedBody>> {
    let (key, channel) = verify(&state, &token)?;
    let text = std::str::from_utf8(&body).unwrap_or("").trim();
    if !(text.is_empty() || text == ONE_CLICK_BODY) {
        return Err(ApiError::bad_request(
            "invalid_unsubscribe_body",
            format!("send an empty body or `{ONE_CLICK_BODY}`"),
        ));
    }
    let now = state.now();
    state
        .blocking(move |store| {
            // An erased person is held nowhere, so nothing is sent to them; recording the
            // unsubscribe would be the first new row about them.
            if store.subject(&key)?.is_none() {
                return Ok(());
            }
            store.unsubscribe(&key, channel.as_str(), now)
        })
        .await?;
    tracing::info!(channel = channel.as_str(), "unsubscribed");
    Ok(Json(UnsubscribedBody {
        unsubscribed: true,
        channel: channel.as_str(),
    }))
}
