//! Request bodies to records, in one pass over the JSON: fields are read
//! straight into their slots (strings borrowed from the body where they have
//! no escapes), so the hot path builds no intermediate `Value` tree. Values
//! of the wrong shape are still read whole, so a key repeated at any depth is
//! refused like a syntax error.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Counts, FieldError, KNOWN_FIELDS, MAX_RECORDS, RejectReason, UsageRecord};
use crate::domain::money::Money;
use crate::domain::service::ServiceType;

/// Parses a request body (one record, or `{"records": [...]}`) and validates
/// every record. All errors of all records are reported together.
pub fn parse_body(body: &[u8], now: DateTime<Utc>) -> Result<Vec<UsageRecord>, RejectReason> {
    let top =
        serde_json::from_slice::<Node>(body).map_err(|e| RejectReason::Malformed(e.to_string()))?;
    let Node::Object(top) = top else {
        return Err(RejectReason::Shape("the top level is not an object".into()));
    };
    let items = match top.records {
        None => vec![Node::Object(top)],
        Some(_) if !top.fields.is_empty() => {
            return Err(RejectReason::Shape(
                "a batch object has only the key \"records\"".into(),
            ));
        }
        Some(records) => match *records {
            Node::Array(items) => items,
            _ => return Err(RejectReason::Shape("\"records\" must be an array".into())),
        },
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
        let failed = |(field, message): (String, String)| FieldError {
            index,
            field,
            message,
        };
        let Node::Object(object) = item else {
            errors.push(failed(("record".into(), "must be a JSON object".into())));
            continue;
        };
        let (record, mut field_errors) = object.into_record();
        // Range rules too, so that one answer names every bad field; a
        // field whose type was wrong is named once.
        for (field, message) in record.validate(now) {
            if !field_errors.iter().any(|(f, _)| f == field) {
                field_errors.push((field.into(), message));
            }
        }
        errors.extend(field_errors.into_iter().map(failed));
        records.push(record);
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(RejectReason::Invalid(errors))
    }
}

/// A JSON value as the shape of a body sees it.
enum Node<'a> {
    Object(Box<Object<'a>>),
    Array(Vec<Node<'a>>),
    /// A string, number, boolean or null.
    Scalar,
}

/// An object: the fields a record may have, and the value of `"records"`.
#[derive(Default)]
struct Object<'a> {
    fields: Fields<'a>,
    records: Option<Box<Node<'a>>>,
}

/// Record fields by their place in `KNOWN_FIELDS`, and the other keys (a
/// set: a body may hold many thousands).
#[derive(Default)]
struct Fields<'a> {
    known: [Option<Raw<'a>>; KNOWN_FIELDS.len()],
    unknown: BTreeSet<String>,
}

/// A JSON value as a record field sees it.
enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// A whole number above `i64::MAX`.
    TooLarge,
    /// A number with a fraction or an exponent.
    Fraction,
    Str(Cow<'a, str>),
    /// An array or an object.
    Nested,
}

impl Fields<'_> {
    fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.known.iter().all(Option::is_none)
    }

    fn get(&self, field: &str) -> Option<&Raw<'_>> {
        let i = KNOWN_FIELDS.iter().position(|f| *f == field)?;
        self.known[i].as_ref()
    }
}

