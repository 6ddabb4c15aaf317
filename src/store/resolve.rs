//! Turning reported records into aggregate rows, shared by both backends.
//!
//! A backend loads the slice of the catalog a group of records names (a
//! [`Snapshot`]), registers what is missing as discovered ([`plan`]), reloads,
//! and then [`resolve`]s and [`merge`]s without further queries. The matching
//! rules of SPEC §3 live here once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::domain::{Counts, Day, FieldError, Money, Pricing, ServiceType, Totals, UsageRecord};
use crate::store::{StoreResult, stored_cost};

/// The provider of a discovered model reported without one.
pub const UNKNOWN_PROVIDER: &str = "unknown";

/// A validated record with its day in the ledger's time zone.
#[derive(Clone, Debug)]
pub struct PreparedRecord {
    pub record: UsageRecord,
    pub day: Day,
    /// Unix seconds when the ledger received it (idempotency key age).
    pub received_at: i64,
    /// The record's fingerprint when it has an idempotency key (computed
    /// here, off the single writer's path).
    pub fingerprint: Option<i64>,
}

impl PreparedRecord {
    pub fn new(record: UsageRecord, day: Day, received_at: i64) -> PreparedRecord {
        PreparedRecord {
            fingerprint: record
                .idempotency_key
                .is_some()
                .then(|| record.fingerprint()),
            record,
            day,
            received_at,
        }
    }

    /// The idempotency key and fingerprint, when the record has a key.
    pub fn keyed(&self) -> Option<(&str, i64)> {
        let key = self.record.idempotency_key.as_deref()?;
        Some((
            key,
            self.fingerprint
                .unwrap_or_else(|| self.record.fingerprint()),
        ))
    }
}

/// The names a group of records refers to.
#[derive(Debug, Default)]
pub struct Names {
    pub providers: BTreeSet<String>,
    pub models: BTreeSet<String>,
    pub configurations: BTreeSet<String>,
    pub tasks: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub sources: BTreeSet<String>,
}

impl Names {
    pub fn of(batches: &[Vec<PreparedRecord>]) -> Names {
        let mut names = Names::default();
        names.providers.insert(UNKNOWN_PROVIDER.to_string());
        for r in batches.iter().flatten().map(|p| &p.record) {
            let add = |set: &mut BTreeSet<String>, v: &Option<String>| {
                if let Some(v) = v {
                    set.insert(v.clone());
                }
            };
            add(&mut names.providers, &r.provider);
            add(&mut names.models, &r.model);
            add(&mut names.configurations, &r.configuration);
            add(&mut names.tasks, &r.task);
            add(&mut names.users, &r.user);
            add(&mut names.sources, &r.source);
        }
        names
    }
}

/// A model as the recording path needs it.
#[derive(Clone, Debug)]
pub struct ModelRef {
    pub id: i64,
    pub identifier: String,
    pub provider_id: i64,
    pub provider: String,
    pub model_id: String,
    pub pricing: Option<Pricing>,
}

/// The part of the catalog a group names: identifier → id.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub providers: HashMap<String, i64>,
    /// Models whose identifier or vendor `model_id` is among the names.
    pub models: Vec<ModelRef>,
    pub configurations: HashMap<String, i64>,
    pub tasks: HashMap<String, i64>,
    /// Task id → the configuration it runs through, for those tasks that
    /// have one.
    pub task_configurations: HashMap<i64, i64>,
    pub users: HashMap<String, i64>,
    pub sources: HashMap<String, i64>,
}

