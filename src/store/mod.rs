//! Storage: one `Store` trait, two backends (SQLite and PostgreSQL), picked
//! once from the database URL. Only this module knows SQL.

mod group;
mod migrations;
mod postgres;
pub mod resolve;
mod rows;
pub(crate) mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::budget::BudgetState;
use crate::domain::money::MAX_STORED;
use crate::domain::{
    ApiToken, Budget, Configuration, Day, FieldError, Model, Money, Provider, Role, Scope, Task,
    Totals, User,
};

pub use migrations::SCHEMA_VERSION;
pub use resolve::{PreparedRecord, UsageRow};

#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The named record does not exist ("user \"anna\"").
    #[error("{0} does not exist")]
    NotFound(String),
    /// A record with the same unique name exists already.
    #[error("{0} exists already")]
    Conflict(String),
    /// The database cannot be reached or refused the connection.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("invalid database URL: {0}")]
    Url(String),
    /// The change of the named field (`role`, `active`) would leave no
    /// active administrator, and no one could sign in to the web UI.
    #[error("{0}: {LAST_ADMIN}")]
    LastAdmin(&'static str),
    /// An amount over what one stored row holds; names the field.
    #[error("{0}: {why}", why = over_a_row())]
    TooLarge(String),
}

/// Why an amount was refused as `StoreError::TooLarge`, after its field.
/// Why a change was refused as `StoreError::LastAdmin`, after its field.
pub const LAST_ADMIN: &str = "would leave no active administrator who can sign in; \
     make another user with a password an administrator first";

pub fn over_a_row() -> String {
    format!("is more than the ledger holds in one row (${MAX_STORED})")
}

/// `amount` as its column stores it; `field` names it in the error.
pub(crate) fn stored(amount: Money, field: &str) -> StoreResult<i64> {
    amount
        .to_stored()
        .ok_or_else(|| StoreError::TooLarge(field.into()))
}

/// A cost as a stored total's two columns keep it (whole dollars, then
/// picodollars); refused as the records' `cost_usd`.
pub(crate) fn stored_cost(cost: Money) -> StoreResult<[i64; 2]> {
    cost.to_parts()
        .ok_or_else(|| StoreError::TooLarge("cost_usd".into()))
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A dimension of the per-day rollups that analytics read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// All usage of a day (item 0).
    Total,
    Provider,
    Model,
    /// Items are service codes.
    Service,
    Source,
    User,
    Configuration,
    Task,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Total,
        Dimension::Provider,
        Dimension::Model,
        Dimension::Service,
        Dimension::Source,
        Dimension::User,
        Dimension::Configuration,
        Dimension::Task,
    ];

    /// The code of this dimension's weekly rows, where it has them: the
    /// dimension with thousands of items (users) also keeps one row per week,
    /// so long windows read a few rows per item.
    pub fn weekly_code(self) -> Option<i16> {
        match self {
            Dimension::User => Some(105),
            _ => None,
        }
    }

    /// The code stored in `usage_rollup.dim`.
    pub fn code(self) -> i16 {
        match self {
            Dimension::Total => 0,
            Dimension::Provider => 1,
            Dimension::Model => 2,
            Dimension::Service => 3,
            Dimension::Source => 4,
            Dimension::User => 5,
            Dimension::Configuration => 6,
            Dimension::Task => 7,
        }
    }
}

/// The Monday a day's week starts on (day 0, 1970-01-01, was a Thursday).
pub fn week_start(day: i32) -> i32 {
    day - (day + 3).rem_euclid(7)
}

/// Splits the days `from..=to` into leading days, whole weeks (their first
/// days) and trailing days; empty parts are ranges with start > end.
pub fn split_weeks(from: i32, to: i32) -> [(i32, i32); 3] {
    let first = if week_start(from) == from {
        from
    } else {
        week_start(from) + 7
    };
    let last = if to - week_start(to) == 6 {
        week_start(to)
    } else {
        week_start(to) - 7
    };
    if first > last {
        [(from, to), (1, 0), (1, 0)]
    } else {
        [(from, first - 1), (first, last), (last + 7, to)]
    }
}

#[cfg(test)]
mod week_tests {
    use super::*;
    use crate::domain::Day;

