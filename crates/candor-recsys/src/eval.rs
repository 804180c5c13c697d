use std::collections::HashSet;

use crate::{Interactions, ItemCategories, Scorer, jaccard_distance, top_n};

pub use crate::movielens::write_recs_csv;

/// Cut-offs of the offline evaluation; the default is the public protocol's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalConfig {
    /// Cut-off of NDCG, precision, coverage, diversity and popularity (10).
    pub k: usize,
    /// Cut-off of recall (20).
    pub recall_k: usize,
    /// How many items to recommend and return per user (50), at least both cut-offs.
    pub n_recs: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            k: 10,
            recall_k: 20,
            n_recs: 50,
        }
    }
}

/// Offline metrics, each averaged over users with at least one held-out item.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// The cut-offs used.
    pub config: EvalConfig,
    /// How many users were evaluated.
    pub n_users: usize,
    /// NDCG@k with binary relevance.
    pub ndcg: f64,
    /// Hits in the top `recall_k` over `min(|held out|, recall_k)`.
    pub recall: f64,
    /// Hits in the top k over k.
    pub precision: f64,
    /// Share of the catalog appearing in anyone's top k.
    pub coverage: f64,
    /// Mean pairwise Jaccard distance of genre sets within a top k (over lists of 2 or more).
    pub intra_list_diversity: f64,
    /// Mean popularity percentile (0 = least, near 1 = most popular in training) over all
    /// recommended top-k items.
    pub popularity_percentile: f64,
}

/// The metrics and the lists they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOutcome {
    /// The metrics.
    pub report: EvalReport,
    /// For every evaluated user index (ascending), its top `n_recs` items, best first.
    pub recommendations: Vec<(u32, Vec<u32>)>,
}

/// Recommends the top `config.n_recs` items to every user with held-out items, excluding their
/// training items, and scores the lists against `test` exactly as the public evaluation script
/// does (the catalog size for coverage and percentiles is `train.n_items()`).
pub fn evaluate(
    train: &Interactions,
    test: &Interactions,
    item_genres: &ItemCategories,
    config: &EvalConfig,
    model: &impl Scorer,
) -> EvalOutcome {
    let n_recs = config.n_recs.max(config.k).max(config.recall_k);
    let mut scores = vec![0.0; model.n_items() as usize];
    evaluate_lists(train, test, item_genres, config, |_, history| {
        model.score_into(history, &mut scores);
        top_n(&scores, history, n_recs)
            .into_iter()
            .map(|(item, _)| item)
            .collect()
    })
}

/// [`evaluate`] for lists made any way (a weighted history, a re-ranked list): `list(user,
/// history)` gives the user's list, best first, for their sorted training items; it should
/// leave those out and be at least `config.n_recs` long where it can.
pub fn evaluate_lists(
    train: &Interactions,
    test: &Interactions,
    item_genres: &ItemCategories,
    config: &EvalConfig,
    mut list: impl FnMut(u32, &[u32]) -> Vec<u32>,
) -> EvalOutcome {
    let n_items = train.n_items() as usize;
    let histories = train.user_histories();
    let truths = test.user_histories();
    let percentile = popularity_percentiles(train);

    let mut recommendations = Vec::new();
    let (mut ndcg, mut recall, mut precision, mut diversity, mut popularity) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut covered = HashSet::new();
    for (user, truth) in truths.iter().enumerate() {
        if truth.is_empty() {
            continue;
        }
        let history = &histories[user];
        let ranked = list(user as u32, history);
        let hit = |item: &u32| truth.binary_search(item).is_ok();
        let top = &ranked[..ranked.len().min(config.k)];

        let dcg: f64 = top
            .iter()
            .enumerate()
            .filter(|(_, item)| hit(item))
            .map(|(position, _)| discount(position))
            .sum();
        let idcg: f64 = (0..config.k.min(truth.len())).map(discount).sum();
        ndcg.push(if idcg > 0.0 { dcg / idcg } else { 0.0 });
        let recall_hits = ranked[..ranked.len().min(config.recall_k)]
            .iter()
            .filter(|i| hit(i))
            .count();
        recall.push(recall_hits as f64 / truth.len().min(config.recall_k) as f64);
        precision.push(top.iter().filter(|i| hit(i)).count() as f64 / config.k as f64);
        covered.extend(top.iter().copied());
        if top.len() >= 2 {
            let mut sum = 0.0;
            let mut pairs = 0;
            for (x, &a) in top.iter().enumerate() {
                for &b in &top[x + 1..] {
                    sum += jaccard_distance(item_genres.of(a), item_genres.of(b));
                    pairs += 1;
                }
            }
            diversity.push(sum / pairs as f64);
        }
        popularity.extend(top.iter().map(|&item| percentile[item as usize]));
        recommendations.push((user as u32, ranked));
    }
    let report = EvalReport {
        config: *config,
        n_users: ndcg.len(),
        ndcg: mean(&ndcg),
        recall: mean(&recall),
        precision: mean(&precision),
        coverage: covered.len() as f64 / n_items.max(1) as f64,
        intra_list_diversity: mean(&diversity),
        popularity_percentile: mean(&popularity),
    };
    EvalOutcome {
        report,
        recommendations,
    }
}

fn discount(position: usize) -> f64 {
    1.0 / ((position + 2) as f64).log2()
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Each item's rank by training interaction count (ascending, ties by index) over the catalog
/// size, as the script computes it.
fn popularity_percentiles(train: &Interactions) -> Vec<f64> {
    let n_items = train.n_items() as usize;
    let mut counts = vec![0u32; n_items];
    for entry in train.iter() {
        counts[entry.item as usize] += 1;
    }
    let mut order: Vec<u32> = (0..n_items as u32).collect();
    order.sort_by_key(|&item| counts[item as usize]);
    let mut percentile = vec![0.0; n_items];
    for (rank, &item) in order.iter().enumerate() {
        percentile[item as usize] = rank as f64 / n_items as f64;
    }
    percentile
}
