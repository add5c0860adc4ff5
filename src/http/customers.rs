//! `/api/v1/customers`: create, list with search and sorting, read, edit,
//! soft delete, restore and purge.

use super::auth::Caller;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Id, OptionalJson, Patch, RawAmount};
use crate::app::App;
use crate::app::input::{CustomerEdit, CustomerInput, DEFAULT_PER_PAGE};
use crate::app::{Customer, CustomerFilter, parse_flag};
use crate::domain::money::Money;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(restore_customer))
        .routes(routes!(purge_customer))
}

/// A customer with the figures of its ledger.
#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    id: i64,
    /// Login name, made from the name.
    username: String,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    category: Option<String>,
    notes: Option<String>,
    #[schema(example = "5000.00")]
    credit_limit: Option<String>,
    /// active or deleted
    status: String,
    /// What the customer owes now: dues less payments. Negative is credit held in advance.
    #[schema(example = "1250.50")]
    balance: String,
    /// The unpaid part of dues whose due date has passed.
    overdue: String,
    days_overdue: i64,
    /// No scheduled reminders are sent while true.
    reminders_paused: bool,
    /// Money paid in advance and not yet used by any due.
    credit: String,
    total_dues: String,
    total_paid: String,
    /// The earliest due date among unpaid dues.
    next_due_date: Option<String>,
    currency: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    delete_reason: Option<String>,
}

impl CustomerView {
    pub fn new(state: &App, c: Customer) -> Self {
        Self {
            id: c.id,
            username: c.username,
            name: c.name,
            phone: c.phone,
            email: c.email,
            address: c.address,
            category: c.category,
            notes: c.notes,
            credit_limit: c.credit_limit.map(|l| state.money(l)),
            status: c.status.as_str().to_string(),
            balance: state.money(c.balance),
            overdue: state.money(c.overdue),
            days_overdue: c.days_overdue,
            reminders_paused: c.reminders_paused,
            credit: state.money((-c.balance).max(Money::ZERO)),
            total_dues: state.money(c.total_dues),
            total_paid: state.money(c.total_paid),
            next_due_date: c.next_due_date.map(|d| d.to_string()),
            currency: state.config().currency.code(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            deleted_at: c.deleted_at,
            delete_reason: c.delete_reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCustomer {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    category: Option<String>,
    notes: Option<String>,
    /// The most this customer may owe; dues beyond it need `"over_limit": true`.
    #[schema(value_type = Option<String>, example = "5000.00")]
    credit_limit: Option<RawAmount>,
}

/// Adds a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CreateCustomer, responses(
    (status = 201, body = CustomerView),
    (status = 409, description = "Another active customer has this email", body = Problem),
    (status = 422, description = "A field is invalid", body = Problem),
))]
async fn create_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<CreateCustomer>,
) -> ApiResult<Response> {
    let input = CustomerInput {
        name: body.name,
        email: body.email,
        phone: body.phone,
        address: body.address,
        category: body.category,
        notes: body.notes,
        credit_limit: body.credit_limit.map(|r| r.0),
    };
    let customer = state.create_customer(&actor, &input).await?;
    let location = format!("/api/v1/customers/{}", customer.id);
    let mut response = (
        StatusCode::CREATED,
        Json(CustomerView::new(&state, customer)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words to find in the name, phone or email (prefix match per word).
    q: Option<String>,
    /// name (default), balance_desc, overdue_desc or created_desc.
    sort: Option<String>,
    /// active (default) or deleted.
    status: Option<String>,
    category: Option<String>,
    /// true to list only customers with something overdue.
    overdue: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    items: Vec<CustomerView>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// Lists customers, searched, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(ListParams), responses(
    (status = 200, body = CustomerPage),
    (status = 400, description = "A query parameter is invalid", body = Problem),
))]
async fn list_customers(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CustomerPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let filter = CustomerFilter {
        q: params.q,
        sort: params.sort,
        status: params.status,
        category: params.category,
        overdue: params.overdue,
        page: params.page,
        per_page: params.per_page,
    };
    let (customers, total, paging) = state.customers(&actor, &filter, DEFAULT_PER_PAGE).await?;
    Ok(Json(CustomerPage {
        items: customers
            .into_iter()
            .map(|c| CustomerView::new(&state, c))
            .collect(),
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// One customer with balance, overdue amount and next due date.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
))]
async fn get_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<CustomerView>> {
    let customer = state.customer(&actor, id).await?;
    Ok(Json(CustomerView::new(&state, customer)))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateCustomer {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    name: Patch<String>,
    /// null clears the field; absent leaves it as it is.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    category: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    credit_limit: Patch<RawAmount>,
    /// true stops scheduled reminders for this customer; false resumes them.
    reminders_paused: Option<bool>,
}

/// Edits a customer; only the fields sent change.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = UpdateCustomer, responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
    (status = 422, body = Problem),
))]
async fn update_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateCustomer>,
) -> ApiResult<Json<CustomerView>> {
    let edit = CustomerEdit {
        name: body.name,
        email: body.email,
        phone: body.phone,
        address: body.address,
        category: body.category,
        notes: body.notes,
        credit_limit: match body.credit_limit {
            Patch::Missing => Patch::Missing,
            Patch::Null => Patch::Null,
            Patch::Value(raw) => Patch::Value(raw.0),
        },
        reminders_paused: body.reminders_paused,
    };
    let customer = state.update_customer(&actor, id, &edit).await?;
    Ok(Json(CustomerView::new(&state, customer)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// true to delete even though a balance is open (needs a reason).
    force: Option<String>,
    /// Why the customer is deleted; required with force.
    reason: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DeleteBody {
    reason: Option<String>,
    force: Option<bool>,
}

/// Archives a customer (soft delete). Refused while a balance is open unless forced with a reason.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path), DeleteParams), request_body(content = Option<DeleteBody>, description = "Optional: the reason and force may also come in the body"), responses(
    (status = 200, description = "The customer, now deleted", body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, description = "A balance is open, or the customer is already deleted", body = Problem),
))]
async fn delete_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
    query: Result<Query<DeleteParams>, axum::extract::rejection::QueryRejection>,
    OptionalJson(body): OptionalJson<DeleteBody>,
) -> ApiResult<Json<CustomerView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let body = body.unwrap_or_default();
    let force = parse_flag("force", params.force.as_deref())? || body.force.unwrap_or(false);
    let reason = params.reason.or(body.reason);
    let customer = state
        .delete_customer(&actor, id, force, reason.as_deref())
        .await?;
    Ok(Json(CustomerView::new(&state, customer)))
}

/// Brings a deleted customer back to the active list.
#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers", params(("id" = i64, Path)), responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
async fn restore_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<CustomerView>> {
    let customer = state.restore_customer(&actor, id).await?;
    Ok(Json(CustomerView::new(&state, customer)))
}

/// Erases a deleted customer's personal data (name, contact details,
/// category, notes and login) and keeps every amount of their ledger. Owner
/// only; a customer who is not deleted gives 409 `not_deleted`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/purge", tag = "customers", params(("id" = i64, Path)), responses(
    (status = 200, body = CustomerView),
    (status = 403, body = Problem),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
async fn purge_customer(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<CustomerView>> {
    let customer = state.purge_customer(&actor, id).await?;
    Ok(Json(CustomerView::new(&state, customer)))
}
