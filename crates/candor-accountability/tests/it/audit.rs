use candor_accountability::audit::{
    AuditAction, AuditDetails, AuditDraft, AuditEntry, BreakKind, ChainBreak, ChainHead,
    GENESIS_PREV_HASH, PurposeRef, TargetRef, VerifyOutcome, chain_from_drafts, next_entry, verify,
    verify_against_anchor,
};
use candor_accountability::{Actor, AuditError};
use expect_test::expect;

pub(crate) fn draft(i: u64) -> AuditDraft {
    let actions = [
        AuditAction::ConsentChanged,
        AuditAction::DsrReceived,
        AuditAction::PersonalDataRead,
        AuditAction::Erasure,
        AuditAction::parse("model_rebuilt").unwrap(),
    ];
    let actors = [
        Actor::Subject,
        Actor::api_key("k_live_01").unwrap(),
        Actor::System,
        Actor::Cli,
    ];
    AuditDraft {
        at_ms: 1_700_000_000_000 + 1_000 * i as i64,
        actor: actors[i as usize % actors.len()].clone(),
        action: actions[i as usize % actions.len()].clone(),
        target: TargetRef::parse(&format!("subject:{:016x}", i * 7919)).unwrap(),
        purpose: (i % 2 == 0).then(|| PurposeRef::parse("marketing_email").unwrap()),
        details: AuditDetails::new().with("n", &i.to_string()).unwrap(),
    }
}

pub(crate) fn chain(n: u64) -> Vec<AuditEntry> {
    chain_from_drafts((0..n).map(draft))
}

fn head(chain: &[AuditEntry]) -> ChainHead {
    match verify(chain.iter().cloned()) {
        VerifyOutcome::Intact(head) => head,
        VerifyOutcome::Broken(b) => panic!("expected an intact chain, got {b}"),
    }
}

fn broken(entries: Vec<AuditEntry>) -> ChainBreak {
    match verify(entries) {
        VerifyOutcome::Broken(b) => b,
        VerifyOutcome::Intact(head) => panic!("tampering not detected, head {head}"),
    }
}

#[test]
fn a_fresh_chain_verifies_and_summarizes_its_head() {
    let entries = chain(5);
    assert_eq!(entries[0].seq, 1);
    assert_eq!(entries[0].prev_hash, GENESIS_PREV_HASH);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    let head = head(&entries);
    assert_eq!(head.count, 5);
    assert_eq!(head.head_seq, 5);
    assert_eq!(head.head_hash, entries[4].hash);
    assert_eq!(head.head_hash_hex(), entries[4].hash_hex());
}

#[test]
fn an_empty_chain_is_intact_with_the_empty_head() {
    assert_eq!(verify(Vec::new()), VerifyOutcome::Intact(ChainHead::EMPTY));
    assert_eq!(
        verify_against_anchor(Vec::new(), &ChainHead::EMPTY),
        VerifyOutcome::Intact(ChainHead::EMPTY)
    );
}

