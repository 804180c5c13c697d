//! The in-memory recommendation models and how they are rebuilt.
//!
//! [`Models`] is an immutable snapshot: the catalog's dense item indices, EASE for personalized
//! lists, item-kNN for "similar to this item" and popularity for everyone else. It is trained
//! only on events that feed a profile *and* whose subject still allows a personalization
//! purpose at rebuild time, so a withdrawal reaches the models at the next rebuild even before
//! the retention job has rewritten the events. Serving never reads a subject's own history
//! without deriving their consent first (see `routes::recommend`).
//!
//! [`rebuild_once`] is the step function: it trains a new snapshot off the request path and
//! swaps it in. [`model_loop`] runs it at start, on a timer, and soon after
//! [`ModelCell::mark_stale`] (a withdrawal, a large import).

use std::collections::HashMap;
use std::time::Duration;

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentState};
use candor_domain::policy::{Audience, Interaction, Policy};
use candor_domain::time::Timestamp;
use candor_recsys::{
    EaseConfig, EaseModel, Interactions, ItemCategories, ItemKnn, KnnConfig, Popularity, Recency,
    ValidationSlice, choose_recency,
};
use candor_store::{CatalogItem, PAGE_LEN_MAX, PageRequest, Store, StoreError, StoreResult};

use crate::App;
pub use crate::models::{Erased, ModelCell, Models};

/// How often the loop rebuilds when nothing asked for it sooner.
pub const MODEL_REBUILD_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// The shortest gap between two rebuilds, so a burst of withdrawals costs one rebuild, not one
/// each.
pub const MODEL_REBUILD_GAP_MIN: Duration = Duration::from_secs(10);
/// How often each instance checks whether another one asked for a rebuild.
pub const GENERATION_POLL: Duration = Duration::from_secs(2);
/// The store counter every instance watches: bumped when someone's data must leave the models.
pub const MODELS_GENERATION: &str = "models";
/// Subjects read per store round trip while rebuilding.
const SUBJECTS_PAGE_LEN: u32 = 500;
/// EASE's solve is dense and cubic in its item count: 2,500 items take about 150 MB and a few
/// seconds on one core. Rarer items are still reachable through item-kNN and popularity.
pub const EASE_ITEMS_MAX: usize = 2_500;

/// What one rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub n_items: u32,
    pub subjects_checked: u64,
    /// Subjects whose data trained the models (a personalization purpose allowed, and at least
    /// one usable interaction).
    pub subjects_used: u64,
    /// Subjects left out because no personalization purpose is allowed now.
    pub subjects_without_consent: u64,
    /// Distinct (subject, item) pairs trained on.
    pub n_interactions: u64,
    /// Items EASE models (0 when it could not be trained).
    pub ease_items: u32,
}

/// How much an interaction says about interest. Several interactions with one item keep the
/// strongest, so a shopper who views an item ten times does not outweigh one who bought it.
pub fn interaction_weight(interaction: Interaction) -> f32 {
    match interaction {
        Interaction::Purchase => 3.0,
        Interaction::Add => 2.0,
        Interaction::Rating => 2.0,
        Interaction::View | Interaction::Page | Interaction::Search => 1.0,
    }
}

/// Whether a past event may feed personalization now: it has not expired, a personalization
/// purpose it was stored for is still allowed, and that purpose's retention has not run out.
/// (An event that names no item or was admitted without an interaction is never a
/// [`candor_store::HistoryEvent`].) [`PersonalizationFeed`] asks the same of many events.
pub fn feeds_personalization(
    policy: &Policy,
    state: &ConsentState,
    event: &candor_store::HistoryEvent,
    now: Timestamp,
) -> bool {
    PersonalizationFeed::new(policy, state, now).admits(event)
}

/// [`feeds_personalization`] for the events of one person, with the personalization purposes
/// their consent allows found once rather than per event: serving filters a whole history
/// with it on every request.
pub struct PersonalizationFeed<'a> {
    /// The policy's personalization purposes allowed in the person's consent state.
    allowed: Vec<&'a candor_domain::policy::Purpose>,
    now: Timestamp,
}