enum ModelMatch<'a> {
    Found(&'a ModelRef),
    Missing,
    Ambiguous(Vec<&'a str>),
}

impl Snapshot {
    /// SPEC §3: by identifier first, then by `model_id` within the provider;
    /// a `model_id` of several providers without a provider is ambiguous.
    fn match_model(&self, provider: Option<&str>, model: &str) -> ModelMatch<'_> {
        let fits = |m: &&ModelRef| provider.is_none_or(|p| m.provider == p);
        if let Some(m) = self
            .models
            .iter()
            .filter(fits)
            .find(|m| m.identifier == model)
        {
            return ModelMatch::Found(m);
        }
        let mut candidates: Vec<&ModelRef> = self
            .models
            .iter()
            .filter(fits)
            .filter(|m| m.model_id == model)
            .collect();
        candidates.sort_by_key(|m| m.id);
        let providers: BTreeSet<&str> = candidates.iter().map(|m| m.provider.as_str()).collect();
        match (candidates.first(), providers.len()) {
            (None, _) => ModelMatch::Missing,
            (Some(m), 1) => ModelMatch::Found(m),
            _ => ModelMatch::Ambiguous(providers.into_iter().collect()),
        }
    }
}

/// A model to register as discovered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NewModel {
    pub identifier: String,
    pub provider: String,
    pub model_id: String,
}

/// Catalog records to register as discovered before a group can be resolved.
#[derive(Debug, Default)]
pub struct Discoveries {
    pub providers: BTreeSet<String>,
    pub models: Vec<NewModel>,
    pub configurations: BTreeSet<String>,
    pub tasks: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub sources: BTreeSet<String>,
}

impl Discoveries {
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
            && self.models.is_empty()
            && self.configurations.is_empty()
            && self.tasks.is_empty()
            && self.users.is_empty()
            && self.sources.is_empty()
    }
}

fn provider_of(record: &UsageRecord, model: Option<&ModelRef>) -> String {
    match (&record.provider, model) {
        (Some(p), _) => p.clone(),
        (None, Some(m)) => m.provider.clone(),
        (None, None) => UNKNOWN_PROVIDER.to_string(),
    }
}

/// Finds the batches that cannot be stored (ambiguous models) and what the
/// others need registered. Refused batches register nothing.
pub fn plan(
    batches: &[Vec<PreparedRecord>],
    snap: &Snapshot,
    earlier: Vec<Option<Vec<FieldError>>>,
) -> (Vec<Option<Vec<FieldError>>>, Discoveries) {
    let mut refusals = Vec::with_capacity(batches.len());
    let mut found = Discoveries::default();
    let mut taken: HashSet<String> = snap.models.iter().map(|m| m.identifier.clone()).collect();
    let mut planned: HashSet<(String, String)> = HashSet::new();
    for (batch, earlier) in batches.iter().zip(earlier) {
        if earlier.is_some() {
            refusals.push(earlier);
            continue;
        }
        let errors: Vec<FieldError> = batch
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                let model = p.record.model.as_deref()?;
                match snap.match_model(p.record.provider.as_deref(), model) {
                    ModelMatch::Ambiguous(providers) => Some(FieldError {
                        index,
                        field: "model".into(),
                        message: format!(
                            "{model:?} is a model_id of several providers ({}); name the provider",
                            providers.join(", ")
                        ),
                    }),
                    _ => None,
                }
            })
            .collect();
        if !errors.is_empty() {
            refusals.push(Some(errors));
            continue;
        }
        refusals.push(None);
        for r in batch.iter().map(|p| &p.record) {
            let model = r
                .model
                .as_deref()
                .map(|m| (m, snap.match_model(r.provider.as_deref(), m)));
            let known_model = match &model {
                Some((_, ModelMatch::Found(m))) => Some(*m),
                _ => None,
            };
            let provider = provider_of(r, known_model);
            if known_model.is_none() && !snap.providers.contains_key(&provider) {
                found.providers.insert(provider.clone());
            }
            if let Some((name, ModelMatch::Missing)) = model
                && planned.insert((provider.clone(), name.to_string()))
            {
                let identifier = if taken.contains(name) {
                    format!("{provider}/{name}")
                } else {
                    name.to_string()
                };
                taken.insert(identifier.clone());
                found.models.push(NewModel {
                    identifier,
                    provider,
                    model_id: name.to_string(),
                });
            }
            let missing =
                |set: &mut BTreeSet<String>, known: &HashMap<String, i64>, v: &Option<String>| {
                    if let Some(v) = v
                        && !known.contains_key(v)
                    {
                        set.insert(v.clone());
                    }
                };
            missing(
                &mut found.configurations,
                &snap.configurations,
                &r.configuration,
            );
            missing(&mut found.tasks, &snap.tasks, &r.task);
            missing(&mut found.users, &snap.users, &r.user);
            missing(&mut found.sources, &snap.sources, &r.source);
        }
    }
    (refusals, found)
}

