//! The application facade: the one place that holds the rules which need
//! storage. The CLI, the HTTP layer and embedding programs all call `App`.

mod analytics;
mod budget;
pub mod catalog_file;
pub mod catalog_json;
mod error;
mod seed;
mod sessions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use chrono_tz::Tz;

use crate::domain::day::{parse_timezone, same_zone, system_timezone};
use crate::domain::{
    ApiToken, Budget, Day, FieldError, RejectReason, Role, Scope, Totals, UsageRecord, User,
};
use crate::secrets;
use crate::store::{self, BatchOutcome, NewUser, PreparedRecord, Store, UsageRow};

pub use analytics::{Listed, NO_MODEL, SYSTEM, UNATTRIBUTED};
pub use budget::{BudgetAnswer, BudgetRequest, DEFAULT_RESERVATION_TTL, MAX_RESERVATION_TTL_SECS};
pub use catalog_file::{ApplySummary, CatalogFile};
pub use error::{AppError, AppResult, Problem, Problems};
pub use seed::{Scale, SeedOptions, SeedSummary};
pub use sessions::{LoginOutcome, SESSION_LIFETIME};

/// How long idempotency keys are remembered (SPEC: at least 7 days).
pub const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::days(8);
/// A token's `last_used_at` is written at most this often.
/// Why an administrator without a password is refused: only administrators
/// sign in to the web UI, and they sign in with a password.
pub const ADMIN_NEEDS_PASSWORD: &str =
    "an administrator needs a password to sign in; set one first";

const TOKEN_TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// How long an answer of `authenticate` is reused.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);
/// Secrets remembered at most; a flood of wrong secrets only empties the cache.
const TOKEN_CACHE_SIZE: usize = 10_000;

fn poisoned() -> AppError {
    AppError::Internal("a lock is poisoned".into())
}

pub struct App {
    store: Arc<dyn Store>,
    timezone: Tz,
    token_touches: Mutex<HashMap<i64, Instant>>,
    /// Recent answers of `authenticate`, by secret hash.
    tokens: Mutex<HashMap<String, (Option<ApiToken>, Instant)>>,
    reservation_ttl: Duration,
    login_throttle: sessions::LoginThrottle,
    /// Migrations this `open` applied (every command migrates on open).
    migrations_applied: usize,
}

impl App {
    /// Connects, applies migrations and settles the time zone: a new database
    /// takes `timezone` (default: the system's); an existing one keeps its own,
    /// and naming a different one is an error.
    pub async fn open(url: &str, timezone: Option<&str>) -> AppResult<App> {
        // Checked first: a bad zone must not leave a new database behind.
        let requested = timezone
            .map(parse_timezone)
            .transpose()
            .map_err(|m| AppError::invalid("timezone", m))?;
        let store = store::connect(url).await?;
        let migrations_applied = store.migrate().await?;
        let zone = match (store.timezone().await?, requested) {
            (Some(stored), Some(requested)) if !same_zone(&stored, requested.name()) => {
                return Err(AppError::invalid(
                    "timezone",
                    format!(
                        "this database uses the time zone {stored}; it cannot be changed to {}",
                        requested.name()
                    ),
                ));
            }
            (Some(stored), _) => stored,
            (None, requested) => {
                let zone = requested.unwrap_or_else(system_timezone);
                store.init_timezone(zone.name()).await?
            }
        };
        let timezone = parse_timezone(&zone).map_err(AppError::Internal)?;
        Ok(App {
            store,
            timezone,
            token_touches: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            reservation_ttl: DEFAULT_RESERVATION_TTL,
            login_throttle: sessions::LoginThrottle::default(),
            migrations_applied,
        })
    }

