//! The facade's error type: what went wrong, in terms a caller can act on.

use crate::domain::RejectReason;
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks rules: one problem or more, each naming its field.
    #[error("{}", describe(.0))]
    Invalid(Vec<Problem>),
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

/// One broken rule of some input: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn describe(problems: &[Problem]) -> String {
    let each: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    each.join("; ")
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![Problem {
            field: field.into(),
            message: message.into(),
        }])
    }
}

/// Every problem a check finds, so that one answer names them all.
#[derive(Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn check(&mut self, result: AppResult<()>) {
        self.take(result);
    }

    /// The value, or None with its problems noted.
    pub fn take<T>(&mut self, result: AppResult<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(AppError::Invalid(problems)) => {
                self.0.extend(problems);
                None
            }
            Err(other) => {
                self.add("", other.to_string());
                None
            }
        }
    }

    /// Whether a problem names `field`.
    fn names(&self, field: &str) -> bool {
        self.0.iter().any(|p| p.field == field)
    }

    /// Adds the problems of `result` whose fields none of these name: a
    /// field already found bad was checked with a stand-in value.
    pub fn check_other_fields<T>(&mut self, result: AppResult<T>) -> Option<T> {
        match result {
            Err(AppError::Invalid(problems)) => {
                let new: Vec<Problem> = problems
                    .into_iter()
                    .filter(|p| !self.names(&p.field))
                    .collect();
                self.0.extend(new);
                None
            }
            other => self.take(other),
        }
    }

    /// Ok when nothing was found.
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
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
            StoreError::LastAdmin(field) => AppError::invalid(field, store::LAST_ADMIN),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
