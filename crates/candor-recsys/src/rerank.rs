use std::collections::HashMap;

use crate::{Contribution, ItemCategories, jaccard_distance};

/// Why an item is in a list, for the explanation shown next to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Scored by a personalized model: "Because you watched X" from its largest contributors.
    Relevance {
        /// History items with their contributions, largest first.
        contributors: Vec<Contribution>,
    },
    /// Popular overall or within a category, independent of any profile.
    Popular {
        /// The category it is popular in, if any.
        category: Option<u32>,
    },
    /// Picked outside the person's usual categories: "Picked to broaden your recommendations".
    Exploration,
}

/// An item offered to [`rerank`], with its relevance score and why it was offered.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The item.
    pub item: u32,
    /// Its relevance; any scale, re-ranking normalizes over the candidates.
    pub score: f32,
    /// Kept unless the item fills an exploration slot.
    pub reason: Reason,
}

/// An item of the final list.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// The item.
    pub item: u32,
    /// Its relevance score as given in the candidate.
    pub score: f32,
    /// Why it is in the list.
    pub reason: Reason,
}

/// How [`rerank`] trades relevance for calibration, diversity and exploration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RerankConfig {
    /// Length of the final list.
    pub n: usize,
    /// λ of calibrated recommendations, in `[0, 1]`: weight of the KL divergence between the
    /// category distribution of the history and that of the list (0 = ignore calibration).
    pub calibration_lambda: f32,
    /// α smoothing the list's distribution towards the history's, `q̃ = (1 − α)q + αp`, so the
    /// divergence stays finite.
    pub calibration_alpha: f32,
    /// λ of maximal marginal relevance, in `[0, 1]`: weight of relevance against similarity to
    /// items already picked (1 = relevance only).
    pub mmr_lambda: f32,
    /// Share of the list, in `[0, 1]`, filled with items outside the person's top categories.
    pub exploration_share: f32,
    /// How many of the person's most frequent categories count as "top".
    pub top_categories: usize,
    /// β of the popularity discount applied before candidates are chosen
    /// ([`crate::discount_popularity`]): 0 keeps the model's ranking.
    pub popularity_exponent: f32,
}

impl Default for RerankConfig {
    fn default() -> Self {
        Self {
            n: 10,
            calibration_lambda: 0.5,
            calibration_alpha: 0.01,
            mmr_lambda: 0.8,
            exploration_share: 0.1,
            top_categories: 3,
            popularity_exponent: 0.0,
        }
    }
}

impl RerankConfig {
    /// How re-ranking trades relevance for breadth at a diversity `d` in `[0, 1]`, the one knob
    /// operators and people see: at 0 pure relevance; as `d` grows, a popularity discount
    /// (β = 0.6·d) lets less-watched items into the candidates, with light calibration
    /// (0.2·d), MMR (1 − 0.1·d) and an exploration share (0.12·d²: a slot of a list of 10
    /// costs about 3% NDCG@10, so exploration takes one only in the broad settings, from 0.7). Serving and
    /// `candor eval --diversity` both use it, so the offline curve (docs/benchmarks.md) is what
    /// people are shown; the default 0.5 was chosen from that curve.
    pub fn for_diversity(n: usize, d: f32) -> RerankConfig {
        RerankConfig {
            n,
            calibration_lambda: 0.2 * d,
            mmr_lambda: 1.0 - 0.1 * d,
            exploration_share: 0.12 * d * d,
            popularity_exponent: 0.6 * d,
            ..RerankConfig::default()
        }
    }
}

/// Candidates per final slot offered to re-ranking, so calibration and exploration have
/// something to choose from.
pub const CANDIDATES_PER_SLOT: usize = 5;
/// Fewest candidates offered to re-ranking, for short lists.
pub const CANDIDATES_MIN: usize = 50;

/// How many of a model's top items to offer [`rerank`] for a list of `n`.
pub fn candidate_pool(n: usize) -> usize {
    CANDIDATES_MIN.max(n * CANDIDATES_PER_SLOT)
}

/// The candidates serving offers [`rerank`]: the model's items with a positive score
/// (`scored`, best first), then `popular` items (best first) not already offered, at score 0 —
/// they fill the list when the model knows little and give calibration and exploration
/// categories the history does not reach, below every relevant item.
pub fn candidates(
    scored: &[(u32, f32)],
    popular: &[(u32, f32)],
    categories: &ItemCategories,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(scored.len() + popular.len());
    out.extend(
        scored
            .iter()
            .filter(|&&(_, score)| score > 0.0)
            .map(|&(item, score)| Candidate {
                item,
                score,
                reason: Reason::Relevance {
                    contributors: Vec::new(),
                },
            }),
    );
    let mut offered: Vec<u32> = out.iter().map(|c| c.item).collect();
    offered.sort_unstable();
    for &(item, popularity) in popular {
        if popularity > 0.0 && offered.binary_search(&item).is_err() {
            out.push(Candidate {
                item,
                score: 0.0,
                reason: Reason::Popular {
                    category: categories.of(item).first().copied(),
                },
            });
        }
    }
    out
}

