//! Operational figures through the `metrics` facade, exported in the
//! Prometheus text format by `metrics-exporter-prometheus` from our own
//! `GET /metrics` route (no listener of its own). The recorder is
//! process-wide: [`install`] sets it once, however many applications one
//! process builds (the tests build many), so that `metrics::counter!`,
//! `metrics::gauge!` and `metrics::histogram!` work anywhere in the crate.

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Request latency, per route pattern, method and status class.
pub const HTTP_DURATION: &str = "duetrack_http_request_duration_seconds";
/// Responses by status class (kept from the hand-written exporter).
pub const HTTP_RESPONSES: &str = "duetrack_http_responses_total";
/// How long one daily reminder run took to decide and queue.
pub const REMINDER_RUN: &str = "duetrack_reminder_run_duration_seconds";
/// Reminders one run queued.
pub const REMINDERS_QUEUED: &str = "duetrack_reminders_queued_total";
/// Messages the delivery worker handed to the SMTP server.
pub const EMAILS_SENT: &str = "duetrack_emails_sent_total";
/// Payments one group commit wrote (recorded by the payment batcher).
pub const PAYMENT_BATCH_SIZE: &str = "duetrack_payment_batch_size";
/// How long a payment waited for its group commit (recorded by the batcher).
pub const PAYMENT_BATCH_WAIT: &str = "duetrack_payment_batch_wait_seconds";

/// Latency buckets in seconds: 0.5 ms to 10 s.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Batch sizes: powers of two up to 4096.
const COUNTS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder on first call and returns the handle
/// that renders it; later calls return the same handle. When another
/// recorder was installed first (by a program embedding duetrack), ours
/// still renders, only without what the macros record.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(PAYMENT_BATCH_SIZE.into()), COUNTS))
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only what is read at each scrape");
        }
        describe();
        // Histogram samples wait in the recorder until drained: drain them
        // every few seconds, so memory stays flat between scrapes.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer a request, by matched route pattern, method and status class."
    );
    describe_counter!(
        HTTP_RESPONSES,
        "HTTP responses this node sent, by status class."
    );
    describe_histogram!(
        REMINDER_RUN,
        Unit::Seconds,
        "Time one daily run took to decide who is reminded and queue their emails."
    );
    describe_counter!(
        REMINDERS_QUEUED,
        "Reminders queued by daily runs on this node."
    );
    describe_counter!(
        EMAILS_SENT,
        "Messages this node's delivery worker handed to the SMTP server."
    );
    describe_histogram!(
        PAYMENT_BATCH_SIZE,
        Unit::Count,
        "Payments written by one group commit."
    );
    describe_histogram!(
        PAYMENT_BATCH_WAIT,
        Unit::Seconds,
        "Time a payment waited from arrival to its group commit."
    );
    describe_gauge!(
        "duetrack_db_pool_connections",
        "Database connections by pool and state (in_use, idle, max), as of the scrape."
    );
    describe_gauge!(
        "duetrack_outbox_depth",
        "Messages waiting in the outbox (queued or being sent), as of the scrape."
    );
    describe_gauge!(
        "duetrack_outbox_oldest_age_seconds",
        "Age of the oldest message waiting in the outbox; 0 when none waits."
    );
    describe_gauge!(
        "duetrack_database_up",
        "Whether the database answered this scrape."
    );
    describe_gauge!("duetrack_emails", "Messages in the outbox, by state.");
    describe_gauge!(
        "duetrack_payments_pending",
        "Portal payments waiting for staff."
    );
    describe_gauge!("duetrack_customers", "Customers, by state.");
}

/// The class of a status code as a label: "2xx" and so on.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Times and counts every request: the latency histogram is labelled with
/// the route pattern the router matched (`/api/v1/customers/{id}`, never
/// the raw path, so ids do not multiply the series), the method and the
/// status class.
pub async fn track(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let class = status_class(response.status().as_u16());
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method, "class" => class)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_RESPONSES, "class" => class).increment(1);
    response
}

/// A method as a label from a fixed set, so that made-up methods cannot
/// create series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
