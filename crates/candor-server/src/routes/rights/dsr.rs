//! The log of every request a person made, with its statutory deadline.

use super::*;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DsrQuery {
    /// `in_progress` or `completed`.
    #[param(pattern = "^(in_progress|completed)$")]
    pub status: Option<String>,
    /// Items per page (default 50, at most the server's `page_len_max`).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^c[+-]?[0-9]+$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DsrBody {
    pub id: i64,
    /// access, rectification, erasure, restriction, restriction_lifted or objection.
    pub kind: String,
    /// A keyed hash of the subject (the same for all of one person's requests); never an id.
    pub subject_ref: String,
    pub jurisdiction: String,
    pub received_at: String,
    /// The statutory deadline for answering.
    pub deadline_at: String,
    pub completed_at: Option<String>,
    pub status: String,
    /// Still open past its deadline.
    pub overdue: bool,
    /// What was done (for erasures, the signed receipt).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

fn dsr_body(r: DsrRequest, now: Timestamp) -> DsrBody {
    DsrBody {
        id: r.id,
        overdue: r.completed_at.is_none() && r.deadline_at.as_millis() < now.as_millis(),
        kind: r.kind,
        subject_ref: hex::encode(r.subject_ref),
        jurisdiction: r.jurisdiction,
        received_at: r.received_at.to_rfc3339(),
        deadline_at: r.deadline_at.to_rfc3339(),
        completed_at: r.completed_at.map(Timestamp::to_rfc3339),
        status: r.status,
        detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
    }
}

/// Data-subject requests, newest first, with their deadlines (admin key).
#[utoipa::path(get, path = "/v1/dsr", tag = "subject rights", security(("api_key" = [])),
    params(DsrQuery),
    responses((status = 200, body = PageBody<DsrBody>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_dsr(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiQuery(q): ApiQuery<DsrQuery>,
) -> ApiResult<Json<PageBody<DsrBody>>> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ (DSR_STATUS_IN_PROGRESS | DSR_STATUS_COMPLETED)) => Some(s.to_owned()),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("status `{other}` is not one of in_progress, completed"),
            ));
        }
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .to_request(&state)?;
    let page = state
        .blocking(move |store| store.dsr_requests(status.as_deref(), page))
        .await?;
    let now = state.now();
    Ok(Json(PageBody {
        items: page.items.into_iter().map(|r| dsr_body(r, now)).collect(),
        next_cursor: cursor(page.next),
    }))
}