    /// How many schema migrations opening the ledger applied.
    pub fn migrations_applied(&self) -> usize {
        self.migrations_applied
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Today in the ledger's time zone.
    pub fn today(&self) -> Day {
        Day::of(Utc::now(), self.timezone)
    }

    /// Validates and records usage (SPEC §3): all of it, durably, or nothing.
    pub async fn record(&self, records: Vec<UsageRecord>) -> AppResult<BatchOutcome> {
        let now = Utc::now();
        if records.is_empty() {
            return Ok(BatchOutcome::default());
        }
        if records.len() > crate::domain::record::MAX_RECORDS {
            return Err(AppError::Rejected(RejectReason::TooMany(records.len())));
        }
        let errors: Vec<FieldError> = records
            .iter()
            .enumerate()
            .flat_map(|(index, r)| {
                r.validate(now)
                    .into_iter()
                    .map(move |(field, message)| FieldError {
                        index,
                        field: field.into(),
                        message,
                    })
            })
            .collect();
        if !errors.is_empty() {
            return Err(AppError::Rejected(RejectReason::Invalid(errors)));
        }
        let batch = records
            .into_iter()
            .map(|record| {
                let day = Day::of(record.occurred_at.unwrap_or(now), self.timezone);
                PreparedRecord::new(record, day, now.timestamp())
            })
            .collect();
        self.store
            .record(batch)
            .await?
            .map_err(|errors| AppError::Rejected(RejectReason::Invalid(errors)))
    }

    /// Parses a request body (one record or `{"records": [...]}`) and records it.
    pub async fn record_json(&self, body: &[u8]) -> AppResult<BatchOutcome> {
        let records =
            crate::domain::record::parse_body(body, Utc::now()).map_err(AppError::Rejected)?;
        self.record(records).await
    }

    /// Forgets idempotency keys older than the retention period.
    pub async fn prune_expired(&self) -> AppResult<u64> {
        Ok(self.store.prune(Utc::now() - IDEMPOTENCY_RETENTION).await?)
    }

    /// After a bulk load (seeding, an import): statistics for the planner.
    pub async fn analyze(&self) -> AppResult<()> {
        Ok(self.store.analyze().await?)
    }

    /// Vacuums where the database server does not (see
    /// `Store::vacuum_if_unattended`); returns whether it did.
    pub async fn vacuum_if_unattended(&self) -> AppResult<bool> {
        Ok(self.store.vacuum_if_unattended().await?)
    }

    pub async fn usage_rows(&self, from: Day, to: Day) -> AppResult<Vec<UsageRow>> {
        Ok(self.store.usage_rows(from, to).await?)
    }

    pub async fn has_usage(&self) -> AppResult<bool> {
        Ok(self.store.has_usage().await?)
    }

    // ---- users -------------------------------------------------------------

    pub async fn users(&self) -> AppResult<Vec<User>> {
        Ok(self.store.users().await?)
    }

    /// One user, or NotFound.
    pub async fn user(&self, username: &str) -> AppResult<User> {
        self.users()
            .await?
            .into_iter()
            .find(|u| u.username == username)
            .ok_or_else(|| AppError::NotFound(format!("user {username:?}")))
    }

    pub async fn create_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password: Option<&str>,
    ) -> AppResult<()> {
        if role == Role::Admin && password.is_none() {
            return Err(AppError::invalid("password", ADMIN_NEEDS_PASSWORD));
        }
        crate::domain::catalog::check_identifier("username", username)
            .map_err(|(f, m)| AppError::invalid(f, m))?;
        if let Some(name) = display_name {
            crate::domain::catalog::check_identifier("display_name", name)
                .map_err(|(f, m)| AppError::invalid(f, m))?;
        }
        let password_hash = password.map(hash_new_password).transpose()?;
        Ok(self
            .store
            .create_user(&NewUser {
                username: username.to_string(),
                display_name: display_name.unwrap_or(username).to_string(),
                role,
                password_hash,
            })
            .await?)
    }

    pub async fn set_password(&self, username: &str, password: &str) -> AppResult<()> {
        let hash = hash_new_password(password)?;
        Ok(self.store.set_password(username, &hash).await?)
    }

    /// Refuses to demote the last active administrator who can sign in
    /// (`StoreError::LastAdmin`): no one could sign in to the web UI until
    /// the next `serve` made a new one. Only a user with a password becomes
    /// an administrator.
    pub async fn set_role(&self, username: &str, role: Role) -> AppResult<()> {
        if role == Role::Admin {
            let user = self.store.user(username).await?;
            let user = user.ok_or_else(|| AppError::NotFound(format!("user {username:?}")))?;
            if user.password_hash.is_none() {
                return Err(AppError::invalid("role", ADMIN_NEEDS_PASSWORD));
            }
        }
        Ok(self.store.set_role(username, role).await?)
    }

    /// Sets the display name and whether the user may sign in; an inactive
    /// user's usage is still recorded and its sessions stop working.
    pub async fn set_profile(
        &self,
        username: &str,
        display_name: &str,
        active: bool,
    ) -> AppResult<()> {
        crate::domain::catalog::check_identifier("display_name", display_name)
            .map_err(|(f, m)| AppError::invalid(f, m))?;
        Ok(self
            .store
            .set_profile(username, display_name, active)
            .await?)
    }

