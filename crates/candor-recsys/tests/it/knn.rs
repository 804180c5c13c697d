use candor_recsys::{ItemKnn, KnnConfig, RecsysError, Scorer, recommend};
use proptest::prelude::*;

use crate::{histories, interactions};

fn configs() -> impl Strategy<Value = KnnConfig> {
    (0.0f32..=1.0, prop_oneof![Just(0.0f32), 0.0f32..20.0])
        .prop_map(|(alpha, shrink)| KnnConfig { alpha, shrink })
}

proptest! {
    /// Erasure reaches the model: forgetting a user leaves exactly the model trained without
    /// them, count for count and score for score.
    #[test]
    fn forgetting_a_user_equals_training_without_them(
        (n_items, users) in histories(),
        forgotten in any::<prop::sample::Index>(),
        config in configs(),
    ) {
        let all = interactions(n_items, &users);
        let user = forgotten.index(users.len()) as u32;
        let mut forgot = ItemKnn::train(&all, config);
        forgot.remove_user_history(&users[user as usize]).unwrap();
        let without = ItemKnn::train(&all.without_user(user), config);

        prop_assert_eq!(&forgot, &without);
        let probes = users.iter().cloned().chain([(0..n_items).collect()]);
        for history in probes {
            let (a, b) = (forgot.score(&history), without.score(&history));
            // Bitwise, not approximately: integer counts make the update exact.
            prop_assert_eq!(
                a.iter().map(|s| s.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|s| s.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    /// Incremental training is training: adding users one by one, in any order, gives the
    /// batch model.
    #[test]
    fn adding_histories_one_by_one_equals_batch_training((n_items, users) in histories()) {
        let mut incremental = ItemKnn::new(n_items, KnnConfig::default());
        for history in users.iter().rev() {
            incremental.add_user_history(history).unwrap();
        }
        prop_assert_eq!(incremental, ItemKnn::train(&interactions(n_items, &users), KnnConfig::default()));
    }

    /// The explanation is the score: its contributions add up to it exactly.
    #[test]
    fn contributions_sum_to_the_score((n_items, users) in histories(), config in configs()) {
        let model = ItemKnn::train(&interactions(n_items, &users), config);
        for history in &users {
            for rec in recommend(&model, history, history, 5, usize::MAX) {
                let sum = rec.contributors.iter().fold(0.0f32, |s, c| s + c.weight);
                let mut by_history_order = rec.contributors.clone();
                by_history_order.sort_by_key(|c| c.item);
                let ordered = by_history_order.iter().fold(0.0f32, |s, c| s + c.weight);
                prop_assert_eq!(ordered, rec.score);
                prop_assert!((sum - rec.score).abs() <= 1e-5 * rec.score.abs().max(1.0));
                prop_assert_eq!(rec.other_contributions, 0.0);
            }
        }
    }
}

#[test]
fn removing_a_history_that_was_never_added_changes_nothing() {
    let mut model = ItemKnn::train(
        &interactions(4, &[vec![0, 1], vec![1, 2]]),
        KnnConfig::default(),
    );
    let before = model.clone();
    assert_eq!(
        model.remove_user_history(&[0, 2]),
        Err(RecsysError::HistoryNotInModel)
    );
    assert_eq!(
        model.remove_user_history(&[3]),
        Err(RecsysError::HistoryNotInModel)
    );
    assert_eq!(
        model.remove_user_history(&[9]),
        Err(RecsysError::ItemOutOfRange {
            item: 9,
            n_items: 4
        })
    );
    assert_eq!(model, before);
}

/// The cosine of binary item vectors, whose figures are easy to check by hand.
const COSINE: KnnConfig = KnnConfig {
    alpha: 0.5,
    shrink: 0.0,
};

#[test]
fn similar_items_come_from_co_occurrence_counts() {
    // Item 0 is seen with 1 by three users and with 2 by one.
    let data = interactions(4, &[vec![0, 1], vec![0, 1], vec![0, 1, 2], vec![3]]);
    let model = ItemKnn::train(&data, COSINE);
    let similar = model.similar_items(0, 5);
    let items: Vec<(u32, u32)> = similar.iter().map(|s| (s.item, s.co_count)).collect();
    assert_eq!(items, [(1, 3), (2, 1)]);
    // Cosine of binary vectors: 3 / sqrt(3 * 3) = 1, 1 / sqrt(3 * 1).
    assert_eq!(similar[0].similarity, 1.0);
    assert!((similar[1].similarity - 1.0 / 3f32.sqrt()).abs() < 1e-6);
    assert!(model.similar_items(3, 5).is_empty());
}

#[test]
fn recommendations_name_their_contributors() {
    let data = interactions(4, &[vec![0, 1], vec![0, 1], vec![2, 1], vec![2, 3]]);
    let model = ItemKnn::train(&data, COSINE);
    let recs = recommend(&model, &[0, 2], &[0, 2], 2, 1);
    expect_test::expect![[r#"
        [
            Recommendation {
                item: 1,
                score: 1.2247449,
                contributors: [
                    Contribution {
                        item: 0,
                        weight: 0.8164966,
                    },
                ],
                other_contributions: 0.4082483,
            },
            Recommendation {
                item: 3,
                score: 0.70710677,
                contributors: [
                    Contribution {
                        item: 2,
                        weight: 0.70710677,
                    },
                ],
                other_contributions: 0.0,
            },
        ]
    "#]]
    .assert_debug_eq(&recs);
}
