//! The customer's payments, a printable receipt for each recorded one, and
//! their statement.

use super::customer;
use crate::app::{App, AppError};
use crate::web::forms::{date, money};
use crate::web::{Chrome, Visitor, app_error_page, error_page, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

struct PaymentRow {
    id: i64,
    date: String,
    amount: String,
    method: String,
    reference: String,
    status: String,
    note: String,
}

#[derive(Template)]
#[template(path = "portal_payments.html")]
struct PaymentsPage {
    page: Chrome,
    rows: Vec<PaymentRow>,
}

pub(super) async fn payments(State(state): State<App>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Payments", "payments").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let list = match state.own_payments(&me).await {
        Ok(l) => l,
        Err(e) => return app_error_page(page, e, "/portal"),
    };
    let rows = list
        .into_iter()
        .map(|p| PaymentRow {
            id: p.id,
            date: date(p.paid_on),
            amount: money(&state, p.amount),
            method: p.method.as_str().to_string(),
            reference: p.reference.unwrap_or_default(),
            note: p.reject_reason.or(p.void_reason).unwrap_or_default(),
            status: p.status.as_str().to_string(),
        })
        .collect();
    render(&PaymentsPage { page, rows }, StatusCode::OK, false)
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Chrome,
    id: i64,
    name: String,
    amount: String,
    method: String,
    reference: String,
    date: String,
    balance_after: String,
}

pub(super) async fn receipt(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Receipt", "payments").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let not_found = |page| {
        error_page(
            page,
            StatusCode::NOT_FOUND,
            "There is no such receipt.",
            "/portal/payments",
        )
    };
    let Some(id) = id.parse::<i64>().ok() else {
        return not_found(page);
    };
    let payment = match state.own_payment(&me, id).await {
        Ok(p) if p.is_recorded() => p,
        Ok(_) | Err(AppError::NotFound { .. }) => return not_found(page),
        Err(e) => return app_error_page(page, e, "/portal/payments"),
    };
    let name = match state.own_account_view(&me).await {
        Ok(a) => a.customer.name,
        Err(e) => return app_error_page(page, e, "/portal/payments"),
    };
    render(
        &ReceiptPage {
            page,
            id,
            name,
            amount: money(&state, payment.amount),
            method: payment.method.as_str().to_string(),
            reference: payment.reference.unwrap_or_else(|| "—".into()),
            date: date(payment.paid_on),
            balance_after: money(&state, payment.balance_after),
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn statement(State(state): State<App>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Statement", "statement").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.own_statement(&me, None, None).await {
        Ok(s) => crate::web::staff::statement_for(&state, page, s, "/portal"),
        Err(e) => app_error_page(page, e, "/portal"),
    }
}

/// The customer's statement as a CSV download.
pub(super) async fn statement_csv(State(state): State<App>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Statement", "statement").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.own_statement(&me, None, None).await {
        Ok(s) => crate::edge::csv_download(&state.statement_table(&s)),
        Err(e) => app_error_page(page, e, "/portal"),
    }
}
