//! Background jobs as step functions: each `run_once` does one complete pass and reports what
//! it did, so tests drive them deterministically and `serve` runs them on a timer.

use candor_domain::consent;
use candor_domain::events::still_allowed;
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{EventRewrite, Narrowed, Store, StoreResult};

use crate::ingest::DEDUPE_WINDOW_MS;

/// Subjects examined per store round trip.
const SUBJECTS_PAGE_LEN: u32 = 500;
/// Expired events deleted per transaction, so one pass never holds the writer for long.
const EXPIRED_CHUNK_LEN: u32 = 5_000;

/// What one retention pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub expired_deleted: u64,
    /// Profiles rebuilt because partitions of expired events they drew on were dropped
    /// (PostgreSQL; SQLite rebuilds as it deletes and counts none here).
    pub profiles_rebuilt: u64,
    pub subjects_checked: u64,
    /// Events that no longer serve any granted purpose (withdrawal), deleted.
    pub unconsented_deleted: u64,
    /// Events that lost some purposes and keep the rest.
    pub narrowed: u64,
    /// Recommendation exposures older than the policy's `[fairness] exposure_retention_days`,
    /// deleted.
    pub exposures_deleted: u64,
    /// Released analytics reports whose days ended more than
    /// [`RELEASE_GRACE_DAYS`](crate::analytics::RELEASE_GRACE_DAYS) ago, deleted (the budgets
    /// they charged stay).
    pub releases_pruned: u64,
}

/// Deletes expired data — events past their purposes' retention, exposures past the policy's
/// exposure retention, analytics releases a grace after their days — and data that serves no purpose the subject still allows; rebuilds
/// the profiles derived from it.
pub fn retention_run_once(
    store: &dyn Store,
    policy: &Policy,
    half_life_days: f64,
    now: Timestamp,
) -> StoreResult<RetentionReport> {
    let mut report = RetentionReport::default();
    // The months ahead exist before they are needed, on every instance that runs retention.
    store.prepare_partitions(now)?;
    loop {
        let n = store.delete_expired(now, EXPIRED_CHUNK_LEN, half_life_days, DEDUPE_WINDOW_MS)?;
        report.expired_deleted += n;
        if n < u64::from(EXPIRED_CHUNK_LEN) {
            break;
        }
    }
    // Dropping a partition queues the profiles its events fed instead of rebuilding them all
    // in the drop, which would make the drop as slow as the month is large; they are rebuilt
    // here, a page of subjects per transaction.
    loop {
        let n = store.rebuild_queued_profiles(SUBJECTS_PAGE_LEN, half_life_days, now)?;
        report.profiles_rebuilt += n;
        if n < u64::from(SUBJECTS_PAGE_LEN) {
            break;
        }
    }
    let exposures_before =
        now.plus_millis(-i64::from(policy.fairness.exposure_retention_days) * DAY_MS);
    loop {
        let deleted = store.delete_exposures_before(exposures_before, EXPIRED_CHUNK_LEN)?;
        report.exposures_deleted += deleted.exposures;
        if deleted.lists < u64::from(EXPIRED_CHUNK_LEN) {
            break;
        }
    }
    // Token revocation markers outlive every token they void; then they go.
    store.delete_expired_token_revocations(now)?;
    report.releases_pruned = crate::analytics::prune_releases(store, now)?;
    let mut after = None;
    loop {
        let subjects = store.subjects_with_events(after.as_ref(), SUBJECTS_PAGE_LEN)?;
        let Some(last) = subjects.last().copied() else {
            break;
        };
        for s in &subjects {
            report.subjects_checked += 1;
            let facts = store.subject(s)?.map(|r| r.facts).unwrap_or_default();
            let state = consent::derive(policy, &facts, &store.consent_records(s)?);
            let mut rewrite = EventRewrite::default();
            for e in store.all_events(s)? {
                match still_allowed(policy, &state, &e.purposes, e.occurred_at, e.expires_at) {
                    None => rewrite.delete.push(e.id),
                    Some((purposes, expires_at))
                        if purposes != e.purposes || expires_at != e.expires_at =>
                    {
                        let feeds_profile = e.interaction.is_some()
                            && purposes
                                .iter()
                                .any(|p| policy.purpose(p).is_some_and(|p| p.personalization));
                        rewrite.narrow.push(Narrowed {
                            id: e.id,
                            purposes,
                            expires_at,
                            feeds_profile,
                        });
                    }
                    Some(_) => {}
                }
            }
            if !rewrite.delete.is_empty() || !rewrite.narrow.is_empty() {
                report.unconsented_deleted += rewrite.delete.len() as u64;
                report.narrowed += rewrite.narrow.len() as u64;
                store.rewrite_events(s, &rewrite, half_life_days, now)?;
            }
        }
        after = Some(last);
    }
    Ok(report)
}
