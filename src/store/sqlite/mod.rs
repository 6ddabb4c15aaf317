//! The embedded SQLite backend (bundled library, WAL).
//!
//! One writer thread owns the only writing connection: every write, and each
//! group commit of usage, runs there with cached prepared statements, so
//! writers never contend for the lock. Reads run on a small pool of
//! connections in blocking tasks.

mod budget;
mod usage;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::group::{self, Pending};
use super::migrations::{HISTORY_TABLE, IS_APPLIED, MARK_APPLIED, SQLITE};
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

/// What the writer thread is asked to do.
enum Job {
    /// A write of its own (catalog, tokens, budgets…).
    Run(Box<dyn FnOnce(&mut Writer) + Send>),
    /// A batch of usage, committed in a group with the batches queued behind it.
    Record(Pending),
}

/// The writer thread's connection and what it remembers between jobs.
struct Writer {
    conn: Connection,
    state: usage::WriterState,
}

pub struct SqliteStore {
    path: PathBuf,
    writer: mpsc::Sender<Job>,
    /// Joined on drop, so the writer's connection is closed before the
    /// process may exit.
    writer_thread: Option<std::thread::JoinHandle<()>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

/// Closes every connection, the writer's last: the last one to close folds
/// the WAL into the database file and removes it, so a command that ends
/// leaves one self-contained file (a copy of it alone is the whole ledger).
impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Ok(mut readers) = self.readers.lock() {
            readers.clear();
        }
        // The writer thread ends when its queue closes.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.writer, closed));
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(e.to_string())
            }
            Some(ErrorCode::CannotOpen) => StoreError::Unavailable(e.to_string()),
            Some(ErrorCode::ReadOnly) => StoreError::Unavailable(format!(
                "{e}: this process may not write the database file or its folder \
                 (SQLite writes its -wal and -shm files beside it); check their \
                 owner and permissions"
            )),
            // Only an upsert's overflow guard makes a cost NULL (see sql.rs).
            Some(ErrorCode::ConstraintViolation) if e.to_string().ends_with(".cost_dollars") => {
                StoreError::TooLarge("cost_usd".into())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// After a guarded user update (`sql::SET_ROLE`, `sql::SET_PROFILE`) of
/// `field` that changed `n` rows: ends the user's sessions when the change
/// takes access away; when nothing changed, tells the guard's refusal from a
/// missing user (only then is the user looked up).
fn ended_or_refused(
    conn: &Connection,
    n: usize,
    username: &str,
    field: &'static str,
    ends_sessions: bool,
) -> StoreResult<()> {
    if n > 0 {
        if ends_sessions {
            conn.execute(sql::END_SESSIONS, [username])?;
        }
        return Ok(());
    }
    let exists = query_opt(conn, sql::USER_ID, [username], |r| r.int(0))?.is_some();
    guarded(0, exists, username, field)
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot open {}: {e}; check that its folder exists and that this process \
             may read and write there",
            path.display()
        ))
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL lets readers run beside the writer; FULL makes every commit
    // durable before the caller is answered.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

pub(super) fn now_unix() -> i64 {
    Utc::now().timestamp()
}

impl SqliteStore {
    pub fn open(path: &str) -> StoreResult<SqliteStore> {
        let path = PathBuf::from(path);
        let mut writer = Writer {
            conn: open_connection(&path)?,
            state: usage::WriterState::default(),
        };
        let (jobs_tx, jobs) = mpsc::channel(group::QUEUE);
        let writer_thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(&mut writer, jobs))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path,
            writer: jobs_tx,
            writer_thread: Some(writer_thread),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `f` on the writer thread's connection.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_with_state(move |conn, state| {
            state.forget_catalog();
            f(conn)
        })
        .await
    }

    /// Runs `f` on the writer thread, with what the recording path keeps
    /// between transactions.
    async fn write_with_state<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &mut usage::WriterState) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(Job::Run(Box::new(move |w: &mut Writer| {
                let _ = tx.send(f(&mut w.conn, &mut w.state));
            })))
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }

    /// Runs `f` on a pooled reading connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(|_| poisoned())?.pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&path)?,
            };
            let result = f(&conn);
            readers.lock().map_err(|_| poisoned())?.push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("a read task failed: {e}")))?
    }
}

