//! Serving recommendations: the candidate filters (minors, restricted categories, self-
//! exclusion, muted categories, hidden items), the basis of a list, each item's reasons, and
//! re-ranking — a pure function of the models, the policy, the person's consent, preferences
//! and the history their consent let through. Reading those inputs is the caller's.

use std::collections::HashSet;

use candor_domain::consent::{ConsentState, SubjectFacts};
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_recsys::{
    Picked, Reason, RerankConfig, candidate_pool, candidates, recommend_scores_weighted, rerank,
    top_contributions_weighted,
};
use candor_store::{HistoryRef, Preferences};
use serde::Serialize;

use crate::recommend::Models;

/// Popular items looked at beyond the list, for lists without personalization.
const CANDIDATES_MIN: usize = candor_recsys::CANDIDATES_MIN;
/// History items named in one "because you..." reason.
const CONTRIBUTORS_MAX: usize = 3;

/// Why a list is or is not personalized.
#[derive(Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasisBody {
    /// `granted` or `legal_basis` when personalized; otherwise the consent reason code
    /// (`no_choice_yet`, `withdrawn`, `declined`, `needs_parental_consent`...) or `no_history`.
    pub code: String,
    /// The personalization purpose the code is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The same as a sentence.
    pub message: String,
}

/// Why one item is in a list.
#[derive(Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemReason {
    /// `because_you_viewed`, `because_you_added`, `because_you_bought`, `because_you_rated`,
    /// `similar_to`, `popular_in`, `popular` or `exploration`.
    pub kind: String,
    /// The item ids the reason refers to (history items, or the context item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<String>>,
    /// The category, for `popular_in`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A sentence to show next to the item.
    pub text: String,
}

/// One recommended item.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendedItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    /// The model's relevance score (only comparable within one list).
    pub score: f32,
    pub reasons: Vec<ItemReason>,
}

/// How re-ranking trades relevance for breadth at a given diversity `d` in `[0, 1]`: the
/// mapping `candor eval --diversity` measures ([`RerankConfig::for_diversity`]).
pub fn rerank_config(n: usize, d: f32) -> RerankConfig {
    RerankConfig::for_diversity(n, d)
}

/// Exploration picks are fixed for a subject, slot and day, so reloading a page does not
/// reshuffle it, yet they change from day to day.
pub fn seed(key: &[u8], slot: &str, now: Timestamp) -> u64 {
    // FNV-1a: only needs to spread inputs, not resist anyone.
    let day = now.as_millis().div_euclid(DAY_MS);
    key.iter()
        .chain(slot.as_bytes())
        .chain(&day.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// One event of a person's history as serving uses it: the item's dense index in the models'
/// catalog, what the person did with it and when (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedEvent {
    pub item: u32,
    pub interaction: Interaction,
    pub at_s: i64,
}

impl ServedEvent {
    /// `event` as serving uses it, if its item is in the models' catalog (one added since the
    /// last rebuild is not yet).
    pub fn of(models: &Models, event: &HistoryRef<'_>) -> Option<Self> {
        Some(Self {
            item: models.index(event.item_id)?,
            interaction: event.interaction,
            at_s: event.occurred_at.as_millis() / 1000,
        })
    }
}

/// Everything one answer depends on; [`answer`] is a pure function of it.
pub struct ServeRequest<'a> {
    pub models: &'a Models,
    pub policy: &'a Policy,
    pub facts: &'a SubjectFacts,
    pub consent: &'a ConsentState,
    pub preferences: &'a Preferences,
    /// Processing is restricted at the person's request (a data-subject right).
    pub restricted: bool,
    /// Events that may feed personalization now (empty unless a purpose allows it), oldest
    /// first.
    pub history: &'a [ServedEvent],
    pub context: Option<&'a str>,
    pub n: usize,
    pub diversity: f32,
    /// An experiment variant's exploration share, replacing the one `diversity` implies.
    pub exploration_share: Option<f32>,
    /// An experiment variant's model (`ease`, `knn` or `popularity`).
    pub model: Option<&'a str>,
    pub seed: u64,
}

