//! Property tests of the parser and validator of usage records, and of the
//! exact money and price types.

use chrono::{DateTime, Utc};
use llm_ledger::domain::record::{FieldError, KNOWN_FIELDS, RejectReason, parse_body};
use llm_ledger::domain::{Money, Price};
use proptest::prelude::*;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .unwrap()
        .to_utc()
}

const FIELDS: [&str; 19] = KNOWN_FIELDS;

/// Any JSON value a caller might put in a field, good or bad.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0i64..200_000_000).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z0-9 ._:/-]{0,140}".prop_map(Value::String),
        "\\PC{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("chat"),
            Just("embedding"),
            Just("translation"),
            Just("image")
        ]
        .prop_map(|s| json!(s)),
        (0u32..100_000, 0u32..1_000_000).prop_map(|(a, b)| json!(format!("{a}.{b:06}"))),
        Just(json!("2026-11-20T08:00:00Z")),
        Just(json!("2027-01-01T00:00:00Z")),
        Just(json!([1, 2])),
        Just(json!({"nested": true})),
    ]
}

fn any_record() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop_oneof![
            prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
            "[a-z_]{1,12}"
        ],
        any_value(),
        0..12,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic; whatever is accepted obeys every rule.
    #[test]
    fn any_bytes_are_parsed_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(records) = parse_body(&bytes, now()) {
            for r in &records {
                prop_assert!(r.validate(now()).is_empty());
            }
        }
    }

    /// Generated records: accepted ones obey every rule; refusals name a
    /// record that exists and a field that was sent (or is required).
    #[test]
    fn generated_records_are_accepted_only_when_valid(records in prop::collection::vec(any_record(), 1..8)) {
        let body = serde_json::to_vec(&json!({ "records": records })).unwrap();
        match parse_body(&body, now()) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.len(), records.len());
                for r in &parsed {
                    prop_assert!(r.validate(now()).is_empty());
                    let c = r.counts;
                    prop_assert!(c.cache_read_tokens + c.cache_write_tokens <= c.prompt_tokens);
                    prop_assert!(r.provider.is_some() || r.model.is_some());
                }
            }
            Err(RejectReason::Invalid(errors)) => {
                prop_assert!(!errors.is_empty());
                for FieldError { index, field, .. } in &errors {
                    prop_assert!(*index < records.len());
                    let sent = records[*index].get(field.as_str()).is_some();
                    let required = ["service", "provider", "record"].contains(&field.as_str());
                    prop_assert!(sent || required || FIELDS.contains(&field.as_str()), "{field}");
                }
            }
            Err(other) => prop_assert!(false, "unexpected refusal {other:?}"),
        }
    }

    /// Money prints and parses back exactly.
    #[test]
    fn money_round_trips(picos in 0i64..i64::MAX) {
        let m = Money::from_picos(picos);
        prop_assert_eq!(Money::parse_usd(&m.to_string()), Ok(m));
    }

    /// Prices print and parse back exactly; costs add up per token.
    #[test]
    fn prices_round_trip(units in 0i64..=10_000_000_000, tokens in 0i64..=100_000_000) {
        let p = Price::from_units(units).unwrap();
        prop_assert_eq!(Price::parse_cents(&p.to_string()), Ok(p));
        let pricing = llm_ledger::domain::Pricing { input: p, output: Price::ZERO, cache_read: None, cache_write: None };
        let counts = llm_ledger::domain::Counts { prompt_tokens: tokens, ..Default::default() };
        prop_assert_eq!(pricing.cost(&counts).picos(), i128::from(units * tokens));
    }
}
