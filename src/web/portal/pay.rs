//! Reporting a payment from the portal; it stays pending until staff
//! confirm it.

use super::customer;
use super::home::show_home;
use crate::domain::fields::{PaymentMethod, TextKind};
use crate::http::AppState;
use crate::store::ledger::{IdempotencyKey, LedgerCommand, NewPayment};
use crate::web::forms::{FormState, money};
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
}

pub(super) async fn pay(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<PayForm>,
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
    let amount = form.field(
        "amount",
        "The amount",
        state.store.currency().parse_positive(&f.amount),
    );
    let method = PaymentMethod::parse(if f.method.trim().is_empty() {
        "upi"
    } else {
        &f.method
    });
    if let Err(e) = &method {
        form.fail("method", e.0.clone());
    }
    let reference = match TextKind::Reference.parse_optional(&f.reference) {
        Ok(r) => r,
        Err(e) => {
            form.fail("reference", format!("The reference {e}"));
            None
        }
    };
    if let (Some(amount), Ok(method), true) = (amount, method, form.is_ok()) {
        let key = f.idempotency_key.trim();
        let idempotency = (!key.is_empty() && key.len() <= 100).then(|| IdempotencyKey {
            key: format!("web:{key}"),
            request_hash: format!(
                "{}:{}:{}:{:?}",
                me.id,
                amount.minor(),
                method.as_str(),
                reference
            ),
        });
        let command = LedgerCommand::SubmitPayment(NewPayment {
            customer_id: me.id,
            amount,
            method,
            reference,
            paid_on: state.config().today(),
            advance: false,
            idempotency,
        });
        match state.store.apply(&me.label(), command).await {
            Ok(_) => {
                return redirect_with(
                    "/portal",
                    "ok",
                    &format!(
                        "Thank you. Your payment of {} is pending until the shop confirms it.",
                        money(&state, amount.minor())
                    ),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    show_home(&state, page, me.id, form, None, StatusCode::OK).await
}
