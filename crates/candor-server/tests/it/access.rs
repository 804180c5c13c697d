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
use candor_app::subject_token;
use candor_domain::time::Timestamp;
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
    /// The route also takes its credential as the body's `writeKey` (the ingestion routes):
    /// every credential is tried that way too, and must fare exactly as in the header.
    write_key: bool,
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
        write_key: false,
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
    r.write_key = true;
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
        // The short paths of Segment's browser library.
        events_row("/v1/b", r#"{"batch": [EVENT]}"#),
        events_row("/v1/t", EVENT),
        events_row("/v1/p", r#"{"{who}": "{id}", "name": "Home"}"#),
        events_row("/v1/i", r#"{"{who}": "{id}", "traits": {"plan": "pro"}}"#),
        row(
            "GET",
            "/v1/subjects/{id}/events?purpose=support_request",
            None,
            &admin,
        ),
        row("GET", "/v1/stats/drops", None, &admin),
        row("GET", "/v1/stats/consent", None, &admin),
        // Private analytics: a refusal must not spend the budget either.
        row("GET", "/v1/analytics/conversions?by=week", None, &admin),
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
        // Experiments.
        row("POST", "/v1/experiments", Some(r#"{"id": "x"}"#), &admin),
        row("GET", "/v1/experiments", None, &admin),
        row("GET", "/v1/experiments/x", None, &admin),
        row("POST", "/v1/experiments/x/stop", None, &admin),
        row("GET", "/v1/experiments/x/report", None, &admin),
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
    let signing = candor_app::signing::signing_key(&app.state).await.unwrap();
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
        out += &format!("{:?}\n", store.audit_head().unwrap().map(|e| e.seq));
        let today = i32::try_from(NOW / 86_400_000).unwrap();
        let conversions = candor_analytics::ReportFamily::parse("conversions").unwrap();
        out += &format!(
            "{:?}",
            store
                .budget_spent(&conversions, today - 60, today + 7)
                .unwrap()
        );
        out
    })
}

/// Where a request carries its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Header,
    /// The body's `writeKey`, without an `Authorization` header.
    WriteKey,
}

/// The request of `row` with `cred`, carried as `carrier` says: (`Authorization`, headers,
/// body).
fn request<'a>(
    app: &'a TestApp,
    creds: &'a Creds,
    row: &Row,
    cred: Cred,
    carrier: Carrier,
) -> (
    Option<&'a str>,
    Vec<(&'static str, &'static str)>,
    Option<Value>,
) {
    let (auth, headers) = creds.of(app, cred);
    let mut body = row
        .body
        .map(|b| serde_json::from_str::<Value>(&fill(b, cred, creds)).unwrap());
    if carrier == Carrier::Header {
        return (auth, headers, body);
    }
    if let (Some(key), Some(Value::Object(fields))) = (auth, body.as_mut()) {
        fields.insert("writeKey".into(), Value::from(key));
    }
    (None, headers, body)
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
    let mut expected_checks = 0;
    for r in &rows {
        let carriers: &[Carrier] = if r.write_key {
            &[Carrier::Header, Carrier::WriteKey]
        } else {
            &[Carrier::Header]
        };
        expected_checks += carriers.len() * ALL_CREDS.len();
        for carrier in carriers.iter().copied() {
            check_row(r, carrier, &mut checked).await;
        }
    }
    assert_eq!(checked, expected_checks);
}

