//! Staff accounts: the list, creating an account, changing a role and
//! deleting an account.

use super::{posted_about, staff, staff_form};
use crate::app::staff::{StaffEdit, StaffInput, assignable_roles, manageable};
use crate::app::{Actor, App, AppResult};
use crate::web::forms::FormState;
use crate::web::{Chrome, Visitor, app_error_page, error_page, redirect_with, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

struct StaffRow {
    id: i64,
    username: String,
    role: String,
    email: String,
    deleted: bool,
    manageable: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    page: Chrome,
    rows: Vec<StaffRow>,
    form: FormState,
    roles: Vec<&'static str>,
}

async fn staff_list(state: &App, actor: &Actor) -> AppResult<Vec<StaffRow>> {
    Ok(state
        .staff_accounts(actor)
        .await?
        .into_iter()
        .map(|m| StaffRow {
            id: m.id,
            manageable: manageable(actor, &m),
            username: m.username,
            role: m.role.as_str().to_string(),
            email: m.email.unwrap_or_else(|| "—".into()),
            deleted: m.disabled_at.is_some(),
        })
        .collect())
}

fn roles_for(actor: &Actor) -> Vec<&'static str> {
    assignable_roles(actor)
        .into_iter()
        .map(|r| r.as_str())
        .collect()
}

pub(super) async fn staff_page(State(state): State<App>, v: Visitor) -> Response {
    let (actor, page) = match staff(&state, &v, "Staff", "staff").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = match staff_list(&state, &actor).await {
        Ok(rows) => rows,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    let shown = page.flash.is_some();
    render(
        &StaffPage {
            page,
            rows,
            form: FormState::with_values(&[("role", "staff")]),
            roles: roles_for(&actor),
        },
        StatusCode::OK,
        shown,
    )
}

#[derive(Deserialize)]
pub(super) struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
}

pub(super) async fn create_staff(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<StaffForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("username", &f.username),
        ("role", &f.role),
        ("email", &f.email),
    ]);
    let input = StaffInput {
        username: f.username.clone(),
        password: f.password.clone(),
        role: f.role.clone(),
        email: Some(f.email.clone()),
    };
    match state.create_staff(&actor, &input).await {
        Ok(m) => {
            return redirect_with(
                "/staff",
                "ok",
                &format!("Created {} ({}).", m.username, m.role.as_str()),
            );
        }
        Err(e) => form.fail_with(&e),
    }
    let rows = match staff_list(&state, &actor).await {
        Ok(rows) => rows,
        Err(e) => return app_error_page(page, e, "/dashboard"),
    };
    render(
        &StaffPage {
            page: Chrome {
                title: "Staff".into(),
                active: "staff",
                ..page
            },
            rows,
            form,
            roles: roles_for(&actor),
        },
        StatusCode::OK,
        false,
    )
}

#[derive(Deserialize)]
pub(super) struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn change_role(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(id) = super::id_of(&id) else {
        return error_page(
            page,
            StatusCode::NOT_FOUND,
            "There is no such account.",
            "/staff",
        );
    };
    let edit = StaffEdit {
        role: Some(f.role.clone()),
        ..Default::default()
    };
    match state.update_staff(&actor, id, &edit).await {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("{} is now {}.", m.username, m.role.as_str()),
        ),
        Err(e) => app_error_page(page, e, "/staff"),
    }
}

pub(super) async fn delete_staff(
    State(state): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page, id) = match posted_about(&state, &v, &f.csrf, &id, "account", "/staff").await
    {
        Ok(x) => x,
        Err(r) => return r,
    };
    if f.confirm != "yes" {
        return redirect_with(
            "/staff",
            "error",
            "Tick the box to confirm deleting the account.",
        );
    }
    match state.delete_staff(&actor, id).await {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("Deleted {}; they can no longer sign in.", m.username),
        ),
        Err(e) => app_error_page(page, e, "/staff"),
    }
}
