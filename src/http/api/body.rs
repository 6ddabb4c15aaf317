//! Request bodies of the API: read within a size and a time bound, and for
//! JSON objects, with every key at most once (the last of two would
//! otherwise win unseen).

use std::fmt;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::app::AppError;
use crate::domain::record::MAX_BODY_BYTES;
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

/// A body that must be one JSON object with each key once.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let map = de
        .deserialize_any(ObjectVisitor)
        .and_then(|map| de.end().map(|()| map))
        .map_err(|e| AppError::invalid("body", format!("is not valid JSON: {e}")))?;
    map.ok_or_else(|| AppError::invalid("body", "must be a JSON object"))
}

/// An object's keys and values, refusing a repeated key; None for any
/// other JSON value.
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Option<Map<String, Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "the key {shown:?} appears twice"
                )));
            }
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Some(map))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
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
