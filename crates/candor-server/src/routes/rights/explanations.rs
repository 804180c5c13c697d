//! "Why am I seeing this": the data and purposes behind a person's recommendations.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExplanationQuery {
    /// The catalog item shown to the person.
    pub item: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeUsedBody {
    pub purpose: String,
    pub title: String,
    pub legal_basis: &'static str,
    pub allowed: bool,
    /// Why the purpose is or is not allowed now.
    pub reason: String,
    /// The ledger record the permission rests on, when it rests on consent.
    pub consent_record: Option<ConsentRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DataUsedBody {
    /// Events that fed the interests used, by event type.
    pub events_by_type: BTreeMap<String, u64>,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplanationBody {
    pub item: ExplainedItem,
    /// Whether anything about the person may shape what they see of this item.
    pub personalized: bool,
    /// The reasons, as sentences.
    pub reasons: Vec<String>,
    /// The person's interests in the item's categories, as used.
    pub interests_used: Vec<InterestBody>,
    pub data_used: DataUsedBody,
    /// The personalization purposes and the consent each relied on.
    pub purposes: Vec<PurposeUsedBody>,
}

/// Why a person sees an item: the interests it matches, the data they came from, the purpose
/// and the consent record it relied on (subject token or admin key).
#[utoipa::path(get, path = "/v1/subjects/{id}/explanations", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), ExplanationQuery),
    responses((status = 200, body = ExplanationBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explanations(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<ExplanationQuery>,
) -> ApiResult<Json<ExplanationBody>> {
    let e = candor_app::rights::explain::explain(&state, access.key(), q.item).await?;
    Ok(Json(ExplanationBody {
        item: ExplainedItem {
            id: e.item.id,
            title: e.item.title,
            categories: e.item.categories,
        },
        personalized: e.personalized,
        reasons: e.reasons,
        interests_used: e
            .interests_used
            .into_iter()
            .map(|(category, share)| InterestBody { category, share })
            .collect(),
        data_used: DataUsedBody {
            events_by_type: e.events_by_type,
            first_at: e.first_at.map(Timestamp::to_rfc3339),
            last_at: e.last_at.map(Timestamp::to_rfc3339),
        },
        purposes: e
            .purposes
            .into_iter()
            .map(|p| PurposeUsedBody {
                purpose: p.purpose,
                title: p.title,
                legal_basis: p.legal_basis,
                allowed: p.allowed,
                reason: p.reason,
                consent_record: p.consent_record.map(record_body),
            })
            .collect(),
    }))
}
