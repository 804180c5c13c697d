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
    let since = candor_app::rights::restrict::set(
        &state,
        access.key(),
        restrict,
        access.actor(),
        q.jurisdiction.as_deref(),
    )
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
    let objection = candor_app::rights::restrict::object(
        &state,
        access.key(),
        access.actor(),
        q.jurisdiction.as_deref(),
    )
    .await?;
    Ok(Json(ObjectionBody {
        consents: state_body(&state.policy, &objection.state),
        withdrawn: objection.withdrawn,
    }))
}
