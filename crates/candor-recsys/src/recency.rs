//! Recency: how much each item of a person's history counts, by how long before their latest
//! interaction it happened, with the decay learned from the training data alone.

use crate::{Interactions, Scorer, top_n};

const DAY_S: f64 = 86_400.0;

/// The weight of a history item `age` before the person's latest interaction:
/// `floor + (1 − floor) · exp(−age / τ)`. Without a `τ` every item counts 1.
///
/// Ages are measured from the person's own latest interaction, not from the clock, so the
/// weighting is a pure function of the history: offline, it is the same whenever it runs; in
/// serving, someone returning after a month away is weighed as on the day they left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recency {
    /// The decay's time constant in days; `None` for no decay.
    pub tau_days: Option<f32>,
    /// Age counted in interactions instead of days (how many the person made since), when
    /// people engage in bursts and days tell little apart.
    pub by_position: bool,
    /// The weight an item keeps however old, in `[0, 1]`: old interests fade but still count.
    pub floor: f32,
}

impl Default for Recency {
    /// No decay: every history item counts 1, as a model without time.
    fn default() -> Self {
        Self::NONE
    }
}

impl Recency {
    /// Every history item counts 1.
    pub const NONE: Recency = Recency {
        tau_days: None,
        by_position: false,
        floor: 1.0,
    };

    /// The candidate settings [`choose_recency`] compares by default: none, and decays of 30
    /// days to 2 years, each with floors of 0, 0.1 and 0.3.
    pub fn grid() -> Vec<Recency> {
        let mut grid = vec![Recency::NONE];
        for tau_days in [30.0, 60.0, 90.0, 180.0, 365.0, 730.0] {
            for floor in [0.0, 0.1, 0.3] {
                grid.push(Recency {
                    tau_days: Some(tau_days),
                    by_position: false,
                    floor,
                });
            }
        }
        for tau in [5.0, 10.0, 15.0, 25.0, 50.0, 100.0, 200.0, 400.0] {
            for floor in [0.0, 0.1, 0.3] {
                grid.push(Recency {
                    tau_days: Some(tau),
                    by_position: true,
                    floor,
                });
            }
        }
        grid
    }

    /// The weight at `age` (days, or interactions when `by_position`).
    fn weight_of(&self, age: f64) -> f32 {
        match self.tau_days {
            None => 1.0,
            Some(tau) => {
                let decay = (-age.max(0.0) / f64::from(tau)).exp();
                self.floor + (1.0 - self.floor) * decay as f32
            }
        }
    }

    /// [`Recency::weight_of`] without the exponential once it cannot matter: the weight is
    /// `floor + (1 − floor)·e^(−a)` with `a` the age in time constants, which rounds to `floor`
    /// once the second term is below half a unit in the last place of `floor` (at least
    /// `floor·2⁻²⁵`). For a floor in `(0, 1]`, past `a = ln(1/floor) + 18` it is below
    /// `floor·1.6·10⁻⁸`, so the weight is `floor` to the last bit. The oldest items of a long history, most of it, skip the
    /// exponential.
    fn weigher(&self) -> impl Fn(f64) -> f32 + '_ {
        let floor_in_range = self.floor > 0.0 && self.floor <= 1.0;
        let beyond = floor_in_range.then(|| 18.0 - f64::from(self.floor).ln());
        move |age| match (self.tau_days, beyond) {
            (Some(tau), Some(beyond)) if age.max(0.0) / f64::from(tau) > beyond => self.floor,
            _ => self.weight_of(age),
        }
    }

    /// The weighted history of `events` (`(item, unix seconds)`, any order, items may repeat):
    /// one entry per item, sorted by item, aged by its latest occurrence.
    pub fn weigh(&self, events: &[(u32, i64)]) -> Vec<(u32, f32)> {
        let mut latest: Vec<(u32, i64)> = events.to_vec();
        latest.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        latest.dedup_by_key(|&mut (item, _)| item);
        self.weigh_latest(&latest)
    }

    /// [`Recency::weigh`] of a history already reduced to each item's latest occurrence
    /// (`(item, unix seconds)`, sorted by item, each item once): the same weights in the same
    /// order.
    pub fn weigh_latest(&self, latest: &[(u32, i64)]) -> Vec<(u32, f32)> {
        debug_assert!(latest.windows(2).all(|w| w[0].0 < w[1].0));
        let weight_of = self.weigher();
        if self.by_position {
            // Position from the end in time order of each item's latest occurrence: 0 for the
            // latest item, so repeated events of one item count once, as in training.
            let mut order: Vec<u32> = (0..latest.len() as u32).collect();
            order.sort_unstable_by_key(|&k| {
                let (item, at) = latest[k as usize];
                (at, item)
            });
            let n = order.len();
            let mut weighted: Vec<(u32, f32)> =
                latest.iter().map(|&(item, _)| (item, 0.0)).collect();
            for (position, &k) in order.iter().enumerate() {
                weighted[k as usize].1 = weight_of((n - 1 - position) as f64);
            }
            return weighted;
        }
        let newest = latest.iter().map(|&(_, at)| at).max().unwrap_or(0);
        latest
            .iter()
            .map(|&(item, at)| (item, weight_of((newest - at) as f64 / DAY_S)))
            .collect()
    }

    /// A short description for reports: `none` or `exp(-age/90d), floor 0.1`.
    pub fn describe(&self) -> String {
        match self.tau_days {
            None => "none".to_owned(),
            Some(tau) if self.by_position => {
                format!("exp(-position/{tau} interactions), floor {}", self.floor)
            }
            Some(tau) => format!("exp(-age/{tau}d), floor {}", self.floor),
        }
    }
}

