//! The portal's home: balance, open dues, pending payments and the pay
//! form, with a UPI QR code when the shop has a UPI id.

use super::customer;
use crate::app::{Actor, App};
use crate::domain::fields::PaymentMethod;
use crate::domain::money::Money;
use crate::web::forms::{FormState, date, due_phrase, money, opt_date};
use crate::web::{Chrome, Visitor, app_error_page, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

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
pub(super) struct QrQuery {
    amount: Option<String>,
}

fn upi_link(state: &App, upi: &str, amount: Money) -> String {
    let enc = |s: &str| crate::web::percent_encode(s);
    format!(
        "upi://pay?pa={}&pn={}&am={}&cu={}&tn={}",
        enc(upi),
        enc(&state.config().shop_name),
        state.config().currency.format(amount),
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

pub(super) async fn show_home(
    state: &App,
    actor: &Actor,
    page: Chrome,
    form: FormState,
    qr_amount: Option<Money>,
    status: StatusCode,
) -> Response {
    let account = match state.own_account_view(actor).await {
        Ok(a) => a,
        Err(e) => return app_error_page(page, e, "/portal"),
    };
    let today = state.config().today();
    let pending: Vec<(String, String, String)> = account
        .pending()
        .map(|p| {
            (
                money(state, p.amount),
                p.method.as_str().to_string(),
                date(p.paid_on),
            )
        })
        .collect();
    let (c, dues) = (account.customer, account.open_dues);
    let m = |x: Money| money(state, x);
    let owed = c.balance.max(Money::ZERO);
    let qr_money = qr_amount.filter(|a| a.is_positive()).unwrap_or(owed);
    let (qr, upi_id, link) = match (&state.config().upi_id, owed.is_positive()) {
        (Some(upi), true) => {
            let link = upi_link(state, upi, qr_money);
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
            balance_plain: state.config().currency.format(owed),
            owes: c.balance.is_positive(),
            has_credit: c.balance.is_negative(),
            credit: m(-c.balance),
            overdue: m(c.overdue),
            is_overdue: c.overdue.is_positive(),
            days_overdue: c.days_overdue,
            dues: dues
                .iter()
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
                            d.status.as_str().to_string()
                        },
                    )
                })
                .collect(),
            pending,
            currency: state.config().currency.code(),
            methods: PaymentMethod::ALL.iter().map(|m| m.as_str()).collect(),
            form,
            qr,
            qr_amount: m(qr_money),
            qr_amount_plain: state.config().currency.format(qr_money),
            upi_id,
            upi_link: link,
            pay_key: crate::domain::access::new_token(),
        },
        status,
        shown,
    )
}

pub(super) async fn home(
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<QrQuery>,
) -> Response {
    let (me, page) = match customer(&state, &v, "My account", "portal").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let qr_amount = q
        .amount
        .and_then(|a| state.config().currency.parse_positive(&a).ok());
    show_home(
        &state,
        &me,
        page,
        FormState::default(),
        qr_amount,
        StatusCode::OK,
    )
    .await
}
