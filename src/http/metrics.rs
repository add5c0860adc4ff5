//! `GET /metrics`: operational figures in the Prometheus text format —
//! responses by status class, the outbox by state, portal payments waiting,
//! and whether the database answers. No amounts of money: those are for
//! signed-in staff.

use crate::app::App;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write;

pub fn router() -> Router<App> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<App>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP duetrack_http_responses_total HTTP responses this node sent, by status class.\n",
    );
    out.push_str("# TYPE duetrack_http_responses_total counter\n");
    for (class, count) in state.counters.snapshot() {
        let _ = writeln!(
            out,
            "duetrack_http_responses_total{{class=\"{class}xx\"}} {count}"
        );
    }
    let figures = state.operational_figures().await;
    out.push_str("# HELP duetrack_database_up Whether the database answered this scrape.\n# TYPE duetrack_database_up gauge\n");
    let _ = writeln!(out, "duetrack_database_up {}", i32::from(figures.is_ok()));
    if let Ok(f) = figures {
        out.push_str("# HELP duetrack_emails Messages in the outbox, by state.\n# TYPE duetrack_emails gauge\n");
        for (status, n) in &f.emails {
            let _ = writeln!(out, "duetrack_emails{{status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP duetrack_payments_pending Portal payments waiting for staff.\n# TYPE duetrack_payments_pending gauge\n");
        let _ = writeln!(out, "duetrack_payments_pending {}", f.pending_payments);
        out.push_str(
            "# HELP duetrack_customers Customers, by state.\n# TYPE duetrack_customers gauge\n",
        );
        let _ = writeln!(
            out,
            "duetrack_customers{{status=\"active\"}} {}",
            f.active_customers
        );
        let _ = writeln!(
            out,
            "duetrack_customers{{status=\"deleted\"}} {}",
            f.deleted_customers
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
