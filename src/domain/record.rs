//! A usage record as a caller reports it (SPEC §3), its parsing from JSON and
//! its validation. Every rule a record can break is checked here, before any
//! storage is touched, so a bad request stores nothing.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::money::Money;
use super::service::ServiceType;

/// Records accepted in one request or batch.
pub const MAX_RECORDS: usize = 1_000;
/// Bytes accepted in one request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The largest token count of one record. With the price ceiling this keeps
/// a record's cost within `i64` picodollars.
pub const MAX_TOKENS: i64 = 100_000_000;
/// The largest count of characters, audio seconds or images of one record.
pub const MAX_UNITS: i64 = 1_000_000_000;
/// The largest caller-supplied cost of one record.
pub const MAX_COST_USD: i64 = 1_000_000;
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_SOURCE_LEN: usize = 64;
pub const MAX_KEY_LEN: usize = 128;
/// How far a caller's clock may run ahead of ours before `occurred_at` counts
/// as "in the future".
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// The countable units of one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub characters: i64,
    pub audio_seconds: i64,
    pub images: i64,
}

impl Counts {
    pub fn tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// One call as reported. Names refer to catalog records by identifier (or a
/// model by its vendor `model_id`); unknown names are registered as discovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    pub service: ServiceType,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub configuration: Option<String>,
    pub task: Option<String>,
    pub user: Option<String>,
    pub source: Option<String>,
    pub counts: Counts,
    pub cost_usd: Option<Money>,
    pub counts_as_request: bool,
    pub occurred_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub reservation_id: Option<String>,
}

impl UsageRecord {
    pub fn new(service: ServiceType) -> UsageRecord {
        UsageRecord {
            service,
            provider: None,
            model: None,
            configuration: None,
            task: None,
            user: None,
            source: None,
            counts: Counts::default(),
            cost_usd: None,
            counts_as_request: true,
            occurred_at: None,
            idempotency_key: None,
            reservation_id: None,
        }
    }

    /// Checks every rule that does not need the catalog. Returns one error
    /// per broken field.
    pub fn validate(&self, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let mut check = |field: &'static str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push((field, message));
            }
        };
        check(
            "provider",
            check_name(self.provider.as_deref(), MAX_NAME_LEN),
        );
        check("model", check_name(self.model.as_deref(), MAX_NAME_LEN));
        check(
            "configuration",
            check_name(self.configuration.as_deref(), MAX_NAME_LEN),
        );
        check("task", check_name(self.task.as_deref(), MAX_NAME_LEN));
        check("user", check_name(self.user.as_deref(), MAX_NAME_LEN));
        check("source", check_name(self.source.as_deref(), MAX_SOURCE_LEN));
        check(
            "idempotency_key",
            check_name(self.idempotency_key.as_deref(), MAX_KEY_LEN),
        );
        check(
            "reservation_id",
            check_name(self.reservation_id.as_deref(), MAX_KEY_LEN),
        );
        if self.provider.is_none() && self.model.is_none() {
            check("provider", Err("is required when no model is given".into()));
        }
        let c = &self.counts;
        for (field, value, max) in [
            ("prompt_tokens", c.prompt_tokens, MAX_TOKENS),
            ("completion_tokens", c.completion_tokens, MAX_TOKENS),
            ("cache_read_tokens", c.cache_read_tokens, MAX_TOKENS),
            ("cache_write_tokens", c.cache_write_tokens, MAX_TOKENS),
            ("characters", c.characters, MAX_UNITS),
            ("audio_seconds", c.audio_seconds, MAX_UNITS),
            ("images", c.images, MAX_UNITS),
        ] {
            check(field, check_count(value, max));
        }
        if c.prompt_tokens >= 0
            && c.cache_read_tokens >= 0
            && c.cache_write_tokens >= 0
            && c.cache_read_tokens + c.cache_write_tokens > c.prompt_tokens
        {
            check(
                "cache_read_tokens",
                Err("cache_read_tokens + cache_write_tokens must not exceed prompt_tokens".into()),
            );
        }
        if let Some(cost) = self.cost_usd {
            if cost < Money::ZERO {
                check("cost_usd", Err("must not be negative".into()));
            } else if cost > Money::from_picos(MAX_COST_USD * super::money::UNITS_PER_USD) {
                check(
                    "cost_usd",
                    Err(format!("must not exceed {MAX_COST_USD} USD")),
                );
            }
        }
        if let Some(at) = self.occurred_at
            && at > now + CLOCK_SKEW
        {
            check(
                "occurred_at",
                Err(format!("is in the future (now is {})", now.to_rfc3339())),
            );
        }
        errors
    }
}

