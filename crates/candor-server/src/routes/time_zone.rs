//! A subject's time zone, so quiet hours follow their own clock.

use axum::Json;
use axum::extract::State;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Access, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeZoneBody {
    /// An IANA time zone such as `Europe/Berlin` (a browser's
    /// `Intl.DateTimeFormat().resolvedOptions().timeZone`).
    pub time_zone: String,
}

/// Record the subject's time zone for quiet hours.
#[utoipa::path(put, path = "/v1/subjects/{id}/time-zone", tag = "campaigns", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person")),
    request_body = TimeZoneBody,
    responses((status = 200, body = TimeZoneBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_time_zone(
    State(state): State<AppState>,
    access: Access<act::SetTimeZone>,
    ApiJson(body): ApiJson<TimeZoneBody>,
) -> ApiResult<Json<TimeZoneBody>> {
    let key = access.key();
    let name = TimeZone::get(&body.time_zone)
        .ok()
        .and_then(|z| z.iana_name().map(str::to_owned))
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_time_zone",
                format!(
                    "`{}` is not an IANA time zone such as Europe/Berlin",
                    body.time_zone.chars().take(64).collect::<String>()
                ),
            )
        })?;
    let stored = name.clone();
    state
        .blocking(move |store| store.set_time_zone(&key, &stored))
        .await?;
    Ok(Json(TimeZoneBody { time_zone: name }))
}
