//! Messages to customers: the notifications page, a message to one
//! customer, pausing their reminders and sending them a reset link.

use super::customer::{Forms, show_customer};
use super::{CsrfOnly, posted_about, staff, staff_form};
use crate::app::App;
use crate::app::Audience;
use crate::edge::ClientInfo;
use crate::web::forms::FormState;
use crate::web::{Chrome, Visitor, app_error_page, redirect_with, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Chrome,
    form: FormState,
    audiences: Vec<(&'static str, &'static str)>,
}

pub(super) async fn notifications(State(state): State<App>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, "Send a message", "notifications").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let shown = page.flash.is_some();
    render(
        &NotificationsPage {
            page,
            form: FormState::with_values(&[("to", "with_balance")]),
            audiences: AUDIENCES.to_vec(),
        },
        StatusCode::OK,
        shown,
    )
}

const AUDIENCES: [(&str, &str); 4] = [
    ("with_balance", "Everyone with a balance"),
    ("overdue", "Everyone overdue"),
    ("all", "All customers"),
    ("selected", "Customers by id (below)"),
];

#[derive(Deserialize)]
pub(super) struct NotificationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    ids: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

pub(super) async fn send_notifications(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<NotificationForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("to", &f.to),
        ("ids", &f.ids),
        ("subject", &f.subject),
        ("body", &f.body),
    ]);
    let audience = match f.to.as_str() {
        "with_balance" => Some(Audience::WithBalance),
        "overdue" => Some(Audience::Overdue),
        "all" => Some(Audience::All),
        "selected" => {
            let ids: Result<Vec<i64>, _> = f
                .ids
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<i64>())
                .collect();
            match ids {
                Ok(ids) if !ids.is_empty() => Some(Audience::Customers(ids)),
                _ => {
                    form.fail(
                        "ids",
                        "List customer ids separated by commas, e.g. 12, 15, 31.",
                    );
                    None
                }
            }
        }
        _ => {
            form.fail("to", "Choose who gets the message.");
            None
        }
    };
    if let (Some(audience), true) = (audience, form.is_ok()) {
        match state
            .send_message(&actor, &audience, &f.subject, &f.body)
            .await
        {
            Ok(o) => {
                let skipped = if o.skipped.is_empty() {
                    String::new()
                } else {
                    format!(" {} without an email address skipped.", o.skipped.len())
                };
                return redirect_with(
                    "/notifications",
                    "ok",
                    &format!("Message queued for {} customer(s).{skipped}", o.queued),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    render(
        &NotificationsPage {
            page: Chrome {
                title: "Send a message".into(),
                active: "notifications",
                ..page
            },
            form,
            audiences: AUDIENCES.to_vec(),
        },
        StatusCode::OK,
        false,
    )
}

#[derive(Deserialize)]
pub(super) struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

pub(super) async fn send_message(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<MessageForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let mut form = FormState::with_values(&[("subject", &f.subject), ("body", &f.body)]);
    {
        match state
            .send_message(&actor, &Audience::Customers(vec![id]), &f.subject, &f.body)
            .await
        {
            Ok(o) if o.queued > 0 => {
                return redirect_with(&format!("/customers/{id}"), "ok", "Message sent.");
            }
            Ok(_) => form.fail("form", "This customer has no email address."),
            Err(e) => form.fail_with(&e),
        }
    }
    show_customer(
        &state,
        &actor,
        page,
        id,
        Forms {
            open: "message",
            msg: form,
        },
        StatusCode::OK,
    )
    .await
}

pub(super) async fn set_reminders(
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
    let paused = f.paused == "true";
    match state.pause_reminders(&actor, id, paused).await {
        Ok(_) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            if paused {
                "Reminders paused."
            } else {
                "Reminders resumed."
            },
        ),
        Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
    }
}

pub(super) async fn reset_credentials(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    ClientInfo(client): ClientInfo,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, &f.csrf, &id, "customer", "/customers").await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match state.reset_credentials(&actor, id, &client).await {
        Ok(c) => redirect_with(
            &format!("/customers/{id}"),
            "ok",
            &format!(
                "A reset link is on its way to {}.",
                c.email.unwrap_or_default()
            ),
        ),
        Err(crate::app::AppError::Throttled(_)) => redirect_with(
            &format!("/customers/{id}"),
            "error",
            "Several reset links went out in the last hour; wait before sending another.",
        ),
        Err(e) => app_error_page(page, e, &format!("/customers/{id}")),
    }
}
