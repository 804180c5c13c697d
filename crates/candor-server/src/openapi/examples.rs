//! An example on every operation: a body for each that takes one, a value for every
//! parameter, and, for the few that take neither, an answer. They are written as a client would
//! send them to a shop whose policy is the repository's `candor.toml`, so a reader (or a
//! generated client's documentation) can copy them.

use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterBuilder};
use utoipa::openapi::{OpenApi, RefOr};

pub struct Examples;

/// A Segment-spec track call, as libraries send it.
fn track() -> Value {
    json!({
        "type": "track",
        "event": "Product Viewed",
        "userId": "user-42",
        "messageId": "9f1c2d3e-0001",
        "timestamp": "2026-01-05T10:00:00Z",
        "properties": {"product_id": "shoe-trail"}
    })
}

/// An experiment on the home page's list: B is less diverse and shorter; 5% held out.
fn experiment() -> Value {
    json!({
        "id": "home-diversity",
        "name": "Home list: diversity 0.2, six items",
        "purpose": "personalization",
        "target": {"kind": "slot", "id": "home"},
        "variants": [
            {"name": "control", "allocation_bp": 5000},
            {"name": "focused", "allocation_bp": 5000,
             "settings": {"diversity": 0.2, "n_items": 6}}
        ],
        "holdout_bp": 500,
        "start_ms": 1_767_607_200_000_i64,
        "primary": {"name": "orders", "kind": "conversion", "event_type": "Order Completed",
                    "window_ms": 604_800_000, "pre_window_ms": 604_800_000},
        "guardrails": [{"metric": {"name": "revenue", "kind": "revenue",
                                   "event_type": "Order Completed", "window_ms": 604_800_000},
                        "direction": "higher_is_better"}]
    })
}

/// (method, path, request body).
fn bodies() -> Vec<(&'static str, &'static str, Value)> {
    let rule = r#"interest("running") >= 0.3 and views(30d) >= 2"#;
    vec![
        ("post", "/v1/events", json!({"events": [track()]})),
        (
            "post",
            "/v1/batch",
            json!({"batch": [track()], "sentAt": "2026-01-05T10:00:01Z"}),
        ),
        ("post", "/v1/track", track()),
        (
            "post",
            "/v1/page",
            json!({"type": "page", "name": "Home", "anonymousId": "visitor-7",
                   "messageId": "9f1c2d3e-0002"}),
        ),
        (
            "post",
            "/v1/identify",
            json!({"type": "identify", "userId": "user-42", "anonymousId": "visitor-7",
                   "messageId": "9f1c2d3e-0003", "traits": {"email": "ada@example.com"}}),
        ),
        (
            "put",
            "/v1/subjects/{id}/consents",
            json!({"decisions": [{"purpose": "personalization", "decision": "granted"}],
                   "source": "banner", "choice": "individual",
                   "evidence": {"banner_version": "2026-01"}}),
        ),
        (
            "post",
            "/v1/subjects/{id}/consent-signals",
            json!({"gpc": true,
                   "consent_mode": {"analytics_storage": "granted", "ad_storage": "denied"}}),
        ),
        (
            "put",
            "/v1/subjects/{id}/contact",
            json!({"email": "ada@example.com"}),
        ),
        (
            "post",
            "/v1/subjects/{id}/feedback",
            json!({"action": "not_interested", "category": "running"}),
        ),
        (
            "put",
            "/v1/subjects/{id}/time-zone",
            json!({"time_zone": "Europe/Berlin"}),
        ),
        (
            "put",
            "/v1/subjects/{id}/audit-attributes",
            json!({"attributes": {"age_band": "25-34"}}),
        ),
        (
            "put",
            "/v1/items",
            json!({"items": [{"id": "shoe-trail", "title": "Trail running shoes",
                              "categories": ["running"], "attributes": {"price": 89}}]}),
        ),
        (
            "post",
            "/v1/dsr/receipts/verify",
            json!({"receipt": {"format": "candor-erasure-receipt/1", "request_id": 12,
                               "subject_ref": "3f9a0c1b7e2d4a68",
                               "requested_at": "2026-01-05T10:00:00Z",
                               "completed_at": "2026-01-05T10:00:02Z",
                               "deleted": {"events": 31, "consents": 4},
                               "consent_proof_kept": 4, "data_key_destroyed": true},
                   "signature": "5be0c7…"}),
        ),
        ("post", "/v1/visitor-sessions", json!({})),
        (
            "post",
            "/v1/subject-tokens",
            json!({"subject": "user-42", "ttl_seconds": 900,
                   "scopes": ["consent", "recommendations"]}),
        ),
        (
            "post",
            "/v1/keys",
            json!({"scopes": ["ingest"], "label": "shop backend", "ttl_seconds": 31_536_000}),
        ),
        (
            "post",
            "/v1/keys/{id}/rotate",
            json!({"grace_seconds": 86_400}),
        ),
        (
            "post",
            "/v1/segments/lint",
            json!({"rule": rule, "purpose": "email_marketing"}),
        ),
        (
            "post",
            "/v1/segments",
            json!({"id": "runners", "name": "Runners", "purpose": "email_marketing",
                   "rule": rule}),
        ),
        (
            "post",
            "/v1/campaigns",
            json!({"id": "trail-season", "segment": "runners", "channel": "email",
                   "purpose": "email_marketing",
                   "template": "Hi {{first_name}}, new for the trail: {{recommendations}}. \
                                Unsubscribe: {{unsubscribe_url}}"}),
        ),
        (
            "post",
            "/v1/decide",
            json!({"subject": "user-42", "channel": "email", "campaigns": ["trail-season"],
                   "time_zone": "Europe/Berlin", "dry_run": true}),
        ),
        (
            "post",
            "/v1/fairness/campaigns/{id}/acknowledge",
            json!({"note": "Reviewed: the gap follows the segment's interest rule, \
                            not a protected attribute."}),
        ),
        (
            "post",
            "/v1/unsubscribe/{token}",
            json!({"List-Unsubscribe": "One-Click"}),
        ),
        ("post", "/v1/experiments", experiment()),
    ]
}

