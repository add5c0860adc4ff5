//! The business rules of a credit book, free of I/O: money, validated
//! fields, and the ledger's arithmetic.

pub mod access;
pub mod fields;
pub mod ledger;
pub mod money;
pub mod permissions;
pub mod reminders;