/// Builds the final list of `config.n` items from `candidates` (typically a model's top few
/// hundred, plus popular items of other categories).
///
/// 1. Exploration: `round(n · exploration_share)` slots go to candidates sharing no category
///    with the history's top categories, drawn deterministically from `seed` and spread evenly
///    through the list. They are tagged [`Reason::Exploration`].
/// 2. The other slots are filled greedily, each step taking the candidate maximizing
///    `(1 − λc)·[λm·rel(i) − (1 − λm)·max_{j ∈ S} sim(i, j)] − λc·KL(p ‖ q̃(S ∪ {i}))`: relevance
///    (min-max normalized over candidates) with maximal marginal relevance, where `sim` is the
///    Jaccard similarity of category sets, against the calibration penalty of Steck's calibrated
///    recommendations (`p` from the history, `q` from the list). With an empty history there is
///    nothing to calibrate against or explore from, and only MMR applies.
///
/// Ties go to the earlier candidate, so the result depends only on the inputs and the seed.
pub fn rerank(
    candidates: &[Candidate],
    history: &[u32],
    categories: &ItemCategories,
    config: &RerankConfig,
    seed: u64,
) -> Vec<Picked> {
    let n_categories = history
        .iter()
        .chain(candidates.iter().map(|c| &c.item))
        .flat_map(|&item| categories.of(item))
        .max()
        .map_or(0, |&max| max as usize + 1);
    let p = category_distribution(history, categories, n_categories);
    let has_profile = p.iter().any(|&mass| mass > 0.0);

    let n_explore = if has_profile {
        ((config.n as f32 * config.exploration_share.clamp(0.0, 1.0)).round() as usize)
            .min(config.n)
    } else {
        0
    };
    let explored = pick_exploration(
        candidates,
        categories,
        &p,
        config.top_categories,
        n_explore,
        seed,
    );
    let mut taken = vec![false; candidates.len()];
    for &index in &explored {
        taken[index] = true;
    }

    let (min_score, max_score) = candidates
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| {
            (lo.min(c.score), hi.max(c.score))
        });
    let relevance = |score: f32| {
        if max_score > min_score {
            f64::from((score - min_score) / (max_score - min_score))
        } else {
            1.0
        }
    };
    let lambda_c = if has_profile {
        f64::from(config.calibration_lambda.clamp(0.0, 1.0))
    } else {
        0.0
    };
    let lambda_m = f64::from(config.mmr_lambda.clamp(0.0, 1.0));
    let alpha = f64::from(config.calibration_alpha);

    let n_main = config.n - explored.len();
    // Each distinct category set gets one calibration penalty per pick, shared by every
    // candidate with that set.
    let mut sets: Vec<&[u32]> = Vec::new();
    let set_of: Vec<usize> = {
        let mut index: HashMap<&[u32], usize> = HashMap::new();
        candidates
            .iter()
            .map(|c| {
                let cats = categories.of(c.item);
                *index.entry(cats).or_insert_with(|| {
                    sets.push(cats);
                    sets.len() - 1
                })
            })
            .collect()
    };
    let mut penalties = vec![0.0; sets.len()];
    // Each candidate's largest similarity to the items chosen so far, updated after each pick
    // against the new item only.
    let mut max_similarity = vec![0.0f64; candidates.len()];
    let mut set_similarity = vec![0.0f64; sets.len()];
    let mut chosen: Vec<usize> = Vec::new();
    let mut list_mass = vec![0.0; n_categories];
    while chosen.len() < n_main {
        if lambda_c > 0.0 {
            calibration_penalties(&p, &list_mass, &sets, alpha, &mut penalties);
        }
        let mut best: Option<(usize, f64)> = None;
        for (index, candidate) in candidates.iter().enumerate() {
            if taken[index] {
                continue;
            }
            let mmr =
                lambda_m * relevance(candidate.score) - (1.0 - lambda_m) * max_similarity[index];
            let penalty = if lambda_c > 0.0 {
                penalties[set_of[index]]
            } else {
                0.0
            };
            let gain = (1.0 - lambda_c) * mmr - lambda_c * penalty;
            if best.is_none_or(|(_, best_gain)| gain > best_gain) {
                best = Some((index, gain));
            }
        }
        let Some((index, _)) = best else { break };
        taken[index] = true;
        let picked_categories = categories.of(candidates[index].item);
        add_item_mass(&mut list_mass, picked_categories);
        chosen.push(index);
        // Candidates share category sets: one similarity per set.
        for (similarity, set) in set_similarity.iter_mut().zip(&sets) {
            *similarity = 1.0 - jaccard_distance(set, picked_categories);
        }
        for (other, &set) in set_of.iter().enumerate() {
            if !taken[other] {
                max_similarity[other] = max_similarity[other].max(set_similarity[set]);
            }
        }
    }

    let picked = |index: usize, reason: Reason| Picked {
        item: candidates[index].item,
        score: candidates[index].score,
        reason,
    };
    let mut list: Vec<Picked> = chosen
        .into_iter()
        .map(|index| picked(index, candidates[index].reason.clone()))
        .collect();
    // Spread exploration slots evenly rather than bunching them at the end, where they would
    // rarely be seen.
    let total = list.len() + explored.len();
    for (k, &index) in explored.iter().enumerate() {
        let position = ((k + 1) * total / (explored.len() + 1)).min(list.len());
        list.insert(position, picked(index, Reason::Exploration));
    }
    list
}

