//! The dashboard: what is owed and overdue, collections, ageing, the top
//! debtors and the latest activity.

use super::{describe_action, staff};
use crate::app::App;
use crate::domain::money::Money;
use crate::web::charts;
use crate::web::forms::{date, money, when};
use crate::web::{Chrome, Visitor, app_error_page, render};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

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

pub(super) async fn dashboard(State(state): State<App>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, "Dashboard", "dashboard").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let d = match state.dashboard(v.actor()).await {
        Ok(d) => d,
        Err(e) => return app_error_page(page, e, "/"),
    };
    let m = |x: Money| money(&state, x);
    let months: Vec<(String, Money)> = d
        .collections_by_month
        .iter()
        .map(|p| {
            let label = chrono::NaiveDate::parse_from_str(&format!("{}-01", p.label), "%Y-%m-%d")
                .map(|d| d.format("%b").to_string())
                .unwrap_or_else(|_| p.label.clone());
            (label, p.amount)
        })
        .collect();
    let days: Vec<(String, Money)> = d
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
    .unwrap_or_default();
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
        has_overdue: d.total_overdue.is_positive(),
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
