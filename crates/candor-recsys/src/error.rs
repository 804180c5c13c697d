use thiserror::Error;

/// The expected failures of building models and reading evaluation data.
#[derive(Debug, Error, PartialEq)]
pub enum RecsysError {
    /// A user index at or beyond the number of users the caller declared.
    #[error("user index {user} is out of range (n_users = {n_users})")]
    UserOutOfRange { user: u32, n_users: u32 },
    /// An item index at or beyond the number of items the caller declared.
    #[error("item index {item} is out of range (n_items = {n_items})")]
    ItemOutOfRange { item: u32, n_items: u32 },
    /// Interaction weights must be finite and positive: an absent interaction is not stored.
    #[error("interaction weight {weight} is not finite and positive")]
    InvalidWeight { weight: f32 },
    /// Removing a history that was never added would make counts negative; the model is left
    /// unchanged.
    #[error("the history to remove was not added to the model")]
    HistoryNotInModel,
    /// The regularized Gram matrix could not be factorized (λ must be positive).
    #[error("the EASE Gram matrix is not positive definite (is lambda > 0?)")]
    NotPositiveDefinite,
    /// A malformed row in evaluation data.
    #[error("line {line}: {message}")]
    Parse { line: u64, message: String },
}
