//! One customer's page (card, open dues, ledger and the forms on it) and
//! the printable statement, which the portal shows too.

use super::customer_frame;
use crate::app::{Actor, App, Statement};
use crate::domain::ledger::StatementLineKind;
use crate::domain::money::Money;
use crate::web::forms::{FormState, date, due_phrase, money, opt_date, when};
use crate::web::{Chrome, Visitor, app_error_page, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

struct CustomerCard {
    id: i64,
    name: String,
    username: String,
    category: String,
    phone: String,
    email: String,
    address: String,
    notes: String,
    balance: String,
    owes_or_credit: bool,
    has_credit: bool,
    credit: String,
    overdue: String,
    is_overdue: bool,
    days_overdue: i64,
    next_due: String,
    next_due_phrase: String,
    credit_limit: String,
    has_password: bool,
    paused: bool,
    deleted: bool,
    delete_reason: String,
    since: String,
}

struct DueRow {
    description: String,
    issued: String,
    due_date: String,
    phrase: String,
    amount: String,
    outstanding: String,
    status: String,
}

struct EntryRow {
    date: String,
    description: String,
    debit: String,
    credit: String,
    balance: String,
    void: bool,
    void_action: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    page: Chrome,
    c: CustomerCard,
    dues: Vec<DueRow>,
    entries: Vec<EntryRow>,
    open: &'static str,
    msg_form: FormState,
}

#[derive(Default)]
pub(super) struct Forms {
    pub(super) open: &'static str,
    pub(super) msg: FormState,
}

pub(super) async fn show_customer(
    state: &App,
    actor: &Actor,
    page: Chrome,
    id: i64,
    forms: Forms,
    status: StatusCode,
) -> Response {
    let read = async {
        let c = state.customer(actor, id).await?;
        let dues = state.dues(actor, id).await?;
        let statement = state.statement(actor, id, None, None).await?;
        let payments = state.payments(actor, id).await?;
        Ok((c, dues, statement, payments))
    };
    let (c, dues, statement, payments) = match read.await {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/customers"),
    };
    let today = state.config().today();
    let m = |x: Money| money(state, x);
    let voided_dues: Vec<i64> = dues.iter().filter(|d| d.is_void()).map(|d| d.id).collect();
    let voided_payments: Vec<i64> = payments
        .iter()
        .filter(|p| p.is_void())
        .map(|p| p.id)
        .collect();
    let entries = statement
        .lines
        .iter()
        .rev()
        .map(|l| {
            let void = l.due_id.is_some_and(|d| voided_dues.contains(&d))
                || l.payment_id.is_some_and(|p| voided_payments.contains(&p));
            let void_action = match (l.kind, void) {
                (StatementLineKind::Due, false) => l
                    .due_id
                    .map(|d| format!("/dues/{d}/void"))
                    .unwrap_or_default(),
                (StatementLineKind::Payment, false) => l
                    .payment_id
                    .map(|p| format!("/payments/{p}/void"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            EntryRow {
                date: date(l.date),
                description: l.description.clone(),
                debit: if l.delta.is_positive() {
                    m(l.delta)
                } else {
                    String::new()
                },
                credit: if l.delta.is_negative() {
                    m(-l.delta)
                } else {
                    String::new()
                },
                balance: m(l.balance),
                void: void && l.kind.is_entry(),
                void_action,
            }
        })
        .collect();
    let card = CustomerCard {
        id: c.id,
        name: c.name.clone(),
        username: c.username.clone(),
        category: c.category.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_else(|| "—".into()),
        email: c.email.clone().unwrap_or_else(|| "—".into()),
        address: c.address.clone().unwrap_or_else(|| "—".into()),
        notes: c.notes.clone().unwrap_or_else(|| "—".into()),
        balance: m(c.balance),
        owes_or_credit: !c.balance.is_zero(),
        has_credit: c.balance.is_negative(),
        credit: m(-c.balance),
        overdue: m(c.overdue),
        is_overdue: c.overdue.is_positive(),
        days_overdue: c.days_overdue,
        next_due: opt_date(c.next_due_date),
        next_due_phrase: c
            .next_due_date
            .map(|d| due_phrase(Some(d), today))
            .unwrap_or_default(),
        credit_limit: c.credit_limit.map(m).unwrap_or_default(),
        has_password: c.has_password,
        paused: c.reminders_paused,
        deleted: c.is_deleted(),
        delete_reason: c.delete_reason.clone().unwrap_or_default(),
        since: when(state, &c.created_at),
    };
    let due_rows = dues
        .into_iter()
        .filter(|d| d.is_open())
        .map(|d| DueRow {
            description: d
                .description
                .clone()
                .unwrap_or_else(|| format!("Due #{}", d.id)),
            issued: date(d.issue_date),
            due_date: opt_date(d.due_date),
            phrase: if d.due_date.is_some() {
                due_phrase(d.due_date, today)
            } else {
                String::new()
            },
            amount: m(d.amount),
            outstanding: m(d.amount - d.paid),
            status: if d.due_date.is_some_and(|x| x < today) {
                "overdue".into()
            } else {
                d.status.as_str().to_string()
            },
        })
        .collect();
    let shown = page.flash.is_some();
    let page = Chrome {
        title: c.name.clone(),
        active: "customers",
        ..page
    };
    render(
        &CustomerPage {
            page,
            c: card,
            dues: due_rows,
            entries,
            open: forms.open,
            msg_form: forms.msg,
        },
        status,
        shown,
    )
}

pub(super) async fn customer_page(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, "Customer", &id).await {
        Ok((page, id)) => {
            show_customer(
                &state,
                v.actor(),
                page,
                id,
                Forms::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(r) => r,
    }
}

#[derive(Template)]
#[template(path = "statement.html")]
pub struct StatementPage {
    pub page: Chrome,
    pub name: String,
    pub back: String,
    pub printed: String,
    pub opening: String,
    pub closing: String,
    pub rows: Vec<(String, String, String, String, String)>,
    /// Where the same statement downloads as CSV.
    pub download: String,
}

/// The printable statement page, for staff and for the customer.
pub fn statement_for(state: &App, page: Chrome, s: Statement, back: &str) -> Response {
    let download = if page.is_staff {
        format!("/customers/{}/statement.csv", s.customer.id)
    } else {
        "/portal/statement.csv".to_string()
    };
    let m = |x: Money| money(state, x);
    let rows = s
        .lines
        .iter()
        .map(|l| {
            (
                date(l.date),
                l.description.clone(),
                if l.delta.is_positive() {
                    m(l.delta)
                } else {
                    String::new()
                },
                if l.delta.is_negative() {
                    m(-l.delta)
                } else {
                    String::new()
                },
                m(l.balance),
            )
        })
        .collect();
    render(
        &StatementPage {
            page,
            name: s.customer.name.clone(),
            back: back.to_string(),
            printed: date(state.config().today()),
            opening: m(s.opening_balance),
            closing: m(s.closing_balance),
            rows,
            download,
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn statement_page(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, "Statement", &id).await {
        Ok((page, id)) => match state.statement(v.actor(), id, None, None).await {
            Ok(s) => statement_for(&state, page, s, &format!("/customers/{id}")),
            Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
        },
        Err(r) => r,
    }
}

/// The statement as a CSV download.
pub(super) async fn statement_csv(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, "Statement", &id).await {
        Ok((page, id)) => match state.statement(v.actor(), id, None, None).await {
            Ok(s) => crate::edge::csv_download(&state.statement_table(&s)),
            Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
        },
        Err(r) => r,
    }
}
