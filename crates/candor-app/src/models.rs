//! The caches the application keeps between requests for recommendations: the current
//! [`Models`] snapshot in its [`ModelCell`], and the people erased here lately ([`Erased`]).
//! Building and serving them is `recommend`'s and `serving`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use candor_recsys::{
    EaseModel, Interactions, ItemCategories, ItemKnn, KnnConfig, Popularity, PopularityDiscount,
    Recency,
};
use candor_store::CatalogItem;

/// Catalog item ids to dense indices.
pub(crate) type ItemIndex = HashMap<String, u32, foldhash::fast::RandomState>;

/// One trained snapshot of every model, with the catalog it was built over.
#[derive(Debug)]
pub struct Models {
    /// When it was built; `None` for the empty snapshot the server starts with.
    pub built_at: Option<Timestamp>,
    /// The store's `models` generation read before training: a bump after it (by any
    /// instance) means this snapshot may hold data that must go.
    pub generation: i64,
    pub(crate) catalog: Vec<CatalogItem>,
    /// Each item id's dense index. Serving looks up every event of a history here, so the
    /// hasher is foldhash, seeded per process, rather than SipHash: the keys are the
    /// operator's catalog, not something a requester can fill.
    pub(crate) index_of: ItemIndex,
    /// Category ids per item, into `category_names`.
    pub categories: ItemCategories,
    pub(crate) category_names: Vec<String>,
    /// Whether each item belongs to a restricted category the policy keeps from minors.
    pub(crate) not_for_minors: Vec<bool>,
    /// Whether each item belongs to a restricted category the policy keeps from people who
    /// excluded themselves (gambling, alcohol...).
    pub(crate) not_for_self_excluded: Vec<bool>,
    /// `None` when no item had enough data, or training failed (logged).
    pub ease: Option<EaseModel>,
    pub knn: ItemKnn,
    pub popularity: Popularity,
    /// How a person's history is weighted by recency, chosen at rebuild on the most recent
    /// interactions of the people trained on (no decay when none does better).
    pub recency: Recency,
    /// The popularity discounts asked for so far, one per β: serving discounts every request by
    /// the β of its diversity, and the powers are the same for all of them.
    pub(crate) discounts: RwLock<Vec<Arc<PopularityDiscount>>>,
}

/// Most popularity discounts one snapshot keeps (diversities are few in practice: the policy's
/// default and what experiments set); past this they are computed per request.
const DISCOUNTS_KEPT_MAX: usize = 16;

impl Models {
    /// The snapshot before the first rebuild: no items, so answers are empty, never wrong.
    pub fn empty() -> Models {
        Models {
            built_at: None,
            generation: -1,
            catalog: Vec::new(),
            index_of: ItemIndex::default(),
            categories: ItemCategories::default(),
            category_names: Vec::new(),
            not_for_minors: Vec::new(),
            not_for_self_excluded: Vec::new(),
            ease: None,
            knn: ItemKnn::new(0, KnnConfig::default()),
            popularity: Popularity::from_interactions(&Interactions::new(0, 0)),
            recency: Recency::NONE,
            discounts: RwLock::default(),
        }
    }

    /// The popularity discount by `beta`, computed on first use and kept with the snapshot.
    pub fn popularity_discount(&self, beta: f32) -> Arc<PopularityDiscount> {
        let kept = |list: &[Arc<PopularityDiscount>]| {
            list.iter()
                .find(|d| d.beta().to_bits() == beta.to_bits())
                .cloned()
        };
        if let Some(found) = kept(&self.discounts.read().unwrap_or_else(|e| e.into_inner())[..]) {
            return found;
        }
        let discount = Arc::new(PopularityDiscount::new(self.popularity.scores(), beta));
        let mut list = self.discounts.write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = kept(&list[..]) {
            return found;
        }
        if list.len() < DISCOUNTS_KEPT_MAX {
            list.push(Arc::clone(&discount));
        }
        discount
    }

