//! Reporting a payment from the portal; it stays pending until staff
//! confirm it.

use super::customer;
use super::home::show_home;
use crate::app::input::PaymentInput;
use crate::app::{App, PaymentRecorded};
use crate::web::forms::{FormState, money};
use crate::web::staff::repeat_page;
use crate::web::{Visitor, csrf_refused, redirect_with};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct PayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    idempotency_key: String,
    /// "yes" once the customer confirmed a payment that repeats the last one.
    #[serde(default)]
    confirm_repeat: String,
}

pub(super) async fn pay(State(state): State<App>, v: Visitor, Form(f): Form<PayForm>) -> Response {
    let (me, page) = match customer(&state, &v, "My account", "portal").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    let mut form = FormState::with_values(&[
        ("amount", &f.amount),
        ("method", &f.method),
        ("reference", &f.reference),
    ]);
    let input = PaymentInput {
        amount: f.amount.clone(),
        method: Some(f.method.clone()),
        reference: Some(f.reference.clone()),
        date: None,
        advance: false,
        key: Some(f.idempotency_key.clone()).filter(|k| !k.trim().is_empty()),
        check_repeat: f.confirm_repeat != "yes",
    };
    match state.report_payment(&me, &input).await {
        Ok(PaymentRecorded::Recorded { payment, .. }) => {
            return redirect_with(
                "/portal",
                "ok",
                &format!(
                    "Thank you. Your payment of {} is pending until the shop confirms it.",
                    money(&state, payment.amount)
                ),
            );
        }
        Ok(PaymentRecorded::HeldBack(repeated)) => {
            let fields = vec![
                ("amount", f.amount.clone()),
                ("method", f.method.clone()),
                ("reference", f.reference.clone()),
                ("idempotency_key", f.idempotency_key.clone()),
            ];
            return repeat_page(
                &state,
                page,
                "You",
                &repeated,
                &f.amount,
                ("/portal/pay", "/portal"),
                fields,
            );
        }
        Err(e) => form.fail_with(&e),
    }
    show_home(&state, &me, page, form, None, StatusCode::OK).await
}