/// The value of a parameter, by the path it is on and its name.
fn parameter(path: &str, name: &str) -> Option<Value> {
    let id = |prefix: &str| path.starts_with(prefix);
    Some(match name {
        "id" if id("/v1/subjects/") => json!("user-42"),
        "id" if id("/v1/segments/") => json!("runners"),
        "id" if id("/v1/campaigns/") || id("/v1/fairness/campaigns/") => json!("trail-season"),
        "id" if id("/v1/items/") => json!("shoe-trail"),
        "id" if id("/v1/experiments/") => json!("home-diversity"),
        "id" if id("/v1/keys/") => json!("0900f25f1ea0cb08"),
        "category" => json!("running"),
        "slot" => json!("home"),
        "token" => json!("AQAAAAFlbWFpbA…"),
        "limit" => json!(50),
        "cursor" => json!("c100"),
        "purpose" => json!("support_request"),
        "status" => json!("completed"),
        "format" => json!("json"),
        "jurisdiction" => json!("gdpr"),
        "n" => json!(10),
        "context_item" | "item" => json!("shoe-trail"),
        "diversity" => json!(0.5),
        "days" => json!(30),
        "since" => json!("2026-01-01"),
        "k_min" => json!(10),
        "run" => json!("41"),
        "bucket" => json!("week"),
        "dry_run" => json!(true),
        "family" => json!("conversions"),
        "from" => json!("2026-11-01"),
        "to" => json!("2026-11-30"),
        "by" => json!("week"),
        "country" => json!("DE"),
        _ => return None,
    })
}

