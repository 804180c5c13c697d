//! Schema-valid means accepted and schema-invalid means refused, for two things JSON Schema
//! and serde disagree on by default: an array where the document says object (serde's derived
//! structs take their fields in order), and lengths (JSON Schema counts characters).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{SHOP_ORIGIN, TestApp};

/// Follows `$ref`s to the schema they name.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The JSON pointers of `value` where the document asks for an object with named fields
/// (a struct on the server): the body itself and every nested one, through arrays, maps and
/// `oneOf` alternatives.
fn struct_locations(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        for alternative in schema[key].as_array().into_iter().flatten() {
            struct_locations(doc, alternative, value, at, out);
        }
    }
    match value {
        Value::Object(fields) => {
            let Some(properties) = schema["properties"].as_object() else {
                return;
            };
            if !out.iter().any(|p| p == at) {
                out.push(at.to_owned());
            }
            for (name, v) in fields {
                let pointer = format!("{at}/{name}");
                if let Some(s) = properties.get(name) {
                    struct_locations(doc, s, v, &pointer, out);
                } else if schema["additionalProperties"].is_object() {
                    struct_locations(doc, &schema["additionalProperties"], v, &pointer, out);
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, v) in items.iter().enumerate() {
                struct_locations(doc, &schema["items"], v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `body` with the object at `pointer` replaced by its values in order, the array serde's
/// derived structs would read as the same fields.
fn as_array(body: &Value, pointer: &str) -> Value {
    let mut body = body.clone();
    let target = body.pointer_mut(pointer).unwrap();
    let values: Vec<Value> = target.as_object().unwrap().values().cloned().collect();
    *target = Value::Array(values);
    body
}

/// The experiment definition is read from the body the document calls an object (it is
/// checked as a whole, with problems named); its nested objects are structs all the same.
const EXPERIMENT_STRUCTS: &[&str] = &[
    "",
    "/target",
    "/variants/0",
    "/variants/1/settings",
    "/primary",
    "/guardrails/0",
    "/guardrails/0/metric",
];

/// Every operation's documented example, with each object the document types (the body, and
/// every nested one: consent decisions and facts, campaign caps, segment and experiment
/// definitions...) sent as an array instead: each is refused with a 4xx and a code, and
/// nothing is written. The example itself is still read as before.
#[tokio::test]
async fn an_array_for_any_documented_object_is_refused_and_writes_nothing() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let mut tried = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let content = &op["requestBody"]["content"]["application/json"];
            let Some(example) = content.get("example") else {
                continue;
            };
            let mut concrete = path.clone();
            let mut subject = None;
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    let value = p["example"].as_str().unwrap();
                    concrete = concrete.replace(&format!("{{{name}}}"), value);
                    if path.starts_with("/v1/subjects/{id}") && name == "id" {
                        subject = Some(value.to_owned());
                    }
                }
            }
            // The credential the operation is for: the admin key, or else the person's own
            // token, or else (visitor sessions) the shop's publishable key.
            let token = match &subject {
                Some(id) => Some(app.subject_token(id, &[]).await),
                None => None,
            };
            let mut who = vec![(app.admin.clone(), vec![])];
            if let Some(t) = token {
                who.push((t, vec![("origin", SHOP_ORIGIN)]));
            }
            who.push((app.publishable.clone(), vec![("origin", SHOP_ORIGIN)]));
            let mut pointers = Vec::new();
            struct_locations(&doc, &content["schema"], example, "", &mut pointers);
            if path == "/v1/experiments" {
                pointers = EXPERIMENT_STRUCTS.iter().map(|p| (*p).to_owned()).collect();
            }
            let before = app.stored_rows();
            let method_upper = method.to_uppercase();
            let send = |key: &str, headers: &[(&'static str, &'static str)], body: Value| {
                let (key, headers, concrete) = (key.to_owned(), headers.to_vec(), concrete.clone());
                let app = &app;
                let method = method_upper.clone();
                async move {
                    app.call_with(&method, &concrete, Some(&key), Some(body), &headers)
                        .await
                }
            };
            let mut allowed = None;
            for (key, headers) in &who {
                let r = send(key, headers, as_array(example, "")).await;
                if r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN {
                    allowed = Some((key.clone(), headers.clone()));
                    break;
                }
            }
            let (key, headers) =
                allowed.unwrap_or_else(|| panic!("{method} {path}: no credential may call it"));
            for pointer in &pointers {
                let r = send(&key, &headers, as_array(example, pointer)).await;
                assert!(
                    r.status == StatusCode::UNPROCESSABLE_ENTITY
                        || r.status == StatusCode::BAD_REQUEST,
                    "{method} {path}: an array at `{pointer}` must be refused: {} {}",
                    r.status,
                    r.body
                );
                let code = r.code();
                assert!(
                    code == "invalid_body" || code == "invalid_experiment",
                    "{method} {path} `{pointer}`: {code}"
                );
                tried.push(format!("{method} {path} {pointer}"));
            }
            assert_eq!(
                app.stored_rows(),
                before,
                "{method} {path}: a refused body wrote something"
            );
            let r = send(&key, &headers, example.clone()).await;
            assert!(
                !matches!(r.code(), "invalid_body" | "malformed_json"),
                "{method} {path}: the example is no longer read: {}",
                r.body
            );
        }
    }
    for must in [
        "put /v1/subjects/{id}/consents ",
        "put /v1/subjects/{id}/consents /decisions/0",
        "post /v1/events ",
        "post /v1/batch ",
        "put /v1/items /items/0",
        "post /v1/campaigns ",
        "post /v1/segments ",
        "post /v1/experiments /target",
        "post /v1/experiments /guardrails/0/metric",
        "post /v1/dsr/receipts/verify /receipt",
        "post /v1/subject-tokens ",
    ] {
        assert!(
            tried.iter().any(|t| t.starts_with(must)),
            "not tried: {must} (tried {tried:#?})"
        );
    }
}