/// The category distribution of a set of items (Steck's `p(g|u)`): each item spreads a unit of
/// mass evenly over its categories; the result sums to 1, or is all zeros when no item has a
/// category. Categories at or beyond `n_categories` are ignored.
pub fn category_distribution(
    items: &[u32],
    categories: &ItemCategories,
    n_categories: usize,
) -> Vec<f64> {
    let mut mass = vec![0.0; n_categories];
    for &item in items {
        add_item_mass(&mut mass, categories.of(item));
    }
    normalized(&mass)
}

/// `KL(p ‖ q̃) = Σ_g p(g)·ln(p(g) / q̃(g))` with `q̃ = (1 − α)·q + α·p`: how badly the list's
/// distribution `q` under-represents the interests `p`. Zero when `q = p`.
pub fn kl_divergence(p: &[f64], q: &[f64], alpha: f64) -> f64 {
    p.iter()
        .zip(q)
        .filter(|&(&pg, _)| pg > 0.0)
        .map(|(&pg, &qg)| pg * (pg / ((1.0 - alpha) * qg + alpha * pg)).ln())
        .sum()
}

/// The calibration penalty of adding an item of each category set in `sets` to a list whose
/// category mass is `list_mass`: `out[s] = kl_divergence(p, normalized(list + item of s),
/// alpha)`.
///
/// Every categorized item adds one unit of mass, so all of them share the new total, and the
/// divergence differs from one set to another only in the terms of the set's own categories:
/// the terms of the unchanged list are computed once, and each set costs one logarithm per
/// category it has rather than one per category of the history.
fn calibration_penalties(
    p: &[f64],
    list_mass: &[f64],
    sets: &[&[u32]],
    alpha: f64,
    out: &mut [f64],
) {
    let list_total: f64 = list_mass.iter().sum();
    let total = list_total + 1.0;
    let term = |g: usize, mass: f64| {
        let pg = p[g];
        pg * (pg / ((1.0 - alpha) * (mass / total) + alpha * pg)).ln()
    };
    // Each category's term in the unchanged list, and, per category and set size, its term
    // with one more item of a set of that size: computed once, shared by every set.
    let unchanged: Vec<f64> = (0..p.len())
        .map(|g| {
            if p[g] > 0.0 {
                term(g, list_mass[g])
            } else {
                0.0
            }
        })
        .collect();
    let base: f64 = (0..p.len())
        .filter(|&g| p[g] > 0.0)
        .map(|g| unchanged[g])
        .sum();
    let sizes = sets.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut added: Vec<Option<f64>> = vec![None; p.len() * sizes];
    for (set, out) in sets.iter().zip(out.iter_mut()) {
        *out = if set.is_empty() || !base.is_finite() {
            // An uncategorized item leaves the total as it is; an infinite term (α = 0 and a
            // category the list lacks) cannot be subtracted out. Both are computed in full.
            penalty_with(p, list_mass, set, alpha)
        } else {
            let share = 1.0 / set.len() as f64;
            base + set
                .iter()
                .map(|&c| c as usize)
                .filter(|&g| p.get(g).is_some_and(|&pg| pg > 0.0))
                .map(|g| {
                    let with = *added[g * sizes + set.len() - 1]
                        .get_or_insert_with(|| term(g, list_mass[g] + share));
                    with - unchanged[g]
                })
                .sum::<f64>()
        };
    }
}

