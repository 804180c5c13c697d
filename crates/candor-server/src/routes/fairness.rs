//! Audit attributes (write-only) and fairness reports (admin).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use candor_accountability::{AttributeKind, AuditAttributes, K_MIN_DEFAULT};
use candor_domain::time::Timestamp;
use candor_store::Acknowledgement;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::audit::{AuditAction, AuditEvent, AuditTarget};
use candor_app::fairness::{
    CampaignFairnessMissing, FAIRNESS_PURPOSE, FLAGS_LEN_MAX, campaign_fairness,
    grants_fairness_audit, slot_group_reports, slot_report, store_attributes,
};
use candor_app::fairness_body::*;

/// Self-declared attributes for fairness audits only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditAttributesInput {
    /// Kind to value: `gender`, `age_band`, `ethnicity`, `disability`, `religion`,
    /// `sexual_orientation`. Replaces everything declared before.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditAttributesStored {
    /// How many kinds are now declared. The values are never returned.
    pub declared: usize,
}

/// Declare protected attributes for fairness audits (requires `fairness_audit` granted).
#[utoipa::path(put, path = "/v1/subjects/{id}/audit-attributes", tag = "fairness", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person; pseudonymized on arrival")),
    request_body = AuditAttributesInput,
    responses((status = 200, body = AuditAttributesStored), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_audit_attributes(
    State(state): State<AppState>,
    access: Access<act::AuditAttributes>,
    ApiJson(body): ApiJson<AuditAttributesInput>,
) -> ApiResult<Json<AuditAttributesStored>> {
    // Self-declared by the person, never by a shop: planted attributes would skew every
    // fairness report.
    let subject = access.key();
    if body.attributes.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "send at least one attribute, such as {\"attributes\": {\"age_band\": \"25-34\"}}",
        ));
    }
    let mut attributes = AuditAttributes::new();
    for (name, value) in &body.attributes {
        let kind = AttributeKind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AttributeKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::bad_request(
                "unknown_attribute",
                format!("`{name}` is not one of {}", known.join(", ")),
            )
        })?;
        attributes.declare(kind, value).map_err(|e| {
            ApiError::bad_request("invalid_attribute_value", format!("`{name}`: {e}"))
        })?;
    }
    if state.policy.purpose_by_name(FAIRNESS_PURPOSE).is_none() {
        return Err(ApiError::unprocessable(
            "fairness_audit_not_in_policy",
            "the policy declares no `fairness_audit` purpose, so attributes cannot be collected",
        ));
    }
    let policy = state.policy.clone();
    let now = state.now();
    let declared = attributes.len();
    state
        .blocking(move |store| {
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            let records = store.consent_records(&subject)?;
            if !grants_fairness_audit(&policy, &facts, &records) {
                return Ok(false);
            }
            store_attributes(store, &subject, &attributes, now)?;
            Ok(true)
        })
        .await?
        .then_some(())
        .ok_or_else(|| {
            ApiError::unprocessable(
                "fairness_audit_not_granted",
                "the person has not granted the `fairness_audit` purpose; record that consent first",
            )
        })?;
    Ok(Json(AuditAttributesStored { declared }))
}

/// `?since=&k_min=` on fairness reports.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FairnessQuery {
    /// RFC 3339 start of the period (default: 30 days back).
    pub since: Option<String>,
    /// Smallest group shown (default 10, at least 2, at most 1000000).
    #[param(minimum = 2, maximum = 1000000)]
    pub k_min: Option<u64>,
}

/// Default report period.
pub const REPORT_DAYS_DEFAULT: i64 = 30;

impl FairnessQuery {
    pub fn resolve(&self, now: Timestamp) -> ApiResult<(Timestamp, u64)> {
        let since = match &self.since {
            None => Timestamp::from_millis(
                now.as_millis() - REPORT_DAYS_DEFAULT * candor_domain::time::DAY_MS,
            ),
            Some(s) => Timestamp::parse_rfc3339(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_since",
                    "since must be an RFC 3339 time such as 2026-11-01T00:00:00Z",
                )
            })?,
        };
        Ok((since, k_min(self.k_min)?))
    }
}

/// The largest `k_min` asked for: a bound, so the document can state one (any group larger
/// than the population is simply not shown).
const K_MIN_MAX: u64 = 1_000_000;