/// Every credential against one route, carried as `carrier` says.
async fn check_row(r: &Row, carrier: Carrier, checked: &mut usize) {
    // A fresh app per route: allowed writes (erasure, sign-out) must not colour the next.
    let (app, creds) = setup().await;
    let allowed = |c: Cred| r.allowed.iter().find(|(a, _)| *a == c).map(|(_, how)| *how);
    // Refusals first, each checked to change nothing.
    let before = snapshot(&app, &["ann", "bob", &creds.visitor]);
    for cred in ALL_CREDS.into_iter().filter(|c| allowed(*c).is_none()) {
        let (auth, headers, body) = request(&app, &creds, r, cred, carrier);
        let path = fill(r.path, cred, &creds);
        let res = app.call_with(r.method, &path, auth, body, &headers).await;
        let expected = match cred {
            NoCredential | RevokedKey | ExpiredKey | ExpiredToken | RevokedToken => {
                StatusCode::UNAUTHORIZED
            }
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(
            res.status, expected,
            "{} {path} with {cred:?} ({carrier:?}) must be refused: {}",
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
        assert!(
            fitting,
            "{} {path} with {cred:?} ({carrier:?}): code {code}",
            r.method
        );
        *checked += 1;
    }
    assert_eq!(
        snapshot(&app, &["ann", "bob", &creds.visitor]),
        before,
        "{} {} ({carrier:?}): a refused request changed something",
        r.method,
        r.path
    );
    // Then what is allowed, the person's own tokens before the operator's keys (an
    // erasure or sign-out by either ends the person's sessions).
    for (cred, how) in &r.allowed {
        let (auth, headers, body) = request(&app, &creds, r, *cred, carrier);
        let path = fill(r.path, *cred, &creds);
        let res = app.call_with(r.method, &path, auth, body, &headers).await;
        match how {
            Allowed::Pass => assert!(
                res.status != StatusCode::UNAUTHORIZED && res.status != StatusCode::FORBIDDEN,
                "{} {path} with {cred:?} ({carrier:?}) must pass: {} {}",
                r.method,
                res.status,
                res.body
            ),
            Allowed::EventsRefused => {
                assert_eq!(
                    res.status,
                    StatusCode::OK,
                    "{} {path} with {cred:?} ({carrier:?}): {}",
                    r.method,
                    res.body
                );
                for result in res.body["results"].as_array().unwrap() {
                    assert_eq!(result["status"], "invalid", "{path} with {cred:?}");
                    assert_eq!(
                        result["reason"], "subject_not_yours",
                        "{path} with {cred:?} ({carrier:?})"
                    );
                }
            }
        }
        *checked += 1;
    }
}

// --- The attacks that drove the access model, each as a regression test. ---

async fn audit_actions(app: &TestApp) -> Vec<Value> {
    let r = app
        .call("GET", "/v1/audit?limit=200", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn contact_of(app: &TestApp, id: &str) -> Vec<(String, Vec<u8>)> {
    let state = app.state.clone();
    let key = state.subject_key(id).unwrap();
    off_runtime(move || state.store.contact(&key).unwrap())
}

#[tokio::test]
async fn a_page_cannot_overwrite_someone_elses_email() {
    let (app, creds) = setup().await;
    // The shop's backend learnt ann's address when she signed up.
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(json!({"userId": "ann", "traits": {"email": "ann@example.com"}})),
        )
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    let before = contact_of(&app, "ann");
    assert!(!before.is_empty());
    let identify = |who: &str, id: &str| json!({"type": "identify", who: id, "traits": {"email": "attacker@example.com"}});
    // With a visitor token: another person's id, or contact data on its own visitor.
    for (body, reason) in [
        (identify("userId", "ann"), "subject_not_yours"),
        (
            identify("anonymousId", &creds.visitor),
            "contact_needs_subject_token",
        ),
    ] {
        let r = app
            .call_with(
                "POST",
                "/v1/identify",
                Some(&creds.visitor_token),
                Some(body),
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["results"][0]["reason"], reason, "{}", r.body);
    }
    // With another person's session token.
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&creds.bob),
            Some(identify("userId", "ann")),
        )
        .await;
    assert_eq!(r.body["results"][0]["reason"], "subject_not_yours");
    // The publishable key cannot send events at all.
    let r = app
        .call_with(
            "POST",
            "/v1/identify",
            Some(&app.publishable),
            Some(identify("userId", "ann")),
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(contact_of(&app, "ann"), before, "ann's email is untouched");
    // Ann herself, with her own token, may change it.
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&creds.ann),
            Some(identify("userId", "ann")),
        )
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    assert_ne!(contact_of(&app, "ann"), before);
}

