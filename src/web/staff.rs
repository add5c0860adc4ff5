//! The staff console: dashboard, customers, a customer's page with its
//! actions, pending portal payments, messages, logs, staff and settings.

use super::charts;
use super::forms::{FormState, date, due_phrase, money, opt_date, when};
use super::{Chrome, Visitor, csrf_refused, error_page, redirect_with, render, store_error_page};
use crate::domain::access::Role;
use crate::domain::fields::{CustomerName, Email, PaymentMethod, Phone, TextKind, parse_date};
use crate::domain::ledger::{DueStatus, PaymentStatus, StatementLineKind};
use crate::domain::money::Money;
use crate::http::AppState;
use crate::http::auth::{Actor, ClientInfo};
use crate::store::activity::ActivityFilter;
use crate::store::auth::{Principal, SigninFilter};
use crate::store::customers::{
    Customer, CustomerPatch, CustomerQuery, CustomerSort, CustomerStatus, NewCustomer,
};
use crate::store::ledger::{IdempotencyKey, LedgerCommand, NewDue, NewPayment};
use crate::store::outbox::{Audience, EmailFilter};
use crate::store::staff::{NewStaff, StaffPatch};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/customers", get(customers).post(create_customer))
        .route("/customers.csv", get(customers_csv))
        .route("/customers/new", get(new_customer))
        .route("/customers/{id}", get(customer_page))
        .route(
            "/customers/{id}/edit",
            get(edit_customer).post(update_customer),
        )
        .route("/customers/{id}/statement", get(statement_page))
        .route("/customers/{id}/dues", post(add_due))
        .route("/customers/{id}/dues/new", get(new_due))
        .route("/customers/{id}/payments", post(record_payment))
        .route("/customers/{id}/payments/new", get(new_payment))
        .route("/customers/{id}/message", post(send_message))
        .route("/customers/{id}/reminders", post(set_reminders))
        .route("/customers/{id}/reset-credentials", post(reset_credentials))
        .route("/customers/{id}/delete", post(delete_customer))
        .route("/customers/{id}/restore", post(restore_customer))
        .route("/dues/{id}/void", post(void_due))
        .route("/payments/{id}/void", post(void_payment))
        .route("/payments/pending", get(pending))
        .route("/payments/{id}/confirm", post(confirm_payment))
        .route("/payments/{id}/reject", post(reject_payment))
        .route(
            "/notifications",
            get(notifications).post(send_notifications),
        )
        .route("/activity", get(activity))
        .route("/signins", get(signins))
        .route("/emails", get(emails))
        .route("/staff", get(staff_page).post(create_staff))
        .route("/staff/{id}/role", post(change_role))
        .route("/staff/{id}/delete", post(delete_staff))
        .route("/settings", get(settings).post(save_settings))
}

/// The signed-in staff member with at least `least`, and the page frame;
/// anyone else gets a page saying no.
async fn staff(
    state: &AppState,
    v: &Visitor,
    least: Role,
    title: &str,
    active: &'static str,
) -> Result<(Actor, Chrome), Response> {
    let chrome = v.chrome(state, title, active).await;
    match &v.session.principal {
        Principal::Staff { id, username, role } if *role >= least => Ok((
            Actor {
                id: *id,
                username: username.clone(),
                role: *role,
            },
            chrome,
        )),
        Principal::Staff { .. } => Err(error_page(
            chrome,
            StatusCode::FORBIDDEN,
            &format!("This page needs the {} role.", least.as_str()),
            "/dashboard",
        )),
        Principal::Customer { .. } => Err(axum::response::Redirect::to("/portal").into_response()),
    }
}

