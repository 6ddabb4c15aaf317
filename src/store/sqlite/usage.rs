//! The recording path on SQLite: one IMMEDIATE transaction per group commit,
//! cached statements, one upsert per distinct aggregate key.

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
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
    let mut new_keys = HashSet::new();
    for key in resolve::idempotency_keys(accepted.iter().copied()) {
        if tx
            .prepare_cached(sql::INSERT_IDEMPOTENCY_KEY)?
            .execute(params![key, received])?
            == 1
        {
            new_keys.insert(key);
        }
    }
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
    tx.commit()?;
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
