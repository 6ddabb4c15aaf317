//! Reading a budget state on PostgreSQL, inside the caller's transaction.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};

use crate::domain::Totals;
use crate::domain::budget::BudgetState;
use crate::store::rows::{self, Columns};
use crate::store::{BudgetQuery, Dimension, StoreResult, sql};

type Tx = Transaction<'static, Postgres>;

async fn one(
    tx: &mut Tx,
    q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
) -> StoreResult<Option<PgRow>> {
    Ok(q.fetch_optional(&mut **tx).await?)
}

async fn totals(
    tx: &mut Tx,
    q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
) -> StoreResult<Totals> {
    one(tx, q)
        .await?
        .map_or(Ok(Totals::default()), |r| rows::totals_row(&r))
}

/// The user's id (0 = unknown) and the configuration the query names,
/// directly or through its task.
pub async fn ids(
    tx: &mut Tx,
    q: &BudgetQuery,
) -> StoreResult<(i64, Option<rows::LimitedConfiguration>)> {
    let user = match one(tx, sqlx::query(sql::USER_ID).bind(&q.username)).await? {
        Some(r) => r.int(0)?,
        None => 0,
    };
    let configuration = if q.configuration.is_none() && q.task.is_none() {
        None
    } else {
        let limits = sqlx::query(sql::CONFIGURATION_LIMITS)
            .bind(&q.configuration)
            .bind(&q.task);
        match one(tx, limits).await? {
            Some(r) => Some(rows::configuration_limits(&r)?),
            None => None,
        }
    };
    Ok((user, configuration))
}

pub async fn read_state(
    tx: &mut Tx,
    q: &BudgetQuery,
    (user, configuration): (i64, Option<rows::LimitedConfiguration>),
) -> StoreResult<BudgetState> {
    let now = q.now.timestamp();
    let (today, month) = (q.today.number(), q.today.month_start().number());
    let mut state = BudgetState::default();
    if user != 0 {
        state.budget = match one(tx, sqlx::query(sql::BUDGET).bind(user)).await? {
            Some(r) => Some(rows::budget(&r)?),
            None => None,
        };
        let held = totals(tx, sqlx::query(sql::HELD_BY_USER).bind(user).bind(now)).await?;
        let dim = Dimension::User.code();
        let item = |from: i32| {
            sqlx::query(sql::ROLLUP_ITEM)
                .bind(from)
                .bind(today)
                .bind(dim)
                .bind(user)
        };
        state.day = totals(tx, item(today)).await?;
        state.month = totals(tx, item(month)).await?;
        state.day.add(&held);
        state.month.add(&held);
    }
    if let Some((id, limits, name)) = configuration {
        let dim = Dimension::Configuration.code();
        let rollup = sqlx::query(sql::ROLLUP_ITEM)
            .bind(today)
            .bind(today)
            .bind(dim)
            .bind(id);
        let mut day = totals(tx, rollup).await?;
        day.add(
            &totals(
                tx,
                sqlx::query(sql::HELD_BY_CONFIGURATION).bind(id).bind(now),
            )
            .await?,
        );
        state.configuration = Some((name, limits));
        state.configuration_day = Some(day);
    }
    Ok(state)
}
