//! The shop's settings: the page and saving it.

use super::{staff, staff_form};
use crate::app::App;
use crate::web::forms::FormState;
use crate::web::{Chrome, Visitor, redirect_with, render};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Chrome,
    form: FormState,
    policies: Vec<(&'static str, &'static str)>,
    /// (what, now, variable) for settings that only the environment sets.
    fixed: Vec<(&'static str, String, &'static str)>,
}

fn settings_page(state: &App, page: Chrome, form: Option<FormState>) -> SettingsPage {
    let c = state.config();
    let form = form.unwrap_or_else(|| {
        let values: Vec<(String, String)> = crate::config::Config::EDITABLE
            .iter()
            .map(|k| (k.to_string(), c.setting(k)))
            .collect();
        FormState {
            values: values.into_iter().collect(),
            ..Default::default()
        }
    });
    SettingsPage {
        page,
        form,
        policies: vec![
            (
                "default",
                "3 days before the due date, on the day, then weekly while overdue",
            ),
            ("daily", "Every day while a balance is open"),
        ],
        fixed: vec![
            (
                "Daily run in this server",
                if c.scheduler_enabled {
                    "on".into()
                } else {
                    "off".into()
                },
                "DUETRACK_SCHEDULER",
            ),
            ("Links in emails", c.base_url.clone(), "DUETRACK_BASE_URL"),
            (
                "Email",
                c.smtp
                    .as_ref()
                    .map(|s| format!("{}:{}", s.host, s.port))
                    .unwrap_or_else(|| "no SMTP server: messages are written as .eml files".into()),
                "SMTP_HOST",
            ),
        ],
    }
}

pub(super) async fn settings(State(state): State<App>, v: Visitor) -> Response {
    let (_, page) = match staff(&state, &v, "Settings", "settings").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let shown = page.flash.is_some();
    render(&settings_page(&state, page, None), StatusCode::OK, shown)
}

#[derive(Deserialize)]
pub(super) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    shop_name: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    reminder_time: String,
    #[serde(default)]
    reminder_policy: String,
    #[serde(default)]
    upi_id: String,
}

pub(super) async fn save_settings(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let changes: Vec<(String, String)> = [
        ("shop_name", &f.shop_name),
        ("currency", &f.currency),
        ("timezone", &f.timezone),
        ("reminder_time", &f.reminder_time),
        ("reminder_policy", &f.reminder_policy),
        ("upi_id", &f.upi_id),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.trim().to_string()))
    .collect();
    let mut form = FormState {
        values: changes.iter().cloned().collect(),
        ..Default::default()
    };
    if f.shop_name.trim().is_empty() || f.shop_name.chars().count() > 100 {
        form.fail("shop_name", "Give the shop a name of up to 100 characters.");
    } else {
        match state.save_settings(&actor, &changes).await {
            Ok(_) => {
                return redirect_with("/settings", "ok", "Settings saved. They apply at once.");
            }
            Err(e) => form.fail_with(&e),
        }
    }
    let page = Chrome {
        title: "Settings".into(),
        active: "settings",
        ..page
    };
    render(
        &settings_page(&state, page, Some(form)),
        StatusCode::OK,
        false,
    )
}
