//! Recommendation models, re-ranking, explanations and offline evaluation for Candor.
//!
//! This crate is part of the pure core: it does no IO, reads no clock and draws no randomness
//! except from a seed the caller passes. Users and items are dense `u32` indices assigned by the
//! caller (the server maps external ids to indices), so every model is a plain function of its
//! [`Interactions`].
//!
//! - [`ItemKnn`] keeps integer co-occurrence counts, so it updates incrementally and forgets a
//!   user exactly: after [`ItemKnn::remove_user_history`] it equals a model trained without them.
//! - [`EaseModel`] is the closed-form linear item-item model; forgetting a user means retraining
//!   on the remaining interactions ([`Interactions::without_user`]), which the server runs in the
//!   background.
//! - [`Popularity`] and [`ItemKnn::similar_items`] answer without a profile.
//! - [`rerank`] calibrates lists to the breadth of a person's interests, diversifies them and
//!   keeps an exploration share, tagging each item with the [`Reason`] it was picked.
//! - [`recommend`] explains additive models by construction: the contributions it returns are
//!   the very terms the score is the sum of.
//! - [`Recency`] weighs a person's history by how recent each item is, with the decay chosen
//!   on a time-ordered validation slice of the training data ([`choose_recency`]).
//! - [`evaluate`] computes the offline metrics of Candor's public evaluation protocol.

mod categories;
mod ease;
mod error;
mod eval;
mod explain;
mod interactions;
mod knn;
mod movielens;
mod popularity;
mod recency;
mod rerank;

pub use categories::{ItemCategories, jaccard_distance};
pub use ease::{EaseConfig, EaseModel};
pub use error::RecsysError;
pub use eval::{EvalConfig, EvalOutcome, EvalReport, evaluate, evaluate_lists, write_recs_csv};
pub use explain::{
    AdditiveModel, Contribution, PopularityDiscount, Recommendation, Scorer, discount_popularity,
    explain, explain_weighted, recommend, recommend_scores, recommend_scores_weighted,
    top_contributions_weighted, top_n,
};
pub use interactions::{Interaction, Interactions};
pub use knn::{ItemKnn, KnnConfig, SimilarItem};
pub use movielens::{
    MovieLensSplit, Rating, SplitKind, load_movielens_genres, load_movielens_split, read_ratings,
    split_from_ratings, split_ratings, write_ratings_csv,
};
pub use popularity::Popularity;
pub use recency::{
    Recency, RecencyChoice, Timelines, VALIDATION_SHARE, ValidationSlice, choose_recency,
    validation_holdout,
};
pub use rerank::{
    CANDIDATES_MIN, CANDIDATES_PER_SLOT, Candidate, Picked, Reason, RerankConfig, candidate_pool,
    candidates, category_distribution, kl_divergence, rerank,
};