fn id_of(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// A staff form about one record (`what`, such as "customer"): the CSRF
/// check, the actor, the frame and the record's id, or the page saying why not.
async fn posted_about(
    state: &AppState,
    v: &Visitor,
    least: Role,
    csrf: &str,
    raw_id: &str,
    what: &str,
    back: &str,
) -> Result<(Actor, Chrome, i64), Response> {
    let (actor, page) = staff_form(state, v, least, csrf).await?;
    match id_of(raw_id) {
        Some(id) => Ok((actor, page, id)),
        None => Err(error_page(
            page,
            StatusCode::NOT_FOUND,
            &format!("There is no such {what}."),
            back,
        )),
    }
}

/// Checks the CSRF token of a staff form and returns the actor.
async fn staff_form(
    state: &AppState,
    v: &Visitor,
    least: Role,
    csrf: &str,
) -> Result<(Actor, Chrome), Response> {
    let (actor, chrome) = staff(state, v, least, "", "").await?;
    if !v.csrf_ok(csrf) {
        return Err(csrf_refused(chrome));
    }
    Ok((actor, chrome))
}

// ---------------------------------------------------------------- dashboard

struct TopRow {
    id: i64,
    name: String,
    balance: String,
    overdue: String,
}

struct AgeRow {
    label: &'static str,
    amount: String,
    bar: String,
}

struct ActivityRow {
    what: String,
    actor: String,
    when: String,
}

struct DashboardData {
    as_of: String,
    total_outstanding: String,
    total_overdue: String,
    has_overdue: bool,
    collected_today: String,
    collected_this_month: String,
    active_customers: i64,
    dso: Option<i64>,
    pending: i64,
    months_chart: String,
    days_chart: String,
    status_chart: String,
    paid: i64,
    partial: i64,
    unpaid: i64,
    overdue: i64,
    ageing: Vec<AgeRow>,
    top: Vec<TopRow>,
    activity: Vec<ActivityRow>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Chrome,
    d: DashboardData,
}

fn describe_action(action: &str) -> String {
    match action {
        "customer.created" => "Customer added",
        "customer.updated" => "Customer edited",
        "customer.deleted" => "Customer deleted",
        "customer.restored" => "Customer restored",
        "due.created" => "Due recorded",
        "due.voided" => "Due voided",
        "payment.recorded" => "Payment recorded",
        "payment.voided" => "Payment voided",
        "payment.submitted" => "Payment reported by customer",
        "payment.confirmed" => "Payment confirmed",
        "payment.rejected" => "Payment rejected",
        "reminder.queued" => "Reminder sent",
        "notification.queued" => "Message sent",
        "staff.created" => "Staff account created",
        "staff.updated" => "Staff account changed",
        "staff.deleted" => "Staff account deleted",
        "customer.password_set" => "Customer chose a password",
        "customer.credentials_reset" => "Reset link sent",
        "password.changed" => "Password changed",
        "settings.changed" => "Settings changed",
        other => other,
    }
    .to_string()
}

async fn dashboard(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Dashboard", "dashboard").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let d = match state.store.dashboard(state.config().today()).await {
        Ok(d) => d,
        Err(e) => return store_error_page(page, e, "/"),
    };
    let m = |x: i64| money(&state, x);
    let months: Vec<(String, i64)> = d
        .collections_by_month
        .iter()
        .map(|p| {
            let label = chrono::NaiveDate::parse_from_str(&format!("{}-01", p.label), "%Y-%m-%d")
                .map(|d| d.format("%b").to_string())
                .unwrap_or_else(|_| p.label.clone());
            (label, p.amount)
        })
        .collect();
    let days: Vec<(String, i64)> = d
        .collections_by_day
        .iter()
        .map(|p| {
            (
                p.label
                    .get(8..)
                    .unwrap_or(&p.label)
                    .trim_start_matches('0')
                    .to_string(),
                p.amount,
            )
        })
        .collect();
    let a = &d.ageing;
    let age_max = [
        a.current,
        a.days_1_30,
        a.days_31_60,
        a.days_61_90,
        a.days_over_90,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let ages = [
        ("Current", a.current, "#0b6b3a"),
        ("1–30 days", a.days_1_30, "#d97706"),
        ("31–60 days", a.days_31_60, "#c2410c"),
        ("61–90 days", a.days_61_90, "#b3261e"),
        ("90+ days", a.days_over_90, "#7f1d1d"),
    ];
    let s = &d.customers_by_status;
    let data = DashboardData {
        as_of: date(d.as_of),
        total_outstanding: m(d.total_outstanding),
        total_overdue: m(d.total_overdue),
        has_overdue: d.total_overdue > 0,
        collected_today: m(d.collected_today),
        collected_this_month: m(d.collected_this_month),
        active_customers: d.active_customers,
        dso: d.days_sales_outstanding,
        pending: d.pending_payments,
        months_chart: charts::bars("Collections by month", &months, 1, |x| money(&state, x)),
        days_chart: charts::bars("Collections by day", &days, 5, |x| money(&state, x)),
        status_chart: charts::stacked(
            "Customers by status",
            &[
                ("Paid", s.paid, "#0b6b3a"),
                ("Partial", s.partial, "#d97706"),
                ("Unpaid", s.unpaid, "#64748b"),
                ("Overdue", s.overdue, "#b3261e"),
            ],
        ),
        paid: s.paid,
        partial: s.partial,
        unpaid: s.unpaid,
        overdue: s.overdue,
        ageing: ages
            .iter()
            .map(|(label, amount, colour)| AgeRow {
                label,
                amount: m(*amount),
                bar: charts::meter(*amount, age_max, colour),
            })
            .collect(),
        top: d
            .top_debtors
            .iter()
            .map(|t| TopRow {
                id: t.customer_id,
                name: t.name.clone(),
                balance: m(t.balance),
                overdue: m(t.overdue),
            })
            .collect(),
        activity: d
            .recent_activity
            .iter()
            .map(|e| ActivityRow {
                what: describe_action(&e.action),
                actor: e.actor.clone(),
                when: when(&state, &e.at),
            })
            .collect(),
    };
    let shown = page.flash.is_some();
    render(&DashboardPage { page, d: data }, StatusCode::OK, shown)
}

// ---------------------------------------------------------------- customers

#[derive(Deserialize, Default, Clone)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    category: Option<String>,
    overdue: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

struct CustomerRow {
    id: i64,
    name: String,
    phone: String,
    email: String,
    balance: String,
    overdue: String,
    days_overdue: i64,
    next_due: String,
    next_due_phrase: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    page: Chrome,
    rows: Vec<CustomerRow>,
    total: i64,
    total_all: i64,
    q: String,
    category: String,
    deleted: bool,
    overdue: bool,
    /// Any filter besides the search is set.
    filtered: bool,
    sort: String,
    sorts: Vec<(&'static str, &'static str)>,
    query: String,
    prev: Option<String>,
    next: Option<String>,
    page_no: i64,
    pages: i64,
}

const PER_PAGE: i64 = 25;

fn state_of(c: &Customer) -> &'static str {
    if c.status == CustomerStatus::Deleted {
        "deleted"
    } else if c.balance <= 0 {
        "paid"
    } else if c.overdue > 0 {
        "overdue"
    } else if c.total_paid > 0 {
        "partial"
    } else {
        "unpaid"
    }
}

fn customer_query(q: &ListQuery, limit: i64, offset: i64) -> CustomerQuery {
    CustomerQuery {
        q: q.q
            .clone()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s.chars().count() <= 100),
        status: if q.status.as_deref() == Some("deleted") {
            CustomerStatus::Deleted
        } else {
            CustomerStatus::Active
        },
        category: q
            .category
            .clone()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        overdue_only: q.overdue.as_deref() == Some("true"),
        sort: match q.sort.as_deref() {
            Some("balance_desc") => CustomerSort::BalanceDesc,
            Some("overdue_desc") => CustomerSort::OverdueDesc,
            Some("created_desc") => CustomerSort::CreatedDesc,
            _ => CustomerSort::Name,
        },
        limit,
        offset,
    }
}

