//! The declarative catalog file (SPEC §7): `catalog apply` and `catalog export`.
//!
//! Applying is idempotent: each record is compared with what is stored and
//! only differences are written, so a second apply of the same file changes
//! nothing. The whole file is checked before anything is written.
//!
//! Usage registers the records it names that the catalog lacks (SPEC §3),
//! under whatever name it gave. Two marks let a file carry such records, so
//! that an export applies to an empty database:
//! - `discovered = true`: a record as usage registered it (a model without a
//!   price). Applying creates it, still discovered, when it is missing, and
//!   never changes a stored record.
//! - `from_usage = true`: a set-up record whose identifier is a name usage
//!   reported rather than a slug; a new record may keep such a name.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{App, AppError, AppResult, Problems};
use crate::domain::catalog::check_identifier;
use crate::domain::{Configuration, DailyLimits, Model, Money, Price, Pricing, Provider, Task};

#[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default, rename = "provider", skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderEntry>,
    #[serde(default, rename = "model", skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelEntry>,
    #[serde(
        default,
        rename = "configuration",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub configurations: Vec<ConfigurationEntry>,
    #[serde(default, rename = "task", skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskEntry>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    pub identifier: String,
    pub name: String,
    pub adapter_type: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub discovered: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_usage: bool,
}

/// A decimal written as a string (`"7.5"`) or a whole number (`250`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Decimal {
    Text(String),
    Whole(i64),
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

/// Says why a float is refused (an untagged enum would only say that
/// nothing matched).
struct DecimalVisitor;

impl serde::de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a decimal as a string (\"7.5\") or a whole number")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        Ok(Decimal::Text(v.to_string()))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::Whole(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        i64::try_from(v)
            .map(Decimal::Whole)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        Err(E::custom(format!(
            "write {v} as a string (\"{v}\"): a floating-point number is not an exact decimal"
        )))
    }
}

impl Decimal {
    fn text(&self) -> String {
        match self {
            Decimal::Text(t) => t.clone(),
            Decimal::Whole(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub identifier: String,
    pub name: String,
    pub provider: String,
    pub model_id: String,
    /// US cents per 1M prompt tokens; required unless the model is
    /// `discovered` (then it has no price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_price: Option<Decimal>,
    /// US cents per 1M completion tokens; as `input_price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_price: Option<Decimal>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub discovered: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_usage: bool,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationEntry {
    pub identifier: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_requests_per_day: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_tokens_per_day: i64,
    /// US dollars per day, across all users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_per_day: Option<Decimal>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub discovered: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_usage: bool,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    pub identifier: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub discovered: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_usage: bool,
}

/// What an apply changed, per kind of record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl CatalogFile {
    pub fn parse(text: &str) -> AppResult<CatalogFile> {
        toml::from_str(text).map_err(|e| AppError::invalid("catalog", e.to_string()))
    }

    pub fn to_toml(&self) -> AppResult<String> {
        toml::to_string(self).map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// The records a file describes, checked and in domain form.
#[derive(Debug)]
struct Checked {
    providers: Vec<Provider>,
    models: Vec<Model>,
    configurations: Vec<Configuration>,
    tasks: Vec<Task>,
}

fn price(field: String, value: &Decimal) -> AppResult<Price> {
    Price::parse_cents(&value.text()).map_err(|e| AppError::invalid(field, e.to_string()))
}

fn name(field: String, value: &str) -> AppResult<()> {
    check_identifier("", value).map_err(|(_, m)| AppError::invalid(field, m))
}

/// A record's identifier: for a new record a slug (SPEC §2), lower-case
/// letters, digits, `-`, `_`, `.` and `:` (Ollama's `llama3.1:8b`),
/// starting with a letter or digit, so that it reads well in links and
/// files. A stored one, such as a name discovered from usage, stays
/// editable as it is, and an entry marked as coming from usage
/// (`from_usage` or `discovered`) may bring such a name to a new record.
fn identifier(field: String, value: &str, stored: &[String], from_usage: bool) -> AppResult<()> {
    name(field.clone(), value)?;
    if from_usage || stored.iter().any(|s| s == value) || is_identifier_slug(value) {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "must be a slug: lower-case letters, digits, '-', '_', '.' and ':', starting with a letter or digit \
             (a name that usage reported is kept with from_usage = true)",
        ))
    }
}

fn is_identifier_slug(value: &str) -> bool {
    is_slug(value, ".-_:")
}

/// The vendor adapter: a lower-case word such as `openai` (upper case is
/// taken as lower case).
fn adapter_type(field: String, value: &str) -> AppResult<()> {
    name(field.clone(), value)?;
    if is_slug(&value.to_lowercase(), "-_") {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "must be a lower-case word such as openai or google-vertex (letters, digits, '-', '_')",
        ))
    }
}

