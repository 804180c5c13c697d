//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use axum::extract::State;
use utoipa::Number;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use candor_app::config::Config;
use candor_domain::policy::Policy;

mod examples;

use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::{consent, events, items, meta, rights};
use crate::state::AppState;
use examples::Examples;

#[derive(OpenApi)]
#[openapi(
    info(title = "Candor", description = "A personalization engine whose privacy rules hold by construction."),
    paths(
        meta::healthz, meta::readyz, meta::policy, meta::data_map,
        consent::put_consents, consent::get_consents, consent::consent_history,
        crate::routes::signals::post_consent_signals,
        events::post_events, events::post_batch, events::post_track, events::post_page, events::post_identify,
        events::subject_events, events::drop_stats, crate::routes::stats::consent_stats,
        items::put_items, items::get_item, items::list_items,
        crate::routes::recommend::subject_recommendations, crate::routes::recommend::similar_items,
        crate::routes::feedback::post_feedback, crate::routes::feedback::get_preferences,
        // Data-subject rights.
        rights::export, rights::put_contact, rights::delete_interest,
        rights::delete_subject, rights::verify_receipt, rights::post_restriction,
        rights::delete_restriction, rights::post_objection, rights::list_dsr, rights::explanations,
        // Credentials.
        crate::routes::sessions::post_visitor_session, crate::routes::sessions::post_subject_token,
        crate::routes::sessions::revoke_sessions,
        crate::routes::keys::list_keys, crate::routes::keys::create_key,
        crate::routes::keys::revoke_key, crate::routes::keys::rotate_key,
        crate::routes::keys::rotate_token_keys,
        // Accountability
        crate::routes::audit::list_audit, crate::routes::audit::audit_head,
        crate::routes::audit::verify_audit,
        crate::routes::fairness::put_audit_attributes, crate::routes::fairness::slot_fairness,
        crate::routes::fairness::campaign_fairness_report, crate::routes::fairness::fairness_flags,
        crate::routes::fairness::acknowledge_campaign,
        crate::metrics::metrics,
        // Segments and campaigns.
        crate::routes::segments::lint_segment, crate::routes::segments::create_segment,
        crate::routes::segments::list_segments, crate::routes::segments::get_segment,
        crate::routes::segments::preview_segment, crate::routes::segments::subject_segments,
        crate::routes::campaigns::create_campaign, crate::routes::campaigns::list_campaigns,
        crate::routes::campaigns::get_campaign, crate::routes::campaigns::run_campaign,
        crate::routes::campaigns::subject_campaigns,
        crate::routes::decide::decide, crate::routes::time_zone::put_time_zone,
        crate::routes::unsubscribe::unsubscribe_page, crate::routes::unsubscribe::unsubscribe,
        // Experiments.
        crate::routes::experiments::create_experiment,
        crate::routes::experiments::list_experiments, crate::routes::experiments::get_experiment,
        crate::routes::experiments::stop_experiment,
        crate::routes::experiments::experiment_report,
        // Private analytics.
        crate::routes::analytics::analytics_report,
    ),
    components(schemas(ErrorBody, ErrorDetail, crate::routes::ShownCount)),
    modifiers(&ApiKeyAuth, &PathParameters, &Examples, &CommonResponses, &SdkBodies),
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A server key (`cnd_sk_…`, from `candor keys create`) on a shop's \
                         backend; in a browser, a publishable key (`cnd_pk_…`, visitor sessions \
                         only), a visitor token (`cvt_…`) or a subject session token (`cst_…`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the handlers accept in each path parameter, stated once here because one rule serves
/// many operations (every `/v1/subjects/{id}` is an external id, checked by
/// `ExternalId::parse`). Lengths are the handlers' limits, which count characters (code
/// points) as JSON Schema's `maxLength` does; the ids with a pattern are ASCII anyway.
struct PathParameters;

/// Control characters, which no id or name may contain (`char::is_control`).
const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]+$";

/// (path prefix, parameter, min length, max length, pattern).
const PATH_PARAMETERS: &[(&str, &str, usize, usize, &str)] = &[
    (
        "/v1/subjects/{id}",
        "id",
        1,
        candor_domain::ids::EXTERNAL_ID_CHARS_MAX,
        NO_CONTROL,
    ),
    (
        "/v1/subjects/{id}/interests/{category}",
        "category",
        1,
        crate::routes::rights::CATEGORY_CHARS_MAX,
        NO_CONTROL,
    ),
    (
        "/v1/segments/{id}",
        "id",
        1,
        crate::routes::segments::RESOURCE_ID_BYTES_MAX,
        "^[a-z0-9_-]+$",
    ),
    (
        "/v1/campaigns/{id}",
        "id",
        1,
        crate::routes::segments::RESOURCE_ID_BYTES_MAX,
        "^[a-z0-9_-]+$",
    ),
    (
        "/v1/experiments/{id}",
        "id",
        1,
        crate::routes::segments::RESOURCE_ID_BYTES_MAX,
        "^[a-z0-9_-]+$",
    ),
    (
        "/v1/fairness/campaigns/{id}",
        "id",
        1,
        crate::routes::segments::RESOURCE_ID_BYTES_MAX,
        "^[a-z0-9_-]+$",
    ),
    (
        "/v1/fairness/slots/{slot}",
        "slot",
        1,
        crate::routes::fairness::SLOT_BYTES_MAX,
        "^[A-Za-z0-9_.-]+$",
    ),
];