    /// The dense index of a catalog item id.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.index_of.get(id).copied()
    }

    /// The catalog item at a dense index.
    pub fn item(&self, index: u32) -> &CatalogItem {
        &self.catalog[index as usize]
    }

    /// The number of catalog items.
    pub fn n_items(&self) -> u32 {
        self.catalog.len() as u32
    }

    /// The name of a category id.
    pub fn category_name(&self, category: u32) -> &str {
        &self.category_names[category as usize]
    }

    /// Whether minors must never be shown the item.
    pub fn not_for_minors(&self, index: u32) -> bool {
        self.not_for_minors[index as usize]
    }

    /// Whether people who excluded themselves must never be shown the item.
    pub fn not_for_self_excluded(&self, index: u32) -> bool {
        self.not_for_self_excluded[index as usize]
    }

    /// Whether the item is in one of `categories` (by name).
    pub fn in_any_category(
        &self,
        index: u32,
        categories: &std::collections::BTreeSet<String>,
    ) -> bool {
        !categories.is_empty()
            && self
                .categories
                .of(index)
                .iter()
                .any(|&c| categories.contains(self.category_name(c)))
    }
}

/// The current snapshot, swapped whole by each rebuild.
///
/// A `std::sync::RwLock` around an `Arc`, not a Tokio lock: it is held only to clone or replace
/// the pointer, never across an `.await` or while training, so readers never wait on a rebuild
/// and a request keeps the snapshot it started with even if a swap happens meanwhile.
pub struct ModelCell {
    current: RwLock<Arc<Models>>,
    /// Serializes rebuilds (held on a blocking thread for the whole rebuild), so two rebuilds
    /// cannot finish out of order and swap an older snapshot over a newer one.
    pub(crate) rebuilding: Mutex<()>,
    /// Wakes [`model_loop`] early.
    pub(crate) stale: tokio::sync::Notify,
}

impl Default for ModelCell {
    fn default() -> Self {
        ModelCell {
            current: RwLock::new(Arc::new(Models::empty())),
            rebuilding: Mutex::new(()),
            stale: tokio::sync::Notify::new(),
        }
    }
}

impl std::fmt::Debug for ModelCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelCell")
    }
}

impl ModelCell {
    /// The snapshot to serve one request from.
    pub fn current(&self) -> Arc<Models> {
        // A poisoned lock only means a thread panicked while swapping a pointer; the pointer
        // itself is always whole, so keep serving it.
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn swap(&self, models: Models) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(models);
    }

    /// Asks this instance's [`model_loop`] to rebuild soon. Use [`invalidate`] to tell every
    /// instance.
    pub fn mark_stale(&self) {
        self.stale.notify_one();
    }
}

/// How long this instance remembers a person it erased, to drop exposures that requests
/// begun before the erasure buffer after it.
pub const ERASED_REMEMBERED: Duration = Duration::from_secs(60);
/// Most erased people remembered at once; the oldest are forgotten first.
const ERASED_REMEMBERED_MAX: usize = 10_000;

/// What the exposure buffer must drop: people erased here in the last
/// [`ERASED_REMEMBERED`]. A std mutex, held only to read or update the list.
#[derive(Default)]
pub struct Erased(std::sync::Mutex<std::collections::VecDeque<(std::time::Instant, SubjectKey)>>);

impl Erased {
    pub(crate) fn recent(&self) -> Vec<SubjectKey> {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while list
            .front()
            .is_some_and(|(at, _)| at.elapsed() > ERASED_REMEMBERED)
        {
            list.pop_front();
        }
        list.iter().map(|(_, k)| *k).collect()
    }

    pub(crate) fn remember(&self, key: SubjectKey) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() >= ERASED_REMEMBERED_MAX {
            list.pop_front();
        }
        list.push_back((std::time::Instant::now(), key));
    }
}
