//! Who may do what: every route against every kind of credential, as one table, plus the
//! attacks that drove the access model, each tried and refused.
//!
//! The table names, per route, the credentials that may use it; every other credential is
//! refused — 401 when it does not authenticate (none, revoked, expired), 403 when it does but
//! may not (a browser credential on a backend route, another person's token, a key from a
//! foreign origin). A refused request changes nothing: the people's data, the keys and the
//! audit log read the same before and after. The suite runs on SQLite and, through
//! `scripts/test.sh`, on PostgreSQL.

use axum::http::StatusCode;
use candor_domain::time::Timestamp;
use candor_server::subject_token;
use serde_json::{Value, json};

use crate::support::{NOW, SHOP_ORIGIN, TestApp, off_runtime};

/// The kinds of credential a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    NoCredential,
    /// The shop's publishable key, from the shop's origin.
    Publishable,
    /// The same key from another origin.
    PublishableForeign,
    /// The target visitor's own visitor token.
    VisitorSame,
    /// Another visitor's token, aimed at the target visitor.
    VisitorOther,
    /// The target person's session token, every scope.
    SubjectSame,
    /// The target person's session token with the `consent` scope only.
    SubjectConsentOnly,
    /// Another person's session token, aimed at the target person.
    SubjectOther,
    Ingest,
    Decide,
    Sessions,
    Admin,
    /// The admin key sent by a page of a foreign origin.
    AdminForeign,
    RevokedKey,
    ExpiredKey,
    ExpiredToken,
    RevokedToken,
}

use Cred::*;

const ALL_CREDS: [Cred; 17] = [
    NoCredential,
    Publishable,
    PublishableForeign,
    VisitorSame,
    VisitorOther,
    SubjectSame,
    SubjectConsentOnly,
    SubjectOther,
    Ingest,
    Decide,
    Sessions,
    Admin,
    AdminForeign,
    RevokedKey,
    ExpiredKey,
    ExpiredToken,
    RevokedToken,
];

/// Shorthands for the common sets.
const OWN: [Cred; 2] = [VisitorSame, SubjectSame];
const VISITORS: [Cred; 2] = [VisitorSame, VisitorOther];
const PEOPLE: [Cred; 2] = [SubjectSame, SubjectOther];

/// What a credential that may use a route gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// Anything but 401 and 403 (the request may still be bad: 400, 404, 422 are fine).
    Pass,
    /// 200, with every event refused as `subject_not_yours` (events of someone else).
    EventsRefused,
}

struct Row {
    method: &'static str,
    /// `{id}` is the target: the visitor's anonymous id for visitor credentials, `ann`
    /// otherwise.
    path: &'static str,
    /// `{who}` becomes `anonymousId` for visitor credentials and `userId` otherwise.
    body: Option<&'static str>,
    allowed: Vec<(Cred, Allowed)>,
}

fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    allowed: &[Cred],
) -> Row {
    Row {
        method,
        path,
        body,
        allowed: allowed.iter().map(|c| (*c, Allowed::Pass)).collect(),
    }
}

/// An events route: the owner's token and ingest keys pass, other people's tokens get their
/// events refused one by one.
fn events_row(path: &'static str, body: &'static str) -> Row {
    let mut r = row(
        "POST",
        path,
        Some(body),
        &[VisitorSame, SubjectSame, Ingest, Admin],
    );
    r.allowed.push((VisitorOther, Allowed::EventsRefused));
    r.allowed.push((SubjectOther, Allowed::EventsRefused));
    r
}

fn cat(sets: &[&[Cred]]) -> Vec<Cred> {
    sets.iter().flat_map(|s| s.iter().copied()).collect()
}

const EVENT: &str = r#"{"type": "track", "event": "Product Viewed", "{who}": "{id}", "properties": {"product_id": "sku-1"}}"#;

