//! Persistence: the only code that holds SQL. Every change runs in one
//! transaction together with its activity-log entry; money-moving writes all
//! pass through [`ledger::Store::apply`].

pub mod activity;
pub mod auth;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod idempotency;
pub mod ledger;
pub mod outbox;
pub mod portal;
pub mod reminders;
pub mod settings;
pub mod staff;
pub mod tokens;
pub mod verify;

use crate::config::{Config, LiveConfig};
use crate::domain::money::Currency;
use crate::notify::messages::MailContext;
use chrono_tz::Tz;
use db::{Db, DbError};
use std::sync::Arc;
use tokio::sync::Notify;

/// The store: a database plus the settings that decide how rows are read
/// and what messages say (the currency, what "today" is, the shop), which
/// the owner may change while the service runs.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    live: Arc<LiveConfig>,
    /// Woken after a commit that queued email, so delivery starts at once.
    pub outbox_wake: Arc<Notify>,
}

impl Store {
    pub fn new(db: Db, live: Arc<LiveConfig>) -> Self {
        Self {
            db,
            live,
            outbox_wake: Arc::new(Notify::new()),
        }
    }

    /// The configuration as it stands now.
    pub fn settings(&self) -> Arc<Config> {
        self.live.get()
    }

    /// The live configuration, shared with the HTTP layer and the scheduler.
    pub fn live(&self) -> Arc<LiveConfig> {
        self.live.clone()
    }

    pub fn currency(&self) -> Currency {
        self.live.get().currency
    }

    pub fn timezone(&self) -> Tz {
        self.live.get().timezone
    }

    /// What a message needs to know about the shop.
    pub fn mail(&self) -> MailContext {
        let c = self.live.get();
        MailContext {
            shop_name: c.shop_name.clone(),
            base_url: c.base_url.clone(),
            currency: c.currency,
            upi_id: c.upi_id.clone(),
        }
    }

    /// Tells the delivery worker that new email is waiting.
    pub fn email_queued(&self) {
        self.outbox_wake.notify_one();
    }

    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.timezone())
            .date_naive()
    }

    /// An RFC 3339 time as people read it where the shop is: "2 Dec 2026, 09:15 (Asia/Kolkata)".
    pub fn local_time_text(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| {
                format!(
                    "{} ({})",
                    t.with_timezone(&self.timezone()).format("%-d %b %Y, %H:%M"),
                    self.timezone().name()
                )
            })
            .unwrap_or_else(|_| rfc3339.to_string())
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
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed attempts; try again after this many seconds (429).
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(i64),
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
