//! The customer portal: balance and open dues, paying (pending until staff
//! confirm, with a UPI QR code when the shop has a UPI id), payment history
//! with printable receipts, the statement, and the profile. This file holds
//! the routes and the step every portal page shares: the signed-in customer.

mod home;
mod pay;
mod payments;
mod profile;

use super::{Chrome, Visitor};
use crate::http::AppState;
use crate::http::auth::CustomerActor;
use crate::store::auth::Principal;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home::home))
        .route("/portal/pay", post(pay::pay))
        .route("/portal/payments", get(payments::payments))
        .route("/portal/receipts/{id}", get(payments::receipt))
        .route("/portal/statement", get(payments::statement))
        .route(
            "/portal/profile",
            get(profile::profile).post(profile::update_profile),
        )
        .route("/portal/password", post(profile::change_password))
        .route("/portal/close", post(profile::close))
}

async fn customer(
    state: &AppState,
    v: &Visitor,
    title: &str,
    active: &'static str,
) -> Result<(CustomerActor, Chrome), Response> {
    match &v.session.principal {
        Principal::Customer { id, username } => Ok((
            CustomerActor {
                id: *id,
                username: username.clone(),
            },
            v.chrome(state, title, active).await,
        )),
        Principal::Staff { .. } => Err(Redirect::to("/dashboard").into_response()),
    }
}