/// The writer thread: runs jobs in order; a batch of usage takes every batch
/// queued behind it into its group commit.
fn run_writer(writer: &mut Writer, mut jobs: mpsc::Receiver<Job>) {
    let mut held = None;
    while let Some(job) = held.take().or_else(|| jobs.blocking_recv()) {
        match job {
            Job::Run(f) => f(writer),
            Job::Record(first) => {
                let group = group::gather(first, || match jobs.try_recv() {
                    Ok(Job::Record(next)) => Some(next),
                    Ok(other) => {
                        held = Some(other);
                        None
                    }
                    Err(_) => None,
                });
                let (batches, replies) = group::split(group);
                replies.send(usage::record(&mut writer.conn, &mut writer.state, &batches));
            }
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Database("the connection pool lock is poisoned".into())
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> StoreResult<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.get(i)?)
    }
    fn boolean(&self, i: usize) -> StoreResult<bool> {
        Ok(self.get(i)?)
    }
}

/// Runs a cached statement and decodes every row.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row as &dyn Columns)?);
    }
    Ok(out)
}

/// Runs a cached statement and decodes the first row, if any.
fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?
        .map(|row| decode(row as &dyn Columns))
        .transpose()
}

fn id_of(conn: &Connection, sql: &str, value: &str) -> StoreResult<Option<i64>> {
    query_opt(conn, sql, [value], |r| r.int(0))
}

