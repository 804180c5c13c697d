//! In-process counters of what the use cases did, for the metrics endpoint. They restart from
//! zero with the process, as Prometheus counters do, and carry no person: labels are purposes,
//! decisions, reasons and slot names.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The counters, as last read.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub events_accepted: u64,
    pub events_invalid: u64,
    /// (purpose, decision) -> decisions recorded.
    pub consent_decisions: BTreeMap<(String, String), u64>,
    /// slot -> flagged at its last report.
    pub slot_flags: BTreeMap<String, bool>,
    /// Exclusion code -> people excluded by real campaign runs and decisions.
    pub exclusions: BTreeMap<String, u64>,
}

fn registry() -> std::sync::MutexGuard<'static, Counters> {
    static REGISTRY: OnceLock<Mutex<Counters>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Counts an ingestion request's outcome (dropped events are counted by the store).
pub fn note_events(accepted: usize, invalid: usize) {
    let mut r = registry();
    r.events_accepted += accepted as u64;
    r.events_invalid += invalid as u64;
}

/// Counts one recorded consent decision.
pub fn note_consent(purpose: &str, decision: &str) {
    *registry()
        .consent_decisions
        .entry((purpose.to_owned(), decision.to_owned()))
        .or_default() += 1;
}

/// Remembers whether a slot's latest fairness report was flagged.
pub fn note_slot_flag(slot: &str, flagged: bool) {
    registry().slot_flags.insert(slot.to_owned(), flagged);
}

/// Counts people a real campaign run or a (non-dry) decision excluded, by exclusion code.
pub fn note_exclusions(reason: &str, n: u64) {
    if n > 0 {
        *registry().exclusions.entry(reason.to_owned()).or_default() += n;
    }
}

/// A copy of every counter, for rendering.
pub fn snapshot() -> Counters {
    registry().clone()
}