/// The key of one daily aggregate row. 0 = none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AggregateKey {
    pub day: i32,
    pub service: i16,
    pub provider: i64,
    pub model: i64,
    pub configuration: i64,
    pub task: i64,
    pub user: i64,
    pub source: i64,
}

/// What one or more records add to an aggregate row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    pub requests: i64,
    pub counts: Counts,
    pub cost: Money,
}

impl Amounts {
    /// The integer columns of an aggregate row after `day` and `service`,
    /// in the order both stores' upserts take them; an error when the
    /// cost is more than one row holds.
    pub fn columns(&self, k: &AggregateKey) -> StoreResult<[i64; 16]> {
        let c = &self.counts;
        let [dollars, picos] = stored_cost(self.cost)?;
        Ok([
            k.provider,
            k.model,
            k.configuration,
            k.task,
            k.user,
            k.source,
            self.requests,
            c.prompt_tokens,
            c.completion_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
            c.characters,
            c.audio_seconds,
            c.images,
            dollars,
            picos,
        ])
    }

    fn add(&mut self, other: &Amounts) {
        self.requests += other.requests;
        let (a, b) = (&mut self.counts, &other.counts);
        a.prompt_tokens += b.prompt_tokens;
        a.completion_tokens += b.completion_tokens;
        a.cache_read_tokens += b.cache_read_tokens;
        a.cache_write_tokens += b.cache_write_tokens;
        a.characters += b.characters;
        a.audio_seconds += b.audio_seconds;
        a.images += b.images;
        self.cost += other.cost;
    }
}

/// SPEC §3: a caller's cost is kept as given; specialized services cost 0
/// otherwise; token services are priced with the model's prices of now, and
/// an unpriced (discovered) model or a record without a model costs 0.
pub fn record_cost(record: &UsageRecord, pricing: Option<&Pricing>) -> Money {
    match (record.cost_usd, pricing) {
        (Some(cost), _) => cost,
        _ if record.service.is_specialized() => Money::ZERO,
        (None, Some(pricing)) => pricing.cost(&record.counts),
        (None, None) => Money::ZERO,
    }
}

/// A record turned into its row key and amounts.
#[derive(Clone, Debug)]
pub struct ResolvedRecord {
    pub key: AggregateKey,
    pub amounts: Amounts,
    pub idempotency_key: Option<String>,
    pub fingerprint: Option<i64>,
    pub reservation_id: Option<String>,
}

