//! Operator statistics over the consent ledger: how often each purpose is granted, denied and
//! withdrawn per day or week, and the share of people who currently allow it. Every count
//! about people is k-suppressed (`candor_segments::kanon`, the policy's k) before it leaves.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::segments::count_json;
use crate::auth::{Server, scope};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub use candor_app::stats::{Bucket, CONSENT_BUCKETS_MAX};

/// `?since=&bucket=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsentStatsQuery {
    /// First day counted, `YYYY-MM-DD` or RFC 3339 (rounded down to its bucket). Default: 30
    /// days back for `day`, 12 weeks for `week`; at most 400 buckets back.
    pub since: Option<String>,
    /// `day` (default) or `week`.
    #[param(value_type = Option<String>, pattern = "^(day|week)$")]
    pub bucket: Option<Bucket>,
}

/// One time bucket of one purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentBucketBody {
    /// Start of the bucket, `YYYY-MM-DD` (UTC).
    pub start: String,
    /// Decisions recorded in the bucket: a number, or "fewer than k".
    #[schema(value_type = crate::routes::ShownCount)]
    pub granted: serde_json::Value,
    #[schema(value_type = crate::routes::ShownCount)]
    pub denied: serde_json::Value,
    #[schema(value_type = crate::routes::ShownCount)]
    pub withdrawn: serde_json::Value,
}

/// Where people stand now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentCurrentBody {
    /// People with a recorded choice for the purpose.
    #[schema(value_type = crate::routes::ShownCount)]
    pub subjects: serde_json::Value,
    /// Of them, people whose latest choice is a grant of the purpose's current version.
    #[schema(value_type = crate::routes::ShownCount)]
    pub granted: serde_json::Value,
    /// `granted / subjects`, when neither the granted nor the rest are suppressed.
    pub granted_share: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeConsentBody {
    pub purpose: String,
    pub title: String,
    /// Every bucket from `since` to now, oldest first.
    pub buckets: Vec<ConsentBucketBody>,
    pub current: ConsentCurrentBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentStatsBody {
    /// Counts below this are shown as "fewer than k", and one that could be worked out by
    /// subtraction as "withheld".
    pub k: u32,
    /// `day` or `week`.
    pub bucket: &'static str,
    /// Start of the first bucket (RFC 3339).
    pub since: String,
    /// Each purpose that needs consent, in policy order.
    pub purposes: Vec<PurposeConsentBody>,
}

/// Grants, denials and withdrawals per purpose and day or week, from the consent ledger, and
/// the share of people who allow each purpose now; k-suppressed.
#[utoipa::path(get, path = "/v1/stats/consent", tag = "consent", security(("api_key" = [])),
    params(ConsentStatsQuery),
    responses((status = 200, body = ConsentStatsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn consent_stats(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<ConsentStatsQuery>,
) -> ApiResult<Json<ConsentStatsBody>> {
    let report =
        candor_app::stats::consent(&state, q.bucket.unwrap_or_default(), q.since.as_deref())
            .await?;
    Ok(Json(ConsentStatsBody {
        k: report.k,
        bucket: report.bucket.as_str(),
        since: report.since.to_rfc3339(),
        purposes: report
            .purposes
            .into_iter()
            .map(|p| PurposeConsentBody {
                purpose: p.purpose,
                title: p.title,
                buckets: p
                    .buckets
                    .into_iter()
                    .map(|b| ConsentBucketBody {
                        start: b.start.date(),
                        granted: count_json(b.granted),
                        denied: count_json(b.denied),
                        withdrawn: count_json(b.withdrawn),
                    })
                    .collect(),
                current: ConsentCurrentBody {
                    subjects: count_json(p.subjects),
                    granted: count_json(p.granted),
                    granted_share: p.granted_share,
                },
            })
            .collect(),
    }))
}
