//! Segments: lint a rule as it is typed, save it, preview its size (k-suppressed, never a
//! member list), and explain to a subject which segments they are in and why.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_segments::kanon::{SuppressedCount, suppress};
use candor_segments::lint::{LintIssue, lint};
use candor_segments::rule::{self, Rule, Value};
use candor_segments::segment::{Segment, SegmentError};
use candor_store::SegmentRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use candor_app::campaigns;

/// Longest segment or campaign id, in bytes.
pub const RESOURCE_ID_BYTES_MAX: usize = 64;

pub(crate) fn check_id(what: &'static str, id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= RESOURCE_ID_BYTES_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            format!(
                "{what} ids are 1 to {RESOURCE_ID_BYTES_MAX} lowercase letters, digits, `_` or `-`"
            ),
        ))
    }
}

/// A rule to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LintRequest {
    /// The rule, e.g. `interest("Comedy") >= 0.3 and views(30d) >= 5`.
    pub rule: String,
    /// The purpose the segment serves.
    pub purpose: String,
}

/// One finding, with where it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Finding {
    /// Stable code: `syntax_error`, `unknown_feature`, `type_error`, `sensitive_category`,
    /// `protected_category`, `category_not_allowed`, `proxy_attribute`...
    pub code: &'static str,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LintResponse {
    /// Whether a segment with this rule may be created.
    pub ok: bool,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

fn finding(i: &LintIssue) -> Finding {
    Finding {
        code: i.code.as_str(),
        line: i.pos.line,
        column: i.pos.column,
        message: i.message.clone(),
    }
}

fn rule_finding(e: &rule::RuleError) -> Finding {
    Finding {
        code: e.kind.code(),
        line: e.pos.line,
        column: e.pos.column,
        message: e.message.clone(),
    }
}

