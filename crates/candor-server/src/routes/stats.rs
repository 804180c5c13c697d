//! Operator statistics over the consent ledger: how often each purpose is granted, denied and
//! withdrawn per day or week, and the share of people who currently allow it. Every count
//! about people is k-suppressed (`candor_segments::kanon`, the policy's k) before it leaves.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::kanon::{suppress, suppress_cells};
use candor_store::ConsentStats;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::segments::count_json;
use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Most buckets one answer holds (400 days, or 400 weeks).
pub const CONSENT_BUCKETS_MAX: i64 = 400;
/// Buckets shown when `since` is not given: 30 days, or 12 weeks.
const DAYS_DEFAULT: i64 = 30;
const WEEKS_DEFAULT: i64 = 12;
const WEEK_MS: i64 = 7 * DAY_MS;
/// The Unix epoch was a Thursday; weeks start on Monday, four days later.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// The length of a time bucket.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// UTC days.
    #[default]
    Day,
    /// Weeks from Monday 00:00 UTC.
    Week,
}

impl Bucket {
    fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
        }
    }

    fn len_ms(self) -> i64 {
        match self {
            Bucket::Day => DAY_MS,
            Bucket::Week => WEEK_MS,
        }
    }

    /// The start of the bucket holding `t`. Buckets are fixed in time, whatever `since` is
    /// asked for, so two answers never split one bucket differently (which would let
    /// suppressed counts be worked out by subtraction).
    fn floor(self, t: i64) -> i64 {
        match self {
            Bucket::Day => t.div_euclid(DAY_MS) * DAY_MS,
            Bucket::Week => (t - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS,
        }
    }
}

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

fn parse_since(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s).or_else(|| Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")))
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
    let bucket = q.bucket.unwrap_or_default();
    let now = state.now().as_millis();
    let current = bucket.floor(now);
    let since = match &q.since {
        None => {
            let n = match bucket {
                Bucket::Day => DAYS_DEFAULT,
                Bucket::Week => WEEKS_DEFAULT,
            };
            current - (n - 1) * bucket.len_ms()
        }
        Some(s) => bucket.floor(
            parse_since(s)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_since",
                        "since must be a date such as 2026-11-01 or an RFC 3339 time",
                    )
                })?
                .as_millis(),
        ),
    };
    let n_buckets = (current - since) / bucket.len_ms() + 1;
    if !(1..=CONSENT_BUCKETS_MAX).contains(&n_buckets) {
        return Err(ApiError::bad_request(
            "invalid_since",
            format!(
                "since must be in the past, at most {CONSENT_BUCKETS_MAX} {}s back",
                bucket.as_str()
            ),
        ));
    }
    let len_ms = bucket.len_ms();
    let stats = state
        .blocking(move |store| store.consent_stats(Timestamp::from_millis(since), len_ms))
        .await?;
    let k = state.policy.k_anonymity;
    Ok(Json(ConsentStatsBody {
        k,
        bucket: bucket.as_str(),
        since: Timestamp::from_millis(since).to_rfc3339(),
        purposes: render(&state, &stats, since, len_ms, n_buckets, k),
    }))
}

fn render(
    state: &AppState,
    stats: &ConsentStats,
    since: i64,
    len_ms: i64,
    n_buckets: i64,
    k: u32,
) -> Vec<PurposeConsentBody> {
    // (purpose, bucket) -> [granted, denied, withdrawn]
    let mut cells: BTreeMap<(&str, i64), [u64; 3]> = BTreeMap::new();
    for c in &stats.buckets {
        let slot = match c.decision.as_str() {
            "granted" => 0,
            "denied" => 1,
            "withdrawn" => 2,
            _ => continue,
        };
        cells.entry((c.purpose.as_str(), c.bucket)).or_default()[slot] += c.n;
    }
    state
        .policy
        .purposes
        .iter()
        .filter(|p| p.needs_consent())
        .map(|p| {
            let id = p.id.as_str();
            let buckets = (0..n_buckets)
                .map(|b| {
                    let [g, d, w] = cells.get(&(id, b)).copied().unwrap_or_default();
                    ConsentBucketBody {
                        start: Timestamp::from_millis(since + b * len_ms).date(),
                        granted: count_json(suppress(g, k)),
                        denied: count_json(suppress(d, k)),
                        withdrawn: count_json(suppress(w, k)),
                    }
                })
                .collect();
            let (mut subjects, mut granted) = (0u64, 0u64);
            for l in stats.latest.iter().filter(|l| l.purpose == id) {
                subjects += l.n;
                // A grant of an older version of the purpose needs re-consent: not a grant now.
                if l.decision == "granted" && l.purpose_version == p.version.as_str() {
                    granted += l.n;
                }
            }
            let split = suppress_cells(&[granted, subjects - granted], k);
            let granted_share = match (split[0].exact(), split[1].exact()) {
                (Some(g), Some(_)) if subjects > 0 => Some(g as f64 / subjects as f64),
                _ => None,
            };
            PurposeConsentBody {
                purpose: id.to_owned(),
                title: p.title.clone(),
                buckets,
                current: ConsentCurrentBody {
                    subjects: count_json(suppress(subjects, k)),
                    granted: count_json(split[0]),
                    granted_share,
                },
            }
        })
        .collect()
}