impl Modify for PathParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                for param in op.parameters.iter_mut().flatten() {
                    if param.parameter_in != ParameterIn::Path {
                        continue;
                    }
                    let rule = PATH_PARAMETERS
                        .iter()
                        .find(|(prefix, name, ..)| path.starts_with(prefix) && param.name == *name);
                    let Some((_, _, min, max, pattern)) = rule else {
                        continue;
                    };
                    param.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(*min))
                            .max_length(Some(*max))
                            .pattern(Some(*pattern))
                            .into(),
                    );
                }
            }
        }
    }
}

/// The refusals every operation of a kind can give, whichever handler it is: they come from
/// the extractors and layers every request passes through (`auth`, `extract`, the rate and
/// time limits, the store), so they are added here once rather than in each annotation.
/// An annotation that already names a status keeps its own description.
struct CommonResponses;

/// (status, when) for each kind of operation.
const ANY: &[(&str, &str)] = &[
    (
        "408",
        "The request was not complete and answered within the request timeout.",
    ),
    (
        "503",
        "Storage is unavailable right now; retry after `Retry-After` seconds.",
    ),
];
const AUTHENTICATED: &[(&str, &str)] = &[
    (
        "401",
        "No credential, or one that is malformed, unknown, expired or revoked \
             (`unauthenticated`, `key_invalid`, `key_expired`, `key_revoked`, `token_invalid`, \
             `token_expired`, `token_revoked`).",
    ),
    (
        "403",
        "The credential may not do this (`insufficient_scope`, `needs_server_key`, \
             `publishable_key_not_allowed`, `server_key_from_browser`, `origin_not_allowed`, \
             `token_wrong_subject`, ...).",
    ),
    (
        "429",
        "Too many requests with this credential (`rate_limited`); retry after \
             `Retry-After` seconds.",
    ),
];
const WITH_PARAMETERS: &[(&str, &str)] = &[(
    "400",
    "A malformed path or query (`invalid_path`, `invalid_query`, `invalid_subject_id`, ...).",
)];
const WITH_BODY: &[(&str, &str)] = &[
    (
        "400",
        "The body is not JSON, or not valid for its Content-Encoding \
             (`malformed_json`, `malformed_encoding`, `unreadable_body`).",
    ),
    (
        "413",
        "The body is larger than the server's limit, counted after decompression \
             (`payload_too_large`).",
    ),
    (
        "415",
        "The body is not JSON, or its Content-Encoding is not gzip, deflate or identity \
             (`unsupported_media_type`).",
    ),
    (
        "422",
        "The JSON does not have the documented shape (`invalid_body`).",
    ),
];

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn operations(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
    })
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for op in operations(openapi) {
            let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let parameters = op.parameters.as_ref().is_some_and(|p| {
                p.iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
            });
            let kinds = [
                (true, ANY),
                (authenticated, AUTHENTICATED),
                (parameters, WITH_PARAMETERS),
                (op.request_body.is_some(), WITH_BODY),
            ];
            for (status, when) in kinds
                .into_iter()
                .filter(|(applies, _)| *applies)
                .flat_map(|(_, list)| list.iter())
            {
                op.responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| error_response(when));
            }
        }
    }
}

/// The ingestion endpoints take JSON under the types analytics libraries send it with
/// (`extract::read_sdk_body`), and Segment's browser library's short paths are the same
/// operations as the long ones.
struct SdkBodies;

/// (short path, the operation it is another name for).
const SHORT_PATHS: &[(&str, &str)] = &[
    ("/v1/t", "/v1/track"),
    ("/v1/p", "/v1/page"),
    ("/v1/i", "/v1/identify"),
    ("/v1/b", "/v1/batch"),
];

impl Modify for SdkBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for path in [
            "/v1/events",
            "/v1/batch",
            "/v1/track",
            "/v1/page",
            "/v1/identify",
        ] {
            let body = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
                .and_then(|op| op.request_body.as_mut());
            let Some(body) = body else { continue };
            let Some(json) = body.content.get("application/json").cloned() else {
                continue;
            };
            for alias in ["text/plain", "application/x-www-form-urlencoded"] {
                body.content.insert(alias.to_owned(), json.clone());
            }
        }
        for (short, long) in SHORT_PATHS {
            let Some(mut item) = openapi.paths.paths.get(*long).cloned() else {
                continue;
            };
            if let Some(op) = item.post.as_mut() {
                op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_short"));
                op.summary = Some(format!(
                    "`{long}` by the short path Segment's browser library uses"
                ));
            }
            openapi.paths.paths.insert((*short).to_owned(), item);
        }
    }
}

