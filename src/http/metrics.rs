//! `GET /metrics`: operational figures in the Prometheus text format —
//! responses by status class, the outbox by state, portal payments waiting,
//! and whether the database answers. No amounts of money: those are for
//! signed-in staff.

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters kept in memory by this node since it started.
#[derive(Debug, Default)]
pub struct Counters {
    by_class: [AtomicU64; 5],
}

impl Counters {
    pub fn count(&self, status: u16) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP duetrack_http_responses_total HTTP responses this node sent, by status class.\n",
    );
    out.push_str("# TYPE duetrack_http_responses_total counter\n");
    for (i, counter) in state.counters.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "duetrack_http_responses_total{{class=\"{}xx\"}} {}",
            i + 1,
            counter.load(Ordering::Relaxed)
        );
    }
    let figures = state.store.operational_figures().await;
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
