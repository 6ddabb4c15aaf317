//! Analytics (SPEC §5): everything is read from the per-day rollups, so the
//! cost of a report follows the window and the variety of one dimension,
//! never the length of the history or the number of calls.

use std::collections::HashMap;

use super::{App, AppResult, UserUsage};
use crate::domain::analytics::{
    Analytics, Breakdown, Kpis, MonthlyBudget, TrendPoint, UserRow, sort_breakdown,
};
use crate::domain::{Day, Money, Range, ServiceType, Totals};
use crate::store::{Dimension, Label};

/// Label of usage without a source.
pub const UNATTRIBUTED: &str = "unattributed";
/// Label of usage without a user.
pub const SYSTEM: &str = "system";
/// Label of usage without a model (e.g. a translation vendor).
pub const NO_MODEL: &str = "no model";

fn by_id(labels: Vec<Label>) -> HashMap<i64, Label> {
    labels.into_iter().map(|l| (l.id, l)).collect()
}

/// Turns rollup sums into a sorted breakdown; item 0 gets `none` as label
/// and an empty key.
fn breakdown(rows: Vec<(i64, Totals)>, labels: &HashMap<i64, Label>, none: &str) -> Vec<Breakdown> {
    let mut entries: Vec<Breakdown> = rows
        .into_iter()
        .map(|(item, t)| {
            let (key, label) = match labels.get(&item) {
                _ if item == 0 => (String::new(), none.to_string()),
                Some(l) => (l.key.clone(), l.label.clone()),
                None => (item.to_string(), item.to_string()),
            };
            Breakdown {
                key,
                label,
                cost_usd: t.cost,
                requests: t.requests,
                tokens: t.tokens,
            }
        })
        .collect();
    sort_breakdown(&mut entries);
    entries
}

fn services(rows: Vec<(i64, Totals)>) -> Vec<Breakdown> {
    let mut entries: Vec<Breakdown> = rows
        .into_iter()
        .map(|(code, t)| {
            let service = i16::try_from(code).ok().and_then(ServiceType::from_code);
            Breakdown {
                key: service.map_or_else(|| code.to_string(), |s| s.as_str().to_string()),
                label: service.map_or_else(|| code.to_string(), |s| s.label().to_string()),
                cost_usd: t.cost,
                requests: t.requests,
                tokens: t.tokens,
            }
        })
        .collect();
    sort_breakdown(&mut entries);
    entries
}

/// Every day of the window, zeros where nothing happened.
fn trend(from: Day, to: Day, days: Vec<(Day, Totals)>) -> Vec<TrendPoint> {
    let days: HashMap<Day, Totals> = days.into_iter().collect();
    (from.number()..=to.number())
        .map(Day::from_number)
        .map(|date| {
            let t = days.get(&date).copied().unwrap_or_default();
            TrendPoint {
                date,
                cost_usd: t.cost,
                requests: t.requests,
                tokens: t.tokens,
            }
        })
        .collect()
}

impl App {
    /// The analytics report of a range ending today in the ledger's zone.
    #[tracing::instrument(skip(self))]
    pub async fn analytics(&self, range: Range) -> AppResult<Analytics> {
        let today = self.today();
        let (from, to) = range.window(today);
        let store = self.store.as_ref();
        let (days, providers, models, service_rows, sources, users, month, unpriced) = tokio::try_join!(
            store.daily_totals(from, to),
            store.rollup(Dimension::Provider, from, to),
            store.rollup(Dimension::Model, from, to),
            store.rollup(Dimension::Service, from, to),
            store.rollup(Dimension::Source, from, to),
            store.rollup(Dimension::User, from, to),
            store.rollup(Dimension::User, today.month_start(), today),
            store.unpriced_requests(from, to),
        )?;
        let (provider_labels, model_labels, source_labels, user_labels, limits) = tokio::try_join!(
            store.labels(Dimension::Provider),
            store.labels(Dimension::Model),
            store.labels(Dimension::Source),
            store.labels(Dimension::User),
            store.monthly_cost_limits(),
        )?;
        let trend = trend(from, to, days);
        let mut total = Totals::default();
        for p in &trend {
            total.add(&Totals {
                requests: p.requests,
                tokens: p.tokens,
                cost: p.cost_usd,
            });
        }
        let by_provider = breakdown(providers, &by_id(provider_labels), "unknown");
        let by_model = breakdown(models, &by_id(model_labels), NO_MODEL);
        let kpis = Kpis {
            cost_usd: total.cost,
            requests: total.requests,
            tokens: total.tokens,
            providers: by_provider.len(),
            models: by_model.iter().filter(|m| !m.key.is_empty()).count(),
        };
        Ok(Analytics {
            range: range.as_str(),
            from,
            to,
            timezone: self.timezone.name().to_string(),
            kpis,
            trend,
            by_provider,
            by_model,
            by_service: services(service_rows),
            by_source: breakdown(sources, &by_id(source_labels), UNATTRIBUTED),
            users: user_rows(users, month, &by_id(user_labels), &limits),
            unpriced_requests: unpriced,
        })
    }

