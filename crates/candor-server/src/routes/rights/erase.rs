//! Erasure and its signed receipt.

use super::*;

/// Erase everything held about a person and return a signed receipt. Consent records become a
/// consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
/// on. Erasing again once nothing is held returns the original receipt (200); a subject
/// Candor never held anything about is 404.
#[utoipa::path(delete, path = "/v1/subjects/{id}", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = SignedReceipt), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_subject(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<SignedReceipt>> {
    let subject = access.key();
    let request = new_request(
        &state,
        "erasure",
        &subject,
        q.jurisdiction.as_deref(),
        false,
        serde_json::json!({"by": access.actor()}),
    )?;
    let secret = state.secret.clone();
    let plan = erasure::plan(
        secret.as_bytes(),
        &subject,
        state.config.subject_rights.keep_consent_proof,
    );
    let now = state.now();
    let audit = candor_app::audit::AuditEvent::new(
        access.audit_actor(),
        candor_app::audit::AuditAction::Erasure,
        candor_app::audit::AuditTarget::Subject(subject),
    );
    let keep_until = now.plus_millis(candor_app::token_keys::token_lifetime_ms_max(
        &state.config.subject_rights,
    ));
    let reference = candor_app::subject_token::revocation_ref(state.secret.as_bytes(), &subject);
    let app = state.clone();
    let receipt = state
        .blocking(move |store| {
            // Every token issued for them so far dies with their data, first, so no request
            // racing the erasure can start with one.
            store.revoke_subject_tokens(&reference, now, keep_until)?;
            if store.subject_footprint(&subject)?.is_empty() {
                match store.latest_dsr(&request.subject_ref, "erasure")? {
                    None => return Ok(None),
                    Some(done) if done.status == DSR_STATUS_COMPLETED => {
                        // Purge again: a first answer that failed at the purge is retried here.
                        store.purge_deleted()?;
                        return Ok(serde_json::from_str::<SignedReceipt>(&done.detail).ok());
                    }
                    // Begun and interrupted: finish it below.
                    Some(_) => {}
                }
            }
            let receipt = candor_app::recommend::erasing(&app, subject, || {
                erasure::erase(store, secret.as_bytes(), &subject, &plan, &request, now)
            })?;
            // The log keeps that an erasure happened, under a digest, never what was erased.
            candor_app::audit::record(store, audit, now)?;
            Ok(Some(receipt))
        })
        .await?
        .ok_or_else(subject_not_found)?;
    tracing::info!(request_id = receipt.receipt.request_id, "subject erased");
    // Their interactions trained the shared models; every instance rebuilds without them.
    candor_app::recommend::invalidate(&state).await;
    Ok(Json(receipt))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptCheckBody {
    /// Whether this server signed the receipt, unchanged.
    pub valid: bool,
}

/// Check an erasure receipt's signature (any API key).
#[utoipa::path(post, path = "/v1/dsr/receipts/verify", tag = "subject rights", security(("api_key" = [])),
    request_body = SignedReceipt,
    responses((status = 200, body = ReceiptCheckBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn verify_receipt(
    State(state): State<AppState>,
    _: Allowed<act::VerifyReceipt>,
    ApiJson(body): ApiJson<SignedReceipt>,
) -> ApiResult<Json<ReceiptCheckBody>> {
    Ok(Json(ReceiptCheckBody {
        valid: erasure::verify(state.secret.as_bytes(), &body),
    }))
}
