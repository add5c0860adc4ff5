//! Email from staff and the email log: `POST /api/v1/notifications`,
//! `GET /api/v1/emails`, and `POST /api/v1/customers/{id}/reset-credentials`.

use super::auth::{Caller, ClientInfo};
use super::error::{ApiError, ApiResult, FieldProblem, Problem};
use super::extract::{ApiJson, Id, Paging};
use crate::app::App;
use crate::app::{Audience, Email, EmailFilter};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send_notification))
        .routes(routes!(list_emails))
        .routes(routes!(reset_credentials))
}

#[derive(Deserialize, ToSchema)]
pub struct NotificationRequest {
    /// A list of customer ids, or "all", "with_balance" or "overdue".
    #[schema(value_type = Object, example = json!("with_balance"))]
    to: Value,
    subject: String,
    /// Plain text; blank lines separate paragraphs.
    body: String,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedCustomer {
    customer_id: i64,
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationQueued {
    /// Messages placed in the outbox.
    queued: usize,
    /// Customers of the audience who get nothing, and why.
    skipped: Vec<SkippedCustomer>,
}

fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::invalid_fields(vec![FieldProblem {
        field: field.to_string(),
        detail: detail.into(),
    }])
}

fn parse_audience(to: &Value) -> ApiResult<Audience> {
    match to {
        Value::String(s) => match s.trim() {
            "all" => Ok(Audience::All),
            "with_balance" => Ok(Audience::WithBalance),
            "overdue" => Ok(Audience::Overdue),
            other => Err(invalid(
                "to",
                format!(
                    "'{other}' is not an audience; use a list of customer ids, \"all\", \"with_balance\" or \"overdue\""
                ),
            )),
        },
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid("to", "names no customer"));
            }
            if items.len() > 10_000 {
                return Err(invalid(
                    "to",
                    "lists more than 10000 customers; use \"all\" instead",
                ));
            }
            let mut ids: Vec<i64> = items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .filter(|id| *id > 0)
                        .ok_or_else(|| invalid("to", format!("{v} is not a customer id")))
                })
                .collect::<ApiResult<_>>()?;
            ids.sort_unstable();
            ids.dedup();
            Ok(Audience::Customers(ids))
        }
        other => Err(invalid(
            "to",
            format!("{other} is neither a list of customer ids nor an audience name"),
        )),
    }
}

/// Queues a message from staff to one customer, a selection, all with a balance, or all overdue.
#[utoipa::path(post, path = "/api/v1/notifications", tag = "notifications", request_body = NotificationRequest, responses(
    (status = 202, description = "Queued in the outbox", body = NotificationQueued),
    (status = 422, body = Problem),
))]
async fn send_notification(
    State(state): State<App>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<NotificationRequest>,
) -> ApiResult<(StatusCode, Json<NotificationQueued>)> {
    let audience = parse_audience(&body.to)?;
    let outcome = state
        .send_message(&actor, &audience, &body.subject, &body.body)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(NotificationQueued {
            queued: outcome.queued,
            skipped: outcome
                .skipped
                .into_iter()
                .map(|(customer_id, reason)| SkippedCustomer {
                    customer_id,
                    reason: reason.to_string(),
                })
                .collect(),
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailParams {
    /// queued, sending, sent or failed
    status: Option<String>,
    /// invitation, receipt, reminder, account_changed, account_deleted, credential_reset, manual or digest
    kind: Option<String>,
    customer_id: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EmailPage {
    items: Vec<Email>,
    total: i64,
    page: i64,
    per_page: i64,
}

const STATUSES: [&str; 4] = ["queued", "sending", "sent", "failed"];
const KINDS: [&str; 9] = [
    "payment_rejected",
    "invitation",
    "receipt",
    "reminder",
    "account_changed",
    "account_deleted",
    "credential_reset",
    "manual",
    "digest",
];

/// The email log: every message with its state, newest first.
#[utoipa::path(get, path = "/api/v1/emails", tag = "notifications", params(EmailParams), responses(
    (status = 200, body = EmailPage),
    (status = 400, body = Problem),
))]
async fn list_emails(
    State(state): State<App>,
    Caller(actor): Caller,
    query: Result<Query<EmailParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<EmailPage>> {
    let Query(params) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let paging = Paging::parse(params.page.as_deref(), params.per_page.as_deref())?;
    let pick =
        |field: &str, value: Option<String>, allowed: &[&str]| -> ApiResult<Option<String>> {
            match value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                None => Ok(None),
                Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
                Some(v) => Err(ApiError::bad_request(
                    "invalid_filter",
                    field,
                    format!("'{v}' is not one of {}", allowed.join(", ")),
                )),
            }
        };
    let filter = EmailFilter {
        status: pick("status", params.status, &STATUSES)?,
        kind: pick("kind", params.kind, &KINDS)?,
        customer_id: match params.customer_id.filter(|c| !c.trim().is_empty()) {
            Some(c) => {
                Some(super::extract::parse_id(c.trim()).map_err(|e| e.with_field("customer_id"))?)
            }
            None => None,
        },
    };
    let (items, total) = state
        .emails(&actor, &filter, paging.per_page, paging.offset())
        .await?;
    Ok(Json(EmailPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ResetQueued {
    /// Where the reset link was sent.
    sent_to: String,
}

/// Emails the customer a one-time link to choose a new password.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reset-credentials", tag = "customers", params(("id" = i64, Path)), responses(
    (status = 202, body = ResetQueued),
    (status = 404, body = Problem),
    (status = 409, description = "The customer has no email address, or is deleted", body = Problem),
    (status = 429, description = "Too many reset links for this customer in the last hour", body = Problem),
))]
async fn reset_credentials(
    State(state): State<App>,
    Caller(actor): Caller,
    ClientInfo(client): ClientInfo,
    Id(id): Id,
) -> ApiResult<(StatusCode, Json<ResetQueued>)> {
    let customer = state.reset_credentials(&actor, id, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetQueued {
            sent_to: customer.email.unwrap_or_default(),
        }),
    ))
}
