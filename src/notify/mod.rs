//! Email: composing messages and delivering the outbox. Messages are written
//! to the outbox by the store in the same transaction as their cause, worded
//! here through the store's `Letters`; the delivery worker here sends them
//! (or, with no SMTP server configured, writes them as `.eml` files).

pub mod delivery;
pub mod letters;
pub mod messages;
