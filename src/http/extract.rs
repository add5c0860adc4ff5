//! Turning raw requests into checked values: a JSON body extractor whose
//! errors name the field, id and pagination parsing, a collector for
//! several field errors at once, and the tri-state `Patch` for edits.

use super::error::{ApiError, ApiResult, FieldProblem};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use std::fmt;

/// A JSON body. Malformed JSON is a 400; a missing or mistyped field is a
/// 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        match &content_type {
            Some(ct) if ct.starts_with("application/json") || ct.contains("+json") => {}
            Some(ct) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("the body must be JSON (Content-Type: application/json), not {ct}"),
                ));
            }
            // Guessing would let a form or a script's plain POST through
            // as if it had said JSON.
            None => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the request has no Content-Type; send the body as JSON with Content-Type: application/json",
                ));
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A body that could not be read: 413 when it is over the limit, else 400.
fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "body_too_large", "the request body is too large")
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            "the request body could not be read",
        )
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_body",
            "the request needs a JSON object as its body",
        ));
    }
    // Serde would read a struct from a JSON array by position; the API
    // speaks only in objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if let Err(e) = serde_json::from_slice::<de::IgnoredAny>(bytes) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!(
                    "the body is not valid JSON: {}",
                    strip_position(&e.to_string())
                ),
            ));
        }
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "the body must be a JSON object, such as {\"amount\": \"100.00\"}",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer);
    if value.is_ok() {
        deserializer.end().map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!(
                    "the body is not valid JSON: {}",
                    strip_position(&e.to_string())
                ),
            )
        })?;
    }
    value.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            );
        }
        let message = strip_position(&inner.to_string());
        // serde reports a missing field at the parent's path; name the field itself.
        let field = match message.strip_prefix("missing field `") {
            Some(rest) => rest.split('`').next().unwrap_or_default().to_string(),
            None if path == "." => String::new(),
            None => path,
        };
        if field.is_empty() {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                format!("the body {message}"),
            )
        } else {
            ApiError::invalid_fields(vec![FieldProblem {
                field,
                detail: message,
            }])
        }
    })
}

/// serde_json appends " at line 1 column 12"; people do not need it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// An optional JSON body: empty is `None`, anything else must parse.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// A resource id from the path: a positive whole number.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid_id", "id", "the path needs one id"))?;
        parse_id(&raw).map(Id)
    }
}

pub fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_id",
            "id",
            format!("'{raw}' is not an id; ids are positive whole numbers"),
        )
    })
}

pub use crate::app::input::Patch;

/// An amount as sent: a decimal string, or a whole JSON number. A JSON
/// number with a fraction is refused, because it has already been rounded
/// to binary floating point by the time it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAmount(pub String);

impl<'de> Deserialize<'de> for RawAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = RawAmount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string, such as \"1250.50\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAmount, E> {
                Ok(RawAmount(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawAmount, E> {
                Ok(RawAmount(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawAmount, E> {
                Ok(RawAmount(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawAmount, E> {
                Err(E::custom(
                    "must be a decimal string such as \"1250.50\"; JSON numbers with a fraction are not exact",
                ))
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

pub use crate::app::input::Paging;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        amount: RawAmount,
        #[serde(default)]
        note: Patch<String>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"amount": 12.5}"#).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.field.as_deref()),
            (422, Some("amount"))
        );
        let e = parse_json::<Body>(br#"{}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("amount"));
        let e = parse_json::<Body>(br#"{"amount": "#).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let e = parse_json::<Body>(br#"[1]"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        let ok = parse_json::<Body>(br#"{"amount": 12, "note": null}"#).unwrap();
        assert_eq!(ok.amount, RawAmount("12".into()));
        assert!(matches!(ok.note, Patch::Null));
    }

    #[test]
    fn absurd_paging_is_refused() {
        for (p, pp) in [
            ("0", "10"),
            ("-1", "10"),
            ("x", "10"),
            ("1", "0"),
            ("1", "101"),
            ("99999999999999999999", "1"),
        ] {
            assert!(Paging::parse(Some(p), Some(pp)).is_err(), "{p} {pp}");
        }
        assert_eq!(Paging::parse(Some("3"), Some("10")).unwrap().offset(), 20);
    }
}
