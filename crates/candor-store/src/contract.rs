//! The contract every [`Store`] backend must satisfy. Each check takes a fresh, empty store;
//! backends' test suites call [`run_all`] with a factory.

use candor_domain::consent::{AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};

use candor_domain::PurposeId;
use candor_domain::policy::Interaction;

use crate::{
    ApiKeyRecord, AudienceEvent, AudienceQuery, CatalogItem, EventBatch, EventRewrite,
    InsertOutcome, Narrowed, NewEvent, PageRequest, Scope, Store,
};

/// The server secret the contract's stores are unlocked with.
pub const CONTRACT_SECRET: &[u8] = b"the contract's server secret, 32+";

/// `store`, unlocked with [`CONTRACT_SECRET`].
pub fn unlocked<S: Store>(store: S) -> S {
    store
        .unlock_data_keys(
            crate::KekRoot::from_server_secret(CONTRACT_SECRET),
            Timestamp::from_millis(1),
        )
        .unwrap();
    store
}

/// Every check, in order, each on a store from `fresh` (unlocked but for the first).
pub fn run_all<S: Store>(mut fresh: impl FnMut() -> S) {
    data_keys_are_locked_until_unlocked(&fresh());
    let mut fresh = move || unlocked(fresh());
    kek_rotation_rewraps_every_key_and_resumes(&fresh());
    meta_first_writer_wins(&fresh());
    subjects_and_facts(&fresh());
    consents_round_trip_in_order(&fresh());
    consent_history_pages(&fresh());
    batched_reads_agree_with_point_reads(&fresh());
    consent_stats_count_buckets_and_latest_choices(&fresh());
    data_keys_are_stable_and_contact_is_opaque(&fresh());
    api_keys_round_trip(&fresh());
    api_keys_revoke_and_expire(&fresh());
    token_keys_rotate_and_retire(&fresh());
    token_revocations_keep_the_latest_and_survive_erasure(&fresh());
    catalog_round_trip(&fresh());
    events_dedupe_and_feed_profiles(&fresh());
    commit_ingest_writes_consents_audit_and_events(&fresh());
    concurrent_batches_all_commit(&fresh());
    rewrite_narrows_and_rebuilds(&fresh());
    expired_events_are_deleted(&fresh());
    merge_moves_events(&fresh());
    preferences_round_trip(&fresh());
    generations_count_up(&fresh());
    // Data-subject rights.
    erasure_leaves_nothing_of_the_subject(&fresh());
    erasure_is_resumable(&fresh());
    restriction_and_muted_interests(&fresh());
    dsr_requests_page_and_filter(&fresh());
    dsr_summary_counts_open_closed_and_overdue(&fresh());
    // Accountability (migration 3).
    audit_chain_appends_links_and_pages(&fresh());
    concurrent_audit_appends_stay_linear(&fresh());
    audit_attributes_round_trip_and_erase(&fresh());
    exposures_round_trip_and_erase(&fresh());
    // Segments and campaigns.
    segments_and_campaigns_round_trip(&fresh());
    runs_reserve_cap_slots_and_keep_outcomes(&fresh());
    racing_runs_never_over_deliver(&fresh());
    streamed_runs_reserve_measure_and_roll_back(&fresh());
    outbox_leases_retries_and_completes(&fresh());
    unsubscribes_time_zones_and_erasure(&fresh());
    flagged_runs_hold_deliveries_until_acknowledged(&fresh());
    // Experiments.
    experiments_round_trip_and_stop(&fresh());
    assignments_are_sticky_and_carry_over(&fresh());
    experiment_reads_serve_the_report(&fresh());
    experiment_sequential_state_only_tightens(&fresh());
    experiment_data_is_subject_data(&fresh());
    // Private analytics (SQLite migration 15, PostgreSQL 12).
    analytics_charges_check_and_spend_in_one_step(&fresh());
    analytics_racing_charges_never_overspend(&fresh());
    analytics_reads_only_what_analytics_allows(&fresh());
    analytics_releases_are_pruned_after_their_days(&fresh());
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

/// `subject_ledgers` and `serving_inputs` read in one call what the point reads give one by
/// one, for known and unknown subjects alike, and read a history only when asked to.
pub fn batched_reads_agree_with_point_reads(store: &dyn Store) {
    let p = Policy::default_policy();
    let now = Timestamp::from_millis(100);
    let facts = SubjectFacts {
        age_band: Some(AgeBand::parse("13-15").unwrap()),
        country: Some("FR".to_owned()),
    };
    let (a, b, stranger) = (subject(1), subject(2), subject(99));
    store
        .append_consents(
            &a,
            &facts,
            &[
                record(&p, "personalization", Decision::Granted, 10),
                record(&p, "analytics", Decision::Denied, 11),
            ],
            now,
        )
        .unwrap();
    store
        .append_consents(
            &b,
            &SubjectFacts::default(),
            &[record(&p, "analytics", Decision::Granted, 12)],
            now,
        )
        .unwrap();
    store.set_restriction(&b, Some(now)).unwrap();
    // More keys than one query takes, with repeats, so chunking is exercised.
    let mut keys: Vec<SubjectKey> = (1000..2200).map(subject).collect();
    keys.extend([a, b, stranger, a]);
    let ledgers = store.subject_ledgers(&keys).unwrap();
    assert_eq!(ledgers.len(), 1203, "every distinct key is answered");
    for k in [a, b, stranger] {
        let l = &ledgers[&k];
        assert_eq!(l.records, store.consent_records(&k).unwrap());
        assert_eq!(
            l.facts,
            store
                .subject(&k)
                .unwrap()
                .map(|r| r.facts)
                .unwrap_or_default()
        );
        assert_eq!(l.restricted, store.restriction(&k).unwrap().is_some());
    }
    assert!(ledgers[&b].restricted && !ledgers[&a].restricted);
    assert_eq!(ledgers[&stranger], crate::SubjectLedger::default());

    let mut prefs = crate::Preferences::default();
    prefs.muted_categories.insert("Wine".to_owned());
    store.put_preferences(&a, &prefs, now).unwrap();
    let batch = EventBatch {
        events: vec![NewEvent {
            subject: a,
            message_hash: [7; 32],
            event_type: "Product Viewed".to_owned(),
            item_id: Some("sku-1".to_owned()),
            properties: "{}".to_owned(),
            purposes: vec![PurposeId::parse("personalization").unwrap()],
            occurred_at: now,
            expires_at: Timestamp::from_millis(i64::MAX / 2),
            session_only: false,
            profile: Some(Interaction::View),
        }],
        drops: Vec::new(),
        now: Some(now),
        half_life_days: 30.0,
        dedupe_window_ms: 1_000,
    };
    store.insert_events(batch).unwrap();
    let with = store
        .serving_inputs(&a, &|l, _| !l.records.is_empty())
        .unwrap();
    assert_eq!(with.ledger, ledgers[&a]);
    assert_eq!(with.preferences, prefs);
    let all = store.all_events(&a).unwrap();
    assert_eq!(
        with.history,
        all.iter()
            .filter_map(|e| e.as_history())
            .collect::<Vec<_>>()
    );
    assert_eq!(with.history.len(), 1);
    // The streaming read hands over the same events, and only after the check said yes.
    let mut streamed = Vec::new();
    let state = store
        .serving_inputs_each(&a, &|l, _| !l.records.is_empty(), &mut |e| {
            streamed.push(e.to_event())
        })
        .unwrap();
    assert_eq!(
        (state.ledger, state.preferences),
        (with.ledger, with.preferences)
    );
    assert_eq!(streamed, with.history);
    let mut visited = 0;
    store
        .serving_inputs_each(&a, &|_, _| false, &mut |_| visited += 1)
        .unwrap();
    assert_eq!(visited, 0, "no history unless asked for");
    let without = store
        .serving_inputs(&a, &|_, p| !p.muted_categories.contains("Wine"))
        .unwrap();
    assert!(without.history.is_empty(), "no history unless asked for");
    let b_inputs = store.serving_inputs(&b, &|_, _| true).unwrap();
    assert!(b_inputs.ledger.restricted);
    assert_eq!(b_inputs.preferences, crate::Preferences::default());
    assert_eq!(
        store.serving_inputs(&stranger, &|_, _| true).unwrap(),
        crate::ServingInputs::default()
    );
}

pub fn consent_stats_count_buckets_and_latest_choices(store: &dyn Store) {
    use crate::{ConsentBucketCount, ConsentLatestCount};
    let p = Policy::default_policy();
    let version = |purpose: &str| {
        p.purpose_by_name(purpose)
            .unwrap()
            .version
            .as_str()
            .to_owned()
    };
    const DAY: i64 = 86_400_000;
    let empty = store.consent_stats(Timestamp::from_millis(0), DAY).unwrap();
    assert_eq!(empty, crate::ConsentStats::default());
    // Subject 1 grants analytics on day 1 and withdraws it on day 3; subject 2 grants it on
    // day 3; subject 3 denies it on day 0, before the window.
    let write = |n: u32, decision: Decision, day: i64| {
        let at = 10 * DAY + day * DAY + 5;
        store
            .append_consents(
                &subject(n),
                &SubjectFacts::default(),
                &[record(&p, "analytics", decision, at)],
                Timestamp::from_millis(at),
            )
            .unwrap();
    };
    write(3, Decision::Denied, 0);
    write(1, Decision::Granted, 1);
    write(1, Decision::Withdrawn, 3);
    write(2, Decision::Granted, 3);
    store
        .append_consents(
            &subject(2),
            &SubjectFacts::default(),
            &[record(&p, "personalization", Decision::Granted, 13 * DAY)],
            Timestamp::from_millis(13 * DAY),
        )
        .unwrap();
    let stats = store
        .consent_stats(Timestamp::from_millis(11 * DAY), DAY)
        .unwrap();
    let cell = |purpose: &str, bucket, decision: &str, n| ConsentBucketCount {
        purpose: purpose.to_owned(),
        bucket,
        decision: decision.to_owned(),
        n,
    };
    assert_eq!(
        stats.buckets,
        vec![
            cell("analytics", 0, "granted", 1),
            cell("analytics", 2, "granted", 1),
            cell("analytics", 2, "withdrawn", 1),
            cell("personalization", 2, "granted", 1),
        ],
        "only decisions from `since` on, bucketed from it"
    );
    let latest = |purpose: &str, decision: &str, n| ConsentLatestCount {
        purpose: purpose.to_owned(),
        purpose_version: version(purpose),
        decision: decision.to_owned(),
        n,
    };
    assert_eq!(
        stats.latest,
        vec![
            latest("analytics", "denied", 1),
            latest("analytics", "granted", 1),
            latest("analytics", "withdrawn", 1),
            latest("personalization", "granted", 1),
        ],
        "each subject's newest decision, however old"
    );
    let weekly = store
        .consent_stats(Timestamp::from_millis(10 * DAY), 7 * DAY)
        .unwrap();
    assert_eq!(
        weekly.buckets,
        vec![
            cell("analytics", 0, "denied", 1),
            cell("analytics", 0, "granted", 2),
            cell("analytics", 0, "withdrawn", 1),
            cell("personalization", 0, "granted", 1),
        ]
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
    assert_eq!(
        store.existing_data_key(&s).unwrap(),
        None,
        "reading creates none"
    );
    assert_eq!(store.existing_data_key(&s).unwrap(), None);
    let k = store.data_key(&s, [1; 32], now).unwrap();
    assert_eq!(store.existing_data_key(&s).unwrap(), Some([1; 32]));
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

pub fn data_keys_are_locked_until_unlocked(store: &dyn Store) {
    let s = subject(4);
    let now = Timestamp::from_millis(1);
    assert!(store.data_key(&s, [1; 32], now).is_err(), "locked");
    assert_eq!(
        store.existing_data_key(&s).unwrap(),
        None,
        "nothing to open"
    );
    let root = || crate::KekRoot::from_server_secret(CONTRACT_SECRET);
    assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 0);
    assert_eq!(store.data_key(&s, [1; 32], now).unwrap(), [1; 32]);
    // Unlocking again with the same secret is harmless; another secret is refused.
    assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 0);
    let err = store
        .unlock_data_keys(crate::KekRoot::from_server_secret(b"another secret"), now)
        .unwrap_err();
    assert!(err.to_string().contains("does not unwrap"), "{err}");
    assert_eq!(store.existing_data_key(&s).unwrap(), Some([1; 32]));
    let status = store.kek_status().unwrap();
    assert_eq!(status.keks.len(), 1, "{status:?}");
    assert_eq!(status.keks[0].n_data_keys, 1);
    assert_eq!(status.keks[0].retired_at, None);
    assert!(status.settled());
}

pub fn kek_rotation_rewraps_every_key_and_resumes(store: &dyn Store) {
    let keys: Vec<(SubjectKey, [u8; 32])> = (0..5u8)
        .map(|n| (subject(40 + u32::from(n)), [n + 1; 32]))
        .collect();
    let t = Timestamp::from_millis;
    for (s, k) in &keys {
        assert_eq!(store.data_key(s, *k, t(10)).unwrap(), *k);
    }
    let all_open = |why: &str| {
        for (s, k) in &keys {
            assert_eq!(store.existing_data_key(s).unwrap(), Some(*k), "{why}");
            assert_eq!(store.data_key(s, [0; 32], t(99)).unwrap(), *k, "{why}");
        }
    };
    let first = store.kek_status().unwrap().keks[0].id;

    // Interrupted: a new KEK, and only part of the keys re-wrapped under it.
    let second = store.add_kek(t(20)).unwrap();
    assert!(second > first);
    assert_eq!(store.rewrap_data_keys(2).unwrap(), 2);
    let status = store.kek_status().unwrap();
    assert!(!status.settled());
    assert_eq!(status.keks[0].retired_at, Some(t(20)));
    assert_eq!(
        (status.keks[0].n_data_keys, status.keks[1].n_data_keys),
        (3, 2)
    );
    all_open("each row opens with the KEK it names");
    // A key made meanwhile goes under the newest KEK.
    let late = subject(49);
    store.data_key(&late, [9; 32], t(21)).unwrap();
    assert_eq!(store.kek_status().unwrap().keks[1].n_data_keys, 3);
    // The next start finishes the job.
    let root = crate::KekRoot::from_server_secret(CONTRACT_SECRET);
    assert_eq!(store.unlock_data_keys(root, t(30)).unwrap(), 3);
    let status = store.kek_status().unwrap();
    assert!(status.settled(), "{status:?}");
    assert_eq!(status.keks[1].n_data_keys, 6);
    all_open("after resuming");

    // A whole rotation.
    let (third, n) = crate::wrap::rotate_kek(store, t(40)).unwrap();
    assert_eq!((third > second, n), (true, 6));
    let status = store.kek_status().unwrap();
    assert!(status.settled(), "{status:?}");
    assert_eq!(status.keks.len(), 3);
    assert_eq!(status.keks[2].n_data_keys, 6);
    assert_eq!(status.keks[1].retired_at, Some(t(40)));
    assert_eq!(store.rewrap_data_keys(100).unwrap(), 0, "nothing left");
    all_open("after a rotation");
    assert_eq!(store.existing_data_key(&late).unwrap(), Some([9; 32]));
    // Erasure still destroys the key, whatever wraps it.
    let plan = crate::ErasurePlan { tombstone: None };
    assert_eq!(store.erase_subject(&late, &plan).unwrap()["data_key"], 1);
    assert_eq!(store.existing_data_key(&late).unwrap(), None);
}

pub fn api_keys_round_trip(store: &dyn Store) {
    let key = ApiKeyRecord {
        id: "k1".into(),
        secret_hash: [9; 32],
        scopes: vec![Scope::Ingest, Scope::Decide],
        allowed_origins: vec!["https://shop.example".into()],
        label: "web".into(),
        created_at: Timestamp::from_millis(5),
        expires_at: None,
        revoked_at: None,
    };
    store.insert_api_key(&key).unwrap();
    assert_eq!(store.api_key("k1").unwrap(), Some(key.clone()));
    assert_eq!(store.api_key("nope").unwrap(), None);
    assert!(matches!(
        store.insert_api_key(&key),
        Err(crate::StoreError::Conflict(_))
    ));
    // Every scope, and both lifetimes set, read back as written.
    let sessions = ApiKeyRecord {
        id: "k2".into(),
        secret_hash: [8; 32],
        scopes: vec![Scope::Sessions, Scope::Admin],
        allowed_origins: Vec::new(),
        label: "backend".into(),
        created_at: Timestamp::from_millis(6),
        expires_at: Some(Timestamp::from_millis(1_000)),
        revoked_at: Some(Timestamp::from_millis(700)),
    };
    let publishable = ApiKeyRecord {
        id: "k3".into(),
        secret_hash: [7; 32],
        scopes: vec![Scope::Publishable],
        allowed_origins: vec![
            "https://shop.example".into(),
            "https://www.shop.example".into(),
        ],
        label: "pages".into(),
        created_at: Timestamp::from_millis(7),
        expires_at: Some(Timestamp::from_millis(2_000)),
        revoked_at: None,
    };
    store.insert_api_key(&sessions).unwrap();
    store.insert_api_key(&publishable).unwrap();
    assert_eq!(store.api_key("k2").unwrap(), Some(sessions.clone()));
    assert_eq!(store.api_key("k3").unwrap(), Some(publishable.clone()));
    assert!(publishable.is_publishable() && !sessions.is_publishable());
    let mut scopes: Vec<Scope> = [&key, &sessions, &publishable]
        .iter()
        .flat_map(|k| k.scopes.clone())
        .collect();
    scopes.sort();
    assert_eq!(scopes, Scope::ALL, "every scope is stored");
    assert_eq!(
        store.api_keys().unwrap(),
        vec![key, sessions, publishable],
        "oldest first, revoked and expired ones included"
    );
}

pub fn api_keys_revoke_and_expire(store: &dyn Store) {
    let t = Timestamp::from_millis;
    let key = |id: &str, at: i64| ApiKeyRecord {
        id: id.into(),
        secret_hash: [1; 32],
        scopes: vec![Scope::Ingest],
        allowed_origins: Vec::new(),
        label: id.into(),
        created_at: t(at),
        expires_at: None,
        revoked_at: None,
    };
    assert!(matches!(
        store.revoke_api_key("nope", t(1)),
        Err(crate::StoreError::NotFound)
    ));
    assert!(matches!(
        store.expire_api_key("nope", t(1)),
        Err(crate::StoreError::NotFound)
    ));
    store.insert_api_key(&key("old", 1)).unwrap();
    store.insert_api_key(&key("other", 2)).unwrap();
    let read = |id: &str| store.api_key(id).unwrap().unwrap();
    assert!(read("old").is_live(t(1_000_000)), "no expiry, not revoked");

    // Expiry only ever moves earlier.
    store.expire_api_key("old", t(100)).unwrap();
    assert_eq!(read("old").expires_at, Some(t(100)));
    store.expire_api_key("old", t(200)).unwrap();
    assert_eq!(read("old").expires_at, Some(t(100)), "never extended");
    store.expire_api_key("old", t(50)).unwrap();
    assert_eq!(read("old").expires_at, Some(t(50)), "shortened");
    assert!(read("old").is_live(t(49)));
    assert!(!read("old").is_live(t(50)), "expired at the instant itself");
    assert_eq!(read("old").revoked_at, None, "expiry is not revocation");

    // The first revocation stands.
    store.revoke_api_key("old", t(30)).unwrap();
    assert_eq!(read("old").revoked_at, Some(t(30)));
    store.revoke_api_key("old", t(40)).unwrap();
    assert_eq!(
        read("old").revoked_at,
        Some(t(30)),
        "the first time is kept"
    );
    assert!(
        !read("old").is_live(t(0)),
        "a revoked key never works again"
    );
    assert_eq!(
        read("old").expires_at,
        Some(t(50)),
        "revocation keeps the expiry"
    );

    // A revoked key can still be expired (a rotation finishing late), and neither touches
    // another key.
    store.expire_api_key("old", t(20)).unwrap();
    assert_eq!(read("old").expires_at, Some(t(20)));
    assert_eq!(store.api_key("other").unwrap(), Some(key("other", 2)));
    assert_eq!(
        store.api_keys().unwrap().len(),
        2,
        "revoked keys are listed"
    );
}

pub fn token_keys_rotate_and_retire(store: &dyn Store) {
    let t = Timestamp::from_millis;
    assert!(store.token_keys().unwrap().is_empty());
    let one = store.insert_token_key(b"sealed-1", t(10), false).unwrap();
    let two = store.insert_token_key(b"sealed-2", t(20), false).unwrap();
    assert!(two > one, "ids increase: {one} then {two}");
    assert!(
        store
            .token_keys()
            .unwrap()
            .iter()
            .all(|k| k.retired_at.is_none()),
        "adding a key without retire_others retires nothing"
    );
    let three = store.insert_token_key(b"sealed-3", t(30), true).unwrap();
    assert!(three > two);
    assert_eq!(
        store.token_keys().unwrap(),
        vec![
            crate::TokenKeyRecord {
                id: one,
                sealed: b"sealed-1".to_vec(),
                created_at: t(10),
                retired_at: Some(t(30)),
            },
            crate::TokenKeyRecord {
                id: two,
                sealed: b"sealed-2".to_vec(),
                created_at: t(20),
                retired_at: Some(t(30)),
            },
            crate::TokenKeyRecord {
                id: three,
                sealed: b"sealed-3".to_vec(),
                created_at: t(30),
                retired_at: None,
            },
        ],
        "oldest first; the earlier keys retired when the new one came"
    );
    let four = store.insert_token_key(b"sealed-4", t(40), true).unwrap();
    assert!(four > three);
    let retired: Vec<(i64, Option<Timestamp>)> = store
        .token_keys()
        .unwrap()
        .iter()
        .map(|k| (k.id, k.retired_at))
        .collect();
    assert_eq!(
        retired,
        [
            (one, Some(t(30))),
            (two, Some(t(30))),
            (three, Some(t(40))),
            (four, None)
        ],
        "a retired key keeps its retirement time"
    );

    assert_eq!(
        store.delete_token_keys_retired_before(t(30)).unwrap(),
        0,
        "retired at the instant itself is not before it"
    );
    assert_eq!(store.delete_token_keys_retired_before(t(31)).unwrap(), 2);
    assert_eq!(
        store.delete_token_keys_retired_before(t(1_000)).unwrap(),
        1,
        "the live key stays whatever the time"
    );
    let left = store.token_keys().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].id, left[0].retired_at), (four, None));
    let five = store.insert_token_key(b"sealed-5", t(50), true).unwrap();
    assert!(five > four, "ids increase after deletions too");
}

