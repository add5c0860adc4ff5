//! Who is calling: sign-in and sign-out, the guard every protected route
//! sits behind (bearer token or session cookie, with a CSRF check for
//! cookies), and the extractor that hands a handler its caller. What the
//! caller may do is for the application layer to decide.

use super::error::{ApiError, ApiResult, FieldProblem, Problem};
use super::extract::ApiJson;
use crate::app::{Actor, App, LoginOutcome, Principal, Session, SetPasswordOutcome};
use axum::Json;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::app::{CSRF_COOKIE, SESSION_COOKIE};
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn public_router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(set_password))
}

pub fn protected_router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(change_password))
}

/// The signed-in caller of a route: what the application layer decides on.
pub struct Caller(pub Actor);
/// The signed-in caller's session, for signing out and changing passwords.
pub struct SignedIn(pub Session);

fn session_of(parts: &Parts) -> ApiResult<&Session> {
    parts
        .extensions
        .get::<Session>()
        .ok_or_else(|| ApiError::unauthorized("sign in first"))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        session_of(parts).map(|s| Caller(s.principal.clone()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        session_of(parts).cloned().map(SignedIn)
    }
}

pub use crate::edge::ClientInfo;
use crate::edge::{cookie, same_secret as same};

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Lets a request through only with a live session: a bearer token, or the
/// session cookie plus, for anything but reads, the CSRF token.
pub async fn authenticate(
    State(state): State<App>,
    mut request: Request,
    next: Next,
) -> ApiResult<Response> {
    let (token, by_cookie) = match bearer_token(request.headers()) {
        Some(t) => (t.to_string(), false),
        None => match cookie(request.headers(), SESSION_COOKIE) {
            Some(t) => (t.to_string(), true),
            None => {
                return Err(ApiError::unauthorized(
                    "sign in first and send the token as Authorization: Bearer <token> (POST /api/v1/auth/login)",
                ));
            }
        },
    };
    let session = state.session(&token).await?.ok_or_else(|| {
        ApiError::unauthorized("the session is unknown, expired or signed out; sign in again")
    })?;
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if by_cookie && !safe {
        let sent = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(sent, &session.csrf_token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a request signed in by cookie must carry the X-CSRF-Token header from sign-in",
            ));
        }
    }
    // The permission table answers before any input is read, so a caller
    // who may not act learns nothing about what the route would accept.
    let method = if request.method() == Method::HEAD {
        "get"
    } else {
        request.method().as_str()
    };
    let action = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| super::access::action_of(method, p.as_str()));
    match action {
        Some(action) => state.authorize(&session.principal, action)?,
        None => {
            tracing::error!(path = %request.uri().path(), "an API route has no entry in the permission table");
            return Err(ApiError::forbidden("this route is not open to anyone"));
        }
    }
    request.extensions_mut().insert(session);
    Ok(next.run(request).await)
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// A staff user name, a customer's user name, or a customer's email.
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// owner, admin, staff or customer
    role: String,
    username: String,
    /// RFC 3339 time after which the token no longer works.
    expires_at: String,
    /// Send as `X-CSRF-Token` with state-changing requests that rely on the session cookie.
    csrf_token: String,
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Signs in a staff member or a customer; returns a bearer token and sets a session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, description = "Wrong user name or password", body = Problem),
    (status = 422, description = "A field is missing", body = Problem),
    (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem),
))]
async fn login(
    State(state): State<App>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let username = body.username.trim();
    let hours = state.config().session_hours;
    let session = match state.sign_in(username, &body.password, &client).await? {
        LoginOutcome::SignedIn(s) => s,
        LoginOutcome::Refused => return Err(ApiError::unauthorized("wrong user name or password")),
        LoginOutcome::Throttled(seconds) => return Err(ApiError::throttled(seconds)),
    };
    let secure = if state.config().base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let max_age = hours * 3600;
    let (role, username) = match &session.principal {
        Principal::Staff { username, role, .. } => (role.as_str().to_string(), username.clone()),
        Principal::Customer { username, .. } => ("customer".to_string(), username.clone()),
    };
    let mut response = Json(LoginResponse {
        token: session.token.clone(),
        role,
        username,
        expires_at: session.expires_at,
        csrf_token: session.csrf_token.clone(),
    })
    .into_response();
    set_cookie(
        &mut response,
        &format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            session.token
        ),
    );
    set_cookie(
        &mut response,
        &format!(
            "{CSRF_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={max_age}{secure}",
            session.csrf_token
        ),
    );
    Ok(response)
}

/// Ends the session of the token (or cookie) used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses(
    (status = 204, description = "The token no longer works"),
    (status = 401, body = Problem),
))]
async fn logout(State(state): State<App>, SignedIn(session): SignedIn) -> ApiResult<Response> {
    state.sign_out(&session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        &mut response,
        &format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    set_cookie(
        &mut response,
        &format!("{CSRF_COOKIE}=; Path=/; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}

#[derive(Deserialize, ToSchema)]
pub struct SetPasswordRequest {
    /// The token from the invitation or reset link (`?token=`).
    token: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordSet {
    /// The user name to sign in with (the email works too).
    username: String,
}

fn weak(field: &str, why: String) -> ApiError {
    ApiError {
        code: "weak_password",
        ..ApiError::invalid_fields(vec![FieldProblem {
            field: field.to_string(),
            detail: why,
        }])
    }
}

/// Completes an invitation or reset link: sets the password once.
#[utoipa::path(post, path = "/api/v1/auth/set-password", tag = "auth", security(()), request_body = SetPasswordRequest, responses(
    (status = 200, body = PasswordSet),
    (status = 400, description = "The link is unknown, used or expired", body = Problem),
    (status = 422, description = "The password is too short or too common", body = Problem),
    (status = 429, description = "Too many failed attempts", body = Problem),
))]
async fn set_password(
    State(state): State<App>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<SetPasswordRequest>,
) -> ApiResult<Json<PasswordSet>> {
    match state
        .set_password_with_link(&body.token, &body.password, &client)
        .await?
    {
        SetPasswordOutcome::Done { username } => Ok(Json(PasswordSet { username })),
        SetPasswordOutcome::BadToken => Err(ApiError::bad_request(
            "invalid_token",
            "token",
            "this link is unknown, already used or expired; ask the shop for a new one",
        )),
        SetPasswordOutcome::Weak(why) => Err(weak("password", format!("the password {why}"))),
        SetPasswordOutcome::Throttled(seconds) => Err(ApiError::throttled(seconds)),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[serde(alias = "old_password")]
    current_password: String,
    new_password: String,
}

/// Changes your own password, given the current one; your other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "portal", request_body = ChangePasswordRequest, responses(
    (status = 204, description = "Changed"),
    (status = 401, body = Problem),
    (status = 422, description = "Wrong current password, or a weak new one", body = Problem),
    (status = 429, body = Problem),
))]
async fn change_password(
    State(state): State<App>,
    SignedIn(session): SignedIn,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    state
        .change_own_password(
            &session,
            &body.current_password,
            &body.new_password,
            &client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
