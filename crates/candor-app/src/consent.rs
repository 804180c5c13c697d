//! Recording a person's consent choices and reading their state.
//!
//! A write is planned first ([`plan_update`]: the ledger and facts held, the request, the
//! policy and `now` in; the records to append, the audit entries and the answer out), then
//! committed in one store call with its audit entries, so a choice is never stored without its
//! trail nor the trail without the choice.

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, ConsentState, Decision, Source, SubjectFacts};
use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{EventBatch, IngestCommit, StoreResult};

use crate::audit::{Actor, AuditAction, AuditEvent, AuditTarget, consent_event};
use crate::{App, AppError, AppResult, ErrorKind};

/// A consent update as the transport parsed it: well-formed records for this request's
/// purposes, the facts stated, and who sent it.
#[derive(Debug, Clone)]
pub struct ConsentUpdate {
    pub subject: SubjectKey,
    /// The facts stated with the choices; `None` fields keep what is held.
    pub facts: SubjectFacts,
    /// This request's own decisions, one per purpose, all at the same `now`.
    pub requested: Vec<ConsentRecord>,
    /// The request carried a Global Privacy Control signal.
    pub gpc: bool,
    /// The shop's backend sent it (a server key), not a browser.
    pub by_server: bool,
    pub actor: Actor,
    /// The evidence as sent, for the digest audited when a protection is lifted.
    pub evidence: Option<String>,
}

/// What one update writes and answers, decided before anything is written.
#[derive(Debug, Clone)]
pub struct ConsentPlan {
    /// Records to append, oldest first: GPC opt-outs, then the request's decisions.
    pub records: Vec<ConsentRecord>,
    /// The facts to state (created with the subject if new).
    pub facts: SubjectFacts,
    /// Audit entries, in order: one `consent_changed` per record, then a lifted protection.
    pub audit: Vec<AuditEvent>,
    /// The consent state once the plan is committed.
    pub state: ConsentState,
    /// Personalization was allowed before and is not after: the shared models must forget.
    pub personalization_withdrawn: bool,
}

/// Plans a consent update over the ledger and facts held. Refuses a browser lifting a possible
/// minor's protection and a person past their daily quota of records; writes nothing.
pub fn plan_update(
    policy: &Policy,
    held: &SubjectFacts,
    ledger: &[ConsentRecord],
    update: ConsentUpdate,
    quota: u32,
    now: Timestamp,
) -> AppResult<ConsentPlan> {
    let lifted = lifted_protection(policy, held, &update.facts, &update.requested);
    if lifted.is_some() && !update.by_server {
        return Err(AppError::refused(
            "needs_server_key",
            "only the shop's backend may change the facts that protect a possible minor (an \
             older age band, another country) or record a parental grant",
        ));
    }
    // The signal is recorded before this request's own decisions, so an explicit grant in the
    // same request stands and a bulk one does not.
    let mut records = if update.gpc {
        consent::gpc_opt_outs(policy, ledger, now)
    } else {
        Vec::new()
    };
    records.extend(update.requested);
    within_daily_quota(ledger, records.len(), quota, now)?;
    let mut audit: Vec<AuditEvent> = records
        .iter()
        .map(|r| consent_event(&update.actor, &update.subject, r))
        .collect();
    if let Some(what) = lifted {
        audit.push(lifted_event(
            &update.actor,
            &update.subject,
            what,
            held,
            &update.facts,
            update.evidence.as_deref(),
        ));
    }
    // What the store will hold, without reading it again: it keeps each fact stated.
    let after = held.updated(&update.facts);
    let before = consent::derive(policy, &after, ledger);
    let mut all = ledger.to_vec();
    all.extend(records.iter().cloned());
    let state = consent::derive(policy, &after, &all);
    let personalization_withdrawn = crate::recommend::personalization_allowed(policy, &before)
        && !crate::recommend::personalization_allowed(policy, &state);
    Ok(ConsentPlan {
        records,
        facts: update.facts,
        audit,
        state,
        personalization_withdrawn,
    })
}