/// The table: every route of the API under `/v1/` and the credentials that may use it.
fn table() -> Vec<Row> {
    let grant = Some(r#"{"decisions": [{"purpose": "personalization", "decision": "granted"}]}"#);
    let policy_readers = cat(&[
        &[Publishable],
        &VISITORS,
        &PEOPLE,
        &[SubjectConsentOnly, Ingest, Decide, Admin],
    ]);
    let catalog_readers = cat(&[&VISITORS, &PEOPLE, &[Ingest, Decide, Admin]]);
    let admin = [Admin];
    vec![
        row("GET", "/v1/policy", None, &policy_readers),
        row("GET", "/v1/policy/data-map", None, &admin),
        // Consent.
        row(
            "PUT",
            "/v1/subjects/{id}/consents",
            grant,
            &cat(&[&OWN, &[SubjectConsentOnly, Ingest, Admin]]),
        ),
        row(
            "GET",
            "/v1/subjects/{id}/consents",
            None,
            &cat(&[&OWN, &[SubjectConsentOnly, Decide, Admin]]),
        ),
        row(
            "GET",
            "/v1/subjects/{id}/consents/history",
            None,
            &cat(&[&OWN, &[SubjectConsentOnly, Decide, Admin]]),
        ),
        row(
            "POST",
            "/v1/subjects/{id}/consent-signals",
            Some(r#"{"gpc": true}"#),
            &cat(&[&OWN, &[SubjectConsentOnly, Ingest, Admin]]),
        ),
        // Events.
        events_row("/v1/events", r#"{"events": [EVENT]}"#),
        events_row("/v1/batch", r#"{"batch": [EVENT]}"#),
        events_row("/v1/track", EVENT),
        events_row("/v1/page", r#"{"{who}": "{id}", "name": "Home"}"#),
        events_row(
            "/v1/identify",
            r#"{"{who}": "{id}", "traits": {"plan": "pro"}}"#,
        ),
        row(
            "GET",
            "/v1/subjects/{id}/events?purpose=support_request",
            None,
            &admin,
        ),
        row("GET", "/v1/stats/drops", None, &admin),
        row("GET", "/v1/stats/consent", None, &admin),
        // Catalog.
        row("PUT", "/v1/items", Some(r#"{"items": []}"#), &admin),
        row("GET", "/v1/items", None, &catalog_readers),
        row("GET", "/v1/items/sku-1", None, &catalog_readers),
        row("GET", "/v1/items/sku-1/similar", None, &catalog_readers),
        // Recommendations and the person's controls.
        row(
            "GET",
            "/v1/subjects/{id}/recommendations",
            None,
            &cat(&[&OWN, &[Decide, Admin]]),
        ),
        row(
            "GET",
            "/v1/subjects/{id}/preferences",
            None,
            &cat(&[&OWN, &[Ingest, Decide, Admin]]),
        ),
        row(
            "POST",
            "/v1/subjects/{id}/feedback",
            Some(r#"{"action": "not_interested", "category": "socks"}"#),
            &cat(&[&OWN, &[Ingest, Admin]]),
        ),
        row(
            "POST",
            "/v1/subjects/{id}/feedback",
            Some(r#"{"action": "pause_personalization"}"#),
            &OWN,
        ),
        row(
            "POST",
            "/v1/subjects/{id}/feedback",
            Some(r#"{"action": "remove_from_history", "item": "sku-1"}"#),
            &OWN,
        ),
        row(
            "PUT",
            "/v1/subjects/{id}/time-zone",
            Some(r#"{"time_zone": "Pacific/Kiritimati"}"#),
            &cat(&[&OWN, &[Ingest, Admin]]),
        ),
        // Sessions and keys.
        row(
            "POST",
            "/v1/visitor-sessions",
            Some("{}"),
            &cat(&[&[Publishable], &VISITORS]),
        ),
        row(
            "POST",
            "/v1/subject-tokens",
            Some(r#"{"subject": "{id}"}"#),
            &[Sessions, Admin],
        ),
        row("GET", "/v1/keys", None, &admin),
        row(
            "POST",
            "/v1/keys",
            Some(r#"{"scopes": ["ingest"]}"#),
            &admin,
        ),
        row("POST", "/v1/keys/0000000000000000/revoke", None, &admin),
        row(
            "POST",
            "/v1/keys/0000000000000000/rotate",
            Some("{}"),
            &admin,
        ),
        row("POST", "/v1/token-keys/rotate", None, &admin),
        // Data-subject rights: the person's own session token, or an operator.
        row(
            "GET",
            "/v1/subjects/{id}/export",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "PUT",
            "/v1/subjects/{id}/contact",
            Some(r#"{"email": "attacker@example.com"}"#),
            &[SubjectSame, Admin],
        ),
        row(
            "DELETE",
            "/v1/subjects/{id}/interests/socks",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "POST",
            "/v1/subjects/{id}/restriction",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "DELETE",
            "/v1/subjects/{id}/restriction",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "POST",
            "/v1/subjects/{id}/objection",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "GET",
            "/v1/subjects/{id}/explanations?item=sku-1",
            None,
            &[SubjectSame, Admin],
        ),
        row(
            "PUT",
            "/v1/subjects/{id}/audit-attributes",
            Some(r#"{"attributes": {"gender": "woman"}}"#),
            &[SubjectSame],
        ),
        row("GET", "/v1/dsr", None, &admin),
        row(
            "POST",
            "/v1/dsr/receipts/verify",
            Some(r#"{"receipt": {}, "signature": ""}"#),
            &[SubjectSame, SubjectOther, Ingest, Decide, Admin],
        ),
        // Accountability.
        row("GET", "/v1/audit", None, &admin),
        row("GET", "/v1/audit/head", None, &admin),
        row("GET", "/v1/audit/verify", None, &admin),
        row("GET", "/v1/fairness/slots/home", None, &admin),
        row("GET", "/v1/fairness/campaigns/spring", None, &admin),
        row(
            "POST",
            "/v1/fairness/campaigns/spring/acknowledge",
            Some(r#"{"note": "reviewed"}"#),
            &admin,
        ),
        row("GET", "/v1/fairness/flags", None, &admin),
        row("GET", "/metrics", None, &admin),
        // Segments, campaigns, decisions.
        row(
            "POST",
            "/v1/segments/lint",
            Some(r#"{"rule": "views(30d) >= 1", "purpose": "email_marketing"}"#),
            &admin,
        ),
        row(
            "POST",
            "/v1/segments",
            Some(
                r#"{"id": "s", "name": "S", "purpose": "email_marketing", "rule": "views(30d) >= 1"}"#,
            ),
            &admin,
        ),
        row("GET", "/v1/segments", None, &admin),
        row("GET", "/v1/segments/s", None, &admin),
        row("GET", "/v1/segments/s/preview", None, &admin),
        row("GET", "/v1/subjects/{id}/segments", None, &admin),
        row("POST", "/v1/campaigns", Some(r#"{"id": "c"}"#), &admin),
        row("GET", "/v1/campaigns", None, &admin),
        row("GET", "/v1/campaigns/c", None, &admin),
        row("POST", "/v1/campaigns/c/run", Some("{}"), &admin),
        row("GET", "/v1/subjects/{id}/campaigns", None, &[Decide, Admin]),
        row(
            "POST",
            "/v1/decide",
            Some(r#"{"subject": "{id}", "channel": "email", "campaigns": ["c"]}"#),
            &[Decide, Admin],
        ),
        // Last, as they end the person's sessions.
        row(
            "POST",
            "/v1/subjects/{id}/sessions/revoke",
            None,
            &[SubjectSame, Admin],
        ),
        row("DELETE", "/v1/subjects/{id}", None, &[SubjectSame, Admin]),
    ]
}

/// Every credential of the table, made for one test app.
struct Creds {
    visitor: String,
    visitor_token: String,
    other_visitor_token: String,
    ann: String,
    ann_consent_only: String,
    bob: String,
    revoked_key: String,
    expired_key: String,
    expired_token: String,
    revoked_token: String,
}

impl Creds {
    /// The `Authorization` value and extra headers of `cred`.
    fn of<'a>(
        &'a self,
        app: &'a TestApp,
        cred: Cred,
    ) -> (Option<&'a str>, Vec<(&'static str, &'static str)>) {
        let shop = vec![("origin", SHOP_ORIGIN)];
        let foreign = vec![("origin", "https://evil.example")];
        match cred {
            NoCredential => (None, vec![]),
            Publishable => (Some(&app.publishable), shop),
            PublishableForeign => (Some(&app.publishable), foreign),
            VisitorSame => (Some(&self.visitor_token), shop),
            VisitorOther => (Some(&self.other_visitor_token), shop),
            SubjectSame => (Some(&self.ann), shop),
            SubjectConsentOnly => (Some(&self.ann_consent_only), shop),
            SubjectOther => (Some(&self.bob), shop),
            Ingest => (Some(&app.ingest), vec![]),
            Decide => (Some(&app.decide), vec![]),
            Sessions => (Some(&app.sessions), vec![]),
            Admin => (Some(&app.admin), vec![]),
            AdminForeign => (Some(&app.admin), foreign),
            RevokedKey => (Some(&self.revoked_key), vec![]),
            ExpiredKey => (Some(&self.expired_key), vec![]),
            ExpiredToken => (Some(&self.expired_token), shop),
            RevokedToken => (Some(&self.revoked_token), shop),
        }
    }

    fn target(&self, cred: Cred) -> &str {
        match cred {
            VisitorSame | VisitorOther => &self.visitor,
            _ => "ann",
        }
    }
}

/// A fresh app with ann and bob known, a catalog item, and one credential of each kind.
async fn setup() -> (TestApp, Creds) {
    let app = TestApp::new();
    let r = app
        .call(
            "PUT",
            "/v1/items",
            Some(&app.admin),
            Some(json!({"items": [{"id": "sku-1", "title": "Socks", "categories": ["socks"]}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for who in ["ann", "bob"] {
        let r = app
            .call(
                "PUT",
                &format!("/v1/subjects/{who}/consents"),
                Some(&app.ingest),
                Some(json!({"decisions": [
                    {"purpose": "personalization", "decision": "granted"},
                    {"purpose": "email_marketing", "decision": "granted"}]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // A token for ann issued before she signed out everywhere.
    let revoked_token = app.subject_token("ann", &[]).await;
    let r = app
        .call(
            "POST",
            "/v1/subjects/ann/sessions/revoke",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A key revoked, and one past its expiry.
    let revoked_key = new_key(&app, &["admin"]).await;
    let id = revoked_key.split('_').nth(2).unwrap().to_owned();
    let r = app
        .call(
            "POST",
            &format!("/v1/keys/{id}/revoke"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            "POST",
            "/v1/keys",
            Some(&app.admin),
            Some(json!({"scopes": ["admin"], "ttl_seconds": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let expired_key = r.body["key"].as_str().unwrap().to_owned();
    // Later: the key has expired and ann's fresh tokens postdate her revocation.
    let app = app.at(Timestamp::from_millis(NOW + 60_000));
    let (visitor, visitor_token) = app.visitor().await;
    let (_, other_visitor_token) = app.visitor().await;
    let signing = candor_server::token_keys::signing_key(&app.state)
        .await
        .unwrap();
    let now = app.state.now();
    let expired_token = subject_token::issue(
        &signing,
        app.state.secret.as_bytes(),
        &app.state.subject_key("ann").unwrap(),
        subject_token::TokenScopes::all(),
        now.plus_millis(-2_000),
        now.plus_millis(-1_000),
    );
    let creds = Creds {
        ann: app.subject_token("ann", &[]).await,
        ann_consent_only: app.subject_token("ann", &["consent"]).await,
        bob: app.subject_token("bob", &[]).await,
        visitor,
        visitor_token,
        other_visitor_token,
        revoked_key,
        expired_key,
        expired_token,
        revoked_token,
    };
    (app, creds)
}

async fn new_key(app: &TestApp, scopes: &[&str]) -> String {
    let r = app
        .call(
            "POST",
            "/v1/keys",
            Some(&app.admin),
            Some(json!({"scopes": scopes})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["key"].as_str().unwrap().to_owned()
}

/// What must not change when a request is refused: the target people's data, the keys and
/// the audit log.
fn snapshot(app: &TestApp, ids: &[&str]) -> String {
    let state = app.state.clone();
    let keys: Vec<_> = ids
        .iter()
        .map(|id| state.subject_key(id).unwrap())
        .collect();
    off_runtime(move || {
        let store = state.store.as_ref();
        let mut out = String::new();
        for k in &keys {
            out += &format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}\n",
                store.subject_footprint(k).unwrap(),
                store.preferences(k).unwrap(),
                store.consent_records(k).unwrap(),
                store.subject(k).unwrap().map(|s| s.facts),
                store.contact(k).unwrap(),
                store.audit_attributes(k).unwrap(),
                store
                    .tokens_not_before(&subject_token::revocation_ref(&[7; 32], k))
                    .unwrap(),
            );
        }
        out += &format!("{:?}\n", store.api_keys().unwrap());
        out += &format!("{:?}", store.audit_head().unwrap().map(|e| e.seq));
        out
    })
}

fn fill(template: &str, cred: Cred, creds: &Creds) -> String {
    let who = match cred {
        VisitorSame | VisitorOther => "anonymousId",
        _ => "userId",
    };
    template
        .replace("EVENT", EVENT)
        .replace("{who}", who)
        .replace("{id}", creds.target(cred))
}

#[tokio::test]
async fn every_route_against_every_credential() {
    let rows = table();
    let mut checked = 0;
    for r in &rows {
        // A fresh app per route: allowed writes (erasure, sign-out) must not colour the next.
        let (app, creds) = setup().await;
        let allowed = |c: Cred| r.allowed.iter().find(|(a, _)| *a == c).map(|(_, how)| *how);
        // Refusals first, each checked to change nothing.
        let before = snapshot(&app, &["ann", "bob", &creds.visitor]);
        for cred in ALL_CREDS.into_iter().filter(|c| allowed(*c).is_none()) {
            let (auth, headers) = creds.of(&app, cred);
            let path = fill(r.path, cred, &creds);
            let body = r
                .body
                .map(|b| serde_json::from_str::<Value>(&fill(b, cred, &creds)).unwrap());
            let res = app.call_with(r.method, &path, auth, body, &headers).await;
            let expected = match cred {
                NoCredential | RevokedKey | ExpiredKey | ExpiredToken | RevokedToken => {
                    StatusCode::UNAUTHORIZED
                }
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(
                res.status, expected,
                "{} {path} with {cred:?} must be refused: {}",
                r.method, res.body
            );
            let code = res.code();
            let fitting = match cred {
                NoCredential => code == "unauthenticated",
                RevokedKey => code == "key_revoked",
                ExpiredKey => code == "key_expired",
                ExpiredToken => code == "token_expired",
                RevokedToken => code == "token_revoked",
                PublishableForeign => code == "origin_not_allowed",
                AdminForeign => code == "server_key_from_browser",
                _ => !code.is_empty() && code != "<none>",
            };
            assert!(fitting, "{} {path} with {cred:?}: code {code}", r.method);
            checked += 1;
        }
        assert_eq!(
            snapshot(&app, &["ann", "bob", &creds.visitor]),
            before,
            "{} {}: a refused request changed something",
            r.method,
            r.path
        );
        // Then what is allowed, the person's own tokens before the operator's keys (an
        // erasure or sign-out by either ends the person's sessions).
        for (cred, how) in &r.allowed {
            let (auth, headers) = creds.of(&app, *cred);
            let path = fill(r.path, *cred, &creds);
            let body = r
                .body
                .map(|b| serde_json::from_str::<Value>(&fill(b, *cred, &creds)).unwrap());
            let res = app.call_with(r.method, &path, auth, body, &headers).await;
            match how {
                Allowed::Pass => assert!(
                    res.status != StatusCode::UNAUTHORIZED && res.status != StatusCode::FORBIDDEN,
                    "{} {path} with {cred:?} must pass: {} {}",
                    r.method,
                    res.status,
                    res.body
                ),
                Allowed::EventsRefused => {
                    assert_eq!(
                        res.status,
                        StatusCode::OK,
                        "{} {path} with {cred:?}: {}",
                        r.method,
                        res.body
                    );
                    for result in res.body["results"].as_array().unwrap() {
                        assert_eq!(result["status"], "invalid", "{path} with {cred:?}");
                        assert_eq!(
                            result["reason"], "subject_not_yours",
                            "{path} with {cred:?}"
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, rows.len() * ALL_CREDS.len());
}