pub fn token_revocations_keep_the_latest_and_survive_erasure(store: &dyn Store) {
    let t = Timestamp::from_millis;
    let (s, other, stranger) = (subject(40), subject(41), subject(42));
    assert_eq!(store.tokens_not_before(&s).unwrap(), None);
    store.revoke_subject_tokens(&s, t(100), t(1_000)).unwrap();
    assert_eq!(store.tokens_not_before(&s).unwrap(), Some(t(100)));
    // An earlier revocation does not move the instant back, but keeps the marker longer.
    store.revoke_subject_tokens(&s, t(50), t(2_000)).unwrap();
    assert_eq!(store.tokens_not_before(&s).unwrap(), Some(t(100)));
    // A later one moves it forward, and does not shorten how long the marker is kept.
    store.revoke_subject_tokens(&s, t(150), t(500)).unwrap();
    assert_eq!(store.tokens_not_before(&s).unwrap(), Some(t(150)));
    store.revoke_subject_tokens(&other, t(10), t(300)).unwrap();
    assert_eq!(store.tokens_not_before(&stranger).unwrap(), None);

    assert_eq!(store.delete_expired_token_revocations(t(299)).unwrap(), 0);
    assert_eq!(
        store.delete_expired_token_revocations(t(300)).unwrap(),
        1,
        "kept until the instant itself"
    );
    assert_eq!(store.tokens_not_before(&other).unwrap(), None);
    assert_eq!(
        store.delete_expired_token_revocations(t(1_999)).unwrap(),
        0,
        "the longest keep time holds"
    );

    // Erasure removes everything of the subject but the marker, which is not counted as
    // theirs: their old tokens stay void.
    populate(store, s, stranger, 60);
    let plan = crate::ErasurePlan { tombstone: None };
    let counts = store.erase_subject(&s, &plan).unwrap();
    assert!(!counts.is_empty());
    assert!(
        store.subject_footprint(&s).unwrap().is_empty(),
        "{:?}",
        store.subject_footprint(&s).unwrap()
    );
    assert_eq!(store.tokens_not_before(&s).unwrap(), Some(t(150)));

    assert_eq!(store.delete_expired_token_revocations(t(2_000)).unwrap(), 1);
    assert_eq!(store.tokens_not_before(&s).unwrap(), None);
}

fn item(id: &str, cats: &[&str]) -> CatalogItem {
    CatalogItem {
        id: id.to_owned(),
        title: format!("Item {id}"),
        categories: cats.iter().map(|c| (*c).to_owned()).collect(),
        attributes: "{}".to_owned(),
        restricted: Vec::new(),
        provider: "Acme".to_owned(),
    }
}

fn purposes(p: &[&str]) -> Vec<PurposeId> {
    p.iter().map(|p| PurposeId::parse(p).unwrap()).collect()
}

fn event(
    subject: SubjectKey,
    msg: u8,
    item: &str,
    interaction: Option<Interaction>,
    at: i64,
) -> NewEvent {
    NewEvent {
        subject,
        message_hash: [msg; 32],
        event_type: "Product Viewed".to_owned(),
        item_id: Some(item.to_owned()),
        properties: format!("{{\"product_id\":\"{item}\"}}"),
        purposes: purposes(&["analytics", "personalization"]),
        occurred_at: Timestamp::from_millis(at),
        expires_at: Timestamp::from_millis(at + 1_000_000),
        session_only: false,
        profile: interaction,
    }
}

fn batch(events: Vec<NewEvent>, now: i64) -> EventBatch {
    EventBatch {
        events,
        drops: Vec::new(),
        now: Some(Timestamp::from_millis(now)),
        half_life_days: 14.0,
        dedupe_window_ms: 7 * 86_400_000,
    }
}

pub fn catalog_round_trip(store: &dyn Store) {
    let now = Timestamp::from_millis(1);
    store
        .upsert_items(&[item("a", &["Books"]), item("b", &["Yoga", "Books"])], now)
        .unwrap();
    let mut changed = item("a", &["Music"]);
    changed.restricted = vec!["alcohol".into()];
    store.upsert_items(&[changed.clone()], now).unwrap();
    assert_eq!(store.item("a").unwrap(), Some(changed));
    assert_eq!(store.item("zzz").unwrap(), None);
    let page = store.items(PageRequest::first(1)).unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = store
        .items(PageRequest {
            after: page.next,
            limit: 10,
        })
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
}

