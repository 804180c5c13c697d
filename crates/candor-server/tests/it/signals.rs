//! Consent signals end to end: decoded, mapped by the policy's `[signals]` table, recorded in
//! the ledger, and applied by the gate when events carry them.

use axum::http::StatusCode;
use candor_domain::policy::{DEFAULT_POLICY_TOML, Policy};
use serde_json::{Value, json};

use crate::support::{Response, TestApp, purpose};

const PATH: &str = "/v1/subjects/shopper-1/consent-signals";
const CONSENTS: &str = "/v1/subjects/shopper-1/consents";

/// Appends fixed-width integers to a bit string and spells it as base64url.
#[derive(Default)]
struct BitWriter(Vec<bool>);

impl BitWriter {
    fn int(&mut self, value: u64, width: usize) -> &mut Self {
        for shift in (0..width).rev() {
            self.0.push((value >> shift) & 1 == 1);
        }
        self
    }

    fn base64url(&self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.0
            .chunks(6)
            .map(|chunk| {
                let value = (0..6).fold(0usize, |acc, i| {
                    acc * 2 + usize::from(chunk.get(i).copied().unwrap_or(false))
                });
                char::from(ALPHABET[value])
            })
            .collect()
    }
}

/// A TCF v2.2 TC string (core segment only, policy version 5) with consent for the given
/// TCF purposes and vendors and nothing else. `updated_ds` (deciseconds since the epoch) tells
/// two otherwise equal strings apart, as a CMP's `lastUpdated` does.
fn tc_string(purposes: &[u8], vendors: &[u16], updated_ds: u64) -> String {
    let purposes_bits = purposes
        .iter()
        .fold(0u64, |acc, p| acc | 1 << (24 - u64::from(*p)));
    let max_vendor = vendors.iter().copied().max().unwrap_or(0);
    let mut w = BitWriter::default();
    w.int(2, 6) // version
        .int(17_954_352_000, 36) // created: 2026-11-23
        .int(updated_ds, 36) // lastUpdated
        .int(10, 12) // cmpId
        .int(1, 12) // cmpVersion
        .int(1, 6) // consentScreen
        .int(4, 6) // consentLanguage "EN"
        .int(13, 6)
        .int(100, 12) // vendorListVersion
        .int(5, 6) // tcfPolicyVersion
        .int(1, 1) // isServiceSpecific
        .int(0, 1) // useNonStandardTexts
        .int(0, 12) // specialFeatureOptIns
        .int(purposes_bits, 24) // purposesConsent
        .int(0, 24) // purposesLITransparency
        .int(0, 1) // purposeOneTreatment
        .int(3, 6) // publisherCC "DE"
        .int(4, 6)
        .int(u64::from(max_vendor), 16) // vendor consents as a bit field
        .int(0, 1);
    for id in 1..=max_vendor {
        w.int(u64::from(vendors.contains(&id)), 1);
    }
    w.int(0, 16) // vendor legitimate interests: none
        .int(0, 1)
        .int(0, 12); // no publisher restrictions
    w.base64url()
}

const UPDATED: u64 = 17_954_352_000;

async fn signals(app: &TestApp, body: Value) -> Response {
    app.call("POST", PATH, Some(&app.ingest), Some(body)).await
}

fn reason<'a>(state: &'a Value, id: &str) -> &'a str {
    purpose(state, id)["reason_code"].as_str().unwrap()
}

fn effect<'a>(body: &'a Value, signal: &str) -> &'a Value {
    body["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["signal"] == signal)
        .unwrap_or_else(|| panic!("no effect of {signal} in {body}"))
}

