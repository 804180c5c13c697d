//! Experiments: create (validated against the policy and the experiments already stored),
//! list, get, stop, and the report — aggregates only, k-suppressed, as JSON, Markdown or SVG.
//! Every route needs a server key with the admin scope.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use candor_experiments::{Experiment, render};
use candor_store::ExperimentRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Server, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::segments::check_id;
use crate::state::AppState;
use candor_app::experiments::{self as use_case, CreateError};

/// An experiment as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentBody {
    pub id: String,
    /// `active` (assigns people between its start and stop) or `stopped`.
    pub status: String,
    /// The policy version the definition was validated against.
    pub policy_version: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// The definition: target, variants with their allocations and settings, holdout share,
    /// start and stop, primary metric and guardrails.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

fn experiment_body(record: &ExperimentRecord) -> ApiResult<ExperimentBody> {
    let definition = serde_json::from_str(&record.definition)
        .map_err(|e| ApiError::Internal(format!("stored experiment unreadable: {e}")))?;
    Ok(ExperimentBody {
        id: record.id.clone(),
        status: record.status.as_str().to_owned(),
        policy_version: record.policy_version.clone(),
        created_at: record.created_at.to_rfc3339(),
        stopped_at: record.stopped_at.map(|t| t.to_rfc3339()),
        definition,
    })
}

/// An experiment a recommendation list was shown under.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServedBody {
    /// The experiment's id.
    pub id: String,
    /// The person's arm (`holdout` for the global holdout).
    pub arm: String,
    /// Send it as the `list_id` property of a click on one of the list's items, so the click
    /// is attributed to this list.
    pub list_id: String,
}

impl ServedBody {
    /// One body per experiment the list was shown under, each with the list's id.
    pub fn all(shown: &use_case::Shown) -> Vec<ServedBody> {
        shown
            .experiments
            .iter()
            .map(|(id, arm)| ServedBody {
                id: id.clone(),
                arm: arm.clone(),
                list_id: shown.list_id.clone(),
            })
            .collect()
    }
}

/// One experiment a person is in, as the person sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentBody {
    /// The experiment's id.
    pub experiment: String,
    /// Its name.
    pub name: String,
    /// The person's arm: a variant's name, or `holdout`.
    pub arm: String,
    pub assigned_at: String,
    /// How many lists (or campaign messages) were shown to the person under this experiment.
    pub n_lists_shown: u64,
    /// The same as a sentence.
    pub text: String,
}

