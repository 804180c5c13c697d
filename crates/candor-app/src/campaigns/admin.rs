//! The operator's campaigns: create (checked against the policy), read, run (dry or real,
//! audited), and what campaigns decided about one person.

use candor_domain::policy::Channel;
use candor_domain::time::Timestamp;
use candor_segments::campaign::{CampaignError, ExclusionCode};
use candor_segments::rule::WINDOW_DAYS_MAX;
use candor_store::{CampaignRecord, SubjectOutcome};

use super::{RunRefusal, RunResult, StoredCampaign, StoredCap};
use crate::audit::Actor;
use crate::resource::check_id;
use crate::{App, AppError, AppResult, ErrorKind};

/// Most outcomes listed for one subject.
const SUBJECT_OUTCOMES_LEN_MAX: u32 = 100;

/// A campaign as the operator describes it.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub id: String,
    pub segment: String,
    pub channel: String,
    pub purpose: String,
    pub template: String,
    /// An RFC 3339 time before which a real run is refused.
    pub send_at: Option<String>,
    pub cap: Option<StoredCap>,
    pub restricted_categories: Vec<String>,
    pub holdout_percent: u8,
}

/// The stable code of a campaign the policy refuses.
pub fn campaign_error(e: CampaignError) -> AppError {
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
    AppError::unprocessable(code, e.to_string().trim_end().to_owned())
}

/// The campaign a stored record describes.
pub fn stored(r: &CampaignRecord) -> AppResult<StoredCampaign> {
    serde_json::from_str(&r.spec)
        .map_err(|e| AppError::internal(format!("unreadable campaign {}: {e}", r.id)))
}

/// Saves a new campaign once its segment exists and the policy accepts it. Campaigns cannot
/// be changed.
pub async fn create(app: &App, input: NewCampaign) -> AppResult<(CampaignRecord, StoredCampaign)> {
    check_id("campaign", &input.id)?;
    if Channel::parse(&input.channel).is_none() {
        return Err(AppError::unprocessable(
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
        return Err(AppError::unprocessable(
            "invalid_cap",
            format!("cap.window_days must be 1 to {WINDOW_DAYS_MAX}"),
        ));
    }
    let send_at = match &input.send_at {
        None => None,
        Some(t) => Some(
            Timestamp::parse_rfc3339(t)
                .ok_or_else(|| {
                    AppError::unprocessable(
                        "invalid_send_at",
                        "send_at must be an RFC 3339 time such as 2026-12-01T09:00:00Z",
                    )
                })?
                .as_millis(),
        ),
    };
    check_id("segment", &input.segment)?;
    let segment_id = input.segment.clone();
    let segment = app
        .blocking(move |store| store.segment(&segment_id))
        .await?
        .ok_or_else(|| {
            AppError::unprocessable(
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
        cap: input.cap,
        restricted_categories: input.restricted_categories,
        holdout_percent: input.holdout_percent,
        seed: rand::random(),
    };
    spec.compile(&segment.rule, &app.policy)
        .map_err(campaign_error)?;
    let record = CampaignRecord {
        id: spec.id.clone(),
        segment_id: spec.segment.clone(),
        spec: serde_json::to_string(&spec)
            .map_err(|e| AppError::internal(format!("campaign spec: {e}")))?,
        created_at: app.now(),
    };
    let saved = record.clone();
    app.blocking(move |store| store.insert_campaign(&saved))
        .await
        .map_err(|e| match e.kind {
            ErrorKind::Conflict => AppError::conflict(
                "campaign_exists",
                format!("a campaign `{}` already exists", record.id),
            ),
            _ => e,
        })?;
    Ok((record, spec))
}

/// Every stored campaign.
pub async fn list(app: &App) -> AppResult<Vec<(CampaignRecord, StoredCampaign)>> {
    let all = app.blocking(|store| store.campaigns()).await?;
    all.into_iter()
        .map(|r| stored(&r).map(|s| (r, s)))
        .collect()
}

/// One stored campaign.
pub async fn load(app: &App, id: String) -> AppResult<CampaignRecord> {
    check_id("campaign", &id)?;
    app.blocking(move |store| store.campaign(&id))
        .await?
        .ok_or_else(|| AppError::not_found("campaign_not_found", "no campaign with this id"))
}

/// Runs a campaign now (dry: counts only), audits a real run and counts its exclusions.
pub async fn run(app: &App, id: String, dry_run: bool, actor: Actor) -> AppResult<RunResult> {
    let record = load(app, id).await?;
    let st = app.clone();
    let now = app.now();
    let result = app
        .blocking(move |store| {
            let ctx = super::ctx(&st, store, now);
            let result = super::run_campaign(&ctx, &record, dry_run)?;
            if let Ok(done) = &result {
                super::audit_run(store, actor, &record.id, done, now)?;
            }
            Ok(result)
        })
        .await?
        .map_err(|refusal| match refusal {
            RunRefusal::SegmentMissing(s) => AppError::conflict(
                "unknown_segment",
                format!("the campaign's segment `{s}` no longer exists"),
            ),
            RunRefusal::NoLongerValid(e) => AppError::conflict(
                "campaign_no_longer_valid",
                format!("the campaign no longer passes the policy: {e}"),
            ),
            RunRefusal::NotDue(at) => AppError::conflict(
                "campaign_not_due",
                format!(
                    "the campaign is scheduled for {}; run it then, or dry-run it now",
                    at.to_rfc3339()
                ),
            ),
        })?;
    if result.run_id.is_some() {
        for (code, n) in ExclusionCode::ALL.iter().zip(&result.counts[1..]) {
            crate::counters::note_exclusions(code.as_str(), *n);
        }
    }
    Ok(result)
}

/// What campaigns decided about a person, newest first (at most 100).
pub async fn subject_outcomes(app: &App, subject: &str) -> AppResult<Vec<SubjectOutcome>> {
    let key = app.subject_key(subject)?;
    app.blocking(move |store| store.subject_outcomes(&key, SUBJECT_OUTCOMES_LEN_MAX))
        .await
}

/// Why a campaign was or was not sent to a person, as a sentence for them.
pub fn outcome_sentence(reason: Option<&str>) -> &'static str {
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
