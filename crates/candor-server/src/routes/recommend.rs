//! Recommendations: personalized only while a personalization purpose allows it, otherwise
//! popular or similar items; every item says why it is there.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use candor_domain::consent::{self, ConsentState, SubjectFacts};
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_recsys::{
    Contribution, Picked, Reason, RerankConfig, candidate_pool, candidates, explain_weighted,
    recommend_scores_weighted, rerank,
};
use candor_store::{HistoryEvent, Preferences, ServingInputs};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, Allowed, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::experiments;
use crate::extract::{ApiPath, ApiQuery};
use crate::recommend::{Models, feeds_personalization, personalization_allowed};
use crate::state::AppState;

/// List length when none is asked for.
const N_DEFAULT: u32 = 10;
/// Popular items looked at beyond the list, for lists without personalization.
const CANDIDATES_MIN: usize = candor_recsys::CANDIDATES_MIN;
/// History items named in one "because you..." reason.
const CONTRIBUTORS_MAX: usize = 3;
/// Longest `slot` name.
const SLOT_BYTES_MAX: usize = 64;

/// `?n=&slot=&context_item=&diversity=`
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecommendQuery {
    /// List length (default 10, at most the server's `recommendations_n_max`).
    #[param(minimum = 1, maximum = 100)]
    pub n: Option<u32>,
    /// Where the list is shown (`home`, `product`...): echoed, and varies exploration picks.
    #[param(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub slot: Option<String>,
    /// An item the person is looking at: without personalization the list is items similar to
    /// it.
    pub context_item: Option<String>,
    /// 0 = relevance only; higher values discount popular items more (reaching more of the
    /// catalog), calibrate to the breadth of the person's interests, diversify and explore
    /// (`candor eval --sweep` measures the curve). Default: the policy's
    /// `[recommendations] diversity` (0.5 unless set).
    #[param(minimum = 0, maximum = 1)]
    pub diversity: Option<f32>,
}

/// `?n=`
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    /// List length (default 10, at most the server's `recommendations_n_max`).
    #[param(minimum = 1, maximum = 100)]
    pub n: Option<u32>,
}

/// Why a list is or is not personalized.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
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
#[derive(Debug, Serialize, ToSchema, PartialEq)]
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
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    /// The model's relevance score (only comparable within one list).
    pub score: f32,
    pub reasons: Vec<ItemReason>,
}

/// A list of recommendations for one subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationsBody {
    /// Whether the subject's own history shaped the list.
    pub personalized: bool,
    /// Why it is or is not personalized.
    pub basis: BasisBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// When the models were last rebuilt (RFC 3339); absent before the first build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_built_at: Option<String>,
    pub items: Vec<RecommendedItem>,
    /// The experiment this list was shown under, if the slot runs one and the person is in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<crate::routes::experiments::ServedBody>,
}

/// Items similar to one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarBody {
    pub item: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_built_at: Option<String>,
    pub items: Vec<RecommendedItem>,
}

