//! One-time, expiring credential links (invitation and reset). Only a hash
//! of each token is stored; the token itself travels in the email.

use super::db::{DbError, Tx};
use super::{now_text, timestamp_text};
use crate::args;
use crate::domain::access;

/// How long an invitation link works.
pub const INVITATION_HOURS: i64 = 7 * 24;
/// How long a reset link works.
pub const RESET_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Purpose::Invitation, Purpose::Reset]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    fn hours(self) -> i64 {
        match self {
            Purpose::Invitation => INVITATION_HOURS,
            Purpose::Reset => RESET_HOURS,
        }
    }
}

pub struct IssuedToken {
    pub token: String,
    pub token_hash: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Issues a new link for a customer; earlier unused links of the same
/// purpose stop working, so only the newest email's link is valid.
pub async fn issue(
    tx: &mut Tx,
    customer_id: i64,
    purpose: Purpose,
) -> Result<IssuedToken, DbError> {
    let now = chrono::Utc::now();
    tx.execute(
        "UPDATE credential_tokens SET used_at = $1 WHERE customer_id = $2 AND purpose = $3 AND used_at IS NULL",
        args![timestamp_text(now), customer_id, purpose.as_str()],
    )
    .await?;
    let token = access::new_token();
    let token_hash = access::token_hash(&token);
    let expires_at = now + chrono::Duration::hours(purpose.hours());
    tx.execute(
        "INSERT INTO credential_tokens (token_hash, customer_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        args![token_hash.clone(), customer_id, purpose.as_str(), now_text(), timestamp_text(expires_at)],
    )
    .await?;
    Ok(IssuedToken {
        token,
        token_hash,
        expires_at,
    })
}
