//! Values the unit tests of several use cases build alike.

use candor_domain::consent::{ConsentRecord, Decision, Source};
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;

/// A banner choice about the policy's purpose `purpose` at `at_ms`.
pub(crate) fn banner_record(
    policy: &Policy,
    purpose: &str,
    decision: Decision,
    at_ms: i64,
) -> ConsentRecord {
    let p = policy.purpose_by_name(purpose).unwrap();
    ConsentRecord {
        purpose: p.id.clone(),
        decision,
        purpose_version: p.version.clone(),
        policy_version: policy.version.clone(),
        source: Source::Banner,
        bulk: false,
        evidence: "{}".to_owned(),
        at: Timestamp::from_millis(at_ms),
    }
}
