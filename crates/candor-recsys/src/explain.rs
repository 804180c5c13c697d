use std::cmp::Ordering;

/// A model that scores every catalog item for a user's history.
pub trait Scorer {
    /// The catalog size: the length of every score vector.
    fn n_items(&self) -> u32;

    /// Overwrites `scores` (of length [`Scorer::n_items`]) with the score of every item for
    /// `history`. Items the model cannot recommend score `f32::NEG_INFINITY`; history items at
    /// or beyond `n_items` (added to the catalog after training) contribute nothing.
    fn score_into(&self, history: &[u32], scores: &mut [f32]);

    /// The only items that can score other than `NEG_INFINITY`, ascending, when the model
    /// leaves some of the catalog out; `None` when any item may. Ranking then looks at these
    /// alone.
    fn scorable_items(&self) -> Option<&[u32]> {
        None
    }

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

/// The `n` best items of `scores`, best first, skipping `exclude` (in any order) and items the
/// model cannot recommend. Ties go to the lower item index so that results are deterministic.
///
/// One pass with a buffer of a few times `n`: once it fills, only the best `n` are kept and
/// later items must beat the worst of them to enter, so most items cost one comparison and
/// nothing the size of the catalog is allocated. Exclusions are walked in order beside the
/// items (copied and sorted first only when not already sorted).
pub fn top_n(scores: &[f32], exclude: &[u32], n: usize) -> Vec<(u32, f32)> {
    top_n_among(scores, 0..scores.len() as u32, exclude, n)
}

/// [`top_n`] looking only at `items` (ascending, each within `scores`): the rest of `scores` is
/// taken to be unscorable.
fn top_n_among(
    scores: &[f32],
    items: impl Iterator<Item = u32>,
    exclude: &[u32],
    n: usize,
) -> Vec<(u32, f32)> {
    if n == 0 {
        return Vec::new();
    }
    let exclude = sorted(exclude);
    let mut excluded = exclude.iter().copied().peekable();
    let buffer_len = (4 * n).max(64);
    let mut kept: Vec<(u32, f32)> = Vec::with_capacity(buffer_len);
    // The worst of the best `n` so far, once `n` have been kept through one selection: an item
    // seen later has a higher index, so it must score strictly more to rank before it.
    let mut bar: Option<f32> = None;
    for item in items {
        let score = scores[item as usize];
        while excluded.next_if(|&e| e < item).is_some() {}
        if excluded.next_if_eq(&item).is_some() {
            continue;
        }
        if !score.is_finite() || bar.is_some_and(|b| score.total_cmp(&b).is_le()) {
            continue;
        }
        kept.push((item, score));
        if kept.len() == buffer_len {
            kept.select_nth_unstable_by(n - 1, better);
            kept.truncate(n);
            bar = Some(kept[n - 1].1);
        }
    }
    if kept.len() > n {
        kept.select_nth_unstable_by(n - 1, better);
        kept.truncate(n);
    }
    kept.sort_unstable_by(better);
    kept
}

/// `items` in ascending order: as given when they already are, else a sorted copy.
pub(crate) fn sorted(items: &[u32]) -> std::borrow::Cow<'_, [u32]> {
    if items.is_sorted() {
        std::borrow::Cow::Borrowed(items)
    } else {
        let mut copy = items.to_vec();
        copy.sort_unstable();
        std::borrow::Cow::Owned(copy)
    }
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
/// With `popularity_discount` the scores are discounted by popularity before ranking
/// ([`PopularityDiscount`]), as re-ranking's candidates are. The scores are computed in a
/// buffer kept per thread, so a request allocates nothing the size of the catalog.
pub fn recommend_scores_weighted(
    model: &impl AdditiveModel,
    history: &[(u32, f32)],
    exclude: &[u32],
    n: usize,
    popularity_discount: Option<&PopularityDiscount>,
) -> Vec<(u32, f32)> {
    thread_local! {
        static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let history = normalize_weighted_history(history, model.n_items());
    SCORES.with_borrow_mut(|scores| {
        scores.resize(model.n_items() as usize, 0.0);
        model.score_weighted_into(&history, scores);
        match model.scorable_items() {
            Some(items) => {
                if let Some(discount) = popularity_discount {
                    discount.apply_to(scores, items);
                }
                top_n_among(scores, items.iter().copied(), exclude, n)
            }
            None => {
                if let Some(discount) = popularity_discount {
                    discount.apply(scores);
                }
                top_n(scores, exclude, n)
            }
        }
    })
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

/// The `contributors_max` largest contributions to the score of each of `items` for a weighted
/// history, largest first: the `contributors` [`explain_weighted`] gives each, with the history
/// normalized once for all of them. The largest terms are kept in a buffer of
/// `contributors_max` as the history is walked, so a long history costs one comparison per
/// term and nothing is collected or sorted.
pub fn top_contributions_weighted(
    model: &impl AdditiveModel,
    history: &[(u32, f32)],
    items: &[u32],
    contributors_max: usize,
) -> Vec<Vec<Contribution>> {
    let history = normalize_weighted_history(history, model.n_items());
    let kept_max = contributors_max.min(history.len());
    items
        .iter()
        .map(|&item| {
            let mut top: Vec<Contribution> = Vec::with_capacity(kept_max + 1);
            if kept_max == 0 {
                return top;
            }
            for &(from, weight) in &history {
                let term = Contribution {
                    item: from,
                    weight: weight * model.contribution(from, item),
                };
                if top.len() == kept_max
                    && larger_contribution(&term, &top[kept_max - 1]) != Ordering::Less
                {
                    continue;
                }
                let at = top.partition_point(|t| larger_contribution(t, &term) == Ordering::Less);
                top.insert(at, term);
                top.truncate(kept_max);
            }
            top
        })
        .collect()
}

/// Orders contributions by weight descending, then history item ascending.
fn larger_contribution(a: &Contribution, b: &Contribution) -> Ordering {
    b.weight.total_cmp(&a.weight).then(a.item.cmp(&b.item))
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
    contributions.sort_by(larger_contribution);
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
    PopularityDiscount::new(popularity, beta).apply(scores);
}

/// [`discount_popularity`] for one β with its divisors `popularity^β` computed once, so
/// serving, which discounts every request's scores by the same β, pays no power per item.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityDiscount {
    beta: f32,
    /// `max(popularity, 1)^β` per item; empty when β ≤ 0 (no discount).
    divisors: Vec<f32>,
}

impl PopularityDiscount {
    pub fn new(popularity: &[f32], beta: f32) -> Self {
        let divisors = if beta > 0.0 {
            popularity.iter().map(|p| p.max(1.0).powf(beta)).collect()
        } else {
            Vec::new()
        };
        Self { beta, divisors }
    }

    /// The β it discounts by.
    pub fn beta(&self) -> f32 {
        self.beta
    }

    /// Divides every positive score by its item's divisor.
    pub fn apply(&self, scores: &mut [f32]) {
        for (score, &d) in scores.iter_mut().zip(&self.divisors) {
            if *score > 0.0 {
                *score /= d;
            }
        }
    }

    /// [`PopularityDiscount::apply`] to the scores of `items` only.
    fn apply_to(&self, scores: &mut [f32], items: &[u32]) {
        if self.divisors.is_empty() {
            return;
        }
        for &item in items {
            let (Some(score), Some(&d)) = (
                scores.get_mut(item as usize),
                self.divisors.get(item as usize),
            ) else {
                continue;
            };
            if *score > 0.0 {
                *score /= d;
            }
        }
    }
}
