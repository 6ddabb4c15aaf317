//! Budget checks and strict reservations (SPEC §4).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{App, AppError, AppResult};
use crate::domain::budget::{BudgetState, Decision, Planned, decide};
use crate::domain::record::{MAX_KEY_LEN, MAX_NAME_LEN, check_name};
use crate::store::{BudgetQuery, Hold};

/// How long a reservation holds when nobody settles or releases it.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(300);
/// The longest a reservation may hold, in seconds: a week. A hold is for
/// one call; longer ones would outlive the idempotency keys (8 days) whose
/// pruning also forgets expired holds.
pub const MAX_RESERVATION_TTL_SECS: u64 = 7 * 24 * 3600;

/// A question about a planned call.
#[derive(Clone, Debug)]
pub struct BudgetRequest {
    pub user: String,
    pub planned: Planned,
    pub configuration: Option<String>,
    /// A task: without `configuration`, the limits of the configuration it
    /// runs through apply.
    pub task: Option<String>,
}

/// The answer: the decision and the usage it was made on (holds included).
#[derive(Clone, Debug)]
pub struct BudgetAnswer {
    pub decision: Decision,
    pub usage: BudgetState,
    /// For an allowed reservation: its id and when it lapses.
    pub reservation: Option<(String, DateTime<Utc>)>,
}

impl BudgetRequest {
    fn validate(&self) -> AppResult<()> {
        check_name(Some(&self.user), MAX_NAME_LEN).map_err(|m| AppError::invalid("user", m))?;
        check_name(self.configuration.as_deref(), MAX_NAME_LEN)
            .map_err(|m| AppError::invalid("configuration", m))?;
        check_name(self.task.as_deref(), MAX_NAME_LEN).map_err(|m| AppError::invalid("task", m))?;
        if self.planned.tokens < 0 {
            return Err(AppError::invalid("planned_tokens", "must not be negative"));
        }
        Ok(())
    }
}

impl App {
    fn budget_query(&self, request: &BudgetRequest) -> BudgetQuery {
        let now = Utc::now();
        BudgetQuery {
            username: request.user.clone(),
            configuration: request.configuration.clone(),
            task: request.task.clone(),
            today: crate::domain::Day::of(now, self.timezone),
            now,
        }
    }

    /// The reference check: may this call run? Concurrent checks can both
    /// pass; use [`App::reserve_budget`] where that matters.
    pub async fn check_budget(&self, request: &BudgetRequest) -> AppResult<BudgetAnswer> {
        request.validate()?;
        let usage = self.store.budget_state(&self.budget_query(request)).await?;
        Ok(BudgetAnswer {
            decision: decide(&usage, request.planned),
            usage,
            reservation: None,
        })
    }

    /// The strict path: checks and, when allowed, holds the planned amounts
    /// until the call's usage is recorded with the reservation id, the hold
    /// is released, or it expires.
    pub async fn reserve_budget(&self, request: &BudgetRequest) -> AppResult<BudgetAnswer> {
        request.validate()?;
        let query = self.budget_query(request);
        let ttl = chrono::Duration::from_std(self.reservation_ttl)
            .unwrap_or(chrono::Duration::minutes(5));
        // Stored in whole seconds: round up so a hold never lasts less than the TTL.
        let lapse = query.now.checked_add_signed(ttl).ok_or_else(|| {
            AppError::Internal("the reservation lifetime reaches past the calendar".into())
        })?;
        let expires_at = DateTime::from_timestamp(lapse.timestamp() + 1, 0).unwrap_or(lapse);
        let hold = Hold {
            id: format!("res_{}", crate::secrets::random_hex::<16>()),
            tokens: request.planned.tokens,
            cost: request.planned.cost,
            expires_at,
        };
        let planned = request.planned;
        let (usage, held) = self
            .store
            .reserve(
                &query,
                &hold,
                Arc::new(move |state| decide(state, planned).allowed),
            )
            .await?;
        let decision = decide(&usage, planned);
        Ok(BudgetAnswer {
            decision,
            usage,
            reservation: held.then_some((hold.id, expires_at)),
        })
    }

    /// Releases a live hold; false when it was unknown, settled or expired.
    pub async fn release_reservation(&self, id: &str) -> AppResult<bool> {
        check_name(Some(id), MAX_KEY_LEN).map_err(|m| AppError::invalid("reservation_id", m))?;
        Ok(self.store.release(id, Utc::now()).await?)
    }

    /// Sets how long new reservations hold: from a second to
    /// `MAX_RESERVATION_TTL_SECS` (a value outside is brought within).
    pub fn set_reservation_ttl(&mut self, ttl: Duration) {
        self.reservation_ttl = ttl.clamp(
            Duration::from_secs(1),
            Duration::from_secs(MAX_RESERVATION_TTL_SECS),
        );
    }
}
