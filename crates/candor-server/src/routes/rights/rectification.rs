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
    let subject = access.key();
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty_update",
            "send at least one contact field to correct",
        ));
    }
    for (field, value) in &body {
        if value.trim().is_empty()
            || value.len() > CONTACT_VALUE_BYTES_MAX
            || value.chars().any(char::is_control)
        {
            return Err(ApiError::bad_request(
                "invalid_contact_value",
                format!(
                    "`{field}` must be 1 to {CONTACT_VALUE_BYTES_MAX} bytes of text without control characters"
                ),
            ));
        }
        if field == "email" && !value.contains('@') {
            return Err(ApiError::bad_request(
                "invalid_contact_value",
                "`email` must be an email address",
            ));
        }
    }
    let fields: Vec<String> = body.keys().cloned().collect();
    let request = new_request(
        &state,
        "rectification",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "contact_fields": fields}),
    )?;
    let now = state.now();
    let contact = state
        .blocking(move |store| {
            let held = store.contact(&subject)?;
            if let Some(f) = body.keys().find(|f| !held.iter().any(|(h, _)| h == *f)) {
                return Ok(Err(f.clone()));
            }
            let key = DataKey::from_bytes(store.data_key(&subject, random_key(), now)?);
            for (field, value) in &body {
                let mut nonce = [0u8; crypto::NONCE_LEN];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
                let sealed = crypto::seal(
                    &key,
                    nonce,
                    &contact_context(&subject, field),
                    value.as_bytes(),
                );
                store.put_contact(&subject, field, &sealed)?;
            }
            store.insert_dsr(&request)?;
            Ok(Ok(gather(store, &subject, now)?.map(|h| h.contact)))
        })
        .await?
        .map_err(|field| {
            ApiError::unprocessable(
                "contact_field_not_held",
                format!(
                    "Candor holds no `{field}` for this subject, so there is nothing to correct"
                ),
            )
        })?
        .ok_or_else(subject_not_found)?;
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
    let subject = access.key();
    if category.is_empty()
        || category.len() > CATEGORY_BYTES_MAX
        || category.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "invalid_category",
            format!("a category is 1 to {CATEGORY_BYTES_MAX} bytes without control characters"),
        ));
    }
    let request = new_request(
        &state,
        "rectification",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "interest_removed": category}),
    )?;
    let now = state.now();
    let c = category.clone();
    let muted_max = state.config.limits.muted_categories_max;
    let (removed, muted) = state
        .blocking(move |store| {
            if store.subject_footprint(&subject)?.is_empty() {
                return Ok(None);
            }
            let muted = store.muted_interests(&subject)?;
            if !muted.contains(&c) && muted.len() >= muted_max {
                return Ok(Some(Err(ApiError::unprocessable(
                    "preferences_full",
                    format!("a person may mute at most {muted_max} interests"),
                ))));
            }
            let removed = store.mute_interest(&subject, &c, now)?;
            store.insert_dsr(&request)?;
            Ok(Some(Ok((removed, store.muted_interests(&subject)?))))
        })
        .await?
        .ok_or_else(subject_not_found)??;
    Ok(Json(InterestRemovedBody {
        category,
        removed,
        muted_interests: muted,
    }))
}
