use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::{Mat, Par};

use crate::{AdditiveModel, Interactions, RecsysError, Scorer};

/// Training settings of [`EaseModel`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EaseConfig {
    /// The L2 regularization λ added to the Gram matrix's diagonal; must be positive. Larger
    /// values favour popular items and generalize more.
    pub lambda: f32,
    /// Items with fewer distinct users than this are left out of the model (they cannot be
    /// recommended and add nothing to scores). Besides removing noise it shrinks the dense
    /// solve, whose cost grows with the cube of the item count.
    pub min_item_count: u32,
    /// Threads for the dense solve; 1 runs on the calling thread only. The server runs training
    /// in the background and should leave cores for serving.
    pub threads: usize,
    /// When set, each history item keeps only this many weights (those largest in magnitude)
    /// and the rest of its row of `B` is zero: scoring then adds a short list per history
    /// item instead of a row the size of the model, at some cost in accuracy.
    pub row_weights_max: Option<u32>,
}

impl Default for EaseConfig {
    /// Tuned on the public MovieLens-small protocol (NDCG@10 over a 20% random hold-out):
    /// λ = 300 was best among 200–1000 (NDCG@10 0.351), and dropping items with fewer than 5
    /// users cost no accuracy while cutting the item count, and so the cubic solve, by 60%.
    fn default() -> Self {
        Self {
            lambda: 300.0,
            min_item_count: 5,
            threads: 1,
            row_weights_max: None,
        }
    }
}

/// EASE, the closed-form linear item-item model: with `G = XᵀX + λI` and `P = G⁻¹`, the weights
/// are `B = I − P·diag(1/diag(P))`, whose diagonal is zero, and `score(i) = Σ_{j ∈ history} B[j, i]`.
///
/// `B` is solved in double precision and kept at 16 bits per weight, each row in steps of its
/// own largest weight over 32,767: scoring a long history reads half the memory of `f32`
/// rows, and on the public MovieLens protocol NDCG@10 is the same to four decimals. Scores and
/// explanations use the same rounded weights, so explanations still add up to the score.
///
/// The weights are a function of all training data at once, so forgetting a user means
/// training again on [`Interactions::without_user`]; the server runs that rebuild in the
/// background and swaps the model when it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct EaseModel {
    n_items: u32,
    /// For each catalog item, its row/column in `weights`, or `None` when left out.
    slot_of_item: Vec<Option<u32>>,
    /// For each slot, its catalog item.
    item_of_slot: Vec<u32>,
    /// `B` in row-major order over slots, at 16 bits per weight: row `j` holds what history
    /// item `j` adds to every item, as multiples of `row_scale[j]` ([`weight`]), so scoring
    /// reads one contiguous row per history item, half the bytes of `f32` weights. Empty when
    /// `sparse` holds the rows instead.
    weights: Vec<i16>,
    /// Each row's step: its largest weight in magnitude over `i16::MAX`, so every row keeps
    /// 15 bits of precision relative to its own largest weight.
    row_scale: Vec<f32>,
    /// The rows of `B` cut to [`EaseConfig::row_weights_max`] weights each, when set.
    sparse: Option<SparseRows>,
    /// `Bᵀ`, the same integers by column: row `i` holds what every item adds to item `i`, so
    /// explaining one recommended item reads one contiguous row instead of one cache line per
    /// history item (twice the memory, for explanations as cheap as scoring).
    weights_to: Vec<i16>,
}

/// The weight an entry `q` of a row with step `scale` stands for. Scoring, explanations and
/// sparse rows all compute it this one way, so their sums agree to the last bit.
#[inline(always)]
fn weight(scale: f32, q: i16) -> f32 {
    scale * f32::from(q)
}