    fn d(s: &str) -> i32 {
        Day::parse(s).unwrap().number()
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(d("2026-11-27")), d("2026-11-23"));
        assert_eq!(week_start(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(week_start(d("2026-11-22")), d("2026-11-16"));
        assert_eq!(week_start(d("1969-12-31")), d("1969-12-29"));
    }

    #[test]
    fn windows_split_into_days_and_whole_weeks() {
        // Fri 2026-08-30 .. Fri 2026-11-27 (90 days)
        let [head, weeks, tail] = split_weeks(d("2026-08-30"), d("2026-11-27"));
        assert_eq!(head, (d("2026-08-30"), d("2026-08-30")));
        assert_eq!(weeks, (d("2026-08-31"), d("2026-11-16")));
        assert_eq!(tail, (d("2026-11-23"), d("2026-11-27")));
        // Every day once.
        for from in d("2026-01-01")..d("2026-02-01") {
            for to in from..from + 40 {
                let [h, w, t] = split_weeks(from, to);
                let mut days = Vec::new();
                days.extend(h.0..=h.1);
                if w.0 <= w.1 {
                    for start in (w.0..=w.1).step_by(7) {
                        assert_eq!(week_start(start), start);
                        days.extend(start..start + 7);
                    }
                }
                days.extend(t.0..=t.1);
                assert_eq!(days, (from..=to).collect::<Vec<_>>(), "{from}..{to}");
            }
        }
    }
}

/// A catalog record as analytics name it: its id, key and human label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub id: i64,
    pub key: String,
    pub label: String,
}

/// Catalog records created by a demo seed, by identifier (username, label).
#[derive(Clone, Debug, Default)]
pub struct DemoMarks {
    pub providers: Vec<String>,
    pub models: Vec<String>,
    pub configurations: Vec<String>,
    pub tasks: Vec<String>,
    pub users: Vec<String>,
    pub sources: Vec<String>,
}

/// A signed-in web session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Whose budget to read, as of when.
#[derive(Clone, Debug)]
pub struct BudgetQuery {
    pub username: String,
    pub configuration: Option<String>,
    /// Without a configuration, the task whose configuration applies.
    pub task: Option<String>,
    pub today: Day,
    pub now: DateTime<Utc>,
}

/// A hold to place when the decision allows it.
#[derive(Clone, Debug)]
pub struct Hold {
    pub id: String,
    pub tokens: i64,
    pub cost: Money,
    pub expires_at: DateTime<Utc>,
}

/// Decides, inside the store's lock, whether a hold may be placed.
pub type Decider = std::sync::Arc<dyn Fn(&BudgetState) -> bool + Send + Sync>;

/// What a batch of usage records did once committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchOutcome {
    /// Records counted now.
    pub recorded: usize,
    /// Records whose idempotency key was known: acknowledged, not counted again.
    pub duplicates: usize,
}

/// A user as the store keeps them, with the password hash for sign-in.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: Option<String>,
}

/// A new user or a discovered one being claimed by an administrator.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
}