/// Check a rule against the policy without saving it (for live editors).
#[utoipa::path(post, path = "/v1/segments/lint", tag = "segments", security(("api_key" = [])),
    request_body = LintRequest,
    responses((status = 200, body = LintResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn lint_segment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiJson(body): ApiJson<LintRequest>,
) -> ApiResult<Json<LintResponse>> {
    let rule = match Rule::parse(&body.rule) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Json(LintResponse {
                ok: false,
                errors: vec![rule_finding(&e)],
                warnings: vec![],
            }));
        }
    };
    let Ok(purpose) = candor_domain::PurposeId::parse(&body.purpose) else {
        return Err(ApiError::unprocessable(
            "unknown_purpose",
            format!("`{}` is not a purpose id", body.purpose),
        ));
    };
    let report = lint(rule.ast(), &purpose, &state.policy);
    Ok(Json(LintResponse {
        ok: report.is_ok(),
        errors: report.errors.iter().map(finding).collect(),
        warnings: report.warnings.iter().map(finding).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// Lowercase letters, digits, `_` and `-`.
    pub id: String,
    /// The name shown to people ("Runners").
    pub name: String,
    pub purpose: String,
    pub rule: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentBody {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub rule: String,
    pub created_at: String,
    /// Proxy warnings from the linter.
    pub warnings: Vec<Finding>,
}

fn segment_body(r: &SegmentRecord, state: &AppState) -> SegmentBody {
    let warnings = Segment::create(&r.name, &r.rule, &r.purpose, &state.policy)
        .map(|s| s.warnings().iter().map(finding).collect())
        .unwrap_or_default();
    SegmentBody {
        id: r.id.clone(),
        name: r.name.clone(),
        purpose: r.purpose.clone(),
        rule: r.rule.clone(),
        created_at: r.created_at.to_rfc3339(),
        warnings,
    }
}

pub(crate) fn segment_error(e: SegmentError) -> ApiError {
    match e {
        SegmentError::InvalidName => ApiError::unprocessable("invalid_segment_name", e.to_string()),
        SegmentError::InvalidPurpose(_) => {
            ApiError::unprocessable("unknown_purpose", e.to_string())
        }
        SegmentError::Rule(r) => ApiError::unprocessable(r.kind.code(), r.to_string()),
        SegmentError::Lint(report) => {
            let code = report
                .errors
                .first()
                .map_or("segment_refused", |i| i.code.as_str());
            ApiError::unprocessable(code, report.to_string().trim_end().to_owned())
        }
    }
}

/// Save a segment; refused with the position and reason of any error in its rule.
#[utoipa::path(post, path = "/v1/segments", tag = "segments", security(("api_key" = [])),
    request_body = SegmentInput,
    responses((status = 201, body = SegmentBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_segment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiJson(body): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<SegmentBody>)> {
    check_id("segment", &body.id)?;
    let segment = Segment::create(&body.name, &body.rule, &body.purpose, &state.policy)
        .map_err(segment_error)?;
    let record = SegmentRecord {
        id: body.id,
        name: segment.name().to_owned(),
        purpose: segment.purpose().to_string(),
        rule: segment.rule().source().to_owned(),
        created_at: state.now(),
    };
    let saved = record.clone();
    state
        .blocking(move |store| store.insert_segment(&saved))
        .await
        .map_err(|e| match e {
            ApiError::Conflict(..) => ApiError::Conflict(
                "segment_exists",
                format!(
                    "a segment `{}` already exists; segments cannot be changed",
                    record.id
                ),
            ),
            other => other,
        })?;
    Ok((StatusCode::CREATED, Json(segment_body(&record, &state))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub items: Vec<SegmentBody>,
}

/// Every segment.
#[utoipa::path(get, path = "/v1/segments", tag = "segments", security(("api_key" = [])),
    responses((status = 200, body = SegmentList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_segments(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<SegmentList>> {
    let all = state.blocking(|store| store.segments()).await?;
    Ok(Json(SegmentList {
        items: all.iter().map(|r| segment_body(r, &state)).collect(),
    }))
}

pub(crate) async fn load_segment(state: &AppState, id: String) -> ApiResult<SegmentRecord> {
    check_id("segment", &id)?;
    state
        .blocking(move |store| store.segment(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("segment_not_found", "no segment with this id"))
}

/// One segment.
#[utoipa::path(get, path = "/v1/segments/{id}", tag = "segments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The segment id")),
    responses((status = 200, body = SegmentBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_segment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SegmentBody>> {
    let record = load_segment(&state, id).await?;
    Ok(Json(segment_body(&record, &state)))
}

/// A count as shown to operators: a number at or above k, otherwise a phrase.
pub(crate) fn count_json(c: SuppressedCount) -> serde_json::Value {
    match c {
        SuppressedCount::Exact(n) => serde_json::Value::from(n),
        other => serde_json::Value::from(other.to_string()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewBody {
    pub segment: String,
    /// How many people are in the segment now: a number, or "fewer than k".
    #[schema(value_type = crate::routes::ShownCount)]
    pub size: serde_json::Value,
    /// Counts below this are not shown.
    pub k: u32,
}

/// How many people a segment holds now, suppressed below k. Never a member list.
#[utoipa::path(get, path = "/v1/segments/{id}/preview", tag = "segments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The segment id")),
    responses((status = 200, body = PreviewBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview_segment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PreviewBody>> {
    let record = load_segment(&state, id).await?;
    let segment = Segment::create(&record.name, &record.rule, &record.purpose, &state.policy)
        .map_err(segment_error)?;
    let st = state.clone();
    let now = state.now();
    let n = state
        .blocking(move |store| {
            let ctx = campaigns::ctx(&st, store, now);
            let catalog = ctx.catalog()?;
            let query = campaigns::audience_query(segment.rule(), now, now);
            let parts = campaigns::fold_audience(
                store,
                &query,
                || 0u64,
                |n, page| {
                    for row in page {
                        let data = ctx.subject_from_row(row, &catalog);
                        *n += u64::from(segment.matches(&data.view, now));
                    }
                    Ok(())
                },
            )?;
            Ok(parts.into_iter().sum::<u64>())
        })
        .await?;
    let k = state.policy.k_anonymity;
    Ok(Json(PreviewBody {
        segment: record.id,
        size: count_json(suppress(n, k)),
        k,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClauseValue {
    /// The feature call as written.
    pub feature: String,
    /// Its value for this person (null when unknown).
    pub value: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClauseBody {
    /// The clause as written in the rule.
    pub clause: String,
    pub holds: bool,
    /// Under a `not`: supports membership when it does not hold.
    pub negated: bool,
    pub values: Vec<ClauseValue>,
    /// The clause with its values, e.g. `views(30d) = 12 >= 5`.
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipBody {
    pub segment: String,
    pub name: String,
    pub purpose: String,
    /// "You are in 'Runners' because views(30d) = 12 >= 5."
    pub explanation: String,
    pub clauses: Vec<ClauseBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipList {
    pub segments: Vec<MembershipBody>,
}

fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Number(n) => serde_json::Value::from(*n),
        Value::Bool(b) => serde_json::Value::from(*b),
        Value::Text(s) => serde_json::Value::from(s.as_str()),
        Value::Unknown => serde_json::Value::Null,
    }
}

/// The segments a subject is in now, with the clause values that put them there.
#[utoipa::path(get, path = "/v1/subjects/{id}/segments", tag = "segments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person")),
    responses((status = 200, body = MembershipList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn subject_segments(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MembershipList>> {
    let key = state.subject_key(&id)?;
    Ok(Json(MembershipList {
        segments: memberships(&state, key).await?,
    }))
}

/// The segments a subject is in now, each with the clause values that put them there. Also
/// part of the subject's export.
pub async fn memberships(
    state: &AppState,
    key: candor_domain::SubjectKey,
) -> ApiResult<Vec<MembershipBody>> {
    let st = state.clone();
    let now = state.now();
    let (segments, data) = state
        .blocking(move |store| {
            let ctx = campaigns::ctx(&st, store, now);
            let catalog = ctx.catalog()?;
            Ok((store.segments()?, ctx.load_subject(&key, &catalog, now)?))
        })
        .await?;
    let mut out = Vec::new();
    for r in &segments {
        // A segment the current policy no longer allows selects nobody.
        let Ok(segment) = Segment::create(&r.name, &r.rule, &r.purpose, &state.policy) else {
            continue;
        };
        let explanation = segment.explain(&data.view, now);
        if !explanation.matched {
            continue;
        }
        out.push(MembershipBody {
            segment: r.id.clone(),
            name: r.name.clone(),
            purpose: r.purpose.clone(),
            explanation: explanation.sentence(segment.name()),
            clauses: explanation
                .clauses
                .iter()
                .map(|c| ClauseBody {
                    clause: c.source.clone(),
                    holds: c.holds,
                    negated: c.negated,
                    values: c
                        .values
                        .iter()
                        .map(|(f, v)| ClauseValue {
                            feature: f.clone(),
                            value: value_json(v),
                        })
                        .collect(),
                    text: c.to_string(),
                })
                .collect(),
        });
    }
    Ok(out)
}
