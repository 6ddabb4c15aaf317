//! Request bodies of the API: read within a size and a time bound, and for
//! JSON objects, with every key at most once (the last of two would
//! otherwise win unseen).

use std::fmt;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::app::AppError;
use crate::domain::record::{MAX_BODY_BYTES, repeated_key};
use crate::http::error::ApiError;

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole body, or 413 past `MAX_BODY_BYTES`, or 408 after `BODY_TIMEOUT`.
pub async fn read(body: Body) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::TooLarge(format!("the body exceeds {MAX_BODY_BYTES} bytes"));
    // A declared length over the limit is refused before any of it is read.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Err(_) => Err(ApiError::Timeout),
        Ok(Err(_)) => Err(too_large()),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// A body that must be one JSON object, with each key once in every
/// object at any depth.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = UniqueKeys::deserialize(&mut de)
        .and_then(|UniqueKeys(value)| de.end().map(|()| value))
        .map_err(|e| AppError::invalid("body", format!("is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(AppError::invalid("body", "must be a JSON object")),
    }
}

/// A JSON value read like `serde_json::Value`, refusing a repeated key.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UniqueKeys, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(repeated_key(&key));
            }
            let UniqueKeys(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
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
        Ok(Value::from(v))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_with_each_key_once() {
        let map = object(br#"{"user":"carl","planned_tokens":5}"#).unwrap();
        assert_eq!(map["user"], "carl");
        let err = object(br#"{"user":"carl","user":"zzz"}"#).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
        let nested = br#"{"provider":[{"identifier":"a","name":"x","name":"y"}]}"#;
        let err = object(nested).unwrap_err();
        assert!(err.to_string().contains("\"name\" appears twice"), "{err}");
        let deep = object(br#"{"a":[1,{"b":[true,null,"s",-2,1.5]}]}"#).unwrap();
        assert_eq!(deep["a"][1]["b"][4], 1.5);
        for not_an_object in [&b"[1]"[..], b"\"x\"", b"7", b"null", b"true"] {
            let err = object(not_an_object).unwrap_err();
            assert!(err.to_string().contains("must be a JSON object"), "{err}");
        }
        for broken in [&b"{"[..], b"{} {}", b"", b"{\"a\":}"] {
            let err = object(broken).unwrap_err();
            assert!(err.to_string().contains("is not valid JSON"), "{err}");
        }
    }
}