impl EaseModel {
    /// Trains the model on `interactions` (weights are the entries of `X`; pass 1.0 for
    /// implicit feedback).
    pub fn train(interactions: &Interactions, config: &EaseConfig) -> Result<Self, RecsysError> {
        if !(config.lambda > 0.0 && config.lambda.is_finite()) {
            return Err(RecsysError::NotPositiveDefinite);
        }
        let n_items = interactions.n_items();
        let counts = interactions.item_user_counts();
        let mut slot_of_item = vec![None; n_items as usize];
        let mut item_of_slot = Vec::new();
        for (item, &count) in counts.iter().enumerate() {
            if count > 0 && count >= config.min_item_count {
                slot_of_item[item] = Some(item_of_slot.len() as u32);
                item_of_slot.push(item as u32);
            }
        }
        let n = item_of_slot.len();

        // The Gram matrix in f64: the solve is the expensive part either way, and double
        // precision keeps the inverse accurate for small λ.
        let mut gram = Mat::<f64>::zeros(n, n);
        for history in interactions.weighted_user_histories() {
            let slotted: Vec<(usize, f64)> = history
                .iter()
                .filter_map(|&(item, w)| {
                    slot_of_item[item as usize].map(|s| (s as usize, w as f64))
                })
                .collect();
            // Only the lower triangle is read by the factorization.
            for (x, &(a, wa)) in slotted.iter().enumerate() {
                for &(b, wb) in &slotted[..=x] {
                    gram[(a, b)] += wa * wb;
                }
            }
        }
        for s in 0..n {
            gram[(s, s)] += config.lambda as f64;
        }

        let par = if config.threads <= 1 {
            Par::Seq
        } else {
            Par::rayon(config.threads)
        };
        let mut buffer = MemBuffer::new(
            llt::factor::cholesky_in_place_scratch::<f64>(n, par, Default::default())
                .or(llt::inverse::inverse_scratch::<f64>(n, par)),
        );
        let stack = MemStack::new(&mut buffer);
        llt::factor::cholesky_in_place(
            gram.as_mut(),
            Default::default(),
            par,
            stack,
            Default::default(),
        )
        .map_err(|_| RecsysError::NotPositiveDefinite)?;
        // The factor is in the lower triangle; the upper one still holds stale Gram entries,
        // which the inverse must not see.
        for col in 1..n {
            for row in 0..col {
                gram[(row, col)] = 0.0;
            }
        }
        let mut inverse = Mat::<f64>::zeros(n, n);
        llt::inverse::inverse(inverse.as_mut(), gram.as_ref(), par, stack);
        drop(gram);

        // P is symmetric and only its lower triangle was written.
        let p = |a: usize, b: usize| {
            if a >= b {
                inverse[(a, b)]
            } else {
                inverse[(b, a)]
            }
        };
        // Each row of B in f64, then rounded to multiples of its own step.
        let mut weights = vec![0i16; n * n];
        let mut row_scale = vec![0.0f32; n];
        let mut exact = vec![0.0f64; n];
        for j in 0..n {
            for (i, w) in exact.iter_mut().enumerate() {
                *w = if i == j { 0.0 } else { -p(j, i) / p(i, i) };
            }
            let largest = exact.iter().fold(0.0f64, |m, w| m.max(w.abs()));
            let scale = (largest / f64::from(i16::MAX)) as f32;
            row_scale[j] = scale;
            if scale > 0.0 {
                let row = &mut weights[j * n..(j + 1) * n];
                for (q, &w) in row.iter_mut().zip(&exact) {
                    let steps = (w / f64::from(scale)).round();
                    *q = steps.clamp(-f64::from(i16::MAX), f64::from(i16::MAX)) as i16;
                }
            }
        }
        let sparse = config
            .row_weights_max
            .filter(|&kept| (kept as usize) < n.saturating_sub(1))
            .map(|kept| SparseRows::keeping(&mut weights, &row_scale, n, kept as usize));
        let mut weights_to = vec![0i16; n * n];
        for (j, row) in weights.chunks_exact(n.max(1)).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                weights_to[i * n + j] = w;
            }
        }
        if sparse.is_some() {
            weights = Vec::new();
        }
        Ok(Self {
            n_items,
            slot_of_item,
            item_of_slot,
            weights,
            row_scale,
            sparse,
            weights_to,
        })
    }

    /// The number of items the model can recommend.
    pub fn n_modelled_items(&self) -> usize {
        self.item_of_slot.len()
    }

    /// Whether `item` is in the model (it had at least `min_item_count` users).
    pub fn covers(&self, item: u32) -> bool {
        self.slot(item).is_some()
    }

    fn slot(&self, item: u32) -> Option<usize> {
        self.slot_of_item
            .get(item as usize)
            .copied()
            .flatten()
            .map(|s| s as usize)
    }
}

impl Scorer for EaseModel {
    fn n_items(&self) -> u32 {
        self.n_items
    }