async fn history(app: &TestApp) -> Vec<Value> {
    let r = app
        .call(
            "GET",
            &format!("{CONSENTS}/history?limit=500"),
            Some(&app.decide),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_tc_string_grants_and_denies_the_mapped_purposes() {
    let app = TestApp::new();
    // Purposes 1 (storage), 5 and 6 (content profiles), 8 and 9 (measurement): everything
    // analytics and personalization need, none of the advertising purposes 2, 3, 4, 7.
    let tc = tc_string(&[1, 5, 6, 8, 9], &[], UPDATED);
    let r = signals(&app, json!({ "tcf": tc })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        effect(&r.body, "tcf"),
        &json!({"signal": "tcf",
            "granted": ["analytics", "personalization", "session_personalization"],
            "denied": ["targeted_advertising"]})
    );
    assert_eq!(
        purpose(&r.body, "personalization")["reason"],
        "granted: on 2026-11-23 via tcf"
    );
    assert_eq!(reason(&r.body, "targeted_advertising"), "declined");
    assert_eq!(
        reason(&r.body, "email_marketing"),
        "no_choice_yet",
        "not mapped, so untouched"
    );
    let items = history(&app).await;
    assert_eq!(items.len(), 4);
    for item in &items {
        assert_eq!(item["source"], "tcf");
        assert_eq!(item["bulk"], true);
        assert_eq!(item["evidence"], json!({ "tcf": tc }));
    }

    // The page sends the same string again: nothing new is recorded.
    let r = signals(&app, json!({ "tcf": tc })).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(history(&app).await.len(), 4);

    // The person changes their mind in the CMP: purpose 6 is gone.
    let tc = tc_string(&[1, 5, 8, 9], &[], UPDATED + 10);
    let r = signals(&app, json!({ "tcf": tc })).await;
    assert_eq!(reason(&r.body, "personalization"), "declined");
    assert_eq!(purpose(&r.body, "analytics")["allowed"], true);
}

#[tokio::test]
async fn a_configured_vendor_id_needs_the_vendor_consent_bit() {
    let source = DEFAULT_POLICY_TOML.replace("# tcf_vendor_id = 1234", "tcf_vendor_id = 1234");
    let app = TestApp::with_policy(Policy::parse(&source).unwrap());
    let all: Vec<u8> = (1..=11).collect();
    let r = signals(&app, json!({ "tcf": tc_string(&all, &[12], UPDATED) })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(reason(&r.body, "personalization"), "declined");
    let r = signals(
        &app,
        json!({ "tcf": tc_string(&all, &[12, 1234], UPDATED + 10) }),
    )
    .await;
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
}

#[tokio::test]
async fn a_gpp_sale_opt_out_denies_sale_and_sharing_purposes() {
    let app = TestApp::new();
    let grant = json!({"source": "banner", "decisions": [
        {"purpose": "targeted_advertising", "decision": "granted"},
        {"purpose": "fairness_audit", "decision": "granted"},
        {"purpose": "personalization", "decision": "granted"}]});
    let r = app
        .call("PUT", CONSENTS, Some(&app.ingest), Some(grant))
        .await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
    // Header listing section 7 (US National), then the iabgpp-es fixture "BVVVkkkkkpFY"
    // without its GPC sub-section: sale, sharing and targeted advertising opted out, and some
    // sensitive-data categories opted out.
    let r = signals(&app, json!({"gpp": "DBABL~BVVVkkkkkpFY"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        effect(&r.body, "gpp"),
        &json!({"signal": "gpp", "granted": [], "denied": ["targeted_advertising", "fairness_audit"]})
    );
    assert_eq!(reason(&r.body, "targeted_advertising"), "declined");
    assert_eq!(reason(&r.body, "fairness_audit"), "declined");
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    assert!(
        r.body["signals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["signal"] != "gpc")
    );

    // The same section with its GPC sub-section set is also a Global Privacy Control opt-out.
    let r = signals(&app, json!({"gpp": "DBABL~BVVVkkkkkpFY.YA"})).await;
    assert_eq!(
        reason(&r.body, "targeted_advertising"),
        "global_privacy_control"
    );
    assert_eq!(
        effect(&r.body, "gpc")["denied"],
        json!(["targeted_advertising"])
    );
}

#[tokio::test]
async fn a_us_privacy_sale_opt_out_denies_targeted_advertising() {
    let app = TestApp::new();
    let all = json!({"choice": "accept_all", "decisions": [
        {"purpose": "targeted_advertising", "decision": "granted"},
        {"purpose": "analytics", "decision": "granted"}]});
    app.call("PUT", CONSENTS, Some(&app.ingest), Some(all))
        .await;
    // Version 1, notice given, opted out of sale, not covered by the LSPA.
    let r = signals(&app, json!({"usp": "1YYN"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        effect(&r.body, "usp"),
        &json!({"signal": "usp", "granted": [], "denied": ["targeted_advertising"]})
    );
    assert_eq!(reason(&r.body, "targeted_advertising"), "declined");
    assert_eq!(purpose(&r.body, "analytics")["allowed"], true);
    let newest = &history(&app).await[0];
    assert_eq!(newest["source"], "gpp", "US Privacy is GPP section 6");
    assert_eq!(newest["evidence"], json!({"usp": "1YYN"}));
    // `1YNN` (did not opt out) grants nothing.
    let r = signals(&app, json!({"usp": "1YNN"})).await;
    assert_eq!(
        effect(&r.body, "usp"),
        &json!({"signal": "usp", "granted": [], "denied": []})
    );
}

#[tokio::test]
async fn consent_mode_states_map_onto_purposes() {
    let app = TestApp::new();
    let r = signals(
        &app,
        json!({"consent_mode": {"analytics_storage": "granted", "ad_storage": "granted",
            "ad_user_data": "granted", "ad_personalization": "denied", "functionality_storage": "granted"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        effect(&r.body, "consent_mode"),
        &json!({"signal": "consent_mode", "granted": ["analytics"], "denied": ["targeted_advertising"]})
    );
    assert_eq!(
        purpose(&r.body, "analytics")["reason"],
        "granted: on 2026-11-23 via consent_mode"
    );
    assert_eq!(reason(&r.body, "targeted_advertising"), "declined");
    let newest = &history(&app).await[0];
    assert_eq!(
        newest["evidence"],
        json!({"consent_mode": {"ad_personalization": "denied", "ad_storage": "granted",
            "ad_user_data": "granted", "analytics_storage": "granted"}}),
        "the decoded states, not keys Candor does not read"
    );
}

#[tokio::test]
async fn gpc_in_the_body_or_the_header_is_recorded() {
    let app = TestApp::new();
    let r = signals(&app, json!({"gpc": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        reason(&r.body, "targeted_advertising"),
        "global_privacy_control"
    );
    assert_eq!(history(&app).await[0]["evidence"], json!({"gpc": true}));

    let other = "/v1/subjects/shopper-2/consent-signals";
    let r = app
        .call_with(
            "POST",
            other,
            Some(&app.ingest),
            Some(json!({})),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        reason(&r.body, "targeted_advertising"),
        "global_privacy_control"
    );
    assert_eq!(effect(&r.body, "gpc")["granted"], json!([]));

    // `gpc: false` is no opt-out, but it is a signal, so the request is not empty.
    let third = "/v1/subjects/shopper-3/consent-signals";
    let r = app
        .call(
            "POST",
            third,
            Some(&app.ingest),
            Some(json!({"gpc": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(reason(&r.body, "targeted_advertising"), "no_choice_yet");
}

#[tokio::test]
async fn a_tcf_grant_cannot_lift_a_gpc_opt_out() {
    let app = TestApp::new();
    let r = app
        .call_with(
            "PUT",
            CONSENTS,
            Some(&app.ingest),
            Some(json!({"subject": {"country": "US"}})),
            &[("sec-gpc", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let all: Vec<u8> = (1..=11).collect();
    let r = signals(&app, json!({"tcf": tc_string(&all, &[], UPDATED)})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        effect(&r.body, "tcf")["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("targeted_advertising")),
        "the TC string does grant it"
    );
    assert_eq!(
        reason(&r.body, "targeted_advertising"),
        "global_privacy_control",
        "but a platform grant does not lift GPC"
    );
    assert_eq!(purpose(&r.body, "personalization")["allowed"], true);
    // Only the person's explicit choice of that one purpose does.
    let explicit = json!({"source": "banner", "decisions": [{"purpose": "targeted_advertising", "decision": "granted"}]});
    let r = app
        .call("PUT", CONSENTS, Some(&app.ingest), Some(explicit))
        .await;
    assert_eq!(purpose(&r.body, "targeted_advertising")["allowed"], true);
}

#[tokio::test]
async fn an_invalid_signal_is_refused_naming_the_field_and_nothing_is_recorded() {
    let app = TestApp::new();
    let r = signals(&app, json!({"usp": "1YYN", "tcf": "not a tc string"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_signal")
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("`tcf`: TC string rejected at field `"),
        "{message}"
    );

    let r = signals(&app, json!({"usp": "2YYN"})).await;
    assert_eq!(r.code(), "invalid_signal");
    assert_eq!(
        r.body["error"]["message"],
        "`usp`: US Privacy string rejected at field `Version`: value \"2\" is not allowed here (1)"
    );
    let r = signals(&app, json!({"consent_mode": {"ad_storage": "maybe"}})).await;
    assert_eq!(r.code(), "invalid_signal");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("`consent_mode`: Consent Mode state rejected at field `ad_storage`"),
        "{message}"
    );
    let r = signals(&app, json!({"gpp": "DBABL~BVVVkkkkkpFY~extra"})).await;
    assert_eq!(r.code(), "invalid_signal");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("`gpp`: GPP string rejected at field `SectionIds`")
    );
    assert!(history(&app).await.is_empty(), "no partial writes");

    let r = signals(&app, json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "empty_update")
    );
    let r = signals(&app, json!({"tcf_string": "x"})).await;
    assert!(r.status.is_client_error(), "unknown fields are refused");
    let r = app
        .call("POST", PATH, Some(&app.decide), Some(json!({"gpc": true})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call("POST", PATH, Some(&app.admin), Some(json!({"usp": "1YNN"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "the admin key may record signals");
}

fn viewed(msg: &str, context: Value) -> Value {
    json!({"type": "track", "event": "Product Viewed", "userId": "shopper-1", "messageId": msg,
           "timestamp": "2026-11-23T09:00:00Z", "context": context,
           "properties": {"product_id": "sku-1", "category": "Running"}})
}

async fn post_events(app: &TestApp, events: Vec<Value>) -> Response {
    let r = app
        .call(
            "POST",
            "/v1/events",
            Some(&app.ingest),
            Some(json!({ "events": events })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

#[tokio::test]
async fn an_event_carrying_a_denying_tc_string_is_gated_by_it() {
    let app = TestApp::new();
    let grant = json!({"choice": "accept_all", "decisions": [
        {"purpose": "analytics", "decision": "granted"},
        {"purpose": "personalization", "decision": "granted"},
        {"purpose": "session_personalization", "decision": "granted"},
        {"purpose": "targeted_advertising", "decision": "granted"}]});
    app.call("PUT", CONSENTS, Some(&app.ingest), Some(grant))
        .await;
    let r = post_events(&app, vec![viewed("m1", json!({}))]).await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);

    // The CMP now says no to every TCF purpose; the event carrying that is the first to obey.
    let denying = tc_string(&[], &[], UPDATED);
    let r = post_events(
        &app,
        vec![viewed(
            "m2",
            json!({"consent": {"tcf": denying, "categoryPreferences": {"ads": false}}}),
        )],
    )
    .await;
    assert_eq!(r.body["results"][0]["status"], "dropped", "{}", r.body);
    assert_eq!(r.body["results"][0]["reason"], "no_consent");
    let state = app.call("GET", CONSENTS, Some(&app.decide), None).await;
    assert_eq!(reason(&state.body, "personalization"), "declined");
    assert_eq!(history(&app).await[0]["source"], "tcf");

    // A signal in the context that cannot be read makes the event invalid, naming it.
    let r = post_events(
        &app,
        vec![viewed("m3", json!({"consent": {"usp": "1XYN"}}))],
    )
    .await;
    assert_eq!(r.body["results"][0]["status"], "invalid", "{}", r.body);
    assert_eq!(r.body["results"][0]["reason"], "invalid_signal");
    assert!(
        r.body["results"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("`context.consent.usp`: US Privacy string rejected at field `Notice`")
    );
}

#[tokio::test]
async fn an_event_carrying_consent_mode_grants_what_it_maps() {
    let app = TestApp::new();
    let context = json!({"consent": {"consent_mode": {"analytics_storage": "granted"}}});
    let r = post_events(&app, vec![viewed("m1", context)]).await;
    assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
    assert_eq!(r.body["results"][0]["purposes"], json!(["analytics"]));
}
