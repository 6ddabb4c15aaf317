//! Decoding rows into domain types, written once for both backends against
//! a tiny column-access trait.

use chrono::{DateTime, Utc};

use super::resolve::{ModelRef, UsageRow};
use super::{Label, Session, StoreError, StoreResult, UserRecord};
use crate::domain::{
    ApiToken, Budget, Configuration, Counts, DailyLimits, Day, Model, Money, Price, Pricing,
    Provider, ServiceType, Task, Totals, User,
};

/// Column access by position, as both drivers offer it.
pub trait Columns {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn boolean(&self, i: usize) -> StoreResult<bool>;
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Database(format!("stored {what} is invalid"))
}

fn price(units: i64) -> StoreResult<Price> {
    Price::from_units(units).map_err(|_| corrupt("price"))
}

fn pricing(r: &dyn Columns, first: usize) -> StoreResult<Option<Pricing>> {
    let (Some(input), Some(output)) = (r.opt_int(first)?, r.opt_int(first + 1)?) else {
        return Ok(None);
    };
    Ok(Some(Pricing {
        input: price(input)?,
        output: price(output)?,
        cache_read: r.opt_int(first + 2)?.map(price).transpose()?,
        cache_write: r.opt_int(first + 3)?.map(price).transpose()?,
    }))
}

fn timestamp(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| corrupt("timestamp"))
}

pub fn provider(r: &dyn Columns) -> StoreResult<Provider> {
    Ok(Provider {
        identifier: r.text(0)?,
        name: r.text(1)?,
        adapter_type: r.text(2)?,
        active: r.boolean(3)?,
        discovered: r.boolean(4)?,
    })
}

pub fn model(r: &dyn Columns) -> StoreResult<Model> {
    Ok(Model {
        identifier: r.text(0)?,
        name: r.text(1)?,
        provider: r.text(2)?,
        model_id: r.text(3)?,
        pricing: pricing(r, 4)?,
        active: r.boolean(8)?,
        discovered: r.boolean(9)?,
    })
}

pub fn configuration(r: &dyn Columns) -> StoreResult<Configuration> {
    Ok(Configuration {
        identifier: r.text(0)?,
        name: r.text(1)?,
        model: r.opt_text(2)?,
        limits: DailyLimits {
            max_requests_per_day: r.int(3)?,
            max_tokens_per_day: r.int(4)?,
            max_cost_per_day: Money::from_picos(r.int(5)?),
        },
        discovered: r.boolean(6)?,
    })
}

pub fn task(r: &dyn Columns) -> StoreResult<Task> {
    Ok(Task {
        identifier: r.text(0)?,
        name: r.text(1)?,
        configuration: r.opt_text(2)?,
        discovered: r.boolean(3)?,
    })
}

pub fn user(r: &dyn Columns) -> StoreResult<UserRecord> {
    let password_hash = r.opt_text(5)?;
    Ok(UserRecord {
        user: User {
            username: r.text(0)?,
            display_name: r.text(1)?,
            role: r.text(2)?.parse().map_err(|_| corrupt("role"))?,
            active: r.boolean(3)?,
            discovered: r.boolean(4)?,
            has_password: password_hash.is_some(),
        },
        password_hash,
    })
}

pub fn budget(r: &dyn Columns) -> StoreResult<Budget> {
    Ok(Budget {
        max_requests_per_day: r.int(0)?,
        max_tokens_per_day: r.int(1)?,
        max_cost_per_day: Money::from_picos(r.int(2)?),
        max_requests_per_month: r.int(3)?,
        max_tokens_per_month: r.int(4)?,
        max_cost_per_month: Money::from_picos(r.int(5)?),
        enforced: r.boolean(6)?,
    })
}

pub fn token(r: &dyn Columns) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.int(0)?,
        name: r.text(1)?,
        scope: r.text(2)?.parse().map_err(|_| corrupt("scope"))?,
        created_at: timestamp(r.int(3)?)?,
        last_used_at: r.opt_int(4)?.map(timestamp).transpose()?,
        revoked: r.opt_int(5)?.is_some(),
    })
}

