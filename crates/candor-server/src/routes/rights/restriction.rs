//! Restriction of processing and objection to marketing.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictionBody {
    pub restricted: bool,
    pub since: Option<String>,
}

async fn set_restriction(
    state: AppState,
    access: Access<act::Privacy>,
    q: RequestQuery,
    restrict: bool,
) -> ApiResult<Json<RestrictionBody>> {
    let subject = access.key();
    let request = new_request(
        &state,
        if restrict {
            "restriction"
        } else {
            "restriction_lifted"
        },
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor()}),
    )?;
    let now = state.now();
    let since = state
        .blocking(move |store| {
            store.set_restriction(&subject, restrict.then_some(now))?;
            store.insert_dsr(&request)?;
            store.restriction(&subject)
        })
        .await?;
    Ok(Json(RestrictionBody {
        restricted: since.is_some(),
        since: since.map(Timestamp::to_rfc3339),
    }))
}

/// Restrict processing (GDPR Art. 18): data is kept, new events are dropped with reason
/// `restricted`, and nothing is personalized until the restriction is lifted.
#[utoipa::path(post, path = "/v1/subjects/{id}/restriction", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = RestrictionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_restriction(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<RestrictionBody>> {
    set_restriction(state, access, q, true).await
}

/// Lift a restriction.
#[utoipa::path(delete, path = "/v1/subjects/{id}/restriction", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = RestrictionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete_restriction(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<RestrictionBody>> {
    set_restriction(state, access, q, false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionBody {
    /// The marketing purposes withdrawn by this objection.
    pub withdrawn: Vec<String>,
    pub consents: ConsentStateBody,
}

/// Whether a purpose is marketing: messages on a channel, targeted advertising, or sale and
/// sharing of personal data.
pub fn is_marketing(p: &candor_domain::policy::Purpose) -> bool {
    p.channel.is_some() || p.targeted_advertising || p.sale_or_sharing
}

/// Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
/// withdrawn, recorded in the ledger with source `subject`.
#[utoipa::path(post, path = "/v1/subjects/{id}/objection", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    responses((status = 200, body = ObjectionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_objection(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<ObjectionBody>> {
    let subject = access.key();
    let now = state.now();
    let policy = state.policy.clone();
    let records: Vec<ConsentRecord> = policy
        .purposes
        .iter()
        .filter(|p| is_marketing(p))
        .map(|p| ConsentRecord {
            purpose: p.id.clone(),
            decision: Decision::Withdrawn,
            purpose_version: p.version.clone(),
            policy_version: policy.version.clone(),
            source: Source::Subject,
            bulk: true,
            evidence: serde_json::json!({"request": "objection", "by": access.actor()}).to_string(),
            at: now,
        })
        .collect();
    let withdrawn: Vec<String> = records.iter().map(|r| r.purpose.to_string()).collect();
    let request = new_request(
        &state,
        "objection",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "withdrawn": withdrawn}),
    )?;
    let (all, facts) = state
        .blocking(move |store| {
            store.append_consents(&subject, &SubjectFacts::default(), &records, now)?;
            store.insert_dsr(&request)?;
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            Ok((store.consent_records(&subject)?, facts))
        })
        .await?;
    let derived = consent::derive(&state.policy, &facts, &all);
    Ok(Json(ObjectionBody {
        withdrawn,
        consents: state_body(&state.policy, &derived),
    }))
}
