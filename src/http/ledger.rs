//! The ledger over HTTP: dues, payments (with `Idempotency-Key`), voids and
//! the statement. Handlers pass the raw input to the application layer and
//! write what it returns as JSON.

use super::auth::Caller;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Id, RawAmount};
use crate::app::App;
use crate::app::input::{DueInput, PaymentInput, date_range};
use crate::app::{Due, Payment, PaymentRecorded, Statement};
use crate::domain::money::Money;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(add_due, list_dues))
        .routes(routes!(record_payment, list_payments))
        .routes(routes!(statement))
        .routes(routes!(statement_csv))
        .routes(routes!(get_due))
        .routes(routes!(get_payment))
        .routes(routes!(void_due))
        .routes(routes!(void_payment))
        .routes(routes!(payments_by_status))
        .routes(routes!(confirm_payment))
        .routes(routes!(reject_payment))
}

#[derive(Serialize, ToSchema)]
pub struct DueView {
    id: i64,
    customer_id: i64,
    #[schema(example = "1250.50")]
    amount: String,
    /// How much of it payments have covered.
    paid: String,
    /// What is left to pay.
    outstanding: String,
    description: Option<String>,
    issue_date: String,
    due_date: Option<String>,
    /// open, partial, paid or void
    status: String,
    /// The customer's balance right after this due was recorded.
    balance_after: String,
    created_by: String,
    created_at: String,
    voided_at: Option<String>,
    voided_by: Option<String>,
    void_reason: Option<String>,
}

