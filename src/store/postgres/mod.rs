//! The PostgreSQL backend, for deployments where several `llm-ledger`
//! processes share one database.

mod budget;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, Row};
use tokio::sync::{Mutex, mpsc};

use super::group::{self, Pending};
use super::migrations::{HISTORY_TABLE, IS_APPLIED, MARK_APPLIED, POSTGRES};
use super::rows::{self, Columns};
use super::sql;
use super::{
    BatchResult, BudgetQuery, Decider, DemoMarks, Dimension, Hold, Label, NewUser, PreparedRecord,
    Session, Store, StoreError, StoreResult, UsageRow, UserRecord, changed, guarded, stored,
};
use crate::domain::budget::BudgetState;
use crate::domain::{
    ApiToken, Budget, Configuration, Day, Model, Money, Provider, Role, Scope, Task, Totals, User,
};

/// Serialises concurrent `migrate` runs of several processes.
const MIGRATION_LOCK: i64 = 0x6c6c_6d6c_6564;
/// How long opening the ledger, or taking a pooled connection, may wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Classes of the transaction-level advisory locks that serialise budget
/// reservations and their settlement per user and per configuration.
const USER_LOCK: i64 = 1;
const CONFIGURATION_LOCK: i64 = 2;
/// Serialises role and profile changes, so that each one's check for
/// another active administrator sees the one committed before it.
const ADMIN_LOCK: i64 = 3 << 48;

