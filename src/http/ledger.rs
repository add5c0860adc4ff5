//! The ledger over HTTP: dues, payments (with `Idempotency-Key`), voids and
//! the statement. Handlers parse input into domain values and hand one
//! command to the store.

use super::AppState;
use super::auth::{AdminUser, StaffUser};
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Checks, Id, RawAmount, checked};
use crate::domain::fields::{PaymentMethod, TextKind, parse_date};
use crate::domain::ledger::{DueStatus, PaymentStatus};
use crate::store::ledger::{
    Due, IdempotencyKey, LedgerCommand, LedgerOutcome, NewDue, NewPayment, Payment,
};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_due, list_dues))
        .routes(routes!(record_payment, list_payments))
        .routes(routes!(statement))
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
    pub fn new(state: &AppState, d: Due) -> Self {
        let outstanding = if d.status == DueStatus::Void {
            0
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
            status: d.status.to_string(),
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
    pub fn new(state: &AppState, p: Payment) -> Self {
        Self {
            id: p.id,
            customer_id: p.customer_id,
            amount: state.money(p.amount),
            method: p.method.to_string(),
            reference: p.reference,
            date: p.paid_on.to_string(),
            status: p.status.to_string(),
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

/// The due a due command produced; any other outcome would be our bug.
fn due_of(outcome: LedgerOutcome) -> ApiResult<Due> {
    match outcome {
        LedgerOutcome::Due(due) => Ok(due),
        LedgerOutcome::Payment { .. } => Err(ApiError::internal()),
    }
}

/// The payment a payment command produced; any other outcome would be our bug.
fn payment_of(outcome: LedgerOutcome) -> ApiResult<Payment> {
    match outcome {
        LedgerOutcome::Payment { payment, .. } => Ok(payment),
        LedgerOutcome::Due(_) => Err(ApiError::internal()),
    }
}

/// The 201 answer to a new (or replayed) payment; a replay says so in
/// `Idempotent-Replayed: true`.
pub(super) fn payment_created(state: &AppState, outcome: LedgerOutcome) -> ApiResult<Response> {
    let LedgerOutcome::Payment { payment, replayed } = outcome else {
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

/// A date that must not lie after today where the shop is.
fn past_or_today(state: &AppState, raw: &str) -> Result<NaiveDate, String> {
    let date = parse_date(raw).map_err(|e| e.0)?;
    let today = state.config().today();
    if date > today {
        return Err(format!("{date} is in the future (today is {today})"));
    }
    Ok(date)
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
#[utoipa::path(post, path = "/api/v1/customers/{id}/dues", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), request_body = CreateDue, responses(
    (status = 201, body = DueView),
    (status = 404, body = Problem),
    (status = 409, description = "Past the credit limit, or the customer is deleted", body = Problem),
    (status = 422, body = Problem),
))]
async fn add_due(
    State(state): State<AppState>,
    StaffUser(actor): StaffUser,
    Id(customer_id): Id,
    ApiJson(body): ApiJson<CreateDue>,
) -> ApiResult<(StatusCode, Json<DueView>)> {
    let mut checks = Checks::default();
    let amount = checks.field(
        "amount",
        state.config().currency.parse_positive(&body.amount.0),
    );
    let description = match &body.description {
        Some(d) => checks
            .field("description", TextKind::Description.parse_optional(d))
            .flatten(),
        None => None,
    };
    let due_date = match body.due_date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => checks.field("due_date", parse_date(d)),
        None => None,
    };
    // Without an issue date the due is issued today, or on its due date when
    // that has already passed (recording an old debt).
    let issue_date = match body.issue_date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => checks.field("issue_date", past_or_today(&state, d)),
        None => Some(due_date.map_or(state.config().today(), |due| {
            due.min(state.config().today())
        })),
    };
    if let (Some(issue), Some(due)) = (issue_date, due_date)
        && due < issue
    {
        checks.fail(
            "due_date",
            format!("{due} is before the issue date {issue}"),
        );
    }
    checks.finish()?;
    let outcome = state
        .store
        .apply(
            actor.label(),
            LedgerCommand::AddDue(NewDue {
                customer_id,
                amount: checked(amount)?,
                description,
                issue_date: checked(issue_date)?,
                due_date,
                over_limit: body.over_limit,
            }),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DueView::new(&state, due_of(outcome)?)),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct DueList {
    items: Vec<DueView>,
}

/// A customer's dues in allocation order (oldest due date first), voided ones included.
#[utoipa::path(get, path = "/api/v1/customers/{id}/dues", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), responses(
    (status = 200, body = DueList),
    (status = 404, body = Problem),
))]
async fn list_dues(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(customer_id): Id,
) -> ApiResult<Json<DueList>> {
    let dues = state.store.customer_dues(customer_id).await?;
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

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 255;

/// A retry guard from the `Idempotency-Key` header and what makes two
/// requests the same: their parsed values, so "500" and "500.00" are one
/// payment.
pub(super) fn keyed(key: Option<String>, fingerprint: serde_json::Value) -> Option<IdempotencyKey> {
    key.map(|key| IdempotencyKey {
        key,
        request_hash: hex::encode(Sha256::digest(fingerprint.to_string().as_bytes())),
    })
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key",
                format!(
                    "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ),
            )
        })?;
    Ok(Some(key.to_string()))
}

