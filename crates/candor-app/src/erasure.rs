//! Erasure (GDPR Art. 17, CCPA deletion): the resumable flow and its signed receipt.
//!
//! 1. `begin_erasure` records the request and an intent, in one transaction.
//! 2. `erase_subject` deletes everything held about the subject in one transaction (consents
//!    become tombstones under a one-way hash when the settings keep consent proof) and saves
//!    the counts in the intent.
//! 3. `finish_erasure` drops the intent and marks the request done with the signed receipt;
//!    then the store purges what deleted rows leave in its files.
//!
//! A crash anywhere leaves either nothing done or an intent, and `resume_pending` (run when
//! `serve` starts) carries every intent through to the end. These are plain functions over
//! `&dyn Store`, called from blocking threads.

use std::collections::BTreeMap;

use candor_domain::SubjectKey;
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use candor_store::{
    ErasureCounts, ErasureIntent, ErasurePlan, NewDsrRequest, Store, StoreResult, TOMBSTONES_KEPT,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What an erasure did, as signed by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `candor-erasure-receipt/1`.
    pub format: String,
    /// The id of the request in the request log (`GET /v1/dsr`).
    pub request_id: i64,
    /// A keyed hash of the subject: the controller can recompute it from the person's id,
    /// nobody else can.
    pub subject_ref: String,
    pub requested_at: String,
    pub completed_at: String,
    /// Rows deleted per kind of data (`events`, `consents`, `contact`, `data_key`...).
    pub deleted: BTreeMap<String, u64>,
    /// Consent-proof tombstones kept (choices and times only, under a one-way hash).
    pub consent_proof_kept: u64,
    /// Whether the subject's data key was destroyed (contact data sealed with it, in any
    /// backup too, can no longer be opened).
    pub data_key_destroyed: bool,
}

/// A receipt and its signature: HMAC-SHA-256 over the receipt's JSON under a key derived from
/// the server secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    /// Hex; check it with `candor dsr verify-receipt` or `POST /v1/dsr/receipts/verify`.
    pub signature: String,
}

pub const RECEIPT_FORMAT: &str = "candor-erasure-receipt/1";

fn receipt_key(secret: &[u8]) -> [u8; 32] {
    keyed_hash(secret, "erasure-receipt-signing-key", b"")
}

fn signature(secret: &[u8], receipt: &Receipt) -> [u8; 32] {
    // Serializing a struct is deterministic: fields in declaration order, maps sorted.
    let text = serde_json::to_string(receipt).unwrap_or_default();
    keyed_hash(&receipt_key(secret), "erasure-receipt-v1", text.as_bytes())
}

pub fn sign(secret: &[u8], receipt: Receipt) -> SignedReceipt {
    let sig = hex::encode(signature(secret, &receipt));
    SignedReceipt {
        receipt,
        signature: sig,
    }
}

/// Whether `signed` is a receipt this server's secret signed, unchanged.
pub fn verify(secret: &[u8], signed: &SignedReceipt) -> bool {
    let Ok(given) = hex::decode(&signed.signature) else {
        return false;
    };
    bool::from(signature(secret, &signed.receipt).as_slice().ct_eq(&given))
}

/// The keyed hash the request log and receipts name a subject by.
pub fn subject_ref(secret: &[u8], subject: &SubjectKey) -> [u8; 32] {
    keyed_hash(secret, "dsr-subject", subject.as_bytes())
}

/// The one-way hash consent-proof tombstones are kept under.
pub fn consent_proof(secret: &[u8], subject: &SubjectKey) -> [u8; 32] {
    keyed_hash(secret, "consent-proof", subject.as_bytes())
}

/// What a new erasure keeps.
pub fn plan(secret: &[u8], subject: &SubjectKey, keep_consent_proof: bool) -> ErasurePlan {
    ErasurePlan {
        tombstone: keep_consent_proof.then(|| consent_proof(secret, subject)),
    }
}

/// Runs an erasure from the start: records the request and intent, erases, finishes.
pub fn erase(
    store: &dyn Store,
    secret: &[u8],
    subject: &SubjectKey,
    plan: &ErasurePlan,
    request: &NewDsrRequest,
    now: Timestamp,
) -> StoreResult<SignedReceipt> {
    let request_id = store.begin_erasure(subject, plan, request)?;
    // The intent may be an older one (a previous attempt that did not finish): continue it.
    let intent = store
        .erasure_intents()?
        .into_iter()
        .find(|i| i.subject == *subject)
        .unwrap_or(ErasureIntent {
            subject: *subject,
            request_id,
            plan: *plan,
            started_at: request.received_at,
            counts: None,
        });
    complete(store, secret, &intent, now)
}

/// Carries one intent to the end: deletes (again, harmlessly, if a pass already ran), signs,
/// marks the request done, purges.
pub fn complete(
    store: &dyn Store,
    secret: &[u8],
    intent: &ErasureIntent,
    now: Timestamp,
) -> StoreResult<SignedReceipt> {
    let fresh = store.erase_subject(&intent.subject, &intent.plan)?;
    // A pass that committed before a crash saved its counts; add anything that arrived since.
    let mut counts: ErasureCounts = intent.counts.clone().unwrap_or_default();
    if intent.counts.is_some() {
        for (k, v) in fresh {
            *counts.entry(k).or_insert(0) += v;
        }
    } else {
        counts = fresh;
    }
    let kept = counts.remove(TOMBSTONES_KEPT).unwrap_or(0);
    let receipt = sign(
        secret,
        Receipt {
            format: RECEIPT_FORMAT.to_owned(),
            request_id: intent.request_id,
            subject_ref: hex::encode(subject_ref(secret, &intent.subject)),
            requested_at: intent.started_at.to_rfc3339(),
            completed_at: now.to_rfc3339(),
            data_key_destroyed: counts.contains_key("data_key"),
            deleted: counts,
            consent_proof_kept: kept,
        },
    );
    let detail = serde_json::to_string(&receipt).unwrap_or_default();
    store.finish_erasure(&intent.subject, intent.request_id, &detail, now)?;
    store.purge_deleted()?;
    Ok(receipt)
}

/// Finishes every erasure a crash interrupted. Returns how many it finished.
pub fn resume_pending(store: &dyn Store, secret: &[u8], now: Timestamp) -> StoreResult<usize> {
    let intents = store.erasure_intents()?;
    for intent in &intents {
        complete(store, secret, intent, now)?;
    }
    Ok(intents.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_verify_only_unchanged() {
        let r = sign(
            b"secret-secret-secret-secret-1234",
            Receipt {
                format: RECEIPT_FORMAT.into(),
                request_id: 4,
                subject_ref: "ab".into(),
                requested_at: "2026-11-23T10:00:00Z".into(),
                completed_at: "2026-11-23T10:00:00Z".into(),
                deleted: [("events".to_owned(), 3)].into_iter().collect(),
                consent_proof_kept: 1,
                data_key_destroyed: true,
            },
        );
        assert!(verify(b"secret-secret-secret-secret-1234", &r));
        assert!(!verify(b"another-secret-another-secret-12", &r));
        let mut changed = r.clone();
        changed.receipt.deleted.insert("events".into(), 2);
        assert!(!verify(b"secret-secret-secret-secret-1234", &changed));
        let mut bad = r;
        bad.signature = "zz".into();
        assert!(!verify(b"secret-secret-secret-secret-1234", &bad));
    }
}