/// Consent facts (`subject`), absent from the example, are an object too.
#[tokio::test]
async fn consent_facts_are_an_object_not_an_array() {
    let app = TestApp::new();
    for subject in [json!([null, null]), json!(["18+", "DE"])] {
        let r = app
            .call(
                "PUT",
                "/v1/subjects/user-1/consents",
                Some(&app.admin),
                Some(json!({"decisions": [], "subject": subject})),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        );
        assert!(r.body.to_string().contains("subject"), "{}", r.body);
    }
    let r = app
        .call(
            "PUT",
            "/v1/subjects/user-1/consents",
            Some(&app.admin),
            Some(json!({"decisions": [], "subject": {"age_band": "18+", "country": "DE"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The message names the field's path, so the sender knows which object to fix.
#[tokio::test]
async fn the_refusal_names_the_field() {
    let app = TestApp::new();
    let r = app
        .call(
            "PUT",
            "/v1/subjects/user-1/consents",
            Some(&app.admin),
            Some(
                json!({"decisions": [{"purpose": "personalization", "decision": "granted"},
                                      ["analytics", "granted"]]}),
            ),
        )
        .await;
    assert_eq!(r.code(), "invalid_body");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("decisions[1]"), "{message}");
}

/// An event's `properties`, `traits`, `context` and `context.consent` are objects: an event
/// with an array there is answered `invalid` and not stored, while its neighbours are.
#[tokio::test]
async fn an_events_objects_as_arrays_make_it_invalid() {
    let app = TestApp::new();
    let r = app
        .call(
            "PUT",
            "/v1/subjects/ev-1/consents",
            Some(&app.admin),
            Some(
                json!({"decisions": [{"purpose": "personalization", "decision": "granted"},
                                      {"purpose": "analytics", "decision": "granted"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let event = |field: &str, value: Value| {
        let mut e = json!({"type": "track", "event": "Product Viewed", "userId": "ev-1",
                           "properties": {"product_id": "sku-1"}});
        if field == "context.consent" {
            e["context"] = json!({"consent": value});
        } else {
            e[field] = value;
        }
        e
    };
    let bad = [
        event("properties", json!(["sku-1"])),
        event("traits", json!(["pro"])),
        event("context", json!([{"gpc": true}])),
        event("context.consent", json!(["TCF-STRING"])),
    ];
    for (i, e) in bad.iter().enumerate() {
        let before = app.stored_rows();
        let r = app
            .call(
                "POST",
                "/v1/events",
                Some(&app.ingest),
                Some(json!({"events": [e]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["results"][0]["status"], "invalid", "{i}: {}", r.body);
        assert_eq!(
            app.stored_rows(),
            before,
            "{i}: an invalid event was stored"
        );
    }
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({"events": [event("context", json!({"gpc": false}))]})),
        )
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
}

/// Percent-encodes every byte but unreserved ASCII, for a path segment or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `n` characters of four UTF-8 bytes each (and, for contrast, of two and one).
fn text(n: usize, ch: char) -> String {
    std::iter::repeat_n(ch, n).collect()
}

const WIDE: [char; 3] = ['𝄞', 'é', 'a'];

/// The `maxLength` the document states for a parameter.
fn max_length(doc: &Value, path: &str, method: &str, name: &str) -> usize {
    let p = doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap();
    usize::try_from(p["schema"]["maxLength"].as_u64().unwrap()).unwrap()
}

/// Every stated `maxLength` is the limit the server enforces, in characters: multi-byte text
/// at the limit is accepted, one character more is refused.
#[tokio::test]
async fn lengths_count_characters_as_the_document_does() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let schemas = &doc["components"]["schemas"];
    let body_max = |schema: &str, field: &str| -> usize {
        usize::try_from(
            schemas[schema]["properties"][field]["maxLength"]
                .as_u64()
                .unwrap(),
        )
        .unwrap()
    };

    // A subject id in the path.
    let max = max_length(&doc, "/v1/subjects/{id}/consents", "get", "id");
    for ch in WIDE {
        for (n, ok) in [(max - 1, true), (max, true), (max + 1, false)] {
            let path = format!("/v1/subjects/{}/consents", encode(&text(n, ch)));
            let r = app.call("GET", &path, Some(&app.admin), None).await;
            if ok {
                assert_eq!(r.status, StatusCode::OK, "{n} × {ch}: {}", r.body);
            } else {
                assert_eq!(
                    (r.status, r.code()),
                    (StatusCode::BAD_REQUEST, "invalid_subject_id"),
                    "{n} × {ch}"
                );
            }
        }
    }

    // An interest category in the path.
    let max = max_length(
        &doc,
        "/v1/subjects/{id}/interests/{category}",
        "delete",
        "category",
    );
    for ch in WIDE {
        for (n, ok) in [(max, true), (max + 1, false)] {
            let path = format!("/v1/subjects/u-1/interests/{}", encode(&text(n, ch)));
            let r = app.call("DELETE", &path, Some(&app.admin), None).await;
            assert_eq!(
                r.code() == "invalid_category",
                !ok,
                "{n} × {ch}: {} {}",
                r.status,
                r.body
            );
            if !ok {
                assert!(r.status.is_client_error());
            }
        }
    }

    // A recommendation slot in the query.
    let max = max_length(&doc, "/v1/subjects/{id}/recommendations", "get", "slot");
    for ch in WIDE {
        for (n, ok) in [(max, true), (max + 1, false)] {
            let path = format!(
                "/v1/subjects/u-1/recommendations?slot={}",
                encode(&text(n, ch))
            );
            let r = app.call("GET", &path, Some(&app.admin), None).await;
            assert_eq!(r.code() == "invalid_slot", !ok, "{n} × {ch}: {}", r.body);
            if ok {
                assert_eq!(r.status, StatusCode::OK, "{n} × {ch}: {}", r.body);
            }
        }
    }

    // A campaign run in the query.
    let max = max_length(&doc, "/v1/fairness/campaigns/{id}", "get", "run");
    for ch in WIDE {
        for (n, ok) in [(max, true), (max + 1, false)] {
            let path = format!("/v1/fairness/campaigns/c-1?run={}", encode(&text(n, ch)));
            let r = app.call("GET", &path, Some(&app.admin), None).await;
            assert_eq!(r.code() == "invalid_run", !ok, "{n} × {ch}: {}", r.body);
        }
    }

    // The person a subject token is for, in a body.
    let max = body_max("SubjectTokenRequest", "subject");
    for ch in WIDE {
        for (n, ok) in [(max, true), (max + 1, false)] {
            let r = app
                .call(
                    "POST",
                    "/v1/subject-tokens",
                    Some(&app.sessions),
                    Some(json!({"subject": text(n, ch)})),
                )
                .await;
            if ok {
                assert_eq!(r.status, StatusCode::CREATED, "{n} × {ch}: {}", r.body);
            } else {
                assert_eq!(r.status, StatusCode::BAD_REQUEST, "{n} × {ch}: {}", r.body);
            }
        }
    }

    // A key's label, in a body.
    let max = body_max("NewKeyInput", "label");
    for ch in WIDE {
        for (n, ok) in [(max, true), (max + 1, false)] {
            let r = app
                .call(
                    "POST",
                    "/v1/keys",
                    Some(&app.admin),
                    Some(json!({"scopes": ["ingest"], "label": text(n, ch)})),
                )
                .await;
            if ok {
                assert_eq!(r.status, StatusCode::CREATED, "{n} × {ch}: {}", r.body);
            } else {
                assert!(r.status.is_client_error(), "{n} × {ch}: {}", r.body);
            }
        }
    }
}

/// The configured closed sets are enums in the served document: jurisdictions wherever a
/// request names one, the policy's purposes where a request must name one of them.
#[tokio::test]
async fn configured_closed_sets_are_enums() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let mut jurisdictions: Vec<&str> = app
        .state
        .config
        .subject_rights
        .deadline_days
        .keys()
        .map(String::as_str)
        .collect();
    jurisdictions.sort_unstable();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "jurisdiction" {
                    assert_eq!(p["schema"]["enum"], json!(jurisdictions), "{method} {path}");
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 5, "jurisdiction parameters: {seen}");
    // An unlisted jurisdiction is refused, a listed one is not.
    let r = app
        .call(
            "GET",
            "/v1/subjects/u-1/export?jurisdiction=atlantis",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.code(), "unknown_jurisdiction", "{}", r.body);
    let purposes: Vec<String> = app
        .state
        .policy
        .purposes
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    let schemas = &doc["components"]["schemas"];
    for schema in ["DecisionInput", "SegmentInput", "CampaignInput"] {
        assert_eq!(
            schemas[schema]["properties"]["purpose"]["enum"],
            json!(purposes),
            "{schema}"
        );
    }
    // Linting answers an unknown purpose with a finding, so it is any purpose id there.
    assert!(
        schemas["LintRequest"]["properties"]["purpose"]
            .get("enum")
            .is_none()
    );
}