fn is_slug(value: &str, punctuation: &str) -> bool {
    let mut chars = value.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || punctuation.contains(c))
}

fn unique<'a>(kind: &str, ids: impl Iterator<Item = &'a String>) -> AppResult<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(AppError::invalid(
                kind,
                format!("identifier {id:?} appears twice"),
            ));
        }
    }
    Ok(())
}

impl CatalogFile {
    /// Checks every entry and reports every problem, not only the first;
    /// references may point at the file or the store.
    fn check(&self, known: &Known) -> AppResult<Checked> {
        let mut p = Problems::default();
        p.check(unique(
            "provider",
            self.providers.iter().map(|p| &p.identifier),
        ));
        p.check(unique("model", self.models.iter().map(|m| &m.identifier)));
        p.check(unique(
            "configuration",
            self.configurations.iter().map(|c| &c.identifier),
        ));
        p.check(unique("task", self.tasks.iter().map(|t| &t.identifier)));
        let mut providers = Vec::new();
        for (i, e) in self.providers.iter().enumerate() {
            let at = |field: &str| format!("provider[{i}].{field}");
            p.check(identifier(
                at("identifier"),
                &e.identifier,
                &known.providers,
                e.from_usage || e.discovered,
            ));
            p.check(name(at("name"), &e.name));
            p.check(adapter_type(at("adapter_type"), &e.adapter_type));
            providers.push(Provider {
                identifier: e.identifier.clone(),
                name: e.name.clone(),
                adapter_type: e.adapter_type.to_lowercase(),
                active: e.active,
                discovered: e.discovered,
            });
        }
        let provider_ids: BTreeSet<&str> = providers
            .iter()
            .map(|p| p.identifier.as_str())
            .chain(known.providers.iter().map(String::as_str))
            .collect();
        let mut models = Vec::new();
        // Usage names a model by its model_id within a provider, so two
        // models must not share both: one would take the other's usage.
        let in_file: HashSet<&str> = self.models.iter().map(|m| m.identifier.as_str()).collect();
        let mut vendor_ids: HashMap<(&str, &str), &str> = known
            .vendor_ids
            .iter()
            .filter(|(_, id)| !in_file.contains(id.as_str()))
            .map(|((p, m), id)| ((p.as_str(), m.as_str()), id.as_str()))
            .collect();
        for (i, m) in self.models.iter().enumerate() {
            let at = |field: &str| format!("model[{i}].{field}");
            p.check(identifier(
                at("identifier"),
                &m.identifier,
                &known.models,
                m.from_usage || m.discovered,
            ));
            p.check(name(at("name"), &m.name));
            p.check(name(at("model_id"), &m.model_id));
            let vendor_id = (m.provider.as_str(), m.model_id.as_str());
            match vendor_ids.get(&vendor_id) {
                Some(other) if *other != m.identifier => p.add(
                    at("model_id"),
                    format!(
                        "is already the model_id of {other:?} of the same provider; \
                         usage naming it could not tell the two apart"
                    ),
                ),
                _ => {
                    vendor_ids.insert(vendor_id, &m.identifier);
                }
            }
            if !provider_ids.contains(m.provider.as_str()) {
                p.add(
                    at("provider"),
                    format!("names no provider: {:?}", m.provider),
                );
            }
            let pricing = if m.discovered {
                // Usage registers a model without a price; setting one is
                // setting the model up.
                for (field, v) in [
                    ("input_price", &m.input_price),
                    ("output_price", &m.output_price),
                    ("cache_read_price", &m.cache_read_price),
                    ("cache_write_price", &m.cache_write_price),
                ] {
                    if v.is_some() {
                        p.add(
                            at(field),
                            "a discovered model has no price: leave the prices out, \
                             or drop discovered to set the model up",
                        );
                    }
                }
                None
            } else {
                let mut read = |field: &str, v: &Option<Decimal>, required: bool| match v {
                    Some(v) => p.take(price(at(field), v)),
                    None if required => {
                        p.add(at(field), "is required");
                        None
                    }
                    None => None,
                };
                let cache_read = read("cache_read_price", &m.cache_read_price, false);
                let cache_write = read("cache_write_price", &m.cache_write_price, false);
                let input = read("input_price", &m.input_price, true);
                let output = read("output_price", &m.output_price, true);
                let (Some(input), Some(output)) = (input, output) else {
                    continue;
                };
                Some(Pricing {
                    input,
                    output,
                    cache_read,
                    cache_write,
                })
            };
            models.push(Model {
                identifier: m.identifier.clone(),
                name: m.name.clone(),
                provider: m.provider.clone(),
                model_id: m.model_id.clone(),
                pricing,
                active: m.active,
                discovered: m.discovered,
            });
        }
        // A model refused above still counts as named: its configurations
        // get no second error for it.
        let model_ids: BTreeSet<&str> = self
            .models
            .iter()
            .map(|m| m.identifier.as_str())
            .chain(known.models.iter().map(String::as_str))
            .collect();
        let mut configurations = Vec::new();
        for (i, c) in self.configurations.iter().enumerate() {
            let at = |field: &str| format!("configuration[{i}].{field}");
            p.check(identifier(
                at("identifier"),
                &c.identifier,
                &known.configurations,
                c.from_usage || c.discovered,
            ));
            p.check(name(at("name"), &c.name));
            if let Some(m) = &c.model
                && !model_ids.contains(m.as_str())
            {
                p.add(at("model"), format!("names no model: {m:?}"));
            }
            for (field, v) in [
                ("max_requests_per_day", c.max_requests_per_day),
                ("max_tokens_per_day", c.max_tokens_per_day),
            ] {
                if v < 0 {
                    p.add(at(field), "must not be negative");
                }
            }
            let max_cost_per_day = match &c.max_cost_per_day {
                None => Money::ZERO,
                Some(v) => Money::parse_usd(&v.text()).unwrap_or_else(|e| {
                    p.add(at("max_cost_per_day"), e.to_string());
                    Money::ZERO
                }),
            };
            configurations.push(Configuration {
                identifier: c.identifier.clone(),
                name: c.name.clone(),
                model: c.model.clone(),
                limits: DailyLimits {
                    max_requests_per_day: c.max_requests_per_day,
                    max_tokens_per_day: c.max_tokens_per_day,
                    max_cost_per_day,
                },
                discovered: c.discovered,
            });
        }
        let configuration_ids: BTreeSet<&str> = configurations
            .iter()
            .map(|c| c.identifier.as_str())
            .chain(known.configurations.iter().map(String::as_str))
            .collect();
        let mut tasks = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let at = |field: &str| format!("task[{i}].{field}");
            p.check(identifier(
                at("identifier"),
                &t.identifier,
                &known.tasks,
                t.from_usage || t.discovered,
            ));
            p.check(name(at("name"), &t.name));
            if let Some(c) = &t.configuration
                && !configuration_ids.contains(c.as_str())
            {
                p.add(
                    at("configuration"),
                    format!("names no configuration: {c:?}"),
                );
            }
            tasks.push(Task {
                identifier: t.identifier.clone(),
                name: t.name.clone(),
                configuration: t.configuration.clone(),
                discovered: t.discovered,
            });
        }
        p.finish()?;
        Ok(Checked {
            providers,
            models,
            configurations,
            tasks,
        })
    }
}