/// What [`choose_recency`] measured and picked.
#[derive(Debug, Clone, PartialEq)]
pub struct RecencyChoice {
    /// The setting with the best validation NDCG@10 (the earlier of the grid on ties), kept
    /// only if it beats no decay (the grid's first setting) by [`CHOICE_GAIN_MIN`].
    pub chosen: Recency,
    /// Every setting tried with its validation NDCG@10, in grid order.
    pub curve: Vec<(Recency, f64)>,
    /// Users with a validation slice.
    pub n_users: usize,
    /// How the slice was drawn.
    pub slice: ValidationSlice,
}

/// Share of each user's training interactions held out, most recent first, for validation.
pub const VALIDATION_SHARE: f64 = 0.2;
/// Least relative gain in validation NDCG@10 over no decay for a decay to be chosen: on a
/// random split of MovieLens-small the best decay gains 0.4% on validation and loses 1.3% on
/// test, while on a time-ordered one it gains 20% on both. Below this, the difference is the
/// slice's noise, and no decay is the simpler model.
pub const CHOICE_GAIN_MIN: f64 = 0.01;
/// Cut-off of the validation NDCG.
const VALIDATION_K: usize = 10;

/// Per user, `(item, unix seconds)` oldest first.
pub type Timelines = Vec<Vec<(u32, i64)>>;

/// Which of each user's training interactions [`choose_recency`] holds out for validation.
/// The slice should ask the question the model will be judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationSlice {
    /// The most recent ones: what serving asks (what does a person do next?) and what a
    /// time-ordered test split asks.
    Recent,
    /// A random share drawn from `seed`: what a random test split asks, where recent and old
    /// interactions are equally likely to be held out.
    Random { seed: u64 },
}

/// Each user's `VALIDATION_SHARE` of `timelines` (oldest first), chosen as `slice` says, as a
/// validation set, and the rest (still oldest first) to fit on. Users with fewer than 2
/// interactions keep them all.
pub fn validation_holdout(
    timelines: &[Vec<(u32, i64)>],
    slice: ValidationSlice,
) -> (Timelines, Vec<Vec<u32>>) {
    let mut rng = crate::rerank::SplitMix64(match slice {
        ValidationSlice::Recent => 0,
        ValidationSlice::Random { seed } => seed,
    });
    let mut fit = Vec::with_capacity(timelines.len());
    let mut held = Vec::with_capacity(timelines.len());
    for timeline in timelines {
        let n_held = if timeline.len() < 2 {
            0
        } else {
            ((timeline.len() as f64 * VALIDATION_SHARE).round() as usize)
                .clamp(1, timeline.len() - 1)
        };
        // Positions of the held-out interactions: the last ones, or a random choice.
        let mut order: Vec<usize> = (0..timeline.len()).collect();
        if let ValidationSlice::Random { .. } = slice {
            for k in (1..order.len()).rev() {
                let j = (rng.next() % (k as u64 + 1)) as usize;
                order.swap(k, j);
            }
        }
        let mut is_held = vec![false; timeline.len()];
        for &position in &order[order.len() - n_held..] {
            is_held[position] = true;
        }
        fit.push(
            timeline
                .iter()
                .zip(&is_held)
                .filter(|(_, held)| !**held)
                .map(|(e, _)| *e)
                .collect(),
        );
        let mut items: Vec<u32> = timeline
            .iter()
            .zip(&is_held)
            .filter(|(_, held)| **held)
            .map(|(&(item, _), _)| item)
            .collect();
        items.sort_unstable();
        items.dedup();
        held.push(items);
    }
    (fit, held)
}