impl<'a> PersonalizationFeed<'a> {
    pub fn new(policy: &'a Policy, state: &ConsentState, now: Timestamp) -> Self {
        let allowed = policy
            .purposes
            .iter()
            .filter(|p| p.personalization && state.allows(&p.id))
            .collect();
        Self { allowed, now }
    }

    /// Whether `event` may feed personalization now.
    pub fn admits(&self, event: &candor_store::HistoryEvent) -> bool {
        self.admits_ref(&event.borrowed())
    }

    /// [`PersonalizationFeed::admits`] for an event of a streaming read.
    pub fn admits_ref(&self, event: &candor_store::HistoryRef<'_>) -> bool {
        self.admits_parts(event.purposes, event.occurred_at, event.expires_at)
    }

    /// [`PersonalizationFeed::admits`] on the fields it reads, for events read whole.
    fn admits_parts(
        &self,
        purposes: &[candor_domain::PurposeId],
        occurred_at: Timestamp,
        expires_at: Timestamp,
    ) -> bool {
        let now = self.now;
        expires_at > now
            && purposes.iter().any(|id| {
                self.allowed.iter().any(|p| {
                    p.id == *id && (p.session_only || occurred_at.plus_days(p.retention_days) > now)
                })
            })
    }
}

/// Whether any personalization purpose is allowed in `state`.
pub fn personalization_allowed(policy: &Policy, state: &ConsentState) -> bool {
    policy
        .purposes
        .iter()
        .any(|p| p.personalization && state.allows(&p.id))
}

/// Trains a new snapshot from the store and swaps it in. Blocking: run it on a blocking thread.
pub fn rebuild_once(state: &App) -> StoreResult<RebuildReport> {
    let _one_at_a_time = state
        .models
        .rebuilding
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (models, report) = build(state.store.as_ref(), &state.policy, state.now())?;
    state.models.swap(models);
    Ok(report)
}

