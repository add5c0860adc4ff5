//! Payments that customers reported in the portal, waiting for staff to
//! confirm or reject them.

use super::{CsrfOnly, posted_about, staff};
use crate::app::App;
use crate::web::forms::{date, money, when};
use crate::web::{Chrome, Visitor, app_error_page, redirect_with, render};
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

pub(super) async fn pending(State(state): State<App>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, "Pending payments", "pending").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (items, _) = match state
        .payments_by_status(v.actor(), Some("pending"), 200, 0)
        .await
    {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|(p, customer)| PendingRow {
            id: p.id,
            customer_id: p.customer_id,
            customer,
            amount: money(&state, p.amount),
            method: p.method.as_str().to_string(),
            reference: p.reference.unwrap_or_else(|| "—".into()),
            date: date(p.paid_on),
            reported: when(&state, &p.created_at),
        })
        .collect();
    let shown = page.flash.is_some();
    render(&PendingPage { page, rows }, StatusCode::OK, shown)
}

pub(super) async fn confirm_payment(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "payment", "/payments/pending").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match state.confirm_payment(&actor, id, false).await {
        Ok(payment) => redirect_with(
            "/payments/pending",
            "ok",
            &format!(
                "Confirmed {}. The receipt is on its way.",
                money(&state, payment.amount)
            ),
        ),
        Err(e) => app_error_page(page, e, "/payments/pending"),
    }
}

pub(super) async fn reject_payment(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "payment", "/payments/pending").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if f.reason.trim().is_empty() {
        return redirect_with(
            "/payments/pending",
            "error",
            "Say why the payment is rejected; the customer is told.",
        );
    }
    match state.reject_payment(&actor, id, &f.reason).await {
        Ok(_) => redirect_with(
            "/payments/pending",
            "ok",
            "Rejected; the customer has been told why.",
        ),
        Err(e) => app_error_page(page, e, "/payments/pending"),
    }
}
