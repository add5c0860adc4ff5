//! The HTTP API: one module per resource, each with its own routes; this
//! module assembles them, puts every route but sign-in, health and the API
//! description behind a staff token, and adds the cross-cutting layers.

pub mod activity;
pub mod auth;
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

use crate::config::Config;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{Router, middleware};
use error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The configuration the service started with, before saved settings.
    pub base: Arc<Config>,
    /// This node's response counters, for `/metrics`.
    pub counters: Arc<metrics::Counters>,
}

impl AppState {
    /// The configuration as it stands now, saved settings included.
    pub fn config(&self) -> Arc<Config> {
        self.store.settings()
    }

    /// An amount in minor units as the API shows it: "1250.50".
    pub fn money(&self, minor: i64) -> String {
        self.store
            .currency()
            .format(crate::domain::money::Money(minor))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "duetrack",
        description = "A shop's credit book: customers, dues, payments and their allocation. Amounts are decimal strings in major units of the configured currency; dates are YYYY-MM-DD. Errors are application/problem+json (RFC 9457).",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
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

/// The largest request body the API reads.
const BODY_LIMIT: usize = 64 * 1024;

/// Builds the whole application; also returns the API description.
pub fn router(state: AppState) -> Router {
    let protected = OpenApiRouter::new()
        .merge(customers::router())
        .merge(ledger::router())
        .merge(activity::router())
        .merge(notifications::router())
        .merge(me::router())
        .merge(dashboard::router())
        .merge(staff::router())
        .merge(auth::protected_router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    let public = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::public_router())
        .merge(health::router());
    let (api, openapi) = public.merge(protected).split_for_parts();

    api.merge(docs::router(openapi))
        .merge(crate::web::router())
        .merge(metrics::router())
        .fallback(|| async {
            ApiError::not_found("there is nothing at this address; see /api/v1/docs")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this address does not accept that method; see /api/v1/docs",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Outside the timeout, so that even a timed-out answer is a problem
        // document with the security headers.
        .layer(middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Headers every response carries: no scripts or frames from elsewhere (and
/// no inline scripts), no content sniffing, no referrer leaks, and HSTS when
/// the service is reached over https.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    if response.status() == StatusCode::REQUEST_TIMEOUT
        && !response
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE)
    {
        response = axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request took too long and was stopped; look again before retrying a change",
        ));
    }
    state.counters.count(response.status().as_u16());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.config().base_url.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