fn build(
    store: &dyn Store,
    policy: &Policy,
    now: Timestamp,
) -> StoreResult<(Models, RebuildReport)> {
    // Read first, so a withdrawal that lands while training triggers one more rebuild.
    let generation = store.generation(MODELS_GENERATION)?;
    let catalog = read_catalog(store)?;
    let index_of: crate::models::ItemIndex = catalog
        .iter()
        .enumerate()
        .map(|(index, item)| (item.id.clone(), index as u32))
        .collect();
    let mut category_names: Vec<String> = Vec::new();
    let mut category_of: HashMap<&str, u32> = HashMap::new();
    let per_item: Vec<Vec<u32>> = catalog
        .iter()
        .map(|item| {
            item.categories
                .iter()
                .map(|name| {
                    *category_of.entry(name.as_str()).or_insert_with(|| {
                        category_names.push(name.clone());
                        category_names.len() as u32 - 1
                    })
                })
                .collect()
        })
        .collect();
    let not_for = |audience: Audience| -> Vec<bool> {
        let restricted: Vec<&str> = policy
            .restricted_categories
            .iter()
            .filter(|r| r.never_for.contains(&audience))
            .map(|r| r.id.as_str())
            .collect();
        catalog
            .iter()
            .map(|item| {
                item.restricted
                    .iter()
                    .any(|r| restricted.contains(&r.as_str()))
            })
            .collect()
    };
    let not_for_minors = not_for(Audience::Minors);
    let not_for_self_excluded = not_for(Audience::SelfExcluded);

    // Only the strongest interaction per (subject, item) is kept, as dense triples; subjects
    // get dense indices in the order read and are not remembered past this function.
    let mut report = RebuildReport {
        n_items: catalog.len() as u32,
        ..RebuildReport::default()
    };
    let mut triples: Vec<(u32, u32, f32)> = Vec::new();
    // Per dense user, each item with its latest usable event (Unix seconds), for the recency
    // choice; dropped with the triples when this function returns.
    let mut timelines: Vec<Vec<(u32, i64)>> = Vec::new();
    let mut after: Option<SubjectKey> = None;
    loop {
        let subjects = store.subjects_with_events(after.as_ref(), SUBJECTS_PAGE_LEN)?;
        let Some(last) = subjects.last().copied() else {
            break;
        };
        for subject in &subjects {
            report.subjects_checked += 1;
            let facts = store.subject(subject)?.map(|r| r.facts).unwrap_or_default();
            let consent_state = consent::derive(policy, &facts, &store.consent_records(subject)?);
            if !personalization_allowed(policy, &consent_state) {
                report.subjects_without_consent += 1;
                continue;
            }
            let feed = PersonalizationFeed::new(policy, &consent_state, now);
            let mut strongest: HashMap<u32, f32> = HashMap::new();
            let mut latest: HashMap<u32, i64> = HashMap::new();
            for event in store.all_events(subject)? {
                let (Some(item), Some(interaction)) = (
                    event.item_id.as_deref().and_then(|id| index_of.get(id)),
                    event.interaction,
                ) else {
                    continue;
                };
                let occurred_at = event.occurred_at;
                if !feed.admits_parts(&event.purposes, occurred_at, event.expires_at) {
                    continue;
                }
                let weight = strongest.entry(*item).or_insert(0.0);
                *weight = weight.max(interaction_weight(interaction));
                let at_s = latest.entry(*item).or_insert(i64::MIN);
                *at_s = (*at_s).max(occurred_at.as_millis() / 1000);
            }
            if strongest.is_empty() {
                continue;
            }
            let user = report.subjects_used as u32;
            report.subjects_used += 1;
            let mut items: Vec<(u32, f32)> = strongest.into_iter().collect();
            items.sort_by_key(|&(item, _)| item);
            let mut timeline: Vec<(u32, i64)> = latest.into_iter().collect();
            timeline.sort_unstable_by_key(|&(item, at)| (at, item));
            timelines.push(timeline);
            triples.extend(items.into_iter().map(|(item, weight)| (user, item, weight)));
        }
        after = Some(last);
    }
    report.n_interactions = triples.len() as u64;

    let n_items = catalog.len() as u32;
    let n_users = report.subjects_used as u32;
    let to_store_error = |e: candor_recsys::RecsysError| StoreError::Other(e.to_string());
    let interactions = Interactions::from_triples(n_users, n_items, triples.iter().copied())
        .map_err(to_store_error)?;
    let knn = ItemKnn::train(&interactions, KnnConfig::default());
    let popularity = Popularity::from_interactions(&interactions);
    let ease = train_ease(&interactions, &triples, n_users, n_items);
    report.ease_items = ease.as_ref().map_or(0, |m| m.n_modelled_items() as u32);
    let recency = choose_serving_recency(n_items, &timelines, ease.as_ref(), &knn);
    let models = Models {
        built_at: Some(now),
        generation,
        catalog,
        index_of,
        categories: ItemCategories::new(per_item),
        category_names,
        not_for_minors,
        not_for_self_excluded,
        ease,
        knn,
        popularity,
        recency,
        discounts: Default::default(),
    };
    Ok((models, report))
}

/// The recency weighting for serving, chosen on the most recent 20% of each person's
/// interactions (the question serving answers) with the model that will serve: a second EASE
/// fit on the rest, or item-kNN when EASE is not served.
fn choose_serving_recency(
    n_items: u32,
    timelines: &[Vec<(u32, i64)>],
    ease: Option<&EaseModel>,
    knn: &ItemKnn,
) -> Recency {
    let grid = Recency::grid();
    let slice = ValidationSlice::Recent;
    match ease {
        Some(served) => {
            choose_recency(n_items, timelines, &grid, slice, |fit| {
                let triples: Vec<(u32, u32, f32)> =
                    fit.iter().map(|e| (e.user, e.item, e.weight)).collect();
                train_ease(fit, &triples, fit.n_users(), n_items)
                    // A fit that fails on the slice validates the served model instead.
                    .unwrap_or_else(|| served.clone())
            })
            .chosen
        }
        None => {
            choose_recency(n_items, timelines, &grid, slice, |fit| {
                ItemKnn::train(fit, knn.config())
            })
            .chosen
        }
    }
}