pub fn events_dedupe_and_feed_profiles(store: &dyn Store) {
    let s = subject(10);
    store
        .upsert_items(&[item("sku-1", &["Running"])], Timestamp::from_millis(1))
        .unwrap();
    let mut b = batch(
        vec![
            event(s, 1, "sku-1", Some(Interaction::View), 1_000),
            event(s, 2, "sku-1", None, 2_000),
            event(s, 1, "sku-1", Some(Interaction::View), 3_000),
        ],
        10_000,
    );
    b.drops = vec![
        ("Product Viewed".into(), "no_consent".into()),
        ("Product Viewed".into(), "no_consent".into()),
    ];
    let out = store.insert_events(b).unwrap();
    assert!(matches!(out[0], InsertOutcome::Stored { .. }));
    assert!(matches!(out[1], InsertOutcome::Stored { .. }));
    assert_eq!(
        out[2],
        InsertOutcome::Duplicate,
        "same message id in one batch"
    );
    let again = store
        .insert_events(batch(vec![event(s, 2, "sku-1", None, 2_000)], 20_000))
        .unwrap();
    assert_eq!(
        again,
        vec![InsertOutcome::Duplicate],
        "same message id later"
    );
    let all = store.all_events(&s).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].interaction, Some(Interaction::View));
    assert_eq!(all[1].interaction, None);
    let p = store.profile(&s).unwrap().unwrap();
    assert_eq!(
        p.n_views, 1,
        "only the event allowed to feed the profile counts"
    );
    assert!(
        p.affinities.contains_key("Running"),
        "categories come from the catalog"
    );
    let drops = store.drop_counts(0).unwrap();
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].n, 2);
    assert_eq!(store.subjects_with_events(None, 10).unwrap(), vec![s]);
    let page = store.events(&s, PageRequest::first(1)).unwrap();
    assert_eq!(page.items[0].id, all[1].id, "newest first");
    // Past the dedupe window the same id counts as new.
    let later = store
        .insert_events(batch(
            vec![event(s, 2, "sku-1", None, 2_000)],
            20_000 + 8 * 86_400_000,
        ))
        .unwrap();
    assert!(matches!(later[0], InsertOutcome::Stored { .. }));
}

pub fn commit_ingest_writes_consents_audit_and_events(store: &dyn Store) {
    let p = Policy::default_policy();
    let (s, t) = (subject(20), subject(21));
    store.audit_append(audit_draft(0, None)).unwrap();
    let consents = vec![
        record(&p, "analytics", Decision::Granted, 900),
        record(&p, "personalization", Decision::Denied, 900),
    ];
    let mut events = batch(
        vec![
            event(s, 31, "sku-1", None, 800),
            event(t, 32, "sku-2", None, 850),
            event(s, 31, "sku-1", None, 800),
        ],
        1_000,
    );
    events.drops = vec![("Product Viewed".into(), "no_consent".into())];
    let commit = crate::IngestCommit {
        subjects: Vec::new(),
        consents: vec![(s, consents.clone())],
        audit: vec![audit_draft(1, Some("analytics")), audit_draft(2, None)],
        batch: events,
    };
    let out = store.commit_ingest(commit.clone()).unwrap();
    assert!(matches!(out[0], InsertOutcome::Stored { .. }));
    assert!(matches!(out[1], InsertOutcome::Stored { .. }));
    assert_eq!(
        out[2],
        InsertOutcome::Duplicate,
        "same message id in one commit"
    );
    assert_eq!(store.consent_records(&s).unwrap(), consents);
    assert!(store.consent_records(&t).unwrap().is_empty());
    assert!(
        store.subject(&s).unwrap().is_some(),
        "a new subject is created"
    );
    assert_eq!(store.all_events(&s).unwrap().len(), 1);
    assert_eq!(store.all_events(&t).unwrap().len(), 1);
    assert_eq!(store.drop_counts(0).unwrap()[0].n, 1);
    // The entries follow the head that was there, in order, linked.
    let entries = all_audit_entries(store, 10);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(entries[2].prev_hash, entries[1].hash);
    assert_eq!(entries[1].actor, audit_draft(1, None).actor);
    // A commit with nothing to write changes nothing.
    let empty = crate::IngestCommit {
        subjects: Vec::new(),
        consents: Vec::new(),
        audit: Vec::new(),
        batch: batch(Vec::new(), 2_000),
    };
    assert!(store.commit_ingest(empty).unwrap().is_empty());
    assert_eq!(all_audit_entries(store, 10).len(), 3);
}

pub fn concurrent_batches_all_commit(store: &dyn Store) {
    // Many callers at once: every batch must come back with its own results.
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u8)
            .map(|t| {
                scope.spawn(move || {
                    let s = subject(100 + u32::from(t));
                    let events = (0..20u8).map(|i| {
                        let mut e = event(s, 0, "x", None, 1_000);
                        e.message_hash = [
                            t, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 1,
                        ];
                        e
                    });
                    let out = store.insert_events(batch(events.collect(), 5_000)).unwrap();
                    assert_eq!(out.len(), 20);
                    assert!(
                        out.iter()
                            .all(|o| matches!(o, InsertOutcome::Stored { .. }))
                    );
                    s
                })
            })
            .collect();
        for h in handles {
            let s = h.join().unwrap();
            assert_eq!(store.all_events(&s).unwrap().len(), 20);
        }
    });
}

pub fn rewrite_narrows_and_rebuilds(store: &dyn Store) {
    let s = subject(11);
    store
        .upsert_items(&[item("sku-2", &["Yoga"])], Timestamp::from_millis(1))
        .unwrap();
    store
        .insert_events(batch(
            vec![
                event(s, 3, "sku-2", Some(Interaction::View), 1_000),
                event(s, 4, "sku-2", Some(Interaction::Add), 2_000),
            ],
            5_000,
        ))
        .unwrap();
    let ids: Vec<i64> = store.all_events(&s).unwrap().iter().map(|e| e.id).collect();
    let rewrite = EventRewrite {
        delete: vec![ids[0]],
        narrow: vec![Narrowed {
            id: ids[1],
            purposes: purposes(&["analytics"]),
            expires_at: Timestamp::from_millis(50_000),
            feeds_profile: false,
        }],
    };
    store
        .rewrite_events(&s, &rewrite, 14.0, Timestamp::from_millis(6_000))
        .unwrap();
    let left = store.all_events(&s).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].purposes, purposes(&["analytics"]));
    assert_eq!(left[0].interaction, None);
    assert_eq!(
        store.profile(&s).unwrap(),
        None,
        "a profile with nothing left to learn from is gone"
    );
}

pub fn expired_events_are_deleted(store: &dyn Store) {
    let s = subject(12);
    let mut short = event(s, 5, "x", Some(Interaction::View), 1_000);
    short.expires_at = Timestamp::from_millis(2_000);
    let long = event(s, 6, "x", None, 1_000);
    store
        .insert_events(batch(vec![short, long], 1_500))
        .unwrap();
    assert_eq!(
        store
            .delete_expired(Timestamp::from_millis(1_999), 100, 14.0, 1)
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_expired(Timestamp::from_millis(2_000), 100, 14.0, 1)
            .unwrap(),
        1
    );
    assert_eq!(store.all_events(&s).unwrap().len(), 1);
    assert_eq!(store.profile(&s).unwrap(), None);
}

pub fn merge_moves_events(store: &dyn Store) {
    let (anon, known) = (subject(13), subject(14));
    store
        .insert_events(batch(
            vec![
                event(anon, 7, "x", Some(Interaction::View), 1_000),
                event(anon, 8, "x", Some(Interaction::View), 1_100),
            ],
            2_000,
        ))
        .unwrap();
    let ids: Vec<i64> = store
        .all_events(&anon)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let moved = vec![Narrowed {
        id: ids[0],
        purposes: purposes(&["personalization"]),
        expires_at: Timestamp::from_millis(9_000),
        feeds_profile: true,
    }];
    store
        .merge_events(&anon, &known, &moved, 14.0, Timestamp::from_millis(3_000))
        .unwrap();
    assert_eq!(store.all_events(&anon).unwrap().len(), 1);
    let k = store.all_events(&known).unwrap();
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].purposes, purposes(&["personalization"]));
    assert_eq!(store.profile(&known).unwrap().unwrap().n_views, 1);
    assert_eq!(store.profile(&anon).unwrap().unwrap().n_views, 1);
}

pub fn preferences_round_trip(store: &dyn Store) {
    let (a, b) = (subject(1), subject(2));
    assert_eq!(
        store.preferences(&a).unwrap(),
        crate::Preferences::default()
    );
    let mut p = crate::Preferences::default();
    p.muted_categories.insert("Wine".to_owned());
    p.hidden_items.insert("sku-1".to_owned());
    p.paused = true;
    store
        .put_preferences(&a, &p, Timestamp::from_millis(1))
        .unwrap();
    assert_eq!(store.preferences(&a).unwrap(), p);
    assert_eq!(
        store.preferences(&b).unwrap(),
        crate::Preferences::default()
    );
    p.paused = false;
    store
        .put_preferences(&a, &p, Timestamp::from_millis(2))
        .unwrap();
    assert_eq!(
        store.preferences(&a).unwrap(),
        p,
        "an update replaces the document"
    );
    store
        .put_preferences(
            &a,
            &crate::Preferences::default(),
            Timestamp::from_millis(3),
        )
        .unwrap();
    assert_eq!(
        store.preferences(&a).unwrap(),
        crate::Preferences::default()
    );
}

pub fn generations_count_up(store: &dyn Store) {
    assert_eq!(store.generation("models").unwrap(), 0);
    assert_eq!(store.bump_generation("models").unwrap(), 1);
    assert_eq!(store.bump_generation("models").unwrap(), 2);
    assert_eq!(store.generation("models").unwrap(), 2);
    assert_eq!(
        store.generation("other").unwrap(),
        0,
        "counters are independent"
    );
}

// --- Data-subject rights. ---

fn dsr(kind: &str, subject_ref: u8, at: i64, completed: bool) -> crate::NewDsrRequest {
    crate::NewDsrRequest {
        kind: kind.to_owned(),
        subject_ref: [subject_ref; 32],
        jurisdiction: "gdpr".to_owned(),
        received_at: Timestamp::from_millis(at),
        deadline_at: Timestamp::from_millis(at + 30 * 86_400_000),
        completed_at: completed.then_some(Timestamp::from_millis(at)),
        detail: "{}".to_owned(),
    }
}

/// Gives a subject something in every table the store has for subjects.
fn populate(store: &dyn Store, s: SubjectKey, other: SubjectKey, msg: u8) {
    let policy = Policy::default_policy();
    let now = Timestamp::from_millis(5_000);
    store
        .upsert_items(&[item("sku-e", &["Running", "Yoga"])], now)
        .unwrap();
    store
        .append_consents(
            &s,
            &SubjectFacts {
                age_band: AgeBand::parse("18+"),
                country: Some("DE".into()),
            },
            &[
                record(&policy, "personalization", Decision::Granted, 1_000),
                record(&policy, "analytics", Decision::Denied, 1_100),
            ],
            now,
        )
        .unwrap();
    store.data_key(&s, [9; 32], now).unwrap();
    store.put_contact(&s, "email", b"sealed-bytes").unwrap();
    store
        .insert_events(batch(
            vec![
                event(s, msg, "sku-e", Some(Interaction::View), 2_000),
                event(other, msg + 1, "sku-e", Some(Interaction::View), 2_000),
            ],
            5_000,
        ))
        .unwrap();
    // A merge recorded in either direction links the subject too.
    store.merge_events(&other, &s, &[], 14.0, now).unwrap();
    store.set_restriction(&s, Some(now)).unwrap();
    store.mute_interest(&s, "Yoga", now).unwrap();
}

