//! The recording path on PostgreSQL: one transaction per group commit, set-
//! based lookups with `= ANY`, and one multi-row upsert through `UNNEST`.
//! Rows are written in key order, so concurrent processes lock them in the
//! same order; a deadlock or serialization failure is retried.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Transaction};

use crate::store::resolve::{self, Names, ResolvedRecord, Snapshot};
use crate::store::rows::{self, Columns};
use crate::store::{BatchResult, PreparedRecord, StoreError, StoreResult, stored_cost};
use crate::store::{group, sql};

const ATTEMPTS: usize = 5;

const LOOKUP_PROVIDERS: &str = "SELECT identifier, id FROM providers WHERE identifier = ANY($1)";
const LOOKUP_MODELS: &str = "SELECT m.id, m.identifier, m.provider_id, p.identifier, m.model_id,
        m.input_price, m.output_price, m.cache_read_price, m.cache_write_price
    FROM models m JOIN providers p ON p.id = m.provider_id
    WHERE m.identifier = ANY($1) OR m.model_id = ANY($1)";
const LOOKUP_CONFIGURATIONS: &str =
    "SELECT identifier, id FROM configurations WHERE identifier = ANY($1)";
const LOOKUP_TASKS: &str = "SELECT identifier, id FROM tasks WHERE identifier = ANY($1)";
const TASK_CONFIGURATIONS: &str = "SELECT id, configuration_id FROM tasks
    WHERE identifier = ANY($1) AND configuration_id IS NOT NULL";
const LOOKUP_USERS: &str = "SELECT username, id FROM users WHERE username = ANY($1)";
const LOOKUP_SOURCES: &str = "SELECT label, id FROM sources WHERE label = ANY($1)";

const KNOWN_KEYS: &str = "SELECT key, fingerprint FROM idempotency_keys WHERE key = ANY($1)";

/// Inserts the keys this group found new; a key another transaction
/// inserted meanwhile waits for its commit and is then not returned.
const INSERT_KEYS: &str = "INSERT INTO idempotency_keys (key, created_at, fingerprint)
    SELECT k, $2, f FROM UNNEST($1::text[], $3::int8[]) AS u(k, f)
    ON CONFLICT (key) DO NOTHING RETURNING key";

const UPSERT_USAGE: &str = concat!(
    sql::usage_columns!(),
    " SELECT * FROM UNNEST($1::int4[], $2::int2[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
        $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[],
        $14::int8[], $15::int8[], $16::int8[], $17::int8[], $18::int8[]) ",
    sql::add_usage!()
);

const UPSERT_ROLLUP: &str = concat!(
    sql::rollup_columns!(),
    " SELECT * FROM UNNEST($1::int2[], $2::int4[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
        $7::int8[]) ",
    sql::add_rollup!()
);

type Tx = Transaction<'static, Postgres>;

async fn ids(
    tx: &mut Tx,
    sql: &'static str,
    names: &BTreeSet<String>,
) -> StoreResult<HashMap<String, i64>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let found: Vec<PgRow> = sqlx::query(sql).bind(&names).fetch_all(&mut **tx).await?;
    found.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
}

/// Task id → the configuration it runs through, for the named tasks that
/// have one.
async fn task_configurations(
    tx: &mut Tx,
    tasks: &BTreeSet<String>,
) -> StoreResult<HashMap<i64, i64>> {
    if tasks.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<&str> = tasks.iter().map(String::as_str).collect();
    let found: Vec<PgRow> = sqlx::query(TASK_CONFIGURATIONS)
        .bind(&names)
        .fetch_all(&mut **tx)
        .await?;
    found.iter().map(|r| Ok((r.int(0)?, r.int(1)?))).collect()
}

