//! Ledger entries from the console: the add-due and record-payment pages
//! and forms, and voiding a due or a payment.

use super::{CsrfOnly, customer_frame, opt, posted_about, text_field};
use crate::domain::access::Role;
use crate::domain::fields::{PaymentMethod, TextKind, parse_date};
use crate::domain::money::Money;
use crate::http::AppState;
use crate::store::ledger::{IdempotencyKey, LedgerCommand, NewDue, NewPayment};
use crate::web::forms::{FormState, date, money};
use crate::web::{Chrome, Visitor, error_page, redirect_with, render, store_error_page};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "entry_form.html")]
struct EntryPage {
    page: Chrome,
    heading: &'static str,
    action: String,
    payment: bool,
    customer: String,
    customer_id: i64,
    balance: String,
    balance_plain: String,
    owes: bool,
    has_limit: bool,
    currency: String,
    methods: Vec<&'static str>,
    key: String,
    form: FormState,
}

/// The form to add a due (`payment` false) or record a payment.
async fn entry_page(
    state: &AppState,
    page: Chrome,
    id: i64,
    payment: bool,
    form: FormState,
) -> Response {
    let c = match state.store.customer(id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    if c.status == "deleted" {
        return error_page(
            page,
            StatusCode::CONFLICT,
            "This customer is deleted; restore them first.",
            &format!("/customers/{id}"),
        );
    }
    let mut form = form;
    if payment && form.value("method").is_empty() {
        form.values.insert("method".into(), "cash".into());
    }
    let heading = if payment { "Record payment" } else { "Add due" };
    let currency = state.store.currency();
    render(
        &EntryPage {
            page: Chrome {
                title: format!("{heading}: {}", c.name),
                active: "customers",
                ..page
            },
            heading,
            action: format!(
                "/customers/{id}/{}",
                if payment { "payments" } else { "dues" }
            ),
            payment,
            customer: c.name.clone(),
            customer_id: id,
            balance: money(state, c.balance),
            balance_plain: currency.format(Money(c.balance.max(0))),
            owes: c.balance > 0,
            has_limit: c.credit_limit.is_some(),
            currency: currency.code(),
            methods: PaymentMethod::ALL.iter().map(|m| m.as_str()).collect(),
            key: crate::domain::access::new_token(),
            form,
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn new_due(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Add due", &id).await {
        Ok((page, id)) => entry_page(&state, page, id, false, FormState::default()).await,
        Err(r) => r,
    }
}

pub(super) async fn new_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Record payment", &id).await {
        Ok((page, id)) => entry_page(&state, page, id, true, FormState::default()).await,
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub(super) struct DueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due_date: String,
    over_limit: Option<String>,
}

pub(super) async fn add_due(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<DueForm>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Staff,
        &f.csrf,
        &id,
        "customer",
        "/customers",
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("amount", &f.amount),
        ("description", &f.description),
        ("due_date", &f.due_date),
    ]);
    let amount = form.field(
        "amount",
        "The amount",
        state.store.currency().parse_positive(&f.amount),
    );
    let description = opt(
        &mut form,
        "description",
        &f.description,
        text_field(TextKind::Description),
    );
    let due_date = opt(&mut form, "due_date", &f.due_date, |r| {
        parse_date(r).map_err(|e| format!("The due date {e}"))
    });
    let today = state.config().today();
    if let (Some(amount), true) = (amount, form.is_ok()) {
        let command = LedgerCommand::AddDue(NewDue {
            customer_id: id,
            amount,
            description,
            issue_date: due_date.map_or(today, |d| d.min(today)),
            due_date,
            over_limit: f.over_limit.is_some(),
        });
        match state.store.apply(actor.label(), command).await {
            Ok(_) => {
                return redirect_with(
                    &format!("/customers/{id}"),
                    "ok",
                    &format!("Added a due of {}.", money(&state, amount.minor())),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    entry_page(&state, page, id, false, form).await
}

#[derive(Deserialize)]
pub(super) struct PaymentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    date: String,
    advance: Option<String>,
    #[serde(default)]
    idempotency_key: String,
}

pub(super) async fn record_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<PaymentForm>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Staff,
        &f.csrf,
        &id,
        "customer",
        "/customers",
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("amount", &f.amount),
        ("method", &f.method),
        ("reference", &f.reference),
        ("date", &f.date),
    ]);
    let amount = form.field(
        "amount",
        "The amount",
        state.store.currency().parse_positive(&f.amount),
    );
    let method = if f.method.trim().is_empty() {
        Some(PaymentMethod::Cash)
    } else {
        opt(&mut form, "method", &f.method, |r| {
            PaymentMethod::parse(r).map_err(|e| e.0)
        })
    };
    let reference = opt(
        &mut form,
        "reference",
        &f.reference,
        text_field(TextKind::Reference),
    );
    let today = state.config().today();
    let paid_on = opt(&mut form, "date", &f.date, |r| {
        let d = parse_date(r).map_err(|e| format!("The date {e}"))?;
        if d > today {
            Err(format!("{} is in the future", date(d)))
        } else {
            Ok(d)
        }
    })
    .unwrap_or(today);
    if let (Some(amount), Some(method), true) = (amount, method, form.is_ok()) {
        // The form's one-time key makes a double submit record one payment.
        let key = f.idempotency_key.trim();
        let idempotency = (!key.is_empty() && key.len() <= 100).then(|| IdempotencyKey {
            key: format!("web:{key}"),
            request_hash: format!(
                "{id}:{}:{}:{:?}:{paid_on}:{}",
                amount.minor(),
                method.as_str(),
                reference,
                f.advance.is_some()
            ),
        });
        let command = LedgerCommand::RecordPayment(NewPayment {
            customer_id: id,
            amount,
            method,
            reference,
            paid_on,
            advance: f.advance.is_some(),
            idempotency,
        });
        match state.store.apply(actor.label(), command).await {
            Ok(crate::store::ledger::LedgerOutcome::Payment { payment, .. }) => {
                return redirect_with(
                    &format!("/customers/{id}"),
                    "ok",
                    &format!(
                        "Recorded a payment of {}. Balance now {}.",
                        money(&state, payment.amount),
                        money(&state, payment.balance_after)
                    ),
                );
            }
            Ok(_) => return redirect_with(&format!("/customers/{id}"), "ok", "Recorded."),
            Err(e) => form.fail_with(&e),
        }
    }
    entry_page(&state, page, id, true, form).await
}

async fn void_entry(state: AppState, v: Visitor, id: String, f: CsrfOnly, due: bool) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, Role::Admin, &f.csrf, &id, "entry", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let Ok(reason) = TextKind::Reason.parse_required(&f.reason) else {
        return error_page(
            page,
            StatusCode::OK,
            "Give a reason for voiding the entry.",
            "/customers",
        );
    };
    let command = if due {
        LedgerCommand::VoidDue { due_id: id, reason }
    } else {
        LedgerCommand::VoidPayment {
            payment_id: id,
            reason,
        }
    };
    match state.store.apply(actor.label(), command).await {
        Ok(crate::store::ledger::LedgerOutcome::Due(d)) => redirect_with(
            &format!("/customers/{}", d.customer_id),
            "ok",
            "The due is void.",
        ),
        Ok(crate::store::ledger::LedgerOutcome::Payment { payment, .. }) => redirect_with(
            &format!("/customers/{}", payment.customer_id),
            "ok",
            "The payment is void.",
        ),
        Err(e) => store_error_page(page, e, "/customers"),
    }
}

pub(super) async fn void_due(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, true).await
}

pub(super) async fn void_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, false).await
}
