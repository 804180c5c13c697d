//! Planning a batch: every decision ingestion makes, as a pure function of the policy, the
//! ledgers of the batch's subjects, the parsed events and `now`. No store, no clock: what the
//! plan says is what a commit writes, and the tests can run every case without IO.

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, ConsentState};
use candor_domain::events::{self, DropReason, GateOutcome, PropValue, PropertyIssue};
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::Timestamp;
use candor_store::{NewEvent, SubjectLedger};
use serde_json::Value;

use super::{Call, Incoming, Invalid, Outcome};
use crate::audit::{Actor, AuditEvent, consent_event};
use crate::signals::records_for_events;

/// What a batch will do, decided before anything is written.
#[derive(Debug, Clone, Default)]
pub struct IngestPlan {
    /// Consent records to append, per subject, in order: GPC opt-outs first, then the records
    /// the events' consent signals carry. Appended before the events are stored.
    pub consents: Vec<(SubjectKey, Vec<ConsentRecord>)>,
    /// One `consent_changed` entry per appended record, in the same order.
    pub audit: Vec<AuditEvent>,
    /// The events the gate let through, in input order.
    pub events: Vec<NewEvent>,
    /// `(event_type, reason)` of the events not stored, for the anonymous drop counters.
    pub drops: Vec<(String, String)>,
    /// Per input, what it comes to. `None` for an `identify`, decided after the commit (it
    /// merges what is stored); an accepted event may still turn out a duplicate at commit.
    pub outcomes: Vec<Option<Outcome>>,
    /// For each of `events`, the index of its input in `outcomes`.
    pub slots: Vec<usize>,
    /// Each subject's consent state once the planned consents are appended.
    pub states: HashMap<SubjectKey, ConsentState>,
}

/// Decides a batch. `ledgers` holds the ledger of every subject the events name (identified
/// and anonymous; a missing one reads as empty); `message_hash` keys an event's message id.
/// Restricted subjects' events are dropped (GDPR Art. 18); the others go through the gate
/// with their consent state after the GPC opt-outs and carried signals of this batch.
pub fn plan_batch(
    policy: &Policy,
    ledgers: &HashMap<SubjectKey, SubjectLedger>,
    parsed: &[Result<Incoming, Invalid>],
    header_gpc: bool,
    message_hash: &dyn Fn(&str) -> [u8; 32],
    now: Timestamp,
) -> IngestPlan {
    let empty = SubjectLedger::default();
    let ledger = |k: &SubjectKey| ledgers.get(k).unwrap_or(&empty);
    let mut plan = IngestPlan {
        outcomes: vec![None; parsed.len()],
        ..IngestPlan::default()
    };
    // Each subject's events, in order, so the work below is linear in the batch.
    let mut by_subject: HashMap<SubjectKey, Vec<&Incoming>> = HashMap::new();
    for e in parsed.iter().filter_map(|p| p.as_ref().ok()) {
        by_subject.entry(e.subject).or_default().push(e);
    }
    for e in parsed.iter().filter_map(|p| p.as_ref().ok()) {
        if plan.states.contains_key(&e.subject) {
            continue;
        }
        let own = &by_subject[&e.subject];
        let held = ledger(&e.subject);
        let mut records = held.records.clone();
        let mut new = Vec::new();
        if header_gpc || own.iter().any(|x| x.gpc) {
            new.extend(consent::gpc_opt_outs(policy, &records, now));
            records.extend(new.iter().cloned());
        }
        let carried = own.iter().filter_map(|x| x.signals.as_ref());
        let signalled = records_for_events(policy, &records, carried, now);
        records.extend(signalled.iter().cloned());
        new.extend(signalled);
        if !new.is_empty() {
            plan.audit.extend(
                new.iter()
                    .map(|r| consent_event(&Actor::Subject, &e.subject, r)),
            );
            plan.consents.push((e.subject, new));
        }
        plan.states
            .insert(e.subject, consent::derive(policy, &held.facts, &records));
    }
    for (i, p) in parsed.iter().enumerate() {
        let e = match p {
            Err(inv) => {
                plan.outcomes[i] = Some(Outcome::Invalid(inv.clone()));
                continue;
            }
            Ok(e) => e,
        };
        if ledger(&e.subject).restricted
            || e.anonymous.as_ref().is_some_and(|a| ledger(a).restricted)
        {
            plan.drops.push((
                e.event_type.clone(),
                DropReason::Restricted.code().to_owned(),
            ));
            plan.outcomes[i] = Some(Outcome::Dropped {
                reason: DropReason::Restricted.code(),
                invalid_properties: Vec::new(),
            });
            continue;
        }
        if e.call == Call::Identify {
            continue;
        }
        let state = &plan.states[&e.subject];
        match events::gate(
            policy,
            state,
            &e.event_type,
            &e.properties,
            e.occurred_at,
            now,
        ) {
            GateOutcome::Dropped { reason, issues } => {
                let (_, bad) = issue_list(&issues);
                plan.drops.push((
                    if reason == DropReason::UnknownEventType {
                        "(unknown)".to_owned()
                    } else {
                        e.event_type.clone()
                    },
                    reason.code().to_owned(),
                ));
                plan.outcomes[i] = Some(Outcome::Dropped {
                    reason: reason.code(),
                    invalid_properties: bad,
                });
            }
            GateOutcome::Accepted(a) => {
                let item_id = a
                    .properties
                    .get("product_id")
                    .and_then(PropValue::as_str)
                    .map(str::to_owned);
                let (minimized, bad) = issue_list(&a.issues);
                plan.events.push(NewEvent {
                    subject: e.subject,
                    message_hash: message_hash(&e.message_id),
                    event_type: e.event_type.clone(),
                    item_id,
                    properties: properties_json(&a.properties),
                    purposes: a.purposes.clone(),
                    occurred_at: e.occurred_at,
                    expires_at: a.expires_at,
                    session_only: a.session_only,
                    profile: if a.personalization {
                        a.interaction.filter(|i| *i != Interaction::Page)
                    } else {
                        None
                    },
                });
                plan.slots.push(i);
                plan.outcomes[i] = Some(Outcome::Accepted {
                    purposes: a.purposes.iter().map(ToString::to_string).collect(),
                    expires_at: Some(a.expires_at),
                    minimized,
                    invalid_properties: bad,
                    merged_events: 0,
                });
            }
        }
    }
    plan
}