impl DueView {
    pub fn new(state: &App, d: Due) -> Self {
        let outstanding = if d.is_void() {
            Money::ZERO
        } else {
            d.amount - d.paid
        };
        Self {
            id: d.id,
            customer_id: d.customer_id,
            amount: state.money(d.amount),
            paid: state.money(d.paid),
            outstanding: state.money(outstanding),
            description: d.description,
            issue_date: d.issue_date.to_string(),
            due_date: d.due_date.map(|x| x.to_string()),
            status: d.status.as_str().to_string(),
            balance_after: state.money(d.balance_after),
            created_by: d.created_by,
            created_at: d.created_at,
            voided_at: d.voided_at,
            voided_by: d.voided_by,
            void_reason: d.void_reason,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AllocationView {
    due_id: i64,
    amount: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    id: i64,
    customer_id: i64,
    amount: String,
    method: String,
    reference: Option<String>,
    /// The day the money was received.
    date: String,
    /// pending (reported by the customer, awaiting staff), recorded, rejected or void
    status: String,
    /// How the payment was split over dues, oldest first.
    allocations: Vec<AllocationView>,
    /// The part not used by any due, held as credit.
    unallocated: String,
    /// The customer's balance right after this payment.
    #[schema(example = "250.00")]
    balance_after: String,
    recorded_by: String,
    created_at: String,
    voided_at: Option<String>,
    voided_by: Option<String>,
    void_reason: Option<String>,
    /// The customer who reported it through the portal.
    submitted_by: Option<String>,
    /// Who confirmed or rejected a reported payment, and when.
    decided_by: Option<String>,
    decided_at: Option<String>,
    reject_reason: Option<String>,
}

impl PaymentView {
    pub fn new(state: &App, p: Payment) -> Self {
        Self {
            id: p.id,
            customer_id: p.customer_id,
            amount: state.money(p.amount),
            method: p.method.as_str().to_string(),
            reference: p.reference,
            date: p.paid_on.to_string(),
            status: p.status.as_str().to_string(),
            allocations: p
                .allocations
                .into_iter()
                .map(|a| AllocationView {
                    due_id: a.due_id,
                    amount: state.money(a.amount),
                })
                .collect(),
            unallocated: state.money(p.unallocated),
            balance_after: state.money(p.balance_after),
            recorded_by: p.recorded_by,
            created_at: p.created_at,
            voided_at: p.voided_at,
            voided_by: p.voided_by,
            void_reason: p.void_reason,
            submitted_by: p.submitted_by,
            decided_by: p.decided_by,
            decided_at: p.decided_at,
            reject_reason: p.reject_reason,
        }
    }
}

/// The 201 answer to a new (or replayed) payment; a replay says so in
/// `Idempotent-Replayed: true`.
pub(super) fn payment_created(state: &App, outcome: PaymentRecorded) -> ApiResult<Response> {
    let PaymentRecorded::Recorded { payment, replayed } = outcome else {
        return Err(ApiError::internal());
    };
    let mut response =
        (StatusCode::CREATED, Json(PaymentView::new(state, payment))).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[derive(Deserialize, ToSchema)]
pub struct CreateDue {
    #[schema(value_type = String, example = "1250.50")]
    amount: RawAmount,
    description: Option<String>,
    /// Defaults to today.
    issue_date: Option<String>,
    /// When it must be paid; without it the due is never overdue.
    due_date: Option<String>,
    /// Record it even if it takes the balance past the credit limit.
    #[serde(default)]
    over_limit: bool,
}

/// Records what a customer owes.
#[utoipa::path(post, path = "/api/v1/customers/{id}/dues", tag = "ledger", params(("id" = i64, Path)), request_body = CreateDue, responses(
    (status = 201, body = DueView),
    (status = 404, body = Problem),
    (status = 409, description = "Past the credit limit, or the customer is deleted", body = Problem),
    (status = 422, body = Problem),
))]
async fn add_due(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
    ApiJson(body): ApiJson<CreateDue>,
) -> ApiResult<(StatusCode, Json<DueView>)> {
    let input = DueInput {
        amount: body.amount.0,
        description: body.description,
        issue_date: body.issue_date,
        due_date: body.due_date,
        over_limit: body.over_limit,
    };
    let due = state.add_due(&actor, customer_id, &input).await?;
    Ok((StatusCode::CREATED, Json(DueView::new(&state, due))))
}

#[derive(Serialize, ToSchema)]
pub struct DueList {
    items: Vec<DueView>,
}

/// A customer's dues in allocation order (oldest due date first), voided ones included.
#[utoipa::path(get, path = "/api/v1/customers/{id}/dues", tag = "ledger", params(("id" = i64, Path)), responses(
    (status = 200, body = DueList),
    (status = 404, body = Problem),
))]
async fn list_dues(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
) -> ApiResult<Json<DueList>> {
    let dues = state.dues(&actor, customer_id).await?;
    Ok(Json(DueList {
        items: dues.into_iter().map(|d| DueView::new(&state, d)).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreatePayment {
    #[schema(value_type = String, example = "500.00")]
    amount: RawAmount,
    /// cash (default), upi, card, bank, cheque or other.
    method: Option<String>,
    /// A cheque number, UPI transaction id or similar.
    reference: Option<String>,
    /// The day the money was received; defaults to today.
    #[serde(alias = "paid_on")]
    date: Option<String>,
    /// Accept more than the balance and keep the excess as credit.
    #[serde(default)]
    advance: bool,
}

/// The `Idempotency-Key` header, if sent; the application layer checks it.
pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::from(crate::app::input::bad_idempotency_key()))?;
    Ok(Some(key.to_string()))
}

/// Records a payment; it is allocated to open dues oldest first.
///
/// With an `Idempotency-Key` header a retry returns the first result (with
/// `Idempotent-Replayed: true`) and never records a second payment; the same
/// key with a different request is refused with 422.
#[utoipa::path(post, path = "/api/v1/customers/{id}/payments", tag = "ledger", params(
    ("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: kept for at least 24 hours per caller"),
), request_body = CreatePayment, responses(
    (status = 201, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "The customer is deleted", body = Problem),
    (status = 422, description = "Invalid, more than the balance without advance, or a reused key", body = Problem),
))]
async fn record_payment(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePayment>,
) -> ApiResult<Response> {
    let input = PaymentInput {
        amount: body.amount.0,
        method: body.method,
        reference: body.reference,
        date: body.date,
        advance: body.advance,
        key: idempotency_key(&headers)?,
        check_repeat: false,
    };
    let outcome = state.record_payment(&actor, customer_id, &input).await?;
    payment_created(&state, outcome)
}

