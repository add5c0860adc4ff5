//! The one refusal type of the application layer. Each face maps it once:
//! the API to a problem document, the web pages to an error page or to
//! messages next to the form's fields.

use crate::domain::ledger::LedgerRefusal;
use crate::domain::money::Currency;
use crate::store::db::Failure;
use crate::store::{Refusal, StoreError};

/// One field that could not be read, and why ("must be a positive amount").
/// Faces put the field's name or label in front of the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input could not be read; every field's problem is listed.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldProblem>),
    /// A query parameter or header that is not well-formed (400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    /// The request clashes with the current state (409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    /// Well-formed, but it breaks a rule (422).
    #[error("{message}")]
    Rejected {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    /// The permission table does not grant this to the caller (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after this many seconds (429).
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(i64),
    /// The database is busy; nothing was changed (503).
    #[error("the service is busy; nothing was changed, try again shortly")]
    Busy,
    /// The database does not answer (503).
    #[error("the database does not answer; nothing was changed, try again shortly")]
    Unavailable,
    /// The disk under the database is full (503).
    #[error("the database's disk is full; nothing was changed, try again once space is freed")]
    StorageFull,
    /// Our fault; the cause has been logged and is not shown (500).
    #[error("something went wrong on our side; it has been logged, and nothing was changed")]
    Internal,
}

fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{} {}", p.field, p.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldProblem {
            field: field.to_string(),
            detail: detail.into(),
        }])
    }

    pub fn bad_request(
        code: &'static str,
        field: &'static str,
        message: impl Into<String>,
    ) -> Self {
        AppError::BadRequest {
            code,
            field,
            message: message.into(),
        }
    }

    /// The field this refusal is about, if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid(problems) => problems.first().map(|p| p.field.as_str()),
            AppError::BadRequest { field, .. } => Some(*field).filter(|f| !f.is_empty()),
            AppError::Conflict { field, .. } | AppError::Rejected { field, .. } => *field,
            _ => None,
        }
    }
}

impl AppError {
    /// A store error in the application's terms, a refusal worded with its
    /// amounts in `currency`: the words both faces show.
    pub fn from_store(error: StoreError, currency: &Currency) -> Self {
        match error {
            StoreError::Refused(refusal) => worded(refusal, currency),
            other => other.into(),
        }
    }
}

/// A refusal of the store in words a person can act on; the codes and
/// fields are the ones callers rely on.
fn worded(refusal: Refusal, currency: &Currency) -> AppError {
    let conflict = |code, field, message| AppError::Conflict {
        code,
        message,
        field,
    };
    let rejected = |code, message| AppError::Rejected {
        code,
        message,
        field: Some("amount"),
    };
    match refusal {
        Refusal::Ledger(ledger) => {
            let message = ledger.explain(currency);
            match ledger {
                LedgerRefusal::TooLarge => rejected("amount_too_large", message),
                LedgerRefusal::TotalTooLarge { .. } => rejected("total_too_large", message),
                LedgerRefusal::Overpayment { .. } => rejected("overpayment", message),
                LedgerRefusal::MoreThanBalance { .. } => rejected("more_than_balance", message),
                LedgerRefusal::OverCreditLimit { .. } => {
                    conflict("credit_limit", Some("amount"), message)
                }
            }
        }
        Refusal::BalanceOpen {
            customer_id,
            balance,
        } => conflict(
            "balance_open",
            None,
            format!(
                "customer {customer_id} has a balance of {}; settle it first, or delete with ?force=true and a reason",
                currency.format(balance)
            ),
        ),
        Refusal::OwnBalanceOpen { balance } => conflict(
            "balance_open",
            None,
            format!(
                "your balance is {}; an account can be closed once everything is paid",
                currency.format(balance)
            ),
        ),
        Refusal::OwnCreditHeld { credit } => conflict(
            "credit_held",
            None,
            format!(
                "the shop holds {} of yours in credit; ask the shop to settle it before closing the account",
                currency.format(credit)
            ),
        ),
        Refusal::PurgeNotDeleted { customer_id } => conflict(
            "not_deleted",
            None,
            format!(
                "customer {customer_id} is not deleted; only a deleted customer's personal data can be purged, so delete the customer first"
            ),
        ),
    }
}

/// Store errors that need no wording. A refusal must go through
/// [`AppError::from_store`]; one that arrives here is a bug, logged as such.
impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity, id } => AppError::NotFound { entity, id },
            StoreError::Conflict {
                code,
                message,
                field,
            } => AppError::Conflict {
                code,
                message,
                field,
            },
            StoreError::Rejected {
                code,
                message,
                field,
            } => AppError::Rejected {
                code,
                message,
                field,
            },
            StoreError::Forbidden(message) => AppError::Forbidden(message),
            StoreError::Throttled(seconds) => AppError::Throttled(seconds),
            StoreError::Refused(refusal) => {
                tracing::error!(?refusal, "a refusal reached the application unworded");
                AppError::Internal
            }
            StoreError::Db(e) if crate::store::db::is_nul_in_text(&e) => AppError::BadRequest {
                code: "nul_character",
                field: "",
                message: "text must not contain NUL (U+0000) characters".to_string(),
            },
            StoreError::Db(e) => database_failure(&e),
            StoreError::Shared(e) => database_failure(&e),
        }
    }
}

/// What a database error means for the caller, logged once.
fn database_failure(e: &crate::store::db::DbError) -> AppError {
    match crate::store::db::failure_of(e) {
        Failure::Busy => {
            tracing::warn!(error = %e, "database busy");
            AppError::Busy
        }
        Failure::Unreachable => {
            tracing::warn!(error = %e, "database unreachable");
            AppError::Unavailable
        }
        Failure::Full => {
            tracing::error!(error = %e, "the database's disk is full");
            AppError::StorageFull
        }
        Failure::Fault => {
            tracing::error!(error = %e, "database error");
            AppError::Internal
        }
    }
}
