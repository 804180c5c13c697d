use std::cmp::Ordering;

/// A model that scores every catalog item for a user's history.
pub trait Scorer {
    /// The catalog size: the length of every score vector.
    fn n_items(&self) -> u32;

    /// Overwrites `scores` (of length [`Scorer::n_items`]) with the score of every item for
    /// `history`. Items the model cannot recommend score `f32::NEG_INFINITY`; history items at
    /// or beyond `n_items` (added to the catalog after training) contribute nothing.
    fn score_into(&self, history: &[u32], scores: &mut [f32]);

    /// [`Scorer::score_into`] with a weight per history item (a recency weight, say): each
    /// item's terms are multiplied by its weight. A weight of 1.0 everywhere gives exactly the
    /// unweighted scores.
    fn score_weighted_into(&self, history: &[(u32, f32)], scores: &mut [f32]);

    /// The score of every item for `history`, as a new vector.
    fn score(&self, history: &[u32]) -> Vec<f32> {
        let mut scores = vec![0.0; self.n_items() as usize];
        self.score_into(history, &mut scores);
        scores
    }
}

/// A model whose score is a sum over the history: `score(i) = Σ_{j ∈ history} contribution(j, i)`,
/// accumulated in history order. Explanations of such a model are faithful by construction:
/// the terms shown to the person are the terms the score is made of.
pub trait AdditiveModel: Scorer {
    /// How much having `from` in the history adds to the score of `to`.
    fn contribution(&self, from: u32, to: u32) -> f32;
}

/// One history item's share in a recommendation ("Because you watched X").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contribution {
    /// The history item.
    pub item: u32,
    /// Its term in the recommended item's score.
    pub weight: f32,
}

/// A recommended item with the history items that put it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The recommended item.
    pub item: u32,
    /// Its score: exactly the sum of all contributions in history order.
    pub score: f32,
    /// The largest contributions, largest first.
    pub contributors: Vec<Contribution>,
    /// The sum of the contributions not listed, so that listed plus other add up to the score
    /// (up to floating-point rounding of the regrouping).
    pub other_contributions: f32,
}

/// The `n` best items of `scores`, best first, skipping `exclude` and items the model cannot
/// recommend. Ties go to the lower item index so that results are deterministic.
pub fn top_n(scores: &[f32], exclude: &[u32], n: usize) -> Vec<(u32, f32)> {
    let mut excluded = vec![false; scores.len()];
    for &item in exclude {
        if let Some(flag) = excluded.get_mut(item as usize) {
            *flag = true;
        }
    }
    let mut candidates: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|&(item, score)| !excluded[item] && score.is_finite())
        .map(|(item, &score)| (item as u32, score))
        .collect();
    if candidates.len() > n && n > 0 {
        candidates.select_nth_unstable_by(n - 1, better);
    }
    candidates.truncate(n);
    candidates.sort_unstable_by(better);
    candidates
}