pub fn answer(r: &ServeRequest<'_>) -> (bool, BasisBody, Vec<RecommendedItem>) {
    let models = r.models;
    let minor = r.facts.minor_below(r.policy).is_some();
    let prefs = r.preferences;
    let blocked = |item: u32| {
        (minor && models.not_for_minors(item))
            || (prefs.self_excluded && models.not_for_self_excluded(item))
            || prefs.hidden_items.contains(&models.item(item).id)
            || models.in_any_category(item, &prefs.muted_categories)
    };
    // Whether `blocked` can hold for any item at all: most people hide and mute nothing.
    let may_block = minor
        || prefs.self_excluded
        || !prefs.hidden_items.is_empty()
        || !prefs.muted_categories.is_empty();

    // The person's items, each with the strongest thing they did with it and when they last
    // did anything with it, sorted by item.
    let PerItem { strongest, latest } = per_item(r.history);

    let basis = if r.restricted {
        BasisBody {
            code: "restricted".to_owned(),
            purpose: None,
            message: "processing is restricted at the person's request".to_owned(),
        }
    } else if prefs.paused {
        BasisBody {
            code: "paused".to_owned(),
            purpose: None,
            message: "personalization is paused at the person's request".to_owned(),
        }
    } else {
        basis(r.policy, r.consent, !strongest.is_empty())
    };
    if strongest.is_empty() || r.model == Some("popularity") {
        let items = non_personalized(models, r.context, r.n, &blocked);
        return (false, basis, items);
    }

    let history: Vec<u32> = strongest.iter().map(|&(item, _)| item).collect();
    // Each item weighted by how recent it is, as the models' rebuild chose on the most recent
    // interactions of the people it trained on.
    let weighted = models.recency.weigh_latest(&latest);
    // Items already engaged with (bought ones included) are not recommended again, nor
    // anything the person may not see.
    let blocked_items: Vec<u32>;
    let exclude: &[u32] = if may_block {
        blocked_items = (0..models.n_items())
            .filter(|&item| blocked(item) || history.binary_search(&item).is_ok())
            .collect();
        &blocked_items
    } else {
        &history
    };
    let pool = candidate_pool(r.n);
    let mut config = rerank_config(r.n, r.diversity);
    if let Some(share) = r.exploration_share {
        config.exploration_share = share;
    }
    let discount = models.popularity_discount(config.popularity_exponent);
    // Candidates are ranked without explanations; only the items picked are explained.
    let ease = models
        .ease
        .as_ref()
        .filter(|_| r.model != Some("knn"))
        .filter(|ease| history.iter().any(|&item| ease.covers(item)));
    let scored = match ease {
        Some(ease) => recommend_scores_weighted(ease, &weighted, exclude, pool, Some(&*discount)),
        None => recommend_scores_weighted(&models.knn, &weighted, exclude, pool, Some(&*discount)),
    };
    let popular = models.popularity.top_n(pool, exclude);
    let candidates = candidates(&scored, &popular, &models.categories);
    let picked: Vec<Picked> = rerank(&candidates, &history, &models.categories, &config, r.seed);
    let relevant: Vec<u32> = picked
        .iter()
        .filter(|p| matches!(p.reason, Reason::Relevance { .. }))
        .map(|p| p.item)
        .collect();
    let mut explained = match ease {
        Some(ease) => top_contributions_weighted(ease, &weighted, &relevant, CONTRIBUTORS_MAX),
        None => top_contributions_weighted(&models.knn, &weighted, &relevant, CONTRIBUTORS_MAX),
    }
    .into_iter();
    let items = picked
        .into_iter()
        .map(|p| {
            let reason = match p.reason {
                Reason::Relevance { .. } => Reason::Relevance {
                    contributors: explained
                        .next()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|c| c.weight > 0.0)
                        .collect(),
                },
                other => other,
            };
            let reason = item_reason(models, &reason, &strongest);
            rendered(models, p.item, p.score, vec![reason])
        })
        .collect();
    (true, basis, items)
}

/// A person's history reduced to one entry per item, sorted by item.
struct PerItem {
    /// The most telling interaction the person had with each item.
    strongest: Vec<(u32, Interaction)>,
    /// The time of their latest event about each item (Unix seconds), which recency ages by.
    latest: Vec<(u32, i64)>,
}