/// The document for generating client libraries: the short paths are left out, since a
/// generated client has the long operations already and the short ones exist only for
/// Segment's browser library, which builds its own paths.
pub fn clients_document(config: &Config) -> utoipa::openapi::OpenApi {
    let mut doc = document(config, None);
    for (short, _) in SHORT_PATHS {
        doc.paths.paths.remove(*short);
    }
    doc
}

/// The document as this server answers: the annotations state the default limits, and the
/// configured ones (`[limits]`, `[subject_rights] token_ttl_seconds_max`) replace them, so a
/// server with other `[limits]` still tells the truth. Given the policy (the document a server
/// serves), the configured closed sets are stated as enums too ([`closed_sets`]). Without
/// (the document the client libraries are generated from) a jurisdiction or a purpose is any
/// string, so one client serves every shop's configuration.
pub fn document(config: &Config, policy: Option<&Policy>) -> utoipa::openapi::OpenApi {
    let limits = &config.limits;
    let mut doc = ApiDoc::openapi();
    let whole = |n: u64| Number::UInt(usize::try_from(n).unwrap_or(usize::MAX));
    let page_len_max = whole(limits.page_len_max.into());
    let n_max = whole(limits.recommendations_n_max.into());
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(op) = item.get.as_mut() else {
            continue;
        };
        for param in op.parameters.iter_mut().flatten() {
            let max = match param.name.as_str() {
                "limit" => page_len_max.clone(),
                "n" if path.ends_with("/recommendations") || path.ends_with("/similar") => {
                    n_max.clone()
                }
                _ => continue,
            };
            if let Some(RefOr::T(Schema::Object(schema))) = param.schema.as_mut() {
                schema.maximum = Some(max);
            }
        }
    }
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    for (schema, field, len_max) in [
        ("EventsBody", "events", limits.event_batch_len_max),
        ("SegmentBatch", "batch", limits.event_batch_len_max),
        (
            "ConsentUpdate",
            "decisions",
            limits.consent_decisions_len_max,
        ),
    ] {
        if let Some(RefOr::T(Schema::Object(body))) = schemas.get_mut(schema)
            && let Some(RefOr::T(Schema::Array(array))) = body.properties.get_mut(field)
        {
            array.max_items = Some(len_max);
        }
    }
    let token_ttl_max = whole(config.subject_rights.token_ttl_seconds_max);
    if let Some(RefOr::T(Schema::Object(body))) = schemas.get_mut("SubjectTokenRequest")
        && let Some(RefOr::T(Schema::Object(ttl))) = body.properties.get_mut("ttl_seconds")
    {
        ttl.maximum = Some(token_ttl_max);
    }
    if let Some(policy) = policy {
        closed_sets(&mut doc, config, policy);
    }
    doc
}

/// States this server's closed sets as enums: the jurisdictions (`[subject_rights]
/// deadline_days`) on every `jurisdiction` parameter, and the policy's purposes on the bodies
/// that refuse any other purpose.
fn closed_sets(doc: &mut utoipa::openapi::OpenApi, config: &Config, policy: &Policy) {
    let jurisdictions: Vec<&str> = config
        .subject_rights
        .deadline_days
        .keys()
        .map(String::as_str)
        .collect();
    for op in operations(doc) {
        for param in op.parameters.iter_mut().flatten() {
            if param.name == "jurisdiction" {
                set_enum(param.schema.as_mut(), &jurisdictions);
            }
        }
    }
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    let purposes: Vec<&str> = policy.purposes.iter().map(|p| p.id.as_str()).collect();
    // Only where a purpose outside the policy is refused: linting answers an unknown purpose
    // with a finding, so its `purpose` stays any purpose id.
    for schema in PURPOSE_FIELDS {
        if let Some(RefOr::T(Schema::Object(body))) = schemas.get_mut(*schema) {
            set_enum(body.properties.get_mut("purpose"), &purposes);
        }
    }
}

/// The request bodies whose `purpose` must name a purpose of the policy.
const PURPOSE_FIELDS: &[&str] = &["DecisionInput", "SegmentInput", "CampaignInput"];

/// States a closed set of strings as the schema's `enum` (sorted, as configured).
fn set_enum(schema: Option<&mut RefOr<Schema>>, values: &[&str]) {
    if let Some(RefOr::T(Schema::Object(schema))) = schema {
        schema.enum_values = Some(values.iter().map(|v| (*v).into()).collect());
    }
}

pub async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(document(&state.config, Some(&*state.policy)))
}