/// `kl_divergence(p, normalized(list + item), alpha)` without building the new distribution.
fn penalty_with(p: &[f64], list_mass: &[f64], item_categories: &[u32], alpha: f64) -> f64 {
    let share = 1.0 / item_categories.len().max(1) as f64;
    let mass = |g: usize| {
        let mut m = list_mass[g];
        for &c in item_categories {
            if c as usize == g {
                m += share;
            }
        }
        m
    };
    let total: f64 = (0..list_mass.len()).map(mass).sum();
    p.iter()
        .enumerate()
        .filter(|&(_, &pg)| pg > 0.0)
        .map(|(g, &pg)| {
            let qg = if total > 0.0 { mass(g) / total } else { 0.0 };
            pg * (pg / ((1.0 - alpha) * qg + alpha * pg)).ln()
        })
        .sum()
}

fn add_item_mass(mass: &mut [f64], item_categories: &[u32]) {
    let share = 1.0 / item_categories.len().max(1) as f64;
    for &category in item_categories {
        if let Some(m) = mass.get_mut(category as usize) {
            *m += share;
        }
    }
}

fn normalized(mass: &[f64]) -> Vec<f64> {
    let total: f64 = mass.iter().sum();
    if total > 0.0 {
        mass.iter().map(|m| m / total).collect()
    } else {
        vec![0.0; mass.len()]
    }
}

/// Indices of the exploration candidates, drawn without replacement from those sharing no
/// category with the top categories of `p`.
fn pick_exploration(
    candidates: &[Candidate],
    categories: &ItemCategories,
    p: &[f64],
    top_categories: usize,
    n_explore: usize,
    seed: u64,
) -> Vec<usize> {
    if n_explore == 0 {
        return Vec::new();
    }
    let mut by_mass: Vec<usize> = (0..p.len()).filter(|&g| p[g] > 0.0).collect();
    by_mass.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    by_mass.truncate(top_categories);
    let mut pool: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let item_categories = categories.of(c.item);
            !item_categories.is_empty()
                && item_categories
                    .iter()
                    .all(|&g| !by_mass.contains(&(g as usize)))
        })
        .map(|(index, _)| index)
        .collect();
    // A partial Fisher–Yates shuffle driven by the caller's seed.
    let mut rng = SplitMix64(seed);
    let n_explore = n_explore.min(pool.len());
    for k in 0..n_explore {
        let j = k + (rng.next() % (pool.len() - k) as u64) as usize;
        pool.swap(k, j);
    }
    pool.truncate(n_explore);
    pool
}

/// A tiny, well-mixed generator: exploration needs reproducibility from a seed, not
/// cryptographic strength.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The allocation-free penalty is the penalty of the built distribution, bit for bit.
        #[test]
        fn penalty_with_matches_the_built_distribution(
            history in proptest::collection::vec(0.0f64..5.0, 1..12),
            list in proptest::collection::vec(0.0f64..5.0, 12),
            item in proptest::collection::vec(0u32..14, 0..4),
            alpha in 0.0f64..0.2,
        ) {
            let n = list.len();
            let mut p_mass = history.clone();
            p_mass.resize(n, 0.0);
            let p = normalized(&p_mass);
            let mut built = list.clone();
            add_item_mass(&mut built, &item);
            let expected = kl_divergence(&p, &normalized(&built), alpha);
            let got = penalty_with(&p, &list, &item, alpha);
            prop_assert_eq!(got.to_bits(), expected.to_bits());
        }

        /// The shared-terms penalties of a pick equal the divergence of each built list, to
        /// rounding, for lists of whole items (each categorized item adds one unit of mass).
        #[test]
        fn pick_penalties_match_the_built_distribution(
            history in proptest::collection::vec(0.0f64..5.0, 1..12),
            list_items in proptest::collection::vec(proptest::collection::vec(0u32..12, 0..4), 0..8),
            item_sets in proptest::collection::vec(proptest::collection::vec(0u32..12, 0..4), 1..6),
            alpha in 0.0f64..0.2,
        ) {
            let n = 12;
            let mut p_mass = history.clone();
            p_mass.resize(n, 0.0);
            let p = normalized(&p_mass);
            let tidy = |mut set: Vec<u32>| {
                set.sort_unstable();
                set.dedup();
                set
            };
            let mut list = vec![0.0; n];
            for item in list_items {
                add_item_mass(&mut list, &tidy(item));
            }
            let item_sets: Vec<Vec<u32>> = item_sets.into_iter().map(tidy).collect();
            let sets: Vec<&[u32]> = item_sets.iter().map(Vec::as_slice).collect();
            let mut got = vec![0.0; sets.len()];
            calibration_penalties(&p, &list, &sets, alpha, &mut got);
            for (set, got) in sets.iter().zip(got) {
                let mut built = list.clone();
                add_item_mass(&mut built, set);
                let expected = kl_divergence(&p, &normalized(&built), alpha);
                if expected.is_finite() {
                    prop_assert!(
                        (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                        "{got} vs {expected}"
                    );
                } else {
                    prop_assert_eq!(got, expected);
                }
            }
        }
    }
}