/// EASE over the [`EASE_ITEMS_MAX`] items with the most users. A failure is logged and
/// serving falls back to item-kNN: a missing model must not stop recommendations.
fn train_ease(
    interactions: &Interactions,
    triples: &[(u32, u32, f32)],
    n_users: u32,
    n_items: u32,
) -> Option<EaseModel> {
    if interactions.is_empty() {
        return None;
    }
    let counts = interactions.item_user_counts();
    let mut by_count: Vec<u32> = (0..n_items).filter(|&i| counts[i as usize] > 0).collect();
    let capped;
    let input = if by_count.len() > EASE_ITEMS_MAX {
        by_count.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let mut kept = vec![false; n_items as usize];
        for &item in &by_count[..EASE_ITEMS_MAX] {
            kept[item as usize] = true;
        }
        capped = Interactions::from_triples(
            n_users,
            n_items,
            triples
                .iter()
                .copied()
                .filter(|&(_, item, _)| kept[item as usize]),
        )
        .ok()?;
        &capped
    } else {
        interactions
    };
    let config = EaseConfig {
        // A shop's catalog is small next to MovieLens' and every item a consenting person
        // engaged with is worth modelling; the cap above bounds the cost instead.
        min_item_count: 1,
        // Training shares the machine with serving.
        threads: 1,
        ..EaseConfig::default()
    };
    match EaseModel::train(input, &config) {
        Ok(model) => Some(model),
        Err(e) => {
            tracing::error!(error = %e, "EASE training failed; serving item-kNN instead");
            None
        }
    }
}

fn read_catalog(store: &dyn Store) -> StoreResult<Vec<CatalogItem>> {
    let mut catalog = Vec::new();
    let mut after = None;
    loop {
        let page = store.items(PageRequest {
            after,
            limit: PAGE_LEN_MAX,
        })?;
        catalog.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(catalog),
        }
    }
}

/// Tells every instance that a person's data must leave the shared models (a withdrawal, a
/// removal from history, an erasure): bumps the store's generation, which the others see
/// within [`GENERATION_POLL`], and wakes this instance's loop at once. A failure to bump is
/// logged; the timer still rebuilds.
pub async fn invalidate(state: &App) {
    if let Err(e) = state
        .blocking(|store| store.bump_generation(MODELS_GENERATION))
        .await
    {
        tracing::warn!(error = %e, "could not record that the models are stale");
    }
    state.models.mark_stale();
}

/// Waits until the store's generation moves past `built`, polling every [`GENERATION_POLL`].
async fn generation_moved(state: &App, built: i64) {
    loop {
        tokio::time::sleep(GENERATION_POLL).await;
        let now = state
            .blocking(|store| store.generation(MODELS_GENERATION))
            .await;
        if now.is_ok_and(|g| g > built) {
            return;
        }
    }
}

/// Rebuilds at start, every [`MODEL_REBUILD_INTERVAL`], and soon after [`invalidate`] on any
/// instance; never more often than [`MODEL_REBUILD_GAP_MIN`]. Runs until the task is dropped.
pub async fn model_loop(state: App) {
    loop {
        let worker = state.clone();
        match tokio::task::spawn_blocking(move || rebuild_once(&worker)).await {
            Ok(Ok(report)) => tracing::info!(
                n_items = report.n_items,
                subjects_used = report.subjects_used,
                n_interactions = report.n_interactions,
                ease_items = report.ease_items,
                "recommendation models rebuilt"
            ),
            Ok(Err(e)) => tracing::warn!(error = %e, "recommendation models not rebuilt"),
            Err(e) => tracing::error!(error = %e, "recommendation model rebuild panicked"),
        }
        tokio::time::sleep(MODEL_REBUILD_GAP_MIN).await;
        // Whichever comes first: the timer, a request from this instance, or a bump of the
        // generation by any instance.
        let built = state.models.current().generation;
        let _ = tokio::time::timeout(
            MODEL_REBUILD_INTERVAL.saturating_sub(MODEL_REBUILD_GAP_MIN),
            async {
                tokio::select! {
                    () = state.models.stale.notified() => {}
                    () = generation_moved(&state, built) => {}
                }
            },
        )
        .await;
    }
}

