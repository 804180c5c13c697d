//! Real-time decisions: which of some candidate campaigns may be shown to a person now, if
//! any, and why the others may not. A selected campaign reserves its frequency-cap slot in
//! the store before it is answered, so two requests never both take the last one.

use candor_domain::policy::Channel;
use candor_segments::campaign::Decision;
use candor_segments::delivery_idempotency_key;
use candor_store::{NewDelivery, NewOutcome, NewRun, StoreResult};
use jiff::tz::TimeZone;

use crate::campaigns::{self, StoredCampaign, Zones, cap_limit, decide_subject, history_since};
use crate::{App, AppError, AppResult};

/// Most candidate campaigns in one decision.
pub const DECIDE_CAMPAIGNS_LEN_MAX: usize = 20;
/// Times a decision retries reserving a slot that a concurrent request took first.
const RESERVE_ATTEMPTS_MAX: usize = 3;

/// A decision request as the transport parsed it.
#[derive(Debug, Clone)]
pub struct DecideRequest {
    /// The shop's id for the person; pseudonymized here.
    pub subject: String,
    pub channel: String,
    /// Candidate campaign ids, in order of preference.
    pub campaigns: Vec<String>,
    /// The person's IANA time zone, for quiet hours, if the caller knows it.
    pub time_zone: Option<String>,
    /// Decide without reserving a slot or counting exclusions.
    pub dry_run: bool,
}

/// The decision about one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDecision {
    pub campaign: String,
    pub selected: bool,
    /// Why not, as a stable code.
    pub reason: Option<&'static str>,
    pub explanation: String,
}

/// The campaign to show, if any, its message, and the decision about each candidate tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub campaign: Option<String>,
    pub message: Option<String>,
    /// The experiment on the chosen campaign and the person's arm, when one runs and the
    /// message is the arm's.
    pub experiment: Option<(String, String)>,
    pub decisions: Vec<CampaignDecision>,
}

/// Decides which of the candidates may be shown to the person now: the first selected one,
/// with its cap slot reserved (unless `dry_run`).
pub async fn decide(app: &App, req: DecideRequest) -> AppResult<Decided> {
    let key = app.subject_key(&req.subject)?;
    let channel = Channel::parse(&req.channel).ok_or_else(|| {
        AppError::unprocessable(
            "invalid_channel",
            format!(
                "channel `{}` is not one of email, sms, push, web",
                req.channel
            ),
        )
    })?;
    if req.campaigns.is_empty() || req.campaigns.len() > DECIDE_CAMPAIGNS_LEN_MAX {
        return Err(AppError::invalid(
            "invalid_campaigns",
            format!("send 1 to {DECIDE_CAMPAIGNS_LEN_MAX} candidate campaign ids"),
        ));
    }
    for id in &req.campaigns {
        crate::resource::check_id("campaign", id)?;
    }
    let zone = match &req.time_zone {
        None => None,
        Some(z) => Some(TimeZone::get(z).map_err(|_| {
            AppError::unprocessable(
                "invalid_time_zone",
                format!("`{z}` is not an IANA time zone such as Europe/Berlin"),
            )
        })?),
    };
    let DecideRequest {
        campaigns, dry_run, ..
    } = req;
    let st = app.clone();
    let now = app.now();
    let outcome = app
        .blocking(move |store| -> StoreResult<AppResult<Decided>> {
            let ctx = campaigns::ctx(&st, store, now);
            let mut compiled = Vec::new();
            for id in &campaigns {
                let Some(record) = store.campaign(id)? else {
                    return Ok(Err(AppError::unprocessable(
                        "unknown_campaign",
                        format!("no campaign `{id}`"),
                    )));
                };
                let stored: StoredCampaign = serde_json::from_str(&record.spec).map_err(|e| {
                    candor_store::StoreError::Other(format!("unreadable campaign: {e}"))
                })?;
                if stored.channel() != Some(channel) {
                    return Ok(Err(AppError::unprocessable(
                        "channel_mismatch",
                        format!(
                            "campaign `{id}` is for {}, not {}",
                            stored.channel,
                            channel.as_str()
                        ),
                    )));
                }
                let Some(segment) = store.segment(&stored.segment)? else {
                    return Ok(Err(AppError::conflict(
                        "unknown_segment",
                        format!("the segment of campaign `{id}` no longer exists"),
                    )));
                };
                match stored.compile(&segment.rule, ctx.policy) {
                    Ok(c) => compiled.push((stored, c)),
                    Err(e) => {
                        return Ok(Err(AppError::conflict(
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
                let mut reserved = dry_run;
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
                    // A test of this campaign: the selection has just checked the person's
                    // consent to the campaign's purpose, which is the experiment's.
                    let definitions = ctx.experiments.active(store)?;
                    let arm = crate::experiments::campaign_arm(
                        &definitions,
                        &stored.id,
                        &key,
                        true,
                        &mut |id| store.assignment(id, &key),
                        now,
                    )?;
                    let message =
                        campaigns::render_arm(&ctx, &data, campaign, &catalog, arm.as_ref())?;
                    // The answer is what the caller shows: exposed now, unless a dry run.
                    if let Some(arm) = &arm
                        && !dry_run
                    {
                        crate::experiments::record_message(store, &key, arm, now)?;
                    }
                    return Ok(Ok(Decided {
                        campaign: Some(stored.id.clone()),
                        message: Some(message.text),
                        experiment: arm.map(|a| (a.experiment_id, a.arm.name().to_owned())),
                        decisions,
                    }));
                }
            }
            Ok(Ok(Decided {
                campaign: None,
                message: None,
                experiment: None,
                decisions,
            }))
        })
        .await??;
    if !dry_run {
        for d in &outcome.decisions {
            if let Some(reason) = d.reason {
                crate::counters::note_exclusions(reason, 1);
            }
        }
    }
    Ok(outcome)
}