fn encode_query(q: &ListQuery, page: Option<i64>) -> String {
    let mut pairs = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            pairs.push(format!("{k}={}", super::percent_encode(v)));
        }
    };
    add("q", &q.q);
    add("status", &q.status);
    add("category", &q.category);
    add("overdue", &q.overdue);
    add("sort", &q.sort);
    if let Some(p) = page {
        pairs.push(format!("page={p}"));
    }
    pairs.join("&")
}

async fn customers(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Customers", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page_no = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let query = customer_query(&q, PER_PAGE, (page_no - 1) * PER_PAGE);
    let (list, total) = match state.store.list_customers(&query).await {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/dashboard"),
    };
    let total_all = if total == 0 {
        state
            .store
            .list_customers(&customer_query(&ListQuery::default(), 1, 0))
            .await
            .map(|(_, n)| n)
            .unwrap_or(0)
    } else {
        total
    };
    let today = state.config().today();
    let rows = list
        .iter()
        .map(|c| CustomerRow {
            id: c.id,
            name: c.name.clone(),
            phone: c.phone.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            balance: money(&state, c.balance),
            overdue: money(&state, c.overdue),
            days_overdue: c.days_overdue,
            next_due: opt_date(c.next_due_date),
            next_due_phrase: c
                .next_due_date
                .map(|d| due_phrase(Some(d), today))
                .unwrap_or_default(),
            state: state_of(c),
        })
        .collect();
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let shown = page.flash.is_some();
    render(
        &CustomersPage {
            page,
            rows,
            total,
            total_all,
            q: q.q.clone().unwrap_or_default(),
            category: q.category.clone().unwrap_or_default(),
            deleted: q.status.as_deref() == Some("deleted"),
            overdue: q.overdue.as_deref() == Some("true"),
            filtered: q.status.as_deref() == Some("deleted")
                || q.overdue.as_deref() == Some("true")
                || q.category.as_deref().is_some_and(|c| !c.is_empty())
                || q.sort
                    .as_deref()
                    .is_some_and(|s| !s.is_empty() && s != "name"),
            sort: q.sort.clone().unwrap_or_else(|| "name".into()),
            sorts: vec![
                ("name", "Name"),
                ("balance_desc", "Balance, highest first"),
                ("overdue_desc", "Overdue, highest first"),
                ("created_desc", "Newest first"),
            ],
            query: encode_query(&q, None),
            prev: (page_no > 1).then(|| encode_query(&q, Some(page_no - 1))),
            next: (page_no < pages).then(|| encode_query(&q, Some(page_no + 1))),
            page_no,
            pages,
        },
        StatusCode::OK,
        shown,
    )
}

async fn customers_csv(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Customers", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (list, _) = match state
        .store
        .list_customers(&customer_query(&q, 100_000, 0))
        .await
    {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let plain = |m: i64| state.config().currency.format(Money(m));
    let _ = writer.write_record([
        "id",
        "username",
        "name",
        "phone",
        "email",
        "address",
        "category",
        "status",
        "balance",
        "overdue",
        "days_overdue",
        "next_due_date",
        "credit_limit",
        "created_at",
    ]);
    for c in &list {
        let _ = writer.write_record([
            c.id.to_string(),
            c.username.clone(),
            c.name.clone(),
            c.phone.clone().unwrap_or_default(),
            c.email.clone().unwrap_or_default(),
            c.address.clone().unwrap_or_default(),
            c.category.clone().unwrap_or_default(),
            c.status.to_string(),
            plain(c.balance),
            plain(c.overdue),
            c.days_overdue.to_string(),
            c.next_due_date.map(|d| d.to_string()).unwrap_or_default(),
            c.credit_limit.map(plain).unwrap_or_default(),
            c.created_at.clone(),
        ]);
    }
    let body = writer.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"customers.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

struct FieldSpec {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    hint: &'static str,
    autocomplete: &'static str,
    required: bool,
    multiline: bool,
}

const CUSTOMER_FIELDS: [FieldSpec; 7] = [
    FieldSpec {
        name: "name",
        label: "Name",
        kind: "text",
        hint: "",
        autocomplete: "off",
        required: true,
        multiline: false,
    },
    FieldSpec {
        name: "phone",
        label: "Phone",
        kind: "tel",
        hint: "",
        autocomplete: "off",
        required: false,
        multiline: false,
    },
    FieldSpec {
        name: "email",
        label: "Email",
        kind: "email",
        hint: "With an email the customer gets an invitation to see their account online.",
        autocomplete: "off",
        required: false,
        multiline: false,
    },
    FieldSpec {
        name: "address",
        label: "Address",
        kind: "text",
        hint: "",
        autocomplete: "off",
        required: false,
        multiline: true,
    },
    FieldSpec {
        name: "category",
        label: "Category",
        kind: "text",
        hint: "For example wholesale or retail.",
        autocomplete: "off",
        required: false,
        multiline: false,
    },
    FieldSpec {
        name: "credit_limit",
        label: "Credit limit",
        kind: "text",
        hint: "The most this customer may owe; leave empty for no limit.",
        autocomplete: "off",
        required: false,
        multiline: false,
    },
    FieldSpec {
        name: "notes",
        label: "Notes",
        kind: "text",
        hint: "Only staff see notes.",
        autocomplete: "off",
        required: false,
        multiline: true,
    },
];

#[derive(Template)]
#[template(path = "customer_form.html")]
struct CustomerFormPage {
    page: Chrome,
    heading: String,
    action: String,
    submit: String,
    cancel: String,
    fields: &'static [FieldSpec],
    form: FormState,
}

async fn new_customer(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Add customer", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(
        &CustomerFormPage {
            page,
            heading: "Add customer".into(),
            action: "/customers".into(),
            submit: "Add customer".into(),
            cancel: "/customers".into(),
            fields: &CUSTOMER_FIELDS,
            form: FormState::default(),
        },
        StatusCode::OK,
        false,
    )
}

#[derive(Deserialize)]
struct CustomerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    credit_limit: String,
    #[serde(default)]
    notes: String,
}

