//! The facade's error type: what went wrong, in terms a caller can act on.

use crate::domain::RejectReason;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks a rule; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Usage records refused as a whole.
    #[error("usage refused: {0}")]
    Rejected(RejectReason),
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0} exists already")]
    Conflict(String),
    /// The database cannot be reached; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(what) => AppError::Conflict(what),
            StoreError::Unavailable(why) => AppError::Unavailable(why),
            StoreError::Database(why) | StoreError::Url(why) => AppError::Internal(why),
            StoreError::TooLarge(field) => AppError::invalid(field, store::over_a_row()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
