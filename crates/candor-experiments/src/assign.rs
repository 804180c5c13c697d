//! Deterministic, sticky, consent-aware assignment.
//!
//! A subject's bucket is a SHA-256 of a salt and the subject key's bytes, reduced to one of
//! [`BUCKETS`]. The global holdout is decided first, with its own salt shared by every
//! experiment, so its members are the same people everywhere; everyone else falls into a
//! variant by the experiment's salt. Nothing here is random: the same key and salt give the
//! same arm on every instance, with no state — the stored assignment only keeps an arm
//! across identify and across a change of the key (a visitor becoming a known person).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::definition::{BUCKETS, Experiment, HOLDOUT_ARM};

/// The bucket of a subject key under a salt, in `0..BUCKETS`.
///
/// The salt is length-prefixed, so no (salt, key) pair hashes like another with the boundary
/// moved. The first eight bytes of the digest taken modulo [`BUCKETS`] have a bias below
/// 10⁻¹⁵.
pub fn bucket(salt: &str, subject_key: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update((salt.len() as u64).to_be_bytes());
    hasher.update(salt.as_bytes());
    hasher.update(subject_key);
    let digest = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) % u64::from(BUCKETS)) as u32
}

/// Which arm a person is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "variant", rename_all = "snake_case")]
pub enum Arm {
    /// The global holdout: no personalization at all.
    Holdout,
    /// A variant, by name.
    Variant(String),
}

impl Arm {
    /// The arm's name in reports and exposures ([`HOLDOUT_ARM`] for the holdout).
    pub fn name(&self) -> &str {
        match self {
            Arm::Holdout => HOLDOUT_ARM,
            Arm::Variant(name) => name,
        }
    }
}

/// A person's stored assignment to one experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The experiment.
    pub experiment_id: String,
    /// The arm.
    pub arm: Arm,
    /// When the person was first enrolled, Unix milliseconds.
    pub assigned_at_ms: i64,
}

/// Why a person is not in an experiment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotEnrolled {
    /// Before start or after stop.
    NotRunning,
    /// The person's consent does not cover the experiment's purpose (never given, or
    /// withdrawn: a withdrawal removes them from future assignment).
    ConsentNotCovering,
    /// The stored arm is a variant the experiment no longer has.
    VariantRemoved,
}

/// The outcome of [`assign`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The stored assignment stands; nothing to write.
    Keep(Assignment),
    /// A new assignment, to be stored.
    Enroll(Assignment),
    /// Serve the default; store nothing.
    NotEnrolled {
        /// Why.
        reason: NotEnrolled,
    },
}

impl Decision {
    /// The arm to serve, if any.
    pub fn arm(&self) -> Option<&Arm> {
        match self {
            Decision::Keep(a) | Decision::Enroll(a) => Some(&a.arm),
            Decision::NotEnrolled { .. } => None,
        }
    }
}

/// What [`assign`] needs about one person.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The subject key's bytes (a keyed hash, never a raw external id).
    pub key: &'a [u8],
    /// The person's stored assignment to this experiment, if any (after identify, the result
    /// of [`carry_over`]).
    pub existing: Option<&'a Assignment>,
    /// Whether the person's consent, derived from the ledger on this request, covers the
    /// experiment's purpose.
    pub consent_covers_purpose: bool,
}

/// Decides a person's arm at `now_ms`.
///
/// Consent is checked first, on every call, so a withdrawal takes effect at once even for
/// someone already assigned. A stored assignment is kept as long as its arm still exists, so
/// a person never switches arms (and never moves when allocations change mid-experiment).
/// Otherwise the holdout is decided by `holdout_salt`, then the variant by the
/// experiment's salt.
pub fn assign(
    experiment: &Experiment,
    holdout_salt: &str,
    subject: Subject<'_>,
    now_ms: i64,
) -> Decision {
    let not_enrolled = |reason| Decision::NotEnrolled { reason };
    if !experiment.is_running(now_ms) {
        return not_enrolled(NotEnrolled::NotRunning);
    }
    if !subject.consent_covers_purpose {
        return not_enrolled(NotEnrolled::ConsentNotCovering);
    }
    if let Some(existing) = subject.existing {
        let arm_exists = match &existing.arm {
            Arm::Holdout => true,
            Arm::Variant(name) => experiment.variants.iter().any(|v| &v.name == name),
        };
        return if arm_exists {
            Decision::Keep(existing.clone())
        } else {
            not_enrolled(NotEnrolled::VariantRemoved)
        };
    }
    Decision::Enroll(Assignment {
        experiment_id: experiment.id.clone(),
        arm: arm_for(experiment, holdout_salt, subject.key),
        assigned_at_ms: now_ms,
    })
}

/// The arm the hash gives a key, ignoring stored assignments and consent.
pub fn arm_for(experiment: &Experiment, holdout_salt: &str, subject_key: &[u8]) -> Arm {
    if bucket(holdout_salt, subject_key) < experiment.holdout_bp {
        return Arm::Holdout;
    }
    let b = bucket(&experiment.salt, subject_key);
    let mut upper = 0u32;
    for variant in &experiment.variants {
        upper = upper.saturating_add(variant.allocation_bp);
        if b < upper {
            return Arm::Variant(variant.name.clone());
        }
    }
    // Only reachable for a definition that `validate` refuses (allocations under 100 %):
    // the remainder goes to the control, which keeps serving defined.
    Arm::Variant(
        experiment
            .control()
            .map(|v| v.name.clone())
            .unwrap_or_default(),
    )
}

/// The assignment a person keeps when a visitor's history joins a known person's (identify).
///
/// The earlier assignment wins: it is the arm the person saw first, so their outcomes stay
/// attributed to it. With only one, that one carries over.
pub fn carry_over(visitor: Option<&Assignment>, person: Option<&Assignment>) -> Option<Assignment> {
    match (visitor, person) {
        (Some(v), Some(p)) => Some(if v.assigned_at_ms < p.assigned_at_ms {
            v.clone()
        } else {
            p.clone()
        }),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    }
}
