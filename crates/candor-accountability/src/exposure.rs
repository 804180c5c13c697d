//! Item-side exposure: who gets shown. Recommendations can be unfair to the people *behind*
//! the items (small providers, the long tail) as well as to the people receiving them; these
//! measures make that visible.
//!
//! Exposures of items that are not in the catalog (removed since, or a caller bug) are counted
//! in [`ItemExposureReport::n_exposures_outside_catalog`] and left out of every share, so the
//! shares always sum to 1 over the catalog.

use std::collections::{BTreeMap, BTreeSet};

/// One catalog item as the exposure measures need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogItem<'a> {
    /// The item id.
    pub id: &'a str,
    /// Who supplies it (seller, brand, publisher).
    pub provider: &'a str,
    /// Its popularity: interactions over the period the caller chose.
    pub popularity: u64,
}

/// How often each item was shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposureCounts(BTreeMap<String, u64>);

impl ExposureCounts {
    /// No exposures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one exposure per item id given (a log of shown items).
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        Self::from_counts(items.into_iter().map(|id| (id, 1)))
    }

    /// Sums `(item id, exposures)` pairs; an id may appear more than once.
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut out = Self::new();
        for (id, n) in counts {
            out.add(id, n);
        }
        out
    }

    /// Adds `n` exposures of `id`.
    pub fn add(&mut self, id: &str, n: u64) {
        if n > 0 {
            *self.0.entry(id.to_owned()).or_default() += n;
        }
    }

    /// Exposures of one item.
    pub fn get(&self, id: &str) -> u64 {
        self.0.get(id).copied().unwrap_or(0)
    }

    /// All exposures.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// A provider's share of exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderShare {
    /// The provider.
    pub provider: String,
    /// Items it has in the catalog.
    pub n_items: u64,
    /// Exposures of its items.
    pub n_exposures: u64,
    /// `n_exposures` over all in-catalog exposures; `None` when nothing was exposed.
    pub share: Option<f64>,
}

/// Exposure per provider, largest share first (then by name), including providers that got
/// nothing: a provider at zero is the finding, not noise to drop.
pub fn exposure_by_provider(
    catalog: &[CatalogItem<'_>],
    exposures: &ExposureCounts,
) -> Vec<ProviderShare> {
    let mut by_provider: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for item in dedup(catalog) {
        let entry = by_provider.entry(item.provider).or_default();
        entry.0 += 1;
        entry.1 += exposures.get(item.id);
    }
    let total: u64 = by_provider.values().map(|(_, e)| e).sum();
    let mut out: Vec<ProviderShare> = by_provider
        .into_iter()
        .map(|(provider, (n_items, n_exposures))| ProviderShare {
            provider: provider.to_owned(),
            n_items,
            n_exposures,
            share: share(n_exposures, total),
        })
        .collect();
    out.sort_by(|a, b| {
        b.n_exposures
            .cmp(&a.n_exposures)
            .then_with(|| a.provider.cmp(&b.provider))
    });
    out
}

/// The catalog once per id (first occurrence wins), so a duplicated row cannot double-count.
fn dedup<'c, 'a>(catalog: &'c [CatalogItem<'a>]) -> impl Iterator<Item = &'c CatalogItem<'a>> {
    let mut seen = BTreeSet::new();
    catalog.iter().filter(move |item| seen.insert(item.id))
}

fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 / total as f64)
}

/// Number of popularity deciles.
pub const N_DECILES: usize = 10;

/// One popularity decile of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct DecileExposure {
    /// 1 holds the most popular tenth of the catalog, 10 the least popular.
    pub decile: u8,
    /// Catalog items in this decile (0 for some deciles when the catalog has fewer than ten
    /// items).
    pub n_items: u64,
    /// Exposures of those items.
    pub n_exposures: u64,
    /// `n_exposures` over all in-catalog exposures; `None` when nothing was exposed.
    pub share: Option<f64>,
}

/// How exposure spreads over the catalog's popularity deciles.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityExposure {
    /// Ten deciles, most popular first.
    pub deciles: Vec<DecileExposure>,
    /// Share of exposure going to the most popular tenth; a fair share would be about 0.1.
    pub head_share: Option<f64>,
    /// Mean popularity of what was shown, weighted by exposures.
    pub mean_exposed_popularity: Option<f64>,
    /// Mean popularity of the catalog.
    pub mean_catalog_popularity: Option<f64>,
    /// `mean_exposed_popularity / mean_catalog_popularity`: above 1 the recommendations lean
    /// toward popular items. `None` when either side is undefined or the catalog's mean is 0.
    pub popularity_lift: Option<f64>,
}

