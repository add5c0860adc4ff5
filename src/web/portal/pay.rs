//! Reporting a payment from the portal; it stays pending until staff
//! confirm it.

use super::customer;
use super::home::show_home;
use crate::app::{App, PaymentRecorded};
use crate::web::forms::{FormState, PaymentForm, money};
use crate::web::staff::repeat_page;
use crate::web::{Visitor, csrf_refused, redirect_with};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

pub(super) async fn pay(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<PaymentForm>,
) -> Response {
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
    let input = f.input();
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
            return repeat_page(
                &state,
                page,
                "You",
                &repeated,
                &f.amount,
                ("/portal/pay", "/portal"),
                f.resend(),
            );
        }
        Err(e) => form.fail_with(&e),
    }
    show_home(&state, &me, page, form, None, StatusCode::OK).await
}