/// `events` reduced to [`PerItem`]: one sort of the history serves both lists.
fn per_item(events: &[ServedEvent]) -> PerItem {
    let mut by_item = events.to_vec();
    // Stable: within an item, events keep their history order, so ties between equally
    // telling interactions go to the earliest.
    by_item.sort_by_key(|e| e.item);
    let mut strongest: Vec<(u32, Interaction)> = Vec::with_capacity(by_item.len());
    let mut latest: Vec<(u32, i64)> = Vec::with_capacity(by_item.len());
    for item in by_item.chunk_by(|a, b| a.item == b.item) {
        let first = &item[0];
        let most_telling = item
            .iter()
            .map(|e| e.interaction)
            .fold(
                first.interaction,
                |a, b| if rank(b) > rank(a) { b } else { a },
            );
        strongest.push((first.item, most_telling));
        latest.push((
            first.item,
            item.iter().map(|e| e.at_s).max().unwrap_or(first.at_s),
        ));
    }
    PerItem { strongest, latest }
}

/// Popular items, or items similar to the context item topped up with popular ones.
fn non_personalized(
    models: &Models,
    context: Option<&str>,
    n: usize,
    blocked: &dyn Fn(u32) -> bool,
) -> Vec<RecommendedItem> {
    let mut items = Vec::new();
    let mut shown: HashSet<u32> = HashSet::new();
    let context = context.and_then(|id| models.index(id));
    if let Some(context) = context {
        shown.insert(context);
        for (item, score) in similar(models, context, n, blocked) {
            shown.insert(item);
            items.push(rendered(
                models,
                item,
                score,
                vec![similar_reason(models, context)],
            ));
        }
    }
    if items.len() < n {
        let exclude: Vec<u32> = shown.iter().copied().collect();
        let popular = models
            .popularity
            .top_n(n + exclude.len() + CANDIDATES_MIN, &exclude)
            .into_iter()
            .filter(|&(item, popularity)| popularity > 0.0 && !blocked(item))
            .take(n - items.len());
        for (item, score) in popular {
            let reason = Reason::Popular {
                category: models.categories.of(item).first().copied(),
            };
            let reason = item_reason(models, &reason, &[]);
            items.push(rendered(models, item, score, vec![reason]));
        }
    }
    items
}

/// The `n` nearest neighbours of `context` that are not blocked.
fn similar(
    models: &Models,
    context: u32,
    n: usize,
    blocked: &dyn Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    // Blocked neighbours are left out before selecting: they may be the nearest.
    models
        .knn
        .similar_items_where(context, n, |s| {
            s.item != context && s.similarity > 0.0 && !blocked(s.item)
        })
        .into_iter()
        .map(|s| (s.item, s.similarity))
        .collect()
}

/// The more telling interaction wins when a person did several things with one item.
fn rank(interaction: Interaction) -> u8 {
    match interaction {
        Interaction::Purchase => 4,
        Interaction::Add => 3,
        Interaction::Rating => 2,
        Interaction::View | Interaction::Page | Interaction::Search => 1,
    }
}

fn basis(policy: &Policy, consent: &ConsentState, has_history: bool) -> BasisBody {
    let purposes: Vec<_> = policy
        .purposes
        .iter()
        .filter(|p| p.personalization)
        .filter_map(|p| consent.get(&p.id))
        .collect();
    match purposes.iter().find(|s| s.allowed) {
        Some(allowed) if has_history => BasisBody {
            code: allowed.reason.code().to_owned(),
            purpose: Some(allowed.purpose.to_string()),
            message: allowed.reason.to_string(),
        },
        Some(allowed) => BasisBody {
            code: "no_history".to_owned(),
            purpose: Some(allowed.purpose.to_string()),
            message: "no activity to personalize from yet".to_owned(),
        },
        // The first personalization purpose in policy order is the main one people choose.
        None => match purposes.first() {
            Some(denied) => BasisBody {
                code: denied.reason.code().to_owned(),
                purpose: Some(denied.purpose.to_string()),
                message: denied.reason.to_string(),
            },
            None => BasisBody {
                code: "no_personalization_purpose".to_owned(),
                purpose: None,
                message: "the policy declares no personalization purpose".to_owned(),
            },
        },
    }
}

