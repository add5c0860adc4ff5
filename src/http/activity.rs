//! `GET /api/v1/activity`: the activity log, newest first, filtered.

use super::auth::Caller;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::Paging;
use crate::app::App;
use crate::app::{ActivityEntry, ActivityFilter, time_bound};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_activity))
        .routes(routes!(activity_csv))
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

/// Every change, newest first: who, when, what, before and after.
#[utoipa::path(get, path = "/api/v1/activity", tag = "activity", params(ActivityParams), responses(
    (status = 200, body = ActivityPage),
    (status = 400, body = Problem),
))]
async fn list_activity(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<ActivityParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ActivityPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let filter = filter_of(&state, params)?;
    let (items, total) = state
        .activity(&actor, &filter, paging.per_page, paging.offset())
        .await?;
    Ok(Json(ActivityPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// The filter the query asks for.
fn filter_of(state: &App, params: ActivityParams) -> ApiResult<ActivityFilter> {
    let tz = state.config().timezone;
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let from = given(params.from)
        .map(|f| time_bound(tz, "from", &f, false))
        .transpose()?;
    let to = given(params.to)
        .map(|t| time_bound(tz, "to", &t, true))
        .transpose()?;
    Ok(ActivityFilter {
        entity_type: given(params.entity),
        entity_id: given(params.entity_id),
        actor: given(params.actor),
        action: given(params.action),
        from,
        to,
    })
}

/// The most entries one download holds; narrow it with `from` and `to`.
const MAX_DOWNLOAD: i64 = 100_000;

/// The same entries as a CSV download (newest first, with their hashes;
/// `page` and `per_page` are ignored, up to 100000 entries).
#[utoipa::path(get, path = "/api/v1/activity.csv", tag = "activity", params(ActivityParams), responses(
    (status = 200, content_type = "text/csv", body = String),
    (status = 400, body = Problem),
))]
async fn activity_csv(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<ActivityParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::response::Response> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let filter = filter_of(&state, params)?;
    let (items, _) = state.activity(&actor, &filter, MAX_DOWNLOAD, 0).await?;
    Ok(crate::edge::csv_download(&state.activity_table(&items)))
}