/// Resolves every record against a snapshot that holds all it names.
/// A name still missing (registered concurrently under another identifier)
/// refuses the batch, which the caller may retry.
pub fn resolve(
    batch: &[PreparedRecord],
    snap: &Snapshot,
) -> Result<Vec<ResolvedRecord>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(batch.len());
    for (index, p) in batch.iter().enumerate() {
        let r = &p.record;
        let mut fail = |field: &str| {
            errors.push(FieldError {
                index,
                field: field.into(),
                message: "could not be registered in the catalog; retry the request".into(),
            })
        };
        let model = match r
            .model
            .as_deref()
            .map(|m| snap.match_model(r.provider.as_deref(), m))
        {
            None => None,
            Some(ModelMatch::Found(m)) => Some(m),
            Some(_) => {
                fail("model");
                continue;
            }
        };
        // A matched model fits the named provider, so its provider is the record's.
        let provider = match model {
            Some(m) => Some(m.provider_id),
            None => snap.providers.get(&provider_of(r, None)).copied(),
        };
        let lookup = |map: &HashMap<String, i64>, v: &Option<String>| match v {
            None => Some(0),
            Some(v) => map.get(v).copied(),
        };
        let task = lookup(&snap.tasks, &r.task);
        // A task runs through its configuration (SPEC §2): usage that names
        // the task and no configuration counts toward that configuration,
        // and so toward its daily limits.
        let configuration = match (&r.configuration, task) {
            (None, Some(task)) => Some(snap.task_configurations.get(&task).copied().unwrap_or(0)),
            _ => lookup(&snap.configurations, &r.configuration),
        };
        let ids = (
            provider,
            configuration,
            task,
            lookup(&snap.users, &r.user),
            lookup(&snap.sources, &r.source),
        );
        let (Some(provider), Some(configuration), Some(task), Some(user), Some(source)) = ids
        else {
            fail("record");
            continue;
        };
        rows.push(ResolvedRecord {
            key: AggregateKey {
                day: p.day.number(),
                service: r.service.code(),
                provider,
                model: model.map_or(0, |m| m.id),
                configuration,
                task,
                user,
                source,
            },
            amounts: Amounts {
                requests: i64::from(r.counts_as_request),
                counts: r.counts,
                cost: record_cost(r, model.and_then(|m| m.pricing.as_ref())),
            },
            idempotency_key: r.idempotency_key.clone(),
            fingerprint: p.fingerprint,
            reservation_id: r.reservation_id.clone(),
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The idempotency keys of resolved batches with their fingerprints, first
/// occurrence first.
pub fn idempotency_keys<'a>(
    batches: impl IntoIterator<Item = &'a Vec<ResolvedRecord>>,
) -> Vec<(String, Option<i64>)> {
    let mut seen = HashSet::new();
    batches
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.idempotency_key.clone()?, r.fingerprint)))
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

/// Sums resolved records into one delta per aggregate key, in key order (so
/// concurrent writers lock rows in the same order). A record whose key is
/// not new (`is_new`), or repeats one already counted, is a duplicate.
pub fn merge(batches: &[&Vec<ResolvedRecord>], is_new: impl Fn(&str) -> bool) -> Merged {
    let mut deltas: BTreeMap<AggregateKey, Amounts> = BTreeMap::new();
    let mut settled = Vec::new();
    let mut counted: HashSet<&str> = HashSet::new();
    let mut outcomes = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut outcome = crate::store::BatchOutcome::default();
        for r in batch.iter() {
            let fresh = match &r.idempotency_key {
                None => true,
                Some(k) => is_new(k) && counted.insert(k.as_str()),
            };
            if fresh {
                deltas.entry(r.key).or_default().add(&r.amounts);
                settled.extend(r.reservation_id.clone());
                outcome.recorded += 1;
            } else {
                outcome.duplicates += 1;
            }
        }
        outcomes.push(outcome);
    }
    Merged {
        deltas,
        outcomes,
        settled,
    }
}

/// A group's records summed per aggregate key.
pub struct Merged {
    pub deltas: BTreeMap<AggregateKey, Amounts>,
    /// Per accepted batch, in order.
    pub outcomes: Vec<crate::store::BatchOutcome>,
    /// Reservations whose usage is now recorded.
    pub settled: Vec<String>,
}

/// The reservation ids a group names.
pub fn reservation_ids(batches: &[Vec<PreparedRecord>]) -> BTreeSet<String> {
    batches
        .iter()
        .flatten()
        .filter_map(|p| p.record.reservation_id.clone())
        .collect()
}

/// Refuses the batches that name a reservation the ledger never issued, or
/// one held for another user (settling it would free that user's budget).
/// `known`: the reservations that exist, by id, with their user's name; None
/// for a user unknown when it reserved, who had no budget for it to free.
pub fn reservation_refusals(
    batches: &[Vec<PreparedRecord>],
    known: &HashMap<String, Option<String>>,
) -> Vec<Option<Vec<FieldError>>> {
    batches
        .iter()
        .map(|batch| {
            let errors: Vec<FieldError> = batch
                .iter()
                .enumerate()
                .filter_map(|(index, p)| {
                    let id = p.record.reservation_id.as_ref()?;
                    let message = match known.get(id) {
                        None => "is not a reservation of this ledger".to_string(),
                        Some(Some(owner)) if p.record.user.as_ref() != Some(owner) => {
                            format!(
                                "is a reservation of the user {owner:?}, not of this record's user"
                            )
                        }
                        Some(_) => return None,
                    };
                    Some(FieldError {
                        index,
                        field: "reservation_id".into(),
                        message,
                    })
                })
                .collect();
            (!errors.is_empty()).then_some(errors)
        })
        .collect()
}

