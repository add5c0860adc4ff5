//! `GET /metrics`: operational figures in the Prometheus text format,
//! rendered from the process-wide recorder (see [`crate::telemetry`]):
//! request latency per route, responses by status class, the database
//! pools' use, the outbox's depth and age, reminder runs, and what is
//! counted from the database at each scrape. No amounts of money: those
//! are for signed-in staff.

use crate::app::App;
use crate::telemetry;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics::gauge;
use std::sync::Mutex;

/// Setting the gauges read at a scrape and rendering them happen under
/// one lock, so that two applications in one process (as in the tests)
/// each see their own figures.
static SCRAPE: Mutex<()> = Mutex::new(());

pub fn router() -> Router<App> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<App>) -> impl IntoResponse {
    let handle = telemetry::install();
    let figures = state.operational_figures().await;
    let outbox = state.outbox_depth().await;
    let pools = state.pool_use();
    let body = {
        let _only_us = SCRAPE.lock().unwrap_or_else(|p| p.into_inner());
        gauge!("duetrack_database_up").set(if figures.is_ok() && outbox.is_ok() {
            1.0
        } else {
            0.0
        });
        for pool in pools {
            for (state, n) in [
                ("in_use", pool.in_use),
                ("idle", pool.idle),
                ("max", pool.max),
            ] {
                gauge!("duetrack_db_pool_connections", "pool" => pool.name, "state" => state)
                    .set(f64::from(n));
            }
        }
        if let Ok((depth, age)) = outbox {
            gauge!("duetrack_outbox_depth").set(depth as f64);
            gauge!("duetrack_outbox_oldest_age_seconds").set(age);
        }
        if let Ok(f) = figures {
            for (status, n) in f.emails {
                gauge!("duetrack_emails", "status" => status).set(n as f64);
            }
            gauge!("duetrack_payments_pending").set(f.pending_payments as f64);
            gauge!("duetrack_customers", "status" => "active").set(f.active_customers as f64);
            gauge!("duetrack_customers", "status" => "deleted").set(f.deleted_customers as f64);
        }
        handle.render()
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
