//! The whole site: the JSON API and the web pages side by side over one
//! application, with what every response shares — a body limit, a timeout
//! answered as a problem document, security headers, response counters and
//! tracing. This sits above both faces; neither imports the other.

use crate::app::App;
use crate::http::error::ApiError;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The largest request body read.
const BODY_LIMIT: usize = 64 * 1024;

/// Builds the whole application.
pub fn router(app: App) -> Router {
    crate::http::router(app.clone())
        .merge(crate::web::router(app.clone()))
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
            app.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Headers every response carries: no scripts or frames from elsewhere (and
/// no inline scripts), no content sniffing, no referrer leaks, and HSTS when
/// the service is reached over https.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<App>,
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