pub fn erasure_leaves_nothing_of_the_subject(store: &dyn Store) {
    let (s, other) = (subject(30), subject(31));
    populate(store, s, other, 30);
    let before = store.subject_footprint(&s).unwrap();
    for kind in [
        "events",
        "profile",
        "contact",
        "data_key",
        "consents",
        "subject",
        "merges",
        "restriction",
        "muted_interests",
    ] {
        assert!(before.contains_key(kind), "{kind} missing from {before:?}");
    }
    let plan = crate::ErasurePlan {
        tombstone: Some([0xAB; 32]),
    };
    let id = store
        .begin_erasure(&s, &plan, &dsr("erasure", 1, 6_000, false))
        .unwrap();
    // Beginning again returns the same request rather than a second one.
    assert_eq!(
        store
            .begin_erasure(&s, &plan, &dsr("erasure", 1, 6_001, false))
            .unwrap(),
        id
    );
    let counts = store.erase_subject(&s, &plan).unwrap();
    assert_eq!(counts["events"], 1);
    assert_eq!(counts["consents"], 2);
    assert_eq!(counts[crate::TOMBSTONES_KEPT], 2);
    assert_eq!(counts["data_key"], 1);
    assert_eq!(counts["merges"], 1);
    assert!(
        store.subject_footprint(&s).unwrap().is_empty(),
        "{:?}",
        store.subject_footprint(&s).unwrap()
    );
    assert!(store.subject(&s).unwrap().is_none());
    assert!(store.consent_records(&s).unwrap().is_empty());
    assert!(store.profile(&s).unwrap().is_none());
    assert!(store.contact(&s).unwrap().is_empty());
    assert!(store.restriction(&s).unwrap().is_none());
    // The other subject keeps everything but the merge record that named both.
    assert_eq!(store.all_events(&other).unwrap().len(), 1);
    assert!(store.profile(&other).unwrap().is_some());
    // Tombstones hold the choices, not the evidence or the key.
    let tombs = store.consent_tombstones(&[0xAB; 32]).unwrap();
    assert_eq!(tombs.len(), 2);
    assert_eq!(tombs[0].purpose, "personalization");
    assert_eq!(tombs[0].decision, "granted");
    assert_eq!(tombs[1].at, Timestamp::from_millis(1_100));
    // The intent remembers the first pass's counts; finishing clears it.
    let intents = store.erasure_intents().unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].counts.as_ref(), Some(&counts));
    store
        .finish_erasure(&s, id, "{\"receipt\":1}", Timestamp::from_millis(7_000))
        .unwrap();
    assert!(store.erasure_intents().unwrap().is_empty());
    let done = store.latest_dsr(&[1; 32], "erasure").unwrap().unwrap();
    assert_eq!(done.id, id);
    assert_eq!(done.status, crate::DSR_STATUS_COMPLETED);
    assert_eq!(done.completed_at, Some(Timestamp::from_millis(7_000)));
    assert_eq!(done.detail, "{\"receipt\":1}");
    // Erasing again is harmless and finds nothing.
    assert!(store.erase_subject(&s, &plan).unwrap().is_empty());
    store.purge_deleted().unwrap();
}

pub fn erasure_is_resumable(store: &dyn Store) {
    let (s, other) = (subject(32), subject(33));
    populate(store, s, other, 40);
    let plan = crate::ErasurePlan { tombstone: None };
    let id = store
        .begin_erasure(&s, &plan, &dsr("erasure", 2, 6_000, false))
        .unwrap();
    // A crash before the deletes: the intent is there, with no counts yet.
    let intents = store.erasure_intents().unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].subject, s);
    assert_eq!(intents[0].request_id, id);
    assert_eq!(intents[0].plan, plan);
    assert_eq!(intents[0].counts, None);
    let counts = store.erase_subject(&s, &plan).unwrap();
    assert!(!counts.contains_key(crate::TOMBSTONES_KEPT));
    // A crash after the deletes: a second pass deletes nothing, the saved counts stay.
    assert!(store.erase_subject(&s, &plan).unwrap().is_empty());
    assert_eq!(store.erasure_intents().unwrap()[0].counts, Some(counts));
    assert!(store.subject_footprint(&s).unwrap().is_empty());
    let pending = store.latest_dsr(&[2; 32], "erasure").unwrap().unwrap();
    assert_eq!(pending.status, crate::DSR_STATUS_IN_PROGRESS);
    assert_eq!(pending.completed_at, None);
}

pub fn restriction_and_muted_interests(store: &dyn Store) {
    let s = subject(34);
    let now = Timestamp::from_millis(5_000);
    assert_eq!(store.restriction(&s).unwrap(), None);
    assert!(store.set_restriction(&s, Some(now)).unwrap());
    assert!(
        !store
            .set_restriction(&s, Some(Timestamp::from_millis(9)))
            .unwrap()
    );
    assert_eq!(store.restriction(&s).unwrap(), Some(now));
    assert!(store.set_restriction(&s, None).unwrap());
    assert!(!store.set_restriction(&s, None).unwrap());
    assert_eq!(store.restriction(&s).unwrap(), None);

    store
        .upsert_items(&[item("sku-m", &["Running", "Yoga"])], now)
        .unwrap();
    store
        .insert_events(batch(
            vec![event(s, 50, "sku-m", Some(Interaction::View), 1_000)],
            5_000,
        ))
        .unwrap();
    assert!(store.mute_interest(&s, "Yoga", now).unwrap());
    assert!(!store.mute_interest(&s, "Yoga", now).unwrap());
    assert!(!store.mute_interest(&s, "Chess", now).unwrap());
    assert_eq!(store.muted_interests(&s).unwrap(), vec!["Chess", "Yoga"]);
    let p = store.profile(&s).unwrap().unwrap();
    assert!(!p.affinities.contains_key("Yoga"));
    assert!(p.affinities.contains_key("Running"));
    // Later events about the muted category do not bring it back, nor does a rebuild.
    store
        .insert_events(batch(
            vec![event(s, 51, "sku-m", Some(Interaction::Purchase), 6_000)],
            7_000,
        ))
        .unwrap();
    assert!(
        !store
            .profile(&s)
            .unwrap()
            .unwrap()
            .affinities
            .contains_key("Yoga")
    );
    store
        .rewrite_events(
            &s,
            &EventRewrite::default(),
            14.0,
            Timestamp::from_millis(8_000),
        )
        .unwrap();
    let p = store.profile(&s).unwrap().unwrap();
    assert!(!p.affinities.contains_key("Yoga"));
    assert_eq!(p.n_purchases, 1);
}

pub fn dsr_requests_page_and_filter(store: &dyn Store) {
    let a = store.insert_dsr(&dsr("access", 3, 1_000, true)).unwrap();
    let b = store.insert_dsr(&dsr("erasure", 3, 2_000, false)).unwrap();
    let c = store.insert_dsr(&dsr("objection", 4, 3_000, true)).unwrap();
    let all = store.dsr_requests(None, PageRequest::first(2)).unwrap();
    assert_eq!(
        all.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![c, b],
        "newest first"
    );
    let rest = store
        .dsr_requests(
            None,
            PageRequest {
                after: all.next,
                limit: 2,
            },
        )
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id, a);
    assert_eq!(rest.next, None);
    let open = store
        .dsr_requests(Some(crate::DSR_STATUS_IN_PROGRESS), PageRequest::first(10))
        .unwrap();
    assert_eq!(open.items.len(), 1);
    assert_eq!(open.items[0].kind, "erasure");
    assert_eq!(
        open.items[0].deadline_at,
        Timestamp::from_millis(2_000 + 30 * 86_400_000)
    );
    let done = store
        .dsr_requests(Some(crate::DSR_STATUS_COMPLETED), PageRequest::first(10))
        .unwrap();
    assert_eq!(done.items.len(), 2);
    assert_eq!(store.latest_dsr(&[3; 32], "access").unwrap().unwrap().id, a);
    assert!(store.latest_dsr(&[4; 32], "access").unwrap().is_none());
}

pub fn dsr_summary_counts_open_closed_and_overdue(store: &dyn Store) {
    const DAY: i64 = 86_400_000;
    assert!(
        store
            .dsr_summary(Timestamp::from_millis(0), Timestamp::from_millis(0))
            .unwrap()
            .is_empty()
    );
    store.insert_dsr(&dsr("access", 1, 1_000, true)).unwrap();
    // Completed 40 days after arrival: late.
    let mut late = dsr("access", 2, 2_000, false);
    late.completed_at = Some(Timestamp::from_millis(2_000 + 40 * DAY));
    store.insert_dsr(&late).unwrap();
    store.insert_dsr(&dsr("erasure", 3, 3_000, false)).unwrap();
    store
        .insert_dsr(&dsr("erasure", 4, 50 * DAY, false))
        .unwrap();
    let now = Timestamp::from_millis(60 * DAY);
    let all = store.dsr_summary(Timestamp::from_millis(0), now).unwrap();
    assert_eq!(
        all,
        vec![
            crate::DsrKindSummary {
                kind: "access".into(),
                n_open: 0,
                n_closed: 2,
                n_overdue: 0,
                n_closed_late: 1,
                oldest_open_received_at: None,
            },
            crate::DsrKindSummary {
                kind: "erasure".into(),
                n_open: 2,
                n_closed: 0,
                n_overdue: 1,
                n_closed_late: 0,
                oldest_open_received_at: Some(Timestamp::from_millis(3_000)),
            },
        ]
    );
    // A later period leaves out closed requests from before it, never open ones.
    let later = store
        .dsr_summary(Timestamp::from_millis(10 * DAY), now)
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].n_open, later[0].n_overdue), (2, 1));
}

// --- Accountability (migration 3) ---

fn audit_draft(n: u32, purpose: Option<&str>) -> crate::AuditDraft {
    use candor_accountability::audit::{
        Actor, AuditAction, AuditDetails, AuditDraft, PurposeRef, TargetRef,
    };
    AuditDraft {
        at_ms: 1_000 + i64::from(n),
        actor: Actor::api_key(&format!("key{n}")).unwrap(),
        action: AuditAction::ConsentChanged,
        target: TargetRef::parse(&format!("subject:{n:04x}")).unwrap(),
        purpose: purpose.map(|p| PurposeRef::parse(p).unwrap()),
        details: AuditDetails::new()
            .with("granted", "analytics,marketing_email")
            .unwrap()
            .with("note", "quote \" and unicode é")
            .unwrap(),
    }
}

fn all_audit_entries(store: &dyn Store, page_len: u32) -> Vec<crate::AuditEntry> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(page_len);
    loop {
        let got = store.audit_entries(page).unwrap();
        out.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return out,
        }
    }
}

pub fn audit_chain_appends_links_and_pages(store: &dyn Store) {
    use candor_accountability::audit::{GENESIS_PREV_HASH, VerifyOutcome, verify};
    assert_eq!(store.audit_head().unwrap(), None);
    assert!(
        store
            .audit_entries(PageRequest::first(10))
            .unwrap()
            .items
            .is_empty()
    );
    let first = store
        .audit_append(audit_draft(1, Some("analytics")))
        .unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, GENESIS_PREV_HASH);
    let mut appended = vec![first];
    for n in 2..=7 {
        let e = store.audit_append(audit_draft(n, None)).unwrap();
        assert_eq!(e.seq, u64::from(n));
        assert_eq!(e.prev_hash, appended.last().unwrap().hash);
        appended.push(e);
    }
    assert_eq!(store.audit_head().unwrap().as_ref(), appended.last());
    assert_eq!(
        store.audit_last("consent_changed").unwrap().as_ref(),
        appended.last()
    );
    assert_eq!(store.audit_last("policy_changed").unwrap(), None);
    // Entries read back exactly as hashed, across page boundaries.
    let read = all_audit_entries(store, 3);
    assert_eq!(read, appended);
    match verify(read) {
        VerifyOutcome::Intact(head) => {
            assert_eq!(head.count, 7);
            assert_eq!(head.head_hash, appended[6].hash);
        }
        broken => panic!("{broken:?}"),
    }
}

pub fn concurrent_audit_appends_stay_linear(store: &dyn Store) {
    use candor_accountability::audit::verify;
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            scope.spawn(move || {
                for i in 0..10 {
                    store.audit_append(audit_draft(t * 100 + i, None)).unwrap();
                }
            });
        }
    });
    let entries = all_audit_entries(store, 7);
    assert_eq!(entries.len(), 40);
    assert!(verify(entries).is_intact());
    assert_eq!(store.audit_head().unwrap().unwrap().seq, 40);
}

pub fn audit_attributes_round_trip_and_erase(store: &dyn Store) {
    let (a, b) = (subject(1), subject(2));
    let now = Timestamp::from_millis(1_000);
    assert_eq!(store.audit_attributes(&a).unwrap(), None);
    store.put_audit_attributes(&a, b"sealed-a1", now).unwrap();
    store.put_audit_attributes(&a, b"sealed-a2", now).unwrap();
    store.put_audit_attributes(&b, b"sealed-b", now).unwrap();
    assert_eq!(
        store.audit_attributes(&a).unwrap().as_deref(),
        Some(&b"sealed-a2"[..])
    );
    let mut all = Vec::new();
    let mut after: Option<SubjectKey> = None;
    loop {
        let page = store.audit_attributes_after(after.as_ref(), 1).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        all.extend(page);
    }
    assert_eq!(all.len(), 2);
    assert!(all.contains(&(a, b"sealed-a2".to_vec())));
    assert!(store.delete_audit_attributes(&a).unwrap());
    assert!(!store.delete_audit_attributes(&a).unwrap());
    assert_eq!(store.audit_attributes(&a).unwrap(), None);
    assert_eq!(
        store.audit_attributes(&b).unwrap().as_deref(),
        Some(&b"sealed-b"[..])
    );
}

