use std::collections::BTreeMap;

use candor_experiments::{
    Arm, Assignment, Decision, NotEnrolled, Subject, arm_for, assign, bucket, carry_over, srm,
};

use crate::{DAY_MS, START_MS, experiment};

const HOLDOUT_SALT: &str = "holdout-2026";
const N_KEYS: u32 = 100_000;

fn key(i: u32) -> Vec<u8> {
    format!("subject-{i}").into_bytes()
}

fn subject(key: &[u8]) -> Subject<'_> {
    Subject {
        key,
        existing: None,
        consent_covers_purpose: true,
    }
}

#[test]
fn buckets_match_an_independent_sha256_and_never_change() {
    // Computed with Python's hashlib: sha256(len(salt) as 8 bytes big-endian, salt, key),
    // first 8 bytes big-endian, modulo 10,000.
    assert_eq!(bucket("exp-home-diversity-salt", b"subject-42"), 4105);
    assert_eq!(bucket(HOLDOUT_SALT, b"subject-42"), 6474);
    assert_eq!(bucket("", b""), 1850);
    for i in 0..1000 {
        assert_eq!(bucket("s", &key(i)), bucket("s", &key(i)));
    }
}

#[test]
fn buckets_are_uniform_over_100k_keys() {
    let mut counts = vec![0u64; 10_000];
    for i in 0..N_KEYS {
        counts[bucket("uniformity", &key(i)) as usize] += 1;
    }
    let check = srm(&counts, &vec![1.0; 10_000]).unwrap();
    assert_eq!(check.df, 9_999);
    assert!(
        check.p_value > 0.001,
        "chi-squared {} p {}",
        check.chi_squared,
        check.p_value
    );
}

#[test]
fn arms_follow_the_allocation_and_the_holdout_share() {
    let e = experiment();
    let mut counts: BTreeMap<Arm, u64> = BTreeMap::new();
    for i in 0..N_KEYS {
        *counts
            .entry(arm_for(&e, HOLDOUT_SALT, &key(i)))
            .or_default() += 1;
    }
    let observed = [
        counts[&Arm::Variant("control".into())],
        counts[&Arm::Variant("diverse".into())],
        counts[&Arm::Holdout],
    ];
    let check = srm(&observed, &[4500.0, 4500.0, 1000.0]).unwrap();
    assert!(!check.flagged, "{observed:?}: p {}", check.p_value);
    assert!(check.p_value > 0.001);
}

#[test]
fn experiments_with_different_salts_split_independently() {
    let a = experiment();
    let mut b = experiment();
    b.salt = "another-salt".to_owned();
    b.holdout_bp = 0;
    let mut a_only = a.clone();
    a_only.holdout_bp = 0;
    let mut cells = [0u64; 4];
    for i in 0..N_KEYS {
        let k = key(i);
        let in_a = arm_for(&a_only, HOLDOUT_SALT, &k) == Arm::Variant("diverse".into());
        let in_b = arm_for(&b, HOLDOUT_SALT, &k) == Arm::Variant("diverse".into());
        cells[usize::from(in_a) * 2 + usize::from(in_b)] += 1;
    }
    // Independence: every cell of the 2×2 table holds a quarter.
    let check = srm(&cells, &[1.0; 4]).unwrap();
    assert!(check.p_value > 0.001, "{cells:?}: p {}", check.p_value);
}

#[test]
fn the_holdout_is_the_same_people_in_every_experiment() {
    let a = experiment();
    let mut b = experiment();
    b.salt = "another-salt".to_owned();
    let mut n_held_out = 0;
    for i in 0..10_000 {
        let k = key(i);
        let held_a = arm_for(&a, HOLDOUT_SALT, &k) == Arm::Holdout;
        let held_b = arm_for(&b, HOLDOUT_SALT, &k) == Arm::Holdout;
        assert_eq!(held_a, held_b);
        n_held_out += u32::from(held_a);
    }
    assert!((900..1100).contains(&n_held_out), "{n_held_out}");
}

