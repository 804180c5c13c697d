//! Recommendations: personalized only while a personalization purpose allows it, otherwise
//! popular or similar items; every item says why it is there.

use axum::Json;
use axum::extract::State;
use candor_domain::consent::{self};
use candor_domain::time::Timestamp;
use candor_store::ServingState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Access, Allowed, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use candor_app::experiments;
use candor_app::recommend::{PersonalizationFeed, personalization_allowed};
use candor_app::serving::{
    self, BasisBody, RecommendedItem, ServeRequest, ServedEvent, answer, seed,
};

/// List length when none is asked for.
const N_DEFAULT: u32 = 10;
/// Longest `slot` name.
const SLOT_CHARS_MAX: usize = 64;

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
    /// The list's id, when it was shown under an experiment: send it as the `list_id` property
    /// of a click on one of its items (`Product Clicked`), so the click is attributed to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// The first experiment this list was shown under, if the slot runs one and the person is
    /// in it (the oldest of `experiments`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<crate::routes::experiments::ServedBody>,
    /// Every experiment this list was shown under: one per layer of the slot, their variants
    /// composed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<crate::routes::experiments::ServedBody>,
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
    let models = state.models.current();
    let reading = std::sync::Arc::clone(&models);
    // Consent first, in the same task as the read of the history, which happens only when a
    // personalization purpose allows it: a withdrawn person's history is never loaded.
    let (facts, consent_state, preferences, restricted, known, history) = state
        .read(move |store| {
            // Consent is derived from the ledger before the history is read, inside the one
            // store call, and kept for the answer.
            let derived = std::cell::OnceCell::new();
            let feed = std::cell::OnceCell::new();
            // Each event is checked against that consent and mapped to the models' catalog as
            // it is read, so only what can feed the list is kept.
            let mut history: Vec<ServedEvent> = Vec::new();
            let ServingState {
                ledger,
                mut preferences,
            } = store.serving_inputs_each(
                &key,
                &|ledger, preferences| {
                    let state = derived
                        .get_or_init(|| consent::derive(&policy, &ledger.facts, &ledger.records));
                    // A restriction freezes processing: the data stays, but is not used.
                    !ledger.restricted
                        && !preferences.paused
                        && personalization_allowed(&policy, state)
                },
                &mut |event| {
                    let feed = feed.get_or_init(|| {
                        let state = derived
                            .get()
                            .expect("consent is derived before the history");
                        PersonalizationFeed::new(&policy, state, now)
                    });
                    if feed.admits_ref(&event)
                        && let Some(event) = ServedEvent::of(&reading, &event)
                    {
                        history.push(event);
                    }
                },
            )?;
            let known = !ledger.records.is_empty();
            let consent_state = derived
                .into_inner()
                .unwrap_or_else(|| consent::derive(&policy, &ledger.facts, &ledger.records));
            preferences.paused |= ledger.restricted;
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

    // The slot's experiments (one per layer), if any run and the person's consent on this
    // request covers their purpose: the variants' composed settings replace the request's,
    // and the holdout gets no personalization. Definitions come from the cache; the person's
    // assignments are read only when some experiment could enroll them.
    let serving = match &slot {
        Some(slot) => {
            let allowed = !restricted && !preferences.paused;
            let allowed: Vec<String> = consent_state
                .allowed()
                .filter(|_| allowed)
                .map(ToString::to_string)
                .collect();
            let (slot, app) = (slot.clone(), state.app.clone());
            state
                .read(move |store| {
                    let definitions = app.experiments.active(store)?;
                    experiments::serve_slot(store, &definitions, &slot, &key, &allowed, now)
                })
                .await?
        }
        None => experiments::SlotServing::default(),
    };
    let variant = serving.settings.clone();
    let max = state.config.limits.recommendations_n_max;
    let n = variant.n_items.map_or(n, |n_items| n_items.min(max));
    let diversity = variant.diversity.map_or(diversity, |d| d as f32);
    let held_out = serving.holdout;
    let history = if held_out { Vec::new() } else { history };

    let request = ServeRequest {
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
    // Exposure only when a list is actually shown: its first enrollments and every
    // experiment's exposure in one transaction.
    let shown = if items.is_empty() || serving.served.is_empty() {
        None
    } else {
        if held_out {
            basis = BasisBody {
                code: "experiment_holdout".to_owned(),
                purpose: None,
                message: "this list is not personalized: you are in a holdout group that \
                          measures what personalization changes"
                    .to_owned(),
            };
        }
        state
            .blocking(move |store| experiments::record_shown(store, &key, serving, now))
            .await?
    };
    let (list_id, experiments) = match shown {
        Some(shown) => {
            let bodies = crate::routes::experiments::ServedBody::all(&shown);
            (Some(shown.list_id), bodies)
        }
        None => (None, Vec::new()),
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
        candor_app::recommend::buffer_exposures(&state, exposures);
    }
    Ok(Json(RecommendationsBody {
        personalized,
        basis,
        slot,
        model_built_at: models.built_at.map(Timestamp::to_rfc3339),
        items,
        list_id,
        experiment: experiments.first().cloned(),
        experiments,
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
        Some(context) => serving::similar_items(&models, context, n),
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
        && (s.is_empty() || s.chars().count() > SLOT_CHARS_MAX || s.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "invalid_slot",
            format!("slot must be 1 to {SLOT_CHARS_MAX} characters of text"),
        ));
    }
    Ok(slot)
}

fn item_not_found() -> ApiError {
    ApiError::not_found("item_not_found", "no item with that id")
}
