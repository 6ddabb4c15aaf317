//! The recording path on SQLite: one IMMEDIATE transaction per group commit,
//! cached statements, one upsert per distinct aggregate key.
//!
//! Idempotency keys are written in two steps. A B-tree keyed by the key
//! takes one scattered page write per key when keys arrive in no order
//! (UUIDs) or in many interleaved sequences (one per client), and every
//! commit rewrites those pages to the WAL: with single-record requests that
//! was most of the writer's work. So a group appends its new keys to
//! `idempotency_log` (a page or two per commit, in the same transaction as
//! the usage) and the writer remembers them in memory; once `FOLD_AT` keys
//! have gathered they are copied to the indexed `idempotency_keys` in key
//! order, where keys that share pages share the writes. The log keeps every
//! key, in arrival order, until it expires: pruning reads it from its start,
//! so `idempotency_keys` needs no second index on age.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rusqlite::{Connection, ToSql, TransactionBehavior, params, params_from_iter};

use super::{id_of, now_unix, query_all, query_opt};
use crate::domain::Day;
use crate::store::group;
use crate::store::resolve::{self, KnownKeys, Names, Snapshot};
use crate::store::rows;
use crate::store::sql;
use crate::store::{BatchResult, PreparedRecord, StoreError, StoreResult, UsageRow, stored_cost};

/// A multi-row statement: `head`, then `rows` groups of `columns` values,
/// then `tail`.
struct RowsStatement {
    head: &'static str,
    columns: usize,
    tail: &'static str,
    /// The statement's text for 1, 2, 4, … `MOST_ROWS` rows, built once.
    texts: OnceLock<Vec<String>>,
}

/// Most rows one statement takes. Statements are built for powers of two up
/// to this, so each has few shapes in the connection's statement cache.
const MOST_ROWS: usize = 64;

impl RowsStatement {
    /// Runs the statement over `values` (`columns` per row), in as few
    /// statements as the row shapes allow: a group commit costs a handful
    /// of statements per table rather than one per row.
    fn execute(&self, conn: &Connection, values: &[&dyn ToSql]) -> StoreResult<()> {
        self.each_chunk(values, |chunk, sql| {
            conn.prepare_cached(sql)?.execute(params_from_iter(chunk))?;
            Ok(())
        })
    }

    fn each_chunk(
        &self,
        values: &[&dyn ToSql],
        mut run: impl FnMut(&[&dyn ToSql], &str) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut rest = values;
        while !rest.is_empty() {
            let rows = rest.len() / self.columns;
            let take = if rows >= MOST_ROWS {
                MOST_ROWS
            } else {
                1 << rows.ilog2()
            };
            let (chunk, tail) = rest.split_at(take * self.columns);
            run(chunk, self.sql(take))?;
            rest = tail;
        }
        Ok(())
    }

    /// The text for `rows` rows, a power of two up to `MOST_ROWS`.
    fn sql(&self, rows: usize) -> &str {
        let texts = self.texts.get_or_init(|| {
            let row = format!("({})", vec!["?"; self.columns].join(", "));
            (0..=MOST_ROWS.ilog2())
                .map(|shift| {
                    let rows = vec![row.as_str(); 1 << shift].join(", ");
                    format!("{} {rows} {}", self.head, self.tail)
                })
                .collect()
        });
        &texts[rows.ilog2() as usize]
    }
}

static UPSERT_USAGE: RowsStatement = RowsStatement {
    head: concat!(sql::usage_columns!(), " VALUES"),
    columns: 18,
    tail: sql::add_usage!(),
    texts: OnceLock::new(),
};

static UPSERT_ROLLUP: RowsStatement = RowsStatement {
    head: concat!(sql::rollup_columns!(), " VALUES"),
    columns: 7,
    tail: sql::add_rollup!(),
    texts: OnceLock::new(),
};

fn as_values<const N: usize>(rows: &[[i64; N]]) -> Vec<&dyn ToSql> {
    rows.iter().flatten().map(|v| v as &dyn ToSql).collect()
}

/// Keys in the log when it is folded into the indexed table.
const FOLD_AT: usize = 8_192;

