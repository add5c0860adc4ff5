//! The customer portal's API: a signed-in customer's own account, and
//! nothing else. Every route takes the customer from the session, never
//! from the request, so one customer cannot name another.

use super::auth::Caller;
use super::error::{ApiError, ApiResult, Problem};
use super::extract::{ApiJson, Patch, RawAmount};
use super::ledger::{
    DueView, PaymentList, PaymentView, StatementParams, StatementView, idempotency_key,
    payment_created, statement_view,
};
use crate::app::App;
use crate::app::input::PaymentInput;
use crate::app::portal::OwnAccount;
use crate::domain::money::Money;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
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

fn my_account(state: &App, account: OwnAccount) -> MyAccount {
    let pending: Vec<PaymentView> = account
        .pending()
        .cloned()
        .map(|p| PaymentView::new(state, p))
        .collect();
    let c = account.customer;
    MyAccount {
        id: c.id,
        username: c.username,
        name: c.name,
        phone: c.phone,
        email: c.email,
        address: c.address,
        balance: state.money(c.balance),
        overdue: state.money(c.overdue),
        days_overdue: c.days_overdue,
        credit: state.money((-c.balance).max(Money::ZERO)),
        next_due_date: c.next_due_date.map(|d| d.to_string()),
        currency: state.config().currency.code(),
        open_dues: account
            .open_dues
            .into_iter()
            .map(|d| DueView::new(state, d))
            .collect(),
        pending_payments: pending,
        upi_id: state.config().upi_id.clone(),
    }
}

/// Your account: profile, balance, overdue amount and open dues.
#[utoipa::path(get, path = "/api/v1/me", tag = "portal", responses(
    (status = 200, body = MyAccount),
    (status = 401, body = Problem),
    (status = 403, body = Problem),
))]
async fn me(State(state): State<App>, Caller(actor): Caller) -> ApiResult<Json<MyAccount>> {
    Ok(Json(my_account(
        &state,
        state.own_account_view(&actor).await?,
    )))
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

/// Changes your phone number or email.
#[utoipa::path(patch, path = "/api/v1/me", tag = "portal", request_body = UpdateMe, responses(
    (status = 200, body = MyAccount),
    (status = 409, description = "The email belongs to another account", body = Problem),
    (status = 422, body = Problem),
))]
async fn update_me(
    State(state): State<App>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<UpdateMe>,
) -> ApiResult<Json<MyAccount>> {
    state
        .update_own_profile(&actor, body.phone, body.email)
        .await?;
    Ok(Json(my_account(
        &state,
        state.own_account_view(&actor).await?,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct AccountClosed {
    status: &'static str,
}

/// Closes your account: only when nothing is owed. Sign-in stops and a confirmation is emailed.
#[utoipa::path(delete, path = "/api/v1/me", tag = "portal", responses(
    (status = 200, body = AccountClosed),
    (status = 409, description = "Something is still owed, held as credit or waiting for confirmation", body = Problem),
))]
async fn close_account(
    State(state): State<App>,
    Caller(actor): Caller,
) -> ApiResult<Json<AccountClosed>> {
    state.close_own_account(&actor).await?;
    Ok(Json(AccountClosed { status: "closed" }))
}

/// Your statement: every entry with the running balance.
#[utoipa::path(get, path = "/api/v1/me/statement", tag = "portal", params(StatementParams), responses(
    (status = 200, body = StatementView),
    (status = 400, body = Problem),
))]
async fn my_statement(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<StatementParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<StatementView>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (from, to) = params.range()?;
    let s = state.own_statement(&actor, from, to).await?;
    Ok(Json(statement_view(&state, s)))
}

/// Your payments, newest first, including those waiting for confirmation.
#[utoipa::path(get, path = "/api/v1/me/payments", tag = "portal", responses(
    (status = 200, body = PaymentList),
))]
async fn my_payments(
    State(state): State<App>,
    Caller(actor): Caller,
) -> ApiResult<Json<PaymentList>> {
    let payments = state.own_payments(&actor).await?;
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
#[utoipa::path(post, path = "/api/v1/me/payments", tag = "portal", params(
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
), request_body = ReportPayment, responses(
    (status = 201, description = "Pending until staff confirm", body = PaymentView),
    (status = 422, description = "Invalid, or more than the balance", body = Problem),
))]
async fn pay(
    State(state): State<App>,
    Caller(actor): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReportPayment>,
) -> ApiResult<Response> {
    let input = PaymentInput {
        amount: body.amount.0,
        method: body.method,
        reference: body.reference,
        date: body.date,
        advance: false,
        key: idempotency_key(&headers)?,
        check_repeat: false,
    };
    let outcome = state.report_payment(&actor, &input).await?;
    payment_created(&state, outcome)
}
