//! The audit log over HTTP: pages of entries, the head to anchor elsewhere and a check of the
//! whole chain (admin only), and the query every operator read of personal data carries.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use candor_accountability::audit::{AuditEntry, GENESIS_PREV_HASH};
use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageBody, PageQuery, cursor};
use crate::auth::{Caller, Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use candor_app::audit::{AuditAction, AuditEvent, AuditTarget, check_chain};

/// `?limit=&cursor=&purpose=` on operator reads of a subject's personal data.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OperatorReadQuery {
    /// Items per page (default 50, at most the server's `page_len_max`).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^c[+-]?[0-9]+$")]
    pub cursor: Option<String>,
    /// Why the data is read (snake_case, such as `support_request` or `access_request`);
    /// recorded in the audit log with the reader's key.
    #[param(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")]
    pub purpose: Option<String>,
}

impl OperatorReadQuery {
    pub fn page(&self) -> PageQuery {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }

    /// The audit event for this read of `what` about `subject`, refusing a malformed purpose.
    pub fn audited_read(
        &self,
        caller: &Caller,
        subject: SubjectKey,
        what: &str,
    ) -> ApiResult<AuditEvent> {
        let mut event = AuditEvent::new(
            caller.actor(),
            AuditAction::PersonalDataRead,
            AuditTarget::Subject(subject),
        )
        .detail("what", what);
        if let Some(p) = &self.purpose {
            let ok = !p.is_empty()
                && p.len() <= 64
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(ApiError::bad_request(
                    "invalid_access_purpose",
                    "purpose must be 1 to 64 characters of a-z, 0-9 and _, such as support_request",
                ));
            }
            event = event.purpose(p.clone());
        }
        Ok(event)
    }
}

/// One entry of the audit chain, with everything needed to recompute its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryBody {
    pub seq: u64,
    pub at: String,
    /// Unix milliseconds, as hashed.
    pub at_ms: i64,
    /// `api_key:<id>`, `subject`, `system` or `cli`.
    pub actor: String,
    /// A stable code such as `consent_changed` or `personal_data_read`.
    pub action: String,
    /// A pseudonymous reference such as `subject:<subject key hex>` or `policy`.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    pub details: BTreeMap<String, String>,
    pub prev_hash: String,
    pub hash: String,
}

pub(crate) fn entry_body(e: AuditEntry) -> AuditEntryBody {
    AuditEntryBody {
        seq: e.seq,
        at: Timestamp::from_millis(e.at_ms).to_rfc3339(),
        at_ms: e.at_ms,
        actor: e.actor.to_string(),
        action: e.action.code().to_owned(),
        target: e.target.as_str().to_owned(),
        purpose: e.purpose.as_ref().map(|p| p.as_str().to_owned()),
        details: e
            .details
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        prev_hash: hex::encode(e.prev_hash),
        hash: e.hash_hex(),
    }
}

/// The audit chain, oldest first.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", security(("api_key" = [])), params(PageQuery),
    responses((status = 200, body = PageBody<AuditEntryBody>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageBody<AuditEntryBody>>> {
    let page = q.to_request(&state)?;
    let page = state
        .blocking(move |store| store.audit_entries(page))
        .await?;
    Ok(Json(PageBody {
        items: page.items.into_iter().map(entry_body).collect(),
        next_cursor: cursor(page.next),
    }))
}

/// The head of the audit chain, to publish elsewhere and check against later.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditHeadBody {
    /// Sequence number of the last entry; 0 when the log is empty.
    pub seq: u64,
    /// Hash of the last entry (hex); 64 zeros when the log is empty.
    pub hash: String,
    /// When the last entry was written; absent when the log is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The current head of the audit chain (sequence number and hash), for anchoring.
#[utoipa::path(get, path = "/v1/audit/head", tag = "audit", security(("api_key" = [])),
    responses((status = 200, body = AuditHeadBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_head(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<AuditHeadBody>> {
    let head = state.blocking(|store| store.audit_head()).await?;
    Ok(Json(match head {
        Some(e) => AuditHeadBody {
            seq: e.seq,
            hash: e.hash_hex(),
            at: Some(Timestamp::from_millis(e.at_ms).to_rfc3339()),
        },
        None => AuditHeadBody {
            seq: 0,
            hash: hex::encode(GENESIS_PREV_HASH),
            at: None,
        },
    }))
}

/// The first entry that does not verify.
#[derive(Debug, Serialize, ToSchema)]
pub struct FirstBadBody {
    pub seq: u64,
    /// What is wrong: `hash mismatch`, `broken link`, `sequence gap (expected 3)`, or that the
    /// row cannot be read back at all.
    pub reason: String,
}

/// The verdict on the whole audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyBody {
    /// Every entry hashes, links to the one before and is numbered in order.
    pub ok: bool,
    /// Entries read (all of them, unless a row could not be read back).
    pub entries: u64,
    /// Hash of the last entry read (hex); 64 zeros when the log is empty.
    pub head: String,
    /// The first bad entry; null when the chain verifies.
    pub first_bad: Option<FirstBadBody>,
}

/// Verify the whole audit chain now, as `candor audit verify` does. Nothing is repaired.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit", security(("api_key" = [])),
    responses((status = 200, body = AuditVerifyBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<AuditVerifyBody>> {
    let report = state.blocking(|store| check_chain(store, None)).await?;
    if let Some((seq, reason)) = report.first_bad() {
        // Worth an operator's attention even if nobody is looking at the console.
        tracing::warn!(seq, %reason, "the audit chain does not verify");
    }
    Ok(Json(AuditVerifyBody {
        ok: report.first_bad().is_none(),
        entries: report.entries_read,
        head: hex::encode(report.last_hash),
        first_bad: report
            .first_bad()
            .map(|(seq, reason)| FirstBadBody { seq, reason }),
    }))
}