    /// Usage of the last 30 days (today included) per record of a catalog
    /// dimension, keyed by identifier; records without usage are absent.
    pub async fn usage_30d(&self, dim: Dimension) -> AppResult<HashMap<String, Totals>> {
        let (from, to) = Range::Days30.window(self.today());
        let (rows, labels) =
            tokio::try_join!(self.store.rollup(dim, from, to), self.store.labels(dim))?;
        let labels = by_id(labels);
        Ok(rows
            .into_iter()
            .filter_map(|(item, t)| labels.get(&item).map(|l| (l.key.clone(), t)))
            .collect())
    }

    /// A user's usage today and this calendar month, in the ledger's zone.
    pub async fn user_usage(&self, username: &str) -> AppResult<UserUsage> {
        let today = self.today();
        let (day, month) = tokio::try_join!(
            self.store.user_totals(username, today, today),
            self.store.user_totals(username, today.month_start(), today),
        )?;
        Ok(UserUsage { today: day, month })
    }
}

/// Per-user rows of the window, with this month's cost against the monthly
/// ceiling (independent of the window). Usage without a user is the system.
fn user_rows(
    window: Vec<(i64, Totals)>,
    month: Vec<(i64, Totals)>,
    labels: &HashMap<i64, Label>,
    limits: &[(i64, Money)],
) -> Vec<UserRow> {
    let month: HashMap<i64, Money> = month.into_iter().map(|(id, t)| (id, t.cost)).collect();
    let limits: HashMap<i64, Money> = limits.iter().copied().collect();
    let mut rows: Vec<UserRow> = window
        .into_iter()
        .map(|(id, t)| {
            let label = labels.get(&id);
            let budget = limits.get(&id).filter(|_| id != 0).map(|&limit| {
                let spent = month.get(&id).copied().unwrap_or(Money::ZERO);
                MonthlyBudget {
                    month_cost_usd: spent,
                    limit_cost_usd: limit,
                    percent: spent.percent_of(limit).unwrap_or(0.0),
                }
            });
            UserRow {
                user: if id == 0 {
                    None
                } else {
                    Some(label.map_or_else(|| id.to_string(), |l| l.key.clone()))
                },
                label: if id == 0 {
                    SYSTEM.to_string()
                } else {
                    label.map_or_else(|| id.to_string(), |l| l.label.clone())
                },
                cost_usd: t.cost,
                requests: t.requests,
                tokens: t.tokens,
                budget,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.cost_usd, b.requests)
            .cmp(&(a.cost_usd, a.requests))
            .then_with(|| a.user.cmp(&b.user))
    });
    rows
}

/// A catalog record with its usage of the last 30 days (`None`: no usage).
#[derive(Clone, Debug, PartialEq)]
pub struct Listed<T> {
    pub item: T,
    pub usage_30d: Option<Totals>,
}

impl App {
    /// Catalog records with their 30-day usage, read concurrently.
    async fn listed<T>(
        &self,
        items: impl Future<Output = crate::store::StoreResult<Vec<T>>>,
        dim: Dimension,
        key: fn(&T) -> &str,
    ) -> AppResult<Vec<Listed<T>>> {
        let (items, usage) = tokio::try_join!(async { Ok(items.await?) }, self.usage_30d(dim))?;
        Ok(items
            .into_iter()
            .map(|item| {
                let usage_30d = usage.get(key(&item)).copied();
                Listed { item, usage_30d }
            })
            .collect())
    }

    pub async fn providers(&self) -> AppResult<Vec<Listed<crate::domain::Provider>>> {
        self.listed(self.store.providers(), Dimension::Provider, |p| {
            &p.identifier
        })
        .await
    }

    pub async fn models(&self) -> AppResult<Vec<Listed<crate::domain::Model>>> {
        self.listed(self.store.models(), Dimension::Model, |m| &m.identifier)
            .await
    }

    pub async fn configurations(&self) -> AppResult<Vec<Listed<crate::domain::Configuration>>> {
        self.listed(self.store.configurations(), Dimension::Configuration, |c| {
            &c.identifier
        })
        .await
    }

    pub async fn tasks(&self) -> AppResult<Vec<Listed<crate::domain::Task>>> {
        self.listed(self.store.tasks(), Dimension::Task, |t| &t.identifier)
            .await
    }
}
