//! Staff accounts: the list, creating an account, changing a role and
//! deleting an account.

use super::{id_of, opt, posted_about, staff, staff_form};
use crate::domain::access::Role;
use crate::domain::fields::Email;
use crate::http::AppState;
use crate::http::auth::Actor;
use crate::store::staff::{NewStaff, StaffPatch};
use crate::web::forms::FormState;
use crate::web::{Chrome, Visitor, error_page, redirect_with, render, store_error_page};
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

async fn staff_list(state: &AppState, actor: &Actor) -> Vec<StaffRow> {
    state
        .store
        .list_staff()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| StaffRow {
            id: m.id,
            manageable: m.id != actor.id
                && (actor.role == Role::Owner || m.role != Role::Owner)
                && m.disabled_at.is_none(),
            username: m.username,
            role: m.role.as_str().to_string(),
            email: m.email.unwrap_or_else(|| "—".into()),
            deleted: m.disabled_at.is_some(),
        })
        .collect()
}

fn roles_for(actor: &Actor) -> Vec<&'static str> {
    if actor.role == Role::Owner {
        vec!["staff", "admin", "owner"]
    } else {
        vec!["staff", "admin"]
    }
}

pub(super) async fn staff_page(State(state): State<AppState>, v: Visitor) -> Response {
    let (actor, page) = match staff(&state, &v, Role::Admin, "Staff", "staff").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = staff_list(&state, &actor).await;
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
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<StaffForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Admin, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut form = FormState::with_values(&[
        ("username", &f.username),
        ("role", &f.role),
        ("email", &f.email),
    ]);
    let username = f.username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        form.fail(
            "username",
            "Use 1 to 64 letters, digits, dots, dashes or underscores.",
        );
    }
    if let Err(why) = crate::domain::access::check_new_password(&f.password, username) {
        form.fail("password", format!("The password {why}."));
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        form.fail("role", "Choose a role.");
    }
    let email = opt(&mut form, "email", &f.email, |r| {
        Email::parse(r)
            .map(|e| e.as_str().to_string())
            .map_err(|e| format!("Email {e}"))
    });
    if let (Some(role), true) = (role, form.is_ok()) {
        let new = NewStaff {
            username: username.to_string(),
            password: f.password.clone(),
            role,
            email,
        };
        match state
            .store
            .create_staff(actor.label(), actor.role, new)
            .await
        {
            Ok(m) => {
                return redirect_with(
                    "/staff",
                    "ok",
                    &format!("Created {} ({}).", m.username, m.role.as_str()),
                );
            }
            Err(e) => form.fail_with(&e),
        }
    }
    let rows = staff_list(&state, &actor).await;
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
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page) = match staff_form(&state, &v, Role::Admin, &f.csrf).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (Some(id), Some(role)) = (id_of(&id), Role::parse(&f.role)) else {
        return error_page(page, StatusCode::OK, "Choose a role.", "/staff");
    };
    match state
        .store
        .update_staff(
            actor.label(),
            actor.role,
            id,
            StaffPatch {
                role: Some(role),
                ..Default::default()
            },
        )
        .await
    {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("{} is now {}.", m.username, m.role.as_str()),
        ),
        Err(e) => store_error_page(page, e, "/staff"),
    }
}

pub(super) async fn delete_staff(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let (actor, page, id) =
        match posted_about(&state, &v, Role::Admin, &f.csrf, &id, "account", "/staff").await {
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
    match state
        .store
        .delete_staff(actor.label(), actor.id, actor.role, id)
        .await
    {
        Ok(m) => redirect_with(
            "/staff",
            "ok",
            &format!("Deleted {}; they can no longer sign in.", m.username),
        ),
        Err(e) => store_error_page(page, e, "/staff"),
    }
}