/// Records a payment; it is allocated to open dues oldest first.
///
/// With an `Idempotency-Key` header a retry returns the first result (with
/// `Idempotent-Replayed: true`) and never records a second payment; the same
/// key with a different request is refused with 422.
#[utoipa::path(post, path = "/api/v1/customers/{id}/payments", tag = "ledger", security(("bearer" = ["staff"])), params(
    ("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: kept for at least 24 hours per caller"),
), request_body = CreatePayment, responses(
    (status = 201, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "The customer is deleted", body = Problem),
    (status = 422, description = "Invalid, more than the balance without advance, or a reused key", body = Problem),
))]
async fn record_payment(
    State(state): State<AppState>,
    StaffUser(actor): StaffUser,
    Id(customer_id): Id,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePayment>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let mut checks = Checks::default();
    let amount = checks.field(
        "amount",
        state.config().currency.parse_positive(&body.amount.0),
    );
    let method = match body.method.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => checks.field("method", PaymentMethod::parse(m)),
        None => Some(PaymentMethod::Cash),
    };
    let reference = match &body.reference {
        Some(r) => checks
            .field("reference", TextKind::Reference.parse_optional(r))
            .flatten(),
        None => None,
    };
    let paid_on = match body.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => checks.field("date", past_or_today(&state, d)),
        None => Some(state.config().today()),
    };
    checks.finish()?;
    let (amount, method, paid_on) = (checked(amount)?, checked(method)?, checked(paid_on)?);
    // What makes two requests "the same": the parsed values, so "500" and
    // "500.00" are one payment. A request without a date means "today".
    let idempotency = keyed(
        key,
        serde_json::json!([
            customer_id,
            amount.minor(),
            method.as_str(),
            reference,
            body.date.as_deref().map(|_| paid_on.to_string()),
            body.advance
        ]),
    );
    let outcome = state
        .store
        .apply(
            actor.label(),
            LedgerCommand::RecordPayment(NewPayment {
                customer_id,
                amount,
                method,
                reference,
                paid_on,
                advance: body.advance,
                idempotency,
            }),
        )
        .await?;
    payment_created(&state, outcome)
}

#[derive(Serialize, ToSchema)]
pub struct PaymentList {
    items: Vec<PaymentView>,
}

impl PaymentList {
    pub fn new(state: &AppState, payments: Vec<Payment>) -> Self {
        Self {
            items: payments
                .into_iter()
                .map(|p| PaymentView::new(state, p))
                .collect(),
        }
    }
}

/// A customer's payments, newest first, with how each was allocated.
#[utoipa::path(get, path = "/api/v1/customers/{id}/payments", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), responses(
    (status = 200, body = PaymentList),
    (status = 404, body = Problem),
))]
async fn list_payments(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(customer_id): Id,
) -> ApiResult<Json<PaymentList>> {
    let payments = state.store.customer_payments(customer_id).await?;
    Ok(Json(PaymentList {
        items: payments
            .into_iter()
            .map(|p| PaymentView::new(&state, p))
            .collect(),
    }))
}

/// One due.
#[utoipa::path(get, path = "/api/v1/dues/{id}", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), responses(
    (status = 200, body = DueView),
    (status = 404, body = Problem),
))]
async fn get_due(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(id): Id,
) -> ApiResult<Json<DueView>> {
    Ok(Json(DueView::new(&state, state.store.due(id).await?)))
}