static LOG_KEYS: RowsStatement = RowsStatement {
    head: "INSERT INTO idempotency_log (key, created_at, fingerprint) VALUES",
    columns: 3,
    tail: "",
    texts: OnceLock::new(),
};
static KNOWN_KEYS: RowsStatement = RowsStatement {
    head: "SELECT key, fingerprint FROM idempotency_keys WHERE key IN (VALUES",
    columns: 1,
    tail: ")",
    texts: OnceLock::new(),
};
/// The logged keys not yet in `idempotency_keys`.
const UNFOLDED: &str = "SELECT key, fingerprint FROM idempotency_log
    WHERE seq > (SELECT seq FROM idempotency_folded)";
const FOLD_LOG: [&str; 2] = [
    "INSERT INTO idempotency_keys (key, created_at, fingerprint)
        SELECT key, created_at, fingerprint FROM idempotency_log
        WHERE seq > (SELECT seq FROM idempotency_folded) ORDER BY key
        ON CONFLICT (key) DO NOTHING",
    MARK_FOLDED,
];
/// Everything in the log counts as folded. An empty log numbers its next
/// entries from 1 again, so its mark is 0: they must count as not folded.
const MARK_FOLDED: &str =
    "UPDATE idempotency_folded SET seq = coalesce((SELECT max(seq) FROM idempotency_log), 0)";
/// The first log entry to keep: the oldest one not expired at ?1, or past
/// the end when all are.
const FIRST_KEPT: &str = "SELECT coalesce(
    (SELECT seq FROM idempotency_log WHERE created_at >= ?1 ORDER BY seq LIMIT 1),
    (SELECT max(seq) + 1 FROM idempotency_log), 0)";
const FORGET_KEYS: &str =
    "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_log WHERE seq < ?1)";
const TRIM_LOG: &str = "DELETE FROM idempotency_log WHERE seq < ?1";

/// What the writer thread remembers between transactions. All of it is
/// read again when `PRAGMA data_version` shows that another connection (the
/// CLI, another process) committed since.
#[derive(Default)]
pub struct WriterState {
    version: i64,
    /// The keys in `idempotency_log` not yet folded, with their
    /// fingerprints; None until read (after opening, and after a failed
    /// transaction).
    logged: Option<KnownKeys>,
    catalog: Catalog,
}

/// Catalog entries by the names records used, as found (names not found are
/// looked up each time, until discovered).
#[derive(Default)]
struct Catalog {
    providers: HashMap<String, i64>,
    models: HashMap<String, Vec<resolve::ModelRef>>,
    configurations: HashMap<String, i64>,
    tasks: HashMap<String, i64>,
    /// Task id → the configuration it runs through (None: none).
    task_configurations: HashMap<i64, Option<i64>>,
    users: HashMap<String, i64>,
    sources: HashMap<String, i64>,
}

impl WriterState {
    /// After a write of another module on this connection, which may have
    /// changed the catalog.
    pub fn forget_catalog(&mut self) {
        self.catalog = Catalog::default();
    }

    /// Drops what another connection may have changed. Runs inside a write
    /// transaction, so nothing changes again until it ends.
    fn refresh(&mut self, conn: &Connection) -> StoreResult<()> {
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if version != self.version {
            self.version = version;
            self.logged = None;
            self.forget_catalog();
        }
        Ok(())
    }

    /// The logged keys, taken out until the transaction commits.
    fn take_logged(&mut self, conn: &Connection) -> StoreResult<KnownKeys> {
        match self.logged.take() {
            Some(keys) => Ok(keys),
            None => {
                let keys = query_all(conn, UNFOLDED, [], |r| Ok((r.text(0)?, r.opt_int(1)?)))?;
                Ok(keys.into_iter().collect())
            }
        }
    }
}

/// Copies the logged keys not yet indexed to the indexed table, in key order.
fn fold(conn: &Connection) -> StoreResult<()> {
    for statement in FOLD_LOG {
        conn.prepare_cached(statement)?.execute([])?;
    }
    Ok(())
}

/// The keys of `keys` (distinct) some earlier record used, with their
/// fingerprints: from the log in memory, or else from the key index.
fn known_keys(conn: &Connection, logged: &KnownKeys, keys: Vec<String>) -> StoreResult<KnownKeys> {
    let mut known = KnownKeys::new();
    let mut unlogged = Vec::new();
    for key in keys {
        match logged.get(&key) {
            Some(print) => {
                known.insert(key, *print);
            }
            None => unlogged.push(key),
        }
    }
    let probes: Vec<&dyn ToSql> = unlogged.iter().map(|k| k as &dyn ToSql).collect();
    KNOWN_KEYS.each_chunk(&probes, |chunk, sql| {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(chunk))?;
        while let Some(row) = rows.next()? {
            known.insert(row.get(0)?, row.get(1)?);
        }
        Ok(())
    })?;
    Ok(known)
}