pub fn exposures_round_trip_and_erase(store: &dyn Store) {
    use crate::Exposure;
    let (a, b) = (subject(1), subject(2));
    let exposure = |subject: SubjectKey, slot: &str, item: &str, rank: u32, at: i64| Exposure {
        subject,
        slot: slot.to_owned(),
        item_id: item.to_owned(),
        rank,
        at: Timestamp::from_millis(at),
        personalized: rank % 2 == 1,
        provider: format!("provider-{item}"),
    };
    let batch = vec![
        exposure(a, "home", "i1", 1, 1_000),
        exposure(a, "home", "i2", 2, 1_000),
        exposure(b, "home", "i1", 1, 2_000),
        exposure(b, "pdp", "i3", 1, 2_000),
        exposure(a, "home", "i3", 1, 3_000),
    ];
    store.record_exposures(&batch).unwrap();
    store.record_exposures(&[]).unwrap();
    let mut home = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store
            .exposures_for_slot("home", Timestamp::from_millis(1_500), page)
            .unwrap();
        home.extend(got.items);
        match got.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    assert_eq!(home, vec![batch[2].clone(), batch[4].clone()]);
    assert_eq!(
        store.exposures_for_subject(&a).unwrap(),
        vec![batch[0].clone(), batch[1].clone(), batch[4].clone()]
    );
    assert_eq!(
        store.exposure_slots(Timestamp::from_millis(0), 10).unwrap(),
        vec!["home".to_owned(), "pdp".to_owned()]
    );
    assert_eq!(
        store
            .exposure_slots(Timestamp::from_millis(2_500), 10)
            .unwrap(),
        vec!["home".to_owned()],
        "only slots shown since"
    );
    assert_eq!(
        store
            .exposure_slots(Timestamp::from_millis(0), 1)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.delete_exposures(&a).unwrap(), 3);
    assert!(store.exposures_for_subject(&a).unwrap().is_empty());
    assert_eq!(store.exposures_for_subject(&b).unwrap().len(), 2);

    // Lists longer than a page: paging inside a list neither loses nor repeats an item.
    let listed = |prefix: &str, len: u32, at: i64| -> Vec<Exposure> {
        (1..=len)
            .map(|rank| Exposure {
                personalized: true,
                ..exposure(b, "feed", &format!("{prefix}{rank}"), rank, at)
            })
            .collect()
    };
    let feed: Vec<Exposure> = listed("f", 5, 4_000)
        .into_iter()
        .chain(listed("g", 3, 5_000))
        .collect();
    store.record_exposures(&feed).unwrap();
    for page_len in [1, 2, 3, 8, 9] {
        let mut got = Vec::new();
        let mut page = PageRequest::first(page_len);
        loop {
            let p = store
                .exposures_for_slot("feed", Timestamp::from_millis(0), page)
                .unwrap();
            assert!(p.items.len() <= page_len as usize);
            got.extend(p.items);
            match p.next {
                Some(n) => page.after = Some(n),
                None => break,
            }
        }
        assert_eq!(got, feed, "pages of {page_len}");
    }
    // Retention deletes lists served before the cutoff among the oldest it reads. Lists now,
    // oldest first: b's two single ones (2,000), f (4,000, five), g (5,000, three), o (4,200,
    // two, recorded last).
    let old = listed("o", 2, 4_200);
    store.record_exposures(&old).unwrap();
    let cutoff = Timestamp::from_millis(4_500);
    let deleted = |lists, exposures| crate::DeletedExposures { lists, exposures };
    assert_eq!(
        store.delete_exposures_before(cutoff, 2).unwrap(),
        deleted(2, 2)
    );
    assert_eq!(
        store.delete_exposures_before(cutoff, 2).unwrap(),
        deleted(1, 5),
        "f goes, g is kept: fewer than read, so a retention pass stops here"
    );
    assert_eq!(
        store.delete_exposures_before(cutoff, 100).unwrap(),
        deleted(1, 2),
        "an expired list recorded behind a kept one goes on a later read"
    );
    assert_eq!(
        store.delete_exposures_before(cutoff, 100).unwrap(),
        deleted(0, 0)
    );
    assert_eq!(
        store.exposures_for_subject(&b).unwrap(),
        listed("g", 3, 5_000)
    );
    // Erasure counts exposures, not the lists they were served in.
    assert_eq!(store.subject_footprint(&b).unwrap()["exposures"], 3);
    assert_eq!(store.delete_exposures(&b).unwrap(), 3);
    assert!(
        !store
            .subject_footprint(&b)
            .unwrap()
            .contains_key("exposures")
    );
}

// --- Segments and campaigns -------------------------------------------------------------------

const HOUR_MS: i64 = 3_600_000;

fn segment_record(id: &str, at: i64) -> crate::SegmentRecord {
    crate::SegmentRecord {
        id: id.to_owned(),
        name: format!("Segment {id}"),
        purpose: "email_marketing".to_owned(),
        rule: "views(30d) >= 1".to_owned(),
        created_at: Timestamp::from_millis(at),
    }
}

fn campaign_record(id: &str, segment: &str, at: i64) -> crate::CampaignRecord {
    crate::CampaignRecord {
        id: id.to_owned(),
        segment_id: segment.to_owned(),
        spec: format!("{{\"id\":\"{id}\"}}"),
        created_at: Timestamp::from_millis(at),
    }
}

fn selected(s: SubjectKey, key: &str) -> crate::NewOutcome {
    crate::NewOutcome {
        subject: s,
        reason: None,
        delivery: Some(crate::NewDelivery {
            idempotency_key: key.to_owned(),
            payload: Some(format!("{{\"k\":\"{key}\"}}")),
        }),
    }
}

fn excluded(s: SubjectKey, reason: &str) -> crate::NewOutcome {
    crate::NewOutcome {
        subject: s,
        reason: Some(reason.to_owned()),
        delivery: None,
    }
}

fn email_run(
    run_id: &str,
    campaign: &str,
    now: i64,
    outcomes: Vec<crate::NewOutcome>,
) -> crate::NewRun {
    crate::NewRun {
        run_id: run_id.to_owned(),
        campaign_id: campaign.to_owned(),
        channel: "email".to_owned(),
        now: Timestamp::from_millis(now),
        channel_cap: crate::CapLimit {
            max: 2,
            window_ms: 24 * HOUR_MS,
        },
        campaign_cap: Some(crate::CapLimit {
            max: 1,
            window_ms: 24 * HOUR_MS,
        }),
        record_outcomes: true,
        outcomes,
        flag: None,
        hold_if_flagged: false,
    }
}

pub fn segments_and_campaigns_round_trip(store: &dyn Store) {
    assert_eq!(store.segment("runners").unwrap(), None);
    store
        .insert_segment(&segment_record("runners", 10))
        .unwrap();
    store
        .insert_segment(&segment_record("walkers", 20))
        .unwrap();
    assert!(matches!(
        store.insert_segment(&segment_record("runners", 30)),
        Err(crate::StoreError::Conflict(_))
    ));
    assert_eq!(
        store.segment("runners").unwrap(),
        Some(segment_record("runners", 10)),
        "a conflicting insert changes nothing"
    );
    let ids: Vec<String> = store
        .segments()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["runners", "walkers"]);

    store
        .insert_campaign(&campaign_record("spring", "runners", 40))
        .unwrap();
    store
        .insert_campaign(&campaign_record("autumn", "walkers", 50))
        .unwrap();
    assert!(
        store
            .insert_campaign(&campaign_record("spring", "walkers", 60))
            .is_err()
    );
    assert_eq!(
        store.campaign("spring").unwrap(),
        Some(campaign_record("spring", "runners", 40))
    );
    assert_eq!(store.campaign("winter").unwrap(), None);
    let ids: Vec<String> = store
        .campaigns()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["spring", "autumn"]);
}

pub fn runs_reserve_cap_slots_and_keep_outcomes(store: &dyn Store) {
    let (a, b, c) = (subject(1), subject(2), subject(3));
    for s in [a, b, c] {
        store
            .upsert_subject(&s, &SubjectFacts::default(), Timestamp::from_millis(1))
            .unwrap();
    }
    let mut keys = store.subject_keys(None, 10).unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.is_sorted());
    keys.truncate(1);
    assert_eq!(store.subject_keys(Some(&keys[0]), 10).unwrap().len(), 2);

    let t = 100 * HOUR_MS;
    let out = store
        .commit_run(&email_run(
            "run-1",
            "spring",
            t,
            vec![
                selected(a, "1a"),
                excluded(b, "no_consent"),
                selected(c, "1c"),
            ],
        ))
        .unwrap();
    assert_eq!(
        out.iter().map(|o| o.selected).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(out[1].reason.as_deref(), Some("no_consent"));
    assert_eq!(store.run("run-1").unwrap().unwrap().campaign_id, "spring");
    assert_eq!(store.run("run-9").unwrap(), None);
    let mut expected: Vec<(SubjectKey, bool)> = vec![(a, true), (b, false), (c, true)];
    expected.sort_by_key(|(k, _)| *k.as_bytes());
    let stored: Vec<(SubjectKey, bool)> = store
        .run_outcomes("run-1")
        .unwrap()
        .into_iter()
        .map(|o| (o.subject, o.selected))
        .collect();
    assert_eq!(stored, expected, "outcomes in key order");
    let deliveries = store.run_deliveries("run-1").unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].subject, a);
    assert_eq!(deliveries[0].attempts, 0);
    assert_eq!(deliveries[0].delivered_at, None);

    // The campaign's own cap (1 a day) is full for a and c; b has room.
    let out = store
        .commit_run(&email_run(
            "run-2",
            "spring",
            t + HOUR_MS,
            vec![selected(a, "2a"), selected(b, "2b"), selected(c, "2c")],
        ))
        .unwrap();
    let reasons: Vec<Option<&str>> = out.iter().map(|o| o.reason.as_deref()).collect();
    assert_eq!(
        reasons,
        [Some("frequency_cap"), None, Some("frequency_cap")]
    );
    // Another campaign on the same channel: the channel cap (2 a day) is now full for a...
    let out = store
        .commit_run(&email_run(
            "run-3",
            "autumn",
            t + 2 * HOUR_MS,
            vec![selected(a, "3a")],
        ))
        .unwrap();
    assert!(
        out[0].selected,
        "a had one email today; the channel allows two"
    );
    let out = store
        .commit_run(&email_run(
            "run-4",
            "other",
            t + 3 * HOUR_MS,
            vec![selected(a, "4a")],
        ))
        .unwrap();
    assert_eq!(out[0].reason.as_deref(), Some("frequency_cap"));
    // ... until the window rolls past the first delivery.
    let out = store
        .commit_run(&email_run(
            "run-5",
            "other",
            t + 24 * HOUR_MS + 1,
            vec![selected(a, "5a")],
        ))
        .unwrap();
    assert!(out[0].selected);
    // A commit with a key already used queues nothing twice.
    let mut again = email_run("run-6", "again", t + 48 * HOUR_MS, vec![selected(b, "2b")]);
    again.record_outcomes = false;
    store.commit_run(&again).unwrap();
    assert_eq!(store.run("run-6").unwrap(), None, "decisions keep no run");

    let mine = store.subject_outcomes(&b, 10).unwrap();
    let runs: Vec<(&str, bool)> = mine
        .iter()
        .map(|o| (o.run_id.as_str(), o.selected))
        .collect();
    assert_eq!(
        runs,
        [("run-2", true), ("run-1", false)],
        "newest first, recorded runs only"
    );
    assert_eq!(mine[1].reason.as_deref(), Some("no_consent"));
    assert_eq!(mine[1].campaign_id, "spring");
    assert_eq!(mine[1].at, Timestamp::from_millis(t));
    assert_eq!(store.subject_outcomes(&b, 1).unwrap().len(), 1);

    let state = store
        .marketing_state(&a, Timestamp::from_millis(t - 1))
        .unwrap();
    let campaigns: Vec<&str> = state.deliveries.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(campaigns, ["spring", "autumn", "other"]);
    assert!(state.deliveries.is_sorted_by_key(|d| d.2));
    assert!(state.deliveries.iter().all(|d| d.1 == "email"));
}

pub fn racing_runs_never_over_deliver(store: &dyn Store) {
    const SUBJECTS: u32 = 20;
    const RUNS: usize = 4;
    let subjects: Vec<SubjectKey> = (0..SUBJECTS).map(subject).collect();
    let now = 500 * HOUR_MS;
    std::thread::scope(|scope| {
        for r in 0..RUNS {
            let subjects = &subjects;
            scope.spawn(move || {
                // Half the runs go through the subjects backwards, so they cross.
                let mut order: Vec<&SubjectKey> = subjects.iter().collect();
                if r % 2 == 1 {
                    order.reverse();
                }
                let outcomes = order
                    .into_iter()
                    .map(|s| selected(*s, &format!("race-{r}-{}", s.to_hex())))
                    .collect();
                let mut run = email_run(&format!("race-{r}"), &format!("race-{r}"), now, outcomes);
                run.channel_cap.max = 1;
                store.commit_run(&run).unwrap();
            });
        }
    });
    let mut per_subject = std::collections::BTreeMap::<SubjectKey, u32>::new();
    let mut selected_total = 0;
    for r in 0..RUNS {
        for d in store.run_deliveries(&format!("race-{r}")).unwrap() {
            *per_subject.entry(d.subject).or_default() += 1;
        }
        selected_total += store
            .run_outcomes(&format!("race-{r}"))
            .unwrap()
            .iter()
            .filter(|o| o.selected)
            .count();
    }
    assert_eq!(per_subject.len(), SUBJECTS as usize, "everyone got one");
    assert!(per_subject.values().all(|n| *n == 1), "{per_subject:?}");
    assert_eq!(
        selected_total, SUBJECTS as usize,
        "outcomes agree with deliveries"
    );
}

