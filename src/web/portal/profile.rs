//! The customer's profile: contact details, changing the password and
//! closing the account.

use super::customer;
use crate::domain::fields::{Email, Phone};
use crate::http::AppState;
use crate::http::auth::ClientInfo;
use crate::store::customers::CustomerPatch;
use crate::web::forms::{FormState, money};
use crate::web::{Chrome, Visitor, csrf_refused, redirect_with, render, store_error_page};
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
    state: &AppState,
    page: Chrome,
    id: i64,
    profile: Option<FormState>,
    password: FormState,
    status: StatusCode,
) -> Response {
    let c = match state.store.customer(id).await {
        Ok(c) => c,
        Err(e) => return store_error_page(page, e, "/portal"),
    };
    let pending = state
        .store
        .customer_payments(id)
        .await
        .map(|p| p.iter().any(|p| p.status == "pending"))
        .unwrap_or(false);
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
            can_close: c.balance == 0 && !pending,
            zero: money(state, 0),
        },
        status,
        shown,
    )
}

pub(super) async fn profile(State(state): State<AppState>, v: Visitor) -> Response {
    let (me, page) = match customer(&state, &v, "Profile", "profile").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    show_profile(
        &state,
        page,
        me.id,
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
    State(state): State<AppState>,
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
    let phone = if f.phone.trim().is_empty() {
        Some(None)
    } else {
        match Phone::parse(&f.phone) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                form.fail("phone", format!("Phone {e}"));
                None
            }
        }
    };
    let email = if f.email.trim().is_empty() {
        Some(None)
    } else {
        match Email::parse(&f.email) {
            Ok(e) => Some(Some(e)),
            Err(e) => {
                form.fail("email", format!("Email {e}"));
                None
            }
        }
    };
    if form.is_ok() {
        let patch = CustomerPatch {
            phone,
            email,
            ..Default::default()
        };
        match state.store.update_customer(&me.label(), me.id, patch).await {
            Ok(_) => return redirect_with("/portal/profile", "ok", "Your details are saved."),
            Err(e) => form.fail_with(&e),
        }
    }
    show_profile(
        &state,
        page,
        me.id,
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
    State(state): State<AppState>,
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
        .store
        .change_password(&v.session, &f.current_password, &f.new_password, &client)
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
    show_profile(&state, page, me.id, None, form, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn close(
    State(state): State<AppState>,
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
    match state.store.close_own_account(&me.label(), me.id).await {
        Ok(_) => redirect_with(
            "/login",
            "ok",
            "Your account is closed. A confirmation is on its way to your email.",
        ),
        Err(e) => store_error_page(page, e, "/portal/profile"),
    }
}