/// Recommendations for a subject.
///
/// Consent is derived at request time: the subject's history is read only while a
/// personalization purpose allows it. Otherwise — and for unknown subjects or ones without
/// history — the list is popular items, or items similar to `context_item`, and `basis` says
/// why. Items already bought are left out, and people who may be below the age of digital
/// consent never see items of restricted categories.
#[utoipa::path(get, path = "/v1/subjects/{id}/recommendations", tag = "recommendations", security(("api_key" = [])),
    params(("id" = String, Path, description = "External subject id"), RecommendQuery),
    responses((status = 200, body = RecommendationsBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn subject_recommendations(
    State(state): State<AppState>,
    access: Access<act::ReadRecommendations>,
    ApiQuery(q): ApiQuery<RecommendQuery>,
) -> ApiResult<Json<RecommendationsBody>> {
    let key = access.key();
    let n = check_n(&state, q.n)?;
    let diversity = check_diversity(q.diversity, state.policy.recommendation_diversity.as_f32())?;
    let slot = check_slot(q.slot)?;
    if let Some(context) = q.context_item.clone() {
        let found = state.read(move |store| store.item(&context)).await?;
        if found.is_none() {
            return Err(item_not_found());
        }
    }

    let policy = std::sync::Arc::clone(&state.policy);
    let now = state.now();
    // Consent first, in the same task as the read of the history, which happens only when a
    // personalization purpose allows it: a withdrawn person's history is never loaded.
    let (facts, consent_state, preferences, restricted, known, history) = state
        .read(move |store| {
            // Consent is derived from the ledger before the history is read, inside the one
            // store call, and kept for the answer.
            let derived = std::cell::OnceCell::new();
            let ServingInputs {
                ledger,
                mut preferences,
                history,
            } = store.serving_inputs(&key, &|ledger, preferences| {
                let state = derived
                    .get_or_init(|| consent::derive(&policy, &ledger.facts, &ledger.records));
                // A restriction freezes processing: the data stays, but is not used.
                !ledger.restricted && !preferences.paused && personalization_allowed(&policy, state)
            })?;
            let known = !ledger.records.is_empty();
            let consent_state = derived
                .into_inner()
                .unwrap_or_else(|| consent::derive(&policy, &ledger.facts, &ledger.records));
            preferences.paused |= ledger.restricted;
            let history: Vec<HistoryEvent> = history
                .into_iter()
                .filter(|e| feeds_personalization(&policy, &consent_state, e, now))
                .collect();
            Ok((
                ledger.facts,
                consent_state,
                preferences,
                ledger.restricted,
                known,
                history,
            ))
        })
        .await?;

    // The slot's experiment, if one runs and the person's consent covers its purpose: the
    // variant's settings replace the request's, and the holdout gets no personalization.
    let served = match &slot {
        Some(slot) => {
            let allowed = !restricted && !preferences.paused;
            let allowed: Vec<String> = consent_state
                .allowed()
                .filter(|_| allowed)
                .map(ToString::to_string)
                .collect();
            let slot = slot.clone();
            state
                .blocking(move |store| experiments::serve_slot(store, &slot, &key, &allowed, now))
                .await?
        }
        None => None,
    };
    let variant = served
        .as_ref()
        .map(|s| s.settings.clone())
        .unwrap_or_default();
    let max = state.config.limits.recommendations_n_max;
    let n = variant.n_items.map_or(n, |n_items| n_items.min(max));
    let diversity = variant.diversity.map_or(diversity, |d| d as f32);
    let history = match &served {
        Some(s) if s.arm == candor_experiments::Arm::Holdout => Vec::new(),
        _ => history,
    };

    let models = state.models.current();
    let request = Request {
        models: &models,
        policy: &state.policy,
        facts: &facts,
        consent: &consent_state,
        preferences: &preferences,
        restricted,
        history: &history,
        context: q.context_item.as_deref(),
        n: n as usize,
        diversity,
        exploration_share: variant.exploration_share.map(|s| s as f32),
        model: variant.model.as_deref(),
        seed: seed(key.as_bytes(), slot.as_deref().unwrap_or(""), now),
    };
    let (personalized, mut basis, items) = answer(&request);
    let experiment = match served {
        Some(served) if !items.is_empty() => {
            if served.arm == candor_experiments::Arm::Holdout {
                basis = BasisBody {
                    code: "experiment_holdout".to_owned(),
                    purpose: None,
                    message: "this list is not personalized: you are in a holdout group that \
                              measures what personalization changes"
                        .to_owned(),
                };
            }
            Some(
                state
                    .blocking(move |store| experiments::record_shown(store, &key, served, now))
                    .await?
                    .into(),
            )
        }
        _ => None,
    };
    if known {
        // Only for people Candor already holds consent records for: a stranger's generic list
        // starts no trail. Erased and exported with the rest of the subject's data.
        let slot_name = slot.clone().unwrap_or_else(|| "default".to_owned());
        let exposures = items
            .iter()
            .enumerate()
            .filter_map(|(rank, item)| {
                let index = models.index(&item.id)?;
                Some(candor_store::Exposure {
                    subject: key,
                    slot: slot_name.clone(),
                    item_id: item.id.clone(),
                    rank: rank as u32 + 1,
                    at: now,
                    personalized,
                    provider: models.item(index).provider.clone(),
                })
            })
            .collect();
        crate::recommend::buffer_exposures(&state, exposures);
    }
    Ok(Json(RecommendationsBody {
        personalized,
        basis,
        slot,
        model_built_at: models.built_at.map(Timestamp::to_rfc3339),
        items,
        experiment,
    }))
}

/// Items similar to an item, from co-occurrence in consenting people's histories.
///
/// No subject is known here, so nobody's age or self-exclusion is either: items of restricted
/// categories are left out, the protective choice for a viewer who may be a minor.
#[utoipa::path(get, path = "/v1/items/{id}/similar", tag = "recommendations", security(("api_key" = [])),
    params(("id" = String, Path, description = "Item id"), SimilarQuery),
    responses((status = 200, body = SimilarBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn similar_items(
    State(state): State<AppState>,
    _: Allowed<act::ReadCatalog>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<SimilarQuery>,
) -> ApiResult<Json<SimilarBody>> {
    let n = check_n(&state, q.n)? as usize;
    let lookup = id.clone();
    if state
        .read(move |store| store.item(&lookup))
        .await?
        .is_none()
    {
        return Err(item_not_found());
    }
    let models = state.models.current();
    // An item added since the last rebuild has no neighbours yet: an empty list, not an error.
    let items = match models.index(&id) {
        Some(context) => similar(&models, context, n, &|item| {
            models.not_for_minors(item) || models.not_for_self_excluded(item)
        })
        .into_iter()
        .map(|(item, score)| rendered(&models, item, score, vec![similar_reason(&models, context)]))
        .collect(),
        None => Vec::new(),
    };
    Ok(Json(SimilarBody {
        item: id,
        model_built_at: models.built_at.map(Timestamp::to_rfc3339),
        items,
    }))
}

fn check_n(state: &AppState, n: Option<u32>) -> ApiResult<u32> {
    let max = state.config.limits.recommendations_n_max;
    let n = n.unwrap_or(N_DEFAULT.min(max));
    if n == 0 || n > max {
        return Err(ApiError::bad_request(
            "invalid_n",
            format!("n must be between 1 and {max}"),
        ));
    }
    Ok(n)
}

/// The request's diversity, or the policy's default (`[recommendations] diversity`).
fn check_diversity(diversity: Option<f32>, policy_default: f32) -> ApiResult<f32> {
    let d = diversity.unwrap_or(policy_default);
    if !(0.0..=1.0).contains(&d) {
        return Err(ApiError::bad_request(
            "invalid_diversity",
            "diversity must be a number between 0 and 1",
        ));
    }
    Ok(d)
}

fn check_slot(slot: Option<String>) -> ApiResult<Option<String>> {
    if let Some(s) = &slot
        && (s.is_empty() || s.len() > SLOT_BYTES_MAX || s.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "invalid_slot",
            format!("slot must be 1 to {SLOT_BYTES_MAX} bytes of text"),
        ));
    }
    Ok(slot)
}

fn item_not_found() -> ApiError {
    ApiError::not_found("item_not_found", "no item with that id")
}

/// How re-ranking trades relevance for breadth at a given diversity `d` in `[0, 1]`: the
/// mapping `candor eval --diversity` measures ([`RerankConfig::for_diversity`]).
pub fn rerank_config(n: usize, d: f32) -> RerankConfig {
    RerankConfig::for_diversity(n, d)
}

/// Exploration picks are fixed for a subject, slot and day, so reloading a page does not
/// reshuffle it, yet they change from day to day.
fn seed(key: &[u8], slot: &str, now: Timestamp) -> u64 {
    // FNV-1a: only needs to spread inputs, not resist anyone.
    let day = now.as_millis().div_euclid(DAY_MS);
    key.iter()
        .chain(slot.as_bytes())
        .chain(&day.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Everything one answer depends on; [`answer`] is a pure function of it.
struct Request<'a> {
    models: &'a Models,
    policy: &'a Policy,
    facts: &'a SubjectFacts,
    consent: &'a ConsentState,
    preferences: &'a Preferences,
    /// Processing is restricted at the person's request (a data-subject right).
    restricted: bool,
    /// Events that may feed personalization now (empty unless a purpose allows it).
    history: &'a [HistoryEvent],
    context: Option<&'a str>,
    n: usize,
    diversity: f32,
    /// An experiment variant's exploration share, replacing the one `diversity` implies.
    exploration_share: Option<f32>,
    /// An experiment variant's model (`ease`, `knn` or `popularity`).
    model: Option<&'a str>,
    seed: u64,
}

fn answer(r: &Request<'_>) -> (bool, BasisBody, Vec<RecommendedItem>) {
    let models = r.models;
    let minor = r.facts.minor_below(r.policy).is_some();
    let prefs = r.preferences;
    let blocked = |item: u32| {
        (minor && models.not_for_minors(item))
            || (prefs.self_excluded && models.not_for_self_excluded(item))
            || prefs.hidden_items.contains(&models.item(item).id)
            || models.in_any_category(item, &prefs.muted_categories)
    };

    // The person's items with the strongest thing they did with each.
    let mut strongest: HashMap<u32, Interaction> = HashMap::new();
    for event in r.history {
        let Some(item) = models.index(&event.item_id) else {
            continue;
        };
        let kept = strongest.entry(item).or_insert(event.interaction);
        if rank(event.interaction) > rank(*kept) {
            *kept = event.interaction;
        }
    }

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

    let mut history: Vec<u32> = strongest.keys().copied().collect();
    history.sort_unstable();
    // Each item weighted by how recent it is, as the models' rebuild chose on the most recent
    // interactions of the people it trained on.
    let timeline: Vec<(u32, i64)> = r
        .history
        .iter()
        .filter_map(|e| Some((models.index(&e.item_id)?, e.occurred_at.as_millis() / 1000)))
        .collect();
    let weighted = models.recency.weigh(&timeline);
    // Items already engaged with (bought ones included) are not recommended again, nor
    // anything the person may not see.
    let mut exclude = history.clone();
    exclude.extend((0..models.n_items()).filter(|&item| blocked(item)));
    let pool = candidate_pool(r.n);
    let mut config = rerank_config(r.n, r.diversity);
    if let Some(share) = r.exploration_share {
        config.exploration_share = share;
    }
    let discount = Some((models.popularity.scores(), config.popularity_exponent));
    // Candidates are ranked without explanations; only the items picked are explained.
    let ease = models
        .ease
        .as_ref()
        .filter(|_| r.model != Some("knn"))
        .filter(|ease| history.iter().any(|&item| ease.covers(item)));
    let scored = match ease {
        Some(ease) => recommend_scores_weighted(ease, &weighted, &exclude, pool, discount),
        None => recommend_scores_weighted(&models.knn, &weighted, &exclude, pool, discount),
    };
    let explain_item = |item: u32| -> Vec<Contribution> {
        let explained = match ease {
            Some(ease) => explain_weighted(ease, &weighted, item, CONTRIBUTORS_MAX),
            None => explain_weighted(&models.knn, &weighted, item, CONTRIBUTORS_MAX),
        };
        explained
            .contributors
            .into_iter()
            .filter(|c| c.weight > 0.0)
            .collect()
    };
    let popular = models.popularity.top_n(pool, &exclude);
    let candidates = candidates(&scored, &popular, &models.categories);
    let picked: Vec<Picked> = rerank(&candidates, &history, &models.categories, &config, r.seed);
    let items = picked
        .into_iter()
        .map(|p| {
            let reason = match p.reason {
                Reason::Relevance { .. } => Reason::Relevance {
                    contributors: explain_item(p.item),
                },
                other => other,
            };
            let reason = item_reason(models, &reason, &strongest);
            rendered(models, p.item, p.score, vec![reason])
        })
        .collect();
    (true, basis, items)
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
            let reason = item_reason(models, &reason, &HashMap::new());
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
    // Ask for all neighbours: the blocked ones may be the nearest.
    models
        .knn
        .similar_items(context, models.n_items() as usize)
        .into_iter()
        .filter(|s| s.item != context && s.similarity > 0.0 && !blocked(s.item))
        .take(n)
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

fn item_reason(
    models: &Models,
    reason: &Reason,
    strongest: &HashMap<u32, Interaction>,
) -> ItemReason {
    match reason {
        Reason::Relevance { contributors } => {
            // The verb comes from the largest contributor; only contributors the same verb is
            // true of are named, so the sentence never says "viewed" of something bought.
            let verb_of = |item: u32| strongest.get(&item).copied().unwrap_or(Interaction::View);
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