async fn load_snapshot(tx: &mut Tx, names: &Names) -> StoreResult<Snapshot> {
    let models = if names.models.is_empty() {
        Vec::new()
    } else {
        let list: Vec<&str> = names.models.iter().map(String::as_str).collect();
        let found: Vec<PgRow> = sqlx::query(LOOKUP_MODELS)
            .bind(&list)
            .fetch_all(&mut **tx)
            .await?;
        found
            .iter()
            .map(|r| rows::model_ref(r))
            .collect::<StoreResult<_>>()?
    };
    Ok(Snapshot {
        providers: ids(tx, LOOKUP_PROVIDERS, &names.providers).await?,
        models,
        configurations: ids(tx, LOOKUP_CONFIGURATIONS, &names.configurations).await?,
        tasks: ids(tx, LOOKUP_TASKS, &names.tasks).await?,
        task_configurations: task_configurations(tx, &names.tasks).await?,
        users: ids(tx, LOOKUP_USERS, &names.users).await?,
        sources: ids(tx, LOOKUP_SOURCES, &names.sources).await?,
    })
}

async fn register(tx: &mut Tx, found: &resolve::Discoveries) -> StoreResult<()> {
    let now = Utc::now().timestamp();
    for p in &found.providers {
        sqlx::query(sql::DISCOVER_PROVIDER)
            .bind(p)
            .execute(&mut **tx)
            .await?;
    }
    for m in &found.models {
        sqlx::query(sql::DISCOVER_MODEL)
            .bind(&m.identifier)
            .bind(&m.model_id)
            .bind(&m.provider)
            .execute(&mut **tx)
            .await?;
    }
    for (sql, names) in [
        (sql::DISCOVER_CONFIGURATION, &found.configurations),
        (sql::DISCOVER_TASK, &found.tasks),
        (sql::DISCOVER_SOURCE, &found.sources),
    ] {
        for name in names {
            sqlx::query(sql).bind(name).execute(&mut **tx).await?;
        }
    }
    for u in &found.users {
        sqlx::query(sql::DISCOVER_USER)
            .bind(u)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Takes the budget locks of the users and configurations whose reservations
/// a group settles (the same locks `reserve` takes, in the same order), so a
/// hold turns into usage without a reservation seeing neither or both.
/// Returns the reservations that exist, by id, with their user's name.
async fn lock_reservations(
    tx: &mut Tx,
    ids: &BTreeSet<String>,
) -> StoreResult<HashMap<String, Option<String>>> {
    let mut known = HashMap::new();
    let mut users = BTreeSet::new();
    let mut configurations = BTreeSet::new();
    for id in ids {
        let row: Option<PgRow> = sqlx::query(sql::RESERVATION_OWNERS)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = row {
            known.insert(id.clone(), row.opt_text(2)?);
            users.insert(row.int(0)?);
            configurations.insert(row.int(1)?);
        }
    }
    let keys = users.into_iter().map(|u| (super::USER_LOCK, u));
    let keys = keys.chain(
        configurations
            .into_iter()
            .map(|c| (super::CONFIGURATION_LOCK, c)),
    );
    super::lock_budgets(tx, keys).await?;
    Ok(known)
}

/// Why a group is tried again when another transaction stored one of its new
/// idempotency keys, for a different record, after this one looked: the
/// next attempt sees that key and refuses the batch that reuses it.
const RACED_KEY: &str = "an idempotency key was stored concurrently for a different record";

fn retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(m)
        if m.contains("deadlock") || m.contains("could not serialize") || m == RACED_KEY)
}

/// Commits a group; when some batch's cost does not fit (rare), commits the
/// batches one by one so that only those are refused.
pub async fn record(
    pool: &PgPool,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    match record_retrying(pool, batches).await {
        Err(StoreError::TooLarge(_)) => {
            let mut results = Vec::with_capacity(batches.len());
            for b in batches {
                let alone = record_retrying(pool, std::slice::from_ref(b)).await;
                results.push(group::alone(b, alone)?);
            }
            Ok(results)
        }
        other => other,
    }
}

async fn record_retrying(
    pool: &PgPool,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match record_once(pool, batches).await {
            Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                tracing::warn!(attempt, error = %e, "retrying a group commit");
            }
            other => return other,
        }
    }
}