/// The keys of `keys` (distinct) that are not `known`; logs them.
fn log_new_keys(
    conn: &Connection,
    known: &KnownKeys,
    keys: Vec<(String, Option<i64>)>,
    received: i64,
) -> StoreResult<KnownKeys> {
    let new_keys: KnownKeys = keys
        .into_iter()
        .filter(|(k, _)| !known.contains_key(k))
        .collect();
    let values: Vec<&dyn ToSql> = new_keys
        .iter()
        .flat_map(|(k, print)| [k as &dyn ToSql, &received, print])
        .collect();
    LOG_KEYS.execute(conn, &values)?;
    Ok(new_keys)
}

/// Forgets keys created before `before` (folding the log first) and
/// reservations that expired before it.
pub fn prune(conn: &mut Connection, state: &mut WriterState, before: i64) -> StoreResult<u64> {
    state.logged = None;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    fold(&tx)?;
    let first_kept: i64 = tx.query_row(FIRST_KEPT, [before], |r| r.get(0))?;
    let keys = tx.execute(FORGET_KEYS, [first_kept])?;
    tx.execute(TRIM_LOG, [first_kept])?;
    // The fold above left the mark at the log's end; trimming may have
    // emptied it.
    tx.execute(MARK_FOLDED, [])?;
    let holds = tx.execute(sql::PRUNE_RESERVATIONS, [before])?;
    tx.commit()?;
    Ok((keys + holds) as u64)
}

/// The ids of `names`, from `cache` or else looked up (and then cached).
fn lookup_ids(
    conn: &Connection,
    sql: &str,
    names: &std::collections::BTreeSet<String>,
    cache: &mut HashMap<String, i64>,
) -> StoreResult<HashMap<String, i64>> {
    let mut found = HashMap::with_capacity(names.len());
    for name in names {
        let id = match cache.get(name) {
            Some(id) => Some(*id),
            None => {
                let id = id_of(conn, sql, name)?;
                if let Some(id) = id {
                    cache.insert(name.clone(), id);
                }
                id
            }
        };
        if let Some(id) = id {
            found.insert(name.clone(), id);
        }
    }
    Ok(found)
}

