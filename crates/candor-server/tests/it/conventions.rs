//! HTTP conventions: auth, errors, limits, health, OpenAPI.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new();
    let r = app.call("GET", "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = app.call("GET", "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_missing_empty_or_wrong_key_never_opens_anything() {
    let app = TestApp::new();
    let path = "/v1/subjects/u1/consents";
    for (key, code) in [
        (None, "unauthenticated"),
        (Some(String::new()), "unauthenticated"),
        (
            Some("cnd_0000000000000000_".to_owned() + &"0".repeat(64)),
            "key_invalid",
        ),
        (
            Some("cnd_sk_0000000000000000_".to_owned() + &"0".repeat(64)),
            "key_invalid",
        ),
        (Some("not-a-key".to_owned()), "key_invalid"),
    ] {
        let r = app.call("GET", path, key.as_deref(), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(r.code(), code);
    }
    // A real key with a wrong secret part is refused too, also while the key's record is
    // cached from a request just made with the right secret.
    let r = app.call("GET", path, Some(&app.admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let forged = format!("{}{}", &app.admin[..app.admin.len() - 4], "0000");
    let r = app.call("GET", path, Some(&forged), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.call("GET", path, Some(&app.admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn scopes_are_enforced() {
    let app = TestApp::new();
    let path = "/v1/subjects/u1/consents";
    let body = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]});
    // An ingest key (embedded in web pages) may record consent but not read it back.
    assert_eq!(
        app.call("PUT", path, Some(&app.ingest), Some(body.clone()))
            .await
            .status,
        StatusCode::OK
    );
    let r = app.call("GET", path, Some(&app.ingest), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "insufficient_scope");
    // A decide key reads but does not write.
    assert_eq!(
        app.call("GET", path, Some(&app.decide), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("PUT", path, Some(&app.decide), Some(body))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Only admin reads the data map.
    assert_eq!(
        app.call("GET", "/v1/policy/data-map", Some(&app.decide), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .call("GET", "/v1/policy/data-map", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["purposes"].as_array().unwrap().len() >= 5);
}

#[tokio::test]
async fn errors_have_stable_codes() {
    let app = TestApp::new();
    let r = app
        .call("GET", "/v1/nothing-here", Some(&app.admin), None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .call("DELETE", "/v1/policy", Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let path = "/v1/subjects/u1/consents";
    // Malformed JSON.
    let req = Request::builder()
        .method("PUT")
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(Body::from("{\"decisions\": ["))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    // Not JSON at all.
    let req = Request::builder()
        .method("PUT")
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::from("decisions=1"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    // Invalid UTF-8 in a JSON body.
    let req = Request::builder()
        .method("PUT")
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(Body::from(vec![
            b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}',
        ]))
        .unwrap();
    let r = app.send(req).await;
    assert!(r.status.is_client_error(), "{:?}", r.status);
    // Unknown fields are rejected with the field named.
    let r = app
        .call(
            "PUT",
            path,
            Some(&app.admin),
            Some(json!({"decisions": [], "colour": "red"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        r.body
    );
    // Wrong types.
    let r = app
        .call(
            "PUT",
            path,
            Some(&app.admin),
            Some(json!({"decisions": "all"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
}

#[tokio::test]
async fn body_size_is_limited() {
    let app = TestApp::new();
    let huge = "x".repeat(app.state.config.limits.request_body_bytes_max + 10);
    let r = app
        .call(
            "PUT",
            "/v1/subjects/u1/consents",
            Some(&app.admin),
            Some(json!({"decisions": [], "evidence": huge})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn subject_ids_are_checked() {
    let app = TestApp::new();
    let long = "u".repeat(300);
    let r = app
        .call(
            "GET",
            &format!("/v1/subjects/{long}/consents"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_subject_id")
    );
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let app = TestApp::new();
    let r = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(r.body["paths"]["/v1/subjects/{id}/consents"]["put"].is_object());
    assert!(r.body["components"]["securitySchemes"]["api_key"].is_object());
}

#[tokio::test]
async fn openapi_document_lists_the_refusals_every_operation_can_give() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let error_ref = json!({"$ref": "#/components/schemas/ErrorBody"});
    let mut n_secured = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let documents = |status: &str| {
                let r = &responses[status];
                assert!(r.is_object(), "{method} {path} does not document {status}");
                if status != "200" {
                    assert_eq!(
                        r["content"]["application/json"]["schema"], error_ref,
                        "{method} {path} {status}"
                    );
                }
            };
            for status in ["408", "503"] {
                documents(status);
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                n_secured += 1;
                for status in ["401", "403", "429"] {
                    documents(status);
                }
            }
            if op["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    documents(status);
                }
            }
        }
    }
    assert!(n_secured > 50, "{n_secured} secured operations");
    // The ingestion endpoints take JSON under the types analytics libraries use.
    let content = &doc["paths"]["/v1/batch"]["post"]["requestBody"]["content"];
    for t in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        assert!(content[t]["schema"].is_object(), "{t}");
    }
}

#[tokio::test]
async fn openapi_types_suppressed_counts_as_they_are_sent() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let schemas = &doc["components"]["schemas"];
    let shown = json!("#/components/schemas/ShownCount");
    let kinds: Vec<&Value> = schemas["ShownCount"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["type"])
        .collect();
    assert_eq!(kinds, [&json!("integer"), &json!("string")]);
    assert_eq!(schemas["PreviewBody"]["properties"]["size"]["$ref"], shown);
    assert_eq!(schemas["RunBody"]["properties"]["total"]["$ref"], shown);
    assert_eq!(
        schemas["RunBody"]["properties"]["excluded"]["additionalProperties"]["$ref"],
        shown
    );
    assert_eq!(
        schemas["ConsentBucketBody"]["properties"]["granted"]["$ref"],
        shown
    );
}

#[tokio::test]
async fn gpc_well_known_is_served() {
    let app = TestApp::new();
    let r = app.call("GET", "/.well-known/gpc.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["gpc"], true);
}

#[tokio::test]
async fn policy_lists_purposes_for_banners() {
    let app = TestApp::new();
    let r = app.call("GET", "/v1/policy", Some(&app.ingest), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let ads = r.body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "targeted_advertising")
        .unwrap();
    assert_eq!(ads["requires_consent"], true);
    assert_eq!(ads["sale_or_sharing"], true);
}

/// The constraints the handlers check are in the document, so a client (or a generated one)
/// that keeps to the document is not refused for them, and one that does not is refused.
#[tokio::test]
async fn openapi_states_the_limits_the_handlers_check() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let param = |path: &str, method: &str, name: &str| -> Value {
        let params = doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no parameters"));
        let p = params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
        p.clone()
    };
    // Every parameter of a struct of query parameters is in the query, and optional.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name} is not in the path"
                    );
                }
            }
        }
    }
    let limits = candor_app::config::Limits::default();
    let subject_id = param("/v1/subjects/{id}/consents", "put", "id");
    assert_eq!(subject_id["schema"]["minLength"], 1);
    assert_eq!(
        subject_id["schema"]["maxLength"],
        candor_domain::ids::EXTERNAL_ID_CHARS_MAX
    );
    assert!(subject_id["schema"]["pattern"].is_string());
    for path in [
        "/v1/audit",
        "/v1/items",
        "/v1/dsr",
        "/v1/subjects/{id}/events",
    ] {
        let limit = param(path, "get", "limit");
        assert_eq!(limit["in"], "query", "{path}");
        assert_eq!(limit["required"], json!(false), "{path}");
        assert_eq!(limit["schema"]["minimum"], 1, "{path}");
        assert_eq!(limit["schema"]["maximum"], limits.page_len_max, "{path}");
    }
    let n = param("/v1/subjects/{id}/recommendations", "get", "n");
    assert_eq!(n["schema"]["maximum"], limits.recommendations_n_max);
    let diversity = param("/v1/subjects/{id}/recommendations", "get", "diversity");
    assert_eq!(
        (
            &diversity["schema"]["minimum"],
            &diversity["schema"]["maximum"]
        ),
        (&json!(0), &json!(1))
    );
    let days = param("/v1/stats/drops", "get", "days");
    assert_eq!(days["schema"]["maximum"], 400);
    assert_eq!(
        param("/v1/fairness/flags", "get", "k_min")["schema"]["minimum"],
        2
    );
    assert!(param("/v1/dsr", "get", "status")["schema"]["pattern"].is_string());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["EventsBody"]["properties"]["events"]["maxItems"],
        limits.event_batch_len_max
    );
    assert_eq!(
        schemas["SegmentBatch"]["properties"]["batch"]["maxItems"],
        limits.event_batch_len_max
    );
}

/// What the document forbids, the handlers refuse: a single call's body that is not an
/// object, and a `k_min` past the stated maximum.
#[tokio::test]
async fn what_the_document_forbids_is_refused() {
    let app = TestApp::new();
    for path in ["/v1/track", "/v1/page", "/v1/identify"] {
        let r = app
            .call("POST", path, Some(&app.ingest), Some(json!([null])))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            "{path}"
        );
    }
    let r = app
        .call(
            "GET",
            "/v1/fairness/flags?k_min=1000001",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_k_min")
    );
}

/// Every operation has an example: of its body when it takes one, of every parameter, and of
/// its answer when it takes nothing.
#[tokio::test]
async fn openapi_has_an_example_on_every_operation() {
    let app = TestApp::new();
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in &params {
                if p.get("example").is_none() {
                    missing.push(format!("{method} {path} parameter {}", p["name"]));
                }
            }
            let body = &op["requestBody"]["content"];
            if let Some(content) = body.as_object() {
                for (media, c) in content {
                    if c.get("example").is_none() {
                        missing.push(format!("{method} {path} body {media}"));
                    }
                }
            } else if params.is_empty() {
                let answered = op["responses"]["200"]["content"]
                    .as_object()
                    .is_some_and(|c| c.values().any(|c| c.get("example").is_some()));
                if !answered {
                    missing.push(format!("{method} {path} answer"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "no example: {missing:#?}");
}
