//! Request bodies as analytics libraries send them: compressed (with the decompressed size
//! held to the body limit), under their content types, with the write key in the body, and
//! with the device's clock corrected by `sentAt`.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use candor_domain::time::Timestamp;
use serde_json::{Value, json};

use crate::support::{SHOP_ORIGIN, TestApp};

async fn grant(app: &TestApp, subject: &str) {
    let r = app
        .call(
            "PUT",
            &format!("/v1/subjects/{subject}/consents"),
            Some(&app.ingest),
            Some(json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A batch as the libraries send it (RudderStack's add the batch's own `timestamp`).
fn batch(user: &str) -> Value {
    json!({"timestamp": "2026-11-23T09:00:01Z", "batch": [{"type": "track", "event": "Product Viewed", "userId": user,
        "messageId": format!("m-{user}"), "timestamp": "2026-11-23T09:00:00Z",
        "properties": {"product_id": "sku-1"}}]})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Segment's and RudderStack's libraries: `Basic base64(key:)`.
fn basic(key: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    format!("Basic {encoded}")
}

fn request(
    path: &str,
    auth: Option<&str>,
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::builder().method("POST").uri(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(t) = content_type {
        req = req.header("content-type", t);
    }
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    req.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn compressed_bodies_are_read_as_sdks_send_them() {
    let app = TestApp::new();
    type Encode = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, &str, Encode); 4] = [
        // RudderStack's Python library.
        ("gz", "application/json", gzip),
        // RudderStack's Node library labels its gzipped JSON as a form.
        ("form", "application/x-www-form-urlencoded", gzip),
        ("zlib", "application/json", zlib),
        ("raw", "application/json", raw_deflate),
    ];
    for (user, content_type, encode) in cases {
        grant(&app, user).await;
        let encoding = if user == "gz" || user == "form" {
            "gzip"
        } else {
            "deflate"
        };
        let body = encode(batch(user).to_string().as_bytes());
        let r = app
            .send(request(
                "/v1/batch",
                Some(&basic(&app.ingest)),
                Some(content_type),
                Some(encoding),
                body,
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{user}: {}", r.body);
        assert_eq!(r.body["accepted"], 1, "{user}: {}", r.body);
    }
    // Every JSON body is read the same way, not only events.
    let body = json!({"decisions": [{"purpose": "analytics", "decision": "granted"}]});
    let mut req = request(
        "/v1/subjects/zed/consents",
        Some(&format!("Bearer {}", app.ingest)),
        Some("application/json"),
        Some("gzip"),
        gzip(body.to_string().as_bytes()),
    );
    *req.method_mut() = axum::http::Method::PUT;
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn decompressed_size_counts_against_the_body_limit() {
    let app = TestApp::with_config(|c| c.limits.request_body_bytes_max = 4096);
    // 1 MB of spaces inside valid JSON compresses to about a kilobyte: a small bomb.
    let mut text = batch("bomb").to_string();
    text.insert_str(1, &" ".repeat(1 << 20));
    let body = gzip(text.as_bytes());
    assert!(body.len() < 4096, "the compressed body fits the limit");
    let r = app
        .send(request(
            "/v1/batch",
            Some(&basic(&app.ingest)),
            Some("application/json"),
            Some("gzip"),
            body,
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // The same bomb on any JSON route, and a plain body over the limit.
    let mut req = request(
        "/v1/subjects/zed/consents",
        Some(&format!("Bearer {}", app.ingest)),
        Some("application/json"),
        Some("deflate"),
        zlib(text.as_bytes()),
    );
    *req.method_mut() = axum::http::Method::PUT;
    assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = app
        .send(request(
            "/v1/batch",
            Some(&basic(&app.ingest)),
            Some("application/json"),
            None,
            text.into_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit once decoded is fine.
    grant(&app, "fits").await;
    let mut text = batch("fits").to_string();
    text.insert_str(1, &" ".repeat(4000 - text.len()));
    let r = app
        .send(request(
            "/v1/batch",
            Some(&basic(&app.ingest)),
            Some("application/json"),
            Some("gzip"),
            gzip(text.as_bytes()),
        ))
        .await;
    assert_eq!((r.status, &r.body["accepted"]), (StatusCode::OK, &json!(1)));
}

#[tokio::test]
async fn bad_encodings_and_types_are_refused_with_their_codes() {
    let app = TestApp::new();
    let auth = basic(&app.ingest);
    let body = batch("x").to_string().into_bytes();
    let cases = [
        (
            Some("application/json"),
            Some("gzip"),
            body.clone(),
            StatusCode::BAD_REQUEST,
            "malformed_encoding",
        ),
        (
            Some("application/json"),
            Some("br"),
            body.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Some("application/json"),
            Some("gzip, gzip"),
            gzip(&gzip(&body)),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Some("text/html"),
            None,
            body.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            None,
            None,
            body.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Some("text/plain"),
            Some("gzip"),
            gzip(b"{\"batch\": ["),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
    ];
    for (content_type, encoding, body, status, code) in cases {
        let r = app
            .send(request(
                "/v1/batch",
                Some(&auth),
                content_type,
                encoding,
                body,
            ))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{content_type:?} {encoding:?}"
        );
    }
    // The lenient types are for the ingestion endpoints only.
    let mut req = request(
        "/v1/subjects/zed/consents",
        Some(&format!("Bearer {}", app.ingest)),
        Some("text/plain"),
        None,
        json!({"decisions": []}).to_string().into_bytes(),
    );
    *req.method_mut() = axum::http::Method::PUT;
    assert_eq!(
        app.send(req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn a_body_write_key_is_read_exactly_like_the_header() {
    let app = TestApp::new();
    grant(&app, "ada").await;
    let with_key = |key: &str, user: &str| {
        let mut b = batch(user);
        b["writeKey"] = json!(key);
        b.to_string().into_bytes()
    };
    // A beacon: text/plain, no header, the server key in the body.
    let r = app
        .send(request(
            "/v1/batch",
            None,
            Some("text/plain"),
            None,
            with_key(&app.ingest, "ada"),
        ))
        .await;
    assert_eq!(
        (r.status, &r.body["accepted"]),
        (StatusCode::OK, &json!(1)),
        "{}",
        r.body
    );
    // Single calls carry it in the event.
    let mut track = batch("ada")["batch"][0].clone();
    track["messageId"] = json!("m-track");
    track["writeKey"] = json!(app.ingest);
    let r = app
        .send(request(
            "/v1/track",
            None,
            Some("text/plain"),
            None,
            track.to_string().into_bytes(),
        ))
        .await;
    assert_eq!(
        (r.status, &r.body["accepted"]),
        (StatusCode::OK, &json!(1)),
        "{}",
        r.body
    );

    // A visitor token sends its own visitor's events, as with the header.
    let (anonymous_id, visitor) = app.visitor().await;
    let own =
        json!({"writeKey": visitor, "batch": [{"type": "page", "anonymousId": anonymous_id}]});
    let r = app
        .send(request(
            "/v1/batch",
            None,
            Some("text/plain"),
            None,
            own.to_string().into_bytes(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let other = json!({"writeKey": visitor, "batch": [{"type": "page", "userId": "ada"}]});
    let r = app
        .send(request(
            "/v1/batch",
            None,
            Some("text/plain"),
            None,
            other.to_string().into_bytes(),
        ))
        .await;
    assert_eq!(
        r.body["results"][0]["reason"], "subject_not_yours",
        "{}",
        r.body
    );

    // Refusals: each as the header would be refused, and nothing is stored.
    let mut refused = vec![
        (
            with_key(&app.publishable, "ada"),
            None,
            StatusCode::FORBIDDEN,
            "publishable_key_not_allowed",
        ),
        (
            with_key(&app.decide, "ada"),
            None,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            with_key("cnd_sk_nope_nope", "ada"),
            None,
            StatusCode::UNAUTHORIZED,
            "key_invalid",
        ),
        (
            with_key("", "ada"),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            batch("ada").to_string().into_bytes(),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        // A server key in a page is refused, in the body as in the header.
        (
            with_key(&app.ingest, "ada"),
            Some(SHOP_ORIGIN),
            StatusCode::FORBIDDEN,
            "server_key_from_browser",
        ),
    ];
    let mut not_a_string = batch("ada");
    not_a_string["writeKey"] = json!(42);
    refused.push((
        not_a_string.to_string().into_bytes(),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    ));
    for (body, origin, status, code) in refused {
        let mut req = request("/v1/batch", None, Some("text/plain"), None, body);
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        let r = app.send(req).await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }
    // Header and body must agree.
    let r = app
        .send(request(
            "/v1/batch",
            Some(&basic(&app.ingest)),
            Some("application/json"),
            None,
            with_key(&app.admin, "ada"),
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "write_key_mismatch")
    );
    let r = app
        .send(request(
            "/v1/batch",
            Some(&basic(&app.ingest)),
            Some("application/json"),
            None,
            with_key(&app.ingest, "ada"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = app
        .call(
            "GET",
            "/v1/subjects/ada/events?limit=50&purpose=analytics",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    // The beacon's event and the track call; the rest were refused or duplicates.
    assert_eq!(
        stored.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        stored.body
    );
}

#[tokio::test]
async fn sent_at_corrects_the_device_clock() {
    // The device stamped its events 09:00. It said it sent the batch at its 09:30, when the
    // server's clock said 10:00: its clock is 30 minutes slow, so the event happened at 09:30.
    let received = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let app = TestApp::new().at(received);
    grant(&app, "ada").await;
    let mut b = batch("ada");
    b["sentAt"] = json!("2026-11-23T09:30:00Z");
    // An event's own sentAt wins over the batch's.
    let mut second = b["batch"][0].clone();
    second["messageId"] = json!("m-2");
    second["sentAt"] = json!("2026-11-23T10:00:00Z");
    b["batch"].as_array_mut().unwrap().push(second);
    let r = app
        .call("POST", "/v1/batch", Some(&app.ingest), Some(b))
        .await;
    assert_eq!(r.body["accepted"], 2, "{}", r.body);
    let stored = app
        .call(
            "GET",
            "/v1/subjects/ada/events?limit=50&purpose=analytics",
            Some(&app.admin),
            None,
        )
        .await;
    let mut times: Vec<&str> = stored.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    times.sort_unstable();
    assert_eq!(
        times,
        ["2026-11-23T09:00:00.000Z", "2026-11-23T09:30:00.000Z"]
    );

    // A sentAt that is not a time refuses its event, with its own reason.
    let mut bad = batch("ada");
    bad["batch"][0]["messageId"] = json!("m-3");
    bad["sentAt"] = json!("yesterday");
    let r = app
        .call("POST", "/v1/batch", Some(&app.ingest), Some(bad))
        .await;
    assert_eq!(
        r.body["results"][0]["reason"], "invalid_sent_at",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn alias_is_refused_per_event_with_what_to_send_instead() {
    let app = TestApp::new();
    grant(&app, "ada").await;
    let mut b = batch("ada");
    b["batch"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "alias", "userId": "ada", "previousId": "anon-1"}));
    let r = app
        .call("POST", "/v1/batch", Some(&app.ingest), Some(b))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 1);
    let alias = &r.body["results"][1];
    assert_eq!(
        (&alias["status"], &alias["reason"]),
        (&json!("invalid"), &json!("unsupported_call"))
    );
    assert!(
        alias["message"].as_str().unwrap().contains("identify"),
        "{alias}"
    );
}
