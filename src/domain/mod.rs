//! The business rules of a credit book, free of I/O: money, validated
//! fields, the ledger's arithmetic, and the states records move through.

pub mod access;
pub mod customers;
pub mod fields;
pub mod ledger;
pub mod money;
pub mod notifications;
pub mod permissions;
pub mod reminders;