#[test]
fn the_canonical_encoding_and_hash_are_pinned() {
    // Stored chains must stay verifiable: any change to the byte layout must come with a new
    // format byte, and this snapshot makes an accidental change fail loudly.
    let entry = next_entry(None, draft(2));
    expect![[r#"
        0100000000000000010000018bcfe56fd00000000673797374 ...
        42e87b54beb5bf1b3531ac5f0f69176561b1baadcb5d84b49e7e6062e430d722"#]]
    .assert_eq(&format!(
        "{} ...\n{}",
        &hex::encode(entry.canonical_bytes())[..50],
        entry.hash_hex()
    ));
}

#[test]
fn length_prefixes_keep_field_boundaries_apart() {
    let mut a = draft(1);
    let mut b = draft(1);
    a.details = AuditDetails::new().with("ab", "c").unwrap();
    b.details = AuditDetails::new().with("a", "bc").unwrap();
    assert_ne!(
        next_entry(None, a).canonical_bytes(),
        next_entry(None, b).canonical_bytes()
    );
    let mut c = draft(1);
    let mut d = draft(1);
    c.purpose = None;
    d.purpose = Some(PurposeRef::parse("x").unwrap());
    assert_ne!(next_entry(None, c).hash, next_entry(None, d).hash);
}

/// A named way of changing one field of a stored entry.
pub(crate) type Mutation = (&'static str, fn(&mut AuditEntry));

/// Every way of changing one field of one stored entry without re-hashing.
pub(crate) fn mutations() -> Vec<Mutation> {
    vec![
        ("seq", |e| e.seq += 1),
        ("at_ms", |e| e.at_ms -= 1),
        ("actor", |e| {
            e.actor = if e.actor == Actor::Cli {
                Actor::System
            } else {
                Actor::Cli
            }
        }),
        ("action", |e| {
            e.action = if e.action == AuditAction::KeyCreated {
                AuditAction::KeyRevoked
            } else {
                AuditAction::KeyCreated
            }
        }),
        ("target", |e| {
            e.target = TargetRef::parse(&format!("{}x", e.target.as_str())).unwrap()
        }),
        ("purpose", |e| {
            e.purpose = match e.purpose {
                Some(_) => None,
                None => Some(PurposeRef::parse("analytics").unwrap()),
            }
        }),
        ("details value", |e| {
            let n = e.details.get("n").unwrap_or("0").to_owned() + "0";
            e.details.insert("n", &n).unwrap()
        }),
        ("details added", |e| e.details.insert("extra", "1").unwrap()),
        ("prev_hash", |e| e.prev_hash[31] ^= 1),
        ("hash", |e| e.hash[0] ^= 0x80),
    ]
}

#[test]
fn modifying_any_field_of_any_entry_is_a_hash_mismatch_at_that_entry() {
    let original = chain(6);
    for (name, mutate) in mutations() {
        for i in 0..original.len() {
            let mut entries = original.clone();
            mutate(&mut entries[i]);
            let b = broken(entries);
            assert_eq!(b.position, i as u64, "{name} of entry {i}");
            assert_eq!(b.kind, BreakKind::HashMismatch, "{name} of entry {i}");
        }
    }
}

#[test]
fn a_modified_and_rehashed_entry_breaks_the_link_of_its_successor() {
    let mut entries = chain(6);
    entries[2].at_ms += 1;
    entries[2].hash = entries[2].compute_hash();
    assert_eq!(
        broken(entries),
        ChainBreak {
            position: 3,
            seq: 4,
            kind: BreakKind::BrokenLink
        }
    );
}

#[test]
fn deleting_the_first_a_middle_or_the_last_but_one_entry_is_a_sequence_gap() {
    for (removed, position) in [(0, 0), (2, 2), (4, 4)] {
        let mut entries = chain(6);
        let gone = entries.remove(removed);
        let b = broken(entries);
        assert_eq!(b.position, position);
        assert_eq!(b.seq, gone.seq + 1);
        assert_eq!(b.kind, BreakKind::SequenceGap { expected: gone.seq });
    }
}

#[test]
fn a_deletion_renumbered_and_rehashed_downstream_still_breaks_a_link() {
    // An attacker who removes entry 3 and fixes up the numbering of the entries after it still
    // cannot make entry 3's successor point at entry 2 without re-hashing the whole tail.
    let mut entries = chain(6);
    entries.remove(2);
    for e in &mut entries[2..] {
        e.seq -= 1;
        e.hash = e.compute_hash();
    }
    assert_eq!(broken(entries).kind, BreakKind::BrokenLink);
}

#[test]
fn inserting_an_entry_is_detected() {
    // A forged entry appended to entry 2 takes seq 3, so the real entry 3 repeats it.
    let original = chain(5);
    let forged = next_entry(Some(&original[1]), draft(99));
    let mut entries = original.clone();
    entries.insert(2, forged);
    let b = broken(entries);
    assert_eq!((b.position, b.seq, b.kind), (3, 3, BreakKind::Duplicate));

    // A forged entry with any other number, followed by the genuine next entry.
    let mut entries = original.clone();
    let mut forged = next_entry(Some(&original[1]), draft(99));
    forged.seq = 10;
    forged.hash = forged.compute_hash();
    entries.insert(2, forged);
    assert_eq!(broken(entries).kind, BreakKind::Inserted { expected: 3 });
}

#[test]
fn swapping_two_entries_is_detected() {
    let mut entries = chain(5);
    entries.swap(1, 2);
    assert_eq!(
        broken(entries),
        ChainBreak {
            position: 1,
            seq: 3,
            kind: BreakKind::OutOfOrder { expected: 2 }
        }
    );
    let mut entries = chain(5);
    entries.swap(0, 3);
    assert_eq!(broken(entries).position, 0);
}

#[test]
fn a_duplicated_entry_is_detected() {
    let mut entries = chain(4);
    entries.insert(2, entries[1].clone());
    assert_eq!(
        broken(entries),
        ChainBreak {
            position: 2,
            seq: 2,
            kind: BreakKind::Duplicate
        }
    );
}

#[test]
fn truncation_is_invisible_to_the_chain_alone_but_not_to_an_anchor() {
    let entries = chain(6);
    let anchor = head(&entries);
    let truncated = entries[..4].to_vec();
    assert!(verify(truncated.clone()).is_intact());
    assert_eq!(
        verify_against_anchor(truncated, &anchor),
        VerifyOutcome::Broken(ChainBreak {
            position: 4,
            seq: 4,
            kind: BreakKind::Truncated { anchor_seq: 6 }
        })
    );
    assert!(matches!(
        verify_against_anchor(Vec::new(), &anchor),
        VerifyOutcome::Broken(ChainBreak {
            kind: BreakKind::Truncated { .. },
            ..
        })
    ));
}

#[test]
fn a_rewritten_tail_fails_against_the_anchor() {
    let entries = chain(6);
    let anchor = head(&entries);
    // Roll back to 4 entries and regrow to 7 with different content.
    let mut rewritten = entries[..4].to_vec();
    for i in 50..53 {
        let next = next_entry(rewritten.last(), draft(i));
        rewritten.push(next);
    }
    assert!(verify(rewritten.clone()).is_intact());
    let b = match verify_against_anchor(rewritten, &anchor) {
        VerifyOutcome::Broken(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!((b.seq, b.kind), (6, BreakKind::AnchorMismatch));
}

#[test]
fn a_chain_that_grew_after_anchoring_is_fine() {
    let mut entries = chain(4);
    let anchor = head(&entries);
    for i in 4..8 {
        let next = next_entry(entries.last(), draft(i));
        entries.push(next);
    }
    assert_eq!(
        verify_against_anchor(entries.clone(), &anchor),
        VerifyOutcome::Intact(head(&entries))
    );
}

#[test]
fn actors_round_trip_through_their_stored_form() {
    for actor in [
        Actor::Subject,
        Actor::System,
        Actor::Cli,
        Actor::api_key("key_1").unwrap(),
    ] {
        assert_eq!(Actor::parse(&actor.to_string()), Ok(actor));
    }
    assert!(Actor::parse("root").is_err());
    assert!(Actor::parse("api_key:").is_err());
    assert!(Actor::parse("api_key:has space").is_err());
}

#[test]
fn actions_have_one_representation_each() {
    assert_eq!(AuditAction::parse("erasure"), Ok(AuditAction::Erasure));
    assert_eq!(
        AuditAction::parse("consent_changed").unwrap().code(),
        "consent_changed"
    );
    let custom = AuditAction::parse("model_rebuilt").unwrap();
    assert_eq!(custom.code(), "model_rebuilt");
    assert!(matches!(custom, AuditAction::Other(_)));
    assert!(AuditAction::parse("Not Snake").is_err());
    assert!(AuditAction::parse("").is_err());
}

#[test]
fn targets_refuse_raw_identifiers_and_details_are_bounded() {
    assert_eq!(
        TargetRef::parse("jane@example.com"),
        Err(AuditError::RawIdentifierTarget)
    );
    assert!(TargetRef::parse("+44 20 7946 0000").is_err());
    assert!(TargetRef::parse("subject:9f2c").is_ok());
    let mut details = AuditDetails::new();
    for i in 0..16 {
        details.insert(&format!("k{i}"), "v").unwrap();
    }
    assert_eq!(details.insert("k16", "v"), Err(AuditError::TooManyDetails));
    assert!(details.insert("k0", "replaced").is_ok());
    assert_eq!(
        details.insert("k1", &"x".repeat(513)),
        Err(AuditError::DetailTooLong)
    );
}
