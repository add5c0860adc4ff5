//! The customer portal: balance and open dues, paying (pending until staff
//! confirm, with a UPI QR code when the shop has a UPI id), payment history
//! with printable receipts, the statement, and the profile. This file holds
//! the routes and the step every portal page shares: the signed-in customer.

mod home;
mod pay;
mod payments;
mod profile;

use super::{Chrome, Visitor};
use crate::app::{Actor, App};
use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

pub fn router() -> Router<App> {
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

/// The signed-in customer and the page frame. That a customer (and only
/// a customer) reaches these pages was settled by the guard in front of them.
async fn customer(
    state: &App,
    v: &Visitor,
    title: &str,
    active: &'static str,
) -> Result<(Actor, Chrome), Response> {
    Ok((v.actor().clone(), v.chrome(state, title, active).await))
}
