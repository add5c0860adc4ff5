//! Persistence: the only code that holds SQL. Every change runs in one
//! transaction together with its activity-log entry; money-moving writes all
//! pass through [`ledger::Store::apply`].

pub mod activity;
pub mod auth;
pub mod customers;
pub mod db;
pub mod ledger;
pub mod verify;

use crate::domain::money::Currency;
use chrono_tz::Tz;
use db::{Db, DbError};

/// The store: a database plus the few settings that decide how rows are
/// read (the currency's decimals, what "today" is).
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    pub currency: Currency,
    pub timezone: Tz,
}

impl Store {
    pub fn new(db: Db, currency: Currency, timezone: Tz) -> Self {
        Self {
            db,
            currency,
            timezone,
        }
    }

    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.timezone)
            .date_naive()
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut tx = self.db.read().await?;
        tx.scalar("SELECT COUNT(*) FROM activity_head", &[]).await?;
        Ok(())
    }
}

/// What can go wrong in the store, in terms the HTTP layer maps once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    /// The request clashes with the current state (409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    /// The request is well-formed but breaks a rule (422).
    #[error("{message}")]
    Rejected {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    #[error("database error: {0}")]
    Db(#[from] DbError),
}

impl StoreError {
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn conflict(
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        StoreError::Conflict {
            code,
            message: message.into(),
            field,
        }
    }

    pub fn rejected(
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        StoreError::Rejected {
            code,
            message: message.into(),
            field,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Now as fixed-width RFC 3339 UTC text, which sorts in time order.
pub fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

pub fn timestamp_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
