//! Extractors that turn every malformed request into an [`ApiError`] with a stable code,
//! instead of axum's plain-text rejections.
//!
//! Bodies are read here too: whole, at most `[limits] request_body_bytes_max` bytes as sent,
//! decoded per `Content-Encoding` (gzip or deflate, as the Segment and RudderStack libraries
//! send them) and at most that many bytes again once decoded, so a small compressed body
//! cannot expand into a large one.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON body, sent as `application/json` (or another `+json` type), plain or compressed.
/// Unknown fields are refused by the wire types (`deny_unknown_fields`); the message names
/// the field.
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(needs_json());
        }
        let (parts, body) = req.into_parts();
        let max = state.config.limits.request_body_bytes_max;
        let bytes = read_body(&parts.headers, body, max).await?;
        parse_json(parts, bytes, state).await.map(ApiJson)
    }
}

/// The body of a request from an analytics library: JSON under `application/json`, and also
/// under `text/plain` (what browsers' `sendBeacon` sends without a preflight) and
/// `application/x-www-form-urlencoded` (what RudderStack's Node library labels its JSON with).
/// Any other type is refused.
pub(crate) async fn read_sdk_body(
    parts: &Parts,
    body: Body,
    state: &AppState,
) -> Result<Bytes, ApiError> {
    let lenient = matches!(
        mime_essence(&parts.headers).as_deref(),
        Some("text/plain" | "application/x-www-form-urlencoded")
    );
    if !is_json(&parts.headers) && !lenient {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json` (or `text/plain`)".into(),
        ));
    }
    read_body(
        &parts.headers,
        body,
        state.config.limits.request_body_bytes_max,
    )
    .await
}

/// Parses decoded JSON bytes as `T`, with the same codes as any JSON body.
pub(crate) async fn parse_json<T: DeserializeOwned>(
    mut parts: Parts,
    bytes: Bytes,
    state: &AppState,
) -> Result<T, ApiError> {
    // axum's own JSON extractor tells a syntax error from a data error and names the field's
    // path; it reads the body already decoded and labelled as JSON.
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let req = Request::from_parts(parts, Body::from(bytes));
    match axum::Json::<T>::from_request(req, state).await {
        Ok(axum::Json(v)) => Ok(v),
        Err(rejection) => Err(json_rejection(rejection)),
    }
}

fn mime_essence(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

fn is_json(headers: &HeaderMap) -> bool {
    mime_essence(headers).is_some_and(|m| {
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    })
}

fn needs_json() -> ApiError {
    ApiError::UnsupportedMediaType(
        "send the body as JSON with `Content-Type: application/json`".into(),
    )
}

fn too_large(max: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body exceeds the size limit ({max} bytes, counted after decompression)"
    ))
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    let unsupported = || {
        ApiError::UnsupportedMediaType(
            "Content-Encoding must be gzip, deflate or identity (one of them, not a chain)".into(),
        )
    };
    let value = value.to_str().map_err(|_| unsupported())?;
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        "deflate" => Ok(Encoding::Deflate),
        _ => Err(unsupported()),
    }
}

/// Reads a whole body: at most `max` bytes as sent, and at most `max` bytes once decoded.
/// Decoding streams through a reader capped at `max + 1` bytes, so a decompression bomb
/// stops at the cap instead of filling memory.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, ApiError> {
    let encoding = encoding(headers)?;
    let raw = axum::body::to_bytes(body, max).await.map_err(|e| {
        // `to_bytes` reports its own limit as a length-limit error; anything else is a
        // connection that broke or timed out mid-body.
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit")
        {
            too_large(max)
        } else {
            ApiError::bad_request("unreadable_body", "the request body could not be read")
        }
    })?;
    let decoder: Box<dyn Read + '_> = match encoding {
        Encoding::Identity => return Ok(raw),
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&raw[..])),
        // RFC 9110's deflate is zlib-wrapped; some clients send the raw stream. A zlib header
        // is two bytes whose first names method 8 and whose value is a multiple of 31.
        Encoding::Deflate if is_zlib(&raw) => Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
        Encoding::Deflate => Box::new(flate2::read::DeflateDecoder::new(&raw[..])),
    };
    let mut decoded = Vec::new();
    let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    decoder.take(cap).read_to_end(&mut decoded).map_err(|_| {
        ApiError::bad_request(
            "malformed_encoding",
            "the request body is not valid for its Content-Encoding",
        )
    })?;
    if decoded.len() > max {
        return Err(too_large(max));
    }
    Ok(Bytes::from(decoded))
}

fn is_zlib(raw: &[u8]) -> bool {
    match raw {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

pub(crate) fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and what was expected; the path prefix tells where.
            ApiError::unprocessable("invalid_body", body_message(&e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request("malformed_json", body_message(&e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ),
        JsonRejection::BytesRejection(e) => {
            let text = e.body_text();
            if text.contains("length limit")
                || e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
            {
                ApiError::PayloadTooLarge("the request body exceeds the size limit".into())
            } else {
                ApiError::bad_request("unreadable_body", "the request body could not be read")
            }
        }
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

fn body_message(text: &str) -> String {
    // axum prefixes "Failed to deserialize the JSON body into the target type: ".
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| text.strip_prefix("Failed to parse the request body as JSON: "))
        .unwrap_or(text);
    format!("invalid request body: {text}")
}

/// Query string.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "invalid query string: {}",
                    e.body_text()
                        .trim_start_matches("Failed to deserialize query string: ")
                ),
            )),
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::bad_request("invalid_path", e.body_text())),
        }
    }
}
