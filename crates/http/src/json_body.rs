//! The request body of `POST /orders`: JSON only, bounded in size, no duplicate keys.
//!
//! actix's own `Json` extractor answers errors in text/plain and silently keeps the last of
//! duplicate keys; this one answers problem+json and rejects what is ambiguous.

use std::fmt;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::body_budget::BodyReservation;
use crate::{ApiState, Problem};

/// The longest a client may take to send the whole body (a few MiB at most): a client that
/// trickles it is answered 408 instead of holding a worker's buffer forever. Slow headers are
/// cut off by the server's `client_request_timeout`.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The bytes of a JSON request body (type, encoding, size and time checked), for a route
/// that parses them itself, and their reservation in the process's [`BodyBudget`]: keep it
/// (bound to a named variable) until the request is done with what it parsed from them.
#[derive(Debug)]
pub(crate) struct JsonBytes(pub web::Bytes, pub BodyReservation);

impl FromRequest for JsonBytes {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<ApiState>>()
            .map(|state| state.limits.max_body_bytes)
            .unwrap_or(4 * 1024 * 1024);
        read_body(req, payload, limit)
    }
}

/// Most bytes of a `POST /auth/login` body: a user name and a password need far less, and the
/// route is public.
pub(crate) const LOGIN_BODY_LIMIT: usize = 4 * 1024;

/// The bytes of a login body: at most [`LOGIN_BODY_LIMIT`], and their reservation.
#[derive(Debug)]
pub(crate) struct LoginBytes(pub web::Bytes, pub BodyReservation);

impl FromRequest for LoginBytes {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_body(req, payload, LOGIN_BODY_LIMIT);
        Box::pin(async move {
            read.await
                .map(|JsonBytes(bytes, reservation)| LoginBytes(bytes, reservation))
        })
    }
}

/// Reads a JSON body of at most `limit` bytes: a larger one is answered 413 as soon as it is
/// declared or read past the limit, never held; one that does not fit in the body budget now
/// is answered 503 before any of it is read.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> LocalBoxFuture<'static, Result<JsonBytes, Problem>> {
    let reserved = check_headers(req, limit).and_then(|declared| {
        let state = req
            .app_data::<web::Data<ApiState>>()
            .ok_or_else(Problem::internal)?;
        // An undeclared size (chunked) may be anything up to the limit.
        state.body_budget.reserve(declared.unwrap_or(limit))
    });
    let mut payload = payload.take();
    Box::pin(async move {
        let reservation = reserved?;
        let read = async {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| Problem::bad_request(format!("reading the body failed: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        let body = actix_web::rt::time::timeout(BODY_READ_TIMEOUT, read)
            .await
            .map_err(|_| {
                Problem::request_timeout(format!(
                    "the body was not received within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ))
            })??;
        Ok(JsonBytes(body.freeze(), reservation))
    })
}

pub(crate) fn too_large(limit: usize) -> Problem {
    Problem::too_large(format!(
        "the request body exceeds the limit of {limit} bytes"
    ))
}

/// Checks the type, encoding and declared size; returns the declared size, if any.
fn check_headers(req: &HttpRequest, limit: usize) -> Result<Option<usize>, Problem> {
    let is_json = match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    };
    if !is_json {
        return Err(Problem::unsupported_media_type(
            "the body must be JSON, sent with `Content-Type: application/json`",
        ));
    }
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(Problem::unsupported_media_type(
            "compressed request bodies are not accepted; send the JSON uncompressed",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(too_large(limit)),
        // Not larger than `limit`, so it fits.
        Some(n) => Ok(Some(usize::try_from(n).unwrap_or(limit))),
        None => Ok(None),
    }
}

/// Parses strictly: valid UTF-8 JSON, one document, no duplicate keys in any object. Nesting is
/// bounded by serde_json's recursion limit, so deep arrays cannot exhaust the stack. (The
/// routes read their bodies straight into their own types; this is the reference they match.)
#[cfg(test)]
pub(crate) fn parse(body: &[u8]) -> Result<serde_json::Value, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed_json("the request body is empty"));
    }
    let malformed = |e: serde_json::Error| Problem::malformed_json(format!("invalid JSON: {e}"));
    let mut checker = serde_json::Deserializer::from_slice(body);
    NoDuplicateKeys
        .deserialize(&mut checker)
        .map_err(malformed)?;
    checker.end().map_err(malformed)?;
    serde_json::from_slice(body).map_err(malformed)
}

/// Walks a JSON document and fails at the first object that repeats a key.
pub(crate) struct NoDuplicateKeys;

impl<'de> DeserializeSeed<'de> for NoDuplicateKeys {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicateKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicateKeys)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            map.next_value_seed(NoDuplicateKeys)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(NoDuplicateKeys)
            .map(|()| NoDuplicateKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert!(parse(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse(br#"[{"items":[{"itemId":"x","itemId":"y"}]}]"#).is_err());
        assert!(parse(br#"{"a":{"a":1},"b":[1,2.50,"x",null,true]}"#).is_ok());
    }

    #[test]
    fn keeps_the_exact_text_of_numbers() {
        let value = parse(br#"{"costEur":0.10}"#).unwrap();
        assert_eq!(value["costEur"].to_string(), "0.10");
    }

    #[test]
    fn rejects_trailing_data_empty_bodies_and_deep_nesting() {
        assert!(parse(br#"{} {}"#).is_err());
        assert!(parse(b"  ").is_err());
        assert!(parse(&[b'['; 100_000]).is_err());
        assert!(parse(b"\xff\xfe").is_err());
        assert!(parse(b"NaN").is_err());
    }
}

#[cfg(test)]
#[path = "json_body_properties.rs"]
mod properties;