/// The smallest group shown: [`K_MIN_DEFAULT`] unless asked, never below 2.
fn k_min(asked: Option<u64>) -> ApiResult<u64> {
    let k_min = asked.unwrap_or(K_MIN_DEFAULT);
    if k_min > K_MIN_MAX {
        return Err(ApiError::bad_request(
            "invalid_k_min",
            format!("k_min must be at most {K_MIN_MAX}"),
        ));
    }
    if k_min < 2 {
        return Err(ApiError::bad_request(
            "invalid_k_min",
            "k_min must be at least 2: smaller groups would expose individuals",
        ));
    }
    Ok(k_min)
}

/// Longest slot name.
pub const SLOT_BYTES_MAX: usize = 64;

pub fn check_slot(slot: &str) -> ApiResult<()> {
    let ok = !slot.is_empty()
        && slot.len() <= SLOT_BYTES_MAX
        && slot
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_slot",
            format!("a slot name is 1 to {SLOT_BYTES_MAX} letters, digits, `_`, `-` or `.`"),
        ))
    }
}

/// Fairness of a recommendation slot: exposure per audit group and per provider/popularity.
#[utoipa::path(get, path = "/v1/fairness/slots/{slot}", tag = "fairness", security(("api_key" = [])),
    params(("slot" = String, Path, description = "The recommendation slot"), FairnessQuery),
    responses((status = 200, body = SlotFairnessBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn slot_fairness(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(slot): ApiPath<String>,
    ApiQuery(q): ApiQuery<FairnessQuery>,
) -> ApiResult<Json<SlotFairnessBody>> {
    check_slot(&slot)?;
    let now = state.now();
    let (since, k_min) = q.resolve(now)?;
    let policy = state.policy.clone();
    let report = state
        .blocking(move |store| slot_report(store, &policy, &slot, since, k_min))
        .await?;
    candor_app::counters::note_slot_flag(&report.slot, report.groups.flagged());
    Ok(Json(slot_body(&report)))
}

/// `?run=&k_min=` on a campaign's fairness.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CampaignFairnessQuery {
    /// A run of the campaign (default: its latest real run).
    #[param(min_length = 1, max_length = 64)]
    pub run: Option<String>,
    /// Smallest group shown (default 10, at least 2, at most 1000000).
    #[param(minimum = 2, maximum = 1000000)]
    pub k_min: Option<u64>,
}

fn missing(m: CampaignFairnessMissing) -> ApiError {
    match m {
        CampaignFairnessMissing::CampaignNotFound => {
            ApiError::not_found("campaign_not_found", "no campaign with this id")
        }
        CampaignFairnessMissing::NoRuns => ApiError::not_found(
            "no_runs",
            "the campaign has never been run; run it with POST /v1/campaigns/{id}/run (dry runs are not kept)",
        ),
        CampaignFairnessMissing::RunNotFound => ApiError::not_found(
            "run_not_found",
            "no run with this id belongs to the campaign",
        ),
    }
}

/// Longest run id accepted in a query.
const RUN_ID_CHARS_MAX: usize = 64;

/// Fairness of a campaign run: selection rate per audit group, parity, equalized odds where
/// conversions are known, and the run's flag, hold and acknowledgement.
#[utoipa::path(get, path = "/v1/fairness/campaigns/{id}", tag = "fairness", security(("api_key" = [])),
    params(("id" = String, Path, description = "The campaign id"), CampaignFairnessQuery),
    responses((status = 200, body = CampaignFairnessBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn campaign_fairness_report(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<CampaignFairnessQuery>,
) -> ApiResult<Json<CampaignFairnessBody>> {
    super::segments::check_id("campaign", &id)?;
    let k_min = k_min(q.k_min)?;
    if let Some(run) = &q.run
        && (run.is_empty() || run.chars().count() > RUN_ID_CHARS_MAX)
    {
        return Err(ApiError::bad_request(
            "invalid_run",
            format!("a run id is 1 to {RUN_ID_CHARS_MAX} characters"),
        ));
    }
    let policy = state.policy.clone();
    let now = state.now();
    let report = state
        .blocking(move |store| campaign_fairness(store, &policy, &id, q.run.as_deref(), k_min, now))
        .await?
        .map_err(missing)?;
    Ok(Json(campaign_fairness_body(&report)))
}

/// One flag: a campaign run or a slot whose parity ratio is below 0.8.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagBody {
    /// `campaign` or `slot`.
    pub kind: &'static str,
    /// The campaign id or the slot name.
    pub id: String,
    /// The flagged run (campaigns only).
    pub run: Option<String>,
    pub parity_ratio: f64,
    /// When the run committed; for a slot, now (slots are measured on request).
    pub flagged_at: String,
    pub held: bool,
    pub acknowledged: Option<AcknowledgementBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagsBody {
    pub flags: Vec<FlagBody>,
}

/// Every fairness flag: stored campaign flags (newest first, at most 500), then each slot
/// shown in the period whose people-side report is flagged now.
#[utoipa::path(get, path = "/v1/fairness/flags", tag = "fairness", security(("api_key" = [])),
    params(FairnessQuery),
    responses((status = 200, body = FlagsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn fairness_flags(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<FairnessQuery>,
) -> ApiResult<Json<FlagsBody>> {
    let now = state.now();
    let (since, k_min) = q.resolve(now)?;
    let policy = state.policy.clone();
    let (campaigns, slots) = state
        .blocking(move |store| {
            Ok((
                store.fairness_flags(None, FLAGS_LEN_MAX)?,
                slot_group_reports(store, &policy, since, k_min)?,
            ))
        })
        .await?;
    let mut flags: Vec<FlagBody> = campaigns
        .into_iter()
        .map(|f| FlagBody {
            kind: "campaign",
            acknowledged: acknowledgement(f.acknowledged_at, f.acknowledgement_note.as_ref()),
            id: f.campaign_id,
            run: Some(f.run_id),
            parity_ratio: f.parity_ratio,
            flagged_at: f.flagged_at.to_rfc3339(),
            held: f.held,
        })
        .collect();
    for (slot, groups) in slots {
        candor_app::counters::note_slot_flag(&slot, groups.flagged());
        if let Some(ratio) = groups.parity_ratio_min().filter(|_| groups.flagged()) {
            flags.push(FlagBody {
                kind: "slot",
                id: slot,
                run: None,
                parity_ratio: ratio,
                flagged_at: now.to_rfc3339(),
                held: false,
                acknowledged: None,
            });
        }
    }
    Ok(Json(FlagsBody { flags }))
}

/// Longest acknowledgement note, in characters.
pub const ACKNOWLEDGEMENT_NOTE_CHARS_MAX: usize = 1_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    /// Why the flag is accepted (what was reviewed, what was decided); kept in the audit log.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgedBody {
    pub campaign: String,
    pub acknowledged: AcknowledgementBody,
    /// Flags acknowledged by this request (0 when all already were).
    pub n_flags: u64,
    /// Held deliveries released to the outbox by this request.
    pub n_released: u64,
}

/// Acknowledge a campaign's fairness flags: every unacknowledged flag is acknowledged with the
/// note, held deliveries are released to the outbox, and the acknowledgement is written to the
/// audit log. Repeating it changes nothing and returns the standing acknowledgement.
#[utoipa::path(post, path = "/v1/fairness/campaigns/{id}/acknowledge", tag = "fairness", security(("api_key" = [])),
    params(("id" = String, Path, description = "The campaign id")),
    request_body = AcknowledgeInput,
    responses((status = 200, body = AcknowledgedBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn acknowledge_campaign(
    State(state): State<AppState>,
    caller: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AcknowledgeInput>,
) -> ApiResult<Json<AcknowledgedBody>> {
    let note = input.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > ACKNOWLEDGEMENT_NOTE_CHARS_MAX {
        return Err(ApiError::bad_request(
            "invalid_note",
            format!(
                "say in 1 to {ACKNOWLEDGEMENT_NOTE_CHARS_MAX} characters what was reviewed and decided"
            ),
        ));
    }
    let record = super::campaigns::load_campaign(&state, id).await?;
    let now = state.now();
    let actor = caller.actor();
    let campaign = record.id.clone();
    let outcome = state
        .blocking(move |store| {
            let outcome = store.acknowledge_fairness_flags(&campaign, &note, now)?;
            if let Acknowledgement::Done {
                n_flags,
                n_released,
                ..
            } = &outcome
                && *n_flags > 0
            {
                let event = AuditEvent::new(
                    actor.clone(),
                    AuditAction::FairnessAcknowledged,
                    AuditTarget::Campaign(campaign.clone()),
                )
                .detail("flags", n_flags.to_string())
                .detail("released", n_released.to_string())
                .detail("note", note.clone());
                candor_app::audit::record(store, event, now)?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        Acknowledgement::NotFlagged => Err(ApiError::Conflict(
            "campaign_not_flagged",
            "the campaign has no fairness flag to acknowledge".to_owned(),
        )),
        Acknowledgement::Done {
            n_flags,
            n_released,
            at,
            note,
        } => {
            tracing::info!(key = %caller.key_id, n_flags, n_released, "fairness flags acknowledged");
            Ok(Json(AcknowledgedBody {
                campaign: record.id,
                acknowledged: AcknowledgementBody {
                    at: at.to_rfc3339(),
                    note,
                },
                n_flags,
                n_released,
            }))
        }
    }
}