/// Orders by score descending, then item index ascending.
fn better(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The top `n` items for `history` (excluding `exclude`, typically the history itself), each
/// with its `contributors_max` largest contributing history items.
///
/// The history is sorted and deduplicated first, and items outside the model's catalog are
/// dropped, so the score and its contributions are computed over the same terms in the same
/// order: the reported score is exactly the sum of the contributions.
pub fn recommend(
    model: &impl AdditiveModel,
    history: &[u32],
    exclude: &[u32],
    n: usize,
    contributors_max: usize,
) -> Vec<Recommendation> {
    let history = normalize_history(history, model.n_items());
    let scores = model.score(&history);
    top_n(&scores, exclude, n)
        .into_iter()
        .map(|(item, score)| {
            let explained = explained(model, &history, item, contributors_max);
            debug_assert!(
                explained.score == score,
                "explanation does not add up to the score"
            );
            explained
        })
        .collect()
}

/// The top `n` items for `history` with their scores, as [`recommend`] ranks them, without
/// explanations: when only a few of them will be shown, [`explain`] those.
pub fn recommend_scores(
    model: &impl AdditiveModel,
    history: &[u32],
    exclude: &[u32],
    n: usize,
) -> Vec<(u32, f32)> {
    let history = normalize_history(history, model.n_items());
    top_n(&model.score(&history), exclude, n)
}

/// [`recommend_scores`] over a weighted history (see [`crate::Recency`]): the terms of each
/// history item are multiplied by its weight. [`explain_weighted`] explains the result.
///
/// With `popularity_discount = Some((popularity, β))` the scores are discounted by
/// popularity before ranking ([`crate::discount_popularity`]), as re-ranking's candidates are.
pub fn recommend_scores_weighted(
    model: &impl AdditiveModel,
    history: &[(u32, f32)],
    exclude: &[u32],
    n: usize,
    popularity_discount: Option<(&[f32], f32)>,
) -> Vec<(u32, f32)> {
    let history = normalize_weighted_history(history, model.n_items());
    let mut scores = vec![0.0; model.n_items() as usize];
    model.score_weighted_into(&history, &mut scores);
    if let Some((popularity, beta)) = popularity_discount {
        discount_popularity(&mut scores, popularity, beta);
    }
    top_n(&scores, exclude, n)
}

/// [`explain`] over a weighted history: each contribution is the history item's weight times
/// its term, so the contributions still add up to the score [`recommend_scores_weighted`]
/// ranked by.
pub fn explain_weighted(
    model: &impl AdditiveModel,
    history: &[(u32, f32)],
    item: u32,
    contributors_max: usize,
) -> Recommendation {
    let history = normalize_weighted_history(history, model.n_items());
    let contributions = history
        .iter()
        .map(|&(from, weight)| Contribution {
            item: from,
            weight: weight * model.contribution(from, item),
        })
        .collect();
    summarized(contributions, item, contributors_max)
}

/// One item's score for `history` with its `contributors_max` largest contributing history
/// items: the entry [`recommend`] gives for it, with the same score to the last bit.
pub fn explain(
    model: &impl AdditiveModel,
    history: &[u32],
    item: u32,
    contributors_max: usize,
) -> Recommendation {
    let history = normalize_history(history, model.n_items());
    explained(model, &history, item, contributors_max)
}

/// [`explain`] over a normalized history. The scorer sums contributions in history order;
/// summing the same terms in the same order reproduces its score bit for bit, which is what
/// makes the explanation faithful rather than approximate.
fn explained(
    model: &impl AdditiveModel,
    history: &[u32],
    item: u32,
    contributors_max: usize,
) -> Recommendation {
    let contributions = history
        .iter()
        .map(|&from| Contribution {
            item: from,
            weight: model.contribution(from, item),
        })
        .collect();
    summarized(contributions, item, contributors_max)
}

/// The total of `contributions` in their order (the scorer's order), then the largest ones.
fn summarized(
    mut contributions: Vec<Contribution>,
    item: u32,
    contributors_max: usize,
) -> Recommendation {
    let total = contributions.iter().fold(0.0f32, |sum, c| sum + c.weight);
    contributions.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.item.cmp(&b.item)));
    let shown = contributions.len().min(contributors_max);
    let other_contributions = contributions[shown..].iter().map(|c| c.weight).sum();
    contributions.truncate(shown);
    Recommendation {
        item,
        score: total,
        contributors: contributions,
        other_contributions,
    }
}

/// Sorts, deduplicates and drops items outside the catalog.
pub(crate) fn normalize_history(history: &[u32], n_items: u32) -> Vec<u32> {
    let mut history: Vec<u32> = history.iter().copied().filter(|&i| i < n_items).collect();
    history.sort_unstable();
    history.dedup();
    history
}

/// Sorts by item, drops items outside the catalog and keeps the largest weight of an item
/// given twice.
pub(crate) fn normalize_weighted_history(history: &[(u32, f32)], n_items: u32) -> Vec<(u32, f32)> {
    let mut history: Vec<(u32, f32)> = history
        .iter()
        .copied()
        .filter(|&(i, w)| i < n_items && w.is_finite())
        .collect();
    history.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    history.dedup_by_key(|&mut (item, _)| item);
    history
}

/// Divides every positive score by `popularity^β` (popularity at least 1): among items the
/// model finds about as relevant, the less-watched one goes first, so lists reach more of the
/// catalog. Negative and unscorable items are left as they are.
pub fn discount_popularity(scores: &mut [f32], popularity: &[f32], beta: f32) {
    if beta <= 0.0 {
        return;
    }
    for (score, &p) in scores.iter_mut().zip(popularity) {
        if *score > 0.0 {
            *score /= p.max(1.0).powf(beta);
        }
    }
}
