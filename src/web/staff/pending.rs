//! Payments that customers reported in the portal, waiting for staff to
//! confirm or reject them.

use super::{CsrfOnly, posted_about, staff};
use crate::domain::access::Role;
use crate::domain::fields::TextKind;
use crate::http::AppState;
use crate::store::ledger::LedgerCommand;
use crate::web::forms::{date, money, when};
use crate::web::{Chrome, Visitor, redirect_with, render, store_error_page};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

struct PendingRow {
    id: i64,
    customer_id: i64,
    customer: String,
    amount: String,
    method: String,
    reference: String,
    date: String,
    reported: String,
}

#[derive(Template)]
#[template(path = "pending.html")]
struct PendingPage {
    page: Chrome,
    rows: Vec<PendingRow>,
}

pub(super) async fn pending(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Pending payments", "pending").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (items, _) = match state.store.payments_by_status("pending", 200, 0).await {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|(p, customer)| PendingRow {
            id: p.id,
            customer_id: p.customer_id,
            customer,
            amount: money(&state, p.amount),
            method: p.method,
            reference: p.reference.unwrap_or_else(|| "—".into()),
            date: date(p.paid_on),
            reported: when(&state, &p.created_at),
        })
        .collect();
    let shown = page.flash.is_some();
    render(&PendingPage { page, rows }, StatusCode::OK, shown)
}

pub(super) async fn confirm_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Staff,
        &f.csrf,
        &id,
        "payment",
        "/payments/pending",
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .apply(
            actor.label(),
            LedgerCommand::ConfirmPayment {
                payment_id: id,
                advance: false,
            },
        )
        .await
    {
        Ok(crate::store::ledger::LedgerOutcome::Payment { payment, .. }) => redirect_with(
            "/payments/pending",
            "ok",
            &format!(
                "Confirmed {}. The receipt is on its way.",
                money(&state, payment.amount)
            ),
        ),
        Ok(_) => redirect_with("/payments/pending", "ok", "Confirmed."),
        Err(e) => store_error_page(page, e, "/payments/pending"),
    }
}

pub(super) async fn reject_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Staff,
        &f.csrf,
        &id,
        "payment",
        "/payments/pending",
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(reason) = TextKind::Reason.parse_required(&f.reason) else {
        return redirect_with(
            "/payments/pending",
            "error",
            "Say why the payment is rejected; the customer is told.",
        );
    };
    match state
        .store
        .apply(
            actor.label(),
            LedgerCommand::RejectPayment {
                payment_id: id,
                reason,
            },
        )
        .await
    {
        Ok(_) => redirect_with(
            "/payments/pending",
            "ok",
            "Rejected; the customer has been told why.",
        ),
        Err(e) => store_error_page(page, e, "/payments/pending"),
    }
}
