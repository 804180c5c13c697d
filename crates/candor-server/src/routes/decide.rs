//! Real-time decisions: which of some candidate campaigns may be shown to a person now, if
//! any, and why the others may not.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Server, scope};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// The shop's id for the person; pseudonymized on arrival.
    pub subject: String,
    /// `email`, `sms`, `push` or `web`.
    pub channel: String,
    /// Candidate campaign ids, in order of preference.
    pub campaigns: Vec<String>,
    /// The person's IANA time zone, if the site knows it (for quiet hours).
    pub time_zone: Option<String>,
    /// Decide without reserving a cap slot.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDecision {
    pub campaign: String,
    pub selected: bool,
    /// The exclusion code when not selected: `not_in_segment`, `no_consent`, `unsubscribed`,
    /// `minor`, `restricted_content`, `frequency_cap`, `quiet_hours`, `control_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The explanation as shown to the person.
    pub explanation: String,
}

/// An experiment on the chosen campaign and the person's arm in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedExperimentBody {
    /// The experiment's id.
    pub id: String,
    /// The person's arm (`holdout` for the global holdout).
    pub arm: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecideResponse {
    /// The campaign to show now, if any.
    pub campaign: Option<String>,
    /// Its message, rendered for this person.
    pub message: Option<String>,
    /// The test the message was chosen by, when the campaign runs one and the person is in
    /// it: the message shown is their arm's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<DecidedExperimentBody>,
    /// Each campaign decided, in order, up to the one chosen.
    pub decisions: Vec<CampaignDecision>,
}

/// Which message may be shown to a person now, and why. Unless `dry_run`, the chosen message
/// takes a cap slot, so the caller should show it.
#[utoipa::path(post, path = "/v1/decide", tag = "campaigns", security(("api_key" = [])),
    request_body = DecideRequest,
    responses((status = 200, body = DecideResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    _: Server<scope::Decide>,
    ApiJson(req): ApiJson<DecideRequest>,
) -> ApiResult<Json<DecideResponse>> {
    let decided = candor_app::decide::decide(
        &state,
        candor_app::decide::DecideRequest {
            subject: req.subject,
            channel: req.channel,
            campaigns: req.campaigns,
            time_zone: req.time_zone,
            dry_run: req.dry_run,
        },
    )
    .await?;
    let outcome = DecideResponse {
        campaign: decided.campaign,
        message: decided.message,
        experiment: decided
            .experiment
            .map(|(id, arm)| DecidedExperimentBody { id, arm }),
        decisions: decided
            .decisions
            .into_iter()
            .map(|d| CampaignDecision {
                campaign: d.campaign,
                selected: d.selected,
                reason: d.reason,
                explanation: d.explanation,
            })
            .collect(),
    };
    Ok(Json(outcome))
}