pub fn streamed_runs_reserve_measure_and_roll_back(store: &dyn Store) {
    const SUBJECTS: u32 = 40;
    let subjects: Vec<SubjectKey> = (0..SUBJECTS).map(subject).collect();
    let t = 300 * HOUR_MS;
    // The first five already had today's message of this campaign (its cap is 1 a day).
    let earlier: Vec<crate::NewOutcome> = subjects[..5]
        .iter()
        .map(|s| selected(*s, &format!("early-{}", s.to_hex())))
        .collect();
    store
        .commit_run(&email_run("early", "stream", t, earlier))
        .unwrap();

    // A run whose deciding fails keeps nothing, not even the batches it already wrote.
    let mut run = email_run("broken", "stream", t + 1, Vec::new());
    let failed = store.stream_run(
        &run,
        &mut |sink| {
            sink.write(vec![selected(subjects[10], "broken-10")])?;
            Err(crate::StoreError::Other("deciding failed".into()))
        },
        &mut |_| panic!("a failed run is not measured"),
    );
    assert!(failed.is_err());
    assert_eq!(store.run("broken").unwrap(), None);
    assert!(store.run_deliveries("broken").unwrap().is_empty());

    // Two threads write batches of one run at once; the measure sees every final outcome and
    // flags the run, which (with the policy's hold) holds its deliveries.
    run.run_id = "streamed".into();
    run.hold_if_flagged = true;
    let mut measured = Vec::new();
    let committed = store
        .stream_run(
            &run,
            &mut |sink| {
                std::thread::scope(|scope| {
                    for half in subjects.chunks(SUBJECTS as usize / 2) {
                        scope.spawn(move || {
                            for batch in half.chunks(7) {
                                let outcomes = batch
                                    .iter()
                                    .map(|s| match s.as_bytes()[0] % 4 {
                                        0 => excluded(*s, "no_consent"),
                                        _ => selected(*s, &format!("streamed-{}", s.to_hex())),
                                    })
                                    .collect();
                                sink.write(outcomes).unwrap();
                            }
                        });
                    }
                });
                Ok(())
            },
            &mut |outcomes| {
                measured = outcomes.to_vec();
                Ok(Some(crate::NewFlag { parity_ratio: 0.5 }))
            },
        )
        .unwrap();
    assert!(committed.held);
    // The measure saw every outcome, final or (where a backend reserves at the commit) as
    // decided: a cap can only turn a selection into an exclusion.
    assert_eq!(measured.len(), committed.outcomes.len());
    for (m, o) in measured.iter().zip(&committed.outcomes) {
        assert_eq!(m.subject, o.subject);
        assert!(m.selected || !o.selected, "{m:?} {o:?}");
    }
    assert_eq!(committed.outcomes.len(), SUBJECTS as usize);
    let mut stored = store.run_outcomes("streamed").unwrap();
    let mut expected = committed.outcomes.clone();
    expected.sort_by_key(|o| *o.subject.as_bytes());
    stored.sort_by_key(|o| *o.subject.as_bytes());
    assert_eq!(stored, expected);
    for o in &committed.outcomes {
        let capped = subjects[..5].contains(&o.subject);
        let wanted = o.subject.as_bytes()[0] % 4 != 0;
        match (wanted, capped) {
            (false, _) => assert_eq!(o.reason.as_deref(), Some("no_consent")),
            (true, true) => assert_eq!(o.reason.as_deref(), Some("frequency_cap")),
            (true, false) => assert!(o.selected, "{o:?}"),
        }
    }
    let deliveries = store.run_deliveries("streamed").unwrap();
    assert_eq!(
        deliveries.len(),
        committed.outcomes.iter().filter(|o| o.selected).count()
    );
    assert!(deliveries.iter().all(|d| d.held));
    assert_eq!(
        store.held_deliveries(Some("streamed")).unwrap(),
        deliveries.len() as u64
    );
    let flags = store.fairness_flags(Some("stream"), 10).unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(
        (flags[0].run_id.as_str(), flags[0].held),
        ("streamed", true)
    );
    assert!(
        store
            .claim_deliveries(Timestamp::from_millis(t + 2), 60_000, 100)
            .unwrap()
            .iter()
            .all(|d| d.run_id != "streamed"),
        "held deliveries stay out of the outbox"
    );

    // A flagged run that queues nothing holds nothing.
    run.run_id = "nobody".into();
    let committed = store
        .stream_run(
            &run,
            &mut |sink| sink.write(vec![excluded(subjects[20], "not_in_segment")]),
            &mut |_| Ok(Some(crate::NewFlag { parity_ratio: 0.5 })),
        )
        .unwrap();
    assert!(!committed.held);
    assert_eq!(committed.outcomes.len(), 1);
    assert_eq!(store.fairness_flags(Some("stream"), 10).unwrap().len(), 2);
}

pub fn outbox_leases_retries_and_completes(store: &dyn Store) {
    let (a, b) = (subject(1), subject(2));
    let t = 10 * HOUR_MS;
    let mut run = email_run(
        "out-1",
        "spring",
        t,
        vec![selected(a, "oa"), selected(b, "ob")],
    );
    // A message shown by the caller itself is counted, never posted.
    run.outcomes[1].delivery.as_mut().unwrap().payload = None;
    store.commit_run(&run).unwrap();
    let claimed = store
        .claim_deliveries(Timestamp::from_millis(t), 60_000, 10)
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let d = &claimed[0];
    assert_eq!((d.subject, d.attempts), (a, 1));
    assert_eq!(d.payload.as_deref(), Some("{\"k\":\"oa\"}"));
    assert_eq!(d.idempotency_key, "oa");
    // Leased: nobody else takes it before the lease ends.
    assert!(
        store
            .claim_deliveries(Timestamp::from_millis(t + 1), 60_000, 10)
            .unwrap()
            .is_empty()
    );
    // Failed: due again at the time given, not before.
    store
        .delivery_failed(d.id, Timestamp::from_millis(t + 5_000), "HTTP 503")
        .unwrap();
    assert!(
        store
            .claim_deliveries(Timestamp::from_millis(t + 4_999), 60_000, 10)
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_deliveries(Timestamp::from_millis(t + 5_000), 60_000, 10)
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
    // A worker that dies leaves the delivery to be taken again once the lease ends.
    let retaken = store
        .claim_deliveries(Timestamp::from_millis(t + 65_000), 60_000, 10)
        .unwrap();
    assert_eq!((retaken.len(), retaken[0].attempts), (1, 3));
    store
        .delivery_succeeded(d.id, Timestamp::from_millis(t + 66_000))
        .unwrap();
    // A late failure report does not requeue a delivered message.
    store
        .delivery_failed(d.id, Timestamp::from_millis(t), "late")
        .unwrap();
    assert!(
        store
            .claim_deliveries(Timestamp::from_millis(t + 1_000 * HOUR_MS), 60_000, 10)
            .unwrap()
            .is_empty()
    );
    let all = store.run_deliveries("out-1").unwrap();
    assert_eq!(
        all[0].delivered_at,
        Some(Timestamp::from_millis(t + 66_000))
    );
    assert_eq!(all[0].last_error, None);
}

pub fn unsubscribes_time_zones_and_erasure(store: &dyn Store) {
    let (a, b) = (subject(1), subject(2));
    let t = 10 * HOUR_MS;
    assert_eq!(
        store
            .marketing_state(&a, Timestamp::from_millis(0))
            .unwrap(),
        crate::MarketingState::default()
    );
    store
        .unsubscribe(&a, "sms", Timestamp::from_millis(t))
        .unwrap();
    store
        .unsubscribe(&a, "email", Timestamp::from_millis(t))
        .unwrap();
    store
        .unsubscribe(&a, "email", Timestamp::from_millis(t + 1))
        .unwrap();
    store.set_time_zone(&a, "Europe/Berlin").unwrap();
    store.set_time_zone(&a, "Asia/Tokyo").unwrap();
    store
        .unsubscribe(&b, "email", Timestamp::from_millis(t))
        .unwrap();
    store
        .commit_run(&email_run(
            "erase-1",
            "spring",
            t,
            vec![selected(a, "ea"), selected(b, "eb")],
        ))
        .unwrap();
    let state = store
        .marketing_state(&a, Timestamp::from_millis(0))
        .unwrap();
    assert_eq!(state.unsubscribed, ["email", "sms"]);
    audience_pages_agree_with_point_reads(store);
    assert_eq!(state.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(state.deliveries.len(), 1);

    store.erase_campaign_data(&a).unwrap();
    assert_eq!(
        store
            .marketing_state(&a, Timestamp::from_millis(0))
            .unwrap(),
        crate::MarketingState::default()
    );
    assert!(store.subject_outcomes(&a, 10).unwrap().is_empty());
    let outcomes = store.run_outcomes("erase-1").unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].subject, b, "only the erased subject's rows go");
    let deliveries = store.run_deliveries("erase-1").unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].subject, b);
    assert_eq!(
        store
            .marketing_state(&b, Timestamp::from_millis(0))
            .unwrap()
            .unsubscribed,
        ["email"]
    );
}

/// A page of the audience holds exactly what the per-subject reads return, with only the
/// profile events the query asks for.
fn audience_pages_agree_with_point_reads(store: &dyn Store) {
    let p = Policy::default_policy();
    let now = Timestamp::from_millis(20 * HOUR_MS);
    for n in 10..16u8 {
        let s = subject(u32::from(n));
        store
            .append_consents(
                &s,
                &SubjectFacts {
                    age_band: AgeBand::parse("18+"),
                    country: Some("DE".into()),
                },
                &[record(&p, "personalization", Decision::Granted, 5)],
                now,
            )
            .unwrap();
        if n % 2 == 0 {
            let mut with_category = event(s, n, "sku-1", Some(Interaction::Purchase), 9);
            with_category.properties = r#"{"product_id":"sku-1","category":"Running"}"#.into();
            let mut odd_category = event(s, n + 100, "sku-2", Some(Interaction::View), 8);
            odd_category.properties = r#"{"category":7,"x":[1,{"y":"z"}]}"#.into();
            store
                .insert_events(batch(
                    vec![
                        event(s, n + 50, "sku-1", Some(Interaction::View), 6),
                        with_category,
                        odd_category,
                        // Feeds no profile: never part of the page.
                        event(s, n + 150, "sku-3", None, 10),
                    ],
                    11,
                ))
                .unwrap();
            store.set_time_zone(&s, "Europe/Berlin").unwrap();
            store.unsubscribe(&s, "push", now).unwrap();
        }
        if n % 3 == 0 {
            store
                .set_restriction(&s, Some(Timestamp::from_millis(3)))
                .unwrap();
            let preferences = crate::Preferences {
                self_excluded: true,
                ..crate::Preferences::default()
            };
            store.put_preferences(&s, &preferences, now).unwrap();
        }
    }
    for events_since in [None, Some(0), Some(7)] {
        let query = AudienceQuery {
            deliveries_since: Timestamp::from_millis(1),
            events_since: events_since.map(Timestamp::from_millis),
            up_to: None,
        };
        let mut after: Option<SubjectKey> = None;
        let mut seen = 0;
        let mut events_seen = 0;
        loop {
            let page = store.audience_page(after.as_ref(), 4, &query).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.key);
            for row in &page {
                seen += 1;
                let k = &row.key;
                assert_eq!(row.facts, store.subject(k).unwrap().unwrap().facts);
                assert_eq!(row.consents, store.consent_records(k).unwrap());
                assert_eq!(row.profile, store.profile(k).unwrap());
                let events: Vec<AudienceEvent> = match query.events_since {
                    None => Vec::new(),
                    Some(since) => store
                        .all_events(k)
                        .unwrap()
                        .iter()
                        .filter(|e| e.occurred_at > since)
                        .filter_map(AudienceEvent::of)
                        .collect(),
                };
                assert_eq!(row.events, events);
                events_seen += row.events.len();
                assert_eq!(
                    row.marketing,
                    store.marketing_state(k, query.deliveries_since).unwrap()
                );
                assert_eq!(row.restriction, store.restriction(k).unwrap());
                assert_eq!(row.preferences, store.preferences(k).unwrap());
            }
        }
        assert_eq!(seen, store.subject_keys(None, 1_000).unwrap().len());
        assert!(seen >= 6);
        // Three subjects with three profile events each; two of each are after 7.
        let expected = match events_since {
            None => 0,
            Some(0) => 9,
            _ => 6,
        };
        assert_eq!(events_seen, expected, "events since {events_since:?}");
    }
    // Readers that split the key space at any key (inclusive upper bound) together see every
    // subject once, in key order.
    let all = store.subject_keys(None, 1_000).unwrap();
    for split in [all[0], all[all.len() / 2], *all.last().unwrap()] {
        let mut read = Vec::new();
        for (start, up_to) in [(None, Some(split)), (Some(split), None)] {
            let query = AudienceQuery {
                deliveries_since: Timestamp::from_millis(1),
                events_since: None,
                up_to,
            };
            let mut after = start;
            loop {
                let page = store.audience_page(after.as_ref(), 3, &query).unwrap();
                let Some(last) = page.last() else { break };
                after = Some(last.key);
                read.extend(page.iter().map(|r| r.key));
            }
        }
        assert_eq!(read, all, "split at {split:?}");
    }
    // What a rule reads of the events, category included.
    let s = subject(10);
    let stored = store.all_events(&s).unwrap();
    let read: Vec<(Interaction, Option<String>)> = stored
        .iter()
        .filter_map(AudienceEvent::of)
        .map(|e| (e.interaction, e.category))
        .collect();
    assert_eq!(
        read,
        [
            (Interaction::View, None),
            (Interaction::Purchase, Some("Running".to_owned())),
            (Interaction::View, None),
        ]
    );
}

