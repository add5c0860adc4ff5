//! The web pages: a staff console and a customer portal, rendered on the
//! server from templates compiled into the binary. Every flow works with
//! plain HTML forms; `static/app.js` only adds conveniences. Pages use the
//! session cookie set at sign-in, and every form carries the session's CSRF
//! token.

pub mod access;
mod assets;
mod charts;
mod forms;
mod portal;
mod signin;
mod staff;

use crate::app::{
    Action, Actor, App, AppError, CSRF_COOKIE, Principal, SESSION_COOKIE, Session, may,
};
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Every page. The signed-in ones sit behind [`access::guard`], which asks
/// the application whether the visitor may see each one.
pub fn router(app: App) -> Router<App> {
    let signed_in = Router::new()
        .merge(staff::router())
        .merge(portal::router())
        .route_layer(axum::middleware::from_fn_with_state(app, access::guard));
    Router::new()
        .merge(assets::router())
        .merge(signin::router())
        .merge(signed_in)
}

const FLASH_COOKIE: &str = "duetrack_flash";

/// A one-time message shown on the next page: what just happened.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// What the signed-in visitor may do, from the permission table: which
/// menu entries and buttons a page shows.
#[derive(Debug, Clone, Default)]
pub struct Can {
    pub view_customers: bool,
    pub create_customer: bool,
    pub edit_customer: bool,
    pub pause_reminders: bool,
    pub delete_customer: bool,
    pub restore_customer: bool,
    pub purge_customer: bool,
    pub reset_credentials: bool,
    pub add_due: bool,
    pub record_payment: bool,
    pub void_entry: bool,
    pub review_payments: bool,
    pub send_message: bool,
    pub view_emails: bool,
    pub view_activity: bool,
    pub view_signins: bool,
    pub manage_staff: bool,
    pub edit_settings: bool,
}

impl Can {
    pub fn of(actor: &Actor) -> Self {
        let may = |action| may(actor, action);
        Self {
            view_customers: may(Action::ViewCustomers),
            create_customer: may(Action::CreateCustomer),
            edit_customer: may(Action::EditCustomer),
            pause_reminders: may(Action::PauseReminders),
            delete_customer: may(Action::DeleteCustomer),
            restore_customer: may(Action::RestoreCustomer),
            purge_customer: may(Action::PurgeCustomer),
            reset_credentials: may(Action::ResetCredentials),
            add_due: may(Action::AddDue),
            record_payment: may(Action::RecordPayment),
            void_entry: may(Action::VoidEntry),
            review_payments: may(Action::ReviewPayments),
            send_message: may(Action::SendMessage),
            view_emails: may(Action::ViewEmails),
            view_activity: may(Action::ViewActivity),
            view_signins: may(Action::ViewSignins),
            manage_staff: may(Action::ManageStaff),
            edit_settings: may(Action::EditSettings),
        }
    }
}

/// What every page's frame shows: the shop, who is signed in, the menu.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub shop: String,
    pub title: String,
    pub user: String,
    pub is_staff: bool,
    pub is_customer: bool,
    /// What the menu and the page's buttons offer.
    pub can: Can,
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

use crate::edge::{cookie, same_secret};

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

/// A refusal from the application as a page.
pub fn app_error_page(page: Chrome, error: AppError, back: &str) -> Response {
    let status = match &error {
        AppError::Invalid(_) | AppError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Busy | AppError::Unavailable | AppError::StorageFull => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &error {
        AppError::Internal => {
            "Something went wrong on our side; it has been logged and nothing was changed."
                .to_string()
        }
        other => sentence(&other.to_string()),
    };
    error_page(page, status, &message, back)
}

/// A message as a sentence: a capital first letter and a full stop.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl FromRequestParts<App> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
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
        let session = match state.session(token).await {
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
        App::is_staff(&self.session.principal)
    }

    /// Who is asking, as the application layer knows them.
    pub fn actor(&self) -> &Actor {
        &self.session.principal
    }

    /// The frame of a page for this visitor.
    pub async fn chrome(&self, state: &App, title: &str, active: &'static str) -> Chrome {
        let (user, role) = match &self.session.principal {
            Principal::Staff { username, role, .. } => (username.clone(), Some(*role)),
            Principal::Customer { username, .. } => (username.clone(), None),
        };
        // A badge in the menu: a failed count shows no badge, not an error.
        let pending = state.pending_count(self.actor()).await.unwrap_or(0);
        Chrome {
            shop: state.config().shop_name.clone(),
            title: title.to_string(),
            user,
            is_staff: role.is_some(),
            is_customer: role.is_none(),
            can: Can::of(self.actor()),
            csrf: self.session.csrf_token.clone(),
            flash: self.flash.clone(),
            active,
            pending,
        }
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        same_secret(sent, &self.session.csrf_token)
    }
}

/// The signed-in caller and the frame of a page. Whether they may see it
/// was settled by the guard in front of every signed-in page.
pub async fn signed_in_page(
    state: &App,
    v: &Visitor,
    title: &str,
    active: &'static str,
) -> Result<(Actor, Chrome), Response> {
    Ok((v.actor().clone(), v.chrome(state, title, active).await))
}

/// The frame for pages seen before signing in.
pub fn public_chrome(state: &App, title: &str, flash: Option<Flash>) -> Chrome {
    Chrome {
        shop: state.config().shop_name.clone(),
        title: title.to_string(),
        user: String::new(),
        is_staff: false,
        is_customer: false,
        can: Can::default(),
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
