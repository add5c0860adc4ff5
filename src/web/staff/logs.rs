//! The logs: activity, sign-ins and email, each a filtered page of 50.

use super::{describe_action, staff};
use crate::app::App;
use crate::app::{ActivityFilter, EmailFilter, SigninFilter};
use crate::web::forms::when;
use crate::web::{Chrome, Visitor, app_error_page, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(super) struct LogQuery {
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    page: Chrome,
    heading: String,
    intro: String,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    filter_label: String,
    filter_name: String,
    filter_value: String,
    options: Vec<(String, String)>,
    option_name: String,
    option_value: String,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
    /// Where the entries shown download as CSV, if they do.
    download: Option<String>,
    base: String,
}

fn log_paging(q: &LogQuery) -> (i64, i64) {
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    (page, (page - 1) * 50)
}

fn page_links(base: &str, extra: &str, page: i64, total: i64) -> (Option<String>, Option<String>) {
    let pages = ((total + 49) / 50).max(1);
    let link = |p: i64| format!("{base}?{extra}page={p}");
    (
        (page > 1).then(|| link(page - 1)),
        (page < pages).then(|| link(page + 1)),
    )
}

pub(super) async fn activity(
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<LogQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Activity", "activity").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = activity_filter(&q);
    let (items, total) = match state.activity(v.actor(), &filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|e| {
            let change = e.after.map(|a| a.to_string()).unwrap_or_default();
            vec![
                when(&state, &e.at),
                e.actor,
                describe_action(&e.action),
                format!("{} {}", e.entity_type, e.entity_id),
                truncate(&change, 160),
            ]
        })
        .collect();
    let extra = format!(
        "q={}&kind={}&",
        crate::web::percent_encode(q.q.as_deref().unwrap_or("")),
        crate::web::percent_encode(q.kind.as_deref().unwrap_or(""))
    );
    let (prev, next) = page_links("/activity", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Activity".into(),
            intro: "Every change, who made it and when. Each entry is chained to the one before it; `duetrack verify` checks the chain.".into(),
            columns: vec!["When", "Who", "What", "Record", "Change"],
            rows,
            filter_label: "Who (username)".into(),
            filter_name: "q".into(),
            filter_value: q.q.clone().unwrap_or_default(),
            options: [("", "Everything"), ("customer", "Customers"), ("due", "Dues"), ("payment", "Payments"), ("staff", "Staff"), ("notification", "Messages")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            option_name: "kind".into(),
            option_value: q.kind.clone().unwrap_or_default(),
            total,
            prev,
            next,
            download: Some(format!("/activity.csv?{}", extra.trim_end_matches('&'))),
            base: "/activity".into(),
        },
        StatusCode::OK,
        false,
    )
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

pub(super) async fn signins(
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<LogQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Sign-ins", "signins").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = SigninFilter {
        username: q
            .q
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string()),
        success: match q.status.as_deref() {
            Some("ok") => Some(true),
            Some("failed") => Some(false),
            _ => None,
        },
        ..Default::default()
    };
    let (items, total) = match state.signins(v.actor(), &filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|s| {
            vec![
                when(&state, &s.at),
                s.username,
                s.kind.as_str().replace('_', " "),
                if s.success {
                    "ok".into()
                } else {
                    format!("refused: {}", s.reason.replace('_', " "))
                },
                s.address,
                truncate(&s.user_agent.unwrap_or_default(), 60),
            ]
        })
        .collect();
    let extra = format!(
        "q={}&status={}&",
        crate::web::percent_encode(q.q.as_deref().unwrap_or("")),
        q.status.as_deref().unwrap_or("")
    );
    let (prev, next) = page_links("/signins", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Sign-in log".into(),
            intro: "Every attempt to sign in, set a password or ask for a reset, with where it came from.".into(),
            columns: vec!["When", "User name", "Kind", "Result", "Address", "Browser"],
            rows,
            filter_label: "User name".into(),
            filter_name: "q".into(),
            filter_value: q.q.clone().unwrap_or_default(),
            options: [("", "All attempts"), ("ok", "Successful"), ("failed", "Refused")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            option_name: "status".into(),
            option_value: q.status.clone().unwrap_or_default(),
            total,
            prev,
            next,
            download: None,
            base: "/signins".into(),
        },
        StatusCode::OK,
        false,
    )
}

pub(super) async fn emails(
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<LogQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Email log", "emails").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page_no, offset) = log_paging(&q);
    let filter = EmailFilter {
        status: q
            .status
            .clone()
            .filter(|s| ["queued", "sending", "sent", "failed"].contains(&s.as_str())),
        kind: q.kind.clone().filter(|s| !s.is_empty()),
        customer_id: None,
    };
    let (items, total) = match state.emails(v.actor(), &filter, 50, offset).await {
        Ok(x) => x,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    let rows = items
        .into_iter()
        .map(|e| {
            vec![
                when(&state, &e.created_at),
                e.recipient,
                e.kind.as_str().replace('_', " "),
                e.subject,
                e.status.to_string(),
                e.attempts.to_string(),
                e.last_error.unwrap_or_default(),
            ]
        })
        .collect();
    let extra = format!("status={}&", q.status.as_deref().unwrap_or(""));
    let (prev, next) = page_links("/emails", &extra, page_no, total);
    render(
        &LogPage {
            page,
            heading: "Email log".into(),
            intro: "Every message in the outbox and what became of it.".into(),
            columns: vec![
                "Queued",
                "To",
                "Kind",
                "Subject",
                "Status",
                "Attempts",
                "Last error",
            ],
            rows,
            filter_label: "Kind (e.g. reminder)".into(),
            filter_name: "kind".into(),
            filter_value: q.kind.clone().unwrap_or_default(),
            options: [
                ("", "Any status"),
                ("queued", "Queued"),
                ("sent", "Sent"),
                ("failed", "Failed"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            option_name: "status".into(),
            option_value: q.status.clone().unwrap_or_default(),
            total,
            prev,
            next,
            download: None,
            base: "/emails".into(),
        },
        StatusCode::OK,
        false,
    )
}

/// The activity filter a query asks for: who, and which kind of record.
fn activity_filter(q: &LogQuery) -> ActivityFilter {
    ActivityFilter {
        actor: q
            .q
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string()),
        entity_type: q.kind.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    }
}

/// The activity matching the page's filter as a CSV download (newest
/// first, up to 100000 entries, with their hashes).
pub(super) async fn activity_csv(
    State(state): State<App>,
    v: Visitor,
    Query(q): Query<LogQuery>,
) -> Response {
    let (_, page) = match staff(&state, &v, "Activity", "activity").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .activity(v.actor(), &activity_filter(&q), 100_000, 0)
        .await
    {
        Ok((items, _)) => crate::edge::csv_download(&state.activity_table(&items)),
        Err(e) => app_error_page(page, e, "/activity"),
    }
}
