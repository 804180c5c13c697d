//! Candor's HTTP API.
//!
//! [`router`] builds the whole API over an [`AppState`]; [`serve`] runs it on a listener until
//! a shutdown signal. Tests call the router directly with `tower::ServiceExt::oneshot`.
//!
//! **Architecture invariant:** this crate is the only one that knows HTTP and JSON. Handlers
//! parse the wire types, call the domain and the store, and render the answer; the rules
//! themselves live in `candor-domain`.

pub mod auth;
pub mod error;
pub mod extract;
pub mod key_cache;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod rate;
pub mod routes;
pub mod state;
pub mod strict;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
pub use crate::state::AppState;

/// The whole API.
pub fn router(state: AppState) -> Router {
    use axum::routing::{post, put};
    use routes::{consent, events, items, meta};
    let api = Router::new()
        .route("/v1/policy", get(meta::policy))
        .route("/v1/policy/data-map", get(meta::data_map))
        .route(
            "/v1/subjects/{id}/consents",
            get(consent::get_consents).put(consent::put_consents),
        )
        .route(
            "/v1/subjects/{id}/consents/history",
            get(consent::consent_history),
        )
        .route(
            "/v1/subjects/{id}/consent-signals",
            post(routes::signals::post_consent_signals),
        )
        .route("/v1/subjects/{id}/events", get(events::subject_events))
        .route("/v1/events", post(events::post_events))
        .route("/v1/batch", post(events::post_batch))
        .route("/v1/track", post(events::post_track))
        .route("/v1/page", post(events::post_page))
        .route("/v1/identify", post(events::post_identify))
        // The short paths Segment's browser library posts to (`{apiHost}/t`, `/p`, `/i`, `/b`).
        .route("/v1/t", post(events::post_track))
        .route("/v1/p", post(events::post_page))
        .route("/v1/i", post(events::post_identify))
        .route("/v1/b", post(events::post_batch))
        .route("/v1/stats/drops", get(events::drop_stats))
        .route("/v1/stats/consent", get(routes::stats::consent_stats))
        .route(
            "/v1/analytics/{family}",
            get(routes::analytics::analytics_report),
        )
        .route("/v1/items", put(items::put_items).get(items::list_items))
        .route("/v1/items/{id}", get(items::get_item))
        .route(
            "/v1/items/{id}/similar",
            get(routes::recommend::similar_items),
        )
        .route(
            "/v1/subjects/{id}/recommendations",
            get(routes::recommend::subject_recommendations),
        )
        .route(
            "/v1/subjects/{id}/feedback",
            post(routes::feedback::post_feedback),
        )
        .route(
            "/v1/subjects/{id}/preferences",
            get(routes::feedback::get_preferences),
        );

    use axum::routing::delete;
    use routes::rights;
    let api = api
        .route(
            "/v1/subject-tokens",
            post(routes::sessions::post_subject_token),
        )
        .route(
            "/v1/visitor-sessions",
            post(routes::sessions::post_visitor_session),
        )
        .route(
            "/v1/subjects/{id}/sessions/revoke",
            post(routes::sessions::revoke_sessions),
        )
        .route(
            "/v1/keys",
            get(routes::keys::list_keys).post(routes::keys::create_key),
        )
        .route("/v1/keys/{id}/revoke", post(routes::keys::revoke_key))
        .route("/v1/keys/{id}/rotate", post(routes::keys::rotate_key))
        .route(
            "/v1/token-keys/rotate",
            post(routes::keys::rotate_token_keys),
        )
        .route("/v1/subjects/{id}", delete(rights::delete_subject))
        .route("/v1/subjects/{id}/export", get(rights::export))
        .route("/v1/subjects/{id}/contact", put(rights::put_contact))
        .route(
            "/v1/subjects/{id}/interests/{category}",
            delete(rights::delete_interest),
        )
        .route(
            "/v1/subjects/{id}/restriction",
            post(rights::post_restriction).delete(rights::delete_restriction),
        )
        .route("/v1/subjects/{id}/objection", post(rights::post_objection))
        .route("/v1/subjects/{id}/explanations", get(rights::explanations))
        .route("/v1/dsr", get(rights::list_dsr))
        .route("/v1/dsr/receipts/verify", post(rights::verify_receipt));

    let api = api
        // Accountability: the audit log, audit attributes, fairness reports.
        .route("/v1/audit", get(routes::audit::list_audit))
        .route("/v1/audit/head", get(routes::audit::audit_head))
        .route("/v1/audit/verify", get(routes::audit::verify_audit))
        .route(
            "/v1/subjects/{id}/audit-attributes",
            put(routes::fairness::put_audit_attributes),
        )
        .route(
            "/v1/fairness/slots/{slot}",
            get(routes::fairness::slot_fairness),
        )
        .route(
            "/v1/fairness/campaigns/{id}",
            get(routes::fairness::campaign_fairness_report),
        )
        .route(
            "/v1/fairness/campaigns/{id}/acknowledge",
            post(routes::fairness::acknowledge_campaign),
        )
        .route("/v1/fairness/flags", get(routes::fairness::fairness_flags));

    let api = api
        // Segments, campaigns, real-time decisions and unsubscribe.
        .route("/v1/segments/lint", post(routes::segments::lint_segment))
        .route(
            "/v1/segments",
            post(routes::segments::create_segment).get(routes::segments::list_segments),
        )
        .route("/v1/segments/{id}", get(routes::segments::get_segment))
        .route(
            "/v1/segments/{id}/preview",
            get(routes::segments::preview_segment),
        )
        .route(
            "/v1/subjects/{id}/segments",
            get(routes::segments::subject_segments),
        )
        .route(
            "/v1/campaigns",
            post(routes::campaigns::create_campaign).get(routes::campaigns::list_campaigns),
        )
        .route("/v1/campaigns/{id}", get(routes::campaigns::get_campaign))
        .route(
            "/v1/campaigns/{id}/run",
            post(routes::campaigns::run_campaign),
        )
        .route("/v1/decide", post(routes::decide::decide))
        .route(
            "/v1/subjects/{id}/campaigns",
            get(routes::campaigns::subject_campaigns),
        )
        .route(
            "/v1/subjects/{id}/time-zone",
            put(routes::time_zone::put_time_zone),
        )
        .route(
            "/v1/unsubscribe/{token}",
            get(routes::unsubscribe::unsubscribe_page).post(routes::unsubscribe::unsubscribe),
        )
        // Experiments.
        .route(
            "/v1/experiments",
            post(routes::experiments::create_experiment).get(routes::experiments::list_experiments),
        )
        .route(
            "/v1/experiments/{id}",
            get(routes::experiments::get_experiment),
        )
        .route(
            "/v1/experiments/{id}/stop",
            post(routes::experiments::stop_experiment),
        )
        .route(
            "/v1/experiments/{id}/report",
            get(routes::experiments::experiment_report),
        );

    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/openapi.json", get(openapi::openapi_json))
        .route(candor_signals::GPC_WELL_KNOWN_PATH, get(meta::gpc_json))
        .route("/metrics", get(metrics::metrics))
        .merge(api)
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(metrics::track_latency))
        .layer(DefaultBodyLimit::max(
            state.config.limits.request_body_bytes_max,
        ))
        .layer(cors(&state))
        .layer(
            // Spans carry the route template, never the raw path: paths contain external ids.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("-", |p| p.as_str());
                tracing::info_span!("http", method = %req.method(), route)
            }),
        )
        .with_state(state)
}

fn cors(state: &AppState) -> CorsLayer {
    let origins: Vec<HeaderValue> = state
        .config
        .cors_allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("sec-gpc"),
            HeaderName::from_static(auth::VISITOR_TOKEN_HEADER),
        ])
        .max_age(Duration::from_secs(600))
}

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight requests,
/// under the connection limits of `state.config` and with its TLS files if any.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let options = listen::Options::from_config(&state.config).map_err(std::io::Error::other)?;
    serve_app(listener, router(state), options, shutdown).await
}

/// Serves `app` — the API merged with other routes, such as the web front end — the same way,
/// with `options` read beforehand (so a bad certificate stops the process before it listens).
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    options: listen::Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::accept_loop(listener, app, options, shutdown).await
}
