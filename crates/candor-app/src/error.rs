//! The one error type of the use cases: a kind (what went wrong, in the application's terms),
//! a stable snake_case code and a sentence a person can act on. No transport status here: the
//! server maps each kind to its status in its one table.

use candor_store::StoreError;

/// What kind of failure, as a caller must treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or out of bounds.
    Invalid,
    /// The input is well formed but cannot be acted on as it stands.
    Unprocessable,
    /// The caller may not do this.
    Refused,
    /// What the input names does not exist.
    NotFound,
    /// The input conflicts with what is stored.
    Conflict,
    /// A limit on how much or how often was reached; retry after the given seconds.
    Limited(u64),
    /// A presented token is not valid, or no longer.
    TokenRejected,
    /// Storage cannot serve now; retry.
    Unavailable,
    /// A bug or an unexpected failure: logged in full, shown as a generic message.
    Internal,
}

/// A use case that failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            kind,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Invalid, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Unprocessable, code, message)
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Refused, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::NotFound, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Conflict, code, message)
    }

    pub fn internal(detail: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Internal, "internal", detail)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::not_found("not_found", "not found"),
            StoreError::Conflict(m) => AppError::conflict("conflict", m),
            StoreError::Unavailable(m) => AppError::new(ErrorKind::Unavailable, "unavailable", m),
            StoreError::Other(m) => AppError::internal(m),
        }
    }
}
