//! Which action each API route performs, read from the one permission
//! table: the OpenAPI document's security scopes are written from it, and
//! the authorization tests walk it. The handlers themselves decide nothing;
//! the application layer refuses what the table does not grant.

use crate::domain::permissions::Action;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::SecurityRequirement;

/// Every signed-in API route: (method, path as in the OpenAPI document, action).
pub const ROUTES: &[(&str, &str, Action)] = &[
    ("post", "/api/v1/auth/logout", Action::SignOut),
    ("post", "/api/v1/me/password", Action::ChangeOwnPassword),
    ("get", "/api/v1/customers", Action::ViewCustomers),
    ("post", "/api/v1/customers", Action::CreateCustomer),
    ("get", "/api/v1/customers/{id}", Action::ViewCustomers),
    ("patch", "/api/v1/customers/{id}", Action::EditCustomer),
    ("delete", "/api/v1/customers/{id}", Action::DeleteCustomer),
    (
        "post",
        "/api/v1/customers/{id}/restore",
        Action::RestoreCustomer,
    ),
    (
        "post",
        "/api/v1/customers/{id}/purge",
        Action::PurgeCustomer,
    ),
    (
        "post",
        "/api/v1/customers/{id}/reset-credentials",
        Action::ResetCredentials,
    ),
    ("get", "/api/v1/customers/{id}/dues", Action::ViewCustomers),
    ("post", "/api/v1/customers/{id}/dues", Action::AddDue),
    (
        "get",
        "/api/v1/customers/{id}/payments",
        Action::ViewCustomers,
    ),
    (
        "post",
        "/api/v1/customers/{id}/payments",
        Action::RecordPayment,
    ),
    (
        "get",
        "/api/v1/customers/{id}/statement",
        Action::ViewCustomers,
    ),
    (
        "get",
        "/api/v1/customers/{id}/statement.csv",
        Action::ViewCustomers,
    ),
    ("get", "/api/v1/dues/{id}", Action::ViewCustomers),
    ("post", "/api/v1/dues/{id}/void", Action::VoidEntry),
    ("get", "/api/v1/payments", Action::ReviewPayments),
    ("get", "/api/v1/payments/{id}", Action::ViewCustomers),
    ("post", "/api/v1/payments/{id}/void", Action::VoidEntry),
    (
        "post",
        "/api/v1/payments/{id}/confirm",
        Action::ReviewPayments,
    ),
    (
        "post",
        "/api/v1/payments/{id}/reject",
        Action::ReviewPayments,
    ),
    ("get", "/api/v1/activity", Action::ViewActivity),
    ("get", "/api/v1/activity.csv", Action::ViewActivity),
    ("post", "/api/v1/notifications", Action::SendMessage),
    ("get", "/api/v1/emails", Action::ViewEmails),
    ("get", "/api/v1/dashboard", Action::ViewDashboard),
    ("get", "/api/v1/me", Action::ViewOwnAccount),
    ("patch", "/api/v1/me", Action::EditOwnProfile),
    ("delete", "/api/v1/me", Action::CloseOwnAccount),
    ("get", "/api/v1/me/statement", Action::ViewOwnAccount),
    ("get", "/api/v1/me/payments", Action::ViewOwnAccount),
    ("post", "/api/v1/me/payments", Action::ReportPayment),
    ("get", "/api/v1/staff", Action::ManageStaff),
    ("post", "/api/v1/staff", Action::ManageStaff),
    ("get", "/api/v1/staff/{id}", Action::ManageStaff),
    ("patch", "/api/v1/staff/{id}", Action::ManageStaff),
    ("delete", "/api/v1/staff/{id}", Action::ManageStaff),
    ("get", "/api/v1/signins", Action::ViewSignins),
];

/// The action behind an API route, if it needs a signed-in caller.
pub fn action_of(method: &str, path: &str) -> Option<Action> {
    ROUTES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, action)| *action)
}

pub(crate) fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Patch => "patch",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    }
}

/// Writes each protected operation's security scopes from the table.
/// Operations the handlers mark public (`security(())`) stay public.
pub struct Scopes;

impl utoipa::Modify for Scopes {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Delete, &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                if let Some(action) = action_of(method_name(&method), path) {
                    op.security = Some(vec![SecurityRequirement::new("bearer", action.scopes())]);
                }
            }
        }
    }
}