/// The stored form of an event's kept properties.
fn properties_json(properties: &std::collections::BTreeMap<String, PropValue>) -> String {
    Value::Object(
        properties
            .iter()
            .map(|(k, v)| {
                let j = match v {
                    PropValue::String(s) => Value::String(s.clone()),
                    PropValue::Number(n) => {
                        serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
                    }
                    PropValue::Integer(n) => Value::from(*n),
                    PropValue::Bool(b) => Value::Bool(*b),
                    PropValue::Other(_) => Value::Null,
                };
                (k.clone(), j)
            })
            .collect(),
    )
    .to_string()
}

/// The properties minimized away, and those refused with their issue code.
fn issue_list(issues: &[(String, PropertyIssue)]) -> (Vec<String>, Vec<(String, &'static str)>) {
    let minimized = issues
        .iter()
        .filter(|(_, i)| *i == PropertyIssue::Minimized)
        .map(|(n, _)| n.clone())
        .collect();
    let bad = issues
        .iter()
        .filter(|(_, i)| *i != PropertyIssue::Minimized)
        .map(|(n, i)| (n.clone(), i.code()))
        .collect();
    (minimized, bad)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use candor_domain::consent::{Decision, Source};
    use candor_domain::{ExternalId, PurposeId};
    use proptest::prelude::*;

    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn key(n: u32) -> SubjectKey {
        SubjectKey::derive(b"plan", &ExternalId::parse(&format!("s{n}")).unwrap())
    }

    fn grant(policy: &Policy, purpose: &str, decision: Decision) -> ConsentRecord {
        let p = policy.purpose_by_name(purpose).unwrap();
        ConsentRecord {
            purpose: p.id.clone(),
            decision,
            purpose_version: p.version.clone(),
            policy_version: policy.version.clone(),
            source: Source::Banner,
            bulk: false,
            evidence: "{}".to_owned(),
            at: Timestamp::from_millis(NOW - 60_000),
        }
    }

    fn incoming(subject: SubjectKey, event_type: &str, call: Call, n: u32) -> Incoming {
        Incoming {
            call,
            event_type: event_type.to_owned(),
            subject,
            anonymous: None,
            message_id: format!("m{n}"),
            occurred_at: Timestamp::from_millis(NOW - 1_000),
            properties: BTreeMap::new(),
            traits: BTreeMap::new(),
            gpc: false,
            signals: None,
        }
    }

    fn hash(id: &str) -> [u8; 32] {
        let mut h = [0; 32];
        h[..id.len().min(32)].copy_from_slice(&id.as_bytes()[..id.len().min(32)]);
        h
    }

    fn plan(
        policy: &Policy,
        ledgers: &HashMap<SubjectKey, SubjectLedger>,
        parsed: &[Result<Incoming, Invalid>],
        header_gpc: bool,
    ) -> IngestPlan {
        plan_batch(
            policy,
            ledgers,
            parsed,
            header_gpc,
            &hash,
            Timestamp::from_millis(NOW),
        )
    }

    fn ledger(records: Vec<ConsentRecord>, restricted: bool) -> SubjectLedger {
        SubjectLedger {
            records,
            restricted,
            ..SubjectLedger::default()
        }
    }

    fn dropped(reason: DropReason) -> Option<Outcome> {
        Some(Outcome::Dropped {
            reason: reason.code(),
            invalid_properties: Vec::new(),
        })
    }

    /// An input, the outcome planned for it, and the drop row it adds.
    type Case = (
        Result<Incoming, Invalid>,
        Option<Outcome>,
        Option<(&'static str, &'static str)>,
    );

    #[test]
    fn each_input_gets_its_outcome() {
        let policy = Policy::default_policy();
        let granted = grant(&policy, "personalization", Decision::Granted);
        let (open, closed, restricted, fresh) = (key(1), key(2), key(3), key(4));
        let ledgers = HashMap::from([
            (open, ledger(vec![granted.clone()], false)),
            (closed, ledger(Vec::new(), false)),
            (restricted, ledger(vec![granted], true)),
        ]);
        let mut identify_restricted = incoming(fresh, "identify", Call::Identify, 6);
        identify_restricted.anonymous = Some(restricted);
        let cases: Vec<Case> = vec![
            (
                Err(Invalid {
                    code: "invalid_event",
                    message: "no type".into(),
                }),
                Some(Outcome::Invalid(Invalid {
                    code: "invalid_event",
                    message: "no type".into(),
                })),
                None,
            ),
            (
                Ok(incoming(closed, "Product Rated", Call::Track, 1)),
                dropped(DropReason::NoConsent),
                Some(("Product Rated", "no_consent")),
            ),
            (
                Ok(incoming(restricted, "Product Rated", Call::Track, 2)),
                dropped(DropReason::Restricted),
                Some(("Product Rated", "restricted")),
            ),
            (
                Ok(incoming(open, "No Such Event", Call::Track, 3)),
                dropped(DropReason::UnknownEventType),
                Some(("(unknown)", "unknown_event_type")),
            ),
            (
                Ok(incoming(open, "identify", Call::Identify, 4)),
                None,
                None,
            ),
            (
                Ok(identify_restricted),
                dropped(DropReason::Restricted),
                Some(("identify", "restricted")),
            ),
        ];
        for (input, expected, drop) in cases {
            let p = plan(&policy, &ledgers, std::slice::from_ref(&input), false);
            assert_eq!(p.outcomes, vec![expected], "{input:?}");
            let drops: Vec<(String, String)> = drop
                .map(|(t, r)| (t.to_owned(), r.to_owned()))
                .into_iter()
                .collect();
            assert_eq!(p.drops, drops, "{input:?}");
            assert!(p.events.is_empty() && p.consents.is_empty() && p.audit.is_empty());
        }
    }

    #[test]
    fn an_allowed_event_is_planned_for_storage() {
        let policy = Policy::default_policy();
        let s = key(1);
        let ledgers = HashMap::from([(
            s,
            ledger(
                vec![grant(&policy, "personalization", Decision::Granted)],
                false,
            ),
        )]);
        let p = plan(
            &policy,
            &ledgers,
            &[Ok(incoming(s, "Product Rated", Call::Track, 7))],
            false,
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.slots, vec![0]);
        let e = &p.events[0];
        assert_eq!(e.subject, s);
        assert_eq!(e.message_hash, hash("m7"));
        assert_eq!(
            e.purposes,
            vec![PurposeId::parse("personalization").unwrap()]
        );
        assert!(matches!(
            &p.outcomes[0],
            Some(Outcome::Accepted { purposes, .. }) if purposes == &["personalization"]
        ));
        assert!(p.drops.is_empty());
    }

    #[test]
    fn gpc_opts_out_once_per_subject_and_is_audited() {
        let policy = Policy::default_policy();
        let s = key(1);
        let ledgers = HashMap::from([(
            s,
            ledger(
                vec![grant(&policy, "targeted_advertising", Decision::Granted)],
                false,
            ),
        )]);
        let mut first = incoming(s, "Product Viewed", Call::Track, 1);
        first.gpc = true;
        let second = incoming(s, "Product Viewed", Call::Track, 2);
        let p = plan(&policy, &ledgers, &[Ok(first), Ok(second)], false);
        assert_eq!(p.consents.len(), 1, "one append for the subject");
        let (subject, records) = &p.consents[0];
        assert_eq!(subject, &s);
        assert!(!records.is_empty());
        assert!(
            records
                .iter()
                .all(|r| r.source == Source::Gpc && r.decision == Decision::Denied)
        );
        assert!(
            records
                .iter()
                .any(|r| r.purpose.as_str() == "targeted_advertising")
        );
        assert_eq!(p.audit.len(), records.len(), "one entry per record");
        // The gate saw the opt-out: no event is stored for targeted advertising.
        assert!(p.events.iter().all(|e| {
            !e.purposes
                .iter()
                .any(|x| x.as_str() == "targeted_advertising")
        }));
        // The header's GPC counts for every subject of the batch; a second batch after the
        // opt-out is held adds nothing.
        let mut held = ledgers[&s].clone();
        held.records.extend(records.iter().cloned());
        let again = plan(
            &policy,
            &HashMap::from([(s, held)]),
            &[Ok(incoming(s, "Product Viewed", Call::Track, 3))],
            true,
        );
        assert!(again.consents.is_empty() && again.audit.is_empty());
    }

    fn arb_decision() -> impl Strategy<Value = Decision> {
        prop_oneof![Just(Decision::Granted), Just(Decision::Denied)]
    }

    proptest! {
        /// Whatever the ledgers, flags and events, every planned event's purposes are allowed
        /// by its subject's ledger as it will be after the planned consents are appended, and
        /// no restricted subject has an event planned.
        #[test]
        fn never_plans_an_event_the_ledger_does_not_allow(
            grants in proptest::collection::vec((0u32..4, 0usize..7, arb_decision()), 0..12),
            restricted in proptest::collection::vec(any::<bool>(), 4),
            events in proptest::collection::vec((0u32..4, 0usize..8, any::<bool>()), 1..16),
            header_gpc in any::<bool>(),
        ) {
            let policy = Policy::default_policy();
            let purposes: Vec<String> = policy.purposes.iter().map(|p| p.id.to_string()).collect();
            let types = [
                "Page Viewed", "Product Viewed", "Product Added", "Order Completed",
                "Products Searched", "Product Rated", "Unknown", "identify",
            ];
            let mut ledgers: HashMap<SubjectKey, SubjectLedger> = HashMap::new();
            for (n, r) in restricted.iter().enumerate() {
                ledgers.insert(key(n as u32), ledger(Vec::new(), *r));
            }
            for (s, p, d) in &grants {
                let purpose = &purposes[*p % purposes.len()];
                ledgers.get_mut(&key(*s)).unwrap().records.push(grant(&policy, purpose, *d));
            }
            let parsed: Vec<Result<Incoming, Invalid>> = events
                .iter()
                .enumerate()
                .map(|(i, (s, t, gpc))| {
                    let call = if types[*t] == "identify" { Call::Identify } else { Call::Track };
                    let mut e = incoming(key(*s), types[*t], call, i as u32);
                    e.gpc = *gpc;
                    Ok(e)
                })
                .collect();
            let p = plan(&policy, &ledgers, &parsed, header_gpc);
            for e in &p.events {
                let held = &ledgers[&e.subject];
                prop_assert!(!held.restricted);
                let mut records = held.records.clone();
                for (s, new) in &p.consents {
                    if s == &e.subject {
                        records.extend(new.iter().cloned());
                    }
                }
                let state = consent::derive(&policy, &held.facts, &records);
                prop_assert!(!e.purposes.is_empty());
                for purpose in &e.purposes {
                    prop_assert!(state.allows(purpose), "{purpose} planned but not allowed");
                }
            }
            prop_assert_eq!(p.outcomes.len(), parsed.len());
            prop_assert_eq!(p.slots.len(), p.events.len());
        }
    }
}
