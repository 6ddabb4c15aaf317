//! A usage record as a caller reports it (SPEC §3), its parsing from JSON and
//! its validation. Every rule a record can break is checked here, before any
//! storage is touched, so a bad request stores nothing.

use chrono::{DateTime, Duration, Utc};

mod json;

pub use json::parse_body;
pub(crate) use json::repeated_key;

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

    /// A digest of what the record reports, stored with its idempotency
    /// key: a retry must repeat its record, and a key reused for a different
    /// record is refused instead of being taken for a retry (which would drop
    /// that record's usage). Left out: the key itself, and `occurred_at`,
    /// which a client may stamp again when it rebuilds a retry; the call it
    /// describes is the same. Equal values give equal digests however they
    /// were written (`"0.10"` and `"0.1"`). Stored digests must stay
    /// comparable, so this encoding must never change.
    pub fn fingerprint(&self) -> i64 {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let name = |h: &mut Sha256, v: &Option<String>| match v {
            None => h.update([0]),
            Some(s) => {
                h.update([1]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        };
        h.update(self.service.code().to_le_bytes());
        for v in [
            &self.provider,
            &self.model,
            &self.configuration,
            &self.task,
            &self.user,
            &self.source,
            &self.reservation_id,
        ] {
            name(&mut h, v);
        }
        let c = &self.counts;
        for n in [
            c.prompt_tokens,
            c.completion_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
            c.characters,
            c.audio_seconds,
            c.images,
        ] {
            h.update(n.to_le_bytes());
        }
        match self.cost_usd {
            None => h.update([0]),
            Some(cost) => {
                h.update([1]);
                h.update(cost.picos().to_le_bytes());
            }
        }
        h.update([u8::from(self.counts_as_request)]);
        let digest = h.finalize();
        i64::from_le_bytes(
            digest[..8]
                .try_into()
                .expect("a SHA-256 digest has 32 bytes"),
        )
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
            // Summed wide: each may be out of range (and named so above).
            && i128::from(c.cache_read_tokens) + i128::from(c.cache_write_tokens)
                > i128::from(c.prompt_tokens)
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

/// Invisible characters that change how a name reads (the zero-width space,
/// the word joiner, the byte order mark) or the direction text runs in (the
/// bidirectional marks, embeddings, overrides and isolates): with them a
/// name can pass for another one on a page ("admin" and "admin\u{200B}") or
/// display reversed. The zero-width joiners are kept: scripts and emoji
/// need them.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// A name or label: non-empty, at most `max` characters, no control,
/// invisible or direction-changing characters, no surrounding whitespace,
/// not `.` or `..` (browsers resolve those in a link's path, so a record's
/// page could not be reached).
pub fn check_name(value: Option<&str>, max: usize) -> Result<(), String> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value == "." || value == ".." {
        return Err("must not be . or .. (a link could not reach it)".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = value.chars().find(|&c| is_invisible_or_bidi(c)) {
        return Err(format!(
            "must not contain invisible or direction-changing characters (found U+{:04X})",
            u32::from(c)
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
    fn a_fingerprint_covers_every_field_but_the_key_and_the_time() {
        let full = json!({
            "service": "chat", "provider": "openai", "model": "gpt-4o",
            "configuration": "c", "task": "t", "user": "anna", "source": "wiki",
            "prompt_tokens": 1000, "completion_tokens": 50, "cache_read_tokens": 600,
            "cache_write_tokens": 100, "characters": 1, "audio_seconds": 2, "images": 3,
            "cost_usd": "0.50", "counts_as_request": false,
            "occurred_at": "2026-11-20T08:00:00+01:00", "idempotency_key": "k1",
            "reservation_id": "r1"
        });
        let print = |v: &Value| parse(v.clone()).unwrap()[0].fingerprint();
        let base = print(&full);
        let mut same = full.clone();
        same["cost_usd"] = json!("0.5");
        same["idempotency_key"] = json!("another key");
        assert_eq!(print(&same), base);
        same["occurred_at"] = json!("2026-11-21T09:30:00Z");
        assert_eq!(print(&same), base, "a retry may stamp its time again");
        same.as_object_mut().unwrap().remove("occurred_at");
        assert_eq!(print(&same), base);
        let changes = [
            ("service", json!("completion")),
            ("provider", json!("openai2")),
            ("model", json!("gpt-4o2")),
            ("configuration", json!("c2")),
            ("task", json!("t2")),
            ("user", json!("anna2")),
            ("source", json!("wiki2")),
            ("prompt_tokens", json!(1001)),
            ("completion_tokens", json!(51)),
            ("cache_read_tokens", json!(601)),
            ("cache_write_tokens", json!(101)),
            ("characters", json!(2)),
            ("audio_seconds", json!(3)),
            ("images", json!(4)),
            ("cost_usd", json!("0.51")),
            ("counts_as_request", json!(true)),
            ("reservation_id", json!("r2")),
        ];
        for (field, value) in changes {
            let mut changed = full.clone();
            changed[field] = value;
            assert_ne!(print(&changed), base, "{field}");
            changed.as_object_mut().unwrap().remove(field);
            if field != "service" && field != "prompt_tokens" {
                assert_ne!(print(&changed), base, "{field} left out");
            }
        }
        // A name moved to another field is another record.
        let mut moved = full.clone();
        moved["task"] = json!("c");
        moved["configuration"] = json!("t");
        assert_ne!(print(&moved), base);
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
    fn whole_numbers_past_64_bits_are_too_large() {
        let body = br#"{"service":"chat","provider":"p","prompt_tokens":18446744073709551616}"#;
        match parse_body(body, Utc::now()) {
            Err(RejectReason::Invalid(errors)) => {
                assert_eq!(
                    (errors[0].field.as_str(), errors[0].message.as_str()),
                    ("prompt_tokens", "is too large")
                )
            }
            other => panic!("{other:?}"),
        }
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
            {"service": "chat", "provider": "p", "user": ".."},
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
                (17, "user".into()),
                (18, "record".into()),
            ]
        );
    }

    #[test]
    fn type_and_range_errors_are_named_together() {
        // A wrong type does not hide the range errors of other fields; the
        // field of the wrong type is named once.
        let errors = field_errors(json!({
            "service": "telepathy", "prompt_tokens": -1, "source": "s".repeat(65),
            "occurred_at": "2099-01-01T00:00:00Z", "user": "a\u{1}", "provider": 7,
        }));
        assert_eq!(
            errors,
            vec![
                (0, "service".to_string()),
                (0, "provider".into()),
                (0, "user".into()),
                (0, "source".into()),
                (0, "prompt_tokens".into()),
                (0, "occurred_at".into()),
            ]
        );
        // Counts too large for their range are named, and their sum does
        // not overflow.
        let errors = field_errors(json!({
            "service": "chat", "provider": "p", "prompt_tokens": 1,
            "cache_read_tokens": i64::MAX, "cache_write_tokens": i64::MAX,
        }));
        assert_eq!(
            errors,
            vec![
                (0, "cache_read_tokens".to_string()),
                (0, "cache_write_tokens".into()),
            ]
        );
        let errors = field_errors(json!({}));
        assert_eq!(
            errors,
            vec![(0, "service".to_string()), (0, "provider".into())]
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
        for spoof in [
            "admin\u{200B}",
            "\u{202E}gnp.exe",
            "a\u{2066}b",
            "\u{FEFF}x",
        ] {
            let refused = check_name(Some(spoof), 10).unwrap_err();
            assert!(refused.contains("invisible"), "{spoof:?}: {refused}");
        }
        assert_eq!(
            check_name(Some("a\u{202E}b"), 10).unwrap_err(),
            "must not contain invisible or direction-changing characters (found U+202E)"
        );
        // Joiners are part of some scripts' spelling and of emoji.
        assert!(check_name(Some("می\u{200C}خواهم"), 10).is_ok());
        assert!(check_name(Some("👩\u{200D}💻"), 10).is_ok());
        assert!(check_name(Some("ééééé"), 5).is_ok());
        assert!(check_name(Some("éééééé"), 5).is_err());
    }
}