/// Records a consent update: reads the person's facts and ledger, plans, commits the records,
/// facts and audit entries in one transaction, and tells the models to forget a person who
/// withdrew personalization. Returns the state after.
pub async fn update(app: &App, update: ConsentUpdate) -> AppResult<ConsentState> {
    if update.requested.is_empty() && !update.gpc && update.facts == SubjectFacts::default() {
        return Err(AppError::invalid(
            "empty_update",
            "send at least one decision or subject fact",
        ));
    }
    let policy = app.policy.clone();
    let quota = app.config.limits.consent_records_per_subject_per_day_max;
    let now = app.now();
    let subject = update.subject;
    let plan = app
        .blocking(move |store| {
            let held = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            let ledger = store.consent_records(&subject)?;
            let plan = match plan_update(&policy, &held, &ledger, update, quota, now) {
                Ok(plan) => plan,
                Err(refused) => return Ok(Err(refused)),
            };
            store.commit_ingest(commit(&subject, &plan, now)?)?;
            Ok(Ok(plan))
        })
        .await??;
    for r in &plan.records {
        crate::counters::note_consent(r.purpose.as_str(), r.decision.as_str());
    }
    if plan.personalization_withdrawn {
        // Their history trained the shared models; every instance rebuilds without it.
        crate::recommend::invalidate(app).await;
    }
    Ok(plan.state)
}

/// The plan as one store commit: the facts and records of one subject and the audit entries,
/// with no events.
fn commit(subject: &SubjectKey, plan: &ConsentPlan, now: Timestamp) -> StoreResult<IngestCommit> {
    Ok(IngestCommit {
        subjects: vec![(*subject, plan.facts.clone())],
        consents: vec![(*subject, plan.records.clone())],
        audit: plan
            .audit
            .iter()
            .cloned()
            .map(|e| e.into_draft(now))
            .collect::<StoreResult<Vec<_>>>()?,
        batch: EventBatch {
            now: Some(now),
            ..EventBatch::default()
        },
    })
}

/// A person's facts and consent ledger, as the store holds them now.
pub fn held(
    store: &dyn candor_store::Store,
    subject: &SubjectKey,
) -> StoreResult<(SubjectFacts, Vec<ConsentRecord>)> {
    let facts = store.subject(subject)?.map(|s| s.facts).unwrap_or_default();
    Ok((facts, store.consent_records(subject)?))
}

/// A person's consent state now, with the reason for each purpose.
pub async fn state(app: &App, subject: SubjectKey) -> AppResult<ConsentState> {
    let (facts, records) = app.blocking(move |store| held(store, &subject)).await?;
    Ok(consent::derive(&app.policy, &facts, &records))
}

/// A page of a person's consent ledger, newest first.
pub async fn history(
    app: &App,
    subject: SubjectKey,
    page: candor_store::PageRequest,
) -> AppResult<candor_store::Page<ConsentRecord>> {
    app.blocking(move |store| store.consent_history(&subject, page))
        .await
}

/// What a consent update would lift of a possible minor's protection, if anything: a parental
/// grant, or facts under which they would no longer count as a minor.
fn lifted_protection(
    policy: &Policy,
    held: &SubjectFacts,
    update: &SubjectFacts,
    records: &[ConsentRecord],
) -> Option<&'static str> {
    if held.loosens_minor_protection(&held.updated(update), policy) {
        return Some("facts");
    }
    records
        .iter()
        .any(|r| r.source == Source::Parental && r.decision == Decision::Granted)
        .then_some("parental_consent")
}

/// The audit entry of a lifted protection, with a digest of its evidence (the evidence itself
/// stays in the consent ledger, which erasure can reach; the audit log outlives erasure).
fn lifted_event(
    actor: &Actor,
    subject: &SubjectKey,
    what: &str,
    held: &SubjectFacts,
    update: &SubjectFacts,
    evidence: Option<&str>,
) -> AuditEvent {
    use sha2::Digest;
    let after = held.updated(update);
    let band = |f: &SubjectFacts| f.age_band.map_or("unknown".to_owned(), |b| b.to_string());
    AuditEvent::new(
        actor.clone(),
        AuditAction::MinorProtectionLifted,
        AuditTarget::Subject(*subject),
    )
    .detail("lifted", what)
    .detail("age_band_before", band(held))
    .detail("age_band_after", band(&after))
    .detail(
        "evidence_sha256",
        evidence.map_or("none".to_owned(), |e| hex::encode(sha2::Sha256::digest(e))),
    )
}