/// One payment with its allocations.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
))]
async fn get_payment(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(id): Id,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(PaymentView::new(
        &state,
        state.store.payment(id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct VoidRequest {
    /// Why the entry is wrong; kept in the ledger and the activity log.
    reason: String,
}

fn void_reason(body: &VoidRequest) -> ApiResult<String> {
    TextKind::Reason.parse_required(&body.reason).map_err(|e| {
        ApiError::invalid_fields(vec![super::error::FieldProblem {
            field: "reason".into(),
            detail: e.0,
        }])
    })
}

/// Voids a due: it stays in the ledger, marked void, and payments are re-allocated.
#[utoipa::path(post, path = "/api/v1/dues/{id}/void", tag = "ledger", security(("bearer" = ["admin"])), params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = DueView),
    (status = 404, body = Problem),
    (status = 409, description = "Already void", body = Problem),
    (status = 422, body = Problem),
))]
async fn void_due(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(due_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<DueView>> {
    let reason = void_reason(&body)?;
    let outcome = state
        .store
        .apply(actor.label(), LedgerCommand::VoidDue { due_id, reason })
        .await?;
    Ok(Json(DueView::new(&state, due_of(outcome)?)))
}

/// Voids a payment: it stays in the ledger, marked void, and the balance rises again.
#[utoipa::path(post, path = "/api/v1/payments/{id}/void", tag = "ledger", security(("bearer" = ["admin"])), params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Already void", body = Problem),
    (status = 422, body = Problem),
))]
async fn void_payment(
    State(state): State<AppState>,
    AdminUser(actor): AdminUser,
    Id(payment_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<PaymentView>> {
    let reason = void_reason(&body)?;
    let outcome = state
        .store
        .apply(
            actor.label(),
            LedgerCommand::VoidPayment { payment_id, reason },
        )
        .await?;
    Ok(Json(PaymentView::new(&state, payment_of(outcome)?)))
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
        let date_param = |field: &str, value: Option<String>| -> ApiResult<Option<NaiveDate>> {
            value
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    parse_date(&v).map_err(|e| ApiError::bad_request("invalid_date", field, e.0))
                })
                .transpose()
        };
        let from = date_param("from", self.from)?;
        let to = date_param("to", self.to)?;
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ApiError::bad_request(
                "invalid_date",
                "to",
                format!("{t} is before {f}"),
            ));
        }
        Ok((from, to))
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
#[utoipa::path(get, path = "/api/v1/customers/{id}/statement", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path), StatementParams), responses(
    (status = 200, body = StatementView),
    (status = 400, body = Problem),
    (status = 404, body = Problem),
))]
async fn statement(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    Id(customer_id): Id,
    query: Result<Query<StatementParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<StatementView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (from, to) = params.range()?;
    Ok(Json(statement_view(&state, customer_id, from, to).await?))
}

/// The statement of one customer, as both staff and the customer see it.
pub(super) async fn statement_view(
    state: &AppState,
    customer_id: i64,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<StatementView> {
    let s = state.store.statement(customer_id, from, to).await?;
    let entries = s
        .lines
        .into_iter()
        .map(|l| StatementEntry {
            date: l.date.to_string(),
            kind: l.kind.to_string(),
            due_id: l.due_id,
            payment_id: l.payment_id,
            description: l.description,
            debit: (l.delta > 0).then(|| state.money(l.delta)),
            credit: (l.delta < 0).then(|| state.money(-l.delta)),
            balance: state.money(l.balance),
        })
        .collect();
    Ok(StatementView {
        customer_id: s.customer.id,
        customer_name: s.customer.name,
        currency: state.config().currency.code(),
        from: s.from.map(|d| d.to_string()),
        to: s.to.map(|d| d.to_string()),
        opening_balance: state.money(s.opening_balance),
        closing_balance: state.money(s.closing_balance),
        entries,
    })
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
#[utoipa::path(get, path = "/api/v1/payments", tag = "ledger", security(("bearer" = ["staff"])), params(PaymentsParams), responses(
    (status = 200, body = PaymentPage),
    (status = 400, body = Problem),
))]
async fn payments_by_status(
    State(state): State<AppState>,
    StaffUser(_caller): StaffUser,
    query: Result<Query<PaymentsParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<PaymentPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = super::extract::Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let status = params
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("pending");
    let Some(status) = PaymentStatus::parse(status) else {
        return Err(ApiError::bad_request(
            "invalid_status",
            "status",
            format!("'{status}' is not a payment status; use pending, recorded, rejected or void"),
        ));
    };
    let (items, total) = state
        .store
        .payments_by_status(status, paging.per_page, paging.offset())
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
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)),
    request_body(content = Option<ConfirmRequest>, description = "Optional"), responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Not pending", body = Problem),
    (status = 422, description = "More than the balance now", body = Problem),
))]
async fn confirm_payment(
    State(state): State<AppState>,
    StaffUser(actor): StaffUser,
    Id(payment_id): Id,
    super::extract::OptionalJson(body): super::extract::OptionalJson<ConfirmRequest>,
) -> ApiResult<Json<PaymentView>> {
    let advance = body.unwrap_or_default().advance;
    let outcome = state
        .store
        .apply(
            actor.label(),
            LedgerCommand::ConfirmPayment {
                payment_id,
                advance,
            },
        )
        .await?;
    Ok(Json(PaymentView::new(&state, payment_of(outcome)?)))
}

/// Rejects a payment a customer reported; the customer is told why.
#[utoipa::path(post, path = "/api/v1/payments/{id}/reject", tag = "ledger", security(("bearer" = ["staff"])), params(("id" = i64, Path)), request_body = VoidRequest, responses(
    (status = 200, body = PaymentView),
    (status = 404, body = Problem),
    (status = 409, description = "Not pending", body = Problem),
    (status = 422, body = Problem),
))]
async fn reject_payment(
    State(state): State<AppState>,
    StaffUser(actor): StaffUser,
    Id(payment_id): Id,
    ApiJson(body): ApiJson<VoidRequest>,
) -> ApiResult<Json<PaymentView>> {
    let reason = void_reason(&body)?;
    let outcome = state
        .store
        .apply(
            actor.label(),
            LedgerCommand::RejectPayment { payment_id, reason },
        )
        .await?;
    Ok(Json(PaymentView::new(&state, payment_of(outcome)?)))
}