pub fn flagged_runs_hold_deliveries_until_acknowledged(store: &dyn Store) {
    let (a, b, c) = (subject(1), subject(2), subject(3));
    let t = 10 * HOUR_MS;
    assert_eq!(store.latest_run("spring").unwrap(), None);
    assert_eq!(
        store
            .acknowledge_fairness_flags("spring", "nothing to see", Timestamp::from_millis(t))
            .unwrap(),
        crate::Acknowledgement::NotFlagged
    );
    // A flagged run with the hold on: its deliveries stay out of the outbox.
    let mut run = email_run("fl-1", "spring", t, vec![selected(a, "fa")]);
    run.flag = Some(crate::NewFlag { parity_ratio: 0.5 });
    run.hold_if_flagged = true;
    store.commit_run(&run).unwrap();
    assert_eq!(store.held_deliveries(Some("fl-1")).unwrap(), 1);
    assert!(store.run_deliveries("fl-1").unwrap()[0].held);
    let claim = |at: i64| {
        store
            .claim_deliveries(Timestamp::from_millis(at), 60_000, 10)
            .unwrap()
    };
    assert!(claim(t).is_empty());
    // A later run of the same campaign, not flagged itself, is held behind the open flag.
    let mut later = email_run("fl-2", "spring", t + 1, vec![selected(b, "fb")]);
    later.hold_if_flagged = true;
    store.commit_run(&later).unwrap();
    assert_eq!(store.held_deliveries(None).unwrap(), 2);
    // Another campaign is not affected.
    let mut other = email_run("ot-1", "summer", t + 2, vec![selected(c, "oc")]);
    other.hold_if_flagged = true;
    store.commit_run(&other).unwrap();
    assert_eq!(claim(t + 2).len(), 1);
    assert_eq!(store.latest_run("spring").unwrap().unwrap().id, "fl-2");

    let flags = store.fairness_flags(None, 10).unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(
        flags[0],
        crate::FairnessFlag {
            campaign_id: "spring".into(),
            run_id: "fl-1".into(),
            parity_ratio: 0.5,
            flagged_at: Timestamp::from_millis(t),
            held: true,
            acknowledged_at: None,
            acknowledgement_note: None,
        }
    );
    assert!(store.fairness_flags(Some("summer"), 10).unwrap().is_empty());

    let ack = store
        .acknowledge_fairness_flags("spring", "reviewed", Timestamp::from_millis(t + 10))
        .unwrap();
    assert_eq!(
        ack,
        crate::Acknowledgement::Done {
            n_flags: 1,
            n_released: 2,
            at: Timestamp::from_millis(t + 10),
            note: "reviewed".into(),
        }
    );
    assert_eq!(store.held_deliveries(None).unwrap(), 0);
    assert_eq!(claim(t + 10).len(), 2);
    let flag = &store.fairness_flags(Some("spring"), 10).unwrap()[0];
    assert!(!flag.held);
    assert_eq!(flag.acknowledgement_note.as_deref(), Some("reviewed"));
    // Again: nothing changes, and the first acknowledgement stands.
    assert_eq!(
        store
            .acknowledge_fairness_flags("spring", "again", Timestamp::from_millis(t + 20))
            .unwrap(),
        crate::Acknowledgement::Done {
            n_flags: 0,
            n_released: 0,
            at: Timestamp::from_millis(t + 10),
            note: "reviewed".into(),
        }
    );
    // Without the hold, a flagged run is recorded and delivered.
    let mut free = email_run("fl-3", "spring", t + 30, vec![selected(c, "fc")]);
    free.flag = Some(crate::NewFlag { parity_ratio: 0.6 });
    store.commit_run(&free).unwrap();
    assert_eq!(store.held_deliveries(None).unwrap(), 0);
    assert_eq!(
        store.fairness_flags(Some("spring"), 10).unwrap()[0].run_id,
        "fl-3"
    );
    assert_eq!(store.fairness_flags(Some("spring"), 1).unwrap().len(), 1);
}

// --- Experiments ------------------------------------------------------------------------------

fn experiment_record(id: &str, at: i64) -> crate::ExperimentRecord {
    crate::ExperimentRecord {
        id: id.to_owned(),
        definition: format!("{{\"id\":\"{id}\"}}"),
        policy_version: "pv-1".to_owned(),
        status: crate::ExperimentStatus::Active,
        created_at: Timestamp::from_millis(at),
        stopped_at: None,
    }
}

fn assignment_record(
    experiment: &str,
    s: SubjectKey,
    arm: &str,
    at: i64,
) -> crate::AssignmentRecord {
    crate::AssignmentRecord {
        experiment_id: experiment.to_owned(),
        subject: s,
        arm: arm.to_owned(),
        assigned_at: Timestamp::from_millis(at),
    }
}

fn experiment_exposure(
    experiment: &str,
    s: SubjectKey,
    arm: &str,
    list: &str,
    at: i64,
) -> crate::ExperimentExposure {
    crate::ExperimentExposure {
        experiment_id: experiment.to_owned(),
        subject: s,
        arm: arm.to_owned(),
        list_id: Some(list.to_owned()),
        at: Timestamp::from_millis(at),
    }
}

pub fn experiments_round_trip_and_stop(store: &dyn Store) {
    assert!(store.experiment("x").unwrap().is_none());
    store
        .insert_experiment(&experiment_record("b", 20))
        .unwrap();
    store
        .insert_experiment(&experiment_record("a", 10))
        .unwrap();
    assert!(matches!(
        store.insert_experiment(&experiment_record("a", 30)),
        Err(crate::StoreError::Conflict(_))
    ));
    let ids: Vec<String> = store
        .experiments()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["a", "b"], "oldest first");
    assert_eq!(
        store.experiment("a").unwrap(),
        Some(experiment_record("a", 10))
    );
    store
        .stop_experiment("a", "{\"stopped\":true}", Timestamp::from_millis(40))
        .unwrap();
    let stopped = store.experiment("a").unwrap().unwrap();
    assert_eq!(stopped.status, crate::ExperimentStatus::Stopped);
    assert_eq!(stopped.stopped_at, Some(Timestamp::from_millis(40)));
    assert_eq!(stopped.definition, "{\"stopped\":true}");
    assert_eq!(
        store.experiment("b").unwrap().unwrap().status,
        crate::ExperimentStatus::Active
    );
    assert!(matches!(
        store.stop_experiment("nope", "{}", Timestamp::from_millis(40)),
        Err(crate::StoreError::NotFound)
    ));
}

pub fn assignments_are_sticky_and_carry_over(store: &dyn Store) {
    let (visitor, person, other) = (subject(60), subject(61), subject(62));
    assert!(store.assignment("e1", &visitor).unwrap().is_none());
    let first = assignment_record("e1", visitor, "b", 100);
    assert_eq!(store.put_assignment(&first).unwrap(), first);
    // A second enrollment (another instance, a retry) gets the arm already stored.
    let again = assignment_record("e1", visitor, "a", 200);
    assert_eq!(store.put_assignment(&again).unwrap(), first);
    store
        .put_assignment(&assignment_record("e2", visitor, "holdout", 150))
        .unwrap();
    store
        .put_assignment(&assignment_record("e1", person, "a", 300))
        .unwrap();
    store
        .put_assignment(&assignment_record("e1", other, "a", 300))
        .unwrap();
    let arms = |s: &SubjectKey| -> Vec<(String, String)> {
        store
            .assignments_for_subject(s)
            .unwrap()
            .into_iter()
            .map(|a| (a.experiment_id, a.arm))
            .collect()
    };
    assert_eq!(
        arms(&visitor),
        [
            ("e1".to_owned(), "b".to_owned()),
            ("e2".to_owned(), "holdout".to_owned())
        ],
        "oldest first"
    );
    store
        .record_experiment_exposures(&[experiment_exposure("e1", visitor, "b", "l1", 110)])
        .unwrap();
    // Identify: the caller decided the visitor's earlier arm wins for e1 and e2 carries over.
    let carried = [
        assignment_record("e1", visitor, "b", 100),
        assignment_record("e2", visitor, "holdout", 150),
    ];
    store
        .carry_over_assignments(&visitor, &person, &carried)
        .unwrap();
    assert!(arms(&visitor).is_empty());
    assert_eq!(
        arms(&person),
        [
            ("e1".to_owned(), "b".to_owned()),
            ("e2".to_owned(), "holdout".to_owned())
        ]
    );
    assert_eq!(
        store.assignment("e1", &person).unwrap().unwrap().subject,
        person
    );
    // The visitor's exposures are the person's now, like their events.
    assert!(
        store
            .experiment_exposures_for_subject(&visitor)
            .unwrap()
            .is_empty()
    );
    let moved = store.experiment_exposures_for_subject(&person).unwrap();
    assert_eq!(moved, [experiment_exposure("e1", person, "b", "l1", 110)]);
    assert_eq!(arms(&other), [("e1".to_owned(), "a".to_owned())]);
}

pub fn experiment_reads_serve_the_report(store: &dyn Store) {
    let policy = Policy::default_policy();
    let (s, t, stranger) = (subject(70), subject(71), subject(72));
    store
        .record_experiment_exposures(&[
            experiment_exposure("e1", s, "a", "l1", 1_000),
            experiment_exposure("e1", t, "b", "l2", 1_100),
            experiment_exposure("e1", s, "a", "l3", 1_200),
            experiment_exposure("e2", stranger, "a", "l4", 1_000),
        ])
        .unwrap();
    let exposures = store.experiment_exposures("e1").unwrap();
    assert_eq!(
        exposures,
        [
            experiment_exposure("e1", s, "a", "l1", 1_000),
            experiment_exposure("e1", t, "b", "l2", 1_100),
            experiment_exposure("e1", s, "a", "l3", 1_200),
        ],
        "in the order recorded"
    );
    let mut order = event(s, 1, "sku-1", Some(Interaction::Purchase), 1_500);
    order.event_type = "Order Completed".to_owned();
    order.properties = "{\"revenue\":12.5,\"product_id\":\"sku-1\"}".to_owned();
    let mut click = event(t, 2, "sku-2", Some(Interaction::View), 1_600);
    click.properties = "{\"list_id\":\"l2\",\"total\":\"not a number\"}".to_owned();
    let old = event(s, 3, "sku-3", Some(Interaction::View), 100);
    let strangers = event(stranger, 4, "sku-4", Some(Interaction::View), 1_500);
    store
        .insert_events(batch(vec![order, click, old, strangers], 2_000))
        .unwrap();
    let events = store
        .experiment_events("e1", Timestamp::from_millis(500))
        .unwrap();
    assert_eq!(
        events.len(),
        2,
        "exposed people's events since the time asked: {events:?}"
    );
    assert_eq!(events[0].subject, s);
    assert_eq!(events[0].event_type, "Order Completed");
    assert_eq!(events[0].item_id.as_deref(), Some("sku-1"));
    assert_eq!(events[0].revenue, Some(12.5));
    assert_eq!(events[0].list_id, None);
    assert_eq!(events[0].at, Timestamp::from_millis(1_500));
    assert_eq!(events[1].list_id.as_deref(), Some("l2"));
    assert_eq!(
        events[1].revenue, None,
        "a property of the wrong type reads as absent"
    );
    // Withdrawals: the earliest withdrawal or refusal of the purpose since the time asked.
    for (who, decisions) in [
        (
            s,
            vec![
                (Decision::Granted, 900),
                (Decision::Withdrawn, 1_300),
                (Decision::Denied, 1_400),
            ],
        ),
        (
            t,
            vec![(Decision::Withdrawn, 400), (Decision::Granted, 800)],
        ),
        (stranger, vec![(Decision::Withdrawn, 1_300)]),
    ] {
        let records: Vec<ConsentRecord> = decisions
            .into_iter()
            .map(|(d, at)| record(&policy, "personalization", d, at))
            .collect();
        store
            .append_consents(
                &who,
                &SubjectFacts::default(),
                &records,
                Timestamp::from_millis(2_000),
            )
            .unwrap();
    }
    let decisions = store
        .experiment_consent_decisions("e1", "personalization")
        .unwrap();
    let decision = |allowed, at| crate::ConsentDecision {
        subject: s,
        allowed,
        at: Timestamp::from_millis(at),
    };
    let of = |who| {
        decisions
            .iter()
            .filter(|d| d.subject == who)
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(s),
        [
            decision(true, 900),
            decision(false, 1_300),
            decision(false, 1_400)
        ],
        "every decision of exposed people about the purpose, in time order"
    );
    assert_eq!(
        of(t),
        [
            crate::ConsentDecision {
                subject: t,
                allowed: false,
                at: Timestamp::from_millis(400)
            },
            crate::ConsentDecision {
                subject: t,
                allowed: true,
                at: Timestamp::from_millis(800)
            }
        ],
        "before the start too: a grant ends an earlier withdrawal"
    );
    assert_eq!(decisions.len(), 5, "nobody unexposed: {decisions:?}");
    assert!(
        store
            .experiment_consent_decisions("e1", "analytics")
            .unwrap()
            .is_empty()
    );
}

pub fn experiment_sequential_state_only_tightens(store: &dyn Store) {
    let state = |arm: &str, n_looks, p_value, ci_low, ci_high| crate::SequentialRecord {
        metric: "orders".to_owned(),
        arm: arm.to_owned(),
        n_looks,
        p_value,
        ci_low,
        ci_high,
    };
    assert!(store.sequential_states("e1").unwrap().is_empty());
    store
        .fold_sequential_states(
            "e1",
            &[state("b", 1, 0.4, -0.5, 1.5), state("c", 1, 0.9, -2.0, 2.0)],
        )
        .unwrap();
    // A second look: p falls for b, its interval narrows on one side only.
    store
        .fold_sequential_states("e1", &[state("b", 2, 0.6, -0.25, 2.0)])
        .unwrap();
    // A stale look (a report computed from the state before the one above) still counts as a
    // look, and cannot widen what is stored.
    store
        .fold_sequential_states("e1", &[state("b", 2, 0.1, -1.0, 1.0)])
        .unwrap();
    // A look whose interval misses the stored one leaves the interval as it is.
    store
        .fold_sequential_states("e1", &[state("c", 2, 0.95, 3.0, 4.0)])
        .unwrap();
    assert_eq!(
        store.sequential_states("e1").unwrap(),
        [
            state("b", 3, 0.1, -0.25, 1.0),
            state("c", 2, 0.9, -2.0, 2.0)
        ]
    );
    assert!(store.sequential_states("e2").unwrap().is_empty());
}