/// How often buffered exposures are written: one transaction per interval instead of one
/// fsync per recommendation request.
pub const EXPOSURE_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Most exposures held in memory; beyond this the oldest are dropped (and logged), so a store
/// outage cannot grow the buffer without bound.
pub const EXPOSURES_BUFFERED_MAX: usize = 100_000;

/// Runs `erase` with no exposure flush in flight, dropping the person's buffered exposures
/// before and remembering them after, so no exposure of theirs is written after the erasure
/// (on this instance; another instance sharing the database may still hold some in its
/// buffer for up to [`EXPOSURE_FLUSH_INTERVAL`]). Blocking.
pub fn erasing<T>(state: &App, key: SubjectKey, erase: impl FnOnce() -> T) -> T {
    let _flush = state
        .exposure_flush
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    state.erased.remember(key);
    state
        .exposures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|e| e.subject != key);
    erase()
}

/// Queues what one list showed, for the fairness audit and frequency rules.
pub fn buffer_exposures(state: &App, mut exposures: Vec<candor_store::Exposure>) {
    let erased = state.erased.recent();
    if !erased.is_empty() {
        exposures.retain(|e| !erased.contains(&e.subject));
    }
    let mut buf = state.exposures.lock().unwrap_or_else(|e| e.into_inner());
    buf.extend(exposures);
    if buf.len() > EXPOSURES_BUFFERED_MAX {
        let excess = buf.len() - EXPOSURES_BUFFERED_MAX;
        buf.drain(..excess);
        tracing::warn!(
            dropped = excess,
            "exposure buffer full; oldest exposures dropped"
        );
    }
}

/// Writes every buffered exposure in one transaction. Blocking. On failure they are put back.
pub fn flush_exposures(state: &App) -> StoreResult<usize> {
    // Held from taking the batch to writing it, so an erasure never runs in between. A std
    // mutex on a blocking thread: the store call inside is synchronous.
    let _flush = state
        .exposure_flush
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let batch = std::mem::take(&mut *state.exposures.lock().unwrap_or_else(|e| e.into_inner()));
    if batch.is_empty() {
        return Ok(0);
    }
    match state.store.record_exposures(&batch) {
        Ok(()) => Ok(batch.len()),
        Err(e) => {
            let mut buf = state.exposures.lock().unwrap_or_else(|e| e.into_inner());
            let newer = std::mem::replace(&mut *buf, batch);
            buf.extend(newer);
            Err(e)
        }
    }
}

/// Buffered exposures past which a flush starts before the interval is up: under heavy
/// serving the buffer would otherwise fill faster than one flush a second empties it, and the
/// oldest exposures would be dropped.
pub const EXPOSURES_FLUSH_EARLY: usize = EXPOSURES_BUFFERED_MAX / 4;
const _: () = assert!(EXPOSURES_FLUSH_EARLY > 0 && EXPOSURES_FLUSH_EARLY < EXPOSURES_BUFFERED_MAX);
/// How often the flush loop looks at the buffer while it waits.
const EXPOSURE_FLUSH_POLL: Duration = Duration::from_millis(50);

/// Whether to flush now, with `buffered` exposures waiting and `waited` since the last flush.
pub fn exposure_flush_due(buffered: usize, waited: Duration) -> bool {
    buffered >= EXPOSURES_FLUSH_EARLY || (buffered > 0 && waited >= EXPOSURE_FLUSH_INTERVAL)
}

/// Flushes exposures at least every [`EXPOSURE_FLUSH_INTERVAL`], and sooner once
/// [`EXPOSURES_FLUSH_EARLY`] are waiting, for as long as the server runs.
pub async fn exposure_loop(state: App) {
    loop {
        let since = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(EXPOSURE_FLUSH_POLL).await;
            let buffered = state
                .exposures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len();
            if exposure_flush_due(buffered, since.elapsed()) {
                break;
            }
        }
        let worker = state.clone();
        match tokio::task::spawn_blocking(move || flush_exposures(&worker)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "exposures not written yet; will retry"),
            Err(e) => tracing::error!(error = %e, "exposure flush panicked"),
        }
    }
}
