//! What kinds of email duetrack sends and where each message stands in the
//! outbox: queued, being sent (claimed by one node), sent, or failed for good.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Invitation,
    CredentialReset,
    Receipt,
    PaymentRejected,
    Reminder,
    AccountChanged,
    AccountDeleted,
    Manual,
    Digest,
}

impl EmailKind {
    pub const ALL: [EmailKind; 9] = [
        EmailKind::Invitation,
        EmailKind::CredentialReset,
        EmailKind::Receipt,
        EmailKind::PaymentRejected,
        EmailKind::Reminder,
        EmailKind::AccountChanged,
        EmailKind::AccountDeleted,
        EmailKind::Manual,
        EmailKind::Digest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Invitation => "invitation",
            EmailKind::CredentialReset => "credential_reset",
            EmailKind::Receipt => "receipt",
            EmailKind::PaymentRejected => "payment_rejected",
            EmailKind::Reminder => "reminder",
            EmailKind::AccountChanged => "account_changed",
            EmailKind::AccountDeleted => "account_deleted",
            EmailKind::Manual => "manual",
            EmailKind::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the message carries a one-time link, so its body should not
    /// be kept once it is sent.
    pub fn carries_one_time_link(self) -> bool {
        matches!(self, EmailKind::Invitation | EmailKind::CredentialReset)
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 4] = [
        EmailStatus::Queued,
        EmailStatus::Sending,
        EmailStatus::Sent,
        EmailStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Queued => "queued",
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for EmailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_read_back_as_written_and_serialize_as_their_words() {
        for v in EmailKind::ALL {
            assert_eq!(EmailKind::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for v in EmailStatus::ALL {
            assert_eq!(EmailStatus::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
    }

    #[test]
    fn only_invitations_and_resets_carry_a_one_time_link() {
        let carrying: Vec<EmailKind> = EmailKind::ALL
            .into_iter()
            .filter(|k| k.carries_one_time_link())
            .collect();
        assert_eq!(
            carrying,
            [EmailKind::Invitation, EmailKind::CredentialReset]
        );
    }
}
