//! One error type for every handler, rendered as
//! `{"error": {"code": "stable_snake_case", "message": "..."}}`.
//!
//! Every code and its status live in the single table in [`ApiError::status_and_code`], so a
//! code means the same thing everywhere and clients can rely on it. Internal details go to the
//! log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use candor_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(&'static str, String),
    #[error("{0}")]
    Unprocessable(&'static str, String),
    #[error("missing or malformed API key")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(&'static str, String),
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{0}")]
    Conflict(&'static str, String),
    #[error("request body too large")]
    PayloadTooLarge(String),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request (its body included) was not answered within the request timeout.
    #[error("request timeout")]
    RequestTimeout,
    /// The store cannot serve now; the client should retry.
    #[error("unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure: logged in full, shown as a generic message.
    #[error("internal error")]
    Internal(String),
    /// A subject token that is not valid (`token_invalid`) or no longer valid
    /// (`token_expired`): 401 with its own code.
    #[error("{1}")]
    TokenRejected(&'static str, String),
    /// A quota or rate limit: 429, with the seconds until a retry can succeed.
    #[error("{1}")]
    TooManyRequests(&'static str, String, u64),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code; safe to match on.
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(code, message.into())
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable(code, message.into())
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(code, message.into())
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::NotFound(code, message.into())
    }

    /// The status and stable code of each error: the single table clients can rely on.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, code),
            ApiError::Unprocessable(code, _) => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(code, _) => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound(code, _) => (StatusCode::NOT_FOUND, code),
            ApiError::Conflict(code, _) => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::TokenRejected(code, _) => (StatusCode::UNAUTHORIZED, code),
            ApiError::TooManyRequests(code, _, _) => (StatusCode::TOO_MANY_REQUESTS, code),
        }
    }

    fn public_message(&self) -> String {
        match self {
            ApiError::BadRequest(_, m)
            | ApiError::Unprocessable(_, m)
            | ApiError::Forbidden(_, m)
            | ApiError::NotFound(_, m)
            | ApiError::Conflict(_, m)
            | ApiError::Unauthenticated(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::TokenRejected(_, m)
            | ApiError::TooManyRequests(_, m, _) => m.clone(),
            ApiError::MethodNotAllowed => "this endpoint does not accept that HTTP method".into(),
            ApiError::RequestTimeout => {
                "the request was not complete and answered in time; send it again".into()
            }
            ApiError::Unavailable(_) => {
                "storage is unavailable right now; retry in a moment".into()
            }
            ApiError::Internal(_) => "an internal error occurred; it has been logged".into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::not_found("not_found", "not found"),
            StoreError::Conflict(m) => ApiError::Conflict("conflict", m),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Other(m) => ApiError::Internal(m),
        }
    }
}

/// Each kind of application failure as the HTTP status it is answered with.
impl From<candor_app::AppError> for ApiError {
    fn from(e: candor_app::AppError) -> ApiError {
        use candor_app::ErrorKind;
        let (code, m) = (e.code, e.message);
        match e.kind {
            ErrorKind::Invalid => ApiError::BadRequest(code, m),
            ErrorKind::Unprocessable => ApiError::Unprocessable(code, m),
            ErrorKind::Refused => ApiError::Forbidden(code, m),
            ErrorKind::NotFound => ApiError::NotFound(code, m),
            ErrorKind::Conflict => ApiError::Conflict(code, m),
            ErrorKind::Limited(seconds) => ApiError::TooManyRequests(code, m, seconds),
            ErrorKind::TokenRejected => ApiError::TokenRejected(code, m),
            ErrorKind::Unavailable => ApiError::Unavailable(m),
            ErrorKind::Internal => ApiError::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "storage unavailable"),
            _ => {}
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.public_message(),
            },
        };
        let retry_after = match &self {
            ApiError::TooManyRequests(_, _, seconds) => Some(seconds.max(&1).to_string()),
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