/// Takes budget locks in one global order (users before configurations,
/// ascending ids), so no two transactions wait on each other in a cycle.
async fn lock_budgets(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    keys: impl IntoIterator<Item = (i64, i64)>,
) -> StoreResult<()> {
    let mut keys: Vec<(i64, i64)> = keys.into_iter().filter(|(_, id)| *id != 0).collect();
    keys.sort_unstable();
    keys.dedup();
    for (class, id) in keys {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind((class << 48) | (id & 0xFFFF_FFFF_FFFF))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// See `sql::END_SESSIONS`.
async fn end_sessions(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    username: &str,
) -> StoreResult<()> {
    sqlx::query(sql::END_SESSIONS)
        .bind(username)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub struct PgStore {
    pool: PgPool,
    /// Batches of usage waiting for a committing task.
    queue: mpsc::Sender<Pending>,
}

/// Tasks committing groups at once: PostgreSQL overlaps their commits.
const COMMITTERS: usize = 4;

/// A committing task: takes what is queued, commits it as one group.
async fn commit_groups(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            group::gather(first, || queue.try_recv().ok())
        };
        let (batches, replies) = group::split(group);
        replies.send(usage::record(&pool, &batches).await);
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                StoreError::Conflict(db.message().to_string())
            }
            // Only an upsert's overflow guard makes a cost NULL (see sql.rs).
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some_and(|pg| {
                        pg.code() == "23502" && pg.column() == Some("cost_dollars")
                    }) =>
            {
                StoreError::TooLarge("cost_usd".into())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl Columns for PgRow {
    fn int(&self, i: usize) -> StoreResult<i64> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Database(format!("column {i} is NULL")))
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        // Integer columns are BIGINT, INTEGER (days) or SMALLINT (services).
        if let Ok(v) = self.try_get::<Option<i64>, _>(i) {
            return Ok(v);
        }
        if let Ok(v) = self.try_get::<Option<i32>, _>(i) {
            return Ok(v.map(i64::from));
        }
        Ok(self.try_get::<Option<i16>, _>(i)?.map(i64::from))
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn boolean(&self, i: usize) -> StoreResult<bool> {
        Ok(self.try_get(i)?)
    }
}

/// The tables that grow, or whose rows are rewritten, as the ledger is used:
/// the ones its statistics and vacuuming are about.
macro_rules! tended_tables {
    () => {
        "usage_daily, usage_rollup, idempotency_keys, reservations, sessions, api_tokens, users"
    };
}

type Query<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn now_unix() -> i64 {
    Utc::now().timestamp()
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let unavailable = |e: sqlx::Error| {
            // The server's own message, without sqlx's note of the line of
            // PostgreSQL's source that raised it.
            let why = match e.as_database_error() {
                Some(d) => d.message().to_string(),
                None => e.to_string(),
            };
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {why}"))
        };
        // Every query here reads a few primary-key ranges; once the tables
        // are analyzed the planner picks parallel plans for the dashboard's
        // (worker start-up per query), which were slower under concurrent
        // readers on a small machine.
        let options = url
            .parse::<PgConnectOptions>()
            .map_err(unavailable)?
            .options([("max_parallel_workers_per_gather", "0")]);
        // The first connection is opened directly: through the pool, a
        // refused connection or a wrong database name only reads "pool timed
        // out" after the acquire timeout.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(unavailable)?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let (queue, waiting) = mpsc::channel(group::QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..COMMITTERS {
            tokio::spawn(commit_groups(pool.clone(), waiting.clone()));
        }
        Ok(PgStore { pool, queue })
    }

    async fn all<T>(
        &self,
        q: Query<'_>,
        decode: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| decode(r))
            .collect()
    }

    async fn opt<T>(
        &self,
        q: Query<'_>,
        decode: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        q.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| decode(r))
            .transpose()
    }

    async fn id_of(&self, sql: &'static str, value: &str, what: &str) -> StoreResult<i64> {
        self.opt(sqlx::query(sql).bind(value), |r| r.int(0))
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("{what} {value:?}")))
    }

    /// Runs a guarded user update (see `sql::SET_ROLE`) under `ADMIN_LOCK`.
    async fn guarded_update(
        &self,
        q: Query<'_>,
        username: &str,
        field: &'static str,
        ends_sessions: bool,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ADMIN_LOCK)
            .execute(&mut *tx)
            .await?;
        let rows = q.execute(&mut *tx).await?.rows_affected();
        if rows > 0 && ends_sessions {
            end_sessions(&mut tx, username).await?;
        }
        // Only an unchanged row needs telling the guard from a missing user.
        let exists = rows == 0
            && sqlx::query(sql::USER_ID)
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        tx.commit().await?;
        guarded(rows, exists, username, field)
    }

    /// Runs an update addressed by name; no row changed means NotFound.
    async fn update(&self, q: Query<'_>, what: impl FnOnce() -> String) -> StoreResult<()> {
        changed(q.execute(&self.pool).await?.rows_affected(), what)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let result = async {
            sqlx::raw_sql(HISTORY_TABLE).execute(&mut *conn).await?;
            let mut applied = 0;
            for m in POSTGRES {
                let done: bool = sqlx::query_scalar(IS_APPLIED)
                    .bind(m.version)
                    .fetch_one(&mut *conn)
                    .await?;
                if done {
                    continue;
                }
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::raw_sql(m.sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::Database(format!("migration {}: {e}", m.name)))?;
                sqlx::query(MARK_APPLIED)
                    .bind(m.version)
                    .bind(m.name)
                    .bind(now_unix())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                applied += 1;
            }
            Ok::<usize, StoreError>(applied)
        }
        .await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        result
    }

    async fn timezone(&self) -> StoreResult<Option<String>> {
        self.opt(sqlx::query(sql::TIMEZONE), |r| r.text(0)).await
    }

    async fn init_timezone(&self, timezone: &str) -> StoreResult<String> {
        sqlx::query(sql::INIT_TIMEZONE)
            .bind(timezone)
            .bind(now_unix())
            .execute(&self.pool)
            .await?;
        self.timezone()
            .await?
            .ok_or_else(|| StoreError::Database("the settings row is missing".into()))
    }

    async fn providers(&self) -> StoreResult<Vec<Provider>> {
        self.all(sqlx::query(sql::PROVIDERS), rows::provider).await
    }

    async fn models(&self) -> StoreResult<Vec<Model>> {
        self.all(sqlx::query(sql::MODELS), rows::model).await
    }

    async fn configurations(&self) -> StoreResult<Vec<Configuration>> {
        self.all(sqlx::query(sql::CONFIGURATIONS), rows::configuration)
            .await
    }

    async fn tasks(&self) -> StoreResult<Vec<Task>> {
        self.all(sqlx::query(sql::TASKS), rows::task).await
    }

    async fn save_provider(&self, p: &Provider) -> StoreResult<()> {
        sqlx::query(sql::SAVE_PROVIDER)
            .bind(&p.identifier)
            .bind(&p.name)
            .bind(&p.adapter_type)
            .bind(p.active)
            .bind(p.discovered)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_model(&self, m: &Model) -> StoreResult<()> {
        let provider = self
            .id_of(sql::PROVIDER_ID, &m.provider, "provider")
            .await?;
        let p = m.pricing;
        sqlx::query(sql::SAVE_MODEL)
            .bind(&m.identifier)
            .bind(&m.name)
            .bind(provider)
            .bind(&m.model_id)
            .bind(p.map(|p| p.input.units()))
            .bind(p.map(|p| p.output.units()))
            .bind(p.and_then(|p| p.cache_read).map(|c| c.units()))
            .bind(p.and_then(|p| p.cache_write).map(|c| c.units()))
            .bind(m.active)
            .bind(m.discovered)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_configuration(&self, c: &Configuration) -> StoreResult<()> {
        let model = match &c.model {
            None => None,
            Some(m) => Some(self.id_of(sql::MODEL_ID, m, "model").await?),
        };
        sqlx::query(sql::SAVE_CONFIGURATION)
            .bind(&c.identifier)
            .bind(&c.name)
            .bind(model)
            .bind(c.limits.max_requests_per_day)
            .bind(c.limits.max_tokens_per_day)
            .bind(stored(c.limits.max_cost_per_day, "max_cost_per_day")?)
            .bind(c.discovered)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_task(&self, t: &Task) -> StoreResult<()> {
        let configuration = match &t.configuration {
            None => None,
            Some(c) => Some(
                self.id_of(sql::CONFIGURATION_ID, c, "configuration")
                    .await?,
            ),
        };
        sqlx::query(sql::SAVE_TASK)
            .bind(&t.identifier)
            .bind(&t.name)
            .bind(configuration)
            .bind(t.discovered)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.all(sqlx::query(sql::USERS), |r| rows::user(r).map(|u| u.user))
            .await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.opt(sqlx::query(sql::USER).bind(username), rows::user)
            .await
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let discovered: Option<bool> = sqlx::query_scalar(sql::USER_DISCOVERED)
            .bind(&u.username)
            .fetch_optional(&mut *tx)
            .await?;
        let q = match discovered {
            Some(false) => return Err(StoreError::Conflict(format!("user {:?}", u.username))),
            Some(true) => sqlx::query(sql::CLAIM_USER)
                .bind(&u.display_name)
                .bind(u.role.as_str())
                .bind(&u.password_hash)
                .bind(&u.username),
            None => sqlx::query(sql::INSERT_USER)
                .bind(&u.username)
                .bind(&u.display_name)
                .bind(u.role.as_str())
                .bind(&u.password_hash)
                .bind(now_unix()),
        };
        q.execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("user {:?}", u.username)),
                other => other,
            })?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(sql::SET_PASSWORD)
            .bind(password_hash)
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        end_sessions(&mut tx, username).await?;
        tx.commit().await?;
        changed(rows, || format!("user {username:?}"))
    }

    async fn set_role(&self, username: &str, role: Role) -> StoreResult<()> {
        let q = sqlx::query(sql::SET_ROLE)
            .bind(role.as_str())
            .bind(username);
        self.guarded_update(q, username, "role", role != Role::Admin)
            .await
    }

    async fn set_profile(
        &self,
        username: &str,
        display_name: &str,
        active: bool,
    ) -> StoreResult<()> {
        let q = sqlx::query(sql::SET_PROFILE)
            .bind(display_name)
            .bind(active)
            .bind(username);
        self.guarded_update(q, username, "active", !active).await
    }

    async fn budget(&self, username: &str) -> StoreResult<Option<Budget>> {
        let id = self.id_of(sql::USER_ID, username, "user").await?;
        self.opt(sqlx::query(sql::BUDGET).bind(id), rows::budget)
            .await
    }

    async fn set_budget(&self, username: &str, b: &Budget) -> StoreResult<()> {
        let id = self.id_of(sql::USER_ID, username, "user").await?;
        sqlx::query(sql::SET_BUDGET)
            .bind(id)
            .bind(b.max_requests_per_day)
            .bind(b.max_tokens_per_day)
            .bind(stored(b.max_cost_per_day, "max_cost_per_day")?)
            .bind(b.max_requests_per_month)
            .bind(b.max_tokens_per_month)
            .bind(stored(b.max_cost_per_month, "max_cost_per_month")?)
            .bind(b.enforced)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_token(
        &self,
        name: &str,
        scope: Scope,
        secret_hash: &str,
    ) -> StoreResult<ApiToken> {
        let id: i64 = sqlx::query_scalar(sql::INSERT_TOKEN)
            .bind(name)
            .bind(scope.as_str())
            .bind(secret_hash)
            .bind(now_unix())
            .fetch_one(&self.pool)
            .await?;
        self.opt(sqlx::query(sql::TOKEN).bind(id), rows::token)
            .await?
            .ok_or_else(|| StoreError::Database("a new token vanished".into()))
    }

    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.all(sqlx::query(sql::TOKENS), rows::token).await
    }

    async fn revoke_token(&self, id: i64) -> StoreResult<()> {
        let q = sqlx::query(sql::REVOKE_TOKEN).bind(now_unix()).bind(id);
        self.update(q, || format!("token {id}")).await
    }

    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>> {
        self.opt(
            sqlx::query(sql::TOKEN_BY_HASH).bind(secret_hash),
            rows::token,
        )
        .await
    }

    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(sql::TOUCH_TOKEN)
            .bind(at.timestamp())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record(&self, batch: Vec<PreparedRecord>) -> StoreResult<BatchResult> {
        group::submit(&self.queue, batch, |pending| pending).await
    }

    async fn prune(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        // SQLite prunes its keys by their log (src/store/sqlite/usage.rs).
        const PRUNE_IDEMPOTENCY: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
        for statement in [PRUNE_IDEMPOTENCY, sql::PRUNE_RESERVATIONS] {
            total += sqlx::query(statement)
                .bind(before.timestamp())
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(total)
    }

    async fn analyze(&self) -> StoreResult<()> {
        sqlx::raw_sql(concat!("ANALYZE ", tended_tables!()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn vacuum_if_unattended(&self) -> StoreResult<bool> {
        let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
            .fetch_one(&self.pool)
            .await?;
        if autovacuum == "on" {
            return Ok(false);
        }
        sqlx::raw_sql(concat!("VACUUM (ANALYZE) ", tended_tables!()))
            .execute(&self.pool)
            .await?;
        Ok(true)
    }

    async fn usage_rows(&self, from: Day, to: Day) -> StoreResult<Vec<UsageRow>> {
        let q = sqlx::query(sql::USAGE_ROWS)
            .bind(from.number())
            .bind(to.number());
        let mut out = self.all(q, rows::usage_row).await?;
        rows::sort_usage_rows(&mut out);
        Ok(out)
    }

    async fn has_usage(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(sql::HAS_USAGE)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn rollup(&self, dim: Dimension, from: Day, to: Day) -> StoreResult<Vec<(i64, Totals)>> {
        let (code, from, to) = (dim.code(), from.number(), to.number());
        let q = match dim.weekly_code() {
            None => sqlx::query(sql::ROLLUP).bind(code).bind(from).bind(to),
            Some(weekly) => {
                let [head, weeks, tail] = super::split_weeks(from, to);
                sqlx::query(sql::ROLLUP_WEEKS)
                    .bind(code)
                    .bind(head.0)
                    .bind(head.1)
                    .bind(weekly)
                    .bind(weeks.0)
                    .bind(weeks.1)
                    .bind(code)
                    .bind(tail.0)
                    .bind(tail.1)
            }
        };
        self.all(q, rows::item_totals).await
    }

    async fn user_totals(&self, username: &str, from: Day, to: Day) -> StoreResult<Totals> {
        let id = self.id_of(sql::USER_ID, username, "user").await?;
        let q = sqlx::query(sql::ROLLUP_ITEM)
            .bind(from.number())
            .bind(to.number())
            .bind(Dimension::User.code())
            .bind(id);
        Ok(self.opt(q, rows::totals_row).await?.unwrap_or_default())
    }

    async fn daily_totals(&self, from: Day, to: Day) -> StoreResult<Vec<(Day, Totals)>> {
        let q = sqlx::query(sql::DAILY_TOTALS)
            .bind(from.number())
            .bind(to.number());
        self.all(q, rows::day_totals).await
    }

    async fn unpriced_requests(&self, from: Day, to: Day) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(sql::UNPRICED_REQUESTS)
            .bind(from.number())
            .bind(to.number())
            .fetch_one(&self.pool)
            .await?)
    }

    async fn labels(&self, dim: Dimension) -> StoreResult<Vec<Label>> {
        let Some(query) = sql::labels(dim) else {
            return Ok(Vec::new());
        };
        self.all(sqlx::query(query), rows::label).await
    }

    async fn monthly_cost_limits(&self) -> StoreResult<Vec<(i64, Money)>> {
        self.all(sqlx::query(sql::MONTHLY_COST_LIMITS), rows::cost_limit)
            .await
    }

    async fn has_real_usage(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(sql::HAS_REAL_USAGE)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn mark_demo(&self, marks: &DemoMarks) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (statement, names) in sql::demo_marks(marks) {
            for name in names {
                sqlx::query(statement).bind(name).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_demo_data(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Concurrent inserts conflict with this lock, so no real usage can
        // slip in between the check and the delete.
        sqlx::query("LOCK TABLE usage_daily IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let real: bool = sqlx::query_scalar(sql::HAS_REAL_USAGE)
            .fetch_one(&mut *tx)
            .await?;
        if real {
            return Err(StoreError::Conflict("usage that is not demo data".into()));
        }
        for statement in sql::DELETE_DEMO_DATA {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(
        &self,
        secret_hash: &str,
        username: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let q = sqlx::query(sql::INSERT_SESSION)
            .bind(secret_hash)
            .bind(csrf_token)
            .bind(now_unix())
            .bind(expires_at.timestamp())
            .bind(username);
        self.update(q, || format!("user {username:?}")).await
    }

    async fn session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let q = sqlx::query(sql::SESSION)
            .bind(secret_hash)
            .bind(now.timestamp());
        self.opt(q, rows::session).await
    }

    async fn delete_session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(secret_hash)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn budget_state(&self, query: &BudgetQuery) -> StoreResult<BudgetState> {
        let mut tx = self.pool.begin().await?;
        let ids = budget::ids(&mut tx, query).await?;
        let state = budget::read_state(&mut tx, query, ids).await?;
        tx.commit().await?;
        Ok(state)
    }

    async fn reserve(
        &self,
        query: &BudgetQuery,
        hold: &Hold,
        decide: Decider,
    ) -> StoreResult<(BudgetState, bool)> {
        let mut tx = self.pool.begin().await?;
        let (user, configuration) = budget::ids(&mut tx, query).await?;
        let configuration_id = configuration.as_ref().map_or(0, |c| c.0);
        lock_budgets(
            &mut tx,
            [(USER_LOCK, user), (CONFIGURATION_LOCK, configuration_id)],
        )
        .await?;
        let state = budget::read_state(&mut tx, query, (user, configuration)).await?;
        let allowed = decide(&state);
        if allowed {
            sqlx::query(sql::INSERT_RESERVATION)
                .bind(&hold.id)
                .bind(user)
                .bind(configuration_id)
                .bind(hold.tokens)
                .bind(stored(hold.cost, "cost_usd")?)
                .bind(query.now.timestamp())
                .bind(hold.expires_at.timestamp())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((state, allowed))
    }

    async fn release(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(sql::RELEASE_RESERVATION)
            .bind(id)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
