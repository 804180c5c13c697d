//! Campaigns: create, read, and run (dry or real) with k-suppressed summaries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_domain::time::Timestamp;
use candor_store::CampaignRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::segments::count_json;
use crate::auth::{Server, scope};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::campaigns::{StoredCampaign, StoredCap, admin, summarize};

pub(crate) use candor_app::campaigns::admin::load as load_campaign;

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct CapInput {
    /// Messages allowed per window; 0 means never.
    pub max: u32,
    /// The rolling window, in days.
    pub window_days: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Lowercase letters, digits, `_` and `-`.
    pub id: String,
    /// The id of the segment to target.
    pub segment: String,
    /// `email`, `sms`, `push` or `web`.
    pub channel: String,
    /// A marketing purpose of the policy for this channel.
    pub purpose: String,
    /// Text with `{{first_name}}`, `{{recommendations}}`, `{{unsubscribe_url}}`, filled by
    /// plain substitution. Email templates must contain `{{unsubscribe_url}}`.
    pub template: String,
    /// Not sent before this time (RFC 3339).
    pub send_at: Option<String>,
    /// A cap of the campaign's own, on top of the global caps per channel.
    pub cap: Option<CapInput>,
    /// Restricted categories (policy ids) the campaign promotes.
    #[serde(default)]
    pub restricted_categories: Vec<String>,
    /// Share held out as a control group, 0 to 50.
    #[serde(default)]
    pub holdout_percent: u8,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignBody {
    pub id: String,
    pub segment: String,
    pub channel: String,
    pub purpose: String,
    pub template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<CapInput>,
    pub restricted_categories: Vec<String>,
    pub holdout_percent: u8,
    pub created_at: String,
}

fn body(r: &CampaignRecord, s: &StoredCampaign) -> CampaignBody {
    CampaignBody {
        id: s.id.clone(),
        segment: s.segment.clone(),
        channel: s.channel.clone(),
        purpose: s.purpose.clone(),
        template: s.template.clone(),
        send_at: s.send_at.map(|t| Timestamp::from_millis(t).to_rfc3339()),
        cap: s.cap.map(|c| CapInput {
            max: c.max,
            window_days: c.window_days,
        }),
        restricted_categories: s.restricted_categories.clone(),
        holdout_percent: s.holdout_percent,
        created_at: r.created_at.to_rfc3339(),
    }
}

/// Create a campaign. Its purpose must be a marketing purpose of the policy for its channel,
/// and its segment must exist and pass the linter for that purpose.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", security(("api_key" = [])),
    request_body = CampaignInput,
    responses((status = 201, body = CampaignBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_campaign(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignBody>)> {
    let (record, spec) = admin::create(
        &state,
        admin::NewCampaign {
            id: input.id,
            segment: input.segment,
            channel: input.channel,
            purpose: input.purpose,
            template: input.template,
            send_at: input.send_at,
            cap: input.cap.map(|c| StoredCap {
                max: c.max,
                window_days: c.window_days,
            }),
            restricted_categories: input.restricted_categories,
            holdout_percent: input.holdout_percent,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(body(&record, &spec))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub items: Vec<CampaignBody>,
}

/// Every campaign.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", security(("api_key" = [])),
    responses((status = 200, body = CampaignList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<CampaignList>> {
    let items = admin::list(&state)
        .await?
        .iter()
        .map(|(r, s)| body(r, s))
        .collect();
    Ok(Json(CampaignList { items }))
}

/// One campaign.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", security(("api_key" = [])),
    params(("id" = String, Path, description = "The campaign id")),
    responses((status = 200, body = CampaignBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_campaign(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CampaignBody>> {
    let record = admin::load(&state, id).await?;
    Ok(Json(body(&record, &admin::stored(&record)?)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// Decide everyone and report the counts, without recording or sending anything.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunBody {
    /// The run's id (absent for a dry run); its per-subject outcomes are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub dry_run: bool,
    /// Counts below this are shown as "fewer than k", and a count that would reveal one by
    /// subtraction as "withheld".
    pub k: u32,
    #[schema(value_type = crate::routes::ShownCount)]
    pub total: serde_json::Value,
    #[schema(value_type = crate::routes::ShownCount)]
    pub selected: serde_json::Value,
    /// Per exclusion reason, in precedence order.
    #[schema(value_type = std::collections::BTreeMap<String, crate::routes::ShownCount>)]
    pub excluded: serde_json::Map<String, serde_json::Value>,
    /// A real run whose demographic parity ratio fell below four-fifths
    /// (`GET /v1/fairness/campaigns/{id}`).
    pub flagged: bool,
    /// Its deliveries wait for an operator's acknowledgement
    /// (`POST /v1/fairness/campaigns/{id}/acknowledge`).
    pub held: bool,
}

/// Decide every subject for the campaign: selected, or excluded with a reason. A real run
/// records each outcome and queues the deliveries; `?dry_run=true` only counts.
#[utoipa::path(post, path = "/v1/campaigns/{id}/run", tag = "campaigns", security(("api_key" = [])),
    params(("id" = String, Path, description = "The campaign id"), RunQuery),
    responses((status = 200, body = RunBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn run_campaign(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<RunBody>> {
    let dry_run = q.dry_run;
    let result = admin::run(&state, id, dry_run, caller.actor()).await?;
    if let Some(run_id) = &result.run_id {
        tracing::info!(key = %caller.key_id, run = %run_id, flagged = result.flagged, held = result.held, "campaign run committed");
    }
    let k = state.policy.k_anonymity;
    let summary = summarize(&result.counts, k);
    Ok(Json(RunBody {
        run_id: result.run_id,
        dry_run,
        k,
        total: count_json(summary.total),
        selected: count_json(summary.selected),
        excluded: summary
            .excluded
            .into_iter()
            .map(|(code, n)| (code.as_str().to_owned(), count_json(n)))
            .collect(),
        flagged: result.flagged,
        held: result.held,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectOutcomeBody {
    pub campaign: String,
    pub run: String,
    pub at: String,
    pub selected: bool,
    /// The exclusion code when not selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The outcome as a sentence for the person.
    pub explanation: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectOutcomes {
    pub items: Vec<SubjectOutcomeBody>,
}

/// Every campaign run that decided about the subject, newest first, with why they were or
/// were not sent the message.
#[utoipa::path(get, path = "/v1/subjects/{id}/campaigns", tag = "campaigns", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person")),
    responses((status = 200, body = SubjectOutcomes), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn subject_campaigns(
    State(state): State<AppState>,
    _: Server<scope::Decide>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SubjectOutcomes>> {
    let outcomes = admin::subject_outcomes(&state, &id).await?;
    Ok(Json(SubjectOutcomes {
        items: outcomes
            .into_iter()
            .map(|o| SubjectOutcomeBody {
                explanation: admin::outcome_sentence(o.reason.as_deref()),
                campaign: o.campaign_id,
                run: o.run_id,
                at: o.at.to_rfc3339(),
                selected: o.selected,
                reason: o.reason,
            })
            .collect(),
    }))
}
