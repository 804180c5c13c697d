//! Campaigns: create, read, and run (dry or real) with k-suppressed summaries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_domain::policy::Channel;
use candor_domain::time::Timestamp;
use candor_segments::campaign::{CampaignError, ExclusionCode};
use candor_segments::rule::WINDOW_DAYS_MAX;
use candor_store::CampaignRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::segments::{check_id, count_json};
use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::campaigns::{self, RunRefusal, StoredCampaign, StoredCap, summarize};

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

fn stored(r: &CampaignRecord) -> ApiResult<StoredCampaign> {
    serde_json::from_str(&r.spec)
        .map_err(|e| ApiError::Internal(format!("unreadable campaign {}: {e}", r.id)))
}

pub(crate) fn campaign_error(e: CampaignError) -> ApiError {
    let code = match &e {
        CampaignError::InvalidId => "invalid_id",
        CampaignError::Rule(r) => r.kind.code(),
        CampaignError::Lint(report) => report
            .errors
            .first()
            .map_or("segment_refused", |i| i.code.as_str()),
        CampaignError::UnknownPurpose(_) => "unknown_purpose",
        CampaignError::ChannelMismatch { .. } => "purpose_channel_mismatch",
        CampaignError::Template(_) => "invalid_template",
        CampaignError::HoldoutTooLarge(_) => "holdout_too_large",
        CampaignError::UnknownRestrictedCategory(_) => "unknown_restricted_category",
        CampaignError::TooManyPromoted => "too_many_restricted_categories",
    };
    ApiError::unprocessable(code, e.to_string().trim_end().to_owned())
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
    check_id("campaign", &input.id)?;
    if Channel::parse(&input.channel).is_none() {
        return Err(ApiError::unprocessable(
            "invalid_channel",
            format!(
                "channel `{}` is not one of email, sms, push, web",
                input.channel
            ),
        ));
    }
    if let Some(cap) = input.cap
        && (cap.window_days == 0 || cap.window_days > WINDOW_DAYS_MAX)
    {
        return Err(ApiError::unprocessable(
            "invalid_cap",
            format!("cap.window_days must be 1 to {WINDOW_DAYS_MAX}"),
        ));
    }
    let send_at = match &input.send_at {
        None => None,
        Some(t) => Some(
            Timestamp::parse_rfc3339(t)
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "invalid_send_at",
                        "send_at must be an RFC 3339 time such as 2026-12-01T09:00:00Z",
                    )
                })?
                .as_millis(),
        ),
    };
    check_id("segment", &input.segment)?;
    let segment_id = input.segment.clone();
    let segment = state
        .blocking(move |store| store.segment(&segment_id))
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_segment",
                format!(
                    "no segment `{}`; create it with POST /v1/segments first",
                    input.segment
                ),
            )
        })?;
    let spec = StoredCampaign {
        id: input.id,
        segment: input.segment,
        channel: input.channel,
        purpose: input.purpose,
        template: input.template,
        send_at,
        cap: input.cap.map(|c| StoredCap {
            max: c.max,
            window_days: c.window_days,
        }),
        restricted_categories: input.restricted_categories,
        holdout_percent: input.holdout_percent,
        seed: rand::random(),
    };
    spec.compile(&segment.rule, &state.policy)
        .map_err(campaign_error)?;
    let record = CampaignRecord {
        id: spec.id.clone(),
        segment_id: spec.segment.clone(),
        spec: serde_json::to_string(&spec)
            .map_err(|e| ApiError::Internal(format!("campaign spec: {e}")))?,
        created_at: state.now(),
    };
    let saved = record.clone();
    state
        .blocking(move |store| store.insert_campaign(&saved))
        .await
        .map_err(|e| match e {
            ApiError::Conflict(..) => ApiError::Conflict(
                "campaign_exists",
                format!("a campaign `{}` already exists", record.id),
            ),
            other => other,
        })?;
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
    let all = state.blocking(|store| store.campaigns()).await?;
    let items = all
        .iter()
        .map(|r| stored(r).map(|s| body(r, &s)))
        .collect::<ApiResult<_>>()?;
    Ok(Json(CampaignList { items }))
}

pub(crate) async fn load_campaign(state: &AppState, id: String) -> ApiResult<CampaignRecord> {
    check_id("campaign", &id)?;
    state
        .blocking(move |store| store.campaign(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("campaign_not_found", "no campaign with this id"))
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
    let record = load_campaign(&state, id).await?;
    Ok(Json(body(&record, &stored(&record)?)))
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
    let record = load_campaign(&state, id).await?;
    let st = state.clone();
    let now = state.now();
    let dry_run = q.dry_run;
    let actor = caller.actor();
    let result = state
        .blocking(move |store| {
            let ctx = campaigns::ctx(&st, store, now);
            let result = campaigns::run_campaign(&ctx, &record, dry_run)?;
            if let Ok(done) = &result {
                campaigns::audit_run(store, actor.clone(), &record.id, done, now)?;
            }
            Ok(result)
        })
        .await?
        .map_err(|refusal| match refusal {
            RunRefusal::SegmentMissing(s) => ApiError::Conflict(
                "unknown_segment",
                format!("the campaign's segment `{s}` no longer exists"),
            ),
            RunRefusal::NoLongerValid(e) => ApiError::Conflict(
                "campaign_no_longer_valid",
                format!("the campaign no longer passes the policy: {e}"),
            ),
            RunRefusal::NotDue(at) => ApiError::Conflict(
                "campaign_not_due",
                format!(
                    "the campaign is scheduled for {}; run it then, or dry-run it now",
                    at.to_rfc3339()
                ),
            ),
        })?;
    if let Some(run_id) = &result.run_id {
        tracing::info!(key = %caller.key_id, run = %run_id, flagged = result.flagged, held = result.held, "campaign run committed");
        for (code, n) in ExclusionCode::ALL.iter().zip(&result.counts[1..]) {
            candor_app::counters::note_exclusions(code.as_str(), *n);
        }
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

/// Most outcomes listed for one subject.
const SUBJECT_OUTCOMES_LEN_MAX: u32 = 100;

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

fn outcome_sentence(reason: Option<&str>) -> &'static str {
    match reason {
        None => "you are in the campaign's audience and were sent it",
        Some("not_in_segment") => "not sent: you are not in the campaign's audience",
        Some("restricted") => "not sent: you asked for processing of your data to be restricted",
        Some("no_consent") => "not sent: you have not agreed to this kind of message",
        Some("unsubscribed") => "not sent: you unsubscribed from these messages",
        Some("minor") => "not sent: this campaign is never sent to minors",
        Some("restricted_content") => "not sent: you excluded yourself from this kind of offer",
        Some("frequency_cap") => {
            "not sent: you had already had as many messages as we send in that time"
        }
        Some("quiet_hours") => "not sent: it was night where you are",
        Some("control_group") => {
            "not sent: you were chosen at random for the comparison group, which gets no message"
        }
        Some(_) => "not sent",
    }
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
    let key = state.subject_key(&id)?;
    let outcomes = state
        .blocking(move |store| store.subject_outcomes(&key, SUBJECT_OUTCOMES_LEN_MAX))
        .await?;
    Ok(Json(SubjectOutcomes {
        items: outcomes
            .into_iter()
            .map(|o| SubjectOutcomeBody {
                explanation: outcome_sentence(o.reason.as_deref()),
                campaign: o.campaign_id,
                run: o.run_id,
                at: o.at.to_rfc3339(),
                selected: o.selected,
                reason: o.reason,
            })
            .collect(),
    }))
}
