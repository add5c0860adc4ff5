//! The customer list and its CSV export, adding and editing a customer
//! (with the customer form's parsing), and deleting or restoring one.

use super::{CsrfOnly, customer_frame, posted_about, staff, staff_form};
use crate::app::input::{CustomerEdit, CustomerInput, Patch};
use crate::app::{App, Customer, CustomerFilter};
use crate::domain::money::Money;
use crate::edge::spreadsheet_cell;
use crate::web::forms::{FormState, due_phrase, money, opt_date};
use crate::web::{Chrome, Visitor, app_error_page, redirect_with, render};
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
    if c.is_deleted() {
        "deleted"
    } else if !c.balance.is_positive() {
        "paid"
    } else if c.overdue.is_positive() {
        "overdue"
    } else if c.total_paid.is_positive() {
        "partial"
    } else {
        "unpaid"
    }
}

/// The list's query as the application reads it.
fn filter_of(q: &ListQuery) -> CustomerFilter {
    CustomerFilter {
        q: q.q.clone(),
        sort: q.sort.clone(),
        status: q.status.clone(),
        category: q.category.clone(),
        overdue: q.overdue.clone(),
        page: q.page.clone(),
        per_page: None,
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
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Customers", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (list, total, paging) = match state.customers(v.actor(), &filter_of(&q), PER_PAGE).await {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/customers"),
    };
    let page_no = paging.page;
    let total_all = if total == 0 {
        match state
            .customers(v.actor(), &CustomerFilter::default(), 1)
            .await
        {
            Ok((_, n, _)) => n,
            Err(e) => return app_error_page(page, e, "/dashboard"),
        }
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
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Customers", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let list = match state
        .all_customers(v.actor(), &filter_of(&q), 100_000)
        .await
    {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/customers"),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let plain = |m: Money| state.config().currency.format(m);
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
    // Text people typed may start like a formula; amounts are plain numbers.
    let text = |t: &Option<String>| spreadsheet_cell(t.as_deref().unwrap_or("")).into_owned();
    for c in &list {
        let _ = writer.write_record([
            c.id.to_string(),
            spreadsheet_cell(&c.username).into_owned(),
            spreadsheet_cell(&c.name).into_owned(),
            text(&c.phone),
            text(&c.email),
            text(&c.address),
            text(&c.category),
            c.status.as_str().to_string(),
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

/// The form to add a customer (no id) or edit one, with what was typed and
/// any errors; a form sent back with errors keeps its heading as the title.
fn customer_form(
    mut page: Chrome,
    id: Option<i64>,
    heading: &str,
    form: FormState,
    status: StatusCode,
) -> Response {
    let (action, submit, cancel) = match id {
        Some(id) => (
            format!("/customers/{id}/edit"),
            "Save changes",
            format!("/customers/{id}"),
        ),
        None => (
            "/customers".to_string(),
            "Add customer",
            "/customers".to_string(),
        ),
    };
    if page.title.is_empty() {
        page.title = heading.to_string();
    }
    page.active = "customers";
    render(
        &CustomerFormPage {
            page,
            heading: heading.to_string(),
            action,
            submit: submit.to_string(),
            cancel,
            fields: &CUSTOMER_FIELDS,
            form,
        },
        status,
        false,
    )
}

pub(super) async fn new_customer(State(state): State<App>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, "Add customer", "customers").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    customer_form(
        page,
        None,
        "Add customer",
        FormState::default(),
        StatusCode::OK,
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

impl CustomerForm {
    /// A blank field means "not given".
    fn given(value: &str) -> Option<String> {
        (!value.trim().is_empty()).then(|| value.to_string())
    }

    fn input(&self) -> CustomerInput {
        CustomerInput {
            name: self.name.clone(),
            email: Self::given(&self.email),
            phone: Self::given(&self.phone),
            address: Self::given(&self.address),
            category: Self::given(&self.category),
            notes: Self::given(&self.notes),
            credit_limit: Self::given(&self.credit_limit),
        }
    }

    /// Every field of the form is sent: a blank one clears what was there.
    fn edit(&self) -> CustomerEdit {
        CustomerEdit {
            name: Patch::Value(self.name.clone()),
            email: Patch::from_form(self.email.clone()),
            phone: Patch::from_form(self.phone.clone()),
            address: Patch::from_form(self.address.clone()),
            category: Patch::from_form(self.category.clone()),
            notes: Patch::from_form(self.notes.clone()),
            credit_limit: Patch::from_form(self.credit_limit.clone()),
            reminders_paused: None,
        }
    }
}

pub(super) async fn create_customer(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<CustomerForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = f.values();
    {
        match state.create_customer(&actor, &f.input()).await {
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
    customer_form(
        page,
        None,
        "Add customer",
        form,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub(super) async fn edit_customer(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
) -> Response {
    let (page, id) = match customer_frame(&state, &v, "Edit customer", &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let c = match state.customer(v.actor(), id).await {
        Ok(c) => c,
        Err(e) => return app_error_page(page, e, "/customers"),
    };
    let plain = |m: Money| state.config().currency.format(m);
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
    customer_form(
        page,
        Some(id),
        &format!("Edit {}", c.name),
        form,
        StatusCode::OK,
    )
}

pub(super) async fn update_customer(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CustomerForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let mut form = f.values();
    {
        match state.update_customer(&actor, id, &f.edit()).await {
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
    customer_form(
        page,
        Some(id),
        "Edit customer",
        form,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub(super) async fn delete_customer(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
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
    let reason = Some(f.reason.as_str()).filter(|r| !r.trim().is_empty());
    match state
        .delete_customer(&actor, id, reason.is_some(), reason)
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
        Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
    }
}

pub(super) async fn restore_customer(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match state.restore_customer(&actor, id).await {
        Ok(c) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            &format!("Restored {}.", c.name),
        ),
        Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
    }
}

pub(super) async fn purge_customer(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    if f.confirm != "yes" {
        return redirect_with(
            &format!("/customers/{id}"),
            "error",
            "Tick “Yes, erase this customer's personal data” to purge.",
        );
    }
    match state.purge_customer(&actor, id).await {
        Ok(c) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            &format!(
                "Purged the personal data of customer #{}; the ledger is kept as {}.",
                c.id, c.name
            ),
        ),
        Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
    }
}