pub fn experiment_data_is_subject_data(store: &dyn Store) {
    let (s, other) = (subject(80), subject(81));
    store
        .put_assignment(&assignment_record("e1", s, "b", 100))
        .unwrap();
    store
        .put_assignment(&assignment_record("e1", other, "a", 100))
        .unwrap();
    store
        .record_experiment_exposures(&[
            experiment_exposure("e1", s, "b", "l1", 110),
            experiment_exposure("e1", s, "b", "l2", 120),
            experiment_exposure("e1", other, "a", "l3", 110),
        ])
        .unwrap();
    let footprint = store.subject_footprint(&s).unwrap();
    assert_eq!(footprint.get("experiment_assignments"), Some(&1));
    assert_eq!(footprint.get("experiment_exposures"), Some(&2));
    let counts = store
        .erase_subject(&s, &crate::ErasurePlan { tombstone: None })
        .unwrap();
    assert_eq!(counts["experiment_assignments"], 1);
    assert_eq!(counts["experiment_exposures"], 2);
    assert!(store.subject_footprint(&s).unwrap().is_empty());
    assert!(store.assignments_for_subject(&s).unwrap().is_empty());
    assert_eq!(
        store.experiment_exposures("e1").unwrap().len(),
        1,
        "only the other's is left"
    );
    assert_eq!(store.assignments_for_subject(&other).unwrap().len(), 1);
}

// --- Private analytics ---------------------------------------------------------------------

fn cost(epsilon_micros: u64, delta_units: u64) -> candor_analytics::PrivacyCost {
    candor_analytics::PrivacyCost::new(
        candor_analytics::Epsilon::from_micros(epsilon_micros),
        candor_analytics::Delta::from_units(delta_units),
    )
}

fn family(name: &str) -> candor_analytics::ReportFamily {
    candor_analytics::ReportFamily::parse(name).unwrap()
}

fn charge(name: &str, days: (i32, i32), spend: u64, limit: u64) -> crate::analytics::BudgetCharge {
    crate::analytics::BudgetCharge {
        family: family(name),
        first_day: days.0,
        last_day: days.1,
        cost: cost(spend, 10),
        limit: cost(limit, 100),
    }
}

fn release(name: &str, query: &str) -> crate::analytics::Release {
    crate::analytics::Release {
        family: family(name),
        query: query.to_owned(),
        last_day: 102,
        report: format!("{{\"query\":\"{query}\"}}"),
    }
}

/// Releases go once their last day is before the cutoff (and, stored without one, once old);
/// the budgets they charged stay, so asking again is charged again.
pub fn analytics_releases_are_pruned_after_their_days(store: &dyn Store) {
    use crate::analytics::ChargeOutcome;
    let now = Timestamp::from_millis(1_000);
    let c = charge("conversions", (100, 102), 400_000, 1_000_000);
    let ended = release("conversions", "ended");
    let recent = crate::analytics::Release {
        last_day: 110,
        ..release("conversions", "recent")
    };
    for r in [&ended, &recent] {
        assert_eq!(
            store.charge_release(&c, r, now).unwrap(),
            ChargeOutcome::Charged
        );
    }
    // The cutoff is the first day kept: a release whose last day is 102 goes at 103.
    assert_eq!(store.prune_releases(102, now).unwrap(), 0);
    assert_eq!(store.prune_releases(103, now).unwrap(), 1);
    assert_eq!(
        store.released(&family("conversions"), "ended").unwrap(),
        None
    );
    assert!(
        store
            .released(&family("conversions"), "recent")
            .unwrap()
            .is_some()
    );
    let spent = store
        .budget_spent(&family("conversions"), 100, 102)
        .unwrap();
    assert_eq!(
        spent
            .values()
            .map(|s| s.epsilon.micros())
            .collect::<Vec<_>>(),
        [800_000; 3],
        "pruning leaves the budgets spent"
    );
    // Asked again, the pruned request is a new release and is charged again: 0.4 more does
    // not fit what is left (0.2).
    assert!(matches!(
        store.charge_release(&c, &ended, now).unwrap(),
        ChargeOutcome::Exhausted { day: 100, .. }
    ));
}

/// A charge spends on every day it covers or on none; a repeated query is answered from its
/// release without spending; a refusal says which day and what is left, and changes nothing.
pub fn analytics_charges_check_and_spend_in_one_step(store: &dyn Store) {
    use crate::analytics::ChargeOutcome;
    let now = Timestamp::from_millis(1_000);
    let c = charge("conversions", (100, 102), 400_000, 1_000_000);
    assert_eq!(
        store
            .charge_release(&c, &release("conversions", "q1"), now)
            .unwrap(),
        ChargeOutcome::Charged
    );
    let spent = store.budget_spent(&family("conversions"), 99, 103).unwrap();
    assert_eq!(spent.keys().copied().collect::<Vec<_>>(), [100, 101, 102]);
    assert!(spent.values().all(|s| *s == cost(400_000, 10)));

    // The same query: the stored report, nothing spent.
    assert_eq!(
        store
            .charge_release(&c, &release("conversions", "q1"), now)
            .unwrap(),
        ChargeOutcome::AlreadyReleased("{\"query\":\"q1\"}".to_owned())
    );
    assert_eq!(
        store
            .released(&family("conversions"), "q1")
            .unwrap()
            .as_deref(),
        Some("{\"query\":\"q1\"}")
    );
    assert_eq!(
        store.budget_spent(&family("conversions"), 99, 103).unwrap(),
        spent
    );

    // Days 102-103: 102 can afford one more 0.4 but not two; 103 is fresh.
    let wide = charge("conversions", (102, 103), 400_000, 1_000_000);
    assert_eq!(
        store
            .charge_release(&wide, &release("conversions", "q2"), now)
            .unwrap(),
        ChargeOutcome::Charged
    );
    let refused = store
        .charge_release(
            &charge("conversions", (101, 103), 400_000, 1_000_000),
            &release("conversions", "q3"),
            now,
        )
        .unwrap();
    assert_eq!(
        refused,
        ChargeOutcome::Exhausted {
            day: 102,
            remaining: cost(200_000, 80)
        }
    );
    let after = store.budget_spent(&family("conversions"), 99, 103).unwrap();
    assert_eq!(
        after[&101],
        cost(400_000, 10),
        "a refused charge spends on no day"
    );
    assert_eq!(after[&102], cost(800_000, 20));
    assert_eq!(after[&103], cost(400_000, 10));
    assert_eq!(
        store.released(&family("conversions"), "q3").unwrap(),
        None,
        "nor is it stored"
    );

    // δ is checked too; a cost above the limit is refused even on a fresh day.
    let delta_heavy = crate::analytics::BudgetCharge {
        cost: cost(1, 101),
        ..charge("conversions", (200, 200), 1, 1_000_000)
    };
    assert!(matches!(
        store
            .charge_release(&delta_heavy, &release("conversions", "q4"), now)
            .unwrap(),
        ChargeOutcome::Exhausted { day: 200, .. }
    ));
    assert!(
        store
            .budget_spent(&family("conversions"), 200, 200)
            .unwrap()
            .is_empty()
    );

    // Families keep separate budgets.
    assert_eq!(
        store
            .charge_release(
                &charge("top-items", (102, 102), 1_000_000, 1_000_000),
                &release("top-items", "q1"),
                now
            )
            .unwrap(),
        ChargeOutcome::Charged
    );
    // A range beyond the limit of one charge is an error, not a partial charge.
    assert!(
        store
            .charge_release(
                &charge("top-items", (0, 1_000), 1, 1_000_000),
                &release("top-items", "huge"),
                now
            )
            .is_err()
    );
    assert!(store.budget_spent(&family("top-items"), 10, 9).is_err());
}

/// Threads racing to charge one budget: exactly as many charges as it affords succeed, and
/// the spending is exactly theirs.
pub fn analytics_racing_charges_never_overspend(store: &dyn Store) {
    use crate::analytics::ChargeOutcome;
    const THREADS: usize = 4;
    const TRIES: usize = 5;
    // Seven charges of 0.3 fit a budget of 2.1; 20 try.
    let charged = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let charged = &charged;
            scope.spawn(move || {
                for i in 0..TRIES {
                    let outcome = store
                        .charge_release(
                            &charge("race", (10, 16), 300_000, 2_100_000),
                            &release("race", &format!("t{t}-{i}")),
                            Timestamp::from_millis(1),
                        )
                        .unwrap();
                    if outcome == ChargeOutcome::Charged {
                        charged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(charged.into_inner(), 7);
    let spent = store.budget_spent(&family("race"), 10, 16).unwrap();
    assert_eq!(spent.len(), 7);
    assert!(
        spent.values().all(|s| *s == cost(2_100_000, 70)),
        "{spent:?}"
    );
}

/// Reports read only events whose purposes include analytics, with their category, revenue
/// and the subject's country; touches and consent records come back in their range.
pub fn analytics_reads_only_what_analytics_allows(store: &dyn Store) {
    use crate::analytics::AnalyticsRange;
    let policy = Policy::default_policy();
    let (a, b) = (subject(1), subject(2));
    store
        .upsert_subject(
            &a,
            &SubjectFacts {
                age_band: None,
                country: Some("DE".to_owned()),
            },
            Timestamp::from_millis(1),
        )
        .unwrap();
    let mut order = event(a, 1, "i1", Some(Interaction::Purchase), 5_000);
    order.event_type = "Order Completed".to_owned();
    order.properties = "{\"product_id\":\"i1\",\"category\":\"shoes\",\"revenue\":12.5}".to_owned();
    let mut viewed = event(b, 2, "i2", Some(Interaction::View), 6_000);
    viewed.properties = "{\"category\":\"hats\"}".to_owned();
    let mut private = event(b, 3, "i3", Some(Interaction::View), 6_500);
    private.purposes = purposes(&["personalization"]);
    let outside = event(a, 4, "i4", Some(Interaction::View), 50_000);
    store
        .insert_events(batch(vec![order, viewed, private, outside], 7_000))
        .unwrap();

    let range = |country: Option<&str>| AnalyticsRange {
        from: Timestamp::from_millis(1_000),
        to: Timestamp::from_millis(10_000),
        country: country.map(str::to_owned),
    };
    let types = ["Order Completed".to_owned(), "Product Viewed".to_owned()];
    let mut got = store.analytics_events(&range(None), &types, true).unwrap();
    got.sort_by_key(|e| e.at);
    let summary: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.subject,
                e.item_id.as_deref(),
                e.category.as_deref(),
                e.revenue_minor,
                e.country.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (a, Some("i1"), Some("shoes"), 1250, None),
            (b, Some("i2"), Some("hats"), 0, None),
        ],
        "the event without analytics and the one outside the range are not read"
    );
    let german = store
        .analytics_events(&range(Some("DE")), &types, true)
        .unwrap();
    assert_eq!(
        german
            .iter()
            .map(|e| (e.subject, e.country.as_deref()))
            .collect::<Vec<_>>(),
        [(a, Some("DE"))]
    );
    // Without properties, no JSON is read: no category, no revenue.
    let bare = store
        .analytics_events(&range(None), &["Order Completed".to_owned()], false)
        .unwrap();
    assert_eq!(
        bare.iter()
            .map(|e| (e.item_id.as_deref(), e.category.as_deref(), e.revenue_minor))
            .collect::<Vec<_>>(),
        [(Some("i1"), None, 0)]
    );
    assert!(
        store
            .analytics_events(&range(None), &[], true)
            .unwrap()
            .is_empty()
    );

    store
        .record_exposures(&[crate::Exposure {
            subject: a,
            slot: "home".to_owned(),
            item_id: "i1".to_owned(),
            rank: 1,
            at: Timestamp::from_millis(4_000),
            personalized: true,
            provider: "acme".to_owned(),
        }])
        .unwrap();
    let touches = store.analytics_touches(&range(None)).unwrap();
    assert_eq!(touches.len(), 1);
    assert_eq!(
        (
            touches[0].subject,
            touches[0].channel.as_str(),
            touches[0].items.clone()
        ),
        (a, "home", vec!["i1".to_owned()])
    );

    store
        .append_consents(
            &b,
            &SubjectFacts::default(),
            &[record(&policy, "analytics", Decision::Denied, 2_000)],
            Timestamp::from_millis(2_000),
        )
        .unwrap();
    store
        .append_consents(
            &a,
            &SubjectFacts::default(),
            &[record(&policy, "analytics", Decision::Granted, 20_000)],
            Timestamp::from_millis(20_000),
        )
        .unwrap();
    let consents = store.analytics_consents(&range(None)).unwrap();
    assert_eq!(consents.len(), 1, "only the record in the range");
    assert_eq!(
        (
            consents[0].subject,
            consents[0].purpose.as_str(),
            consents[0].granted
        ),
        (b, "analytics", false)
    );
    assert!(
        store
            .analytics_consents(&range(Some("DE")))
            .unwrap()
            .is_empty()
    );
}