impl<'a> Object<'a> {
    /// Reads the value of `key`; refuses a key the object has already.
    fn read<A: MapAccess<'a>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let fields = &mut self.fields;
        let repeated = || repeated_key(key);
        if key == "records" {
            if self.records.is_some() {
                return Err(repeated());
            }
            self.records = Some(Box::new(map.next_value()?));
        } else if let Some(i) = KNOWN_FIELDS.iter().position(|f| *f == key) {
            if fields.known[i].is_some() {
                return Err(repeated());
            }
            fields.known[i] = Some(map.next_value_seed(RawSeed)?);
        } else {
            if !fields.unknown.insert(key.to_string()) {
                return Err(repeated());
            }
            map.next_value::<Node>()?;
        }
        Ok(())
    }

    /// The record, and its type errors (ranges are `UsageRecord::validate`'s),
    /// in a fixed field order, then unknown fields in key order. A field of
    /// the wrong type is left at its default, which passes the range rules.
    fn into_record(self) -> (UsageRecord, Vec<(String, String)>) {
        let Object { fields, records } = self;
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut fail = |field: &str, message: &str| errors.push((field.into(), message.into()));
        let string = |fail: &mut dyn FnMut(&str, &str), field: &str| match fields.get(field) {
            None | Some(Raw::Null) => None,
            Some(Raw::Str(s)) => Some(s.to_string()),
            Some(_) => {
                fail(field, "must be a string");
                None
            }
        };
        let integer = |fail: &mut dyn FnMut(&str, &str), field: &str| match fields.get(field) {
            None | Some(Raw::Null) => 0,
            Some(Raw::Int(v)) => *v,
            Some(Raw::TooLarge) => {
                fail(field, "is too large");
                0
            }
            Some(Raw::Fraction) => {
                fail(field, "must be a whole number");
                0
            }
            Some(_) => {
                fail(field, "must be an integer");
                0
            }
        };
        let service = match string(&mut fail, "service") {
            None => {
                fail("service", "is required");
                None
            }
            Some(name) => match name.parse::<ServiceType>() {
                Ok(s) => Some(s),
                Err(()) => {
                    fail(
                        "service",
                        "must be one of chat, completion, embedding, vision, translation, speech, image",
                    );
                    None
                }
            },
        };
        let counts = Counts {
            prompt_tokens: integer(&mut fail, "prompt_tokens"),
            completion_tokens: integer(&mut fail, "completion_tokens"),
            cache_read_tokens: integer(&mut fail, "cache_read_tokens"),
            cache_write_tokens: integer(&mut fail, "cache_write_tokens"),
            characters: integer(&mut fail, "characters"),
            audio_seconds: integer(&mut fail, "audio_seconds"),
            images: integer(&mut fail, "images"),
        };
        let cost_usd =
            string(&mut fail, "cost_usd").and_then(|text| match Money::parse_usd(&text) {
                Ok(m) => Some(m),
                Err(e) => {
                    fail("cost_usd", &e.to_string());
                    None
                }
            });
        let counts_as_request = match fields.get("counts_as_request") {
            None | Some(Raw::Null) => true,
            Some(Raw::Bool(b)) => *b,
            Some(_) => {
                fail("counts_as_request", "must be true or false");
                true
            }
        };
        let occurred_at = string(&mut fail, "occurred_at").and_then(|text| {
            match DateTime::parse_from_rfc3339(&text) {
                Ok(t) => Some(t.to_utc()),
                Err(_) => {
                    fail(
                        "occurred_at",
                        "must be an RFC 3339 timestamp such as 2026-11-27T10:15:00Z",
                    );
                    None
                }
            }
        });
        let record = UsageRecord {
            service: service.unwrap_or(ServiceType::Chat),
            provider: string(&mut fail, "provider"),
            model: string(&mut fail, "model"),
            configuration: string(&mut fail, "configuration"),
            task: string(&mut fail, "task"),
            user: string(&mut fail, "user"),
            source: string(&mut fail, "source"),
            counts,
            cost_usd,
            counts_as_request,
            occurred_at,
            idempotency_key: string(&mut fail, "idempotency_key"),
            reservation_id: string(&mut fail, "reservation_id"),
        };
        let mut unknown = fields.unknown;
        // In a record, "records" is just a field it may not have.
        unknown.extend(records.map(|_| "records".to_string()));
        for key in unknown {
            fail(&shown(&key), "is not a known field");
        }
        (record, errors)
    }
}

/// The error for a key its object has already: every JSON body reader of
/// the API refuses one rather than let the last win unseen.
pub(crate) fn repeated_key<E: de::Error>(key: &str) -> E {
    E::custom(format!("the key {:?} appears twice", shown(key)))
}

/// A key as error messages show it.
fn shown(key: &str) -> String {
    key.chars().take(64).collect()
}

/// A map key, borrowed from the body when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }
}

impl<'de> de::Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut object = Object::default();
        while let Some(Key(key)) = map.next_key()? {
            object.read(&key, &mut map)?;
        }
        Ok(Node::Object(Box::new(object)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Scalar)
    }
}

/// A record field's value.
struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
        Ok(i64::try_from(v).map_or(Raw::TooLarge, Raw::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
        // serde_json reads a whole number past 64 bits as a float.
        Ok(if v.fract() == 0.0 && v.abs() >= 9.2e18 {
            Raw::TooLarge
        } else {
            Raw::Fraction
        })
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
    // Read whole, so that a key repeated inside is refused, then dropped.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Raw<'de>, A::Error> {
        NodeVisitor.visit_seq(seq).map(|_| Raw::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw<'de>, A::Error> {
        NodeVisitor.visit_map(map).map(|_| Raw::Nested)
    }
}