/// Identifiers already in the store.
struct Known {
    providers: Vec<String>,
    models: Vec<String>,
    /// The stored models' (provider, model_id), with their identifiers.
    vendor_ids: Vec<((String, String), String)>,
    configurations: Vec<String>,
    tasks: Vec<String>,
}

/// What applying needs to know of a catalog record.
trait Record: PartialEq {
    fn identifier(&self) -> &str;
    fn discovered(&self) -> bool;
}

macro_rules! record {
    ($($kind:ty),*) => {$(
        impl Record for $kind {
            fn identifier(&self) -> &str {
                &self.identifier
            }
            fn discovered(&self) -> bool {
                self.discovered
            }
        }
    )*};
}
record!(Provider, Model, Configuration, Task);

/// The records an export holds: the set-up ones, and the discovered ones
/// that `named` (the identifiers set-up records refer to) contains.
fn exported<T: Record>(records: Vec<T>, named: &BTreeSet<String>) -> Vec<T> {
    records
        .into_iter()
        .filter(|r| !r.discovered() || named.contains(r.identifier()))
        .collect()
}

/// Saves each wanted record that differs from the stored one. A discovered
/// entry only fills a gap: it never changes a stored record.
async fn sync<T: Record, F, Fut>(
    wanted: Vec<T>,
    stored: &[T],
    save: F,
    summary: &mut ApplySummary,
) -> AppResult<()>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    for item in wanted {
        match stored.iter().find(|s| s.identifier() == item.identifier()) {
            Some(existing) if *existing == item || item.discovered() => summary.unchanged += 1,
            Some(_) => {
                save(item).await?;
                summary.updated += 1;
            }
            None => {
                save(item).await?;
                summary.created += 1;
            }
        }
    }
    Ok(())
}

