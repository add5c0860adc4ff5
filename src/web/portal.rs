//! The customer portal: balance and open dues, paying (pending until staff
//! confirm, with a UPI QR code when the shop has a UPI id), payment history
//! with printable receipts, the statement, and the profile.

use super::forms::{FormState, date, due_phrase, money, opt_date};
use super::{Chrome, Visitor, csrf_refused, error_page, redirect_with, render, store_error_page};
use crate::domain::fields::{Email, PaymentMethod, Phone, TextKind};
use crate::domain::ledger::PaymentStatus;
use crate::domain::money::Money;
use crate::http::AppState;
use crate::http::auth::{ClientInfo, CustomerActor};
use crate::store::auth::Principal;
use crate::store::customers::CustomerPatch;
use crate::store::ledger::{IdempotencyKey, LedgerCommand, NewPayment};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/pay", post(pay))
        .route("/portal/payments", get(payments))
        .route("/portal/receipts/{id}", get(receipt))
        .route("/portal/statement", get(statement))
        .route("/portal/profile", get(profile).post(update_profile))
        .route("/portal/password", post(change_password))
        .route("/portal/close", post(close))
}

async fn customer(
    state: &AppState,
    v: &Visitor,
    title: &str,
    active: &'static str,
) -> Result<(CustomerActor, Chrome), Response> {
    match &v.session.principal {
        Principal::Customer { id, username } => Ok((
            CustomerActor {
                id: *id,
                username: username.clone(),
            },
            v.chrome(state, title, active).await,
        )),
        Principal::Staff { .. } => Err(Redirect::to("/dashboard").into_response()),
    }
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    page: Chrome,
    name: String,
    balance: String,
    balance_plain: String,
    owes: bool,
    has_credit: bool,
    credit: String,
    overdue: String,
    is_overdue: bool,
    days_overdue: i64,
    /// (for, due date, phrase, unpaid, status)
    dues: Vec<(String, String, String, String, String)>,
    /// (amount, method, date)
    pending: Vec<(String, String, String)>,
    currency: String,
    methods: Vec<&'static str>,
    form: FormState,
    qr: Option<String>,
    qr_amount: String,
    qr_amount_plain: String,
    upi_id: String,
    upi_link: String,
    pay_key: String,
}

#[derive(Deserialize, Default)]
struct QrQuery {
    amount: Option<String>,
}

fn upi_link(state: &AppState, upi: &str, amount: i64) -> String {
    let enc = |s: &str| super::percent_encode(s);
    format!(
        "upi://pay?pa={}&pn={}&am={}&cu={}&tn={}",
        enc(upi),
        enc(&state.config().shop_name),
        state.config().currency.format(Money(amount)),
        state.config().currency.code(),
        enc("Payment to the shop")
    )
}

/// An SVG QR code, drawn in the binary.
fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = image.find("<svg")?;
    Some(image[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"UPI payment QR code\"",
        1,
    ))
}