#[tokio::test]
async fn only_a_server_key_lifts_a_minors_protection_and_it_is_audited() {
    let app = TestApp::new();
    let minor = json!({"subject": {"age_band": "13-15", "country": "DE"},
        "decisions": [{"purpose": "personalization", "decision": "granted"}]});
    let r = app
        .call(
            "PUT",
            "/v1/subjects/kim/consents",
            Some(&app.ingest),
            Some(minor),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kim = app.subject_token("kim", &[]).await;
    let (visitor, visitor_token) = app.visitor().await;
    let visitor_minor = json!({"subject": {"age_band": "13-15", "country": "DE"}});
    let r = app
        .call_with(
            "PUT",
            &format!("/v1/subjects/{visitor}/consents"),
            Some(&visitor_token),
            Some(visitor_minor),
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "declaring a younger age is always fine: {}",
        r.body
    );
    let before = snapshot(&app, &["kim", &visitor]);
    let attempts = [
        json!({"source": "parental", "evidence": {"method": "I am my own parent"},
            "decisions": [{"purpose": "personalization", "decision": "granted"}]}),
        json!({"subject": {"age_band": "18+"}}),
        json!({"subject": {"country": "US"}}),
        json!({"source": "import", "decisions": [{"purpose": "personalization", "decision": "granted"}]}),
    ];
    for body in &attempts {
        let r = app
            .call(
                "PUT",
                "/v1/subjects/kim/consents",
                Some(&kim),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {}", r.body);
        assert_eq!(r.code(), "needs_server_key");
        let r = app
            .call_with(
                "PUT",
                &format!("/v1/subjects/{visitor}/consents"),
                Some(&visitor_token),
                Some(body.clone()),
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {}", r.body);
    }
    assert_eq!(
        snapshot(&app, &["kim", &visitor]),
        before,
        "nothing changed"
    );
    let r = app
        .call("GET", "/v1/subjects/kim/consents", Some(&kim), None)
        .await;
    assert_eq!(
        crate::support::purpose(&r.body, "personalization")["reason_code"],
        "needs_parental_consent"
    );
    // The shop's backend verified a guardian: allowed, and audited with a digest of the
    // evidence (never the evidence itself).
    let r = app
        .call(
            "PUT",
            "/v1/subjects/kim/consents",
            Some(&app.ingest),
            Some(attempts[0].clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        crate::support::purpose(&r.body, "personalization")["allowed"],
        true
    );
    let r = app
        .call(
            "PUT",
            "/v1/subjects/kim/consents",
            Some(&app.ingest),
            Some(json!({"subject": {"age_band": "18+"}, "evidence": {"id_check": "passport"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let lifted: Vec<Value> = audit_actions(&app)
        .await
        .into_iter()
        .filter(|e| e["action"] == "minor_protection_lifted")
        .collect();
    assert_eq!(lifted.len(), 2, "{lifted:?}");
    assert_eq!(lifted[0]["details"]["lifted"], "parental_consent");
    assert_eq!(lifted[1]["details"]["lifted"], "facts");
    assert_eq!(lifted[1]["details"]["age_band_before"], "13-15");
    assert_eq!(lifted[1]["details"]["age_band_after"], "18+");
    for e in &lifted {
        let digest = e["details"]["evidence_sha256"].as_str().unwrap();
        assert_eq!(digest.len(), 64, "{e}");
        assert!(!e.to_string().contains("passport"), "{e}");
    }
}

#[tokio::test]
async fn keys_are_listed_revoked_rotated_and_expire_everywhere() {
    assert!(
        candor_app::api_key::KEY_CACHE_TTL < std::time::Duration::from_secs(5),
        "a revocation must reach every instance within five seconds"
    );
    let app = TestApp::new();
    let key = new_key(&app, &["decide"]).await;
    let id = key.split('_').nth(2).unwrap().to_owned();
    let path = "/v1/subjects/ann/consents";
    assert_eq!(
        app.call("GET", path, Some(&key), None).await.status,
        StatusCode::OK
    );
    // A second instance over the same store.
    let other = candor_server::AppState::new(
        app.state.store.clone(),
        (*app.state.policy).clone(),
        app.state.secret.clone(),
        app.state.config.clone(),
        candor_app::Clock::Fixed(app.state.now()),
    );
    let other = candor_server::router(other);
    let call_other = |k: String| {
        let other = other.clone();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::get(path)
                .header("authorization", format!("Bearer {k}"))
                .body(axum::body::Body::empty())
                .unwrap();
            other.oneshot(req).await.unwrap().status()
        }
    };
    let r = app
        .call(
            "POST",
            &format!("/v1/keys/{id}/revoke"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "revoked");
    let r = app.call("GET", path, Some(&key), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "key_revoked")
    );
    assert_eq!(call_other(key.clone()).await, StatusCode::UNAUTHORIZED);
    // Listed with its state, never with a secret.
    let r = app.call("GET", "/v1/keys", Some(&app.admin), None).await;
    let listed = r.body["items"].as_array().unwrap();
    assert_eq!(listed.len(), 6);
    let revoked = listed.iter().find(|k| k["id"] == id).unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert!(!r.body.to_string().contains(key.rsplit('_').next().unwrap()));
    let kinds: Vec<&str> = listed.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"publishable") && kinds.contains(&"server"));

    // Rotation: both work during the grace period, then only the new one.
    let old = new_key(&app, &["decide"]).await;
    let old_id = old.split('_').nth(2).unwrap().to_owned();
    let r = app
        .call(
            "POST",
            &format!("/v1/keys/{old_id}/rotate"),
            Some(&app.admin),
            Some(json!({"grace_seconds": 60})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let new = r.body["key"].as_str().unwrap().to_owned();
    assert!(new.starts_with("cnd_sk_"));
    assert_eq!(r.body["record"]["scopes"], json!(["decide"]));
    for k in [&old, &new] {
        assert_eq!(
            app.call("GET", path, Some(k), None).await.status,
            StatusCode::OK
        );
    }
    let app = app.at(Timestamp::from_millis(NOW + 61_000));
    let r = app.call("GET", path, Some(&old), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "key_expired")
    );
    assert_eq!(
        app.call("GET", path, Some(&new), None).await.status,
        StatusCode::OK
    );
    let actions: Vec<String> = audit_actions(&app)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in ["key_created", "key_revoked", "key_rotated"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    // Bad requests are refused with codes.
    let r = app
        .call(
            "POST",
            "/v1/keys",
            Some(&app.admin),
            Some(json!({"scopes": ["publishable"]})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_key")
    );
    let r = app
        .call(
            "POST",
            "/v1/keys",
            Some(&app.admin),
            Some(json!({"scopes": ["publishable", "ingest"], "allowed_origins": [SHOP_ORIGIN]})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_key")
    );
    let r = app
        .call(
            "POST",
            "/v1/keys/ffffffffffffffff/revoke",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "key_not_found")
    );
}

#[tokio::test]
async fn one_persons_tokens_are_revoked_without_touching_anyone_else() {
    let app = TestApp::new();
    let ann = app.subject_token("ann", &[]).await;
    let bob = app.subject_token("bob", &[]).await;
    let path = |who: &str| format!("/v1/subjects/{who}/consents");
    // Sign out everywhere, as ann.
    let r = app
        .call("POST", "/v1/subjects/ann/sessions/revoke", Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call("GET", &path("ann"), Some(&ann), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
    assert_eq!(
        app.call("GET", &path("bob"), Some(&bob), None).await.status,
        StatusCode::OK
    );
    // A token minted after the revocation works.
    let app = app.at(Timestamp::from_millis(NOW + 1_000));
    let fresh = app.subject_token("ann", &[]).await;
    assert_eq!(
        app.call("GET", &path("ann"), Some(&fresh), None)
            .await
            .status,
        StatusCode::OK
    );
    // Erasure voids her tokens too, and bob's still work.
    let r = app
        .call("DELETE", "/v1/subjects/ann", Some(&fresh), None)
        .await;
    assert!(
        r.status.is_success() || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.body
    );
    let r = app.call("GET", &path("ann"), Some(&fresh), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
    assert_eq!(
        app.call("GET", &path("bob"), Some(&bob), None).await.status,
        StatusCode::OK
    );
    let actions: Vec<Value> = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|e| e["action"] == "subject_tokens_revoked")
    );
}

#[tokio::test]
async fn signing_keys_rotate_apart_from_the_server_secret() {
    let app = TestApp::new();
    let before = app.subject_token("ann", &[]).await;
    let ann_key = app.state.subject_key("ann").unwrap();
    let r = app
        .call("POST", "/v1/token-keys/rotate", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A new instance sees the new key (the old instance within the cache's lifetime).
    let app = app.at(Timestamp::from_millis(NOW + 1_000));
    let after = app.subject_token("ann", &[]).await;
    let kid = |t: &str| subject_token::present_subject(t).unwrap().key_id;
    assert_ne!(
        kid(&before),
        kid(&after),
        "new tokens are signed with the new key"
    );
    for t in [&before, &after] {
        let r = app
            .call("GET", "/v1/subjects/ann/consents", Some(t), None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "tokens signed before rotation stay valid"
        );
    }
    // Subject keys did not change: the same person, the same pseudonym.
    assert_eq!(app.state.subject_key("ann").unwrap(), ann_key);
    // Once the longest token lifetime has passed since the rotation, the retired key is
    // gone with everything it signed.
    let lifetime = candor_app::token_keys::token_lifetime_ms_max(&app.state.config.subject_rights);
    let app = app.at(Timestamp::from_millis(NOW + 2_000 + lifetime));
    let forged = subject_token::issue(
        &candor_app::signing::signing_key(&app.state).await.unwrap(),
        app.state.secret.as_bytes(),
        &ann_key,
        subject_token::TokenScopes::all(),
        app.state.now(),
        app.state.now().plus_millis(60_000),
    );
    assert_eq!(
        app.call("GET", "/v1/subjects/ann/consents", Some(&forged), None)
            .await
            .status,
        StatusCode::OK
    );
    let p = subject_token::present_subject(&before).unwrap();
    let old = candor_app::signing::verifying_key(&app.state, p.key_id)
        .await
        .unwrap();
    assert!(
        old.is_none(),
        "a key retired longer than any token lives verifies nothing"
    );
}

#[tokio::test]
async fn visitor_sessions_are_the_servers_choice_and_die_with_their_key() {
    let app = TestApp::new();
    let (a, token) = app.visitor().await;
    let (b, _) = app.visitor().await;
    assert_ne!(a, b);
    assert!(a.starts_with("v-") && a.len() == 34, "{a}");
    // Renewal keeps the id.
    let r = app
        .call_with(
            "POST",
            "/v1/visitor-sessions",
            Some(&token),
            None,
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["anonymous_id"], a.as_str());
    // The visitor's events: its own id is filled in, and a chosen id is refused.
    let r = app
        .call_with(
            "POST",
            "/v1/track",
            Some(&token),
            Some(json!({"event": "Product Viewed", "properties": {"product_id": "sku-1"}})),
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(
        r.body["results"][0]["reason"], "subject_not_yours",
        "{}",
        r.body
    );
    let r = app
        .call_with(
            "POST",
            "/v1/track",
            Some(&token),
            Some(json!({"event": "Product Viewed", "anonymousId": b})),
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(r.body["results"][0]["reason"], "subject_not_yours");
    // From a foreign origin, the token is refused like its key.
    let r = app
        .call_with(
            "GET",
            &format!("/v1/subjects/{a}/consents"),
            Some(&token),
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "origin_not_allowed")
    );
    // Revoking the publishable key ends every session it started.
    let id = app.publishable.split('_').nth(2).unwrap().to_owned();
    let r = app
        .call(
            "POST",
            &format!("/v1/keys/{id}/revoke"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_with(
            "GET",
            &format!("/v1/subjects/{a}/consents"),
            Some(&token),
            None,
            &[("origin", SHOP_ORIGIN)],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
}

#[tokio::test]
async fn a_visitor_merges_into_a_person_only_with_both_tokens() {
    let app = TestApp::new();
    for who in ["ann"] {
        let r = app
            .call(
                "PUT",
                &format!("/v1/subjects/{who}/consents"),
                Some(&app.ingest),
                Some(json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let (mine, mine_token) = app.visitor().await;
    let (theirs, theirs_token) = app.visitor().await;
    for (id, token) in [(&mine, &mine_token), (&theirs, &theirs_token)] {
        let r = app
            .call_with(
                "PUT",
                &format!("/v1/subjects/{id}/consents"),
                Some(token),
                Some(json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]})),
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = app
            .call_with(
                "POST",
                "/v1/track",
                Some(token),
                Some(json!({"event": "Product Viewed", "properties": {"product_id": "sku-1"}})),
                &[("origin", SHOP_ORIGIN)],
            )
            .await;
        assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    }
    let ann = app.subject_token("ann", &[]).await;
    let identify = |anon: &str| json!({"type": "identify", "userId": "ann", "anonymousId": anon});
    // Without the visitor's token, or with another visitor's: refused.
    let r = app
        .call("POST", "/v1/identify", Some(&ann), Some(identify(&theirs)))
        .await;
    assert_eq!(
        r.body["results"][0]["reason"], "subject_not_yours",
        "{}",
        r.body
    );
    let r = app
        .call_with(
            "POST",
            "/v1/identify",
            Some(&ann),
            Some(identify(&theirs)),
            &[
                ("candor-visitor-token", &mine_token),
                ("origin", SHOP_ORIGIN),
            ],
        )
        .await;
    assert_eq!(
        r.body["results"][0]["reason"], "subject_not_yours",
        "{}",
        r.body
    );
    // With both: the visitor's history becomes ann's.
    let r = app
        .call_with(
            "POST",
            "/v1/identify",
            Some(&ann),
            Some(identify(&mine)),
            &[
                ("candor-visitor-token", &mine_token),
                ("origin", SHOP_ORIGIN),
            ],
        )
        .await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    assert_eq!(r.body["results"][0]["merged_events"], 1, "{}", r.body);
    let footprint = |id: &str| {
        let state = app.state.clone();
        let key = state.subject_key(id).unwrap();
        off_runtime(move || state.store.subject_footprint(&key).unwrap())
    };
    assert_eq!(
        footprint(&theirs).get("events"),
        Some(&1),
        "the other visitor keeps theirs"
    );
}

#[tokio::test]
async fn server_keys_are_refused_from_foreign_pages_but_the_console_works() {
    let app = TestApp::new();
    let path = "/v1/policy/data-map";
    let r = app
        .call_with(
            "GET",
            path,
            Some(&app.admin),
            None,
            &[
                ("origin", "https://shop.example"),
                ("host", "candor.example"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "server_key_from_browser")
    );
    // Candor's own console: the page's origin is the server's.
    let r = app
        .call_with(
            "GET",
            path,
            Some(&app.admin),
            None,
            &[
                ("origin", "https://candor.example"),
                ("host", "candor.example"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // And from a backend (no Origin) as always.
    assert_eq!(
        app.call("GET", path, Some(&app.admin), None).await.status,
        StatusCode::OK
    );
}
