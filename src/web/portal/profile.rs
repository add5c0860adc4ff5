//! The customer's profile: contact details, changing the password and
//! closing the account.

use super::customer;
use crate::app::input::Patch;
use crate::app::{Actor, App};
use crate::domain::money::Money;
use crate::edge::ClientInfo;
use crate::web::forms::{FormState, money};
use crate::web::{Chrome, Visitor, app_error_page, csrf_refused, redirect_with, render};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "portal_profile.html")]
struct ProfilePage {
    page: Chrome,
    name: String,
    username: String,
    profile: FormState,
    password: FormState,
    can_close: bool,
    zero: String,
}

async fn show_profile(
    state: &App,
    actor: &Actor,
    page: Chrome,
    profile: Option<FormState>,
    password: FormState,
    status: StatusCode,
) -> Response {
    let account = match state.own_account_view(actor).await {
        Ok(a) => a,
        Err(e) => return app_error_page(page, e, "/portal"),
    };
    let pending = account.pending().next().is_some();
    let c = account.customer;
    let profile = profile.unwrap_or_else(|| {
        FormState::with_values(&[
            ("phone", c.phone.as_deref().unwrap_or("")),
            ("email", c.email.as_deref().unwrap_or("")),
        ])
    });
    let shown = page.flash.is_some();
    render(
        &ProfilePage {
            page: Chrome {
                title: "Profile".into(),
                active: "profile",
                ..page
            },
            name: c.name,
            username: c.username,
            profile,
            password,
            can_close: c.balance.is_zero() && !pending,
            zero: money(state, Money::ZERO),
        },
        status,
        shown,
    )
}

pub(super) async fn profile(State(state): State<App>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    show_profile(
        &state,
        &me,
        page,
        None,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

pub(super) async fn update_profile(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<ProfileForm>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    let mut form = FormState::with_values(&[("phone", &f.phone), ("email", &f.email)]);
    match state
        .update_own_profile(
            &me,
            Patch::from_form(f.phone.clone()),
            Patch::from_form(f.email.clone()),
        )
        .await
    {
        Ok(_) => return redirect_with("/portal/profile", "ok", "Your details are saved."),
        Err(e) => form.fail_with(&e),
    }
    show_profile(
        &state,
        &me,
        page,
        Some(form),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub(super) async fn change_password(
    State(state): State<App>,
    v: Visitor,
    ClientInfo(client): ClientInfo,
    Form(f): Form<PasswordForm>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    let mut form = FormState::default();
    match state
        .change_own_password(&v.session, &f.current_password, &f.new_password, &client)
        .await
    {
        Ok(()) => {
            return redirect_with(
                "/portal/profile",
                "ok",
                "Your password is changed. Other sign-ins have ended.",
            );
        }
        Err(e) => form.fail_with(&e),
    }
    show_profile(&state, &me, page, None, form, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn close(
    State(state): State<App>,
    v: Visitor,
    Form(f): Form<CloseForm>,
) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused(page);
    }
    if f.confirm != "yes" {
        return redirect_with(
            "/portal/profile",
            "error",
            "Tick “Yes, close my account” to close it.",
        );
    }
    match state.close_own_account(&me).await {
        Ok(_) => redirect_with(
            "/login",
            "ok",
            "Your account is closed. A confirmation is on its way to your email.",
        ),
        Err(e) => app_error_page(page, e, "/portal/profile"),
    }
}