/// Refuses adding `adding` records when the person already recorded `max` today (UTC): one
/// person cannot grow the ledger, and every read of it, without bound.
pub fn within_daily_quota(
    existing: &[ConsentRecord],
    adding: usize,
    max: u32,
    now: Timestamp,
) -> AppResult<()> {
    let day_start = now.as_millis().div_euclid(DAY_MS) * DAY_MS;
    let today = existing
        .iter()
        .filter(|r| r.at.as_millis() >= day_start)
        .count();
    if today + adding <= max as usize {
        return Ok(());
    }
    let wait_ms = day_start + DAY_MS - now.as_millis();
    let wait = u64::try_from(wait_ms / 1_000).unwrap_or(1).max(1);
    Err(AppError::new(
        ErrorKind::Limited(wait),
        "consent_quota_exceeded",
        "this person has recorded as many consent choices today as one person may; try again \
         tomorrow",
    ))
}

#[cfg(test)]
mod tests {
    use candor_domain::ExternalId;
    use candor_domain::consent::AgeBand;

    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn policy() -> Policy {
        Policy::parse(candor_domain::policy::DEFAULT_POLICY_TOML).unwrap()
    }

    fn subject() -> SubjectKey {
        SubjectKey::derive(b"consent", &ExternalId::parse("s1").unwrap())
    }

    use crate::test_support::banner_record as record;

    fn update(requested: Vec<ConsentRecord>) -> ConsentUpdate {
        ConsentUpdate {
            subject: subject(),
            facts: SubjectFacts::default(),
            requested,
            gpc: false,
            by_server: false,
            actor: Actor::Subject,
            evidence: None,
        }
    }

    fn plan(
        ledger: &[ConsentRecord],
        held: &SubjectFacts,
        u: ConsentUpdate,
    ) -> AppResult<ConsentPlan> {
        plan_update(&policy(), held, ledger, u, 200, Timestamp::from_millis(NOW))
    }

    fn actions(plan: &ConsentPlan) -> Vec<AuditAction> {
        plan.audit.iter().map(|e| e.action.clone()).collect()
    }

    #[test]
    fn a_grant_is_appended_audited_and_answered() {
        let p = policy();
        let grant = record(&p, "personalization", Decision::Granted, NOW);
        let plan = plan(&[], &SubjectFacts::default(), update(vec![grant.clone()])).unwrap();
        assert_eq!(plan.records, vec![grant]);
        assert_eq!(actions(&plan), vec![AuditAction::ConsentChanged]);
        assert_eq!(plan.audit[0].purpose.as_deref(), Some("personalization"));
        let purpose = p.purpose_by_name("personalization").unwrap();
        assert!(plan.state.allows(&purpose.id));
        assert!(!plan.personalization_withdrawn);
    }

    #[test]
    fn withdrawing_the_last_personalization_grant_tells_the_models() {
        let p = policy();
        let ledger = vec![record(
            &p,
            "personalization",
            Decision::Granted,
            NOW - 5_000,
        )];
        let withdraw = record(&p, "personalization", Decision::Withdrawn, NOW);
        let plan = plan(&ledger, &SubjectFacts::default(), update(vec![withdraw])).unwrap();
        assert!(plan.personalization_withdrawn);
        let purpose = p.purpose_by_name("personalization").unwrap();
        assert!(!plan.state.allows(&purpose.id));
        // A second withdrawal changes nothing the models saw.
        let mut after = ledger.clone();
        after.extend(plan.records);
        let again = record(&p, "personalization", Decision::Withdrawn, NOW);
        let plan = plan_update(
            &p,
            &SubjectFacts::default(),
            &after,
            update(vec![again]),
            200,
            Timestamp::from_millis(NOW),
        )
        .unwrap();
        assert!(!plan.personalization_withdrawn);
    }

