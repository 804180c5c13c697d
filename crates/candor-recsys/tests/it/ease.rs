use candor_recsys::{
    AdditiveModel, EaseConfig, EaseModel, RecsysError, Scorer, explain, explain_weighted,
    recommend, recommend_scores, top_contributions_weighted,
};
use proptest::prelude::*;

use crate::{histories, interactions};

fn config(lambda: f32) -> EaseConfig {
    EaseConfig {
        lambda,
        min_item_count: 1,
        threads: 1,
        row_weights_max: None,
    }
}

#[test]
fn weights_solve_the_closed_form() {
    let users = [
        vec![0, 1, 2],
        vec![1, 2],
        vec![0, 3],
        vec![2, 3, 4],
        vec![0, 1, 4],
    ];
    let lambda = 2.0;
    let model = EaseModel::train(&interactions(5, &users), &config(lambda)).unwrap();
    let n = 5u32;
    let gram = |a: u32, b: u32| {
        let shared = users
            .iter()
            .filter(|h| h.contains(&a) && h.contains(&b))
            .count() as f64;
        shared + if a == b { f64::from(lambda) } else { 0.0 }
    };
    // Each row of B is kept in steps of its largest weight over 32,767: an entry is off by at
    // most half a step.
    let half_step = |k: u32| {
        let largest = (0..n)
            .map(|b| model.contribution(k, b).abs())
            .fold(0.0, f32::max);
        f64::from(largest) / f64::from(i16::MAX) / 2.0
    };
    // B = I − P·diag(1/diag P) gives G·B = G − diag(1/diag P): off the diagonal G·B equals G.
    for a in 0..n {
        assert_eq!(model.contribution(a, a), 0.0, "zero diagonal");
        let rounding: f64 = (0..n).map(|k| gram(a, k) * half_step(k)).sum();
        assert!(rounding < 1e-3, "16-bit rows keep B to {rounding}");
        for b in (0..n).filter(|&b| b != a) {
            let gb: f64 = (0..n)
                .map(|k| gram(a, k) * f64::from(model.contribution(k, b)))
                .sum();
            assert!(
                (gb - gram(a, b)).abs() < 1e-5 + rounding,
                "(G·B)[{a},{b}] = {gb}, G = {}",
                gram(a, b)
            );
        }
    }
}

#[test]
fn rare_items_are_left_out_of_the_model() {
    let data = interactions(4, &[vec![0, 1], vec![0, 1, 2], vec![0]]);
    let model = EaseModel::train(
        &data,
        &EaseConfig {
            min_item_count: 2,
            ..config(1.0)
        },
    )
    .unwrap();
    assert_eq!(model.n_modelled_items(), 2);
    assert!(model.covers(1) && !model.covers(2) && !model.covers(3));
    let scores = model.score(&[0, 2]);
    assert!(scores[1].is_finite());
    assert_eq!(scores[2], f32::NEG_INFINITY);
    assert_eq!(scores[3], f32::NEG_INFINITY);
    assert!(
        recommend(&model, &[0], &[0], 10, 3)
            .iter()
            .all(|r| r.item == 1)
    );
}

#[test]
fn lambda_must_be_positive() {
    let data = interactions(2, &[vec![0, 1]]);
    assert_eq!(
        EaseModel::train(&data, &config(0.0)),
        Err(RecsysError::NotPositiveDefinite)
    );
}

#[test]
fn forgetting_means_retraining_without_the_user() {
    let users = [vec![0, 1, 2], vec![1, 2], vec![0, 3]];
    let all = interactions(4, &users);
    let retrained = EaseModel::train(&all.without_user(0), &config(1.0)).unwrap();
    let fresh = EaseModel::train(
        &interactions(4, &[vec![], vec![1, 2], vec![0, 3]]),
        &config(1.0),
    )
    .unwrap();
    assert_eq!(retrained, fresh);
}

