use crate::explain::sorted;
use crate::{Interactions, ItemCategories, Scorer, top_n};

/// Non-personalized popularity: one score per item, the same for everyone.
///
/// It never looks at a profile, so it answers people who have not consented to
/// personalization, new visitors, and the "popular in this category" slots of re-ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    scores: Vec<f32>,
    /// Every item with a finite score, most popular first (ties to the lower index): the
    /// ranking [`Popularity::top_n`] walks instead of selecting over the catalog each time.
    order: Vec<u32>,
}

impl Popularity {
    /// All-time popularity: the number of distinct users per item.
    pub fn from_interactions(interactions: &Interactions) -> Self {
        Self::from_scores(
            interactions
                .item_user_counts()
                .into_iter()
                .map(|count| count as f32)
                .collect(),
        )
    }

    fn from_scores(scores: Vec<f32>) -> Self {
        let order = top_n(&scores, &[], scores.len())
            .into_iter()
            .map(|(item, _)| item)
            .collect();
        Self { scores, order }
    }

    /// Trending: every event `(item, timestamp_s)` counts `0.5^(age / half_life_s)`, where
    /// `age = now_s − timestamp_s`. The caller passes `now_s` so the result does not depend on
    /// when it is computed; events from the future (clock skew) count as new. Items at or beyond
    /// `n_items` are ignored.
    pub fn trending(
        n_items: u32,
        events: impl IntoIterator<Item = (u32, i64)>,
        now_s: i64,
        half_life_s: f64,
    ) -> Self {
        let mut scores = vec![0.0f64; n_items as usize];
        for (item, timestamp_s) in events {
            if let Some(score) = scores.get_mut(item as usize) {
                let age_s = now_s.saturating_sub(timestamp_s).max(0) as f64;
                *score += (-age_s / half_life_s * std::f64::consts::LN_2).exp();
            }
        }
        Self::from_scores(scores.into_iter().map(|s| s as f32).collect())
    }

    /// The popularity score of every item.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// The `n` most popular items, skipping `exclude` (in any order); ties go to the lower
    /// index. The ranking is computed once, so this walks it only as far as it must.
    pub fn top_n(&self, n: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
        let exclude = sorted(exclude);
        self.order
            .iter()
            .filter(|&&item| exclude.binary_search(&item).is_err())
            .take(n)
            .map(|&item| (item, self.scores[item as usize]))
            .collect()
    }

    /// The `n` most popular items of one category, skipping `exclude`.
    pub fn top_n_in_category(
        &self,
        category: u32,
        categories: &ItemCategories,
        n: usize,
        exclude: &[u32],
    ) -> Vec<(u32, f32)> {
        let in_category: Vec<f32> = self
            .scores
            .iter()
            .enumerate()
            .map(|(item, &score)| {
                if categories.of(item as u32).binary_search(&category).is_ok() {
                    score
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        top_n(&in_category, exclude, n)
    }
}

impl Scorer for Popularity {
    fn n_items(&self) -> u32 {
        self.scores.len() as u32
    }

    /// Ignores the history: popularity is the same for everyone.
    fn score_into(&self, _history: &[u32], scores: &mut [f32]) {
        scores.copy_from_slice(&self.scores);
    }

    /// Ignores the history and its weights.
    fn score_weighted_into(&self, _history: &[(u32, f32)], scores: &mut [f32]) {
        scores.copy_from_slice(&self.scores);
    }
}
