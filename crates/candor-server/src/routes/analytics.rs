//! `GET /v1/analytics/{family}`: private reports for operators. Every number is noisy with its
//! 95 % interval and its noise beside it; the answer says what the report charged and what is
//! left of the family's budget. Refused with 409 `privacy_budget_exhausted` once a covered day
//! has nothing left; the same request again gets the same release at no cost.

use axum::Json;
use axum::extract::State;
use candor_analytics::Granularity;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::analytics::{AnalyticsBody, day_of, parse_request, run_report};

/// `?from=&to=&by=&country=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// First day, `YYYY-MM-DD` (UTC). Default: 29 days before `to`. Whole periods are
    /// reported, so a weekly report starts on the Monday of this day's week.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, at most today. Default: today.
    pub to: Option<String>,
    /// `day` (default) or `week`.
    #[param(value_type = Option<String>, pattern = "^(day|week)$")]
    pub by: Option<Granularity>,
    /// Only people whose declared country is this (ISO 3166-1 alpha-2).
    #[param(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
}

/// A private report of one family (`conversions`, `top-items`, `top-categories`,
/// `interest-share`, `consent-rates`, `drops`) by day or week. Charges the family's privacy
/// budget for every day it covers, unless the same request was answered before; 409
/// `privacy_budget_exhausted` when a covered day cannot afford it (ask for other days, or
/// repeat an earlier request).
#[utoipa::path(get, path = "/v1/analytics/{family}", tag = "analytics", security(("api_key" = [])),
    params(("family" = String, Path, description = "conversions, top-items, top-categories, interest-share, consent-rates or drops"),
        AnalyticsQuery),
    responses((status = 200, body = AnalyticsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`privacy_budget_exhausted`: the family's budget for a covered day is spent", body = ErrorBody)))]
pub async fn analytics_report(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(family): ApiPath<String>,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Json<AnalyticsBody>> {
    let now = state.now();
    let request = parse_request(
        &family,
        q.from.as_deref(),
        q.to.as_deref(),
        q.by.unwrap_or(Granularity::Day),
        q.country.as_deref(),
        day_of(now),
    )?;
    let task_state = state.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let s = &task_state;
        run_report(
            s.store.as_ref(),
            &s.policy,
            &s.config.analytics,
            s.secret.as_bytes(),
            &request,
            now,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("report task failed: {e}")))??;
    Ok(Json(outcome.into()))
}