/// The outcome of one batch in a group commit: committed, or refused because
/// a record does not fit the catalog (nothing of the batch is stored).
pub type BatchResult = Result<BatchOutcome, Vec<FieldError>>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations; returns how many ran.
    async fn migrate(&self) -> StoreResult<usize>;
    /// The time zone the database was created with, if it was initialised.
    async fn timezone(&self) -> StoreResult<Option<String>>;
    /// Records the time zone of a new database; keeps an existing one.
    /// Returns the zone in force.
    async fn init_timezone(&self, timezone: &str) -> StoreResult<String>;

    async fn providers(&self) -> StoreResult<Vec<Provider>>;
    async fn models(&self) -> StoreResult<Vec<Model>>;
    async fn configurations(&self) -> StoreResult<Vec<Configuration>>;
    async fn tasks(&self) -> StoreResult<Vec<Task>>;
    /// Create or update by identifier, storing the record's `discovered`
    /// as given (an administrator's save passes false).
    async fn save_provider(&self, provider: &Provider) -> StoreResult<()>;
    async fn save_model(&self, model: &Model) -> StoreResult<()>;
    async fn save_configuration(&self, configuration: &Configuration) -> StoreResult<()>;
    async fn save_task(&self, task: &Task) -> StoreResult<()>;

    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Creates a user, or claims a discovered one of that name.
    async fn create_user(&self, user: &NewUser) -> StoreResult<()>;
    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()>;
    async fn set_role(&self, username: &str, role: Role) -> StoreResult<()>;
    /// The display name and whether the user is active (may sign in).
    async fn set_profile(
        &self,
        username: &str,
        display_name: &str,
        active: bool,
    ) -> StoreResult<()>;
    async fn budget(&self, username: &str) -> StoreResult<Option<Budget>>;
    async fn set_budget(&self, username: &str, budget: &Budget) -> StoreResult<()>;

    async fn create_token(
        &self,
        name: &str,
        scope: Scope,
        secret_hash: &str,
    ) -> StoreResult<ApiToken>;
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes by id; revoking twice is not an error.
    async fn revoke_token(&self, id: i64) -> StoreResult<()>;
    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>>;
    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;

    /// Records a batch durably, in one transaction with the batches of other
    /// callers waiting at the same time (see `group`). The batch is stored
    /// whole or (when a record does not fit the catalog) not at all; the
    /// others of its group are unaffected.
    async fn record(&self, batch: Vec<PreparedRecord>) -> StoreResult<BatchResult>;
    /// Forgets idempotency keys first seen, and reservations that expired,
    /// before `before`; returns how many rows went.
    async fn prune(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Brings the query planner's statistics up to date, after a bulk load:
    /// PostgreSQL plans the dashboard's reads from them, and without them
    /// sorted a user rollup on disk (BENCHMARKS.md). SQLite's plans of
    /// these primary-key ranges do not depend on them.
    async fn analyze(&self) -> StoreResult<()>;
    /// The upkeep autovacuum would do, where the database server runs
    /// without it (PostgreSQL's `autovacuum = off`): VACUUM (ANALYZE), so
    /// that rewritten rows do not pile up and statistics follow the new
    /// days. Returns whether it ran.
    async fn vacuum_if_unattended(&self) -> StoreResult<bool>;
    /// The aggregate rows of the days `from..=to`, with names, in key order.
    async fn usage_rows(&self, from: Day, to: Day) -> StoreResult<Vec<UsageRow>>;
    /// Whether any usage is stored.
    async fn has_usage(&self) -> StoreResult<bool>;

    /// Sums of one rollup dimension over the days `from..=to`, per item.
    async fn rollup(&self, dim: Dimension, from: Day, to: Day) -> StoreResult<Vec<(i64, Totals)>>;
    /// One user's totals over the days `from..=to` (`from <= to`); NotFound
    /// for an unknown user.
    async fn user_totals(&self, username: &str, from: Day, to: Day) -> StoreResult<Totals>;
    /// Totals per day over `from..=to`; days without usage are absent.
    async fn daily_totals(&self, from: Day, to: Day) -> StoreResult<Vec<(Day, Totals)>>;
    /// Requests on models without a price (discovered, not yet priced).
    async fn unpriced_requests(&self, from: Day, to: Day) -> StoreResult<i64>;
    /// Keys and labels of the records of a dimension with records
    /// (provider, model, source, user, configuration, task).
    async fn labels(&self, dim: Dimension) -> StoreResult<Vec<Label>>;
    /// Enforced monthly cost ceilings: (user id, limit).
    async fn monthly_cost_limits(&self) -> StoreResult<Vec<(i64, Money)>>;

    /// Whether usage of a provider that is not demo data exists.
    async fn has_real_usage(&self) -> StoreResult<bool>;
    /// Marks catalog records as demo data.
    async fn mark_demo(&self, marks: &DemoMarks) -> StoreResult<()>;
    /// Removes all usage and the demo catalog in one transaction; refuses
    /// with `Conflict` when real usage exists.
    async fn delete_demo_data(&self) -> StoreResult<()>;

    /// The user's and configuration's usage today and this month, with live
    /// holds counted as usage.
    async fn budget_state(&self, query: &BudgetQuery) -> StoreResult<BudgetState>;
    /// Reads the budget state and, when `decide` allows it, places the hold,
    /// atomically with respect to other reservations and settlements of the
    /// same user and configuration. Returns the state and whether it held.
    async fn reserve(
        &self,
        query: &BudgetQuery,
        hold: &Hold,
        decide: Decider,
    ) -> StoreResult<(BudgetState, bool)>;
    /// Releases a live hold; false when there was none.
    async fn release(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    async fn create_session(
        &self,
        secret_hash: &str,
        username: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The unexpired session of a secret hash.
    async fn session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>>;
    /// Ends a session; also forgets expired ones.
    async fn delete_session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
}

/// Opens the store a URL names: `sqlite://PATH` (created when missing) or
/// `postgres://…`. Migrations are not applied here.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            return Err(StoreError::Url(format!("{url:?} names no file")));
        }
        Ok(Arc::new(sqlite::SqliteStore::open(path)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Url(format!(
            "{url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }
}

/// Maps "no row changed" to NotFound for updates addressed by name.
/// The outcome of a guarded user update (`sql::SET_ROLE`, `sql::SET_PROFILE`)
/// of `field`: no row changed means the guard refused it, or no such user.
pub(crate) fn guarded(
    rows: u64,
    exists: bool,
    username: &str,
    field: &'static str,
) -> StoreResult<()> {
    match (rows, exists) {
        (0, true) => Err(StoreError::LastAdmin(field)),
        _ => changed(rows, || format!("user {username:?}")),
    }
}

pub(crate) fn changed(rows: u64, what: impl FnOnce() -> String) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}
