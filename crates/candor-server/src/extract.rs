//! Extractors that turn every malformed request into an [`ApiError`] with a stable code,
//! instead of axum's plain-text rejections.
//!
//! Bodies are read here too: whole, at most `[limits] request_body_bytes_max` bytes as sent,
//! decoded per `Content-Encoding` (gzip or deflate, as the Segment and RudderStack libraries
//! send them) and at most that many bytes again once decoded, so a small compressed body
//! cannot expand into a large one.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON body, sent as `application/json` (or another `+json` type), plain or compressed.
/// Unknown fields are refused by the wire types (`deny_unknown_fields`), and an array where
/// an object belongs by `strict`; the message names the field.
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
        parse_json(&bytes).map(ApiJson)
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

/// Parses decoded JSON bytes as `T`, with the same codes as any JSON body: a syntax error is
/// `malformed_json` (400), a value of the wrong shape `invalid_body` (422) with the path of
/// the field. Objects are read strictly (`strict`): an array where the document says object
/// is refused at any depth.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        crate::strict::deserialize(&mut de).map_err(|e| body_error(e.inner().classify(), &e))?;
    de.end().map_err(|e| {
        ApiError::bad_request("malformed_json", format!("invalid request body: {e}"))
    })?;
    Ok(value)
}

/// Parses decoded JSON bytes as a plain JSON value (no shape to check, so no strictness and
/// no path to track: the ingestion endpoints read their bodies this way, then as their type
/// with [`from_value`]).
pub(crate) fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| body_error(e.classify(), &e))
}

/// A body that is not JSON is `malformed_json` (400); JSON of the wrong shape is
/// `invalid_body` (422). The message carries serde's, which names the field and its path.
fn body_error(category: serde_json::error::Category, e: &dyn std::fmt::Display) -> ApiError {
    let message = format!("invalid request body: {e}");
    match category {
        serde_json::error::Category::Data => ApiError::unprocessable("invalid_body", message),
        _ => ApiError::bad_request("malformed_json", message),
    }
}

/// Reads a parsed JSON value as `T`, strictly as [`parse_json`] does.
pub(crate) fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    crate::strict::deserialize(value)
        .map_err(|e| ApiError::unprocessable("invalid_body", format!("invalid request body: {e}")))
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
