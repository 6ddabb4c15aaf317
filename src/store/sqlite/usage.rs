//! The recording path on SQLite: one IMMEDIATE transaction per group commit,
//! cached statements, one upsert per distinct aggregate key.
//!
//! Idempotency keys are written in two steps. A B-tree keyed by the key
//! takes one scattered page write per key when keys arrive in no order
//! (UUIDs) or in many interleaved sequences (one per client), and every
//! commit rewrites those pages to the WAL: with single-record requests that
//! was most of the writer's work. So a group appends its new keys to
//! `idempotency_log` (a page or two per commit, in the same transaction as
//! the usage) and the writer remembers them in memory; once the log holds
//! `FOLD_AT` keys they move to the indexed `idempotency_keys` in key order,
//! where keys that share pages share the writes.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, TransactionBehavior, params};

use super::{id_of, now_unix, query_all, query_opt};
use crate::domain::Day;
use crate::store::resolve::{self, Names, Snapshot};
use crate::store::rows;
use crate::store::sql;
use crate::store::{BatchResult, PreparedRecord, StoreResult, UsageRow};

const UPSERT_USAGE: &str = "INSERT INTO usage_daily (day, service, provider_id, model_id,
        configuration_id, task_id, user_id, source_id, requests, prompt_tokens, completion_tokens,
        cache_read_tokens, cache_write_tokens, characters, audio_seconds, images, cost)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
    ON CONFLICT (day, service, provider_id, model_id, configuration_id, task_id, user_id, source_id)
    DO UPDATE SET requests = usage_daily.requests + excluded.requests,
        prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
        cache_read_tokens = usage_daily.cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = usage_daily.cache_write_tokens + excluded.cache_write_tokens,
        characters = usage_daily.characters + excluded.characters,
        audio_seconds = usage_daily.audio_seconds + excluded.audio_seconds,
        images = usage_daily.images + excluded.images,
        cost = usage_daily.cost + excluded.cost";

const UPSERT_ROLLUP: &str = "INSERT INTO usage_rollup (dim, day, item, requests, tokens, cost)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (dim, day, item) DO UPDATE SET requests = usage_rollup.requests + excluded.requests,
        tokens = usage_rollup.tokens + excluded.tokens, cost = usage_rollup.cost + excluded.cost";

/// Keys in the log when it is folded into the indexed table.
const FOLD_AT: usize = 8_192;

const LOG_KEY: &str = "INSERT INTO idempotency_log (key, created_at) VALUES (?1, ?2)";
const KNOWN_KEY: &str = "SELECT 1 FROM idempotency_keys WHERE key = ?1";
const FOLD_LOG: [&str; 2] = [
    "INSERT INTO idempotency_keys (key, created_at)
        SELECT key, created_at FROM idempotency_log WHERE true ORDER BY key
        ON CONFLICT (key) DO NOTHING",
    "DELETE FROM idempotency_log",
];

/// The keys in `idempotency_log`, as the writer thread last saw them.
#[derive(Default)]
pub struct RecentKeys {
    /// None until read: after opening, and after a failed transaction.
    logged: Option<HashSet<String>>,
    /// `PRAGMA data_version` when `logged` was right; it changes when another
    /// connection (the CLI, another process) commits, and then the log is
    /// read again.
    version: i64,
}

impl RecentKeys {
    /// The logged keys, read again when they may be stale. Runs inside the
    /// group's write transaction, so no other writer can change the log.
    fn take(&mut self, conn: &Connection) -> StoreResult<HashSet<String>> {
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        match self.logged.take() {
            Some(keys) if version == self.version => Ok(keys),
            _ => {
                self.version = version;
                let keys = query_all(conn, "SELECT key FROM idempotency_log", [], |r| r.text(0))?;
                Ok(keys.into_iter().collect())
            }
        }
    }
}

/// Moves the logged keys to the indexed table, in key order.
fn fold(conn: &Connection) -> StoreResult<()> {
    for statement in FOLD_LOG {
        conn.prepare_cached(statement)?.execute([])?;
    }
    Ok(())
}

/// The keys of `keys` that no earlier record used; logs them.
fn log_new_keys(
    conn: &Connection,
    logged: &HashSet<String>,
    keys: Vec<String>,
    received: i64,
) -> StoreResult<HashSet<String>> {
    let mut new_keys = HashSet::new();
    for key in keys {
        if logged.contains(&key) || query_opt(conn, KNOWN_KEY, [&key], |r| r.int(0))?.is_some() {
            continue;
        }
        conn.prepare_cached(LOG_KEY)?
            .execute(params![key, received])?;
        new_keys.insert(key);
    }
    Ok(new_keys)
}

/// Forgets keys created before `before` (folding the log first) and
/// reservations that expired before it.
pub fn prune(conn: &mut Connection, recent: &mut RecentKeys, before: i64) -> StoreResult<u64> {
    recent.logged = None;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    fold(&tx)?;
    let keys = tx.execute(sql::PRUNE_IDEMPOTENCY, [before])?;
    let holds = tx.execute(sql::PRUNE_RESERVATIONS, [before])?;
    tx.commit()?;
    Ok((keys + holds) as u64)
}

fn lookup_ids(
    conn: &Connection,
    sql: &str,
    names: &std::collections::BTreeSet<String>,
) -> StoreResult<HashMap<String, i64>> {
    let mut found = HashMap::with_capacity(names.len());
    for name in names {
        if let Some(id) = id_of(conn, sql, name)? {
            found.insert(name.clone(), id);
        }
    }
    Ok(found)
}