fn check_count(value: i64, max: i64) -> Result<(), String> {
    if value < 0 {
        Err("must not be negative".into())
    } else if value > max {
        Err(format!("must not exceed {max}"))
    } else {
        Ok(())
    }
}

/// A name or label: non-empty, at most `max` characters, no control
/// characters, no surrounding whitespace.
pub fn check_name(value: Option<&str>, max: usize) -> Result<(), String> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if value.trim() != value {
        return Err("must not start or end with whitespace".into());
    }
    Ok(())
}

/// One problem with one record of a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// Why a request's records were refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    #[error("the body must be a usage record object or {{\"records\": [...]}}: {0}")]
    Shape(String),
    #[error("at most {MAX_RECORDS} records per request, got {0}")]
    TooMany(usize),
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

/// Parses a request body (one record, or `{"records": [...]}`) and validates
/// every record. All errors of all records are reported together.
pub fn parse_body(body: &[u8], now: DateTime<Utc>) -> Result<Vec<UsageRecord>, RejectReason> {
    let value = strict_json(body).map_err(RejectReason::Malformed)?;
    let Value::Object(mut object) = value else {
        return Err(RejectReason::Shape("the top level is not an object".into()));
    };
    let items = if object.contains_key("records") {
        if object.len() > 1 {
            return Err(RejectReason::Shape(
                "a batch object has only the key \"records\"".into(),
            ));
        }
        match object.remove("records") {
            Some(Value::Array(items)) => items,
            _ => return Err(RejectReason::Shape("\"records\" must be an array".into())),
        }
    } else {
        vec![Value::Object(object)]
    };
    if items.is_empty() {
        return Err(RejectReason::Shape("\"records\" is empty".into()));
    }
    if items.len() > MAX_RECORDS {
        return Err(RejectReason::TooMany(items.len()));
    }
    let mut records = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match parse_record(item) {
            Ok(record) => {
                errors.extend(record.validate(now).into_iter().map(|(field, message)| {
                    FieldError {
                        index,
                        field: field.into(),
                        message,
                    }
                }));
                records.push(record);
            }
            Err(field_errors) => {
                errors.extend(field_errors.into_iter().map(|(field, message)| FieldError {
                    index,
                    field,
                    message,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(RejectReason::Invalid(errors))
    }
}

/// Parses JSON, refusing objects that repeat a key: a record must say each
/// thing once. Nesting is bounded by serde_json's recursion limit.
pub fn strict_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<Strict>(body)
        .map(|s| s.0)
        .map_err(|e| e.to_string())
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(serde::de::Error::custom(format!(
                    "the key {shown:?} appears twice"
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Turns one JSON value into a record, checking types (not ranges).
pub fn parse_record(value: Value) -> Result<UsageRecord, Vec<(String, String)>> {
    let Value::Object(map) = value else {
        return Err(vec![("record".into(), "must be a JSON object".into())]);
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut fields = Fields {
        map: &map,
        errors: &mut errors,
    };
    let service = match fields.string("service") {
        None => {
            fields.fail("service", "is required");
            None
        }
        Some(name) => match name.parse::<ServiceType>() {
            Ok(s) => Some(s),
            Err(()) => {
                fields.fail(
                    "service",
                    "must be one of chat, completion, embedding, vision, translation, speech, image",
                );
                None
            }
        },
    };
    let counts = Counts {
        prompt_tokens: fields.integer("prompt_tokens"),
        completion_tokens: fields.integer("completion_tokens"),
        cache_read_tokens: fields.integer("cache_read_tokens"),
        cache_write_tokens: fields.integer("cache_write_tokens"),
        characters: fields.integer("characters"),
        audio_seconds: fields.integer("audio_seconds"),
        images: fields.integer("images"),
    };
    let cost_usd = fields
        .string("cost_usd")
        .and_then(|text| match Money::parse_usd(&text) {
            Ok(m) => Some(m),
            Err(e) => {
                fields.fail("cost_usd", &e.to_string());
                None
            }
        });
    let counts_as_request = match map.get("counts_as_request") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fields.fail("counts_as_request", "must be true or false");
            true
        }
    };
    let occurred_at =
        fields
            .string("occurred_at")
            .and_then(|text| match DateTime::parse_from_rfc3339(&text) {
                Ok(t) => Some(t.to_utc()),
                Err(_) => {
                    fields.fail(
                        "occurred_at",
                        "must be an RFC 3339 timestamp such as 2026-11-27T10:15:00Z",
                    );
                    None
                }
            });
    let record = UsageRecord {
        service: service.unwrap_or(ServiceType::Chat),
        provider: fields.string("provider"),
        model: fields.string("model"),
        configuration: fields.string("configuration"),
        task: fields.string("task"),
        user: fields.string("user"),
        source: fields.string("source"),
        counts,
        cost_usd,
        counts_as_request,
        occurred_at,
        idempotency_key: fields.string("idempotency_key"),
        reservation_id: fields.string("reservation_id"),
    };
    for key in map.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            let shown: String = key.chars().take(64).collect();
            errors.push((shown, "is not a known field".into()));
        }
    }
    if errors.is_empty() {
        Ok(record)
    } else {
        Err(errors)
    }
}

/// Every field a usage record may have.
pub const KNOWN_FIELDS: [&str; 19] = [
    "service",
    "provider",
    "model",
    "configuration",
    "task",
    "user",
    "source",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "characters",
    "audio_seconds",
    "images",
    "cost_usd",
    "counts_as_request",
    "occurred_at",
    "idempotency_key",
    "reservation_id",
];

struct Fields<'a> {
    map: &'a Map<String, Value>,
    errors: &'a mut Vec<(String, String)>,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: &str) {
        self.errors.push((field.into(), message.into()));
    }

    /// An optional string; `null` counts as absent.
    fn string(&mut self, field: &str) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// An optional integer count; absent or `null` is 0.
    fn integer(&mut self, field: &str) -> i64 {
        match self.map.get(field) {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) => v,
                None if n.is_u64() => {
                    self.fail(field, "is too large");
                    0
                }
                None => {
                    self.fail(field, "must be a whole number");
                    0
                }
            },
            Some(_) => {
                self.fail(field, "must be an integer");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn parse(v: Value) -> Result<Vec<UsageRecord>, RejectReason> {
        parse_body(v.to_string().as_bytes(), now())
    }

    fn field_errors(v: Value) -> Vec<(usize, String)> {
        match parse(v) {
            Err(RejectReason::Invalid(errors)) => {
                errors.into_iter().map(|e| (e.index, e.field)).collect()
            }
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_record() {
        let records = parse(json!({
            "service": "chat", "provider": "openai", "model": "gpt-4o",
            "configuration": "c", "task": "t", "user": "anna", "source": "wiki",
            "prompt_tokens": 1000, "completion_tokens": 50, "cache_read_tokens": 600,
            "cache_write_tokens": 100, "cost_usd": "0.5", "counts_as_request": false,
            "occurred_at": "2026-11-20T08:00:00+01:00", "idempotency_key": "k1"
        }))
        .unwrap();
        let r = &records[0];
        assert_eq!(r.service, ServiceType::Chat);
        assert_eq!(r.user.as_deref(), Some("anna"));
        assert_eq!(r.counts.tokens(), 1050);
        assert_eq!(r.cost_usd, Some(Money::parse_usd("0.5").unwrap()));
        assert!(!r.counts_as_request);
        assert_eq!(
            r.occurred_at.unwrap().to_rfc3339(),
            "2026-11-20T07:00:00+00:00"
        );
    }

    #[test]
    fn a_batch_and_defaults() {
        let records = parse(json!({"records": [
            {"service": "translation", "provider": "deepl", "characters": 1000},
            {"service": "embedding", "model": "text-embedding-3-small", "prompt_tokens": 5}
        ]}))
        .unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[0].counts_as_request);
        assert_eq!(records[0].counts.characters, 1000);
        assert_eq!(records[1].provider, None);
    }

    #[test]
    fn names_index_and_field_of_every_bad_record() {
        let errors = field_errors(json!({"records": [
            {"service": "chat", "provider": "p"},
            {"service": "telepathy", "provider": "p"},
            {"service": "chat", "provider": "p", "prompt_tokens": -1},
            {"service": "chat", "provider": "p", "completion_tokens": "12"},
            {"service": "chat", "provider": "p", "images": 1.5},
            {"service": "chat", "provider": "p", "source": "x".repeat(65)},
            {"service": "chat", "provider": "p\u{7}"},
            {"service": "chat", "provider": "p", "occurred_at": "2026-11-28T12:00:00Z"},
            {"service": "chat", "provider": "p", "occurred_at": "yesterday"},
            {"service": "chat", "provider": "p", "cost_usd": "-1"},
            {"service": "chat", "provider": "p", "prompt_tokens": 100_000_001},
            {"service": "chat", "provider": "p", "prompt_tokens": 10, "cache_read_tokens": 11},
            {"service": "chat"},
            {"service": "chat", "provider": "p", "colour": "red"},
            {"provider": "p"},
            {"service": "chat", "provider": "p", "counts_as_request": "no"},
            {"service": "chat", "provider": "p", "prompt_tokens": 18446744073709551615u64},
            "not an object",
        ]}));
        assert_eq!(
            errors,
            vec![
                (1, "service".to_string()),
                (2, "prompt_tokens".into()),
                (3, "completion_tokens".into()),
                (4, "images".into()),
                (5, "source".into()),
                (6, "provider".into()),
                (7, "occurred_at".into()),
                (8, "occurred_at".into()),
                (9, "cost_usd".into()),
                (10, "prompt_tokens".into()),
                (11, "cache_read_tokens".into()),
                (12, "provider".into()),
                (13, "colour".into()),
                (14, "service".into()),
                (15, "counts_as_request".into()),
                (16, "prompt_tokens".into()),
                (17, "record".into()),
            ]
        );
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        assert!(matches!(
            parse_body(br#"{"service":"chat","provider":"p","service":"chat"}"#, now()),
            Err(RejectReason::Malformed(m)) if m.contains("appears twice")
        ));
        assert!(matches!(
            parse_body(
                br#"{"records":[{"service":"chat","provider":"p","provider":"q"}]}"#,
                now()
            ),
            Err(RejectReason::Malformed(_))
        ));
        let deep = format!(
            "{{\"records\": {}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            parse_body(deep.as_bytes(), now()),
            Err(RejectReason::Malformed(_))
        ));
    }

    #[test]
    fn small_clock_skew_is_tolerated() {
        let ahead = (now() + Duration::seconds(30)).to_rfc3339();
        assert!(parse(json!({"service": "chat", "provider": "p", "occurred_at": ahead})).is_ok());
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(matches!(
            parse_body(b"{", now()),
            Err(RejectReason::Malformed(_))
        ));
        assert!(matches!(
            parse_body(b"[1]", now()),
            Err(RejectReason::Shape(_))
        ));
        assert!(matches!(
            parse(json!({"records": {}})),
            Err(RejectReason::Shape(_))
        ));
        assert!(matches!(
            parse(json!({"records": []})),
            Err(RejectReason::Shape(_))
        ));
        assert!(matches!(
            parse(json!({"records": [], "extra": 1})),
            Err(RejectReason::Shape(_))
        ));
        let many: Vec<Value> = (0..1001).map(|_| json!({"service": "chat"})).collect();
        assert_eq!(
            parse(json!({ "records": many })),
            Err(RejectReason::TooMany(1001))
        );
    }

    #[test]
    fn names_must_be_clean() {
        assert!(check_name(Some("gpt-4o"), 10).is_ok());
        assert!(check_name(Some("llama3:8b"), 10).is_ok());
        assert!(check_name(Some(""), 10).is_err());
        assert!(check_name(Some(" x"), 10).is_err());
        assert!(check_name(Some("a\nb"), 10).is_err());
        assert!(check_name(Some("ééééé"), 5).is_ok());
        assert!(check_name(Some("éééééé"), 5).is_err());
    }
}
