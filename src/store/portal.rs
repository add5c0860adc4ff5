//! What a signed-in customer may do to their own account beyond reading it:
//! closing it. (Reading reuses the staff queries, scoped to the caller's id
//! by the HTTP layer; paying goes through the ledger as a pending payment.)

use super::customers::Customer;
use super::{Store, StoreError, StoreResult};
use crate::args;
use crate::domain::money::Money;

impl Store {
    /// Closes the caller's account: only when nothing is owed or held and no
    /// reported payment waits for confirmation. Sign-in stops, sessions end,
    /// and a confirmation is emailed.
    pub async fn close_own_account(&self, actor: &str, customer_id: i64) -> StoreResult<Customer> {
        let customer = self.customer(customer_id).await?;
        if customer.balance > 0 {
            return Err(StoreError::conflict(
                "balance_open",
                None,
                format!(
                    "your balance is {}; an account can be closed once everything is paid",
                    self.currency().format(Money(customer.balance))
                ),
            ));
        }
        if customer.balance < 0 {
            return Err(StoreError::conflict(
                "credit_held",
                None,
                format!(
                    "the shop holds {} of yours in credit; ask the shop to settle it before closing the account",
                    self.currency().format(Money(-customer.balance))
                ),
            ));
        }
        let mut tx = self.db.read().await?;
        let pending = tx
            .scalar(
                "SELECT COUNT(*) FROM payments WHERE customer_id = $1 AND status = 'pending'",
                args![customer_id],
            )
            .await?;
        drop(tx);
        if pending > 0 {
            return Err(StoreError::conflict(
                "payment_pending",
                None,
                "a payment you reported is still waiting for the shop to confirm it; try again once it is settled",
            ));
        }
        self.delete_customer(
            actor,
            customer_id,
            false,
            Some("closed by the customer".to_string()),
        )
        .await
    }
}