fn item_reason(models: &Models, reason: &Reason, strongest: &[(u32, Interaction)]) -> ItemReason {
    match reason {
        Reason::Relevance { contributors } => {
            // The verb comes from the largest contributor; only contributors the same verb is
            // true of are named, so the sentence never says "viewed" of something bought.
            let verb_of = |item: u32| {
                strongest
                    .binary_search_by_key(&item, |&(i, _)| i)
                    .map_or(Interaction::View, |at| strongest[at].1)
            };
            let Some(first) = contributors.first() else {
                return popular_reason(models, None);
            };
            let verb = rank(verb_of(first.item));
            let named: Vec<u32> = contributors
                .iter()
                .map(|c| c.item)
                .filter(|&item| rank(verb_of(item)) == verb)
                .collect();
            let titles = join_titles(named.iter().map(|&i| models.item(i).title.as_str()));
            let (kind, text) = match verb_of(first.item) {
                Interaction::Purchase => {
                    ("because_you_bought", format!("Because you bought {titles}"))
                }
                Interaction::Add => (
                    "because_you_added",
                    format!("Because you added {titles} to your cart"),
                ),
                Interaction::Rating => ("because_you_rated", format!("Because you rated {titles}")),
                Interaction::View | Interaction::Page | Interaction::Search => {
                    ("because_you_viewed", format!("Because you viewed {titles}"))
                }
            };
            ItemReason {
                kind: kind.to_owned(),
                items: Some(named.iter().map(|&i| models.item(i).id.clone()).collect()),
                category: None,
                text,
            }
        }
        Reason::Popular { category } => popular_reason(models, *category),
        Reason::Exploration => ItemReason {
            kind: "exploration".to_owned(),
            items: None,
            category: None,
            text: "Picked to broaden your recommendations".to_owned(),
        },
    }
}

fn popular_reason(models: &Models, category: Option<u32>) -> ItemReason {
    match category {
        Some(category) => {
            let name = models.category_name(category).to_owned();
            ItemReason {
                kind: "popular_in".to_owned(),
                items: None,
                text: format!("Popular in {name}"),
                category: Some(name),
            }
        }
        None => ItemReason {
            kind: "popular".to_owned(),
            items: None,
            category: None,
            text: "Popular with other shoppers".to_owned(),
        },
    }
}

fn similar_reason(models: &Models, context: u32) -> ItemReason {
    let item = models.item(context);
    ItemReason {
        kind: "similar_to".to_owned(),
        items: Some(vec![item.id.clone()]),
        category: None,
        text: format!("Similar to {}", item.title),
    }
}

/// "A", "A and B", "A, B and C".
fn join_titles<'a>(titles: impl Iterator<Item = &'a str>) -> String {
    let titles: Vec<&str> = titles.collect();
    match titles.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn rendered(models: &Models, item: u32, score: f32, reasons: Vec<ItemReason>) -> RecommendedItem {
    let it = models.item(item);
    RecommendedItem {
        id: it.id.clone(),
        title: it.title.clone(),
        categories: it.categories.clone(),
        score,
        reasons,
    }
}

/// Items similar to the item at `context`, each with its reason; never an item a minor or a
/// self-excluded person must not see, since the asker is unknown.
pub fn similar_items(models: &Models, context: u32, n: usize) -> Vec<RecommendedItem> {
    similar(models, context, n, &|item| {
        models.not_for_minors(item) || models.not_for_self_excluded(item)
    })
    .into_iter()
    .map(|(item, score)| rendered(models, item, score, vec![similar_reason(models, context)]))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_join_as_a_sentence() {
        assert_eq!(join_titles([].into_iter()), "");
        assert_eq!(join_titles(["A"].into_iter()), "A");
        assert_eq!(join_titles(["A", "B"].into_iter()), "A and B");
        assert_eq!(join_titles(["A", "B", "C"].into_iter()), "A, B and C");
    }

    #[test]
    fn diversity_zero_is_relevance_only() {
        let relevance_only = rerank_config(10, 0.0);
        assert_eq!(relevance_only.calibration_lambda, 0.0);
        assert_eq!(relevance_only.mmr_lambda, 1.0);
        assert_eq!(relevance_only.exploration_share, 0.0);
        assert_eq!(relevance_only.popularity_exponent, 0.0);
    }
}
