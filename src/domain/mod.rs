//! Pure types and rules: no I/O, no database, no HTTP.

pub mod catalog;
pub mod day;
pub mod money;
pub mod price;
pub mod record;
pub mod service;

pub use catalog::{
    ApiToken, Budget, Configuration, DailyLimits, Model, Provider, Role, Scope, Task, User,
};
pub use day::Day;
pub use money::Money;
pub use price::{Price, Pricing};
pub use record::{Counts, FieldError, RejectReason, UsageRecord};
pub use service::ServiceType;
