//! `GET /api/v1/dashboard`: the owner's figures as JSON, amounts as decimal strings.

use super::auth::Caller;
use super::error::{ApiResult, Problem};
use crate::app::App;
use crate::app::{ActivityEntry, Dashboard, Period, StatusCounts};
use crate::domain::money::Money;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

#[derive(Serialize, ToSchema)]
pub struct AmountByPeriod {
    label: String,
    amount: String,
}

#[derive(Serialize, ToSchema)]
pub struct DebtorView {
    customer_id: i64,
    name: String,
    balance: String,
    overdue: String,
}

#[derive(Serialize, ToSchema)]
pub struct AgeingView {
    current: String,
    days_1_30: String,
    days_31_60: String,
    days_61_90: String,
    days_over_90: String,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardView {
    as_of: String,
    currency: String,
    /// What all active customers owe.
    total_outstanding: String,
    total_overdue: String,
    /// Money held in advance.
    total_credit: String,
    collected_today: String,
    collected_this_month: String,
    active_customers: i64,
    customers_by_status: StatusCounts,
    ageing: AgeingView,
    collections_by_month: Vec<AmountByPeriod>,
    collections_by_day: Vec<AmountByPeriod>,
    top_debtors: Vec<DebtorView>,
    /// Outstanding in days of the last 90 days' credit sales.
    days_sales_outstanding: Option<i64>,
    /// Portal payments waiting for confirmation.
    pending_payments: i64,
    recent_activity: Vec<ActivityEntry>,
}

impl DashboardView {
    pub fn new(state: &App, d: Dashboard) -> Self {
        let m = |v: Money| state.money(v);
        let periods = |v: Vec<Period>| {
            v.into_iter()
                .map(|p| AmountByPeriod {
                    label: p.label,
                    amount: m(p.amount),
                })
                .collect()
        };
        Self {
            as_of: d.as_of.to_string(),
            currency: state.config().currency.code(),
            total_outstanding: m(d.total_outstanding),
            total_overdue: m(d.total_overdue),
            total_credit: m(d.total_credit),
            collected_today: m(d.collected_today),
            collected_this_month: m(d.collected_this_month),
            active_customers: d.active_customers,
            customers_by_status: d.customers_by_status,
            ageing: AgeingView {
                current: m(d.ageing.current),
                days_1_30: m(d.ageing.days_1_30),
                days_31_60: m(d.ageing.days_31_60),
                days_61_90: m(d.ageing.days_61_90),
                days_over_90: m(d.ageing.days_over_90),
            },
            collections_by_month: periods(d.collections_by_month),
            collections_by_day: periods(d.collections_by_day),
            top_debtors: d
                .top_debtors
                .into_iter()
                .map(|t| DebtorView {
                    customer_id: t.customer_id,
                    name: t.name,
                    balance: m(t.balance),
                    overdue: m(t.overdue),
                })
                .collect(),
            days_sales_outstanding: d.days_sales_outstanding,
            pending_payments: d.pending_payments,
            recent_activity: d.recent_activity,
        }
    }
}

/// Collections at a glance: outstanding, overdue, collected, customers by state, ageing, trends, top debtors.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "dashboard", responses(
    (status = 200, body = DashboardView),
    (status = 401, body = Problem),
))]
async fn dashboard(
    State(state): State<App>,
    Caller(actor): Caller,
) -> ApiResult<Json<DashboardView>> {
    let figures = state.dashboard(&actor).await?;
    Ok(Json(DashboardView::new(&state, figures)))
}
