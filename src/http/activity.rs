//! `GET /api/v1/activity`: the activity log, newest first, filtered.

use super::AppState;
use super::auth::AdminUser;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::Paging;
use crate::domain::fields::parse_date;
use crate::store::activity::{ActivityEntry, ActivityFilter};
use crate::store::timestamp_text;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_activity))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// customer, due, payment or staff.
    entity: Option<String>,
    /// With `entity`: one entity's history.
    entity_id: Option<String>,
    /// The user name of whoever made the change.
    actor: Option<String>,
    /// Such as payment.recorded or customer.updated.
    action: Option<String>,
    /// First day (YYYY-MM-DD, in the shop's time zone) or an RFC 3339 time.
    from: Option<String>,
    /// Last day (YYYY-MM-DD, inclusive) or an RFC 3339 time (exclusive).
    to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    items: Vec<ActivityEntry>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// A bound of the date range as UTC text; a plain date means the start of
/// that day (or of the next day, for an inclusive end) in the shop's zone.
fn bound(state: &AppState, field: &str, raw: &str, end: bool) -> ApiResult<String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(timestamp_text(at.with_timezone(&chrono::Utc)));
    }
    let date = parse_date(raw).map_err(|_| {
        ApiError::bad_request(
            "invalid_date",
            field,
            format!("'{raw}' is neither a date YYYY-MM-DD nor an RFC 3339 time"),
        )
    })?;
    let day = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    let local = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(state.config().timezone).earliest())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_date",
                field,
                format!("'{raw}' has no midnight in the shop's time zone"),
            )
        })?;
    Ok(timestamp_text(local.with_timezone(&chrono::Utc)))
}

/// Every change, newest first: who, when, what, before and after.
#[utoipa::path(get, path = "/api/v1/activity", tag = "activity", security(("bearer" = ["admin"])), params(ActivityParams), responses(
    (status = 200, body = ActivityPage),
    (status = 400, body = Problem),
))]
async fn list_activity(
    State(state): State<AppState>,
    AdminUser(_caller): AdminUser,
    query: Result<Query<ActivityParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ActivityPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let from = given(params.from)
        .map(|f| bound(&state, "from", &f, false))
        .transpose()?;
    let to = given(params.to)
        .map(|t| bound(&state, "to", &t, true))
        .transpose()?;
    let filter = ActivityFilter {
        entity_type: given(params.entity),
        entity_id: given(params.entity_id),
        actor: given(params.actor),
        action: given(params.action),
        from,
        to,
    };
    let (items, total) = state
        .store
        .list_activity(&filter, paging.per_page, paging.offset())
        .await?;
    Ok(Json(ActivityPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}
