//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::{consent, events, items, meta, rights};

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
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&ApiKeyAuth),
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

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
