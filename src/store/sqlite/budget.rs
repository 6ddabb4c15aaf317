//! Reading a budget state on SQLite.

use rusqlite::{Connection, params};

use super::{id_of, query_opt};
use crate::domain::Totals;
use crate::domain::budget::BudgetState;
use crate::store::rows;
use crate::store::{BudgetQuery, Dimension, StoreResult, sql};

fn totals(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Totals> {
    Ok(query_opt(conn, sql, params, rows::totals_row)?.unwrap_or_default())
}

/// The state, the user's id and the configuration's id (0 = none).
pub fn read_state(conn: &Connection, q: &BudgetQuery) -> StoreResult<(BudgetState, i64, i64)> {
    let now = q.now.timestamp();
    let (today, month) = (q.today.number(), q.today.month_start().number());
    let mut state = BudgetState::default();
    let user = id_of(conn, sql::USER_ID, &q.username)?.unwrap_or(0);
    if user != 0 {
        state.budget = query_opt(conn, sql::BUDGET, [user], rows::budget)?;
        let held = totals(conn, sql::HELD_BY_USER, params![user, now])?;
        let dim = Dimension::User.code();
        state.day = totals(conn, sql::ROLLUP_ITEM, params![today, today, dim, user])?;
        state.month = totals(conn, sql::ROLLUP_ITEM, params![month, today, dim, user])?;
        state.day.add(&held);
        state.month.add(&held);
    }
    let mut configuration = 0;
    if (q.configuration.is_some() || q.task.is_some())
        && let Some((id, limits, name)) = query_opt(
            conn,
            sql::CONFIGURATION_LIMITS,
            params![q.configuration, q.task],
            rows::configuration_limits,
        )?
    {
        configuration = id;
        let dim = Dimension::Configuration.code();
        let mut day = totals(conn, sql::ROLLUP_ITEM, params![today, today, dim, id])?;
        day.add(&totals(conn, sql::HELD_BY_CONFIGURATION, params![id, now])?);
        state.configuration = Some((name, limits));
        state.configuration_day = Some(day);
    }
    Ok((state, user, configuration))
}
