//! The customer portal's API: a signed-in customer's own account, and
//! nothing else. Every route takes the customer from the session, never
//! from the request, so one customer cannot name another.

use super::AppState;
use super::auth::CustomerUser;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Checks, Patch, RawAmount, checked};
use super::ledger::{
    DueView, PaymentList, PaymentView, StatementParams, StatementView, idempotency_key, keyed,
    payment_created, statement_view,
};
use crate::domain::fields::{Email, PaymentMethod, Phone, TextKind, parse_date};
use crate::domain::ledger::PaymentStatus;
use crate::store::customers::CustomerPatch;
use crate::store::ledger::{LedgerCommand, NewPayment};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me, close_account))
        .routes(routes!(my_statement))
        .routes(routes!(my_payments, pay))
}

/// What a customer sees of their own account (no staff notes).
#[derive(Serialize, ToSchema)]
pub struct MyAccount {
    id: i64,
    username: String,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    /// What you owe now; negative is credit.
    balance: String,
    /// The unpaid part of dues past their due date.
    overdue: String,
    days_overdue: i64,
    credit: String,
    next_due_date: Option<String>,
    currency: String,
    /// Unpaid dues, oldest first.
    open_dues: Vec<DueView>,
    /// Payments you reported that the shop has yet to confirm.
    pending_payments: Vec<PaymentView>,
    /// The shop's UPI id, when it takes UPI payments.
    upi_id: Option<String>,
}

async fn my_account(state: &AppState, customer_id: i64) -> ApiResult<MyAccount> {
    let c = state.store.customer(customer_id).await?;
    let dues = state.store.customer_dues(customer_id).await?;
    let payments = state.store.customer_payments(customer_id).await?;
    Ok(MyAccount {
        id: c.id,
        username: c.username,
        name: c.name,
        phone: c.phone,
        email: c.email,
        address: c.address,
        balance: state.money(c.balance),
        overdue: state.money(c.overdue),
        days_overdue: c.days_overdue,
        credit: state.money((-c.balance).max(0)),
        next_due_date: c.next_due_date.map(|d| d.to_string()),
        currency: state.config().currency.code(),
        open_dues: dues
            .into_iter()
            .filter(|d| d.status.awaits_payment())
            .map(|d| DueView::new(state, d))
            .collect(),
        pending_payments: payments
            .into_iter()
            .filter(|p| p.status == PaymentStatus::Pending)
            .map(|p| PaymentView::new(state, p))
            .collect(),
        upi_id: state.config().upi_id.clone(),
    })
}

/// Your account: profile, balance, overdue amount and open dues.
#[utoipa::path(get, path = "/api/v1/me", tag = "portal", security(("bearer" = ["customer"])), responses(
    (status = 200, body = MyAccount),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
))]
async fn me(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
) -> ApiResult<Json<MyAccount>> {
    Ok(Json(my_account(&state, customer.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateMe {
    /// null clears it; absent leaves it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    phone: Patch<String>,
    /// Changing it tells the old address.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: Patch<String>,
}

fn patched<T>(
    checks: &mut Checks,
    field: &str,
    value: Patch<String>,
    parse: fn(&str) -> Result<T, crate::domain::fields::FieldError>,
) -> Option<Option<T>> {
    match value {
        Patch::Missing => None,
        Patch::Null => Some(None),
        Patch::Value(v) if v.trim().is_empty() => Some(None),
        Patch::Value(v) => checks.field(field, parse(&v)).map(Some),
    }
}

/// Changes your phone number or email.
#[utoipa::path(patch, path = "/api/v1/me", tag = "portal", security(("bearer" = ["customer"])), request_body = UpdateMe, responses(
    (status = 200, body = MyAccount),
    (status = 409, description = "The email belongs to another account", body = Problem),
    (status = 422, body = Problem),
))]
async fn update_me(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
    ApiJson(body): ApiJson<UpdateMe>,
) -> ApiResult<Json<MyAccount>> {
    let mut checks = Checks::default();
    let patch = CustomerPatch {
        phone: patched(&mut checks, "phone", body.phone, Phone::parse),
        email: patched(&mut checks, "email", body.email, Email::parse),
        ..Default::default()
    };
    checks.finish()?;
    state
        .store
        .update_customer(&customer.label(), customer.id, patch)
        .await?;
    Ok(Json(my_account(&state, customer.id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct AccountClosed {
    status: &'static str,
}

/// Closes your account: only when nothing is owed. Sign-in stops and a confirmation is emailed.
#[utoipa::path(delete, path = "/api/v1/me", tag = "portal", security(("bearer" = ["customer"])), responses(
    (status = 200, body = AccountClosed),
    (status = 409, description = "Something is still owed, held as credit or waiting for confirmation", body = Problem),
))]
async fn close_account(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
) -> ApiResult<Json<AccountClosed>> {
    state
        .store
        .close_own_account(&customer.label(), customer.id)
        .await?;
    Ok(Json(AccountClosed { status: "closed" }))
}

/// Your statement: every entry with the running balance.
#[utoipa::path(get, path = "/api/v1/me/statement", tag = "portal", security(("bearer" = ["customer"])), params(StatementParams), responses(
    (status = 200, body = StatementView),
    (status = 400, body = Problem),
))]
async fn my_statement(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
    query: Result<Query<StatementParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<StatementView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (from, to) = params.range()?;
    Ok(Json(statement_view(&state, customer.id, from, to).await?))
}

