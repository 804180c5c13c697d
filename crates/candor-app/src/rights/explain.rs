//! "Why am I seeing this": the data and purposes behind a person's recommendations.

use std::collections::BTreeMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, Decision, Reason, SubjectFacts};
use candor_domain::policy::Policy;
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use candor_store::{CatalogItem, StoredEvent};

use crate::{App, AppError, AppResult};

/// Most distinct items looked up to explain one recommendation.
const EXPLAIN_ITEMS_MAX: usize = 500;

/// What the store holds that an explanation reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub item: CatalogItem,
    pub events: Vec<StoredEvent>,
    /// The categories of the items the person interacted with (at most [`EXPLAIN_ITEMS_MAX`]).
    pub categories: BTreeMap<String, Vec<String>>,
    pub facts: SubjectFacts,
    pub records: Vec<ConsentRecord>,
    pub profile: Option<Profile>,
    pub restricted: Option<Timestamp>,
}

/// A personalization purpose and what its permission rests on.
#[derive(Debug, Clone)]
pub struct PurposeUsed {
    pub purpose: String,
    pub title: String,
    pub legal_basis: &'static str,
    pub allowed: bool,
    /// Why the purpose is or is not allowed now, as a sentence.
    pub reason: String,
    /// The ledger record the permission rests on, when it rests on consent.
    pub consent_record: Option<ConsentRecord>,
}

/// Why a person sees an item.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub item: CatalogItem,
    /// Whether anything about the person may shape what they see of this item.
    pub personalized: bool,
    pub reasons: Vec<String>,
    /// `(category, share)` of the person's interests in the item's categories, as used.
    pub interests_used: Vec<(String, f64)>,
    /// Events that fed the interests used, by event type.
    pub events_by_type: BTreeMap<String, u64>,
    pub first_at: Option<Timestamp>,
    pub last_at: Option<Timestamp>,
    pub purposes: Vec<PurposeUsed>,
}

/// Explains `item_id` to the person: the interests it matches, the data they came from, the
/// purpose and the consent record it relied on.
pub async fn explain(app: &App, subject: SubjectKey, item_id: String) -> AppResult<Explanation> {
    let id = item_id.clone();
    let inputs = app
        .blocking(move |store| read(store, &subject, &id))
        .await?;
    let Some(inputs) = inputs else {
        return Err(AppError::not_found(
            "item_not_found",
            format!("the catalog has no item `{item_id}`"),
        ));
    };
    Ok(compute(
        &app.policy,
        inputs,
        app.now(),
        app.config.profiles.half_life_days,
    ))
}

fn read(
    store: &dyn candor_store::Store,
    subject: &SubjectKey,
    item_id: &str,
) -> candor_store::StoreResult<Option<Inputs>> {
    let Some(item) = store.item(item_id)? else {
        return Ok(None);
    };
    let events = store.all_events(subject)?;
    let mut categories: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.interaction.is_some()) {
        if let Some(i) = &e.item_id
            && !categories.contains_key(i)
            && categories.len() < EXPLAIN_ITEMS_MAX
        {
            let c = store.item(i)?.map(|it| it.categories).unwrap_or_default();
            categories.insert(i.clone(), c);
        }
    }
    let (facts, records) = crate::consent::held(store, subject)?;
    Ok(Some(Inputs {
        item,
        events,
        categories,
        facts,
        records,
        profile: store.profile(subject)?,
        restricted: store.restriction(subject)?,
    }))
}

/// The explanation of what `inputs` hold; nothing about the person is shown unless it may
/// shape what they see (a personalization purpose allowed, no restriction, an interest used).
pub fn compute(
    policy: &Policy,
    inputs: Inputs,
    now: Timestamp,
    half_life_days: f64,
) -> Explanation {
    let Inputs {
        item,
        events,
        categories,
        facts,
        records,
        profile,
        restricted,
    } = inputs;
    let derived = consent::derive(policy, &facts, &records);
    let purposes: Vec<PurposeUsed> = derived
        .purposes
        .iter()
        .filter_map(|s| {
            let p = policy.purpose(&s.purpose)?;
            p.personalization.then(|| PurposeUsed {
                purpose: p.id.to_string(),
                title: p.title.clone(),
                legal_basis: p.legal_basis.as_str(),
                allowed: s.allowed,
                reason: s.reason.to_string(),
                consent_record: match &s.reason {
                    Reason::Granted { at, .. } => records
                        .iter()
                        .rev()
                        .find(|r| {
                            r.purpose == p.id && r.at == *at && r.decision == Decision::Granted
                        })
                        .cloned(),
                    _ => None,
                },
            })
        })
        .collect();
    let allowed = purposes.iter().any(|p| p.allowed);
    let shares = profile
        .as_ref()
        .map(|p| p.interest_shares(now, half_life_days))
        .unwrap_or_default();
    let interests_used: Vec<(String, f64)> = item
        .categories
        .iter()
        .filter_map(|c| shares.get(c).map(|s| (c.clone(), *s)))
        .collect();
    let mut events_by_type: BTreeMap<String, u64> = BTreeMap::new();
    let (mut first, mut last): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    for e in events.iter().filter(|e| e.interaction.is_some()) {
        let matches = e.item_id.as_ref().is_some_and(|i| {
            categories
                .get(i)
                .is_some_and(|c| c.iter().any(|c| item.categories.contains(c)))
        });
        if matches {
            *events_by_type.entry(e.event_type.clone()).or_insert(0) += 1;
            first = Some(first.map_or(e.occurred_at, |f| f.min(e.occurred_at)));
            last = Some(last.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        }
    }
    let personalized = allowed && restricted.is_none() && !interests_used.is_empty();
    let mut reasons = Vec::new();
    if restricted.is_some() {
        reasons.push(
            "Processing of your data is restricted, so nothing about you is used.".to_owned(),
        );
    } else if !allowed {
        reasons.push(
            "You have not allowed personalization, so this is shown to everyone alike.".to_owned(),
        );
    } else if interests_used.is_empty() {
        reasons.push(
            "Nothing we know about you matches this item; it is shown for its popularity."
                .to_owned(),
        );
    } else {
        for (category, share) in &interests_used {
            reasons.push(format!(
                "You showed interest in {category} ({:.0}% of your recent interest).",
                share * 100.0
            ));
        }
    }
    Explanation {
        item,
        personalized,
        reasons,
        interests_used: if personalized {
            interests_used
        } else {
            Vec::new()
        },
        events_by_type: if personalized {
            events_by_type
        } else {
            BTreeMap::new()
        },
        first_at: first.filter(|_| personalized),
        last_at: last.filter(|_| personalized),
        purposes,
    }
}