#[derive(Serialize, ToSchema)]
pub struct PaymentList {
    items: Vec<PaymentView>,
}

impl PaymentList {
    pub fn new(state: &App, payments: Vec<Payment>) -> Self {
        Self {
            items: payments
                .into_iter()
                .map(|p| PaymentView::new(state, p))
                .collect(),
        }
    }
}

/// A customer's payments, newest first, with how each was allocated.
#[utoipa::path(get, path = "/api/v1/customers/{id}/payments", tag = "ledger", params(("id" = i64, Path)), responses(
    (status = 200, body = PaymentList),
    (status = 404, body = Problem),
))]
async fn list_payments(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
) -> ApiResult<Json<PaymentList>> {
    let payments = state.payments(&actor, customer_id).await?;
    Ok(Json(PaymentList {
        items: payments
            .into_iter()
            .map(|p| PaymentView::new(&state, p))
            .collect(),
    }))
}

/// One due.
#[utoipa::path(get, path = "/api/v1/dues/{id}", tag = "ledger", params(("id" = i64, Path)), responses(
    (status = 200, body = DueView),
    (status = 404, body = Problem),
))]
async fn get_due(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<DueView>> {
    Ok(Json(DueView::new(&state, state.due(&actor, id).await?)))
}

/// One payment with its allocations.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "ledger", params(("id" = i64, Path)), responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
))]
async fn get_payment(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(PaymentView::new(
        &state,
        state.payment(&actor, id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct VoidRequest {
    /// Why the entry is wrong; kept in the ledger and the activity log.
    reason: String,
}

/// Voids a due: it stays in the ledger, marked void, and payments are re-allocated.
#[utoipa::path(post, path = "/api/v1/dues/{id}/void", tag = "ledger", params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = DueView),
    (status = 404, body = Problem),
    (status = 409, description = "Already void", body = Problem),
    (status = 422, body = Problem),
))]
async fn void_due(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(due_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<DueView>> {
    let due = state.void_due(&actor, due_id, &body.reason).await?;
    Ok(Json(DueView::new(&state, due)))
}

/// Voids a payment: it stays in the ledger, marked void, and the balance rises again.
#[utoipa::path(post, path = "/api/v1/payments/{id}/void", tag = "ledger", params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Already void, or a reported payment that is pending or rejected (`not_recorded`)", body = Problem),
    (status = 422, body = Problem),
))]
async fn void_payment(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(payment_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<PaymentView>> {
    let payment = state.void_payment(&actor, payment_id, &body.reason).await?;
    Ok(Json(PaymentView::new(&state, payment)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementParams {
    /// First day shown; earlier entries make the opening balance.
    from: Option<String>,
    /// Last day shown.
    to: Option<String>,
}

impl StatementParams {
    /// The checked date range.
    pub fn range(self) -> ApiResult<(Option<NaiveDate>, Option<NaiveDate>)> {
        Ok(date_range(self.from.as_deref(), self.to.as_deref())?)
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatementEntry {
    date: String,
    /// due, payment, due_void or payment_void
    kind: String,
    due_id: Option<i64>,
    payment_id: Option<i64>,
    description: String,
    /// What the entry adds to the balance.
    debit: Option<String>,
    /// What the entry takes off the balance.
    credit: Option<String>,
    /// The balance after this entry.
    balance: String,
}

#[derive(Serialize, ToSchema)]
pub struct StatementView {
    customer_id: i64,
    customer_name: String,
    currency: String,
    from: Option<String>,
    to: Option<String>,
    opening_balance: String,
    closing_balance: String,
    entries: Vec<StatementEntry>,
}

/// The customer's ledger in date order with a running balance.
#[utoipa::path(get, path = "/api/v1/customers/{id}/statement", tag = "ledger", params(("id" = i64, Path), StatementParams), responses(
    (status = 200, body = StatementView),
    (status = 400, body = Problem),
    (status = 404, body = Problem),
))]
async fn statement(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
    query: Result<Query<StatementParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<StatementView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (from, to) = params.range()?;
    let s = state.statement(&actor, customer_id, from, to).await?;
    Ok(Json(statement_view(&state, s)))
}

/// The same statement as a CSV download: an opening row, the entries and a
/// closing row, amounts as plain decimals, cells safe for spreadsheets.
#[utoipa::path(get, path = "/api/v1/customers/{id}/statement.csv", tag = "ledger", params(("id" = i64, Path), StatementParams), responses(
    (status = 200, content_type = "text/csv", body = String),
    (status = 400, body = Problem),
    (status = 404, body = Problem),
))]
async fn statement_csv(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(customer_id): Id,
    query: Result<Query<StatementParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (from, to) = params.range()?;
    let s = state.statement(&actor, customer_id, from, to).await?;
    Ok(crate::edge::csv_download(&state.statement_table(&s)))
}

/// The statement of one customer, as both staff and the customer see it.
pub(super) fn statement_view(state: &App, s: Statement) -> StatementView {
    let entries = s
        .lines
        .into_iter()
        .map(|l| StatementEntry {
            date: l.date.to_string(),
            kind: l.kind.to_string(),
            due_id: l.due_id,
            payment_id: l.payment_id,
            description: l.description,
            debit: l.delta.is_positive().then(|| state.money(l.delta)),
            credit: l.delta.is_negative().then(|| state.money(-l.delta)),
            balance: state.money(l.balance),
        })
        .collect();
    StatementView {
        customer_id: s.customer.id,
        customer_name: s.customer.name,
        currency: state.config().currency.code(),
        from: s.from.map(|d| d.to_string()),
        to: s.to.map(|d| d.to_string()),
        opening_balance: state.money(s.opening_balance),
        closing_balance: state.money(s.closing_balance),
        entries,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentsParams {
    /// pending (the default: payments customers reported, awaiting staff), recorded, rejected or void
    status: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentWithCustomer {
    #[serde(flatten)]
    payment: PaymentView,
    customer_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentPage {
    items: Vec<PaymentWithCustomer>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// Payments across customers by state; by default those customers reported and staff have yet to confirm.
#[utoipa::path(get, path = "/api/v1/payments", tag = "ledger", params(PaymentsParams), responses(
    (status = 200, body = PaymentPage),
    (status = 400, body = Problem),
))]
async fn payments_by_status(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<PaymentsParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<PaymentPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = super::extract::Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let (items, total) = state
        .payments_by_status(
            &actor,
            params.status.as_deref(),
            paging.per_page,
            paging.offset(),
        )
        .await?;
    Ok(Json(PaymentPage {
        items: items
            .into_iter()
            .map(|(p, customer_name)| PaymentWithCustomer {
                payment: PaymentView::new(&state, p),
                customer_name,
            })
            .collect(),
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ConfirmRequest {
    /// Confirm even if it is more than the balance now, keeping the excess as credit.
    #[serde(default)]
    advance: bool,
}

/// Confirms a payment a customer reported: the balance drops and a receipt is sent.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "ledger", params(("id" = i64, Path)),
    request_body(content = Option<ConfirmRequest>, description = "Optional"), responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Not pending", body = Problem),
    (status = 422, description = "More than the balance now", body = Problem),
))]
async fn confirm_payment(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(payment_id): Id,
    super::extract::OptionalJson(body): super::extract::OptionalJson<ConfirmRequest>,
) -> ApiResult<Json<PaymentView>> {
    let advance = body.unwrap_or_default().advance;
    let payment = state.confirm_payment(&actor, payment_id, advance).await?;
    Ok(Json(PaymentView::new(&state, payment)))
}

/// Rejects a payment a customer reported; the customer is told why.
#[utoipa::path(post, path = "/api/v1/payments/{id}/reject", tag = "ledger", params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Not pending", body = Problem),
    (status = 422, body = Problem),
))]
async fn reject_payment(
    State(state): State<App>,
    Caller(actor): Caller,
    Id(payment_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<PaymentView>> {
    let payment = state
        .reject_payment(&actor, payment_id, &body.reason)
        .await?;
    Ok(Json(PaymentView::new(&state, payment)))
}
