//! Real-time decisions: which of some candidate campaigns may be shown to a person now, if
//! any, and why the others may not.

use axum::Json;
use axum::extract::State;
use candor_domain::policy::Channel;
use candor_segments::campaign::Decision;
use candor_segments::delivery_idempotency_key;
use candor_store::{NewDelivery, NewOutcome, NewRun, StoreResult};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use candor_app::campaigns::{
    self, StoredCampaign, Zones, cap_limit, decide_subject, history_since,
};

/// Most candidate campaigns in one decision.
pub const DECIDE_CAMPAIGNS_LEN_MAX: usize = 20;
/// Times a decision retries reserving a slot that a concurrent request took first.
const RESERVE_ATTEMPTS_MAX: usize = 3;

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

#[derive(Debug, Serialize, ToSchema)]
pub struct DecideResponse {
    /// The campaign to show now, if any.
    pub campaign: Option<String>,
    /// Its message, rendered for this person.
    pub message: Option<String>,
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
    let key = state.subject_key(&req.subject)?;
    let channel = Channel::parse(&req.channel).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_channel",
            format!(
                "channel `{}` is not one of email, sms, push, web",
                req.channel
            ),
        )
    })?;
    if req.campaigns.is_empty() || req.campaigns.len() > DECIDE_CAMPAIGNS_LEN_MAX {
        return Err(ApiError::bad_request(
            "invalid_campaigns",
            format!("send 1 to {DECIDE_CAMPAIGNS_LEN_MAX} candidate campaign ids"),
        ));
    }
    for id in &req.campaigns {
        super::segments::check_id("campaign", id)?;
    }
    let zone = match &req.time_zone {
        None => None,
        Some(z) => Some(TimeZone::get(z).map_err(|_| {
            ApiError::unprocessable(
                "invalid_time_zone",
                format!("`{z}` is not an IANA time zone such as Europe/Berlin"),
            )
        })?),
    };
    let st = state.clone();
    let now = state.now();
    let dry_run = req.dry_run;
    let outcome = state
        .blocking(move |store| -> StoreResult<ApiResult<DecideResponse>> {
            let ctx = campaigns::ctx(&st, store, now);
            let mut compiled = Vec::new();
            for id in &req.campaigns {
                let Some(record) = store.campaign(id)? else {
                    return Ok(Err(ApiError::unprocessable(
                        "unknown_campaign",
                        format!("no campaign `{id}`"),
                    )));
                };
                let stored: StoredCampaign = serde_json::from_str(&record.spec).map_err(|e| {
                    candor_store::StoreError::Other(format!("unreadable campaign: {e}"))
                })?;
                if stored.channel() != Some(channel) {
                    return Ok(Err(ApiError::unprocessable(
                        "channel_mismatch",
                        format!(
                            "campaign `{id}` is for {}, not {}",
                            stored.channel,
                            channel.as_str()
                        ),
                    )));
                }
                let Some(segment) = store.segment(&stored.segment)? else {
                    return Ok(Err(ApiError::Conflict(
                        "unknown_segment",
                        format!("the segment of campaign `{id}` no longer exists"),
                    )));
                };
                match stored.compile(&segment.rule, ctx.policy) {
                    Ok(c) => compiled.push((stored, c)),
                    Err(e) => {
                        return Ok(Err(ApiError::Conflict(
                            "campaign_no_longer_valid",
                            format!("campaign `{id}` no longer passes the policy: {e}"),
                        )));
                    }
                }
            }
            let since = compiled
                .iter()
                .map(|(_, c)| history_since(&ctx.settings.rules, c, now))
                .min()
                .unwrap_or(now);
            let catalog = ctx.catalog()?;
            let mut data = ctx.load_subject(&key, &catalog, since)?;
            if let Some(z) = &zone {
                data.marketing.time_zone = z.iana_name().map(str::to_owned);
            }
            let mut zones = Zones::default();
            let mut decisions = Vec::new();
            for (stored, campaign) in &compiled {
                let mut decision = decide_subject(&ctx, &data, campaign, stored.seed, &mut zones);
                let mut reserved = req.dry_run;
                for _ in 0..RESERVE_ATTEMPTS_MAX {
                    if decision != Decision::Selected || reserved {
                        break;
                    }
                    let run_id = format!("decide-{}", hex::encode(rand::random::<[u8; 12]>()));
                    let committed = store.commit_run(&NewRun {
                        run_id: run_id.clone(),
                        campaign_id: stored.id.clone(),
                        channel: stored.channel.clone(),
                        now,
                        channel_cap: cap_limit(ctx.settings.rules.caps.for_channel(channel)),
                        campaign_cap: campaign.cap().map(cap_limit),
                        record_outcomes: false,
                        // On-site messages are shown by the caller, never posted: nothing to
                        // hold. Fairness is audited on audience runs.
                        flag: None,
                        hold_if_flagged: false,
                        outcomes: vec![NewOutcome {
                            subject: key,
                            reason: None,
                            delivery: Some(NewDelivery {
                                idempotency_key: delivery_idempotency_key(
                                    &stored.id, &run_id, &key,
                                ),
                                payload: None,
                            }),
                        }],
                    })?;
                    reserved = committed.first().is_some_and(|o| o.selected);
                    if !reserved {
                        // Another request took the last slot between our read and our write:
                        // decide again against the history that now includes it.
                        data.marketing = store.marketing_state(&key, since)?;
                        if let Some(z) = &zone {
                            data.marketing.time_zone = z.iana_name().map(str::to_owned);
                        }
                        decision = decide_subject(&ctx, &data, campaign, stored.seed, &mut zones);
                    }
                }
                if decision == Decision::Selected && !reserved {
                    decisions.push(CampaignDecision {
                        campaign: stored.id.clone(),
                        selected: false,
                        reason: Some("frequency_cap"),
                        explanation: "not sent: other messages took the last free slot".to_owned(),
                    });
                    continue;
                }
                let selected = decision == Decision::Selected;
                decisions.push(CampaignDecision {
                    campaign: stored.id.clone(),
                    selected,
                    reason: decision.code().map(|c| c.as_str()),
                    explanation: decision.to_string(),
                });
                if selected {
                    let message = campaigns::render(&ctx, &data, campaign, &catalog)?;
                    return Ok(Ok(DecideResponse {
                        campaign: Some(stored.id.clone()),
                        message: Some(message.text),
                        decisions,
                    }));
                }
            }
            Ok(Ok(DecideResponse {
                campaign: None,
                message: None,
                decisions,
            }))
        })
        .await??;
    if !dry_run {
        for d in &outcome.decisions {
            if let Some(reason) = d.reason {
                candor_app::counters::note_exclusions(reason, 1);
            }
        }
    }
    Ok(Json(outcome))
}