fn load_snapshot(conn: &Connection, names: &Names) -> StoreResult<Snapshot> {
    let mut models = Vec::new();
    let mut seen = HashSet::new();
    for name in &names.models {
        for m in query_all(conn, sql::LOOKUP_MODELS, [name], rows::model_ref)? {
            if seen.insert(m.id) {
                models.push(m);
            }
        }
    }
    Ok(Snapshot {
        providers: lookup_ids(conn, sql::LOOKUP_PROVIDER, &names.providers)?,
        models,
        configurations: lookup_ids(conn, sql::LOOKUP_CONFIGURATION, &names.configurations)?,
        tasks: lookup_ids(conn, sql::LOOKUP_TASK, &names.tasks)?,
        users: lookup_ids(conn, sql::LOOKUP_USER, &names.users)?,
        sources: lookup_ids(conn, sql::LOOKUP_SOURCE, &names.sources)?,
    })
}

fn register(conn: &Connection, found: &resolve::Discoveries) -> StoreResult<()> {
    let now = now_unix();
    for p in &found.providers {
        conn.prepare_cached(sql::DISCOVER_PROVIDER)?.execute([p])?;
    }
    for m in &found.models {
        conn.prepare_cached(sql::DISCOVER_MODEL)?.execute(params![
            m.identifier,
            m.model_id,
            m.provider
        ])?;
    }
    for c in &found.configurations {
        conn.prepare_cached(sql::DISCOVER_CONFIGURATION)?
            .execute([c])?;
    }
    for t in &found.tasks {
        conn.prepare_cached(sql::DISCOVER_TASK)?.execute([t])?;
    }
    for u in &found.users {
        conn.prepare_cached(sql::DISCOVER_USER)?
            .execute(params![u, now])?;
    }
    for s in &found.sources {
        conn.prepare_cached(sql::DISCOVER_SOURCE)?.execute([s])?;
    }
    Ok(())
}

pub fn record(
    conn: &mut Connection,
    recent: &mut RecentKeys,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Taken out of `recent` until the commit succeeds: a failed transaction
    // leaves it unread, so a rolled-back key is never taken for a logged one.
    let mut logged = recent.take(&tx)?;
    let names = Names::of(batches);
    let mut known = HashSet::new();
    for id in resolve::reservation_ids(batches) {
        if query_opt(&tx, sql::RESERVATION_OWNERS, [&id], |r| r.int(0))?.is_some() {
            known.insert(id);
        }
    }
    let earlier = resolve::reservation_refusals(batches, &known);
    let mut snap = load_snapshot(&tx, &names)?;
    let (refusals, found) = resolve::plan(batches, &snap, earlier);
    if !found.is_empty() {
        register(&tx, &found)?;
        snap = load_snapshot(&tx, &names)?;
    }
    let resolved: Vec<Result<Vec<resolve::ResolvedRecord>, _>> = batches
        .iter()
        .zip(refusals)
        .map(|(batch, refused)| match refused {
            Some(errors) => Err(errors),
            None => resolve::resolve(batch, &snap),
        })
        .collect();
    let accepted: Vec<&Vec<resolve::ResolvedRecord>> =
        resolved.iter().filter_map(|r| r.as_ref().ok()).collect();
    let received = batches
        .iter()
        .flatten()
        .map(|p| p.received_at)
        .max()
        .unwrap_or_else(now_unix);
    let keys = resolve::idempotency_keys(accepted.iter().copied());
    let new_keys = log_new_keys(&tx, &logged, keys, received)?;
    let resolve::Merged {
        deltas,
        outcomes,
        settled,
    } = resolve::merge(&accepted, &new_keys);
    for id in &settled {
        tx.prepare_cached(sql::SETTLE_RESERVATION)?.execute([id])?;
    }
    {
        let mut upsert = tx.prepare_cached(UPSERT_USAGE)?;
        for (k, a) in &deltas {
            let c = &a.counts;
            upsert.execute(params![
                k.day,
                k.service,
                k.provider,
                k.model,
                k.configuration,
                k.task,
                k.user,
                k.source,
                a.requests,
                c.prompt_tokens,
                c.completion_tokens,
                c.cache_read_tokens,
                c.cache_write_tokens,
                c.characters,
                c.audio_seconds,
                c.images,
                a.cost.picos()
            ])?;
        }
    }
    {
        let mut upsert = tx.prepare_cached(UPSERT_ROLLUP)?;
        for ((dim, day, item), t) in resolve::rollups(&deltas) {
            upsert.execute(params![
                dim,
                day,
                item,
                t.requests,
                t.tokens,
                t.cost.picos()
            ])?;
        }
    }
    if logged.len() + new_keys.len() >= FOLD_AT {
        fold(&tx)?;
        logged.clear();
    } else {
        logged.extend(new_keys);
    }
    tx.commit()?;
    recent.logged = Some(logged);
    let mut outcomes = outcomes.into_iter();
    Ok(resolved
        .into_iter()
        .map(|r| r.map(|_| outcomes.next().unwrap_or_default()))
        .collect())
}

pub fn rows(conn: &Connection, from: Day, to: Day) -> StoreResult<Vec<UsageRow>> {
    let mut out = query_all(
        conn,
        sql::USAGE_ROWS,
        [from.number(), to.number()],
        rows::usage_row,
    )?;
    rows::sort_usage_rows(&mut out);
    Ok(out)
}
