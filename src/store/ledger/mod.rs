//! The ledger in the store: dues and payments, the one write path every
//! money-moving change takes ([`Store::apply`](crate::store::Store::apply)),
//! and the reads and statement built on them.

mod apply;
mod batch;
mod commands;
mod idempotency;
mod pending;
mod queries;
mod records;
mod statement;
mod voids;

pub(crate) use batch::PaymentQueue;
pub use batch::{Batching, PaymentAnswer};
pub use commands::{IdempotencyKey, LedgerCommand, LedgerOutcome, NewDue, NewPayment};
pub use records::{AllocationLine, Due, Payment, RECORDED_PAYMENT_COLUMNS};
pub use statement::{Statement, StatementLine};
