//! `/api/v1/customers`: create, list with search and sorting, read, edit,
//! soft delete and restore.

use super::AppState;
use super::auth::{AdminUser, StaffUser};
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Checks, Id, OptionalJson, Paging, Patch, RawAmount, checked};
use crate::domain::fields::{CustomerName, Email, FieldError, Phone, TextKind};
use crate::domain::money::Money;
use crate::store::customers::{
    Customer, CustomerPatch, CustomerQuery, CustomerSort, CustomerStatus, NewCustomer,
};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(restore_customer))
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
    pub fn new(state: &AppState, c: Customer) -> Self {
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
            status: c.status.to_string(),
            balance: state.money(c.balance),
            overdue: state.money(c.overdue),
            days_overdue: c.days_overdue,
            reminders_paused: c.reminders_paused,
            credit: state.money((-c.balance).max(0)),
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

/// Parses an optional text field where blank means "not given".
fn optional<T>(
    checks: &mut Checks,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Option<T> {
    let value = value.filter(|v| !v.trim().is_empty())?;
    checks.field(field, parse(value))
}

fn text(kind: TextKind) -> impl Fn(&str) -> Result<String, FieldError> {
    move |raw| kind.parse_optional(raw).map(Option::unwrap_or_default)
}

/// Adds a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("bearer" = ["staff"])), request_body = CreateCustomer, responses(
    (status = 201, body = CustomerView),
    (status = 409, description = "Another active customer has this email", body = Problem),
    (status = 422, description = "A field is invalid", body = Problem),
))]
async fn create_customer(
    State(state): State<AppState>,
    StaffUser(actor): StaffUser,
    ApiJson(body): ApiJson<CreateCustomer>,
) -> ApiResult<Response> {
    let currency = state.config().currency;
    let mut checks = Checks::default();
    let name = checks.field("name", CustomerName::parse(&body.name));
    let email = optional(&mut checks, "email", body.email.as_deref(), Email::parse);
    let phone = optional(&mut checks, "phone", body.phone.as_deref(), Phone::parse);
    let address = optional(
        &mut checks,
        "address",
        body.address.as_deref(),
        text(TextKind::Address),
    );
    let category = optional(
        &mut checks,
        "category",
        body.category.as_deref(),
        text(TextKind::Category),
    );
    let notes = optional(
        &mut checks,
        "notes",
        body.notes.as_deref(),
        text(TextKind::Notes),
    );
    let credit_limit = body
        .credit_limit
        .as_ref()
        .and_then(|raw| checks.field("credit_limit", currency.parse_non_negative(&raw.0)));
    checks.finish()?;
    let customer = state
        .store
        .create_customer(
            actor.label(),
            NewCustomer {
                name: checked(name)?,
                phone,
                email,
                address,
                category,
                notes,
                credit_limit,
            },
        )
        .await?;
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

fn parse_flag(field: &str, value: Option<&str>) -> ApiResult<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "invalid_flag",
            field,
            format!("'{other}' is not true or false"),
        )),
    }
}

