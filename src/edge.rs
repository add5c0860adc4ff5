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
}