async fn show_home(
    state: &AppState,
    page: Chrome,
    customer_id: i64,
    form: FormState,
    qr_amount: Option<i64>,
    status: StatusCode,
) -> Response {
    let c = match state.store.customer(customer_id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/portal"),
    };
    let today = state.config().today();
    let dues = state
        .store
        .customer_dues(customer_id)
        .await
        .unwrap_or_default();
    let payments = state
        .store
        .customer_payments(customer_id)
        .await
        .unwrap_or_default();
    let m = |x: i64| money(state, x);
    let owed = c.balance.max(0);
    let qr_minor = qr_amount.filter(|a| *a > 0).unwrap_or(owed);
    let (qr, upi_id, link) = match (&state.config().upi_id, owed > 0) {
        (Some(upi), true) => {
            let link = upi_link(state, upi, qr_minor);
            (qr_svg(&link), upi.clone(), link)
        }
        _ => (None, String::new(), String::new()),
    };
    let mut form = form;
    if form.value("method").is_empty() {
        form.values.insert("method".into(), "upi".into());
    }
    let shown = page.flash.is_some();
    render(
        &PortalPage {
            page: Chrome {
                title: "My account".into(),
                active: "portal",
                ..page
            },
            name: c.name.clone(),
            balance: m(c.balance),
            balance_plain: state.config().currency.format(Money(owed)),
            owes: c.balance > 0,
            has_credit: c.balance < 0,
            credit: m(-c.balance),
            overdue: m(c.overdue),
            is_overdue: c.overdue > 0,
            days_overdue: c.days_overdue,
            dues: dues
                .iter()
                .filter(|d| d.status.awaits_payment())
                .map(|d| {
                    (
                        d.description
                            .clone()
                            .unwrap_or_else(|| format!("Due #{}", d.id)),
                        opt_date(d.due_date),
                        if d.due_date.is_some() {
                            due_phrase(d.due_date, today)
                        } else {
                            String::new()
                        },
                        m(d.amount - d.paid),
                        if d.due_date.is_some_and(|x| x < today) {
                            "overdue".to_string()
                        } else {
                            d.status.to_string()
                        },
                    )
                })
                .collect(),
            pending: payments
                .iter()
                .filter(|p| p.status == PaymentStatus::Pending)
                .map(|p| (m(p.amount), p.method.to_string(), date(p.paid_on)))
                .collect(),
            currency: state.config().currency.code(),
            methods: PaymentMethod::ALL.iter().map(|m| m.as_str()).collect(),
            form,
            qr,
            qr_amount: m(qr_minor),
            qr_amount_plain: state.config().currency.format(Money(qr_minor)),
            upi_id,
            upi_link: link,
            pay_key: crate::domain::access::new_token(),
        },
        status,
        shown,
    )
}

