//! The HTTP layer's one error type, rendered as `application/problem+json`
//! (RFC 9457). Internal causes are logged, never shown to the client.

use crate::app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field at fault and what is wrong with it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub detail: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `title` is the HTTP status phrase, `code` says which problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words a person can act on.
    pub detail: String,
    /// A short, stable identifier of the problem, such as `validation` or `overpayment`.
    pub code: &'static str,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field at fault, for forms that show errors next to each field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub field: Option<String>,
    pub errors: Vec<FieldProblem>,
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(code: &'static str, field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail).with_field(field)
    }

    /// Several fields at fault at once (422).
    pub fn invalid_fields(errors: Vec<FieldProblem>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation",
            detail,
            field: errors.first().map(|e| e.field.clone()),
            errors,
            retry_after: None,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// Tells the client when to try again (`Retry-After`, in seconds).
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Too many attempts: 429 with `Retry-After`.
    pub fn throttled(seconds: i64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!(
                "too many failed attempts; try again in {} minute(s)",
                (seconds + 59) / 60
            ),
        );
        e.retry_after = Some(seconds);
        e
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged, and nothing was changed",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let detail = error.to_string();
        let with = |e: ApiError, field: Option<&str>| match field {
            Some(f) => e.with_field(f),
            None => e,
        };
        match error {
            AppError::Invalid(problems) => ApiError::invalid_fields(
                problems
                    .into_iter()
                    .map(|p| FieldProblem {
                        field: p.field,
                        detail: p.detail,
                    })
                    .collect(),
            ),
            // A refusal that names no field (text the database cannot store).
            AppError::BadRequest {
                code, field: "", ..
            } => ApiError::new(StatusCode::BAD_REQUEST, code, detail),
            AppError::BadRequest { code, field, .. } => ApiError::bad_request(code, field, detail),
            AppError::NotFound { .. } => ApiError::not_found(detail),
            AppError::Conflict { code, field, .. } => {
                with(ApiError::new(StatusCode::CONFLICT, code, detail), field)
            }
            AppError::Rejected { code, field, .. } => with(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail),
                field,
            ),
            AppError::Forbidden(message) => ApiError::forbidden(message),
            AppError::Throttled(seconds) => ApiError::throttled(seconds),
            AppError::Busy => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail).retry_after(1)
            }
            AppError::Unavailable => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail).retry_after(5)
            }
            AppError::StorageFull => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_full", detail)
                    .retry_after(60)
            }
            AppError::Internal => ApiError::internal(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            field: self.field,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
