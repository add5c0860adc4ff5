//! Staff accounts (`/api/v1/staff`) and the sign-in log (`/api/v1/signins`).
//! Admins manage accounts below the owner; only the owner manages owners.

use super::auth::Caller;
use super::error::{ApiError, ApiResult, FieldProblem, Problem};
use super::extract::{ApiJson, Id, Paging, Patch};
use crate::app::App;
use crate::app::staff::{StaffEdit, StaffInput};
use crate::app::{SigninAttempt, SigninFilter, StaffMember, time_bound};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_staff, create_staff))
        .routes(routes!(get_staff, update_staff, delete_staff))
        .routes(routes!(list_signins))
}

#[derive(Serialize, ToSchema)]
pub struct StaffList {
    items: Vec<StaffMember>,
}

/// Every staff account, deleted ones included.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", responses(
    (status = 200, body = StaffList),
))]
async fn list_staff(State(state): State<App>, Caller(actor): Caller) -> ApiResult<Json<StaffList>> {
    Ok(Json(StaffList {
        items: state.staff_accounts(&actor).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateStaff {
    username: String,
    password: String,
    /// owner, admin or staff
    role: String,
    email: Option<String>,
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = CreateStaff, responses(
    (status = 201, body = StaffMember),
    (status = 403, description = "Only the owner creates owners", body = Problem),
    (status = 409, description = "The user name is taken", body = Problem),
    (status = 422, body = Problem),
))]
async fn create_staff(
    State(state): State<App>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateStaff>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    let input = StaffInput {
        username: body.username,
        password: body.password,
        role: body.role,
        email: body.email,
    };
    let member = state.create_staff(&actor, &input).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// One staff account.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = i64, Path)), responses(
    (status = 200, body = StaffMember),
    (status = 404, body = Problem),
))]
async fn get_staff(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<StaffMember>> {
    Ok(Json(state.staff_account(&actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateStaff {
    role: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: Patch<String>,
    /// A new password; the account's sessions end.
    password: Option<String>,
}

/// Changes a staff account's role, email or password.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = i64, Path)), request_body = UpdateStaff, responses(
    (status = 200, body = StaffMember),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, description = "It would leave the shop without an owner", body = Problem),
    (status = 422, body = Problem),
))]
async fn update_staff(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateStaff>,
) -> ApiResult<Json<StaffMember>> {
    let edit = StaffEdit {
        role: body.role,
        email: body.email,
        password: body.password,
    };
    let member = state.update_staff(&actor, id, &edit).await?;
    Ok(Json(member))
}

/// Deletes a staff account: it can no longer sign in; its history stays.
#[utoipa::path(delete, path = "/api/v1/staff/{id}", tag = "staff", params(("id" = i64, Path)), responses(
    (status = 200, body = StaffMember),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
async fn delete_staff(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<StaffMember>> {
    Ok(Json(state.delete_staff(&actor, id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SigninParams {
    username: Option<String>,
    /// login, set_password or reset_request
    kind: Option<String>,
    /// true or false
    success: Option<String>,
    /// RFC 3339 time or YYYY-MM-DD (UTC)
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SigninPage {
    items: Vec<SigninAttempt>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// A bound of the range: an RFC 3339 time, or a date meaning its midnight UTC.
fn utc_bound(field: &'static str, raw: Option<String>) -> ApiResult<Option<String>> {
    raw.map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .map(|r| time_bound(chrono_tz::UTC, field, &r, false))
        .transpose()
        .map_err(ApiError::from)
}

/// Every attempt to sign in, set a password or request a reset, newest first.
#[utoipa::path(get, path = "/api/v1/signins", tag = "staff", params(SigninParams), responses(
    (status = 200, body = SigninPage),
    (status = 400, body = Problem),
))]
async fn list_signins(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<SigninParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<SigninPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let success = match params.success.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid_fields(vec![FieldProblem {
                field: "success".into(),
                detail: format!("'{other}' is not true or false"),
            }])
            .with_status(StatusCode::BAD_REQUEST));
        }
    };
    let filter = SigninFilter {
        username: params
            .username
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty()),
        kind: params
            .kind
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty()),
        success,
        from: utc_bound("from", params.from)?,
        to: utc_bound("to", params.to)?,
    };
    let (items, total) = state
        .signins(&actor, &filter, paging.per_page, paging.offset())
        .await?;
    Ok(Json(SigninPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}
