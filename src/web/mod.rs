//! The web pages: a staff console and a customer portal, rendered on the
//! server from templates compiled into the binary. Every flow works with
//! plain HTML forms; `static/app.js` only adds conveniences. Pages use the
//! session cookie set at sign-in, and every form carries the session's CSRF
//! token.

mod assets;
mod charts;
mod forms;
mod portal;
mod signin;
mod staff;

use crate::http::AppState;
use crate::http::auth::{CSRF_COOKIE, SESSION_COOKIE};
use crate::store::StoreError;
use crate::store::auth::{Principal, Session};
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(assets::router())
        .merge(signin::router())
        .merge(staff::router())
        .merge(portal::router())
}

const FLASH_COOKIE: &str = "duetrack_flash";

/// A one-time message shown on the next page: what just happened.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// What every page's frame shows: the shop, who is signed in, the menu.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub shop: String,
    pub title: String,
    pub user: String,
    pub is_staff: bool,
    pub is_admin: bool,
    pub is_owner: bool,
    pub is_customer: bool,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// The menu entry of this page, for aria-current.
    pub active: &'static str,
    pub pending: i64,
}

impl Chrome {
    pub fn current(&self, entry: &str) -> &'static str {
        if self.active == entry {
            "page"
        } else {
            "false"
        }
    }
}

/// The signed-in caller of a page, with the flash message waiting for them.
pub struct Visitor {
    pub session: Session,
    pub flash: Option<Flash>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let (kind, text) = raw.split_once(':')?;
    let kind = match kind {
        "ok" => "ok",
        "error" => "error",
        _ => "info",
    };
    let text = percent_decode(text);
    Some(Flash { kind, text })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

use crate::notify::messages::percent as percent_encode;

/// Where to go after a form: back to a page, with a message.
pub fn redirect_with(to: &str, kind: &str, text: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let value = format!(
        "{FLASH_COOKIE}={kind}:{}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
        percent_encode(text)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Renders a page; clears the flash cookie it has shown.
pub fn render(template: &impl Template, status: StatusCode, shown_flash: bool) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if shown_flash {
                response.headers_mut().append(
                    header::SET_COOKIE,
                    HeaderValue::from_static(
                        "duetrack_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
                    ),
                );
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Something went wrong</h1><p>It has been logged.</p>".to_string()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: Chrome,
    pub heading: String,
    pub message: String,
    pub back: String,
}

/// A page for a problem the visitor can do something about.
pub fn error_page(page: Chrome, status: StatusCode, message: &str, back: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "That cannot be done now",
        _ => "Something is not right",
    };
    render(
        &ErrorPage {
            page,
            heading: heading.to_string(),
            message: message.to_string(),
            back: back.to_string(),
        },
        status,
        false,
    )
}

/// A store error as a page.
pub fn store_error_page(page: Chrome, error: StoreError, back: &str) -> Response {
    let (status, message) = match &error {
        StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, error.to_string()),
        StoreError::Conflict { message, .. } => (StatusCode::CONFLICT, message.clone()),
        StoreError::Rejected { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message.clone()),
        StoreError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
        StoreError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, error.to_string()),
        StoreError::Db(e) => {
            tracing::error!(error = %e, "database error behind a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged and nothing was changed."
                    .to_string(),
            )
        }
    };
    error_page(page, status, &message, back)
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/login?next={}", percent_encode(next))).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let session = match state
            .store
            .session(token, state.config().session_idle_minutes)
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
            }
        };
        Ok(Visitor {
            session,
            flash: read_flash(&parts.headers),
        })
    }
}

impl Visitor {
    pub fn is_staff(&self) -> bool {
        matches!(self.session.principal, Principal::Staff { .. })
    }

    /// The frame of a page for this visitor.
    pub async fn chrome(&self, state: &AppState, title: &str, active: &'static str) -> Chrome {
        let (user, role) = match &self.session.principal {
            Principal::Staff { username, role, .. } => (username.clone(), Some(*role)),
            Principal::Customer { username, .. } => (username.clone(), None),
        };
        let pending = if role.is_some() {
            state.store.pending_payment_count().await.unwrap_or(0)
        } else {
            0
        };
        use crate::domain::access::Role;
        Chrome {
            shop: state.config().shop_name.clone(),
            title: title.to_string(),
            user,
            is_staff: role.is_some(),
            is_admin: role.is_some_and(|r| r >= Role::Admin),
            is_owner: role == Some(Role::Owner),
            is_customer: role.is_none(),
            csrf: self.session.csrf_token.clone(),
            flash: self.flash.clone(),
            active,
            pending,
        }
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        let expected = &self.session.csrf_token;
        sent.len() == expected.len()
            && sent
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    }
}

/// The frame for pages seen before signing in.
pub fn public_chrome(state: &AppState, title: &str, flash: Option<Flash>) -> Chrome {
    Chrome {
        shop: state.config().shop_name.clone(),
        title: title.to_string(),
        user: String::new(),
        is_staff: false,
        is_admin: false,
        is_owner: false,
        is_customer: false,
        csrf: String::new(),
        flash,
        active: "",
        pending: 0,
    }
}

/// The refusal of a form whose CSRF token is missing or wrong.
pub fn csrf_refused(page: Chrome) -> Response {
    error_page(
        page,
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
        "/",
    )
}

/// Cookies for a new signed-in session.
pub fn session_cookies(response: &mut Response, token: &str, csrf: &str, hours: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = hours * 3600;
    for value in [
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Lax; Max-Age={max_age}{secure}"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}