    fn score_into(&self, history: &[u32], scores: &mut [f32]) {
        self.accumulate(history.iter().map(|&item| (item, 1.0)), false, scores);
    }

    fn score_weighted_into(&self, history: &[(u32, f32)], scores: &mut [f32]) {
        self.accumulate(history.iter().copied(), true, scores);
    }

    fn scorable_items(&self) -> Option<&[u32]> {
        (!self.slots_are_items()).then_some(&self.item_of_slot[..])
    }
}

impl EaseModel {
    /// Adds each history item's row of `B` (times its weight, when `weighted`) into the scores
    /// of modelled items; the rest score `NEG_INFINITY`. The rows are summed straight into
    /// `scores` in slot order when every item is modelled (the common case of a shop's
    /// catalog), and into a per-thread buffer otherwise, so no buffer is allocated per request.
    fn accumulate(
        &self,
        history: impl Iterator<Item = (u32, f32)>,
        weighted: bool,
        scores: &mut [f32],
    ) {
        thread_local! {
            static BY_SLOT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let n = self.item_of_slot.len();
        if let Some(sparse) = &self.sparse {
            let rows = history.filter_map(|(from, weight)| Some((self.slot(from)?, weight)));
            BY_SLOT.with_borrow_mut(|by_slot| {
                by_slot.clear();
                by_slot.resize(n, 0.0);
                sparse.sum_into(by_slot, rows, weighted);
                scores.fill(f32::NEG_INFINITY);
                for (&score, &item) in by_slot.iter().zip(&self.item_of_slot) {
                    scores[item as usize] = score;
                }
            });
            return;
        }
        // Without weights every term is multiplied by 1.0, which is exact: the same sum as
        // plain adds.
        let rows: Vec<Row<'_>> = history
            .filter_map(|(from, k)| {
                let j = self.slot(from)?;
                Some(Row {
                    steps: &self.weights[j * n..(j + 1) * n],
                    scale: self.row_scale[j],
                    k: if weighted { k } else { 1.0 },
                })
            })
            .collect();
        if n == scores.len() && self.slots_are_items() {
            sum_rows(scores, &rows);
            return;
        }
        BY_SLOT.with_borrow_mut(|by_slot| {
            by_slot.resize(n, 0.0);
            sum_rows(by_slot, &rows);
            scores.fill(f32::NEG_INFINITY);
            for (&score, &item) in by_slot.iter().zip(&self.item_of_slot) {
                scores[item as usize] = score;
            }
        });
    }

    /// Whether slot `s` is item `s` for every item (nothing was left out).
    fn slots_are_items(&self) -> bool {
        self.item_of_slot.len() == self.n_items as usize
    }
}

impl AdditiveModel for EaseModel {
    fn contribution(&self, from: u32, to: u32) -> f32 {
        match (self.slot(from), self.slot(to)) {
            (Some(j), Some(i)) => weight(
                self.row_scale[j],
                self.weights_to[i * self.item_of_slot.len() + j],
            ),
            _ => 0.0,
        }
    }
}

/// One history item's row of `B` in a sum: its integers, their step, and the item's weight.
#[derive(Clone, Copy)]
struct Row<'a> {
    steps: &'a [i16],
    scale: f32,
    k: f32,
}

/// Overwrites `into` with the sum of `rows` (each term `k · weight(scale, q)`), four rows per
/// pass over `into`: each score still takes its terms one at a time in history order, so the
/// sums are bit for bit those of adding one row after another (and of explanations, which add
/// the same terms in the same order), while `into` is read and written a quarter as often.
///
/// The loop is compiled twice, for the baseline and for AVX2 (`pulp` picks one at run time):
/// eight lanes instead of four convert and multiply the integers as fast as they arrive from
/// memory. Separate multiplies and adds are kept (no fused multiply-add), so both versions
/// round every term alike.
fn sum_rows(into: &mut [f32], rows: &[Row<'_>]) {
    pulp::Arch::new().dispatch(SumRows { into, rows });
}

struct SumRows<'a, 'r> {
    into: &'a mut [f32],
    rows: &'a [Row<'r>],
}

