//! The staff console: the routes of every page and the steps they share
//! (the signed-in staff member, form checks, a record's id).

mod accounts;
mod customer;
mod customers;
mod dashboard;
mod entries;
mod logs;
mod messages;
mod pending;
mod settings;

pub(super) use customer::statement_for;
pub(crate) use entries::repeat_page;

use super::{Chrome, Visitor, csrf_refused, error_page};
use crate::app::{Actor, App};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/dashboard", get(dashboard::dashboard))
        .route(
            "/customers",
            get(customers::customers).post(customers::create_customer),
        )
        .route("/customers.csv", get(customers::customers_csv))
        .route("/customers/new", get(customers::new_customer))
        .route("/customers/{id}", get(customer::customer_page))
        .route(
            "/customers/{id}/edit",
            get(customers::edit_customer).post(customers::update_customer),
        )
        .route("/customers/{id}/statement", get(customer::statement_page))
        .route(
            "/customers/{id}/statement.csv",
            get(customer::statement_csv),
        )
        .route("/customers/{id}/dues", post(entries::add_due))
        .route("/customers/{id}/dues/new", get(entries::new_due))
        .route("/customers/{id}/payments", post(entries::record_payment))
        .route("/customers/{id}/payments/new", get(entries::new_payment))
        .route("/customers/{id}/message", post(messages::send_message))
        .route("/customers/{id}/reminders", post(messages::set_reminders))
        .route(
            "/customers/{id}/reset-credentials",
            post(messages::reset_credentials),
        )
        .route("/customers/{id}/delete", post(customers::delete_customer))
        .route("/customers/{id}/restore", post(customers::restore_customer))
        .route("/customers/{id}/purge", post(customers::purge_customer))
        .route("/dues/{id}/void", post(entries::void_due))
        .route("/payments/{id}/void", post(entries::void_payment))
        .route("/payments/pending", get(pending::pending))
        .route("/payments/{id}/confirm", post(pending::confirm_payment))
        .route("/payments/{id}/reject", post(pending::reject_payment))
        .route(
            "/notifications",
            get(messages::notifications).post(messages::send_notifications),
        )
        .route("/activity", get(logs::activity))
        .route("/activity.csv", get(logs::activity_csv))
        .route("/signins", get(logs::signins))
        .route("/emails", get(logs::emails))
        .route(
            "/staff",
            get(accounts::staff_page).post(accounts::create_staff),
        )
        .route("/staff/{id}/role", post(accounts::change_role))
        .route("/staff/{id}/delete", post(accounts::delete_staff))
        .route(
            "/settings",
            get(settings::settings).post(settings::save_settings),
        )
}

// The signed-in staff member and the page frame.
use super::signed_in_page as staff;

fn id_of(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// A staff form about one record (`what`, such as "customer"): the CSRF
/// check, the actor, the frame and the record's id, or the page saying why not.
async fn posted_about(
    state: &App,
    v: &Visitor,
    csrf: &str,
    raw_id: &str,
    what: &str,
    back: &str,
) -> Result<(Actor, Chrome, i64), Response> {
    let (actor, page) = staff_form(state, v, csrf).await?;
    match id_of(raw_id) {
        Some(id) => Ok((actor, page, id)),
        None => Err(error_page(
            page,
            StatusCode::NOT_FOUND,
            &format!("There is no such {what}."),
            back,
        )),
    }
}

/// Checks the CSRF token of a staff form and returns the actor.
async fn staff_form(state: &App, v: &Visitor, csrf: &str) -> Result<(Actor, Chrome), Response> {
    let (actor, chrome) = staff(state, v, "", "").await?;
    if !v.csrf_ok(csrf) {
        return Err(csrf_refused(chrome));
    }
    Ok((actor, chrome))
}

fn describe_action(action: &str) -> String {
    match action {
        "customer.created" => "Customer added",
        "customer.updated" => "Customer edited",
        "customer.deleted" => "Customer deleted",
        "customer.restored" => "Customer restored",
        "customer.purged" => "Customer's personal data purged",
        "due.created" => "Due recorded",
        "due.voided" => "Due voided",
        "payment.recorded" => "Payment recorded",
        "payment.voided" => "Payment voided",
        "payment.submitted" => "Payment reported by customer",
        "payment.confirmed" => "Payment confirmed",
        "payment.rejected" => "Payment rejected",
        "reminder.queued" => "Reminder sent",
        "notification.queued" => "Message sent",
        "staff.created" => "Staff account created",
        "staff.updated" => "Staff account changed",
        "staff.deleted" => "Staff account deleted",
        "customer.password_set" => "Customer chose a password",
        "customer.credentials_reset" => "Reset link sent",
        "password.changed" => "Password changed",
        "settings.changed" => "Settings changed",
        other => other,
    }
    .to_string()
}

/// A staff page about one customer: the frame and the customer's id, or
/// the page that says why not.
async fn customer_frame(
    state: &App,
    v: &Visitor,
    title: &str,
    raw_id: &str,
) -> Result<(Chrome, i64), Response> {
    let (_, page) = staff(state, v, title, "customers").await?;
    match id_of(raw_id) {
        Some(id) => Ok((page, id)),
        None => Err(error_page(
            page,
            StatusCode::NOT_FOUND,
            "There is no such customer.",
            "/customers",
        )),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    paused: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}
