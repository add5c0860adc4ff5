//! Signing in and out on the web, and the page invitation and reset links open.

use super::{Visitor, public_chrome, read_flash, redirect_with, render, session_cookies};
use crate::app::App;
use crate::app::{LoginOutcome, SetPasswordOutcome};
use crate::edge::ClientInfo;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/set-password", get(set_password_page).post(set_password))
}

/// The front door: staff to the dashboard, customers to their account.
async fn home(State(state): State<App>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match Visitor::from_request_parts(&mut parts, &state).await {
        Ok(v) if v.is_staff() => Redirect::to("/dashboard").into_response(),
        Ok(_) => Redirect::to("/portal").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: super::Chrome,
    error: Option<String>,
    username: String,
    next: String,
    form_token: String,
}

/// The cookie that pairs a sign-in form with the browser it was shown to.
/// Without it another site could post its own credentials to /login and
/// sign a visitor in as someone else (login CSRF): the form's hidden
/// `form_token` must equal this cookie, which only pages of this site set.
const LOGIN_COOKIE: &str = "duetrack_login";

/// Renders the sign-in form with a fresh form token and its cookie.
fn login_form(
    state: &App,
    flash: Option<super::Flash>,
    error: Option<String>,
    username: String,
    next: String,
    status: StatusCode,
) -> Response {
    let shown = flash.is_some();
    let form_token = crate::domain::access::new_token();
    let mut response = render(
        &LoginPage {
            page: public_chrome(state, "Sign in", flash),
            error,
            username,
            next,
            form_token: form_token.clone(),
        },
        status,
        shown,
    );
    let secure = if state.config().base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={form_token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=86400{secure}"
    )) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Only paths on this site, so a link cannot send someone elsewhere after
/// sign-in: exactly one leading `/`, then no `/` or `\` straight after it,
/// and no backslash, control character or whitespace anywhere (browsers
/// drop tabs and newlines and read `\` as `/`, so `/\t/evil` becomes
/// `//evil`). Anything else, and anything with a scheme, gives the default page.
fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return String::new();
    };
    let safe = n.starts_with('/')
        && !n[1..].starts_with(['/', '\\'])
        && !n
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && !n.contains("://");
    if safe { n.to_string() } else { String::new() }
}

