//! Who is calling: sign-in and sign-out, the guard every protected route
//! sits behind (bearer token or session cookie, with a CSRF check for
//! cookies), and extractors that let a handler state the role it needs.

use super::AppState;
use super::error::{ApiError, ApiResult, FieldProblem, Problem};
use super::extract::ApiJson;
use crate::domain::access::Role;
use crate::store::auth::{Client, LoginOutcome, Principal, Session, SetPasswordOutcome};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const SESSION_COOKIE: &str = "duetrack_session";
pub const CSRF_COOKIE: &str = "duetrack_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(set_password))
}

pub fn protected_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(change_password))
}

/// A signed-in staff member, as handlers see the caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl Actor {
    /// How the activity log names this caller.
    pub fn label(&self) -> &str {
        &self.username
    }
}

/// A signed-in customer.
#[derive(Debug, Clone)]
pub struct CustomerActor {
    pub id: i64,
    pub username: String,
}

impl CustomerActor {
    pub fn label(&self) -> String {
        format!("customer:{}", self.username)
    }
}

fn session_of(parts: &Parts) -> ApiResult<&Session> {
    parts
        .extensions
        .get::<Session>()
        .ok_or_else(|| ApiError::unauthorized("sign in first"))
}

fn staff_with(parts: &Parts, least: Role) -> ApiResult<Actor> {
    match &session_of(parts)?.principal {
        Principal::Staff { id, username, role } if *role >= least => Ok(Actor {
            id: *id,
            username: username.clone(),
            role: *role,
        }),
        Principal::Staff { role, .. } => Err(ApiError::forbidden(format!(
            "this needs the {} role; you are signed in as {}",
            least.as_str(),
            role.as_str()
        ))),
        Principal::Customer { .. } => Err(ApiError::forbidden("this is for the shop's staff only")),
    }
}

/// Any staff member: owner, admin or staff.
pub struct StaffUser(pub Actor);
/// An admin or the owner.
pub struct AdminUser(pub Actor);
/// The owner.
pub struct OwnerUser(pub Actor);
/// A signed-in customer.
pub struct CustomerUser(pub CustomerActor);
/// Anyone signed in.
pub struct SignedIn(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for StaffUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        staff_with(parts, Role::Staff).map(StaffUser)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        staff_with(parts, Role::Admin).map(AdminUser)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OwnerUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        staff_with(parts, Role::Owner).map(OwnerUser)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CustomerUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match &session_of(parts)?.principal {
            Principal::Customer { id, username } => Ok(CustomerUser(CustomerActor {
                id: *id,
                username: username.clone(),
            })),
            Principal::Staff { .. } => Err(ApiError::forbidden(
                "this is the customer portal; staff use the /api/v1/customers routes",
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        session_of(parts).cloned().map(SignedIn)
    }
}

/// Where the request came from: the peer address, or the first
/// `X-Forwarded-For` address behind a trusted proxy.
pub struct ClientInfo(pub Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Lets a request through only with a live session: a bearer token, or the
/// session cookie plus, for anything but reads, the CSRF token.
pub async fn authenticate(
    State(state): State<AppState>,
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
    let session = state
        .store
        .session(&token, state.config().session_idle_minutes)
        .await?
        .ok_or_else(|| {
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
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let username = body.username.trim();
    if username.is_empty()
        || body.password.is_empty()
        || username.len() > 254
        || body.password.len() > 1024
    {
        return Err(ApiError::unauthorized("wrong user name or password"));
    }
    let hours = state.config().session_hours;
    let session = match state
        .store
        .login(username, &body.password, &client, hours)
        .await?
    {
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
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = ["customer", "staff"])), responses(
    (status = 204, description = "The token no longer works"),
    (status = 401, body = Problem),
))]
async fn logout(State(state): State<AppState>, SignedIn(session): SignedIn) -> ApiResult<Response> {
    state.store.revoke_session(&session.token_hash).await?;
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
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<SetPasswordRequest>,
) -> ApiResult<Json<PasswordSet>> {
    if body.token.trim().is_empty() || body.token.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_token",
            "token",
            "the link is not valid",
        ));
    }
    match state
        .store
        .set_password_with_token(&body.token, &body.password, &client)
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
#[utoipa::path(post, path = "/api/v1/me/password", tag = "portal", security(("bearer" = ["customer", "staff"])), request_body = ChangePasswordRequest, responses(
    (status = 204, description = "Changed"),
    (status = 401, body = Problem),
    (status = 422, description = "Wrong current password, or a weak new one", body = Problem),
    (status = 429, body = Problem),
))]
async fn change_password(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    state
        .store
        .change_password(
            &session,
            &body.current_password,
            &body.new_password,
            &client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
