//! Which action each signed-in page performs, read from the one permission
//! table, and the guard that asks the application layer before a page is
//! shown or a form is taken. Handlers name no role; the use cases they call
//! check the same table again.

use super::{Chrome, Visitor, error_page};
use crate::app::{Action, App};
use crate::domain::permissions::Holder;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Every page and form behind a sign-in: (method, path as routed, action).
pub const ROUTES: &[(&str, &str, Action)] = &[
    ("GET", "/dashboard", Action::ViewDashboard),
    ("GET", "/customers", Action::ViewCustomers),
    ("POST", "/customers", Action::CreateCustomer),
    ("GET", "/customers.csv", Action::ViewCustomers),
    ("GET", "/customers/new", Action::CreateCustomer),
    ("GET", "/customers/{id}", Action::ViewCustomers),
    ("GET", "/customers/{id}/edit", Action::EditCustomer),
    ("POST", "/customers/{id}/edit", Action::EditCustomer),
    ("GET", "/customers/{id}/statement", Action::ViewCustomers),
    (
        "GET",
        "/customers/{id}/statement.csv",
        Action::ViewCustomers,
    ),
    ("POST", "/customers/{id}/dues", Action::AddDue),
    ("GET", "/customers/{id}/dues/new", Action::AddDue),
    ("POST", "/customers/{id}/payments", Action::RecordPayment),
    ("GET", "/customers/{id}/payments/new", Action::RecordPayment),
    ("POST", "/customers/{id}/message", Action::SendMessage),
    ("POST", "/customers/{id}/reminders", Action::PauseReminders),
    (
        "POST",
        "/customers/{id}/reset-credentials",
        Action::ResetCredentials,
    ),
    ("POST", "/customers/{id}/delete", Action::DeleteCustomer),
    ("POST", "/customers/{id}/restore", Action::RestoreCustomer),
    ("POST", "/customers/{id}/purge", Action::PurgeCustomer),
    ("POST", "/dues/{id}/void", Action::VoidEntry),
    ("POST", "/payments/{id}/void", Action::VoidEntry),
    ("GET", "/payments/pending", Action::ReviewPayments),
    ("POST", "/payments/{id}/confirm", Action::ReviewPayments),
    ("POST", "/payments/{id}/reject", Action::ReviewPayments),
    ("GET", "/notifications", Action::SendMessage),
    ("POST", "/notifications", Action::SendMessage),
    ("GET", "/activity", Action::ViewActivity),
    ("GET", "/activity.csv", Action::ViewActivity),
    ("GET", "/signins", Action::ViewSignins),
    ("GET", "/emails", Action::ViewEmails),
    ("GET", "/staff", Action::ManageStaff),
    ("POST", "/staff", Action::ManageStaff),
    ("POST", "/staff/{id}/role", Action::ManageStaff),
    ("POST", "/staff/{id}/delete", Action::ManageStaff),
    ("GET", "/settings", Action::EditSettings),
    ("POST", "/settings", Action::EditSettings),
    ("GET", "/portal", Action::ViewOwnAccount),
    ("POST", "/portal/pay", Action::ReportPayment),
    ("GET", "/portal/payments", Action::ViewOwnAccount),
    ("GET", "/portal/receipts/{id}", Action::ViewOwnAccount),
    ("GET", "/portal/statement", Action::ViewOwnAccount),
    ("GET", "/portal/statement.csv", Action::ViewOwnAccount),
    ("GET", "/portal/profile", Action::ViewOwnAccount),
    ("POST", "/portal/profile", Action::EditOwnProfile),
    ("POST", "/portal/password", Action::EditOwnProfile),
    ("POST", "/portal/close", Action::CloseOwnAccount),
];

/// The action behind a page, if it is one of the signed-in ones.
pub fn action_of(method: &Method, path: &str) -> Option<Action> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, action)| *action)
}

/// Asks the application whether the visitor may reach this page; anyone
/// not signed in is sent to sign in first, anyone refused gets a page
/// saying why, with a way back to where they belong.
pub async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let action = parts
        .extensions
        .get::<MatchedPath>()
        .and_then(|p| action_of(&parts.method, p.as_str()));
    let Some(action) = action else {
        // A route missing from the table is refused rather than left open.
        tracing::error!(path = %parts.uri.path(), "a page has no entry in the permission table");
        return StatusCode::FORBIDDEN.into_response();
    };
    let visitor = match Visitor::from_request_parts(&mut parts, &app).await {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if let Err(refusal) = app.authorize(visitor.actor(), action) {
        let staff = App::is_staff(visitor.actor());
        let (home, message) = match (staff, action.holder()) {
            (true, Holder::Customer) => (
                "/dashboard",
                "This page is for customers, to see their own account. Staff use the console."
                    .to_string(),
            ),
            (false, _) => (
                "/portal",
                "This page is for the shop's staff. Your account is under “My account”."
                    .to_string(),
            ),
            (true, _) => ("/dashboard", super::sentence(&refusal.to_string())),
        };
        let page: Chrome = visitor.chrome(&app, "Not allowed", "").await;
        return error_page(page, StatusCode::FORBIDDEN, &message, home);
    }
    next.run(Request::from_parts(parts, body)).await
}
