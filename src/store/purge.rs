//! Purging a deleted customer's personal data: the name, contact details,
//! notes and login are erased, while every ledger amount stays, so balances,
//! statements and `duetrack verify` are unchanged. The activity log records
//! that a purge happened, never what was erased; its older entries are not
//! rewritten (each one's hash covers its before and after).

use super::activity::{self, Change};
use super::customers::{Customer, CustomerStatus, index_search_terms, load};
use super::{Refusal, Store, StoreError, StoreResult, now_text};
use crate::args;
use crate::domain::fields::{CustomerName, search_terms};
use chrono::NaiveDate;
use serde_json::json;

/// The fields a purge erases, as the activity entry names them.
pub const ERASED_FIELDS: [&str; 9] = [
    "name",
    "username",
    "phone",
    "email",
    "address",
    "category",
    "notes",
    "delete_reason",
    "password",
];

/// What stands in for the email address and text of a purged customer's emails.
const ERASED: &str = "(erased)";

/// The name a purged customer is shown by.
pub fn placeholder_name(id: i64) -> String {
    format!("Purged customer #{id}")
}

/// A login name no one can sign in with: `#` never appears in the user
/// names duetrack makes, and the password is gone.
pub fn placeholder_username(id: i64) -> String {
    format!("purged#{id}")
}

/// A purge done: the customer as now stored, and the `.eml` copies of their
/// emails that the caller should remove from disk.
pub struct Purged {
    pub customer: Customer,
    pub eml_paths: Vec<String>,
}

impl Store {
    /// Erases a deleted customer's personal data in one transaction with
    /// its activity entry. Ends their sessions and unused one-time links,
    /// cancels their unsent emails and erases the address and text of all
    /// their emails.
    pub async fn purge_customer(
        &self,
        actor: &str,
        id: i64,
        today: NaiveDate,
    ) -> StoreResult<Purged> {
        let mut tx = self.db.write().await?;
        let before = load(&mut tx, id).await?;
        if before.status != CustomerStatus::Deleted {
            return Err(StoreError::Refused(Refusal::PurgeNotDeleted {
                customer_id: id,
            }));
        }
        let now = now_text();
        let name = placeholder_name(id);
        let username = placeholder_username(id);
        tx.execute(
            "UPDATE customers SET name = $1, name_key = $2, username = $3, phone = NULL, email = NULL,
             address = NULL, category = NULL, notes = NULL, delete_reason = NULL, password_hash = NULL,
             login_disabled_at = COALESCE(login_disabled_at, $4), reminders_paused = 1,
             updated_at = $4, version = version + 1 WHERE id = $5",
            args![name.clone(), name.to_lowercase(), username.clone(), now.clone(), id],
        )
        .await?;
        let terms = CustomerName::parse(&name)
            .map(|n| search_terms(&n, None, None))
            .unwrap_or_default();
        index_search_terms(&mut tx, id, &terms).await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = $1 WHERE customer_id = $2 AND revoked_at IS NULL",
            args![now.clone(), id],
        )
        .await?;
        tx.execute(
            "UPDATE credential_tokens SET used_at = $1 WHERE customer_id = $2 AND used_at IS NULL",
            args![now.clone(), id],
        )
        .await?;

        // Their emails: unsent ones are cancelled, and none keeps the
        // address or the text (which greets the customer by name).
        let eml_paths = tx
            .fetch_all(
                "SELECT eml_path FROM emails WHERE customer_id = $1 AND eml_path IS NOT NULL",
                args![id],
            )
            .await?
            .iter()
            .map(|row| row.text("eml_path"))
            .collect::<Result<Vec<_>, _>>()?;
        tx.execute(
            "UPDATE emails SET status = 'failed', claimed_until = NULL,
             last_error = 'cancelled: the customer was purged', updated_at = $1
             WHERE customer_id = $2 AND status IN ('queued', 'sending')",
            args![now.clone(), id],
        )
        .await?;
        tx.execute(
            "UPDATE emails SET recipient = $1, body_text = $1, body_html = $1, eml_path = NULL, updated_at = $2
             WHERE customer_id = $3",
            args![ERASED, now.clone(), id],
        )
        .await?;

        // Who reported a payment is named by the old user name there and in
        // the sign-in log; the placeholder takes its place.
        let old_label = format!("customer:{}", before.username);
        let new_label = format!("customer:{username}");
        for column in ["submitted_by", "recorded_by", "decided_by"] {
            tx.execute(
                &format!(
                    "UPDATE payments SET {column} = $1 WHERE customer_id = $2 AND {column} = $3"
                ),
                args![new_label.clone(), id, old_label.clone()],
            )
            .await?;
        }
        let mut typed_names = vec![before.username.to_lowercase()];
        if let Some(email) = &before.email {
            typed_names.push(email.to_lowercase());
        }
        for typed in typed_names {
            tx.execute(
                "UPDATE signin_log SET username = $1 WHERE lower(username) = $2",
                args![username.clone(), typed],
            )
            .await?;
        }
        tx.execute(
            "UPDATE signin_log SET username = $1 WHERE principal = $2",
            args![username.clone(), format!("customer:{id}")],
        )
        .await?;

        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.purged",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({
                    "status": CustomerStatus::Deleted,
                    "purged": true,
                    "erased": ERASED_FIELDS,
                    "name": name,
                    "balance": before.balance,
                })),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        let customer = self.customer(id, today).await?;
        Ok(Purged {
            customer,
            eml_paths,
        })
    }
}
