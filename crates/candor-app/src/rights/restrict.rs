//! Restriction of processing (GDPR Art. 18) and objection to marketing (Art. 21(2)).

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, ConsentState, Decision, Source};
use candor_domain::policy::{Policy, Purpose};
use candor_domain::time::Timestamp;

use crate::{App, AppResult};

/// Restricts (`restrict`) or lifts the restriction of a person's processing and logs the
/// request. `by` says who asked (`operator` or `subject`). Returns when the restriction began,
/// if it is in force.
pub async fn set(
    app: &App,
    subject: SubjectKey,
    restrict: bool,
    by: &str,
    jurisdiction: Option<&str>,
) -> AppResult<Option<Timestamp>> {
    let kind = if restrict {
        "restriction"
    } else {
        "restriction_lifted"
    };
    let request = super::request(
        app,
        kind,
        &subject,
        jurisdiction,
        true,
        serde_json::json!({ "by": by }),
    )?;
    let now = app.now();
    app.blocking(move |store| {
        store.set_restriction(&subject, restrict.then_some(now))?;
        store.insert_dsr(&request)?;
        store.restriction(&subject)
    })
    .await
}

/// Whether a purpose is marketing: messages on a channel, targeted advertising, or sale and
/// sharing of personal data.
pub fn is_marketing(p: &Purpose) -> bool {
    p.channel.is_some() || p.targeted_advertising || p.sale_or_sharing
}

/// The withdrawals an objection records: every marketing purpose, with source `subject`, as
/// one bulk choice.
pub fn objection_records(policy: &Policy, by: &str, now: Timestamp) -> Vec<ConsentRecord> {
    let evidence = serde_json::json!({"request": "objection", "by": by}).to_string();
    policy
        .purposes
        .iter()
        .filter(|p| is_marketing(p))
        .map(|p| ConsentRecord {
            purpose: p.id.clone(),
            decision: Decision::Withdrawn,
            purpose_version: p.version.clone(),
            policy_version: policy.version.clone(),
            source: Source::Subject,
            bulk: true,
            evidence: evidence.clone(),
            at: now,
        })
        .collect()
}

/// What an objection did: the purposes withdrawn and the consent state after.
#[derive(Debug, Clone)]
pub struct Objection {
    pub withdrawn: Vec<String>,
    pub state: ConsentState,
}

/// Objects to all marketing in one call: every marketing purpose is withdrawn and the request
/// logged.
pub async fn object(
    app: &App,
    subject: SubjectKey,
    by: &str,
    jurisdiction: Option<&str>,
) -> AppResult<Objection> {
    let now = app.now();
    let records = objection_records(&app.policy, by, now);
    let withdrawn: Vec<String> = records.iter().map(|r| r.purpose.to_string()).collect();
    let request = super::request(
        app,
        "objection",
        &subject,
        jurisdiction,
        true,
        serde_json::json!({"by": by, "withdrawn": withdrawn}),
    )?;
    let (facts, all) = app
        .blocking(move |store| {
            store.append_consents(&subject, &consent::SubjectFacts::default(), &records, now)?;
            store.insert_dsr(&request)?;
            crate::consent::held(store, &subject)
        })
        .await?;
    Ok(Objection {
        withdrawn,
        state: consent::derive(&app.policy, &facts, &all),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_objection_withdraws_exactly_the_marketing_purposes() {
        let policy = Policy::parse(candor_domain::policy::DEFAULT_POLICY_TOML).unwrap();
        let now = Timestamp::from_millis(1_700_000_000_000);
        let records = objection_records(&policy, "subject", now);
        let ids: Vec<&str> = records.iter().map(|r| r.purpose.as_str()).collect();
        assert!(ids.contains(&"email_marketing"), "{ids:?}");
        assert!(ids.contains(&"targeted_advertising"), "{ids:?}");
        assert!(!ids.contains(&"personalization"), "{ids:?}");
        assert!(!ids.contains(&"order_fulfilment"), "{ids:?}");
        assert!(records.iter().all(|r| r.decision == Decision::Withdrawn
            && r.source == Source::Subject
            && r.bulk
            && r.at == now));
    }
}