    /// On a ledger where no administrator can sign in (none is active with
    /// a password), creates `admin` with a random password and returns that
    /// password (to be shown once).
    pub async fn ensure_initial_admin(&self) -> AppResult<Option<String>> {
        if self
            .store
            .users()
            .await?
            .iter()
            .any(|u| u.role == Role::Admin && u.active && u.has_password)
        {
            return Ok(None);
        }
        let password = secrets::random_password();
        match self
            .create_user("admin", Some("Administrator"), Role::Admin, Some(&password))
            .await
        {
            Ok(()) => Ok(Some(password)),
            // Another process created it first.
            Err(AppError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks a username and password; returns the user when they match.
    /// The user a username and password sign in as. An unknown user, or one
    /// without a password, is checked against a stand-in hash, so that the
    /// answer takes as long and does not tell which usernames exist. The
    /// hash runs off the async workers (it takes tens of milliseconds).
    pub async fn verify_login(&self, username: &str, password: &str) -> AppResult<Option<User>> {
        let record = self.store.user(username).await?;
        let hash = record.as_ref().and_then(|r| r.password_hash.clone());
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => secrets::verify_password(&password, &hash),
            None => {
                secrets::verify_password(&password, secrets::stand_in_password_hash());
                false
            }
        })
        .await
        .map_err(|e| AppError::Internal(format!("the password check failed: {e}")))?;
        Ok(record.filter(|r| ok && r.user.active).map(|r| r.user))
    }

    // ---- budgets -----------------------------------------------------------

    pub async fn budget(&self, username: &str) -> AppResult<Option<Budget>> {
        Ok(self.store.budget(username).await?)
    }

    pub async fn set_budget(&self, username: &str, budget: &Budget) -> AppResult<()> {
        let mut problems = Problems::default();
        for (field, value) in [
            ("max_requests_per_day", budget.max_requests_per_day.into()),
            ("max_tokens_per_day", budget.max_tokens_per_day.into()),
            ("max_cost_per_day", budget.max_cost_per_day.picos()),
            (
                "max_requests_per_month",
                budget.max_requests_per_month.into(),
            ),
            ("max_tokens_per_month", budget.max_tokens_per_month.into()),
            ("max_cost_per_month", budget.max_cost_per_month.picos()),
        ] {
            if value < 0i128 {
                problems.add(field, "must not be negative");
            }
        }
        problems.finish()?;
        Ok(self.store.set_budget(username, budget).await?)
    }

    // ---- API tokens --------------------------------------------------------

    /// Creates a token; the secret is returned once and never stored.
    pub async fn create_token(&self, name: &str, scope: Scope) -> AppResult<(ApiToken, String)> {
        crate::domain::catalog::check_identifier("name", name)
            .map_err(|(f, m)| AppError::invalid(f, m))?;
        let secret = secrets::new_token_secret();
        let token = self
            .store
            .create_token(name, scope, &secrets::token_hash(&secret))
            .await?;
        Ok((token, secret))
    }

    pub async fn tokens(&self) -> AppResult<Vec<ApiToken>> {
        Ok(self.store.tokens().await?)
    }

    /// Revokes a token named by id or, when unambiguous, by name.
    pub async fn revoke_token(&self, id_or_name: &str) -> AppResult<ApiToken> {
        let tokens = self.store.tokens().await?;
        // An id first; a name that looks like a number still works when no
        // token has that id.
        let by_id = id_or_name
            .parse::<i64>()
            .ok()
            .and_then(|id| tokens.iter().find(|t| t.id == id));
        let matches: Vec<&ApiToken> = match by_id {
            Some(token) => vec![token],
            None => tokens
                .iter()
                .filter(|t| t.name == id_or_name && !t.revoked)
                .collect(),
        };
        match matches.as_slice() {
            [] => Err(AppError::NotFound(format!("token {id_or_name:?}"))),
            [token] if token.revoked => Err(AppError::invalid(
                "token",
                format!("token {} ({:?}) is revoked already", token.id, token.name),
            )),
            [token] => {
                self.store.revoke_token(token.id).await?;
                self.tokens.lock().map_err(|_| poisoned())?.clear();
                Ok((*token).clone())
            }
            _ => Err(AppError::invalid(
                "token",
                format!("several active tokens are named {id_or_name:?}; revoke by id"),
            )),
        }
    }

    /// The active token a secret belongs to, if any. Answers are cached for
    /// `TOKEN_CACHE_TTL`: a revocation through this process applies at once,
    /// one made by another process within that time.
    pub async fn authenticate(&self, secret: &str) -> AppResult<Option<ApiToken>> {
        let hash = secrets::token_hash(secret);
        let now = Instant::now();
        let cached = self
            .tokens
            .lock()
            .map_err(|_| poisoned())?
            .get(&hash)
            .cloned();
        let token = match cached {
            Some((token, at)) if now.duration_since(at) < TOKEN_CACHE_TTL => token,
            _ => {
                let token = self
                    .store
                    .token_by_hash(&hash)
                    .await?
                    .filter(|t| !t.revoked);
                let mut cache = self.tokens.lock().map_err(|_| poisoned())?;
                if cache.len() >= TOKEN_CACHE_SIZE {
                    cache.clear();
                }
                cache.insert(hash, (token.clone(), now));
                token
            }
        };
        let Some(token) = token else { return Ok(None) };
        let due = {
            let mut touches = self.token_touches.lock().map_err(|_| poisoned())?;
            let due = touches
                .get(&token.id)
                .is_none_or(|t| now.duration_since(*t) >= TOKEN_TOUCH_INTERVAL);
            if due {
                touches.insert(token.id, now);
            }
            due
        };
        if due {
            self.store.touch_token(token.id, Utc::now()).await?;
        }
        Ok(Some(token))
    }

    /// The store, for the catalog file and tests in this crate.
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

fn hash_new_password(password: &str) -> AppResult<String> {
    secrets::check_new_password(password).map_err(|m| AppError::invalid("password", m))?;
    secrets::hash_password(password).map_err(AppError::Internal)
}

/// A user's usage today and this calendar month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserUsage {
    pub today: Totals,
    pub month: Totals,
}