/// Your payments, newest first, including those waiting for confirmation.
#[utoipa::path(get, path = "/api/v1/me/payments", tag = "portal", security(("bearer" = ["customer"])), responses(
    (status = 200, body = PaymentList),
))]
async fn my_payments(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
) -> ApiResult<Json<PaymentList>> {
    let payments = state.store.customer_payments(customer.id).await?;
    Ok(Json(PaymentList::new(&state, payments)))
}

#[derive(Deserialize, ToSchema)]
pub struct ReportPayment {
    #[schema(value_type = String, example = "500.00")]
    amount: RawAmount,
    /// upi (default), cash, card, bank, cheque or other.
    method: Option<String>,
    /// The UPI transaction id, cheque number or similar.
    reference: Option<String>,
    /// The day you paid; defaults to today.
    date: Option<String>,
}

/// Reports a payment you made: it stays pending, and the balance unchanged, until the shop confirms it.
#[utoipa::path(post, path = "/api/v1/me/payments", tag = "portal", security(("bearer" = ["customer"])), params(
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
), request_body = ReportPayment, responses(
    (status = 201, description = "Pending until staff confirm", body = PaymentView),
    (status = 422, description = "Invalid, or more than the balance", body = Problem),
))]
async fn pay(
    State(state): State<AppState>,
    CustomerUser(customer): CustomerUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReportPayment>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let mut checks = Checks::default();
    let amount = checks.field(
        "amount",
        state.config().currency.parse_positive(&body.amount.0),
    );
    let method = match body.method.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => checks.field("method", PaymentMethod::parse(m)),
        None => Some(PaymentMethod::Upi),
    };
    let reference = match &body.reference {
        Some(r) => checks
            .field("reference", TextKind::Reference.parse_optional(r))
            .flatten(),
        None => None,
    };
    let today = state.config().today();
    let paid_on = match body.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => checks.field(
            "date",
            parse_date(d).map_err(|e| e.0).and_then(|date| {
                if date > today {
                    Err(format!("{date} is in the future"))
                } else {
                    Ok(date)
                }
            }),
        ),
        None => Some(today),
    };
    checks.finish()?;
    let (amount, method, paid_on) = (checked(amount)?, checked(method)?, checked(paid_on)?);
    let idempotency = keyed(
        key,
        serde_json::json!([
            customer.id,
            amount.minor(),
            method.as_str(),
            reference,
            paid_on.to_string()
        ]),
    );
    let outcome = state
        .store
        .apply(
            &customer.label(),
            LedgerCommand::SubmitPayment(NewPayment {
                customer_id: customer.id,
                amount,
                method,
                reference,
                paid_on,
                advance: false,
                idempotency,
            }),
        )
        .await?;
    payment_created(&state, outcome)
}
