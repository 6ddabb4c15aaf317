//! Pure types and rules: no I/O, no database, no HTTP.

pub mod analytics;
pub mod budget;
pub mod catalog;
pub mod day;
pub mod money;
pub mod period;
pub mod price;
pub mod record;
pub mod service;

pub use analytics::Totals;
pub use catalog::{
    ApiToken, Budget, Configuration, DailyLimits, Model, Provider, Role, Scope, Task, User,
};
pub use day::Day;
pub use money::Money;
pub use period::Range;
pub use price::{Price, Pricing};
pub use record::{Counts, FieldError, RejectReason, UsageRecord};
pub use service::ServiceType;