impl App {
    /// Applies a catalog file; returns what changed.
    pub async fn apply_catalog(&self, file: &CatalogFile) -> AppResult<ApplySummary> {
        self.apply_catalog_read(file, Problems::default()).await
    }

    /// Applies `file` as read from a form or JSON, where reading found
    /// `found` (fields of the wrong type, now carrying stand-in values): when
    /// there are any, nothing is written and the answer names them together
    /// with every problem of the other fields.
    pub async fn apply_catalog_read(
        &self,
        file: &CatalogFile,
        mut found: Problems,
    ) -> AppResult<ApplySummary> {
        let store = self.store();
        let (providers, models, configurations, tasks) = (
            store.providers().await?,
            store.models().await?,
            store.configurations().await?,
            store.tasks().await?,
        );
        let known = Known {
            providers: providers.iter().map(|p| p.identifier.clone()).collect(),
            models: models.iter().map(|m| m.identifier.clone()).collect(),
            vendor_ids: models
                .iter()
                .map(|m| {
                    (
                        (m.provider.clone(), m.model_id.clone()),
                        m.identifier.clone(),
                    )
                })
                .collect(),
            configurations: configurations
                .iter()
                .map(|c| c.identifier.clone())
                .collect(),
            tasks: tasks.iter().map(|t| t.identifier.clone()).collect(),
        };
        let checked = found.check_other_fields(file.check(&known));
        found.finish()?;
        let Some(checked) = checked else {
            return Err(AppError::Internal(
                "the catalog check found no problem and no result".into(),
            ));
        };
        let mut summary = ApplySummary::default();
        sync(
            checked.providers,
            &providers,
            |p| async move { Ok(store.save_provider(&p).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.models,
            &models,
            |m| async move { Ok(store.save_model(&m).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.configurations,
            &configurations,
            |c| async move { Ok(store.save_configuration(&c).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.tasks,
            &tasks,
            |t| async move { Ok(store.save_task(&t).await?) },
            &mut summary,
        )
        .await?;
        Ok(summary)
    }

    /// The catalog as a file that applies to an empty database: every
    /// record an administrator has set up, and the discovered records they
    /// name (marked `discovered`); other discovered records are left out.
    pub async fn export_catalog(&self) -> AppResult<CatalogFile> {
        let store = self.store();
        let tasks = exported(store.tasks().await?, &BTreeSet::new());
        let named = tasks.iter().flat_map(|t| t.configuration.clone()).collect();
        let configurations = exported(store.configurations().await?, &named);
        let named = configurations
            .iter()
            .flat_map(|c| c.model.clone())
            .collect();
        let models = exported(store.models().await?, &named);
        let named = models.iter().map(|m| m.provider.clone()).collect();
        let providers = exported(store.providers().await?, &named);
        // A set-up record keeps a name usage gave it; the mark lets it apply
        // where that name is new.
        let from_usage =
            |discovered: bool, identifier: &str| !discovered && !is_identifier_slug(identifier);
        let decimal = |p: Price| Decimal::Text(p.to_string());
        Ok(CatalogFile {
            providers: providers
                .into_iter()
                .map(|p| ProviderEntry {
                    from_usage: from_usage(p.discovered, &p.identifier),
                    identifier: p.identifier,
                    name: p.name,
                    adapter_type: p.adapter_type,
                    active: p.active,
                    discovered: p.discovered,
                })
                .collect(),
            models: models
                .into_iter()
                .map(|m| ModelEntry {
                    from_usage: from_usage(m.discovered, &m.identifier),
                    identifier: m.identifier,
                    name: m.name,
                    provider: m.provider,
                    model_id: m.model_id,
                    input_price: m.pricing.map(|p| decimal(p.input)),
                    output_price: m.pricing.map(|p| decimal(p.output)),
                    cache_read_price: m.pricing.and_then(|p| p.cache_read).map(decimal),
                    cache_write_price: m.pricing.and_then(|p| p.cache_write).map(decimal),
                    active: m.active,
                    discovered: m.discovered,
                })
                .collect(),
            configurations: configurations
                .into_iter()
                .map(|c| ConfigurationEntry {
                    from_usage: from_usage(c.discovered, &c.identifier),
                    identifier: c.identifier,
                    name: c.name,
                    model: c.model,
                    max_requests_per_day: c.limits.max_requests_per_day,
                    max_tokens_per_day: c.limits.max_tokens_per_day,
                    max_cost_per_day: (c.limits.max_cost_per_day != Money::ZERO)
                        .then(|| Decimal::Text(c.limits.max_cost_per_day.to_string())),
                    discovered: c.discovered,
                })
                .collect(),
            tasks: tasks
                .into_iter()
                .map(|t| TaskEntry {
                    from_usage: from_usage(t.discovered, &t.identifier),
                    identifier: t.identifier,
                    name: t.name,
                    configuration: t.configuration,
                    discovered: t.discovered,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = r#"
[[provider]]
identifier = "openai-prod"
name = "OpenAI (production key)"
adapter_type = "openai"

[[model]]
identifier = "gpt-4o"
name = "GPT-4o"
provider = "openai-prod"
model_id = "gpt-4o"
input_price = "250"      # US cents per 1M prompt tokens
output_price = "1000"    # US cents per 1M completion tokens

[[configuration]]
identifier = "chat-default"
name = "Default chat"
model = "gpt-4o"
max_requests_per_day = 0

[[task]]
identifier = "summarize-page"
name = "Summarize a page"
configuration = "chat-default"
"#;

    fn none_known() -> Known {
        Known {
            providers: vec![],
            models: vec![],
            vendor_ids: vec![],
            configurations: vec![],
            tasks: vec![],
        }
    }

    #[test]
    fn new_identifiers_are_slugs_and_stored_ones_stay_editable() {
        let with =
            |from: &str, to: &str| CatalogFile::parse(&SPEC_EXAMPLE.replace(from, to)).unwrap();
        for bad in ["Bad Slug!", "a/b", "-lead", "GPT-4o", "q?x#y"] {
            let file = with(
                "identifier = \"openai-prod\"",
                &format!("identifier = {bad:?}"),
            );
            let err = file.check(&none_known()).unwrap_err().to_string();
            assert!(
                err.starts_with("provider[0].identifier: must be a slug"),
                "{bad}: {err}"
            );
        }
        // Not even from usage: no link could reach it.
        let file = with(
            "identifier = \"openai-prod\"",
            "identifier = \"..\"\nfrom_usage = true",
        );
        let err = file.check(&none_known()).unwrap_err().to_string();
        assert!(
            err.starts_with("provider[0].identifier: must not be . or .."),
            "{err}"
        );
        for good in [
            "openai-prod",
            "gpt-4o",
            "claude-3.5_sonnet",
            "7b",
            "llama3.1:8b",
        ] {
            let file = with("identifier = \"gpt-4o\"", &format!("identifier = {good:?}"));
            let file = CatalogFile::parse(
                &file
                    .to_toml()
                    .unwrap()
                    .replace("model = \"gpt-4o\"", &format!("model = {good:?}")),
            )
            .unwrap();
            file.check(&none_known())
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        // A name discovered from usage (stored already) can be set up as it is.
        let discovered = with(
            "identifier = \"openai-prod\"",
            "identifier = \"My Vendor/eu\"",
        )
        .to_toml()
        .unwrap()
        .replace("provider = \"openai-prod\"", "provider = \"My Vendor/eu\"");
        let known = Known {
            providers: vec!["My Vendor/eu".into()],
            ..none_known()
        };
        CatalogFile::parse(&discovered)
            .unwrap()
            .check(&known)
            .unwrap();

        let err = with("adapter_type = \"openai\"", "adapter_type = \"Open AI!\"")
            .check(&none_known())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("provider[0].adapter_type:"), "{err}");
        with("adapter_type = \"openai\"", "adapter_type = \"OpenAI\"")
            .check(&none_known())
            .unwrap();
    }

    #[test]
    fn names_from_usage_and_discovered_models() {
        let provider = |marks: &str| {
            CatalogFile::parse(&format!(
                "[[provider]]\nidentifier = \"Azure OpenAI\"\nname = \"Azure\"\nadapter_type = \"openai\"\n{marks}"
            ))
            .unwrap()
            .check(&none_known())
        };
        let err = provider("").unwrap_err().to_string();
        assert!(err.contains("from_usage = true"), "{err}");
        assert!(!provider("from_usage = true").unwrap().providers[0].discovered);
        assert!(provider("discovered = true").unwrap().providers[0].discovered);

        let model = |prices: &str, discovered: bool| {
            CatalogFile::parse(&format!(
                "[[model]]\nidentifier = \"m\"\nname = \"M\"\nprovider = \"p\"\nmodel_id = \"m\"\n{prices}\ndiscovered = {discovered}"
            ))
            .unwrap()
            .check(&Known {
                providers: vec!["p".into()],
                ..none_known()
            })
        };
        let checked = model("", true).unwrap();
        assert_eq!(checked.models[0].pricing, None);
        assert!(checked.models[0].discovered);
        let err = model("input_price = \"1\"\ncache_read_price = \"1\"", true)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("model[0].input_price: a discovered model has no price")
                && err.contains("model[0].cache_read_price:"),
            "{err}"
        );
        let err = model("", false).unwrap_err().to_string();
        assert_eq!(
            err,
            "model[0].input_price: is required; model[0].output_price: is required"
        );
    }

    #[test]
    fn parses_the_spec_example() {
        let file = CatalogFile::parse(SPEC_EXAMPLE).unwrap();
        let checked = file.check(&none_known()).unwrap();
        assert_eq!(
            checked.models[0].pricing.unwrap().input,
            Price::parse_cents("250").unwrap()
        );
        assert_eq!(
            checked.tasks[0].configuration.as_deref(),
            Some("chat-default")
        );
    }

    #[test]
    fn names_the_bad_field() {
        let bad = SPEC_EXAMPLE.replace("input_price = \"250\"", "input_price = \"-3\"");
        let err = CatalogFile::parse(&bad)
            .unwrap()
            .check(&none_known())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("model[0].input_price:"),
            "{err}"
        );
        let bad = SPEC_EXAMPLE.replace("provider = \"openai-prod\"", "provider = \"nope\"");
        let err = CatalogFile::parse(&bad)
            .unwrap()
            .check(&none_known())
            .unwrap_err();
        assert!(err.to_string().starts_with("model[0].provider:"), "{err}");
        let err = CatalogFile::parse("[[provider]]\nidentifier = 1").unwrap_err();
        assert!(err.to_string().contains("line"), "{err}");
        let err = CatalogFile::parse(
            "[[provider]]\nidentifier = \"a\"\nname = \"a\"\nadapter_type = \"x\"\ncolour = 1",
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = CatalogFile::parse(&SPEC_EXAMPLE.replace("\"250\"", "7.5")).unwrap_err();
        assert!(err.to_string().contains("write 7.5 as a string"), "{err}");
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let bad = SPEC_EXAMPLE
            .replace("identifier = \"openai-prod\"", "identifier = \"Bad Slug\"")
            .replace("input_price = \"250\"", "input_price = \"1.23456\"")
            .replace("max_requests_per_day = 0", "max_requests_per_day = -1");
        let err = CatalogFile::parse(&bad)
            .unwrap()
            .check(&none_known())
            .unwrap_err();
        let AppError::Invalid(problems) = err else {
            panic!("{err}")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "provider[0].identifier",
                // The model's provider was renamed away, so it names none.
                "model[0].provider",
                "model[0].input_price",
                "configuration[0].max_requests_per_day",
            ]
        );
    }

    #[test]
    fn round_trips_through_toml() {
        let file = CatalogFile::parse(SPEC_EXAMPLE).unwrap();
        let again = CatalogFile::parse(&file.to_toml().unwrap()).unwrap();
        assert_eq!(file, again);
    }
}