    #[test]
    fn gpc_opt_outs_come_first_so_an_explicit_grant_in_the_same_request_stands() {
        let p = policy();
        let grant = record(&p, "targeted_advertising", Decision::Granted, NOW);
        let mut u = update(vec![grant.clone()]);
        u.gpc = true;
        let plan = plan(&[], &SubjectFacts::default(), u).unwrap();
        assert!(plan.records.len() > 1, "the signal adds opt-outs");
        assert_eq!(plan.records.last(), Some(&grant));
        assert_eq!(plan.audit.len(), plan.records.len());
        let purpose = p.purpose_by_name("targeted_advertising").unwrap();
        assert!(plan.state.allows(&purpose.id));
    }

    #[test]
    fn only_the_shops_backend_may_lift_a_minors_protection() {
        let held = SubjectFacts {
            age_band: AgeBand::parse("13-15"),
            country: None,
        };
        let older = SubjectFacts {
            age_band: AgeBand::parse("18+"),
            country: None,
        };
        let mut u = update(Vec::new());
        u.facts = older.clone();
        let refused = plan(&[], &held, u.clone()).unwrap_err();
        assert_eq!(
            (refused.kind, refused.code),
            (ErrorKind::Refused, "needs_server_key")
        );

        u.by_server = true;
        u.evidence = Some(r#"{"verified":"id_check"}"#.to_owned());
        let plan = plan(&[], &held, u).unwrap();
        assert!(plan.records.is_empty());
        assert_eq!(plan.facts, older);
        assert_eq!(actions(&plan), vec![AuditAction::MinorProtectionLifted]);
        let details = &plan.audit[0].details;
        assert!(details.contains(&("lifted", "facts".to_owned())));
        assert!(details.contains(&("age_band_after", "18+".to_owned())));
        let digest = details
            .iter()
            .find(|(k, _)| *k == "evidence_sha256")
            .unwrap();
        assert_eq!(digest.1.len(), 64, "a digest, never the evidence itself");
    }

    #[test]
    fn a_parental_grant_is_a_lifted_protection_too() {
        let p = policy();
        let mut grant = record(&p, "personalization", Decision::Granted, NOW);
        grant.source = Source::Parental;
        let refused = plan(&[], &SubjectFacts::default(), update(vec![grant.clone()])).unwrap_err();
        assert_eq!(refused.code, "needs_server_key");
        let mut u = update(vec![grant]);
        u.by_server = true;
        let plan = plan(&[], &SubjectFacts::default(), u).unwrap();
        assert_eq!(
            actions(&plan),
            vec![
                AuditAction::ConsentChanged,
                AuditAction::MinorProtectionLifted
            ]
        );
        assert!(
            plan.audit[1]
                .details
                .contains(&("evidence_sha256", "none".to_owned()))
        );
    }

    #[test]
    fn the_daily_quota_counts_only_today_and_says_when_it_resets() {
        let p = policy();
        let day_start = NOW.div_euclid(DAY_MS) * DAY_MS;
        let today: Vec<_> = (0..3)
            .map(|i| record(&p, "analytics", Decision::Granted, day_start + i))
            .collect();
        let grant = record(&p, "personalization", Decision::Granted, NOW);
        let now = Timestamp::from_millis(NOW);
        let full = plan_update(
            &p,
            &SubjectFacts::default(),
            &today,
            update(vec![grant.clone()]),
            3,
            now,
        )
        .unwrap_err();
        assert_eq!(full.code, "consent_quota_exceeded");
        let ErrorKind::Limited(wait) = full.kind else {
            panic!("{:?}", full.kind);
        };
        assert_eq!(
            wait,
            u64::try_from((day_start + DAY_MS - NOW) / 1_000).unwrap()
        );
        // Yesterday's records do not count.
        let yesterday: Vec<_> = today
            .iter()
            .cloned()
            .map(|mut r| {
                r.at = Timestamp::from_millis(r.at.as_millis() - DAY_MS);
                r
            })
            .collect();
        assert!(
            plan_update(
                &p,
                &SubjectFacts::default(),
                &yesterday,
                update(vec![grant]),
                3,
                now
            )
            .is_ok()
        );
    }
}
