//! Reading the catalog from JSON (the API) field by field. serde stops at
//! the first field of a wrong type and does not name it; here each field is
//! tried on its own against a template that is valid in every field, so a
//! request learns of every bad field at once, by name (`model[0].input_price`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::Problems;
use super::catalog_file::{CatalogFile, ConfigurationEntry, ModelEntry, ProviderEntry, TaskEntry};

/// An entry of the catalog file, readable field by field.
pub trait Entry: DeserializeOwned {
    /// Its name in the catalog file (`model`), which its problems carry.
    const KIND: &'static str;
    /// A valid value for every field.
    fn template() -> Value;
}

impl Entry for ProviderEntry {
    const KIND: &'static str = "provider";
    fn template() -> Value {
        json!({"identifier": "x", "name": "x", "adapter_type": "x", "active": true,
               "discovered": false, "from_usage": false})
    }
}

impl Entry for ModelEntry {
    const KIND: &'static str = "model";
    fn template() -> Value {
        json!({"identifier": "x", "name": "x", "provider": "x", "model_id": "x",
               "input_price": "0", "output_price": "0", "cache_read_price": "0",
               "cache_write_price": "0", "active": true, "discovered": false, "from_usage": false})
    }
}

impl Entry for ConfigurationEntry {
    const KIND: &'static str = "configuration";
    fn template() -> Value {
        json!({"identifier": "x", "name": "x", "model": "x", "max_requests_per_day": 0,
               "max_tokens_per_day": 0, "max_cost_per_day": "0", "discovered": false,
               "from_usage": false})
    }
}

impl Entry for TaskEntry {
    const KIND: &'static str = "task";
    fn template() -> Value {
        json!({"identifier": "x", "name": "x", "configuration": "x", "discovered": false,
               "from_usage": false})
    }
}

/// serde's complaint about one value, without its position in the body.
fn complaint(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.split_once(" at line ") {
        Some((head, _)) => head.to_string(),
        None => text,
    }
}

/// Reads entry `index` of its kind from `value`, noting in `p` every field
/// that is unknown, of the wrong type or missing. Such a field takes the
/// template's value, so that the entry's other fields can still be checked;
/// None when `value` is not an object at all.
pub fn read_entry<E: Entry>(index: usize, value: Value, p: &mut Problems) -> Option<E> {
    let at = |field: &str| format!("{}[{index}].{field}", E::KIND);
    let Value::Object(fields) = value else {
        p.add(format!("{}[{index}]", E::KIND), "must be an object");
        return None;
    };
    let Value::Object(template) = E::template() else {
        return None;
    };
    let mut read = Map::new();
    for (key, value) in fields {
        let Some(valid) = template.get(&key) else {
            p.add(
                at(&key.chars().take(64).collect::<String>()),
                "is not a known field",
            );
            continue;
        };
        let mut probe = template.clone();
        probe.insert(key.clone(), value.clone());
        match serde_json::from_value::<E>(Value::Object(probe)) {
            Ok(_) => read.insert(key, value),
            Err(e) => {
                p.add(at(&key), complaint(&e));
                read.insert(key, valid.clone())
            }
        };
    }
    // What is still missing is required; each round names one field.
    for _ in 0..=template.len() {
        match serde_json::from_value::<E>(Value::Object(read.clone())) {
            Ok(entry) => return Some(entry),
            Err(e) => {
                let text = e.to_string();
                let missing = text
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                    .filter(|field| template.contains_key(*field) && !read.contains_key(*field));
                let Some(field) = missing else {
                    p.add(format!("{}[{index}]", E::KIND), complaint(&e));
                    return None;
                };
                p.add(at(field), "is required");
                read.insert(field.to_string(), template[field].clone());
            }
        }
    }
    None
}

/// Reads a whole catalog (the catalog file's content as JSON), noting every
/// problem of its shape in `p`.
pub fn read_catalog(value: Value, p: &mut Problems) -> CatalogFile {
    let mut file = CatalogFile::default();
    let Value::Object(kinds) = value else {
        p.add(
            "body",
            "must be an object of provider, model, configuration and task lists",
        );
        return file;
    };
    for (kind, entries) in kinds {
        let Value::Array(entries) = entries else {
            p.add(kind.chars().take(64).collect::<String>(), "must be a list");
            continue;
        };
        let entries = entries.into_iter().enumerate();
        match kind.as_str() {
            "provider" => {
                file.providers = entries.filter_map(|(i, e)| read_entry(i, e, p)).collect()
            }
            "model" => file.models = entries.filter_map(|(i, e)| read_entry(i, e, p)).collect(),
            "configuration" => {
                file.configurations = entries.filter_map(|(i, e)| read_entry(i, e, p)).collect()
            }
            "task" => file.tasks = entries.filter_map(|(i, e)| read_entry(i, e, p)).collect(),
            other => p.add(
                other.chars().take(64).collect::<String>(),
                "is not a kind of catalog record",
            ),
        }
    }
    file
}
