//! What the store asks of whoever words its emails. The store decides that
//! a message is owed and queues it in the same transaction as its cause; it
//! hands over plain facts and gets back a finished [`Letter`]. The wording,
//! the shop's name and links live outside the store, behind [`Letters`].

use crate::domain::fields::PaymentMethod;
use crate::domain::money::Money;
use chrono::{DateTime, NaiveDate, Utc};

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Writes each kind of email the store queues. The mail module implements
/// it; the store holds one as `Arc<dyn Letters>`, given at construction.
pub trait Letters: Send + Sync {
    /// A new customer's invitation to choose a password.
    fn invitation(&self, link: &CredentialLinkFacts<'_>) -> Letter;
    /// A link to choose a new password, sent at the shop's request.
    fn credential_reset(&self, link: &CredentialLinkFacts<'_>) -> Letter;
    fn receipt(&self, receipt: &ReceiptFacts<'_>) -> Letter;
    /// A payment the customer reported was not confirmed by the shop.
    fn payment_rejected(&self, rejection: &RejectionFacts<'_>) -> Letter;
    /// Tells a customer that something on the account changed.
    fn account_changed(&self, name: &str, change: AccountChange) -> Letter;
    fn account_deleted(&self, name: &str) -> Letter;
    fn reminder(&self, reminder: &ReminderFacts<'_>) -> Letter;
    /// The owner's morning summary of the day before.
    fn digest(&self, digest: &DigestFacts) -> Letter;
    /// A message written by staff; its body is plain text.
    fn manual(&self, name: &str, subject: &str, body: &str) -> Letter;
}

/// A one-time link to choose a password, for an invitation or a reset.
pub struct CredentialLinkFacts<'a> {
    pub name: &'a str,
    pub username: &'a str,
    /// The token itself; only its hash is stored.
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// A recorded payment, for its receipt.
pub struct ReceiptFacts<'a> {
    pub name: &'a str,
    pub payment_id: i64,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<&'a str>,
    pub paid_on: NaiveDate,
    pub balance_after: Money,
}

/// A reported payment the shop turned down, and why.
pub struct RejectionFacts<'a> {
    pub name: &'a str,
    pub amount: Money,
    pub paid_on: NaiveDate,
    pub reason: &'a str,
}

/// What changed on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    EmailAddress,
    Password,
}

/// An unpaid due listed in a reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderLine {
    pub description: String,
    pub due_date: Option<NaiveDate>,
    pub outstanding: Money,
}

pub struct ReminderFacts<'a> {
    pub name: &'a str,
    pub balance: Money,
    pub overdue: Money,
    /// Why the reminder is sent today, as the reminder policy put it.
    pub reason: &'a str,
    pub dues: &'a [ReminderLine],
}

/// The figures of the owner's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFacts {
    pub day: NaiveDate,
    pub collected: Money,
    pub payments: i64,
    pub new_dues: Money,
    pub new_due_count: i64,
    pub total_outstanding: Money,
    pub total_overdue: Money,
    /// (customer name, amount now overdue)
    pub became_overdue: Vec<(String, Money)>,
}

impl DigestFacts {
    /// Whether anything is recorded for the day: payments, new dues, dues
    /// that became overdue.
    pub fn has_activity(&self) -> bool {
        self.payments > 0 || self.new_due_count > 0 || !self.became_overdue.is_empty()
    }

    /// Nothing happened on the day and nothing is owed: no digest is worth sending.
    pub fn is_empty(&self) -> bool {
        !self.has_activity() && self.total_outstanding.minor() <= 0
    }
}