/// (method, path, answer) for the operations that take nothing.
fn answers() -> Vec<(&'static str, &'static str, Value)> {
    let head = "d7447caef0b725f8b11f0a5fa0a73e338081b2660754f14ba86e4a66f78cd490";
    vec![
        ("get", "/healthz", json!({"status": "ok"})),
        ("get", "/readyz", json!({"status": "ok"})),
        (
            "get",
            "/metrics",
            json!("candor_events_accepted_total 18\ncandor_events_invalid_total 0\n"),
        ),
        (
            "get",
            "/v1/policy",
            json!({"version": "864117f4da646241", "controller": "Example Shop Ltd",
                   "contact": "privacy@example.com",
                   "purposes": [{"id": "analytics", "title": "Site analytics",
                                 "text": "Count page and product views, in aggregate.",
                                 "legal_basis": "consent", "requires_consent": true,
                                 "sale_or_sharing": false, "targeted_advertising": false,
                                 "session_only": false, "retention_days": 395,
                                 "categories": ["browsing", "device"]}]}),
        ),
        (
            "get",
            "/v1/policy/data-map",
            json!({"policy_version": "864117f4da646241", "purposes": []}),
        ),
        (
            "get",
            "/v1/audit/head",
            json!({"seq": 6, "hash": head, "at": "2026-01-05T10:00:00.000Z"}),
        ),
        (
            "get",
            "/v1/audit/verify",
            json!({"ok": true, "entries": 6, "head": head, "first_bad": null}),
        ),
        (
            "get",
            "/v1/keys",
            json!({"items": [{"id": "0900f25f1ea0cb08", "kind": "server",
                              "scopes": ["ingest"], "allowed_origins": [],
                              "label": "shop backend", "status": "active",
                              "created_at": "2026-01-05T10:00:00.000Z",
                              "expires_at": null, "revoked_at": null}]}),
        ),
        (
            "get",
            "/v1/segments",
            json!({"items": [{"id": "runners", "name": "Runners",
                              "purpose": "email_marketing",
                              "rule": r#"interest("running") >= 0.3 and views(30d) >= 2"#,
                              "created_at": "2026-01-05T10:00:00.000Z", "warnings": []}]}),
        ),
        (
            "get",
            "/v1/campaigns",
            json!({"items": [{"id": "trail-season", "segment": "runners", "channel": "email",
                              "purpose": "email_marketing",
                              "template": "Hi {{first_name}}: {{recommendations}}. \
                                           Unsubscribe: {{unsubscribe_url}}",
                              "restricted_categories": [], "holdout_percent": 0,
                              "created_at": "2026-01-05T10:00:00.000Z"}]}),
        ),
        ("post", "/v1/token-keys/rotate", json!({"signing_key": 2})),
        (
            "get",
            "/v1/experiments",
            json!({"items": [{"id": "home-diversity", "status": "active",
                              "policy_version": "864117f4da646241",
                              "created_at": "2026-01-05T10:00:00.000Z",
                              "definition": experiment()}]}),
        ),
    ]
}

fn operation<'a>(openapi: &'a mut OpenApi, method: &str, path: &str) -> Option<&'a mut Operation> {
    let item = openapi.paths.paths.get_mut(path)?;
    match method {
        "get" => item.get.as_mut(),
        "put" => item.put.as_mut(),
        "post" => item.post.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

impl Modify for Examples {
    fn modify(&self, openapi: &mut OpenApi) {
        for (method, path, body) in bodies() {
            let Some(op) = operation(openapi, method, path) else {
                continue;
            };
            for content in op
                .request_body
                .iter_mut()
                .flat_map(|b| b.content.values_mut())
            {
                content.example = Some(body.clone());
            }
        }
        for (method, path, answer) in answers() {
            let Some(op) = operation(openapi, method, path) else {
                continue;
            };
            if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
                for content in ok.content.values_mut() {
                    content.example = Some(answer.clone());
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for param in ops
                .into_iter()
                .flatten()
                .flat_map(|op| op.parameters.iter_mut().flatten())
            {
                if let Some(example) = parameter(path, &param.name) {
                    *param = ParameterBuilder::from(param.clone())
                        .example(Some(example))
                        .build();
                }
            }
        }
    }
}
