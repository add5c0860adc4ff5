//! The customer portal: balance and open dues, paying (pending until staff
//! confirm, with a UPI QR code when the shop has a UPI id), payment history
//! with printable receipts, the statement, and the profile. This file holds
//! the routes.

mod home;
mod pay;
mod payments;
mod profile;

// The signed-in customer and the page frame.
use super::signed_in_page as customer;
use crate::app::App;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<App> {
    Router::new()
        .route("/portal", get(home::home))
        .route("/portal/pay", post(pay::pay))
        .route("/portal/payments", get(payments::payments))
        .route("/portal/receipts/{id}", get(payments::receipt))
        .route("/portal/statement", get(payments::statement))
        .route("/portal/statement.csv", get(payments::statement_csv))
        .route(
            "/portal/profile",
            get(profile::profile).post(profile::update_profile),
        )
        .route("/portal/password", post(profile::change_password))
        .route("/portal/close", post(profile::close))
}