fn load_snapshot(conn: &Connection, names: &Names, cache: &mut Catalog) -> StoreResult<Snapshot> {
    let mut models = Vec::new();
    let mut seen = HashSet::new();
    for name in &names.models {
        if !cache.models.contains_key(name) {
            let found = query_all(conn, sql::LOOKUP_MODELS, [name], rows::model_ref)?;
            if found.is_empty() {
                continue;
            }
            cache.models.insert(name.clone(), found);
        }
        let matches = &cache.models[name];
        models.extend(matches.iter().filter(|m| seen.insert(m.id)).cloned());
    }
    let tasks = lookup_ids(conn, sql::LOOKUP_TASK, &names.tasks, &mut cache.tasks)?;
    let mut task_configurations = HashMap::new();
    for &task in tasks.values() {
        let configuration = match cache.task_configurations.get(&task) {
            Some(c) => *c,
            None => {
                let c = conn.query_row(sql::TASK_CONFIGURATION, [task], |r| r.get(0))?;
                cache.task_configurations.insert(task, c);
                c
            }
        };
        task_configurations.extend(configuration.map(|c| (task, c)));
    }
    Ok(Snapshot {
        providers: lookup_ids(
            conn,
            sql::LOOKUP_PROVIDER,
            &names.providers,
            &mut cache.providers,
        )?,
        models,
        configurations: lookup_ids(
            conn,
            sql::LOOKUP_CONFIGURATION,
            &names.configurations,
            &mut cache.configurations,
        )?,
        tasks,
        task_configurations,
        users: lookup_ids(conn, sql::LOOKUP_USER, &names.users, &mut cache.users)?,
        sources: lookup_ids(conn, sql::LOOKUP_SOURCE, &names.sources, &mut cache.sources)?,
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

/// Commits a group; when some batch's cost does not fit (rare), commits the
/// batches one by one so that only those are refused.
pub fn record(
    conn: &mut Connection,
    state: &mut WriterState,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    match record_group(conn, state, batches) {
        Err(StoreError::TooLarge(_)) => batches
            .iter()
            .map(|b| group::alone(b, record_group(conn, state, std::slice::from_ref(b))))
            .collect(),
        other => other,
    }
}

fn record_group(
    conn: &mut Connection,
    state: &mut WriterState,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let result = record_in_transaction(conn, state, batches);
    if result.is_err() {
        // The rolled-back transaction may have registered names whose ids
        // the catalog cache now holds.
        *state = WriterState::default();
    }
    result
}

fn record_in_transaction(
    conn: &mut Connection,
    state: &mut WriterState,
    batches: &[Vec<PreparedRecord>],
) -> StoreResult<Vec<BatchResult>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    state.refresh(&tx)?;
    // Taken out of `state` until the commit succeeds: a failed transaction
    // leaves it unread, so a rolled-back key is never taken for a logged one.
    let mut logged = state.take_logged(&tx)?;
    let names = Names::of(batches);
    let mut holds = HashMap::new();
    for id in resolve::reservation_ids(batches) {
        if let Some(user) = query_opt(&tx, sql::RESERVATION_OWNERS, [&id], |r| r.opt_text(2))? {
            holds.insert(id, user);
        }
    }
    let earlier = resolve::reservation_refusals(batches, &holds);
    let known = known_keys(&tx, &logged, resolve::group_keys(batches))?;
    let earlier = resolve::key_refusals(batches, &known, earlier);
    let mut snap = load_snapshot(&tx, &names, &mut state.catalog)?;
    let (refusals, found) = resolve::plan(batches, &snap, earlier);
    if !found.is_empty() {
        // A new model can change which models other names match.
        state.forget_catalog();
        register(&tx, &found)?;
        snap = load_snapshot(&tx, &names, &mut state.catalog)?;
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
    let new_keys = log_new_keys(&tx, &known, keys, received)?;
    let resolve::Merged {
        deltas,
        outcomes,
        settled,
    } = resolve::merge(&accepted, |k| new_keys.contains_key(k));
    for id in &settled {
        tx.prepare_cached(sql::SETTLE_RESERVATION)?.execute([id])?;
    }
    let usage: Vec<[i64; 18]> = deltas
        .iter()
        .map(|(k, a)| {
            let mut row = [0; 18];
            row[0] = k.day.into();
            row[1] = k.service.into();
            row[2..].copy_from_slice(&a.columns(k)?);
            Ok(row)
        })
        .collect::<StoreResult<_>>()?;
    UPSERT_USAGE.execute(&tx, &as_values(&usage))?;
    let rollups: Vec<[i64; 7]> = resolve::rollups(&deltas)
        .into_iter()
        .map(|((dim, day, item), t)| {
            let (dim, day) = (dim.into(), day.into());
            let [dollars, picos] = stored_cost(t.cost)?;
            Ok([dim, day, item, t.requests, t.tokens, dollars, picos])
        })
        .collect::<StoreResult<_>>()?;
    UPSERT_ROLLUP.execute(&tx, &as_values(&rollups))?;
    if logged.len() + new_keys.len() >= FOLD_AT {
        fold(&tx)?;
        logged.clear();
    } else {
        logged.extend(new_keys);
    }
    tx.commit()?;
    state.logged = Some(logged);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_split_into_power_of_two_statements_that_cover_them_all() {
        let columns = LOG_KEYS.columns;
        for n in 0..=300usize {
            let values: Vec<i64> = (0..(n * columns) as i64).collect();
            let refs: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
            let mut seen = Vec::new();
            LOG_KEYS
                .each_chunk(&refs, |chunk, sql| {
                    let rows = chunk.len() / columns;
                    assert!(rows.is_power_of_two() && rows <= MOST_ROWS, "{n}: {rows}");
                    assert_eq!(sql.matches('?').count(), chunk.len());
                    seen.push(rows);
                    Ok(())
                })
                .unwrap();
            assert_eq!(seen.iter().sum::<usize>(), n);
            assert!(seen.len() <= n / MOST_ROWS + MOST_ROWS.ilog2() as usize + 1);
        }
    }
}