/// Lists customers, searched, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", security(("bearer" = ["staff"])), params(ListParams), responses(
    (status = 200, body = CustomerPage),
    (status = 400, description = "A query parameter is invalid", body = Problem),
))]
async fn list_customers(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CustomerPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let sort = match params.sort.as_deref().map(str::trim) {
        None | Some("") | Some("name") => CustomerSort::Name,
        Some("balance_desc") => CustomerSort::BalanceDesc,
        Some("overdue_desc") => CustomerSort::OverdueDesc,
        Some("created_desc") => CustomerSort::CreatedDesc,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_sort",
                "sort",
                format!(
                    "'{other}' is not a sort order; use name, balance_desc, overdue_desc or created_desc"
                ),
            ));
        }
    };
    let status = match params.status.as_deref().map(str::trim) {
        None | Some("") | Some("active") => CustomerStatus::Active,
        Some("deleted") => CustomerStatus::Deleted,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                "status",
                format!("'{other}' is not a status; use active or deleted"),
            ));
        }
    };
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "q",
            "the search is longer than 100 characters",
        ));
    }
    let (customers, total) = state
        .store
        .list_customers(&CustomerQuery {
            q: q.map(str::to_string),
            status,
            category: params
                .category
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty()),
            overdue_only: parse_flag("overdue", params.overdue.as_deref())?,
            sort,
            limit: paging.per_page,
            offset: paging.offset(),
        })
        .await?;
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
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = ["staff"])), params(("id" = i64, Path)), responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
))]
async fn get_customer(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(id): Id,
) -> ApiResult<Json<CustomerView>> {
    let customer = state.store.customer(id).await?;
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

/// Checks one patched field: null or blank clears it, a value must parse.
fn patch_field<T>(
    checks: &mut Checks,
    field: &str,
    value: Patch<String>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Option<Option<T>> {
    match value {
        Patch::Missing => None,
        Patch::Null => Some(None),
        Patch::Value(v) if v.trim().is_empty() => Some(None),
        Patch::Value(v) => checks.field(field, parse(&v)).map(Some),
    }
}

/// Edits a customer; only the fields sent change.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = ["admin"])), params(("id" = i64, Path)), request_body = UpdateCustomer, responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
    (status = 422, body = Problem),
))]
async fn update_customer(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateCustomer>,
) -> ApiResult<Json<CustomerView>> {
    let currency = state.config().currency;
    let mut checks = Checks::default();
    let name = match body.name {
        Patch::Missing => None,
        Patch::Null => {
            checks.fail("name", "cannot be removed; a customer needs a name");
            None
        }
        Patch::Value(v) => checks.field("name", CustomerName::parse(&v)),
    };
    let patch = CustomerPatch {
        name,
        email: patch_field(&mut checks, "email", body.email, Email::parse),
        phone: patch_field(&mut checks, "phone", body.phone, Phone::parse),
        address: patch_field(
            &mut checks,
            "address",
            body.address,
            text(TextKind::Address),
        ),
        category: patch_field(
            &mut checks,
            "category",
            body.category,
            text(TextKind::Category),
        ),
        notes: patch_field(&mut checks, "notes", body.notes, text(TextKind::Notes)),
        credit_limit: match body.credit_limit {
            Patch::Missing => None,
            Patch::Null => Some(None),
            Patch::Value(raw) => checks
                .field("credit_limit", currency.parse_non_negative(&raw.0))
                .map(|m: Money| Some(m)),
        },
        reminders_paused: body.reminders_paused,
    };
    checks.finish()?;
    let customer = state
        .store
        .update_customer(actor.label(), id, patch)
        .await?;
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
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = ["admin"])), params(("id" = i64, Path), DeleteParams), request_body(content = Option<DeleteBody>, description = "Optional: the reason and force may also come in the body"), responses(
    (status = 200, description = "The customer, now deleted", body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, description = "A balance is open, or the customer is already deleted", body = Problem),
))]
async fn delete_customer(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(id): Id,
    query: Result<Query<DeleteParams>, axum::extract::rejection::QueryRejection>,
    OptionalJson(body): OptionalJson<DeleteBody>,
) -> ApiResult<Json<CustomerView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let body = body.unwrap_or_default();
    let force = parse_flag("force", params.force.as_deref())? || body.force.unwrap_or(false);
    let reason = match params.reason.or(body.reason) {
        Some(r) => TextKind::Reason.parse_optional(&r).map_err(|e| {
            ApiError::invalid_fields(vec![super::error::FieldProblem {
                field: "reason".into(),
                detail: e.0,
            }])
        })?,
        None => None,
    };
    let customer = state
        .store
        .delete_customer(actor.label(), id, force, reason)
        .await?;
    Ok(Json(CustomerView::new(&state, customer)))
}

/// Brings a deleted customer back to the active list.
#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers", security(("bearer" = ["admin"])), params(("id" = i64, Path)), responses(
    (status = 200, body = CustomerView),
    (status = 404, body = Problem),
    (status = 409, body = Problem),
))]
async fn restore_customer(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(id): Id,
) -> ApiResult<Json<CustomerView>> {
    let customer = state.store.restore_customer(actor.label(), id).await?;
    Ok(Json(CustomerView::new(&state, customer)))
}
