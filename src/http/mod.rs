//! The JSON API: one module per resource, each with its own routes. A
//! handler extracts the caller and the raw input, calls one use case of the
//! application layer, and writes JSON; it decides nothing itself.

pub mod access;
pub mod activity;
pub mod auth;
pub mod contract;
pub mod customers;
pub mod dashboard;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod ledger;
pub mod me;
pub mod metrics;
pub mod notifications;
pub mod staff;

use crate::app::App;
use axum::{Router, middleware};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "duetrack",
        description = "A shop's credit book: customers, dues, payments and their allocation. Amounts are decimal strings in major units of the configured currency; dates are YYYY-MM-DD. Errors are application/problem+json (RFC 9457).",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "customers", description = "Customer records"),
        (name = "ledger", description = "Dues, payments, voids and statements"),
        (name = "activity", description = "The tamper-evident activity log"),
        (name = "notifications", description = "Email from staff and the email log"),
        (name = "dashboard", description = "Collections at a glance"),
        (name = "portal", description = "A signed-in customer's own account"),
        (name = "staff", description = "Staff accounts and the sign-in log"),
        (name = "operations", description = "Health and the API description"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The JSON API, its description and `/metrics`: every route but sign-in,
/// health and the description behind a signed-in caller. Who may do what is
/// decided by the application layer from the permission table, which also
/// writes the description's security scopes.
pub fn router(app: App) -> Router<App> {
    let protected = OpenApiRouter::new()
        .merge(customers::router())
        .merge(ledger::router())
        .merge(activity::router())
        .merge(notifications::router())
        .merge(me::router())
        .merge(dashboard::router())
        .merge(staff::router())
        .merge(auth::protected_router())
        .route_layer(middleware::from_fn_with_state(app, auth::authenticate));
    let public = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::public_router())
        .merge(health::router());
    let (api, mut openapi) = public.merge(protected).split_for_parts();
    access::Scopes.modify(&mut openapi);
    contract::Contract.modify(&mut openapi);
    api.merge(docs::router(openapi)).merge(metrics::router())
}
