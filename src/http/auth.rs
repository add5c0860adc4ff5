//! Signing in and out, and the guard that every protected route sits behind.

use super::AppState;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::ApiJson;
use crate::domain::access::Role;
use crate::store::auth::Actor;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const SESSION_COOKIE: &str = "duetrack_session";

pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

pub fn protected_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    role: Role,
    /// RFC 3339 time after which the token no longer works.
    expires_at: String,
}

/// Signs in with a user name and password; returns a bearer token and sets a session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, description = "Wrong user name or password", body = Problem),
    (status = 422, description = "A field is missing", body = Problem),
))]
async fn login(
    State(state): State<AppState>,
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
    let hours = state.config.session_hours;
    let session = state
        .store
        .staff_login(username, &body.password, hours)
        .await?
        .ok_or_else(|| ApiError::unauthorized("wrong user name or password"))?;
    let secure = if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        session.token,
        hours * 3600
    );
    let mut response = Json(LoginResponse {
        token: session.token,
        role: session.role,
        expires_at: session.expires_at,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Ends the session of the token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses(
    (status = 204, description = "The token no longer works"),
    (status = 401, body = Problem),
))]
async fn logout(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> ApiResult<Response> {
    state.store.revoke_session(&actor.token_hash).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("duetrack_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Lets a request through only with a live staff token, and hands the
/// handler who is calling.
pub async fn require_staff(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> ApiResult<Response> {
    let token = bearer_token(request.headers()).ok_or_else(|| {
        ApiError::unauthorized("sign in first and send the token as Authorization: Bearer <token> (POST /api/v1/auth/login)")
    })?;
    let actor = state.store.staff_session(token).await?.ok_or_else(|| {
        ApiError::unauthorized("the token is unknown, expired or revoked; sign in again")
    })?;
    request.extensions_mut().insert(actor);
    Ok(next.run(request).await)
}
