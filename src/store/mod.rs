//! Persistence: the only code that holds SQL. Every change runs in one
//! transaction together with its activity-log entry; money-moving writes all
//! pass through [`Store::apply`].

pub mod activity;
pub mod auth;
pub mod backup;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod idempotency;
pub mod ledger;
pub mod letters;
pub mod outbox;
pub mod portal;
pub mod reminders;
pub mod settings;
pub mod staff;
pub mod tokens;
pub mod verify;

use crate::config::{Config, LiveConfig};
use crate::domain::money::Currency;
use chrono_tz::Tz;
use db::{Db, DbError};
use letters::Letters;
use std::sync::Arc;
use tokio::sync::watch;

/// The store: a database plus the settings that decide how rows are read
/// (the currency, what "today" is), which the owner may change while the
/// service runs, and the [`Letters`] that word the emails it queues.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    live: Arc<LiveConfig>,
    letters: Arc<dyn Letters>,
    /// Counts commits that queued email, so delivery can wait for the next
    /// one instead of polling (see [`Store::email_waiter`]).
    outbox_wake: Arc<watch::Sender<u64>>,
}

impl Store {
    pub fn new(db: Db, live: Arc<LiveConfig>, letters: Arc<dyn Letters>) -> Self {
        Self {
            db,
            live,
            letters,
            outbox_wake: Arc::new(watch::Sender::new(0)),
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

    /// Tells the delivery worker that new email is waiting.
    pub fn email_queued(&self) {
        self.outbox_wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What the delivery worker waits on: `changed()` completes once email
    /// is queued after the receiver last looked.
    pub fn email_waiter(&self) -> watch::Receiver<u64> {
        self.outbox_wake.subscribe()
    }

    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.timezone())
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