impl CustomerForm {
    fn values(&self) -> FormState {
        FormState::with_values(&[
            ("name", &self.name),
            ("phone", &self.phone),
            ("email", &self.email),
            ("address", &self.address),
            ("category", &self.category),
            ("credit_limit", &self.credit_limit),
            ("notes", &self.notes),
        ])
    }
}

/// Parses an optional text field; blank is `None`.
fn opt<T>(
    form: &mut FormState,
    field: &str,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    if raw.trim().is_empty() {
        return None;
    }
    match parse(raw) {
        Ok(v) => Some(v),
        Err(e) => {
            form.fail(field, e);
            None
        }
    }
}

fn text_field(kind: TextKind) -> impl Fn(&str) -> Result<String, String> {
    move |raw| {
        kind.parse_optional(raw)
            .map(Option::unwrap_or_default)
            .map_err(|e| e.0)
    }
}

fn parse_customer(state: &AppState, f: &CustomerForm) -> (FormState, Option<NewCustomer>) {
    let mut form = f.values();
    let name = match CustomerName::parse(&f.name) {
        Ok(n) => Some(n),
        Err(e) => {
            form.fail("name", format!("Name {e}"));
            None
        }
    };
    let phone = opt(&mut form, "phone", &f.phone, |r| {
        Phone::parse(r).map_err(|e| format!("Phone {e}"))
    });
    let email = opt(&mut form, "email", &f.email, |r| {
        Email::parse(r).map_err(|e| format!("Email {e}"))
    });
    let address = opt(
        &mut form,
        "address",
        &f.address,
        text_field(TextKind::Address),
    );
    let category = opt(
        &mut form,
        "category",
        &f.category,
        text_field(TextKind::Category),
    );
    let notes = opt(&mut form, "notes", &f.notes, text_field(TextKind::Notes));
    let credit_limit = opt(&mut form, "credit_limit", &f.credit_limit, |r| {
        state
            .store
            .currency()
            .parse_non_negative(r)
            .map_err(|e| format!("Credit limit {e}"))
    });
    match (name, form.is_ok()) {
        (Some(name), true) => (
            form,
            Some(NewCustomer {
                name,
                phone,
                email,
                address,
                category,
                notes,
                credit_limit,
            }),
        ),
        _ => (form, None),
    }
}