pub fn model_ref(r: &dyn Columns) -> StoreResult<ModelRef> {
    Ok(ModelRef {
        id: r.int(0)?,
        identifier: r.text(1)?,
        provider_id: r.int(2)?,
        provider: r.text(3)?,
        model_id: r.text(4)?,
        pricing: pricing(r, 5)?,
    })
}

pub fn usage_row(r: &dyn Columns) -> StoreResult<UsageRow> {
    let service = i16::try_from(r.int(1)?)
        .ok()
        .and_then(ServiceType::from_code);
    Ok(UsageRow {
        day: Day::from_number(i32::try_from(r.int(0)?).map_err(|_| corrupt("day"))?),
        service: service.ok_or_else(|| corrupt("service"))?,
        provider: r.text(2)?,
        model: r.opt_text(3)?,
        configuration: r.opt_text(4)?,
        task: r.opt_text(5)?,
        user: r.opt_text(6)?,
        source: r.opt_text(7)?,
        requests: r.int(8)?,
        counts: Counts {
            prompt_tokens: r.int(9)?,
            completion_tokens: r.int(10)?,
            cache_read_tokens: r.int(11)?,
            cache_write_tokens: r.int(12)?,
            characters: r.int(13)?,
            audio_seconds: r.int(14)?,
            images: r.int(15)?,
        },
        cost: Money::from_parts(r.int(16)?, r.int(17)?),
    })
}

/// Orders usage rows by day and names, independent of database collation.
pub fn sort_usage_rows(rows: &mut [UsageRow]) {
    rows.sort_by(|a, b| {
        (
            a.day,
            a.service,
            &a.provider,
            &a.model,
            &a.configuration,
            &a.task,
            &a.user,
            &a.source,
        )
            .cmp(&(
                b.day,
                b.service,
                &b.provider,
                &b.model,
                &b.configuration,
                &b.task,
                &b.user,
                &b.source,
            ))
    });
}

fn totals(r: &dyn Columns, first: usize) -> StoreResult<Totals> {
    Ok(Totals {
        requests: r.int(first)?,
        tokens: r.int(first + 1)?,
        cost: Money::from_parts(r.int(first + 2)?, r.int(first + 3)?),
    })
}

/// `item`, then totals as `sql::summed_totals` gives them.
pub fn item_totals(r: &dyn Columns) -> StoreResult<(i64, Totals)> {
    Ok((r.int(0)?, totals(r, 1)?))
}

/// `day`, then totals as `sql::summed_totals` gives them.
pub fn day_totals(r: &dyn Columns) -> StoreResult<(Day, Totals)> {
    let day = i32::try_from(r.int(0)?).map_err(|_| corrupt("day"))?;
    Ok((Day::from_number(day), totals(r, 1)?))
}

/// `id, key, label`.
pub fn label(r: &dyn Columns) -> StoreResult<Label> {
    Ok(Label {
        id: r.int(0)?,
        key: r.text(1)?,
        label: r.text(2)?,
    })
}

/// `user_id, limit`.
pub fn cost_limit(r: &dyn Columns) -> StoreResult<(i64, Money)> {
    Ok((r.int(0)?, Money::from_picos(r.int(1)?)))
}

/// A user's columns (as `user`) followed by `csrf_token, expires_at`.
pub fn session(r: &dyn Columns) -> StoreResult<Session> {
    Ok(Session {
        user: user(r)?.user,
        csrf_token: r.text(6)?,
        expires_at: timestamp(r.int(7)?)?,
    })
}

/// Totals as `sql::summed_totals` gives them.
pub fn totals_row(r: &dyn Columns) -> StoreResult<Totals> {
    totals(r, 0)
}

/// A configuration's id, limits and identifier.
pub type LimitedConfiguration = (i64, DailyLimits, String);

/// `id, max_requests_per_day, max_tokens_per_day, max_cost_per_day, identifier`.
pub fn configuration_limits(r: &dyn Columns) -> StoreResult<LimitedConfiguration> {
    Ok((
        r.int(0)?,
        DailyLimits {
            max_requests_per_day: r.int(1)?,
            max_tokens_per_day: r.int(2)?,
            max_cost_per_day: Money::from_picos(r.int(3)?),
        },
        r.text(4)?,
    ))
}