proptest! {
    /// The explanation is the score: its contributions, in history order, add up to it exactly.
    #[test]
    fn contributions_sum_to_the_score((n_items, users) in histories(), lambda in 0.5f32..50.0) {
        let model = EaseModel::train(&interactions(n_items, &users), &config(lambda)).unwrap();
        for history in &users {
            for rec in recommend(&model, history, history, 5, usize::MAX) {
                let mut by_history_order = rec.contributors.clone();
                by_history_order.sort_by_key(|c| c.item);
                let sum = by_history_order.iter().fold(0.0f32, |s, c| s + c.weight);
                prop_assert_eq!(sum, rec.score);
            }
        }
    }

    /// Ranking without explanations and explaining only the shown items gives what
    /// `recommend` gives: the same items, scores and contributors.
    #[test]
    fn explaining_afterwards_matches_recommend((n_items, users) in histories(), lambda in 0.5f32..50.0) {
        let model = EaseModel::train(&interactions(n_items, &users), &config(lambda)).unwrap();
        for history in &users {
            let full = recommend(&model, history, history, 5, 3);
            let scores = recommend_scores(&model, history, history, 5);
            prop_assert_eq!(scores.len(), full.len());
            for ((item, score), rec) in scores.into_iter().zip(full) {
                prop_assert_eq!(item, rec.item);
                prop_assert_eq!(score.to_bits(), rec.score.to_bits());
                prop_assert_eq!(explain(&model, history, item, 3), rec);
            }
        }
    }
}

proptest! {
    /// The contributors picked for many items at once, keeping the largest as the history is
    /// walked, are the ones explaining each item alone gives: same terms, same order.
    #[test]
    fn top_contributions_are_each_explanations_contributors(
        (n_items, users) in histories(),
        weights in prop::collection::vec(-1.0f32..2.0, 10),
        contributors_max in prop_oneof![0usize..5, Just(usize::MAX)],
    ) {
        let model = EaseModel::train(&interactions(n_items, &users), &config(1.0)).unwrap();
        let items: Vec<u32> = (0..n_items).collect();
        for history in &users {
            // Repeated items keep their largest weight, as explanations count them.
            let weighted: Vec<(u32, f32)> =
                history.iter().map(|&i| (i, weights[i as usize])).collect();
            let top = top_contributions_weighted(&model, &weighted, &items, contributors_max);
            prop_assert_eq!(top.len(), items.len());
            for (&item, contributors) in items.iter().zip(&top) {
                let alone = explain_weighted(&model, &weighted, item, contributors_max);
                prop_assert_eq!(contributors, &alone.contributors);
            }
        }
    }
}

proptest! {
    /// Rows cut to their largest weights keep exactly those weights (the others are zero), and
    /// explanations still add up to the scores bit for bit.
    #[test]
    fn cut_rows_keep_their_largest_weights((n_items, users) in histories(), kept in 0u32..10) {
        let data = interactions(n_items, &users);
        let dense = EaseModel::train(&data, &config(2.0)).unwrap();
        let cut = EaseModel::train(
            &data,
            &EaseConfig { row_weights_max: Some(kept), ..config(2.0) },
        )
        .unwrap();
        for from in 0..n_items {
            let mut smallest_kept = f32::INFINITY;
            let mut largest_cut = 0.0f32;
            let mut n_kept = 0;
            for to in 0..n_items {
                let (d, c) = (dense.contribution(from, to), cut.contribution(from, to));
                if c == 0.0 {
                    largest_cut = largest_cut.max(d.abs());
                } else {
                    prop_assert_eq!(c.to_bits(), d.to_bits());
                    smallest_kept = smallest_kept.min(c.abs());
                    n_kept += 1;
                }
            }
            prop_assert!(n_kept <= kept as usize || n_kept + 1 >= n_items as usize);
            prop_assert!(largest_cut <= smallest_kept);
        }
        for history in &users {
            for (item, score) in recommend_scores(&cut, history, history, 5) {
                prop_assert_eq!(explain(&cut, history, item, 3).score.to_bits(), score.to_bits());
            }
        }
    }
}
