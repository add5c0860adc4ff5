//! Staff accounts (`/api/v1/staff`) and the sign-in log (`/api/v1/signins`).
//! Admins manage accounts below the owner; only the owner manages owners.

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, FieldProblem, Problem};
use super::extract::{ApiJson, Checks, Id, Paging, Patch};
use crate::domain::access::{self, Role};
use crate::domain::fields::Email;
use crate::store::auth::{SigninAttempt, SigninFilter};
use crate::store::staff::{NewStaff, StaffMember, StaffPatch};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
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
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = ["admin"])), responses(
    (status = 200, body = StaffList),
))]
async fn list_staff(
    State(state): State<AppState>,
    AdminUser(_caller): AdminUser,
) -> ApiResult<Json<StaffList>> {
    Ok(Json(StaffList {
        items: state.store.list_staff().await?,
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

fn parse_role(checks: &mut Checks, raw: &str) -> Option<Role> {
    let role = Role::parse(raw.trim());
    if role.is_none() {
        checks.fail(
            "role",
            format!("'{raw}' is not a role; use owner, admin or staff"),
        );
    }
    role
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = ["admin"])), request_body = CreateStaff, responses(
    (status = 201, body = StaffMember),
    (status = 403, description = "Only the owner creates owners", body = Problem),
    (status = 409, description = "The user name is taken", body = Problem),
    (status = 422, body = Problem),
))]
async fn create_staff(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    ApiJson(body): ApiJson<CreateStaff>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    let mut checks = Checks::default();
    let username = checks.field("username", access::check_username(&body.username));
    let role = parse_role(&mut checks, &body.role);
    if let Err(why) = access::check_new_password(&body.password, body.username.trim()) {
        checks.fail("password", format!("the password {why}"));
    }
    let email = match body.email.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(e) => checks
            .field("email", Email::parse(e))
            .map(|e| e.as_str().to_string()),
        None => None,
    };
    checks.finish()?;
    let (Some(username), Some(role)) = (username, role) else {
        return Err(ApiError::internal());
    };
    let member = state
        .store
        .create_staff(
            actor.label(),
            actor.role,
            NewStaff {
                username,
                password: body.password,
                role,
                email,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// One staff account.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = ["admin"])), params(("id" = i64, Path)), responses(
    (status = 200, body = StaffMember),
    (status = 404, body = Problem),
))]
async fn get_staff(
    State(state): State<AppState>,
    AdminUser(_caller): AdminUser,
    Id(id): Id,
) -> ApiResult<Json<StaffMember>> {
    Ok(Json(state.store.staff_member(id).await?))
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
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = ["admin"])), params(("id" = i64, Path)), request_body = UpdateStaff, responses(
    (status = 200, body = StaffMember),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, description = "It would leave the shop without an owner", body = Problem),
    (status = 422, body = Problem),
))]
async fn update_staff(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateStaff>,
) -> ApiResult<Json<StaffMember>> {
    let mut checks = Checks::default();
    let role = body
        .role
        .as_deref()
        .and_then(|r| parse_role(&mut checks, r));
    let email = match body.email {
        Patch::Missing => None,
        Patch::Null => Some(None),
        Patch::Value(e) if e.trim().is_empty() => Some(None),
        Patch::Value(e) => checks
            .field("email", Email::parse(&e))
            .map(|e| Some(e.as_str().to_string())),
    };
    if let Some(password) = &body.password {
        let target = state.store.staff_member(id).await?;
        if let Err(why) = access::check_new_password(password, &target.username) {
            checks.fail("password", format!("the password {why}"));
        }
    }
    checks.finish()?;
    let member = state
        .store
        .update_staff(
            actor.label(),
            actor.role,
            id,
            StaffPatch {
                role,
                email,
                password: body.password,
            },
        )
        .await?;
    Ok(Json(member))
}

/// Deletes a staff account: it can no longer sign in; its history stays.
#[utoipa::path(delete, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = ["admin"])), params(("id" = i64, Path)), responses(
    (status = 200, body = StaffMember),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
async fn delete_staff(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(id): Id,
) -> ApiResult<Json<StaffMember>> {
    Ok(Json(
        state
            .store
            .delete_staff(actor.label(), actor.id, actor.role, id)
            .await?,
    ))
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

fn time_bound(field: &str, raw: Option<String>) -> ApiResult<Option<String>> {
    let Some(raw) = raw.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&raw) {
        return Ok(Some(crate::store::timestamp_text(
            t.with_timezone(&chrono::Utc),
        )));
    }
    match crate::domain::fields::parse_date(&raw) {
        Ok(d) => Ok(Some(format!("{d}T00:00:00.000000Z"))),
        Err(_) => Err(ApiError::bad_request(
            "invalid_date",
            field,
            format!("'{raw}' is neither a date YYYY-MM-DD nor an RFC 3339 time"),
        )),
    }
}

/// Every attempt to sign in, set a password or request a reset, newest first.
#[utoipa::path(get, path = "/api/v1/signins", tag = "staff", security(("bearer" = ["admin"])), params(SigninParams), responses(
    (status = 200, body = SigninPage),
    (status = 400, body = Problem),
))]
async fn list_signins(
    State(state): State<AppState>,
    AdminUser(_caller): AdminUser,
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
        from: time_bound("from", params.from)?,
        to: time_bound("to", params.to)?,
    };
    let (items, total) = state
        .store
        .list_signins(&filter, paging.per_page, paging.offset())
        .await?;
    Ok(Json(SigninPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}
