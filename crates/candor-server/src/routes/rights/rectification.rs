//! Rectification: correcting contact data, removing (and muting) an interest.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBody {
    /// The contact data now held, decrypted.
    pub contact: BTreeMap<String, String>,
}

/// Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
/// holds can be corrected, and each is sealed with the subject's data key as on ingestion.
#[utoipa::path(put, path = "/v1/subjects/{id}/contact", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), RequestQuery),
    request_body(content = Object, description = "Field name to corrected value"),
    responses((status = 200, body = ContactBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_contact(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<RequestQuery>,
    ApiJson(body): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<Json<ContactBody>> {
    let contact = candor_app::rights::rectify::correct_contact(
        &state,
        access.key(),
        access.actor(),
        q.jurisdiction.as_deref(),
        body,
    )
    .await?;
    Ok(Json(ContactBody { contact }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestRemovedBody {
    pub category: String,
    /// Whether the profile held the interest.
    pub removed: bool,
    /// Every interest the person asked Candor to forget.
    pub muted_interests: Vec<String>,
}

/// Remove an inferred interest and keep it out of the profile from now on.
#[utoipa::path(delete, path = "/v1/subjects/{id}/interests/{category}", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"),
        ("category" = String, Path, description = "A catalog category from the export's `inferred.interests`"),
        RequestQuery),
    responses((status = 200, body = InterestRemovedBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_interest(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiPath((_id, category)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<InterestRemovedBody>> {
    let done = candor_app::rights::rectify::remove_interest(
        &state,
        access.key(),
        access.actor(),
        q.jurisdiction.as_deref(),
        category.clone(),
    )
    .await?;
    Ok(Json(InterestRemovedBody {
        category,
        removed: done.removed,
        muted_interests: done.muted,
    }))
}
