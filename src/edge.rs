//! What both faces do with raw HTTP the same way: where a request came
//! from, its cookies, a comparison of secrets that takes as long whatever
//! the answer, and CSV downloads. Shared here so neither face imports the
//! other.

use crate::app::{App, Client};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::convert::Infallible;
use std::net::SocketAddr;

/// Where the request came from: the peer address, or the first
/// `X-Forwarded-For` address behind a trusted proxy.
pub struct ClientInfo(pub Client);

impl FromRequestParts<App> for ClientInfo {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo(client_of(parts, state.config().trust_proxy)))
    }
}

pub fn client_of(parts: &Parts, trust_proxy: bool) -> Client {
    let forwarded = trust_proxy
        .then(|| {
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        })
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    Client {
        address: forwarded.or(peer).unwrap_or_else(|| "unknown".to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// The value of the cookie `name`, if sent and not blank.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether two secrets are equal, without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cell for a CSV file a person may open in a spreadsheet: text that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading apostrophe, so it shows as
/// typed and runs nothing. Amounts are written by the caller as plain
/// numbers and never pass through here.
pub fn spreadsheet_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A table as a CSV download.
pub fn csv_download(table: &crate::app::tables::Table) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = format!("attachment; filename=\"{}\"", table.file_name);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        table.to_csv(),
    )
        .into_response()
}

/// Where a request carries a NUL character, which PostgreSQL cannot store
/// in text (and SQLite would keep as a trap for every later reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NulIn {
    Path,
    Query,
    Body,
}

impl NulIn {
    /// The refusal both faces show.
    pub fn message(self) -> &'static str {
        match self {
            NulIn::Path => "text must not contain NUL (U+0000) characters, and the address has one",
            NulIn::Query => {
                "text must not contain NUL (U+0000) characters, and the query string has one"
            }
            NulIn::Body => {
                "text must not contain NUL (U+0000) characters, and the request body has one"
            }
        }
    }
}

/// Whether the path or query string of `uri`, once percent-decoded, holds a NUL.
pub fn nul_in_uri(uri: &axum::http::Uri) -> Option<NulIn> {
    if percent_decoded_has_nul(uri.path().as_bytes()) {
        return Some(NulIn::Path);
    }
    uri.query()
        .filter(|q| percent_decoded_has_nul(q.as_bytes()))
        .map(|_| NulIn::Query)
}

/// Whether a body holds a NUL: a raw zero byte in any body, a `%00` in a
/// form, or a `\u0000` escape in JSON (or in a body sent without a type,
/// which the API reads as JSON).
pub fn nul_in_body(content_type: Option<&str>, body: &[u8]) -> bool {
    if body.contains(&0) {
        return true;
    }
    let content_type = content_type.map(str::to_ascii_lowercase);
    match content_type.as_deref() {
        Some(ct) if ct.starts_with("application/x-www-form-urlencoded") => {
            percent_decoded_has_nul(body)
        }
        Some(ct) if ct.starts_with("application/json") || ct.contains("+json") => {
            json_escapes_nul(body)
        }
        None => json_escapes_nul(body),
        Some(_) => false,
    }
}

/// Whether percent-encoded text (a query string, a form) decodes to UTF-8.
/// The faces' decoders would quietly put U+FFFD in place of bytes that
/// are not; refusing says what is wrong instead.
pub fn percent_decodes_to_utf8(text: &[u8]) -> bool {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut decoded = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let pair = text
            .get(i + 1..i + 3)
            .and_then(|p| Some(hex(p[0])? * 16 + hex(p[1])?));
        match (text[i], pair) {
            (b'%', Some(byte)) => {
                decoded.push(byte as u8);
                i += 3;
            }
            (other, _) => {
                decoded.push(other);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// Whether `%00` occurs in percent-encoded text.
fn percent_decoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

/// Whether JSON text holds a `\u0000` escape (and not an escaped backslash
/// followed by `u0000`).
fn json_escapes_nul(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            if text.get(i + 1) == Some(&b'u') && text.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            // Skip the escaped character, whatever it is.
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        assert_eq!(
            spreadsheet_cell("=HYPERLINK(\"http://evil\",\"x\")"),
            "'=HYPERLINK(\"http://evil\",\"x\")"
        );
        for risky in ["+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(spreadsheet_cell(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(spreadsheet_cell("Asha Rao"), "Asha Rao");
        assert_eq!(spreadsheet_cell(""), "");
    }

    #[test]
    fn nul_is_found_wherever_it_hides() {
        let uri = |u: &str| u.parse::<axum::http::Uri>().unwrap();
        assert_eq!(nul_in_uri(&uri("/api/v1/customers%00")), Some(NulIn::Path));
        assert_eq!(nul_in_uri(&uri("/customers?q=a%00b")), Some(NulIn::Query));
        assert_eq!(nul_in_uri(&uri("/customers?q=a%2500b")), None);
        assert_eq!(nul_in_uri(&uri("/customers?q=100%25")), None);
        let form = Some("application/x-www-form-urlencoded");
        let json = Some("application/json; charset=utf-8");
        assert!(nul_in_body(form, b"username=a%00&password=x"));
        assert!(!nul_in_body(form, b"username=a%2500&password=x"));
        assert!(nul_in_body(json, br#"{"name":"a\u0000"}"#));
        assert!(nul_in_body(None, br#"{"name":"a\u0000"}"#));
        assert!(nul_in_body(json, b"{\"name\":\"a\0\"}"));
        assert!(!nul_in_body(json, br#"{"name":"a\\u0000"}"#));
        assert!(nul_in_body(json, br#"{"name":"a\\\u0000"}"#));
        assert!(nul_in_body(json, br#"{"name":"a\u00001"}"#));
        assert!(!nul_in_body(json, br#"{"name":"Asha \u00e9"}"#));
        assert!(nul_in_body(Some("text/plain"), b"a\0b"));
        assert!(!nul_in_body(Some("text/plain"), b"a%00b"));
    }

    #[test]
    fn percent_decoding_must_give_utf8() {
        for good in ["", "q=asha", "q=%C3%A9", "q=100%", "q=%zz", "q=%E2%82%B9+1"] {
            assert!(percent_decodes_to_utf8(good.as_bytes()), "{good}");
        }
        for bad in ["q=%FF", "q=%C3%28", "q=%ED%A0%80", "q=%C3", "a=1&q=%80"] {
            assert!(!percent_decodes_to_utf8(bad.as_bytes()), "{bad}");
        }
    }
}