impl pulp::WithSimd for SumRows<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let into = self.into;
        into.fill(0.0);
        let mut chunks = self.rows.chunks_exact(4);
        for chunk in &mut chunks {
            let [a, b, c, d] = [chunk[0], chunk[1], chunk[2], chunk[3]];
            let terms = into
                .iter_mut()
                .zip(a.steps)
                .zip(b.steps)
                .zip(c.steps)
                .zip(d.steps);
            for ((((s, &qa), &qb), &qc), &qd) in terms {
                *s = *s
                    + a.k * weight(a.scale, qa)
                    + b.k * weight(b.scale, qb)
                    + c.k * weight(c.scale, qc)
                    + d.k * weight(d.scale, qd);
            }
        }
        for row in chunks.remainder() {
            for (s, &q) in into.iter_mut().zip(row.steps) {
                *s += row.k * weight(row.scale, q);
            }
        }
    }
}

/// The rows of `B` with only their largest weights kept, in compressed sparse row form.
#[derive(Debug, Clone, PartialEq)]
struct SparseRows {
    /// Row `j`'s entries are `entries[starts[j]..starts[j + 1]]`.
    starts: Vec<usize>,
    /// `(slot, weight)`, by slot within a row.
    entries: Vec<(u32, f32)>,
}

impl SparseRows {
    /// Keeps the `kept` weights of each row of the dense `n × n` `weights` largest in
    /// magnitude (the lower slot on ties) and zeroes the others in `weights`, so the dense
    /// numbers explanations read are the very ones scoring adds.
    fn keeping(weights: &mut [i16], row_scale: &[f32], n: usize, kept: usize) -> Self {
        let mut starts = Vec::with_capacity(n + 1);
        let mut entries = Vec::with_capacity(n * kept);
        let mut order: Vec<u32> = Vec::with_capacity(n);
        starts.push(0);
        for (row, &scale) in weights.chunks_exact_mut(n.max(1)).zip(row_scale) {
            order.clear();
            order.extend(0..n as u32);
            let larger = |a: &u32, b: &u32| {
                row[*b as usize]
                    .unsigned_abs()
                    .cmp(&row[*a as usize].unsigned_abs())
                    .then(a.cmp(b))
            };
            if kept == 0 {
                order.clear();
            } else {
                order.select_nth_unstable_by(kept - 1, larger);
                order.truncate(kept);
            }
            order.sort_unstable();
            let mut next = order.iter().peekable();
            for (slot, steps) in row.iter_mut().enumerate() {
                if next.next_if_eq(&&(slot as u32)).is_some() {
                    if *steps != 0 {
                        entries.push((slot as u32, weight(scale, *steps)));
                    }
                } else {
                    *steps = 0;
                }
            }
            starts.push(entries.len());
        }
        Self { starts, entries }
    }

    /// Adds each of `rows` (slot, weight) into `into`, in the order given: each score takes
    /// its nonzero terms in history order, the same sum as the dense rows with their zeros.
    fn sum_into(&self, into: &mut [f32], rows: impl Iterator<Item = (usize, f32)>, weighted: bool) {
        for (j, k) in rows {
            let entries = &self.entries[self.starts[j]..self.starts[j + 1]];
            if weighted {
                for &(i, w) in entries {
                    into[i as usize] += k * w;
                }
            } else {
                for &(i, w) in entries {
                    into[i as usize] += w;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The row sum compiled for the baseline and the one picked at run time (AVX2 where the
        /// processor has it) give the same sums to the last bit, so scores do not depend on the
        /// machine and explanations add up on every one.
        #[test]
        fn every_compiled_row_sum_agrees(
            len in 0usize..70,
            rows in prop::collection::vec(
                (prop::collection::vec(any::<i16>(), 70), -1e3f32..1e3, 0.0f32..2.0),
                0..11,
            ),
        ) {
            let rows: Vec<Row<'_>> = rows
                .iter()
                .map(|(steps, scale, k)| Row { steps: &steps[..len], scale: *scale * 1e-6, k: *k })
                .collect();
            let mut dispatched = vec![1.0f32; len];
            sum_rows(&mut dispatched, &rows);
            let mut baseline = vec![2.0f32; len];
            pulp::WithSimd::with_simd(SumRows { into: &mut baseline, rows: &rows }, pulp::Scalar::new());
            let mut one_by_one = vec![0.0f32; len];
            for row in &rows {
                for (s, &q) in one_by_one.iter_mut().zip(row.steps) {
                    *s += row.k * weight(row.scale, q);
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&dispatched), bits(&baseline));
            prop_assert_eq!(bits(&dispatched), bits(&one_by_one));
        }
    }
}
