//! The declarative catalog file (SPEC §7): `catalog apply` and `catalog export`.
//!
//! Applying is idempotent: each record is compared with what is stored and
//! only differences are written, so a second apply of the same file changes
//! nothing. The whole file is checked before anything is written.

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

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    pub identifier: String,
    pub name: String,
    pub adapter_type: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
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
    /// US cents per 1M prompt tokens.
    pub input_price: Decimal,
    /// US cents per 1M completion tokens.
    pub output_price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_price: Option<Decimal>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
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
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    pub identifier: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
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
/// editable as it is.
fn identifier(field: String, value: &str, stored: &[String]) -> AppResult<()> {
    name(field.clone(), value)?;
    if stored.iter().any(|s| s == value) || is_slug(value, ".-_:") {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "must be a slug: lower-case letters, digits, '-', '_', '.' and ':', starting with a letter or digit",
        ))
    }
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
            ));
            p.check(name(at("name"), &e.name));
            p.check(adapter_type(at("adapter_type"), &e.adapter_type));
            providers.push(Provider {
                identifier: e.identifier.clone(),
                name: e.name.clone(),
                adapter_type: e.adapter_type.to_lowercase(),
                active: e.active,
                discovered: false,
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
            p.check(identifier(at("identifier"), &m.identifier, &known.models));
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
            let mut optional = |field: &str, v: &Option<Decimal>| {
                v.as_ref().and_then(|v| p.take(price(at(field), v)))
            };
            let cache_read = optional("cache_read_price", &m.cache_read_price);
            let cache_write = optional("cache_write_price", &m.cache_write_price);
            let input = p.take(price(at("input_price"), &m.input_price));
            let output = p.take(price(at("output_price"), &m.output_price));
            let (Some(input), Some(output)) = (input, output) else {
                continue;
            };
            models.push(Model {
                identifier: m.identifier.clone(),
                name: m.name.clone(),
                provider: m.provider.clone(),
                model_id: m.model_id.clone(),
                pricing: Some(Pricing {
                    input,
                    output,
                    cache_read,
                    cache_write,
                }),
                active: m.active,
                discovered: false,
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
                discovered: false,
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
            p.check(identifier(at("identifier"), &t.identifier, &known.tasks));
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
                discovered: false,
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

/// Saves each wanted record that differs from the stored one.
async fn sync<T: PartialEq, F, Fut>(
    wanted: Vec<T>,
    stored: &[T],
    same_key: impl Fn(&T, &T) -> bool,
    save: F,
    summary: &mut ApplySummary,
) -> AppResult<()>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    for item in wanted {
        match stored.iter().find(|s| same_key(s, &item)) {
            Some(existing) if *existing == item => summary.unchanged += 1,
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
            |a, b| a.identifier == b.identifier,
            |p| async move { Ok(store.save_provider(&p).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.models,
            &models,
            |a, b| a.identifier == b.identifier,
            |m| async move { Ok(store.save_model(&m).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.configurations,
            &configurations,
            |a, b| a.identifier == b.identifier,
            |c| async move { Ok(store.save_configuration(&c).await?) },
            &mut summary,
        )
        .await?;
        sync(
            checked.tasks,
            &tasks,
            |a, b| a.identifier == b.identifier,
            |t| async move { Ok(store.save_task(&t).await?) },
            &mut summary,
        )
        .await?;
        Ok(summary)
    }

    /// The catalog as a file. Discovered records are left out until an
    /// administrator has set them up (a discovered model has no price yet).
    pub async fn export_catalog(&self) -> AppResult<CatalogFile> {
        let store = self.store();
        let models: Vec<Model> = store
            .models()
            .await?
            .into_iter()
            .filter(|m| !m.discovered)
            .collect();
        let needed: BTreeSet<String> = models.iter().map(|m| m.provider.clone()).collect();
        let decimal = |p: Price| Decimal::Text(p.to_string());
        Ok(CatalogFile {
            providers: store
                .providers()
                .await?
                .into_iter()
                .filter(|p| !p.discovered || needed.contains(&p.identifier))
                .map(|p| ProviderEntry {
                    identifier: p.identifier,
                    name: p.name,
                    adapter_type: p.adapter_type,
                    active: p.active,
                })
                .collect(),
            models: models
                .into_iter()
                .filter_map(|m| {
                    let pricing = m.pricing?;
                    Some(ModelEntry {
                        identifier: m.identifier,
                        name: m.name,
                        provider: m.provider,
                        model_id: m.model_id,
                        input_price: decimal(pricing.input),
                        output_price: decimal(pricing.output),
                        cache_read_price: pricing.cache_read.map(decimal),
                        cache_write_price: pricing.cache_write.map(decimal),
                        active: m.active,
                    })
                })
                .collect(),
            configurations: store
                .configurations()
                .await?
                .into_iter()
                .filter(|c| !c.discovered)
                .map(|c| ConfigurationEntry {
                    identifier: c.identifier,
                    name: c.name,
                    model: c.model,
                    max_requests_per_day: c.limits.max_requests_per_day,
                    max_tokens_per_day: c.limits.max_tokens_per_day,
                    max_cost_per_day: (c.limits.max_cost_per_day != Money::ZERO)
                        .then(|| Decimal::Text(c.limits.max_cost_per_day.to_string())),
                })
                .collect(),
            tasks: store
                .tasks()
                .await?
                .into_iter()
                .filter(|t| !t.discovered)
                .map(|t| TaskEntry {
                    identifier: t.identifier,
                    name: t.name,
                    configuration: t.configuration,
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
        for bad in ["..", "Bad Slug!", "a/b", "-lead", "GPT-4o", "q?x#y"] {
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
