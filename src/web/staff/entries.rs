//! Ledger entries from the console: the add-due and record-payment pages
//! and forms, and voiding a due or a payment.

use super::{CsrfOnly, customer_frame, posted_about};
use crate::app::input::DueInput;
use crate::app::{Actor, App, PaymentRecorded, RepeatedPayment};
use crate::domain::fields::PaymentMethod;
use crate::domain::money::Money;
use crate::web::forms::{FormState, PaymentForm, money, when};
use crate::web::{Chrome, Visitor, app_error_page, error_page, redirect_with, render};
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
    state: &App,
    actor: &Actor,
    page: Chrome,
    id: i64,
    payment: bool,
    form: FormState,
) -> Response {
    let c = match state.customer(actor, id).await {
        Ok(c) => c,
        Err(e) => return app_error_page(page, e, "/customers"),
    };
    if c.is_deleted() {
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
    let currency = state.currency();
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
            balance_plain: currency.format(c.balance.max(Money::ZERO)),
            owes: c.balance.is_positive(),
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
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, "Add due", &id).await {
        Ok((page, id)) => {
            entry_page(&state, v.actor(), page, id, false, FormState::default()).await
        }
        Err(r) => r,
    }
}

pub(super) async fn new_payment(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, "Record payment", &id).await {
        Ok((page, id)) => entry_page(&state, v.actor(), page, id, true, FormState::default()).await,
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
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<DueForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let mut form = FormState::with_values(&[
        ("amount", &f.amount),
        ("description", &f.description),
        ("due_date", &f.due_date),
    ]);
    let input = DueInput {
        amount: f.amount.clone(),
        description: Some(f.description.clone()),
        issue_date: None,
        due_date: Some(f.due_date.clone()),
        over_limit: f.over_limit.is_some(),
    };
    match state.add_due(&actor, id, &input).await {
        Ok(due) => {
            return redirect_with(
                &format!("/customers/{id}"),
                "ok",
                &format!("Added a due of {}.", money(&state, due.amount)),
            );
        }
        Err(e) => form.fail_with(&e),
    }
    entry_page(&state, &actor, page, id, false, form).await
}

#[derive(Template)]
#[template(path = "repeat_payment.html")]
pub(crate) struct RepeatPage {
    pub(crate) page: Chrome,
    pub(crate) customer: String,
    pub(crate) earlier_amount: String,
    pub(crate) earlier_when: String,
    pub(crate) earlier_method: String,
    pub(crate) earlier_by: String,
    pub(crate) amount: String,
    pub(crate) action: String,
    pub(crate) back: String,
    pub(crate) fields: Vec<(&'static str, String)>,
}

/// The page that holds back a payment repeating one made minutes ago.
pub(crate) fn repeat_page(
    state: &App,
    page: Chrome,
    customer: &str,
    repeated: &RepeatedPayment,
    amount: &str,
    (action, back): (&str, &str),
    fields: Vec<(&'static str, String)>,
) -> Response {
    let earlier = &repeated.earlier;
    render(
        &RepeatPage {
            page: Chrome {
                title: "Record another payment?".into(),
                ..page
            },
            customer: customer.to_string(),
            earlier_amount: money(state, earlier.amount),
            earlier_when: format!("at {}", when(state, &earlier.created_at)),
            earlier_method: earlier.method.as_str().to_string(),
            earlier_by: earlier.recorded_by.clone(),
            amount: money(
                state,
                state
                    .currency()
                    .parse_positive(amount)
                    .unwrap_or(earlier.amount),
            ),
            action: action.to_string(),
            back: back.to_string(),
            fields,
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn record_payment(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<PaymentForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let mut form = FormState::with_values(&[
        ("amount", &f.amount),
        ("method", &f.method),
        ("reference", &f.reference),
        ("date", &f.date),
    ]);
    match state.record_payment(&actor, id, &f.input()).await {
        Ok(PaymentRecorded::Recorded { payment, replayed }) => {
            let text = if replayed {
                format!(
                    "That payment of {} was already recorded; nothing more was added.",
                    money(&state, payment.amount)
                )
            } else {
                format!(
                    "Recorded a payment of {}. Balance now {}.",
                    money(&state, payment.amount),
                    money(&state, payment.balance_after)
                )
            };
            return redirect_with(&format!("/customers/{id}"), "ok", &text);
        }
        Ok(PaymentRecorded::HeldBack(repeated)) => {
            let name = match state.customer(&actor, id).await {
                Ok(c) => c.name,
                Err(e) => return app_error_page(page, e, "/customers"),
            };
            return repeat_page(
                &state,
                page,
                &name,
                &repeated,
                &f.amount,
                (
                    &format!("/customers/{id}/payments"),
                    &format!("/customers/{id}"),
                ),
                f.resend(),
            );
        }
        Err(e) => form.fail_with(&e),
    }
    entry_page(&state, &actor, page, id, true, form).await
}

async fn void_entry(state: App, v: Visitor, id: String, f: CsrfOnly, due: bool) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "entry", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let done = if due {
        state
            .void_due(&actor, id, &f.reason)
            .await
            .map(|d| (d.customer_id, "The due is void."))
    } else {
        state
            .void_payment(&actor, id, &f.reason)
            .await
            .map(|p| (p.customer_id, "The payment is void."))
    };
    match done {
        Ok((customer_id, text)) => redirect_with(&format!("/customers/{customer_id}"), "ok", text),
        Err(e) => app_error_page(page, e, "/customers"),
    }
}

pub(super) async fn void_due(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, true).await
}

pub(super) async fn void_payment(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, false).await
}