/// Chooses the recency weighting from training data alone: holds out a validation slice of
/// each user's interactions ([`validation_holdout`]), fits a model on the rest with `fit`,
/// and scores every setting of `grid` by NDCG@10 on the slice. The test set is
/// never read.
///
/// Serving validates on the most recent interactions, the question it answers; an offline
/// evaluation validates on a slice drawn as its test set was.
pub fn choose_recency<M: Scorer>(
    n_items: u32,
    timelines: &[Vec<(u32, i64)>],
    grid: &[Recency],
    slice: ValidationSlice,
    fit: impl FnOnce(&Interactions) -> M,
) -> RecencyChoice {
    let (fit_timelines, held) = validation_holdout(timelines, slice);
    let interactions = Interactions::from_triples(
        timelines.len() as u32,
        n_items,
        fit_timelines
            .iter()
            .enumerate()
            .flat_map(|(user, t)| t.iter().map(move |&(item, _)| (user as u32, item, 1.0))),
    )
    .expect("indices come from interactions over the same catalog");
    let model = fit(&interactions);
    let mut scores = vec![0.0f32; model.n_items() as usize];
    let users: Vec<usize> = (0..timelines.len())
        .filter(|&u| !held[u].is_empty() && !fit_timelines[u].is_empty())
        .collect();
    let mean = |total: f64| total / users.len().max(1) as f64;
    let curve: Vec<(Recency, f64)> = grid
        .iter()
        .map(|recency| {
            let mut total = 0.0;
            for &user in &users {
                let history = recency.weigh(&fit_timelines[user]);
                model.score_weighted_into(&history, &mut scores);
                total += validation_ndcg(&scores, &history, &held[user]);
            }
            (*recency, mean(total))
        })
        .collect();
    let chosen = match (best(&curve), curve.first()) {
        (Some(best), Some(&(Recency::NONE, none)))
            if curve
                .iter()
                .any(|&(r, v)| r == best && v >= none * (1.0 + CHOICE_GAIN_MIN)) =>
        {
            best
        }
        (Some(best), Some(&(first, _))) if first != Recency::NONE => best,
        _ => Recency::NONE,
    };

    RecencyChoice {
        chosen,
        curve,
        n_users: users.len(),
        slice,
    }
}

/// The first setting with the highest value.
fn best<T: Copy>(curve: &[(T, f64)]) -> Option<T> {
    curve
        .iter()
        .fold(None::<(T, f64)>, |best, &(t, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((t, v)),
        })
        .map(|(t, _)| t)
}

fn validation_ndcg(scores: &[f32], history: &[(u32, f32)], held: &[u32]) -> f64 {
    let exclude: Vec<u32> = history.iter().map(|&(item, _)| item).collect();
    ndcg(&top_n(scores, &exclude, VALIDATION_K), held, VALIDATION_K)
}

/// NDCG@k of a ranked list against a sorted set of relevant items, binary relevance.
pub(crate) fn ndcg(ranked: &[(u32, f32)], truth: &[u32], k: usize) -> f64 {
    let discount = |position: usize| 1.0 / ((position + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, (item, _))| truth.binary_search(item).is_ok())
        .map(|(position, _)| discount(position))
        .sum();
    let idcg: f64 = (0..k.min(truth.len())).map(discount).sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn items_are_aged_by_their_latest_occurrence() {
        let recency = Recency {
            tau_days: Some(10.0),
            by_position: false,
            floor: 0.0,
        };
        // Item 7 was seen 30 days ago and again today; item 3 twenty days ago.
        let events = [(7, 0), (3, 10 * DAY), (7, 30 * DAY), (5, 20 * DAY)];
        let weighted = recency.weigh(&events);
        let expected = [
            (3, (-2.0f64).exp() as f32),
            (5, (-1.0f64).exp() as f32),
            (7, 1.0),
        ];
        assert_eq!(weighted, expected);
    }

    #[test]
    fn positions_count_each_item_once_in_time_order() {
        let recency = Recency {
            tau_days: Some(1.0),
            by_position: true,
            floor: 0.5,
        };
        // In time order of latest occurrences: 9, 2, 4 (4 was also seen first of all).
        let events = [(4, 1), (9, 2), (2, 3), (4, 4)];
        let weight = |position: f64| 0.5 + 0.5 * (-position).exp() as f32;
        assert_eq!(
            recency.weigh(&events),
            [(2, weight(1.0)), (4, weight(0.0)), (9, weight(2.0))]
        );
        // Ties in time go to the higher item as the later one.
        let tied = recency.weigh(&[(1, 5), (8, 5), (3, 4)]);
        assert_eq!(tied, [(1, weight(1.0)), (3, weight(2.0)), (8, weight(0.0))]);
    }

    proptest::proptest! {
        /// Skipping the exponential for old items changes no weight, not even by one bit.
        #[test]
        fn old_items_weigh_the_floor_exactly(
            tau in 0.01f32..1000.0,
            floor in proptest::prop_oneof![0.0f32..=1.0, proptest::num::f32::POSITIVE],
            age in proptest::prop_oneof![0.0f64..1e7, proptest::num::f64::POSITIVE],
        ) {
            let recency = Recency { tau_days: Some(tau), by_position: false, floor };
            let skipped = recency.weigher()(age);
            proptest::prop_assert_eq!(skipped.to_bits(), recency.weight_of(age).to_bits());
        }
    }

    #[test]
    fn weighing_a_reduced_history_gives_the_same_weights() {
        let events = [(4, 10), (9, 2 * DAY), (2, 3), (4, 4), (6, 90 * DAY), (9, 5)];
        let mut latest: Vec<(u32, i64)> = Vec::new();
        for &(item, at) in &events {
            match latest.iter_mut().find(|(i, _)| *i == item) {
                Some(entry) => entry.1 = entry.1.max(at),
                None => latest.push((item, at)),
            }
        }
        latest.sort_unstable();
        for recency in Recency::grid() {
            assert_eq!(
                recency.weigh_latest(&latest),
                recency.weigh(&events),
                "{recency:?}"
            );
        }
    }
}
