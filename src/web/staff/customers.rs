//! The customer list and its CSV export, adding and editing a customer
//! (with the customer form's parsing), and deleting or restoring one.

use super::{CsrfOnly, customer_frame, opt, posted_about, staff, staff_form, text_field};
use crate::domain::access::Role;
use crate::domain::fields::{CustomerName, Email, Phone, TextKind};
use crate::domain::money::Money;
use crate::http::AppState;
use crate::store::customers::{
    Customer, CustomerPatch, CustomerQuery, CustomerSort, CustomerStatus, NewCustomer,
};
use crate::web::forms::{FormState, due_phrase, money, opt_date};
use crate::web::{Chrome, Visitor, redirect_with, render, store_error_page};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, Default, Clone)]
pub(super) struct ListQuery {
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
    if c.status == "deleted" {
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
            pairs.push(format!("{k}={}", crate::web::percent_encode(v)));
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

pub(super) async fn customers(
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

pub(super) async fn customers_csv(
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
            c.status.clone(),
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

pub(super) async fn new_customer(State(state): State<AppState>, v: Visitor) -> Response {
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
pub(super) struct CustomerForm {
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

pub(super) async fn create_customer(
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

pub(super) async fn edit_customer(
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

pub(super) async fn update_customer(
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

pub(super) async fn delete_customer(
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

pub(super) async fn restore_customer(
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
