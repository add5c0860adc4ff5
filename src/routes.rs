//! The whole site: the JSON API and the web pages side by side over one
//! application, with what every response shares — a body limit, a timeout
//! answered as a problem document, security headers, request metrics and
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
        .layer(middleware::from_fn_with_state(app.clone(), refuse_nul))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Before any work: a request past the limits is answered at once.
        .layer(middleware::from_fn_with_state(
            crate::shed::Shedder::new(app.clone()),
            crate::shed::shed,
        ))
        // Outside the timeout, so that even a timed-out answer is a problem
        // document with the security headers.
        .layer(middleware::map_response_with_state(
            app.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        // Outermost, so that it times and counts every answer, shed ones too.
        .layer(middleware::from_fn(crate::telemetry::track))
        .with_state(app)
}

/// Refuses, before either face sees it, a request whose path, query string
/// or body carries a NUL character: PostgreSQL cannot store one in text, so
/// both backends and both faces refuse it the same way, with a 400. So is a
/// query string or form that is not UTF-8 once percent-decoded, which the
/// faces' decoders would otherwise turn silently into U+FFFD. The body is
/// read here within the same size limit as the faces' own.
async fn refuse_nul(
    axum::extract::State(state): axum::extract::State<App>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use crate::edge::{NulIn, nul_in_body, nul_in_uri, percent_decodes_to_utf8};
    use axum::http::header;
    let is_api = request.uri().path().starts_with("/api/");
    let refuse = |status: StatusCode, code: &'static str, message: &str| {
        if is_api {
            axum::response::IntoResponse::into_response(ApiError::new(status, code, message))
        } else {
            crate::web::error_page(
                crate::web::public_chrome(&state, "Not accepted", None),
                status,
                &crate::web::sentence(message),
                "/",
            )
        }
    };
    if let Some(place) = nul_in_uri(request.uri()) {
        return refuse(StatusCode::BAD_REQUEST, "nul_character", place.message());
    }
    if request
        .uri()
        .query()
        .is_some_and(|q| !percent_decodes_to_utf8(q.as_bytes()))
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
            "the query string is not UTF-8 text once percent-decoded",
        );
    }
    // A body declared too large is left to the faces, which refuse it
    // without reading it.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return next.run(request).await;
    }
    // Inside `DefaultBodyLimit`, so reading the body keeps to the limit.
    let (parts, body) = request.into_parts();
    let probe = axum::extract::Request::from_parts(parts.clone(), body);
    let bytes =
        match <bytes::Bytes as axum::extract::FromRequest<()>>::from_request(probe, &()).await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is too large",
                );
            }
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "the request body could not be read",
                );
            }
        };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if nul_in_body(content_type, &bytes) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "nul_character",
            NulIn::Body.message(),
        );
    }
    let is_form = content_type.is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if is_form && !percent_decodes_to_utf8(&bytes) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
            "the form is not UTF-8 text once percent-decoded",
        );
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
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
