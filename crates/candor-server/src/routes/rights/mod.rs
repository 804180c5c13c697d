//! Data-subject rights over HTTP: access and portability (export), rectification, erasure,
//! restriction, objection, the request log and "why am I seeing this".
//!
//! Every `/v1/subjects/{id}/...` route here asks [`Credential::for_subject`] for leave to act
//! (`Act::Privacy`): an admin key, or the person's own session token with the `privacy`
//! scope. Each request a person makes is recorded in the request log with its jurisdiction's
//! statutory deadline.

mod dsr;
mod erase;
mod explanations;
mod export;
mod rectification;
mod restriction;

pub use dsr::*;
pub use erase::*;
pub use explanations::*;
pub use export::*;
pub use rectification::*;
pub use restriction::*;

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, Decision, Reason, Source, SubjectFacts};
use candor_domain::crypto::{self, DataKey};
use candor_domain::profile::Profile;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{
    DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrRequest, NewDsrRequest, StoredEvent,
    SubjectRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::consent::{ConsentRecordBody, ConsentStateBody, record_body, state_body};
use super::{PageBody, PageQuery, cursor};
use crate::auth::{Access, Allowed, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::erasure::{self, SignedReceipt};
use candor_app::ingest::contact_context;

/// Longest contact value accepted on rectification, in bytes.
pub const CONTACT_VALUE_BYTES_MAX: usize = 320;
/// Longest interest category name accepted, in bytes.
pub const CATEGORY_BYTES_MAX: usize = 128;
/// Most distinct items looked up to explain one recommendation.
const EXPLAIN_ITEMS_MAX: usize = 500;

// --- The request log. ---

/// `?jurisdiction=` on every request a person makes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// The law the request is made under (`gdpr`, `ccpa`, or any configured in
    /// `[subject_rights] deadline_days`); the configured default when absent.
    pub jurisdiction: Option<String>,
}

fn jurisdiction_days(state: &AppState, asked: Option<&str>) -> ApiResult<(String, u32)> {
    let rights = &state.config.subject_rights;
    let name = asked.unwrap_or(&rights.default_jurisdiction);
    match rights.deadline_days.get(name) {
        Some(days) => Ok((name.to_owned(), *days)),
        None => Err(ApiError::bad_request(
            "unknown_jurisdiction",
            format!(
                "jurisdiction `{name}` is not one of {}",
                rights
                    .deadline_days
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A request to log, received now; `completed` for those answered at once.
fn new_request(
    state: &AppState,
    kind: &str,
    subject: &SubjectKey,
    jurisdiction: Option<&str>,
    completed: bool,
    detail: serde_json::Value,
) -> ApiResult<NewDsrRequest> {
    let (jurisdiction, days) = jurisdiction_days(state, jurisdiction)?;
    let now = state.now();
    Ok(NewDsrRequest {
        kind: kind.to_owned(),
        subject_ref: erasure::subject_ref(state.secret.as_bytes(), subject),
        jurisdiction,
        received_at: now,
        deadline_at: now.plus_millis(i64::from(days) * DAY_MS),
        completed_at: completed.then_some(now),
        detail: detail.to_string(),
    })
}

fn subject_not_found() -> ApiError {
    ApiError::not_found(
        "subject_not_found",
        "Candor holds no data about this subject",
    )
}