async fn home(State(state): State<AppState>, v: Visitor, Query(q): Query<QrQuery>) -> Response {
    let (me, page) = match customer(&state, &v, "My account", "portal").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let qr_amount = q
        .amount
        .and_then(|a| state.config().currency.parse_positive(&a).ok())
        .map(Money::minor);
    show_home(
        &state,
        page,
        me.id,
        FormState::default(),
        qr_amount,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct PayForm {
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

async fn pay(State(state): State<AppState>, v: Visitor, Form(f): Form<PayForm>) -> Response {
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

struct PaymentRow {
    id: i64,
    date: String,
    amount: String,
    method: String,
    reference: String,
    status: String,
    note: String,
}

#[derive(Template)]
#[template(path = "portal_payments.html")]
struct PaymentsPage {
    page: Chrome,
    rows: Vec<PaymentRow>,
}

async fn payments(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Payments", "payments").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let list = match state.store.customer_payments(me.id).await {
        Ok(l) => l,
        Err(e) => return store_error_page(page, e, "/portal"),
    };
    let rows = list
        .into_iter()
        .map(|p| PaymentRow {
            id: p.id,
            date: date(p.paid_on),
            amount: money(&state, p.amount),
            method: p.method.to_string(),
            reference: p.reference.unwrap_or_default(),
            note: p.reject_reason.or(p.void_reason).unwrap_or_default(),
            status: p.status.to_string(),
        })
        .collect();
    render(&PaymentsPage { page, rows }, StatusCode::OK, false)
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    page: Chrome,
    id: i64,
    name: String,
    amount: String,
    method: String,
    reference: String,
    date: String,
    balance_after: String,
}

async fn receipt(State(state): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    let (me, page) = match customer(&state, &v, "Receipt", "payments").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let not_found = |page| {
        error_page(
            page,
            StatusCode::NOT_FOUND,
            "There is no such receipt.",
            "/portal/payments",
        )
    };
    let Some(id) = id.parse::<i64>().ok() else {
        return not_found(page);
    };
    let payment = match state.store.payment(id).await {
        Ok(p) if p.customer_id == me.id && p.status == PaymentStatus::Recorded => p,
        _ => return not_found(page),
    };
    let name = state
        .store
        .customer(me.id)
        .await
        .map(|c| c.name)
        .unwrap_or_default();
    render(
        &ReceiptPage {
            page,
            id,
            name,
            amount: money(&state, payment.amount),
            method: payment.method.to_string(),
            reference: payment.reference.unwrap_or_else(|| "—".into()),
            date: date(payment.paid_on),
            balance_after: money(&state, payment.balance_after),
        },
        StatusCode::OK,
        false,
    )
}

async fn statement(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Statement", "statement").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    super::staff::statement_for(&state, page, me.id, "/portal").await
}

#[derive(Template)]
#[template(path = "portal_profile.html")]
struct ProfilePage {
    page: Chrome,
    name: String,
    username: String,
    profile: FormState,
    password: FormState,
    can_close: bool,
    zero: String,
}

async fn show_profile(
    state: &AppState,
    page: Chrome,
    id: i64,
    profile: Option<FormState>,
    password: FormState,
    status: StatusCode,
) -> Response {
    let c = match state.store.customer(id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/portal"),
    };
    let pending = state
        .store
        .customer_payments(id)
        .await
        .map(|p| p.iter().any(|p| p.status == PaymentStatus::Pending))
        .unwrap_or(false);
    let profile = profile.unwrap_or_else(|| {
        FormState::with_values(&[
            ("phone", c.phone.as_deref().unwrap_or("")),
            ("email", c.email.as_deref().unwrap_or("")),
        ])
    });
    let shown = page.flash.is_some();
    render(
        &ProfilePage {
            page: Chrome {
                title: "Profile".into(),
                active: "profile",
                ..page
            },
            name: c.name,
            username: c.username,
            profile,
            password,
            can_close: c.balance == 0 && !pending,
            zero: money(state, 0),
        },
        status,
        shown,
    )
}

async fn profile(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    show_profile(
        &state,
        page,
        me.id,
        None,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

async fn update_profile(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ProfileForm>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    let mut form = FormState::with_values(&[("phone", &f.phone), ("email", &f.email)]);
    let phone = if f.phone.trim().is_empty() {
        Some(None)
    } else {
        match Phone::parse(&f.phone) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                form.fail("phone", format!("Phone {e}"));
                None
            }
        }
    };
    let email = if f.email.trim().is_empty() {
        Some(None)
    } else {
        match Email::parse(&f.email) {
            Ok(e) => Some(Some(e)),
            Err(e) => {
                form.fail("email", format!("Email {e}"));
                None
            }
        }
    };
    if form.is_ok() {
        let patch = CustomerPatch {
            phone,
            email,
            ..Default::default()
        };
        match state.store.update_customer(&me.label(), me.id, patch).await {
            Ok(_) => return redirect_with("/portal/profile", "ok", "Your details are saved."),
            Err(e) => form.fail_with(&e),
        }
    }
    show_profile(
        &state,
        page,
        me.id,
        Some(form),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    v: Visitor,
    ClientInfo(client): ClientInfo,
    Form(f): Form<PasswordForm>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    let mut form = FormState::default();
    match state
        .store
        .change_password(&v.session, &f.current_password, &f.new_password, &client)
        .await
    {
        Ok(()) => {
            return redirect_with(
                "/portal/profile",
                "ok",
                "Your password is changed. Other sign-ins have ended.",
            );
        }
        Err(e) => form.fail_with(&e),
    }
    show_profile(&state, page, me.id, None, form, StatusCode::OK).await
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn close(State(state): State<AppState>, v: Visitor, Form(f): Form<CloseForm>) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    if f.confirm != "yes" {
        return redirect_with(
            "/portal/profile",
            "error",
            "Tick “Yes, close my account” to close it.",
        );
    }
    match state.store.close_own_account(&me.label(), me.id).await {
        Ok(_) => redirect_with(
            "/login",
            "ok",
            "Your account is closed. A confirmation is on its way to your email.",
        ),
        Err(e) => store_error_page(page, e, "/portal/profile"),
    }
}