impl From<use_case::PersonAssignment> for AssignmentBody {
    fn from(a: use_case::PersonAssignment) -> AssignmentBody {
        let text = match a.arm.as_str() {
            candor_experiments::HOLDOUT_ARM => format!(
                "You are in test \"{}\", in the holdout group, which sees no personalization",
                a.name
            ),
            arm => format!("You are in test \"{}\", variant {arm}", a.name),
        };
        AssignmentBody {
            experiment: a.experiment_id,
            name: a.name,
            arm: a.arm,
            assigned_at: a.assigned_at.to_rfc3339(),
            n_lists_shown: a.n_lists_shown,
            text,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentList {
    pub items: Vec<ExperimentBody>,
}

/// The definition as sent: the server fills in the policy version it validates against, and
/// the salt (the id) when none is given.
fn parse_definition(mut body: serde_json::Value, policy_version: &str) -> ApiResult<Experiment> {
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::unprocessable(
            "invalid_experiment",
            "the experiment must be a JSON object",
        ));
    };
    if let Some(id) = object.get("id").and_then(|v| v.as_str()) {
        check_id("experiment", id)?;
        let id = serde_json::Value::from(id);
        object.entry("salt").or_insert(id);
    }
    object.insert("policy_version".into(), policy_version.into());
    crate::strict::deserialize(body).map_err(|e| {
        ApiError::unprocessable(
            "invalid_experiment",
            format!("the experiment definition does not read: {e}"),
        )
    })
}

fn create_error(e: CreateError, id: &str) -> ApiError {
    match e {
        CreateError::Invalid(problems) => {
            let code = problems.first().map_or("invalid_experiment", |p| p.code);
            let message = problems
                .iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect::<Vec<_>>()
                .join("; ");
            ApiError::unprocessable(code, message)
        }
        CreateError::Taken => ApiError::Conflict(
            "experiment_exists",
            format!("an experiment `{id}` already exists; choose another id"),
        ),
        CreateError::Store(e) => e.into(),
    }
}

/// Create an experiment; refused with every problem of its definition, each with a stable
/// code (`experiment_allocation_sum`, `experiment_overlap`,
/// `experiment_metric_event_undeclared`...).
#[utoipa::path(post, path = "/v1/experiments", tag = "experiments", security(("api_key" = [])),
    request_body(content = Object, description = "The experiment definition"),
    responses((status = 201, body = ExperimentBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_experiment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<ExperimentBody>)> {
    let experiment = parse_definition(body, &state.policy.version.to_string())?;
    let id = experiment.id.clone();
    let policy = std::sync::Arc::clone(&state.policy);
    let now = state.now();
    let created = state
        .blocking(move |store| Ok(use_case::create(store, &policy, experiment, now)))
        .await?
        .map_err(|e| create_error(e, &id))?;
    state.experiments.invalidate();
    Ok((StatusCode::CREATED, Json(experiment_body(&created)?)))
}

/// Every experiment, oldest first.
#[utoipa::path(get, path = "/v1/experiments", tag = "experiments", security(("api_key" = [])),
    responses((status = 200, body = ExperimentList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_experiments(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
) -> ApiResult<Json<ExperimentList>> {
    let all = state.blocking(|store| store.experiments()).await?;
    Ok(Json(ExperimentList {
        items: all.iter().map(experiment_body).collect::<ApiResult<_>>()?,
    }))
}

fn not_found() -> ApiError {
    ApiError::not_found("experiment_not_found", "no experiment with this id")
}

async fn load(state: &AppState, id: String) -> ApiResult<ExperimentRecord> {
    check_id("experiment", &id)?;
    state
        .blocking(move |store| store.experiment(&id))
        .await?
        .ok_or_else(not_found)
}

/// One experiment.
#[utoipa::path(get, path = "/v1/experiments/{id}", tag = "experiments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The experiment id")),
    responses((status = 200, body = ExperimentBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_experiment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ExperimentBody>> {
    Ok(Json(experiment_body(&load(&state, id).await?)?))
}

/// Stop an experiment now: nobody is assigned from then on; its data stays for the report.
/// Stopping a stopped experiment changes nothing.
#[utoipa::path(post, path = "/v1/experiments/{id}/stop", tag = "experiments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The experiment id")),
    responses((status = 200, body = ExperimentBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop_experiment(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ExperimentBody>> {
    check_id("experiment", &id)?;
    let now = state.now();
    let stopped = state
        .blocking(move |store| use_case::stop(store, &id, now))
        .await
        .map_err(|e| match e {
            ApiError::NotFound(..) => not_found(),
            other => other,
        })?;
    state.experiments.invalidate();
    Ok(Json(experiment_body(&stopped)?))
}

/// `?format=`
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default), `markdown` or `svg`.
    #[param(pattern = "^(json|markdown|svg)$")]
    pub format: Option<String>,
}

/// An experiment's results now: per metric and arm the people measured and their mean, each
/// variant's effect against the control with its fixed-horizon and always-valid intervals and
/// adjusted p-values, the sample-ratio check and the guardrails' verdicts. Aggregates only:
/// an arm with fewer than k people shows "fewer than k" and no mean or comparison.
#[utoipa::path(get, path = "/v1/experiments/{id}/report", tag = "experiments", security(("api_key" = [])),
    params(("id" = String, Path, description = "The experiment id"), ReportQuery),
    responses((status = 200, description = "The report as JSON, Markdown or SVG", content(
            (Object = "application/json"), (String = "text/markdown"), (String = "image/svg+xml"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn experiment_report(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or_else(|| "json".to_owned());
    let (render, content_type): (fn(&candor_experiments::Report) -> String, &str) =
        match format.as_str() {
            "json" => (render::json, "application/json"),
            "markdown" => (render::markdown, "text/markdown; charset=utf-8"),
            "svg" => (render::svg, "image/svg+xml"),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_format",
                    "format must be json, markdown or svg",
                ));
            }
        };
    let record = load(&state, id).await?;
    let experiment = use_case::definition(&record).map_err(ApiError::from)?;
    let config = use_case::report_config(&state.policy);
    let now = state.now();
    let report = state
        .blocking(move |store| use_case::report(store, &experiment, now, config))
        .await?;
    Ok(([(header::CONTENT_TYPE, content_type)], render(&report)).into_response())
}
