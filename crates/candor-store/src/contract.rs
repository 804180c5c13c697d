//! The contract every [`Store`] backend must satisfy. Each check takes a fresh, empty store;
//! backends' test suites call [`run_all`] with a factory.

use candor_domain::consent::{AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};

use crate::{ApiKeyRecord, PageRequest, Scope, Store};

/// Every check, in order, each on a store from `fresh`.
pub fn run_all<S: Store>(mut fresh: impl FnMut() -> S) {
    meta_first_writer_wins(&fresh());
    subjects_and_facts(&fresh());
    consents_round_trip_in_order(&fresh());
    consent_history_pages(&fresh());
    data_keys_are_stable_and_contact_is_opaque(&fresh());
    api_keys_round_trip(&fresh());
}

fn subject(n: u32) -> SubjectKey {
    SubjectKey::derive(
        b"contract",
        &ExternalId::parse(&format!("subject-{n}")).unwrap(),
    )
}

fn record(policy: &Policy, purpose: &str, decision: Decision, at: i64) -> ConsentRecord {
    let p = policy.purpose_by_name(purpose).unwrap();
    ConsentRecord {
        purpose: p.id.clone(),
        decision,
        purpose_version: p.version.clone(),
        policy_version: policy.version.clone(),
        source: Source::Banner,
        bulk: false,
        evidence: "{\"banner\":\"v1\"}".to_owned(),
        at: Timestamp::from_millis(at),
    }
}

pub fn meta_first_writer_wins(store: &dyn Store) {
    assert_eq!(store.meta_get("secret").unwrap(), None);
    assert_eq!(store.meta_put_if_absent("secret", b"one").unwrap(), b"one");
    assert_eq!(store.meta_put_if_absent("secret", b"two").unwrap(), b"one");
    assert_eq!(
        store.meta_get("secret").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    store.ping().unwrap();
}

pub fn subjects_and_facts(store: &dyn Store) {
    let s = subject(1);
    assert!(store.subject(&s).unwrap().is_none());
    let now = Timestamp::from_millis(1_000);
    store
        .upsert_subject(&s, &SubjectFacts::default(), now)
        .unwrap();
    let rec = store.subject(&s).unwrap().unwrap();
    assert_eq!(rec.facts, SubjectFacts::default());
    assert_eq!(rec.created_at, now);
    let facts = SubjectFacts {
        age_band: AgeBand::parse("13-15"),
        country: Some("DE".into()),
    };
    store
        .upsert_subject(&s, &facts, Timestamp::from_millis(2_000))
        .unwrap();
    // Unknown facts do not erase known ones.
    store
        .upsert_subject(&s, &SubjectFacts::default(), Timestamp::from_millis(3_000))
        .unwrap();
    let rec = store.subject(&s).unwrap().unwrap();
    assert_eq!(rec.facts, facts);
    assert_eq!(rec.created_at, now, "creation time is kept");
}

pub fn consents_round_trip_in_order(store: &dyn Store) {
    let p = Policy::default_policy();
    let (a, b) = (subject(1), subject(2));
    let batch = vec![
        record(&p, "personalization", Decision::Granted, 10),
        record(&p, "analytics", Decision::Denied, 10),
    ];
    store
        .append_consents(
            &a,
            &SubjectFacts::default(),
            &batch,
            Timestamp::from_millis(10),
        )
        .unwrap();
    let later = vec![record(&p, "personalization", Decision::Withdrawn, 20)];
    store
        .append_consents(
            &a,
            &SubjectFacts::default(),
            &later,
            Timestamp::from_millis(20),
        )
        .unwrap();
    store
        .append_consents(
            &b,
            &SubjectFacts::default(),
            &[record(&p, "analytics", Decision::Granted, 15)],
            Timestamp::from_millis(15),
        )
        .unwrap();
    let got = store.consent_records(&a).unwrap();
    assert_eq!(
        got,
        [batch, later].concat(),
        "oldest first, exactly as written"
    );
    assert_eq!(
        store.consent_records(&b).unwrap().len(),
        1,
        "subjects never mix"
    );
    assert!(
        store.subject(&a).unwrap().is_some(),
        "appending consents creates the subject"
    );
}

pub fn consent_history_pages(store: &dyn Store) {
    let p = Policy::default_policy();
    let s = subject(3);
    for i in 0..5 {
        let d = if i % 2 == 0 {
            Decision::Granted
        } else {
            Decision::Withdrawn
        };
        store
            .append_consents(
                &s,
                &SubjectFacts::default(),
                &[record(&p, "analytics", d, i)],
                Timestamp::from_millis(i),
            )
            .unwrap();
    }
    let first = store.consent_history(&s, PageRequest::first(2)).unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|r| r.at.as_millis())
            .collect::<Vec<_>>(),
        vec![4, 3],
        "newest first"
    );
    let second = store
        .consent_history(
            &s,
            PageRequest {
                after: first.next,
                limit: 2,
            },
        )
        .unwrap();
    assert_eq!(
        second
            .items
            .iter()
            .map(|r| r.at.as_millis())
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    let third = store
        .consent_history(
            &s,
            PageRequest {
                after: second.next,
                limit: 2,
            },
        )
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next, None, "the last page has no cursor");
}

pub fn data_keys_are_stable_and_contact_is_opaque(store: &dyn Store) {
    let s = subject(4);
    let now = Timestamp::from_millis(1);
    let k = store.data_key(&s, [1; 32], now).unwrap();
    assert_eq!(k, [1; 32]);
    assert_eq!(
        store.data_key(&s, [2; 32], now).unwrap(),
        [1; 32],
        "the first key stays"
    );
    store.put_contact(&s, "email", b"sealed-1").unwrap();
    store.put_contact(&s, "email", b"sealed-2").unwrap();
    store.put_contact(&s, "name", b"sealed-3").unwrap();
    assert_eq!(
        store.contact(&s).unwrap(),
        vec![
            ("email".to_owned(), b"sealed-2".to_vec()),
            ("name".to_owned(), b"sealed-3".to_vec())
        ]
    );
}

pub fn api_keys_round_trip(store: &dyn Store) {
    let key = ApiKeyRecord {
        id: "k1".into(),
        secret_hash: [9; 32],
        scopes: vec![Scope::Ingest, Scope::Decide],
        allowed_origins: vec!["https://shop.example".into()],
        label: "web".into(),
        created_at: Timestamp::from_millis(5),
    };
    store.insert_api_key(&key).unwrap();
    assert_eq!(store.api_key("k1").unwrap(), Some(key.clone()));
    assert_eq!(store.api_key("nope").unwrap(), None);
    assert!(matches!(
        store.insert_api_key(&key),
        Err(crate::StoreError::Conflict(_))
    ));
    assert_eq!(store.api_keys().unwrap(), vec![key]);
}