async fn login_page(
    State(state): State<App>,
    headers: HeaderMap,
    Query(q): Query<NextParam>,
) -> Response {
    login_form(
        &state,
        read_flash(&headers),
        None,
        String::new(),
        safe_next(q.next.as_deref()),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    form_token: String,
}

async fn login(
    State(state): State<App>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let failed = |message: &str, status: StatusCode| {
        login_form(
            &state,
            None,
            Some(message.to_string()),
            form.username.clone(),
            safe_next(form.next.as_deref()),
            status,
        )
    };
    let paired = crate::edge::cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|c| !c.is_empty() && crate::edge::same_secret(c, &form.form_token));
    if !paired {
        return failed(
            "This sign-in form was not the one this browser was given (it may have expired, or cookies are off). Sign in again with the form below.",
            StatusCode::FORBIDDEN,
        );
    }
    if form.username.trim().is_empty() || form.password.is_empty() {
        return failed("Enter your username and password.", StatusCode::OK);
    }
    let hours = state.config().session_hours;
    let outcome = match state.sign_in(&form.username, &form.password, &client).await {
        Ok(o) => o,
        Err(e @ crate::app::AppError::BadRequest { .. }) => {
            return failed(&super::sentence(&e.to_string()), StatusCode::BAD_REQUEST);
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return failed(
                "Signing in is not possible right now; try again shortly.",
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    match outcome {
        LoginOutcome::SignedIn(session) => {
            let next = safe_next(form.next.as_deref());
            let to = if !next.is_empty() {
                next
            } else if App::is_staff(&session.principal) {
                "/dashboard".to_string()
            } else {
                "/portal".to_string()
            };
            let mut response = Redirect::to(&to).into_response();
            session_cookies(
                &mut response,
                &session.token,
                &session.csrf_token,
                hours,
                state.config().base_url.starts_with("https://"),
            );
            response
        }
        LoginOutcome::Refused => failed("That username and password do not match.", StatusCode::OK),
        LoginOutcome::Throttled(seconds) => failed(
            &format!(
                "Too many failed attempts. Try again in {} minute(s).",
                (seconds + 59) / 60
            ),
            StatusCode::OK,
        ),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<App>,
    visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&form.csrf) {
        let page = visitor.chrome(&state, "Sign out", "").await;
        return super::csrf_refused(page);
    }
    if let Err(e) = state.sign_out(&visitor.session).await {
        tracing::error!(error = %e, "sign-out failed");
    }
    let mut response = redirect_with("/login", "ok", "You are signed out.");
    for value in [
        "duetrack_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        "duetrack_csrf=; Path=/; SameSite=Lax; Max-Age=0",
    ] {
        response.headers_mut().append(
            axum::http::header::SET_COOKIE,
            axum::http::HeaderValue::from_static(value),
        );
    }
    response
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    page: super::Chrome,
    token: String,
    error: Option<String>,
    field_error: Option<String>,
    done: bool,
    username: String,
}

#[derive(Deserialize)]
struct TokenParam {
    token: Option<String>,
}

async fn set_password_page(State(state): State<App>, Query(q): Query<TokenParam>) -> Response {
    let token = q.token.unwrap_or_default();
    let error = token
        .is_empty()
        .then(|| "This page needs the link from your invitation or reset email.".to_string());
    render(
        &SetPasswordPage {
            page: public_chrome(&state, "Choose your password", None),
            token,
            error,
            field_error: None,
            done: false,
            username: String::new(),
        },
        StatusCode::OK,
        false,
    )
}

#[derive(Deserialize)]
struct SetPasswordForm {
    token: String,
    password: String,
    confirm: String,
}

async fn set_password(
    State(state): State<App>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<SetPasswordForm>,
) -> Response {
    let page = |error: Option<String>, field_error: Option<String>, status: StatusCode| {
        render(
            &SetPasswordPage {
                page: public_chrome(&state, "Choose your password", None),
                token: form.token.clone(),
                error,
                field_error,
                done: false,
                username: String::new(),
            },
            status,
            false,
        )
    };
    if form.password != form.confirm {
        return page(
            None,
            Some("The two passwords are not the same.".into()),
            StatusCode::OK,
        );
    }
    match state
        .set_password_with_link(&form.token, &form.password, &client)
        .await
    {
        Ok(SetPasswordOutcome::Done { username }) => render(
            &SetPasswordPage {
                page: public_chrome(&state, "Password set", None),
                token: String::new(),
                error: None,
                field_error: None,
                done: true,
                username,
            },
            StatusCode::OK,
            false,
        ),
        Ok(SetPasswordOutcome::BadToken) => page(
            Some(
                "This link is unknown, already used or expired. Ask the shop to send a new one."
                    .into(),
            ),
            None,
            StatusCode::OK,
        ),
        Ok(SetPasswordOutcome::Weak(why)) => {
            page(None, Some(format!("The password {why}.")), StatusCode::OK)
        }
        Ok(SetPasswordOutcome::Throttled(seconds)) => page(
            Some(format!(
                "Too many attempts. Try again in {} minute(s).",
                (seconds + 59) / 60
            )),
            None,
            StatusCode::OK,
        ),
        Err(e) => {
            tracing::error!(error = %e, "set-password failed");
            page(
                Some("That did not work; try again shortly.".into()),
                None,
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_paths_on_this_site_are_followed() {
        for good in ["/dashboard", "/customers/3?tab=ledger", "/portal", "/"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "\t/evil.example",
            "/\r\n/evil.example",
            "/\n/evil.example",
            "/\0/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "///evil.example",
            "/customers\\..\\evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "", "{bad:?}");
        }
        assert_eq!(safe_next(None), "");
    }
}