async fn record_once(
    pool: &PgPool,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let mut tx = pool.begin().await?;
    let names = Names::of(batches);
    let known = lock_reservations(&mut tx, &resolve::reservation_ids(batches)).await?;
    let earlier = resolve::reservation_refusals(batches, &known);
    let keys = resolve::group_keys(batches);
    let known_keys: resolve::KnownKeys = if keys.is_empty() {
        resolve::KnownKeys::new()
    } else {
        let rows: Vec<PgRow> = sqlx::query(KNOWN_KEYS)
            .bind(&keys)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text(0)?, r.opt_int(1)?)))
            .collect::<StoreResult<_>>()?
    };
    let earlier = resolve::key_refusals(batches, &known_keys, earlier);
    let mut snap = load_snapshot(&mut tx, &names).await?;
    let (refusals, found) = resolve::plan(batches, &snap, earlier);
    if !found.is_empty() {
        register(&mut tx, &found).await?;
        snap = load_snapshot(&mut tx, &names).await?;
    }
    let resolved: Vec<Result<Vec<ResolvedRecord>, _>> = batches
        .iter()
        .zip(refusals)
        .map(|(batch, refused)| match refused {
            Some(errors) => Err(errors),
            None => resolve::resolve(batch, &snap),
        })
        .collect();
    let accepted: Vec<&Vec<ResolvedRecord>> =
        resolved.iter().filter_map(|r| r.as_ref().ok()).collect();
    let keys = resolve::idempotency_keys(accepted.iter().copied());
    let new_keys: HashSet<String> = if keys.is_empty() {
        HashSet::new()
    } else {
        let received = batches
            .iter()
            .flatten()
            .map(|p| p.received_at)
            .max()
            .unwrap_or(0);
        let (keys, prints): (Vec<String>, Vec<Option<i64>>) = keys.into_iter().unzip();
        let inserted: HashSet<String> = sqlx::query_scalar(INSERT_KEYS)
            .bind(&keys)
            .bind(received)
            .bind(&prints)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let raced: Vec<&String> = keys.iter().filter(|k| !inserted.contains(*k)).collect();
        if !raced.is_empty() {
            let ours: HashMap<&String, Option<i64>> = keys.iter().zip(prints).collect();
            let rows: Vec<PgRow> = sqlx::query(KNOWN_KEYS)
                .bind(&raced)
                .fetch_all(&mut *tx)
                .await?;
            for r in &rows {
                let (key, theirs) = (r.text(0)?, r.opt_int(1)?);
                if let (Some(Some(ours)), Some(theirs)) = (ours.get(&key), theirs)
                    && *ours != theirs
                {
                    return Err(StoreError::Database(RACED_KEY.into()));
                }
            }
        }
        inserted
    };
    let resolve::Merged {
        deltas,
        outcomes,
        settled,
    } = resolve::merge(&accepted, |k| new_keys.contains(k));
    for id in &settled {
        sqlx::query(sql::SETTLE_RESERVATION)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if !deltas.is_empty() {
        let mut cols: [Vec<i64>; 16] = Default::default();
        let mut days = Vec::with_capacity(deltas.len());
        let mut services = Vec::with_capacity(deltas.len());
        for (k, a) in &deltas {
            days.push(k.day);
            services.push(k.service);
            let values = a.columns(k)?;
            for (col, v) in cols.iter_mut().zip(values) {
                col.push(v);
            }
        }
        let mut q = sqlx::query(UPSERT_USAGE).bind(days).bind(services);
        for col in cols {
            q = q.bind(col);
        }
        q.execute(&mut *tx).await?;

        let rollups = resolve::rollups(&deltas);
        let mut dims = Vec::with_capacity(rollups.len());
        let mut days = Vec::with_capacity(rollups.len());
        let mut cols: [Vec<i64>; 5] = Default::default();
        for ((dim, day, item), t) in rollups {
            dims.push(dim);
            days.push(day);
            let [dollars, picos] = stored_cost(t.cost)?;
            for (col, v) in cols
                .iter_mut()
                .zip([item, t.requests, t.tokens, dollars, picos])
            {
                col.push(v);
            }
        }
        let mut q = sqlx::query(UPSERT_ROLLUP).bind(dims).bind(days);
        for col in cols {
            q = q.bind(col);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let mut outcomes = outcomes.into_iter();
    Ok(resolved
        .into_iter()
        .map(|r| r.map(|_| outcomes.next().unwrap_or_default()))
        .collect())
}
