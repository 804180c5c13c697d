//! Consent signals from consent-management platforms and browsers: TC strings, GPP strings,
//! US Privacy strings, Consent Mode states and Global Privacy Control. Each is decoded by
//! `candor-signals`, reduced to the domain's neutral [`SignalDecisions`], mapped onto the
//! policy's purposes by the domain, and appended to the ledger as bulk platform records.
//!
//! The same decoding serves `POST /v1/subjects/{id}/consent-signals` and the signals an event
//! carries in `context.consent` (see `ingest`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use candor_app::signals::{Decoded, parse_signals, records, signal_message};
use candor_domain::consent::{self, SubjectFacts};
use candor_domain::policy::Policy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::consent::{ConsentStateBody, has_gpc, state_body};
use crate::auth::{Access, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Consent signals as a page or a consent-management platform holds them. Send any of them,
/// at least one (a `Sec-GPC: 1` header counts as one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalsInput {
    /// An IAB TCF v2.2 TC string.
    pub tcf: Option<String>,
    /// An IAB GPP string; its TCF EU v2, US National and US Privacy sections are read.
    pub gpp: Option<String>,
    /// A US Privacy (`uspv1`) string such as `1YNN`.
    pub usp: Option<String>,
    /// Google Consent Mode v2 states: `ad_storage`, `analytics_storage`, `ad_user_data`,
    /// `ad_personalization`, each `granted` or `denied`.
    pub consent_mode: Option<BTreeMap<String, String>>,
    /// The browser's Global Privacy Control (`navigator.globalPrivacyControl`).
    pub gpc: Option<bool>,
}

impl SignalsInput {
    fn is_empty(&self) -> bool {
        self.tcf.is_none()
            && self.gpp.is_none()
            && self.usp.is_none()
            && self.consent_mode.is_none()
            && self.gpc.is_none()
    }
}

/// What one signal set.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalEffectBody {
    /// `tcf`, `gpp`, `usp`, `consent_mode` or `gpc`.
    pub signal: &'static str,
    /// Purposes the signal grants (a grant never lifts a Global Privacy Control opt-out).
    pub granted: Vec<String>,
    /// Purposes the signal denies.
    pub denied: Vec<String>,
}

/// The consent state after the signals were recorded, and what each signal set.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalsResponse {
    #[serde(flatten)]
    pub state: ConsentStateBody,
    pub signals: Vec<SignalEffectBody>,
}

fn effects_body(policy: &Policy, decoded: &Decoded) -> Vec<SignalEffectBody> {
    let names = |ids: Vec<candor_domain::ids::PurposeId>| -> Vec<String> {
        ids.iter().map(ToString::to_string).collect()
    };
    let mut out = Vec::new();
    if decoded.gpc.is_some() {
        out.push(SignalEffectBody {
            signal: "gpc",
            granted: Vec::new(),
            denied: policy
                .purposes
                .iter()
                .filter(|p| p.honours_gpc())
                .map(|p| p.id.to_string())
                .collect(),
        });
    }
    for (field, signal) in &decoded.signals {
        let effects = consent::signal_effects(policy, signal);
        out.push(SignalEffectBody {
            signal: field,
            granted: names(effects.granted),
            denied: names(effects.denied),
        });
    }
    out
}

/// Record consent signals for a subject (`Sec-GPC: 1` honoured). Signals are blanket states,
/// so their grants never lift a Global Privacy Control opt-out; a signal already recorded is
/// not recorded again.
#[utoipa::path(post, path = "/v1/subjects/{id}/consent-signals", tag = "consent", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person; pseudonymized on arrival")),
    request_body = SignalsInput,
    responses((status = 200, body = SignalsResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_consent_signals(
    State(state): State<AppState>,
    access: Access<act::ConsentSignals>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignalsInput>,
) -> ApiResult<Json<SignalsResponse>> {
    let subject = access.key();
    let now = state.now();
    let header_gpc = has_gpc(&headers);
    if body.is_empty() && !header_gpc {
        return Err(ApiError::bad_request(
            "empty_update",
            "send at least one of tcf, gpp, usp, consent_mode, gpc",
        ));
    }
    let mut parsed = parse_signals(
        body.tcf.as_deref(),
        body.gpp.as_deref(),
        body.usp.as_deref(),
        body.consent_mode.as_ref(),
        body.gpc == Some(true),
    )
    .map_err(|(field, e)| ApiError::bad_request("invalid_signal", signal_message(field, &e)))?;
    if header_gpc {
        parsed.gpc = Some(r#"{"header":"Sec-GPC: 1"}"#.to_owned());
    }
    let decoded = parsed.decisions(&state.policy);
    let effects = effects_body(&state.policy, &decoded);
    let policy = state.policy.clone();
    let actor = access.audit_actor();
    let quota = state.config.limits.consent_records_per_subject_per_day_max;
    let (records, facts) = state
        .blocking(move |store| {
            let mut existing = store.consent_records(&subject)?;
            let batch = records(&policy, &existing, &decoded, now);
            if let Err(refused) =
                crate::routes::consent::within_daily_quota(&existing, batch.len(), quota, now)
            {
                return Ok(Err(refused));
            }
            if !batch.is_empty() {
                // One append, so the signals of a request are recorded together or not at all.
                store.append_consents(&subject, &SubjectFacts::default(), &batch, now)?;
                candor_app::audit::record_consents(store, &actor, &subject, &batch, now)?;
            }
            existing.extend(batch);
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            Ok(Ok((existing, facts)))
        })
        .await?
        .map_err(crate::routes::consent::Refused::into_error)?;
    tracing::info!(key = %access.label(), signals = effects.len(), "consent signals recorded");
    let derived = consent::derive(&state.policy, &facts, &records);
    Ok(Json(SignalsResponse {
        state: state_body(&state.policy, &derived),
        signals: effects,
    }))
}
