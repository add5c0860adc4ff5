//! The customer's payments, a printable receipt for each recorded one, and
//! their statement.

use super::customer;
use crate::http::AppState;
use crate::web::forms::{date, money};
use crate::web::{Chrome, Visitor, error_page, render, store_error_page};
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

pub(super) async fn payments(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Payments", "payments").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let list = match state.store.customer_payments(me.id).await {
        Ok(l) => l,
        Err(e) => return store_error_page(page, e, "/portal"),
    };
    let rows = list
        .into_iter()
        .map(|p| PaymentRow {
            id: p.id,
            date: date(p.paid_on),
            amount: money(&state, p.amount),
            method: p.method,
            reference: p.reference.unwrap_or_default(),
            note: p.reject_reason.or(p.void_reason).unwrap_or_default(),
            status: p.status,
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
    State(state): State<AppState>,
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
    let payment = match state.store.payment(id).await {
        Ok(p) if p.customer_id == me.id && p.status == "recorded" => p,
        _ => return not_found(page),
    };
    let name = state
        .store
        .customer(me.id)
        .await
        .map(|c| c.name)
        .unwrap_or_default();
    render(
        &ReceiptPage {
            page,
            id,
            name,
            amount: money(&state, payment.amount),
            method: payment.method,
            reference: payment.reference.unwrap_or_else(|| "—".into()),
            date: date(payment.paid_on),
            balance_after: money(&state, payment.balance_after),
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn statement(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Statement", "statement").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    crate::web::staff::statement_for(&state, page, me.id, "/portal").await
}