fn user_id(conn: &Connection, username: &str) -> StoreResult<i64> {
    id_of(conn, sql::USER_ID, username)?
        .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<usize> {
        self.write(|conn| {
            conn.execute_batch(HISTORY_TABLE)?;
            let mut applied = 0;
            for m in SQLITE {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let done: bool = tx.query_row(IS_APPLIED, [m.version], |r| r.get(0))?;
                if !done {
                    tx.execute_batch(m.sql)
                        .map_err(|e| StoreError::Database(format!("migration {}: {e}", m.name)))?;
                    tx.execute(MARK_APPLIED, params![m.version, m.name, now_unix()])?;
                    applied += 1;
                }
                tx.commit()?;
            }
            Ok(applied)
        })
        .await
    }

    async fn timezone(&self) -> StoreResult<Option<String>> {
        self.read(|conn| query_opt(conn, sql::TIMEZONE, [], |r| r.text(0)))
            .await
    }

    async fn init_timezone(&self, timezone: &str) -> StoreResult<String> {
        let timezone = timezone.to_string();
        self.write(move |conn| {
            conn.execute(sql::INIT_TIMEZONE, params![timezone, now_unix()])?;
            Ok(conn.query_row(sql::TIMEZONE, [], |r| r.get(0))?)
        })
        .await
    }

    async fn providers(&self) -> StoreResult<Vec<Provider>> {
        self.read(|conn| query_all(conn, sql::PROVIDERS, [], rows::provider))
            .await
    }

    async fn models(&self) -> StoreResult<Vec<Model>> {
        self.read(|conn| query_all(conn, sql::MODELS, [], rows::model))
            .await
    }

    async fn configurations(&self) -> StoreResult<Vec<Configuration>> {
        self.read(|conn| query_all(conn, sql::CONFIGURATIONS, [], rows::configuration))
            .await
    }

    async fn tasks(&self) -> StoreResult<Vec<Task>> {
        self.read(|conn| query_all(conn, sql::TASKS, [], rows::task))
            .await
    }

    async fn save_provider(&self, p: &Provider) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |conn| {
            conn.execute(
                sql::SAVE_PROVIDER,
                params![p.identifier, p.name, p.adapter_type, p.active, p.discovered],
            )?;
            Ok(())
        })
        .await
    }

    async fn save_model(&self, m: &Model) -> StoreResult<()> {
        let m = m.clone();
        self.write(move |conn| {
            let provider = id_of(conn, sql::PROVIDER_ID, &m.provider)?
                .ok_or_else(|| StoreError::NotFound(format!("provider {:?}", m.provider)))?;
            let p = m.pricing;
            conn.execute(
                sql::SAVE_MODEL,
                params![
                    m.identifier,
                    m.name,
                    provider,
                    m.model_id,
                    p.map(|p| p.input.units()),
                    p.map(|p| p.output.units()),
                    p.and_then(|p| p.cache_read).map(|c| c.units()),
                    p.and_then(|p| p.cache_write).map(|c| c.units()),
                    m.active,
                    m.discovered
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn save_configuration(&self, c: &Configuration) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| {
            let model = match &c.model {
                None => None,
                Some(m) => Some(
                    id_of(conn, sql::MODEL_ID, m)?
                        .ok_or_else(|| StoreError::NotFound(format!("model {m:?}")))?,
                ),
            };
            let l = c.limits;
            conn.execute(
                sql::SAVE_CONFIGURATION,
                params![
                    c.identifier,
                    c.name,
                    model,
                    l.max_requests_per_day,
                    l.max_tokens_per_day,
                    stored(l.max_cost_per_day, "max_cost_per_day")?,
                    c.discovered
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn save_task(&self, t: &Task) -> StoreResult<()> {
        let t = t.clone();
        self.write(move |conn| {
            let configuration = match &t.configuration {
                None => None,
                Some(c) => Some(
                    id_of(conn, sql::CONFIGURATION_ID, c)?
                        .ok_or_else(|| StoreError::NotFound(format!("configuration {c:?}")))?,
                ),
            };
            conn.execute(
                sql::SAVE_TASK,
                params![t.identifier, t.name, configuration, t.discovered],
            )?;
            Ok(())
        })
        .await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| query_all(conn, sql::USERS, [], |r| rows::user(r).map(|u| u.user)))
            .await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let username = username.to_string();
        self.read(move |conn| query_opt(conn, sql::USER, [username], rows::user))
            .await
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<()> {
        let u = u.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let discovered = query_opt(&tx, sql::USER_DISCOVERED, [&u.username], |r| r.boolean(0))?;
            let role = u.role.as_str();
            match discovered {
                Some(false) => return Err(StoreError::Conflict(format!("user {:?}", u.username))),
                Some(true) => tx.execute(
                    sql::CLAIM_USER,
                    params![u.display_name, role, u.password_hash, u.username],
                )?,
                None => tx.execute(
                    sql::INSERT_USER,
                    params![
                        u.username,
                        u.display_name,
                        role,
                        u.password_hash,
                        now_unix()
                    ],
                )?,
            };
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        let (username, hash) = (username.to_string(), password_hash.to_string());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute(sql::SET_PASSWORD, params![hash, username])?;
            tx.execute(sql::END_SESSIONS, [&username])?;
            tx.commit()?;
            changed(n as u64, || format!("user {username:?}"))
        })
        .await
    }

    async fn set_role(&self, username: &str, role: Role) -> StoreResult<()> {
        let username = username.to_string();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute(sql::SET_ROLE, params![role.as_str(), username])?;
            ended_or_refused(&tx, n, &username, "role", role != Role::Admin)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_profile(
        &self,
        username: &str,
        display_name: &str,
        active: bool,
    ) -> StoreResult<()> {
        let (username, display_name) = (username.to_string(), display_name.to_string());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute(sql::SET_PROFILE, params![display_name, active, username])?;
            ended_or_refused(&tx, n, &username, "active", !active)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn budget(&self, username: &str) -> StoreResult<Option<Budget>> {
        let username = username.to_string();
        self.read(move |conn| {
            let id = user_id(conn, &username)?;
            query_opt(conn, sql::BUDGET, [id], rows::budget)
        })
        .await
    }

    async fn set_budget(&self, username: &str, budget: &Budget) -> StoreResult<()> {
        let (username, b) = (username.to_string(), *budget);
        self.write(move |conn| {
            let id = user_id(conn, &username)?;
            conn.execute(
                sql::SET_BUDGET,
                params![
                    id,
                    b.max_requests_per_day,
                    b.max_tokens_per_day,
                    stored(b.max_cost_per_day, "max_cost_per_day")?,
                    b.max_requests_per_month,
                    b.max_tokens_per_month,
                    stored(b.max_cost_per_month, "max_cost_per_month")?,
                    b.enforced
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn create_token(
        &self,
        name: &str,
        scope: Scope,
        secret_hash: &str,
    ) -> StoreResult<ApiToken> {
        let (name, hash) = (name.to_string(), secret_hash.to_string());
        self.write(move |conn| {
            let id: i64 = conn.query_row(
                sql::INSERT_TOKEN,
                params![name, scope.as_str(), hash, now_unix()],
                |r| r.get(0),
            )?;
            query_opt(conn, sql::TOKEN, [id], rows::token)?
                .ok_or_else(|| StoreError::Database("a new token vanished".into()))
        })
        .await
    }

    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(|conn| query_all(conn, sql::TOKENS, [], rows::token))
            .await
    }

    async fn revoke_token(&self, id: i64) -> StoreResult<()> {
        self.write(move |conn| {
            let n = conn.execute(sql::REVOKE_TOKEN, params![now_unix(), id])?;
            changed(n as u64, || format!("token {id}"))
        })
        .await
    }

    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>> {
        let hash = secret_hash.to_string();
        self.read(move |conn| query_opt(conn, sql::TOKEN_BY_HASH, [hash], rows::token))
            .await
    }

    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(sql::TOUCH_TOKEN, params![at.timestamp(), id])?;
            Ok(())
        })
        .await
    }

    async fn record(&self, batch: Vec<PreparedRecord>) -> StoreResult<BatchResult> {
        group::submit(&self.writer, batch, Job::Record).await
    }

    async fn prune(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write_with_state(move |conn, state| usage::prune(conn, state, before.timestamp()))
            .await
    }

    async fn analyze(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn vacuum_if_unattended(&self) -> StoreResult<bool> {
        // Space of deleted rows is reused, and nothing else needs upkeep.
        Ok(false)
    }

    async fn usage_rows(&self, from: Day, to: Day) -> StoreResult<Vec<UsageRow>> {
        self.read(move |conn| usage::rows(conn, from, to)).await
    }

    async fn has_usage(&self) -> StoreResult<bool> {
        self.read(|conn| Ok(conn.query_row(sql::HAS_USAGE, [], |r| r.get(0))?))
            .await
    }

    async fn rollup(&self, dim: Dimension, from: Day, to: Day) -> StoreResult<Vec<(i64, Totals)>> {
        let (code, from, to) = (dim.code(), from.number(), to.number());
        self.read(move |conn| match dim.weekly_code() {
            None => query_all(conn, sql::ROLLUP, (code, from, to), rows::item_totals),
            Some(weekly) => {
                let [head, weeks, tail] = super::split_weeks(from, to);
                let args = params![
                    code, head.0, head.1, weekly, weeks.0, weeks.1, code, tail.0, tail.1
                ];
                query_all(conn, sql::ROLLUP_WEEKS, args, rows::item_totals)
            }
        })
        .await
    }

    async fn user_totals(&self, username: &str, from: Day, to: Day) -> StoreResult<Totals> {
        let username = username.to_string();
        let (from, to, dim) = (from.number(), to.number(), Dimension::User.code());
        self.read(move |conn| {
            let args = params![from, to, dim, user_id(conn, &username)?];
            Ok(query_opt(conn, sql::ROLLUP_ITEM, args, rows::totals_row)?.unwrap_or_default())
        })
        .await
    }

    async fn daily_totals(&self, from: Day, to: Day) -> StoreResult<Vec<(Day, Totals)>> {
        let args = (from.number(), to.number());
        self.read(move |conn| query_all(conn, sql::DAILY_TOTALS, args, rows::day_totals))
            .await
    }

    async fn unpriced_requests(&self, from: Day, to: Day) -> StoreResult<i64> {
        let args = (from.number(), to.number());
        self.read(move |conn| Ok(conn.query_row(sql::UNPRICED_REQUESTS, args, |r| r.get(0))?))
            .await
    }

    async fn labels(&self, dim: Dimension) -> StoreResult<Vec<Label>> {
        let Some(query) = sql::labels(dim) else {
            return Ok(Vec::new());
        };
        self.read(move |conn| query_all(conn, query, [], rows::label))
            .await
    }

    async fn monthly_cost_limits(&self) -> StoreResult<Vec<(i64, Money)>> {
        self.read(|conn| query_all(conn, sql::MONTHLY_COST_LIMITS, [], rows::cost_limit))
            .await
    }

    async fn has_real_usage(&self) -> StoreResult<bool> {
        self.read(|conn| Ok(conn.query_row(sql::HAS_REAL_USAGE, [], |r| r.get(0))?))
            .await
    }

    async fn mark_demo(&self, marks: &DemoMarks) -> StoreResult<()> {
        let marks = marks.clone();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            for (statement, names) in sql::demo_marks(&marks) {
                for name in names {
                    tx.prepare_cached(statement)?.execute([name])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn delete_demo_data(&self) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if tx.query_row(sql::HAS_REAL_USAGE, [], |r| r.get(0))? {
                return Err(StoreError::Conflict("usage that is not demo data".into()));
            }
            for statement in sql::DELETE_DEMO_DATA {
                tx.execute(statement, [])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn create_session(
        &self,
        secret_hash: &str,
        username: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let args = (
            secret_hash.to_string(),
            csrf_token.to_string(),
            now_unix(),
            expires_at.timestamp(),
            username.to_string(),
        );
        self.write(move |conn| {
            let n = conn.execute(sql::INSERT_SESSION, args.clone())?;
            changed(n as u64, || format!("user {:?}", args.4))
        })
        .await
    }

    async fn session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let args = (secret_hash.to_string(), now.timestamp());
        self.read(move |conn| query_opt(conn, sql::SESSION, args, rows::session))
            .await
    }

    async fn delete_session(&self, secret_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let args = (secret_hash.to_string(), now.timestamp());
        self.write(move |conn| {
            conn.execute(sql::DELETE_SESSION, args)?;
            Ok(())
        })
        .await
    }

    async fn budget_state(&self, query: &BudgetQuery) -> StoreResult<BudgetState> {
        let query = query.clone();
        self.read(move |conn| Ok(budget::read_state(conn, &query)?.0))
            .await
    }

    async fn reserve(
        &self,
        query: &BudgetQuery,
        hold: &Hold,
        decide: Decider,
    ) -> StoreResult<(BudgetState, bool)> {
        let (query, hold) = (query.clone(), hold.clone());
        // The writer thread runs one write at a time: no other reservation or
        // settlement can come between the read and the insert.
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (state, user, configuration) = budget::read_state(&tx, &query)?;
            let allowed = decide(&state);
            if allowed {
                tx.execute(
                    sql::INSERT_RESERVATION,
                    params![
                        hold.id,
                        user,
                        configuration,
                        hold.tokens,
                        stored(hold.cost, "cost_usd")?,
                        query.now.timestamp(),
                        hold.expires_at.timestamp()
                    ],
                )?;
            }
            tx.commit()?;
            Ok((state, allowed))
        })
        .await
    }

    async fn release(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |conn| {
            Ok(conn.execute(sql::RELEASE_RESERVATION, params![id, now.timestamp()])? == 1)
        })
        .await
    }
}