/// Exposure by popularity decile. Items are ranked by popularity, most popular first, ties by
/// id so the split is deterministic; the item at rank `r` of `n` goes to decile
/// `1 + 10·r / n`.
pub fn exposure_by_popularity(
    catalog: &[CatalogItem<'_>],
    exposures: &ExposureCounts,
) -> PopularityExposure {
    let mut items: Vec<&CatalogItem<'_>> = dedup(catalog).collect();
    items.sort_by(|a, b| b.popularity.cmp(&a.popularity).then(a.id.cmp(b.id)));
    let n = items.len();
    let mut counts = [(0u64, 0u64); N_DECILES];
    let mut weighted_popularity = 0f64;
    for (rank, item) in items.iter().enumerate() {
        let decile = rank * N_DECILES / n;
        let exposed = exposures.get(item.id);
        counts[decile].0 += 1;
        counts[decile].1 += exposed;
        weighted_popularity += exposed as f64 * item.popularity as f64;
    }
    let total: u64 = counts.iter().map(|(_, e)| e).sum();
    let deciles: Vec<DecileExposure> = counts
        .iter()
        .zip(1u8..)
        .map(|(&(n_items, n_exposures), decile)| DecileExposure {
            decile,
            n_items,
            n_exposures,
            share: share(n_exposures, total),
        })
        .collect();
    let mean_exposed_popularity = (total > 0).then(|| weighted_popularity / total as f64);
    let mean_catalog_popularity =
        (n > 0).then(|| items.iter().map(|i| i.popularity as f64).sum::<f64>() / n as f64);
    let popularity_lift = match (mean_exposed_popularity, mean_catalog_popularity) {
        (Some(exposed), Some(catalog)) if catalog > 0.0 => Some(exposed / catalog),
        _ => None,
    };
    PopularityExposure {
        head_share: deciles[0].share,
        deciles,
        mean_exposed_popularity,
        mean_catalog_popularity,
        popularity_lift,
    }
}

/// Distinct catalog items exposed at least once, over the catalog size; `None` for an empty
/// catalog.
pub fn catalog_coverage(catalog: &[CatalogItem<'_>], exposures: &ExposureCounts) -> Option<f64> {
    let (n, n_exposed) = dedup(catalog).fold((0u64, 0u64), |(n, e), item| {
        (n + 1, e + u64::from(exposures.get(item.id) > 0))
    });
    share(n_exposed, n)
}

/// Gini coefficient of exposure over the catalog, unexposed items included: 0 when every item
/// is shown equally often, approaching 1 when one item gets everything. `None` for an empty
/// catalog or when nothing was exposed.
pub fn exposure_gini(catalog: &[CatalogItem<'_>], exposures: &ExposureCounts) -> Option<f64> {
    let mut values: Vec<u64> = dedup(catalog).map(|item| exposures.get(item.id)).collect();
    gini(&mut values)
}

/// Gini coefficient of non-negative counts, sorted in place. `None` for no values or an
/// all-zero input, where inequality is undefined.
pub fn gini(values: &mut [u64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len() as f64;
    let total: f64 = values.iter().map(|&v| v as f64).sum();
    if values.is_empty() || total <= 0.0 {
        return None;
    }
    // With values ascending and ranks i = 1..=n:
    // G = Σ (2i − n − 1)·x_i / (n · Σ x_i).
    let weighted: f64 = values
        .iter()
        .zip(1u64..)
        .map(|(&v, i)| (2.0 * i as f64 - n - 1.0) * v as f64)
        .sum();
    Some(weighted / (n * total))
}

/// All item-side measures for one period or slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemExposureReport {
    /// Distinct catalog items.
    pub n_catalog_items: u64,
    /// Exposures of catalog items.
    pub n_exposures: u64,
    /// Exposures of items not in the catalog, left out of the shares.
    pub n_exposures_outside_catalog: u64,
    /// [`catalog_coverage`].
    pub coverage: Option<f64>,
    /// [`exposure_gini`].
    pub gini: Option<f64>,
    /// [`exposure_by_provider`].
    pub providers: Vec<ProviderShare>,
    /// [`exposure_by_popularity`].
    pub popularity: PopularityExposure,
}

/// Computes every item-side measure.
pub fn item_exposure_report(
    catalog: &[CatalogItem<'_>],
    exposures: &ExposureCounts,
) -> ItemExposureReport {
    let ids: BTreeSet<&str> = catalog.iter().map(|item| item.id).collect();
    let n_exposures: u64 = ids.iter().map(|id| exposures.get(id)).sum();
    ItemExposureReport {
        n_catalog_items: ids.len() as u64,
        n_exposures,
        n_exposures_outside_catalog: exposures.total() - n_exposures,
        coverage: catalog_coverage(catalog, exposures),
        gini: exposure_gini(catalog, exposures),
        providers: exposure_by_provider(catalog, exposures),
        popularity: exposure_by_popularity(catalog, exposures),
    }
}