#[test]
fn enrollment_needs_consent_and_a_running_experiment() {
    let e = experiment();
    let k = key(7);
    let now = START_MS + DAY_MS;
    let enrolled = assign(&e, HOLDOUT_SALT, subject(&k), now);
    let Decision::Enroll(assignment) = &enrolled else {
        panic!("expected an enrollment, got {enrolled:?}")
    };
    assert_eq!(assignment.arm, arm_for(&e, HOLDOUT_SALT, &k));
    assert_eq!(assignment.assigned_at_ms, now);
    assert_eq!(assignment.experiment_id, e.id);

    let no_consent = Subject {
        consent_covers_purpose: false,
        ..subject(&k)
    };
    assert_eq!(
        assign(&e, HOLDOUT_SALT, no_consent, now),
        Decision::NotEnrolled {
            reason: NotEnrolled::ConsentNotCovering
        }
    );
    for at in [START_MS - 1, e.stop_ms.unwrap()] {
        assert_eq!(
            assign(&e, HOLDOUT_SALT, subject(&k), at),
            Decision::NotEnrolled {
                reason: NotEnrolled::NotRunning
            }
        );
    }
}

#[test]
fn a_stored_assignment_sticks_until_consent_is_withdrawn() {
    let mut e = experiment();
    let k = key(11);
    let stored = Assignment {
        experiment_id: e.id.clone(),
        arm: Arm::Variant("diverse".into()),
        assigned_at_ms: START_MS,
    };
    // Even when the allocation changes so the hash now gives everyone the control.
    e.variants[0].allocation_bp = 9_999;
    e.variants[1].allocation_bp = 1;
    let with = |consent| Subject {
        key: &k,
        existing: Some(&stored),
        consent_covers_purpose: consent,
    };
    let now = START_MS + 2 * DAY_MS;
    assert_eq!(
        assign(&e, HOLDOUT_SALT, with(true), now),
        Decision::Keep(stored.clone())
    );
    // A withdrawal removes the person from assignment at once.
    let decision = assign(&e, HOLDOUT_SALT, with(false), now);
    assert_eq!(decision.arm(), None);
    // A removed variant ends the assignment rather than serving something undefined.
    e.variants.remove(1);
    e.variants[0].allocation_bp = 10_000;
    assert_eq!(
        assign(&e, HOLDOUT_SALT, with(true), now),
        Decision::NotEnrolled {
            reason: NotEnrolled::VariantRemoved
        }
    );
}

#[test]
fn the_visitors_assignment_carries_over_to_the_person() {
    let at = |arm: &str, ms| Assignment {
        experiment_id: "x".into(),
        arm: Arm::Variant(arm.into()),
        assigned_at_ms: ms,
    };
    let visitor = at("diverse", 100);
    let person = at("control", 200);
    assert_eq!(carry_over(Some(&visitor), None), Some(visitor.clone()));
    assert_eq!(carry_over(None, Some(&person)), Some(person.clone()));
    assert_eq!(
        carry_over(Some(&visitor), Some(&person)),
        Some(visitor.clone())
    );
    assert_eq!(
        carry_over(Some(&person), Some(&visitor)),
        Some(visitor.clone())
    );
    assert_eq!(carry_over(None, None), None);

    // The carried assignment is kept though the person's own key hashes elsewhere.
    let e = experiment();
    let person_key = (0..)
        .map(key)
        .find(|k| arm_for(&e, HOLDOUT_SALT, k) != Arm::Variant("diverse".into()))
        .unwrap();
    let mut carried = carry_over(Some(&visitor), None).unwrap();
    carried.experiment_id = e.id.clone();
    let decision = assign(
        &e,
        HOLDOUT_SALT,
        Subject {
            key: &person_key,
            existing: Some(&carried),
            consent_covers_purpose: true,
        },
        START_MS + DAY_MS,
    );
    assert_eq!(decision.arm(), Some(&Arm::Variant("diverse".into())));
}
