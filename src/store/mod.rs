//! Persistence: the only code that holds SQL. Every change runs in one
//! transaction together with its activity-log entry; money-moving writes all
//! pass through [`Store::apply`].

pub mod activity;
pub mod auth;
pub mod backup;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod export;
pub mod figures;
pub mod idempotency;
pub mod import;
pub mod import_own;
pub mod ledger;
pub mod letters;
pub mod outbox;
pub mod portal;
pub mod purge;
pub mod reminders;
pub mod replay;
pub mod seal;
pub mod settings;
pub mod staff;
pub mod tokens;
pub mod verify;

use crate::domain::ledger::LedgerRefusal;
use crate::domain::money::Money;
use db::{Db, DbError};
use letters::Letters;
use std::sync::Arc;
use tokio::sync::watch;

/// The store: a database and the [`Letters`] that word the emails it
/// queues. It holds no configuration: what "today" is, the currency and the
/// timezone come from its callers, as parameters.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    letters: Arc<dyn Letters>,
    /// Counts commits that queued email, so delivery can wait for the next
    /// one instead of polling (see [`Store::email_waiter`]).
    outbox_wake: Arc<watch::Sender<u64>>,
    /// Where payments staff record wait for the group-commit writer.
    payments: ledger::PaymentQueue,
    batching: ledger::Batching,
    /// Sessions read in the last moments (see [`Store::session`]).
    sessions: Arc<auth::SessionCache>,
}

impl Store {
    pub fn new(db: Db, letters: Arc<dyn Letters>) -> Self {
        Self {
            db,
            letters,
            outbox_wake: Arc::new(watch::Sender::new(0)),
            payments: ledger::PaymentQueue::default(),
            batching: ledger::Batching::default(),
            sessions: Arc::default(),
        }
    }

    /// How payments are gathered for group commit; set before first use.
    pub fn with_batching(mut self, batching: ledger::Batching) -> Self {
        self.batching = batching;
        self
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
    /// A rule refused the change; the facts, for the application to word.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error("database error: {0}")]
    Db(#[from] DbError),
    /// A database error every request of a batch shares: none of them was
    /// recorded.
    #[error("database error: {0}")]
    Shared(Arc<DbError>),
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

/// Why the store refused a change, as facts: amounts stay in minor units
/// and are worded, in the shop's currency, above the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A ledger rule said no.
    Ledger(LedgerRefusal),
    /// Staff tried to delete a customer who still has a balance (409 `balance_open`).
    BalanceOpen { customer_id: i64, balance: Money },
    /// A customer tried to close their account while owing (409 `balance_open`).
    OwnBalanceOpen { balance: Money },
    /// A customer tried to close their account while the shop holds credit
    /// of theirs (409 `credit_held`).
    OwnCreditHeld { credit: Money },
    /// Staff tried to purge a customer who is not deleted (409 `not_deleted`).
    PurgeNotDeleted { customer_id: i64 },
}

impl From<LedgerRefusal> for StoreError {
    fn from(refusal: LedgerRefusal) -> Self {
        StoreError::Refused(Refusal::Ledger(refusal))
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
