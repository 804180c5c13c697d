//! Property tests: any single change to a random chain is detected.

use candor_accountability::audit::{
    AuditAction, AuditDetails, AuditDraft, AuditEntry, PurposeRef, TargetRef, chain_from_drafts,
    verify,
};
use candor_accountability::{Actor, ChainHead, VerifyOutcome, verify_against_anchor};
use proptest::prelude::*;

use crate::audit::mutations;

fn arb_draft() -> impl Strategy<Value = AuditDraft> {
    (
        any::<i64>(),
        0usize..4,
        prop::sample::select(vec![
            "consent_changed",
            "dsr_received",
            "dsr_completed",
            "policy_changed",
            "key_created",
            "campaign_run",
            "personal_data_read",
            "erasure",
            "custom_kind",
        ]),
        "[a-z0-9:]{1,24}",
        proptest::option::of("[a-z_]{1,12}"),
        prop::collection::btree_map("[a-z_]{1,8}", ".{0,16}", 0..4),
    )
        .prop_map(|(at_ms, actor, action, target, purpose, details)| {
            let actor = match actor {
                0 => Actor::Subject,
                1 => Actor::System,
                2 => Actor::Cli,
                _ => Actor::api_key("key_9").unwrap(),
            };
            let mut d = AuditDetails::new();
            for (k, v) in &details {
                d.insert(k, v).unwrap();
            }
            AuditDraft {
                at_ms,
                actor,
                action: AuditAction::parse(action).unwrap(),
                target: TargetRef::parse(&target).unwrap(),
                purpose: purpose.map(|p| PurposeRef::parse(&p).unwrap()),
                details: d,
            }
        })
}

fn arb_chain() -> impl Strategy<Value = Vec<AuditEntry>> {
    prop::collection::vec(arb_draft(), 1..12).prop_map(chain_from_drafts)
}

fn head_of(entries: &[AuditEntry]) -> ChainHead {
    match verify(entries.iter().cloned()) {
        VerifyOutcome::Intact(h) => h,
        VerifyOutcome::Broken(b) => panic!("{b}"),
    }
}

proptest! {
    #[test]
    fn random_chains_verify(entries in arb_chain()) {
        let head = head_of(&entries);
        prop_assert_eq!(head.count, entries.len() as u64);
        prop_assert_eq!(
            verify_against_anchor(entries.clone(), &head),
            VerifyOutcome::Intact(head)
        );
    }

    #[test]
    fn any_single_field_change_is_detected_at_that_entry(
        entries in arb_chain(),
        index in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
    ) {
        let i = index.index(entries.len());
        let all = mutations();
        let (name, mutate) = all[which.index(all.len())];
        let mut tampered = entries.clone();
        mutate(&mut tampered[i]);
        match verify(tampered) {
            VerifyOutcome::Broken(b) => prop_assert_eq!(b.position, i as u64, "{}", name),
            VerifyOutcome::Intact(_) => prop_assert!(false, "{} of entry {} not detected", name, i),
        }
    }

    #[test]
    fn any_change_rehashed_is_detected_by_the_chain_or_the_anchor(
        entries in arb_chain(),
        index in any::<prop::sample::Index>(),
        delta in 1i64..1000,
    ) {
        let anchor = head_of(&entries);
        let i = index.index(entries.len());
        let mut tampered = entries.clone();
        tampered[i].at_ms = tampered[i].at_ms.wrapping_add(delta);
        tampered[i].hash = tampered[i].compute_hash();
        prop_assert!(!verify_against_anchor(tampered, &anchor).is_intact());
    }

    #[test]
    fn any_deletion_reorder_or_duplication_is_detected(
        entries in arb_chain(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        op in 0u8..3,
    ) {
        let anchor = head_of(&entries);
        let (i, j) = (a.index(entries.len()), b.index(entries.len()));
        let mut tampered = entries.clone();
        match op {
            0 => { tampered.remove(i); }
            1 => {
                prop_assume!(i != j);
                tampered.swap(i, j);
            }
            _ => { let copy = tampered[i].clone(); tampered.insert(j, copy); }
        }
        // Removing the last entry is truncation, visible only against the anchor.
        prop_assert!(!verify_against_anchor(tampered.clone(), &anchor).is_intact());
        if !(op == 0 && i == entries.len() - 1) {
            prop_assert!(!verify(tampered).is_intact());
        }
    }
}