/// The distinct idempotency keys a group names, in order of appearance.
pub fn group_keys(batches: &[Vec<PreparedRecord>]) -> Vec<String> {
    let mut seen = HashSet::new();
    batches
        .iter()
        .flatten()
        .filter_map(|p| p.record.idempotency_key.as_deref())
        .filter(|k| seen.insert(*k))
        .map(str::to_string)
        .collect()
}

/// A stored key's fingerprint; None for a key stored before fingerprints
/// were (it matches any record).
pub type KnownKeys = HashMap<String, Option<i64>>;

/// Adds to `earlier` the refusal of each batch that reuses an idempotency
/// key for a different record: one the ledger has stored (`known`), or one
/// an earlier batch of the group (or the same batch) carries. Counting such
/// a record as a retry would lose its usage without a word. A batch claims
/// its keys only when nothing refused it so far; one refused later (by the
/// catalog) keeps its claim for this group, so a rival batch in the same
/// group is refused and can retry.
pub fn key_refusals(
    batches: &[Vec<PreparedRecord>],
    known: &KnownKeys,
    earlier: Vec<Option<Vec<FieldError>>>,
) -> Vec<Option<Vec<FieldError>>> {
    let mut claimed: HashMap<&str, i64> = HashMap::new();
    batches
        .iter()
        .zip(earlier)
        .map(|(batch, earlier)| {
            let mut errors = earlier.unwrap_or_default();
            let mut own: HashMap<&str, i64> = HashMap::new();
            for (index, p) in batch.iter().enumerate() {
                let Some((key, print)) = p.keyed() else {
                    continue;
                };
                let before = match known.get(key) {
                    Some(stored) => *stored,
                    None => claimed.get(key).or(own.get(key)).copied(),
                };
                if before.is_some_and(|b| b != print) {
                    errors.push(FieldError {
                        index,
                        field: "idempotency_key".into(),
                        message: "was already used for a different record; a retry must \
                                  repeat its record exactly, and a new record needs a new key"
                            .into(),
                    });
                } else {
                    own.entry(key).or_insert(print);
                }
            }
            if errors.is_empty() {
                claimed.extend(own);
                None
            } else {
                errors.sort_by_key(|e| e.index);
                Some(errors)
            }
        })
        .collect()
}

/// The key of a rollup row: dimension code, day, item.
pub type RollupKey = (i16, i32, i64);

/// What a group's aggregate deltas add to each rollup row, in key order.
pub fn rollups(deltas: &BTreeMap<AggregateKey, Amounts>) -> BTreeMap<RollupKey, Totals> {
    use crate::store::Dimension as D;
    let mut out: BTreeMap<RollupKey, Totals> = BTreeMap::new();
    for (k, a) in deltas {
        let totals = Totals {
            requests: a.requests,
            tokens: a.counts.tokens(),
            cost: a.cost,
        };
        for dim in D::ALL {
            let item = match dim {
                D::Total => 0,
                D::Provider => k.provider,
                D::Model => k.model,
                D::Service => i64::from(k.service),
                D::Source => k.source,
                D::User => k.user,
                D::Configuration => k.configuration,
                D::Task => k.task,
            };
            out.entry((dim.code(), k.day, item))
                .or_default()
                .add(&totals);
            if let Some(weekly) = dim.weekly_code() {
                let week = crate::store::week_start(k.day);
                out.entry((weekly, week, item)).or_default().add(&totals);
            }
        }
    }
    out
}

/// One stored aggregate row with names, for reports and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRow {
    pub day: Day,
    pub service: ServiceType,
    pub provider: String,
    pub model: Option<String>,
    pub configuration: Option<String>,
    pub task: Option<String>,
    pub user: Option<String>,
    pub source: Option<String>,
    pub requests: i64,
    pub counts: Counts,
    pub cost: Money,
}