async fn create_customer(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<CustomerForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Staff, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (mut form, parsed) = parse_customer(&state, &f);
    if let Some(new) = parsed {
        match state.store.create_customer(actor.label(), new).await {
            Ok(c) => {
                let note = if c.email.is_some() {
                    " An invitation is on its way to their email."
                } else {
                    ""
                };
                return redirect_with(
                    &format!("/customers/{}", c.id),
                    "ok",
                    &format!("Added {}.{note}", c.name),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    render(
        &CustomerFormPage {
            page: Chrome {
                title: "Add customer".into(),
                active: "customers",
                ..page
            },
            heading: "Add customer".into(),
            action: "/customers".into(),
            submit: "Add customer".into(),
            cancel: "/customers".into(),
            fields: &CUSTOMER_FIELDS,
            form,
        },
        StatusCode::OK,
        false,
    )
}

async fn edit_customer(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    let (page, id) = match customer_frame(&state, &v, Role::Admin, "Edit customer", &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let c = match state.store.customer(id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    let plain = |m: i64| state.config().currency.format(Money(m));
    let form = FormState::with_values(&[
        ("name", &c.name),
        ("phone", c.phone.as_deref().unwrap_or("")),
        ("email", c.email.as_deref().unwrap_or("")),
        ("address", c.address.as_deref().unwrap_or("")),
        ("category", c.category.as_deref().unwrap_or("")),
        (
            "credit_limit",
            &c.credit_limit.map(plain).unwrap_or_default(),
        ),
        ("notes", c.notes.as_deref().unwrap_or("")),
    ]);
    render(
        &CustomerFormPage {
            page,
            heading: format!("Edit {}", c.name),
            action: format!("/customers/{id}/edit"),
            submit: "Save changes".into(),
            cancel: format!("/customers/{id}"),
            fields: &CUSTOMER_FIELDS,
            form,
        },
        StatusCode::OK,
        false,
    )
}

async fn update_customer(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CustomerForm>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Admin,
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
    let (mut form, parsed) = parse_customer(&state, &f);
    if let Some(new) = parsed {
        let patch = CustomerPatch {
            name: Some(new.name),
            phone: Some(new.phone),
            email: Some(new.email),
            address: Some(new.address),
            category: Some(new.category),
            notes: Some(new.notes),
            credit_limit: Some(new.credit_limit),
            reminders_paused: None,
        };
        match state.store.update_customer(actor.label(), id, patch).await {
            Ok(c) => {
                return redirect_with(
                    &format!("/customers/{id}"),
                    "ok",
                    &format!("Saved changes to {}.", c.name),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    render(
        &CustomerFormPage {
            page: Chrome {
                title: "Edit customer".into(),
                active: "customers",
                ..page
            },
            heading: "Edit customer".into(),
            action: format!("/customers/{id}/edit"),
            submit: "Save changes".into(),
            cancel: format!("/customers/{id}"),
            fields: &CUSTOMER_FIELDS,
            form,
        },
        StatusCode::OK,
        false,
    )
}

// ------------------------------------------------------------ one customer

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
struct Forms {
    open: &'static str,
    msg: FormState,
}

async fn show_customer(
    state: &AppState,
    page: Chrome,
    id: i64,
    forms: Forms,
    status: StatusCode,
) -> Response {
    let c = match state.store.customer(id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    let dues = state.store.customer_dues(id).await.unwrap_or_default();
    let statement = match state.store.statement(id, None, None).await {
        Ok(s) => s,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    let payments = state.store.customer_payments(id).await.unwrap_or_default();
    let today = state.config().today();
    let m = |x: i64| money(state, x);
    let voided_dues: Vec<i64> = dues
        .iter()
        .filter(|d| d.status == DueStatus::Void)
        .map(|d| d.id)
        .collect();
    let voided_payments: Vec<i64> = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Void)
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
                debit: if l.delta > 0 {
                    m(l.delta)
                } else {
                    String::new()
                },
                credit: if l.delta < 0 {
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
        owes_or_credit: c.balance != 0,
        has_credit: c.balance < 0,
        credit: m(-c.balance),
        overdue: m(c.overdue),
        is_overdue: c.overdue > 0,
        days_overdue: c.days_overdue,
        next_due: opt_date(c.next_due_date),
        next_due_phrase: c
            .next_due_date
            .map(|d| due_phrase(Some(d), today))
            .unwrap_or_default(),
        credit_limit: c.credit_limit.map(m).unwrap_or_default(),
        has_password: c.has_password,
        paused: c.reminders_paused,
        deleted: c.status == CustomerStatus::Deleted,
        delete_reason: c.delete_reason.clone().unwrap_or_default(),
        since: when(state, &c.created_at),
    };
    let due_rows = dues
        .into_iter()
        .filter(|d| d.status.awaits_payment())
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
                d.status.to_string()
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
    if c.status == CustomerStatus::Deleted {
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

/// A staff page about one customer: the frame and the customer's id, or
/// the page that says why not.
async fn customer_frame(
    state: &AppState,
    v: &Visitor,
    least: Role,
    title: &str,
    raw_id: &str,
) -> Result<(Chrome, i64), Response> {
    let (_, page) = staff(state, v, least, title, "customers").await?;
    match id_of(raw_id) {
        Some(id) => Ok((page, id)),
        None => Err(error_page(
            page,
            StatusCode::NOT_FOUND,
            "There is no such customer.",
            "/customers",
        )),
    }
}

async fn new_due(State(state): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Add due", &id).await {
        Ok((page, id)) => entry_page(&state, page, id, false, FormState::default()).await,
        Err(r) => r,
    }
}

async fn new_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Record payment", &id).await {
        Ok((page, id)) => entry_page(&state, page, id, true, FormState::default()).await,
        Err(r) => r,
    }
}

async fn customer_page(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Customer", &id).await {
        Ok((page, id)) => show_customer(&state, page, id, Forms::default(), StatusCode::OK).await,
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct DueForm {
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

async fn add_due(
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
struct PaymentForm {
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

async fn record_payment(
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

#[derive(Deserialize)]
struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

async fn send_message(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<MessageForm>,
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
    let mut form = FormState::with_values(&[("subject", &f.subject), ("body", &f.body)]);
    if f.subject.trim().is_empty() || f.subject.chars().count() > 200 {
        form.fail("subject", "Write a subject of up to 200 characters.");
    }
    if f.body.trim().is_empty() || f.body.chars().count() > 20_000 {
        form.fail("body", "Write the message (up to 20000 characters).");
    }
    if form.is_ok() {
        match state
            .store
            .queue_manual(
                actor.label(),
                &Audience::Customers(vec![id]),
                f.subject.trim(),
                f.body.trim(),
            )
            .await
        {
            Ok(o) if o.queued > 0 => {
                return redirect_with(&format!("/customers/{id}"), "ok", "Message sent.");
            }
            Ok(_) => form.fail("form", "This customer has no email address."),
            Err(e) => form.fail_with(&e),
        }
    }
    show_customer(
        &state,
        page,
        id,
        Forms {
            open: "message",
            msg: form,
        },
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    paused: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

async fn set_reminders(
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
        "customer",
        "/customers",
    )
    .await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    let paused = f.paused == "true";
    let patch = CustomerPatch {
        reminders_paused: Some(paused),
        ..Default::default()
    };
    match state.store.update_customer(actor.label(), id, patch).await {
        Ok(_) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            if paused {
                "Reminders paused."
            } else {
                "Reminders resumed."
            },
        ),
        Err(e) => store_error_page(page, e, &format!("/customers/{id}")),
    }
}

async fn reset_credentials(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    ClientInfo(client): ClientInfo,
    Form(f): Form<CsrfOnly>,
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
    let username = match state.store.customer(id).await {
        Ok(c) => c.username,
        Err(e) => return store_error_page(page, e, "/customers"),
    };
    match state.store.allow_reset_request(&username, &client).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            return redirect_with(
                &format!("/customers/{id}"),
                "error",
                "Several reset links went out in the last hour; wait before sending another.",
            );
        }
        Err(e) => return store_error_page(page, e, &format!("/customers/{id}")),
    }
    match state.store.reset_credentials(actor.label(), id).await {
        Ok(c) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            &format!(
                "A reset link is on its way to {}.",
                c.email.unwrap_or_default()
            ),
        ),
        Err(e) => store_error_page(page, e, &format!("/customers/{id}")),
    }
}

async fn delete_customer(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Admin,
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
    if f.confirm != "yes" {
        return redirect_with(
            &format!("/customers/{id}"),
            "error",
            "Tick “Yes, delete this customer” to delete.",
        );
    }
    let reason = TextKind::Reason.parse_optional(&f.reason).ok().flatten();
    let force = reason.is_some();
    match state
        .store
        .delete_customer(actor.label(), id, force, reason)
        .await
    {
        Ok(c) => redirect_with(
            "/customers",
            "ok",
            &format!(
                "Deleted {}. You can restore them from the deleted customers.",
                c.name
            ),
        ),
        Err(e) => store_error_page(page, e, &format!("/customers/{id}")),
    }
}

async fn restore_customer(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) = match posted_about(
        &state,
        &v,
        Role::Admin,
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
    match state.store.restore_customer(actor.label(), id).await {
        Ok(c) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            &format!("Restored {}.", c.name),
        ),
        Err(e) => store_error_page(page, e, &format!("/customers/{id}")),
    }
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

async fn void_due(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, true).await
}

async fn void_payment(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    void_entry(state, v, id, f, false).await
}

// ---------------------------------------------------------- statement (print)

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
}

pub async fn statement_for(
    state: &AppState,
    page: Chrome,
    customer_id: i64,
    back: &str,
) -> Response {
    let s = match state.store.statement(customer_id, None, None).await {
        Ok(s) => s,
        Err(e) => return store_error_page(page, e, back),
    };
    let m = |x: i64| money(state, x);
    let rows = s
        .lines
        .iter()
        .map(|l| {
            (
                date(l.date),
                l.description.clone(),
                if l.delta > 0 {
                    m(l.delta)
                } else {
                    String::new()
                },
                if l.delta < 0 {
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
        },
        StatusCode::OK,
        false,
    )
}

async fn statement_page(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    match customer_frame(&state, &v, Role::Staff, "Statement", &id).await {
        Ok((page, id)) => statement_for(&state, page, id, &format!("/customers/{id}")).await,
        Err(r) => r,
    }
}

// ----------------------------------------------------------- pending payments

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

async fn pending(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Pending payments", "pending").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (items, _) = match state
        .store
        .payments_by_status(PaymentStatus::Pending, 200, 0)
        .await
    {
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
            method: p.method.to_string(),
            reference: p.reference.unwrap_or_else(|| "—".into()),
            date: date(p.paid_on),
            reported: when(&state, &p.created_at),
        })
        .collect();
    let shown = page.flash.is_some();
    render(&PendingPage { page, rows }, StatusCode::OK, shown)
}

async fn confirm_payment(
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

async fn reject_payment(
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

// -------------------------------------------------------------- notifications

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Chrome,
    form: FormState,
    audiences: Vec<(&'static str, &'static str)>,
}

async fn notifications(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Admin, "Send a message", "notifications").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let shown = page.flash.is_some();
    render(
        &NotificationsPage {
            page,
            form: FormState::with_values(&[("to", "with_balance")]),
            audiences: AUDIENCES.to_vec(),
        },
        StatusCode::OK,
        shown,
    )
}

const AUDIENCES: [(&str, &str); 4] = [
    ("with_balance", "Everyone with a balance"),
    ("overdue", "Everyone overdue"),
    ("all", "All customers"),
    ("selected", "Customers by id (below)"),
];

#[derive(Deserialize)]
struct NotificationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    ids: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

async fn send_notifications(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<NotificationForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Admin, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("to", &f.to),
        ("ids", &f.ids),
        ("subject", &f.subject),
        ("body", &f.body),
    ]);
    let audience = match f.to.as_str() {
        "with_balance" => Some(Audience::WithBalance),
        "overdue" => Some(Audience::Overdue),
        "all" => Some(Audience::All),
        "selected" => {
            let ids: Result<Vec<i64>, _> = f
                .ids
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<i64>())
                .collect();
            match ids {
                Ok(ids) if !ids.is_empty() => Some(Audience::Customers(ids)),
                _ => {
                    form.fail(
                        "ids",
                        "List customer ids separated by commas, e.g. 12, 15, 31.",
                    );
                    None
                }
            }
        }
        _ => {
            form.fail("to", "Choose who gets the message.");
            None
        }
    };
    if f.subject.trim().is_empty() || f.subject.chars().count() > 200 {
        form.fail("subject", "Write a subject of up to 200 characters.");
    }
    if f.body.trim().is_empty() {
        form.fail("body", "Write the message.");
    }
    if let (Some(audience), true) = (audience, form.is_ok()) {
        match state
            .store
            .queue_manual(actor.label(), &audience, f.subject.trim(), f.body.trim())
            .await
        {
            Ok(o) => {
                let skipped = if o.skipped.is_empty() {
                    String::new()
                } else {
                    format!(" {} without an email address skipped.", o.skipped.len())
                };
                return redirect_with(
                    "/notifications",
                    "ok",
                    &format!("Message queued for {} customer(s).{skipped}", o.queued),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    render(
        &NotificationsPage {
            page: Chrome {
                title: "Send a message".into(),
                active: "notifications",
                ..page
            },
            form,
            audiences: AUDIENCES.to_vec(),
        },
        StatusCode::OK,
        false,
    )
}

// ---------------------------------------------------------------------- logs

#[derive(Deserialize, Default)]
struct LogQuery {
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    page: Chrome,
    heading: String,
    intro: String,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    filter_label: String,
    filter_name: String,
    filter_value: String,
    options: Vec<(String, String)>,
    option_name: String,
    option_value: String,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
    base: String,
}

fn log_paging(q: &LogQuery) -> (i64, i64) {
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    (page, (page - 1) * 50)
}

fn page_links(base: &str, extra: &str, page: i64, total: i64) -> (Option<String>, Option<String>) {
    let pages = ((total + 49) / 50).max(1);
    let link = |p: i64| format!("{base}?{extra}page={p}");
    (
        (page > 1).then(|| link(page - 1)),
        (page < pages).then(|| link(page + 1)),
    )
}

async fn activity(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<LogQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, Role::Admin, "Activity", "activity").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = ActivityFilter {
        actor: q
            .q
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string()),
        entity_type: q.kind.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let (items, total) = match state.store.list_activity(&filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|e| {
            let change = e.after.map(|a| a.to_string()).unwrap_or_default();
            vec![
                when(&state, &e.at),
                e.actor,
                describe_action(&e.action),
                format!("{} {}", e.entity_type, e.entity_id),
                truncate(&change, 160),
            ]
        })
        .collect();
    let extra = format!(
        "q={}&kind={}&",
        super::percent_encode(q.q.as_deref().unwrap_or("")),
        super::percent_encode(q.kind.as_deref().unwrap_or(""))
    );
    let (prev, next) = page_links("/activity", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Activity".into(),
            intro: "Every change, who made it and when. Each entry is chained to the one before it; `duetrack verify` checks the chain.".into(),
            columns: vec!["When", "Who", "What", "Record", "Change"],
            rows,
            filter_label: "Who (username)".into(),
            filter_name: "q".into(),
            filter_value: q.q.clone().unwrap_or_default(),
            options: [("", "Everything"), ("customer", "Customers"), ("due", "Dues"), ("payment", "Payments"), ("staff", "Staff"), ("notification", "Messages")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            option_name: "kind".into(),
            option_value: q.kind.clone().unwrap_or_default(),
            total,
            prev,
            next,
            base: "/activity".into(),
        },
        StatusCode::OK,
        false,
    )
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

async fn signins(State(state): State<AppState>, v: Visitor, Query(q): Query<LogQuery>) -> Response {
    let (_, page) = match staff(&state, &v, Role::Admin, "Sign-ins", "signins").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = SigninFilter {
        username: q
            .q
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string()),
        success: match q.status.as_deref() {
            Some("ok") => Some(true),
            Some("failed") => Some(false),
            _ => None,
        },
        ..Default::default()
    };
    let (items, total) = match state.store.list_signins(&filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|s| {
            vec![
                when(&state, &s.at),
                s.username,
                s.kind.as_str().replace('_', " "),
                if s.success {
                    "ok".into()
                } else {
                    format!("refused: {}", s.reason.replace('_', " "))
                },
                s.address,
                truncate(&s.user_agent.unwrap_or_default(), 60),
            ]
        })
        .collect();
    let extra = format!(
        "q={}&status={}&",
        super::percent_encode(q.q.as_deref().unwrap_or("")),
        q.status.as_deref().unwrap_or("")
    );
    let (prev, next) = page_links("/signins", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Sign-in log".into(),
            intro: "Every attempt to sign in, set a password or ask for a reset, with where it came from.".into(),
            columns: vec!["When", "User name", "Kind", "Result", "Address", "Browser"],
            rows,
            filter_label: "User name".into(),
            filter_name: "q".into(),
            filter_value: q.q.clone().unwrap_or_default(),
            options: [("", "All attempts"), ("ok", "Successful"), ("failed", "Refused")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            option_name: "status".into(),
            option_value: q.status.clone().unwrap_or_default(),
            total,
            prev,
            next,
            base: "/signins".into(),
        },
        StatusCode::OK,
        false,
    )
}

async fn emails(State(state): State<AppState>, v: Visitor, Query(q): Query<LogQuery>) -> Response {
    let (_, page) = match staff(&state, &v, Role::Staff, "Email log", "emails").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = EmailFilter {
        status: q
            .status
            .clone()
            .filter(|s| ["queued", "sending", "sent", "failed"].contains(&s.as_str())),
        kind: q.kind.clone().filter(|s| !s.is_empty()),
        customer_id: None,
    };
    let (items, total) = match state.store.list_emails(&filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return store_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|e| {
            vec![
                when(&state, &e.created_at),
                e.recipient,
                e.kind.as_str().replace('_', " "),
                e.subject,
                e.status.to_string(),
                e.attempts.to_string(),
                e.last_error.unwrap_or_default(),
            ]
        })
        .collect();
    let extra = format!("status={}&", q.status.as_deref().unwrap_or(""));
    let (prev, next) = page_links("/emails", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Email log".into(),
            intro: "Every message in the outbox and what became of it.".into(),
            columns: vec![
                "Queued",
                "To",
                "Kind",
                "Subject",
                "Status",
                "Attempts",
                "Last error",
            ],
            rows,
            filter_label: "Kind (e.g. reminder)".into(),
            filter_name: "kind".into(),
            filter_value: q.kind.clone().unwrap_or_default(),
            options: [
                ("", "Any status"),
                ("queued", "Queued"),
                ("sent", "Sent"),
                ("failed", "Failed"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            option_name: "status".into(),
            option_value: q.status.clone().unwrap_or_default(),
            total,
            prev,
            next,
            base: "/emails".into(),
        },
        StatusCode::OK,
        false,
    )
}

// --------------------------------------------------------------------- staff

struct StaffRow {
    id: i64,
    username: String,
    role: String,
    email: String,
    deleted: bool,
    manageable: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    page: Chrome,
    rows: Vec<StaffRow>,
    form: FormState,
    roles: Vec<&'static str>,
}

async fn staff_list(state: &AppState, actor: &Actor) -> Vec<StaffRow> {
    state
        .store
        .list_staff()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| StaffRow {
            id: m.id,
            manageable: m.id != actor.id
                && (actor.role == Role::Owner || m.role != Role::Owner)
                && m.disabled_at.is_none(),
            username: m.username,
            role: m.role.as_str().to_string(),
            email: m.email.unwrap_or_else(|| "—".into()),
            deleted: m.disabled_at.is_some(),
        })
        .collect()
}

fn roles_for(actor: &Actor) -> Vec<&'static str> {
    if actor.role == Role::Owner {
        vec!["staff", "admin", "owner"]
    } else {
        vec!["staff", "admin"]
    }
}

async fn staff_page(State(state): State<AppState>, v: Visitor) -> Response {
    let (actor, page) = match staff(&state, &v, Role::Admin, "Staff", "staff").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = staff_list(&state, &actor).await;
    let shown = page.flash.is_some();
    render(
        &StaffPage {
            page,
            rows,
            form: FormState::with_values(&[("role", "staff")]),
            roles: roles_for(&actor),
        },
        StatusCode::OK,
        shown,
    )
}

#[derive(Deserialize)]
struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
}

async fn create_staff(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<StaffForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Admin, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("username", &f.username),
        ("role", &f.role),
        ("email", &f.email),
    ]);
    let username = f.username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        form.fail(
            "username",
            "Use 1 to 64 letters, digits, dots, dashes or underscores.",
        );
    }
    if let Err(why) = crate::domain::access::check_new_password(&f.password, username) {
        form.fail("password", format!("The password {why}."));
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        form.fail("role", "Choose a role.");
    }
    let email = opt(&mut form, "email", &f.email, |r| {
        Email::parse(r)
            .map(|e| e.as_str().to_string())
            .map_err(|e| format!("Email {e}"))
    });
    if let (Some(role), true) = (role, form.is_ok()) {
        let new = NewStaff {
            username: username.to_string(),
            password: f.password.clone(),
            role,
            email,
        };
        match state
            .store
            .create_staff(actor.label(), actor.role, new)
            .await
        {
            Ok(m) => {
                return redirect_with(
                    "/staff",
                    "ok",
                    &format!("Created {} ({}).", m.username, m.role.as_str()),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    let rows = staff_list(&state, &actor).await;
    render(
        &StaffPage {
            page: Chrome {
                title: "Staff".into(),
                active: "staff",
                ..page
            },
            rows,
            form,
            roles: roles_for(&actor),
        },
        StatusCode::OK,
        false,
    )
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    confirm: String,
}

async fn change_role(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Admin, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (Some(id), Some(role)) = (id_of(&id), Role::parse(&f.role)) else {
        return error_page(page, StatusCode::OK, "Choose a role.", "/staff");
    };
    match state
        .store
        .update_staff(
            actor.label(),
            actor.role,
            id,
            StaffPatch {
                role: Some(role),
                ..Default::default()
            },
        )
        .await
    {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("{} is now {}.", m.username, m.role.as_str()),
        ),
        Err(e) => store_error_page(page, e, "/staff"),
    }
}

async fn delete_staff(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, Role::Admin, &f.csrf, &id, "account", "/staff").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if f.confirm != "yes" {
        return redirect_with(
            "/staff",
            "error",
            "Tick the box to confirm deleting the account.",
        );
    }
    match state
        .store
        .delete_staff(actor.label(), actor.id, actor.role, id)
        .await
    {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("Deleted {}; they can no longer sign in.", m.username),
        ),
        Err(e) => store_error_page(page, e, "/staff"),
    }
}

// ------------------------------------------------------------------ settings

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Chrome,
    form: FormState,
    policies: Vec<(&'static str, &'static str)>,
    /// (what, now, variable) for settings that only the environment sets.
    fixed: Vec<(&'static str, String, &'static str)>,
}

fn settings_page(state: &AppState, page: Chrome, form: Option<FormState>) -> SettingsPage {
    let c = state.config();
    let form = form.unwrap_or_else(|| {
        let values: Vec<(String, String)> = crate::config::Config::EDITABLE
            .iter()
            .map(|k| (k.to_string(), c.setting(k)))
            .collect();
        FormState {
            values: values.into_iter().collect(),
            ..Default::default()
        }
    });
    SettingsPage {
        page,
        form,
        policies: vec![
            (
                "default",
                "3 days before the due date, on the day, then weekly while overdue",
            ),
            ("daily", "Every day while a balance is open"),
        ],
        fixed: vec![
            (
                "Daily run in this server",
                if c.scheduler_enabled {
                    "on".into()
                } else {
                    "off".into()
                },
                "DUETRACK_SCHEDULER",
            ),
            ("Links in emails", c.base_url.clone(), "DUETRACK_BASE_URL"),
            (
                "Email",
                c.smtp
                    .as_ref()
                    .map(|s| format!("{}:{}", s.host, s.port))
                    .unwrap_or_else(|| "no SMTP server: messages are written as .eml files".into()),
                "SMTP_HOST",
            ),
        ],
    }
}

async fn settings(State(state): State<AppState>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, Role::Owner, "Settings", "settings").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let shown = page.flash.is_some();
    render(&settings_page(&state, page, None), StatusCode::OK, shown)
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    shop_name: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    reminder_time: String,
    #[serde(default)]
    reminder_policy: String,
    #[serde(default)]
    upi_id: String,
}

async fn save_settings(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Owner, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let changes: Vec<(String, String)> = [
        ("shop_name", &f.shop_name),
        ("currency", &f.currency),
        ("timezone", &f.timezone),
        ("reminder_time", &f.reminder_time),
        ("reminder_policy", &f.reminder_policy),
        ("upi_id", &f.upi_id),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.trim().to_string()))
    .collect();
    let mut form = FormState {
        values: changes.iter().cloned().collect(),
        ..Default::default()
    };
    if f.shop_name.trim().is_empty() || f.shop_name.chars().count() > 100 {
        form.fail("shop_name", "Give the shop a name of up to 100 characters.");
    } else {
        match state
            .store
            .save_settings(actor.label(), &state.base, &changes)
            .await
        {
            Ok(_) => {
                return redirect_with("/settings", "ok", "Settings saved. They apply at once.");
            }
            Err(e) => form.fail_with(&e),
        }
    }
    let page = Chrome {
        title: "Settings".into(),
        active: "settings",
        ..page
    };
    render(
        &settings_page(&state, page, Some(form)),
        StatusCode::OK,
        false,
    )
}
