//! The crate's one integration-test binary: one module per area.

mod ease;
mod eval;
mod knn;
mod movielens_protocol;
mod rerank;

use candor_recsys::Interactions;
use proptest::prelude::*;

/// Interactions from per-user item lists, weight 1.0.
pub fn interactions(n_items: u32, histories: &[Vec<u32>]) -> Interactions {
    Interactions::from_triples(
        histories.len() as u32,
        n_items,
        histories
            .iter()
            .enumerate()
            .flat_map(|(user, items)| items.iter().map(move |&item| (user as u32, item, 1.0))),
    )
    .expect("indices are in range")
}

/// Small random data sets: up to 7 users with up to 8 items each from a catalog of up to 10.
pub fn histories() -> impl Strategy<Value = (u32, Vec<Vec<u32>>)> {
    (2u32..10).prop_flat_map(|n_items| {
        (
            Just(n_items),
            prop::collection::vec(prop::collection::vec(0..n_items, 0..8), 1..7),
        )
    })
}
