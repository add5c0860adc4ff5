//! What callers ask of the ledger: one command per money-moving change,
//! and what comes back.

use super::records::{Due, Payment};
use crate::domain::fields::PaymentMethod;
use crate::domain::money::Money;
use chrono::NaiveDate;

pub struct NewDue {
    pub customer_id: i64,
    pub amount: Money,
    pub description: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// Accept the due even when it takes the balance past the credit limit.
    pub over_limit: bool,
}

/// A retry guard: the caller's key and a hash of what it asked for.
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

pub struct NewPayment {
    pub customer_id: i64,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    /// Accept more than the balance and keep the excess as credit.
    pub advance: bool,
    pub idempotency: Option<IdempotencyKey>,
}

pub enum LedgerCommand {
    AddDue(NewDue),
    RecordPayment(NewPayment),
    /// A customer reports a payment; it waits, pending, for staff.
    SubmitPayment(NewPayment),
    ConfirmPayment {
        payment_id: i64,
        advance: bool,
    },
    RejectPayment {
        payment_id: i64,
        reason: String,
    },
    VoidDue {
        due_id: i64,
        reason: String,
    },
    VoidPayment {
        payment_id: i64,
        reason: String,
    },
}

pub enum LedgerOutcome {
    Due(Due),
    /// `replayed` is true when an idempotent retry returned the first result.
    Payment {
        payment: Payment,
        replayed: bool,
    },
}
