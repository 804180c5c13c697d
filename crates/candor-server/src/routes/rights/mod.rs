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
use candor_domain::consent;
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use candor_store::{DSR_STATUS_COMPLETED, DsrRequest, NewDsrRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::consent::{ConsentRecordBody, ConsentStateBody, record_body, state_body};
use super::{PageBody, PageQuery, cursor};
use crate::auth::{Access, Allowed, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::erasure::{self, SignedReceipt};
use candor_app::rights::export::Held;

pub use candor_app::rights::rectify::{CATEGORY_CHARS_MAX, CONTACT_VALUE_BYTES_MAX};

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

/// A request to log, received now; `completed` for those answered at once.
fn new_request(
    state: &AppState,
    kind: &str,
    subject: &SubjectKey,
    jurisdiction: Option<&str>,
    completed: bool,
    detail: serde_json::Value,
) -> ApiResult<NewDsrRequest> {
    Ok(candor_app::rights::request(
        state,
        kind,
        subject,
        jurisdiction,
        completed,
        detail,
    )?)
}

fn subject_not_found() -> ApiError {
    candor_app::rights::subject_not_found().into()
}
