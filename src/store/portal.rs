//! What a signed-in customer may do to their own account beyond reading it:
//! closing it. (Reading reuses the staff queries, scoped to the caller's id
//! by the HTTP layer; paying goes through the ledger as a pending payment.)

use super::customers::Customer;
use super::{Refusal, Store, StoreError, StoreResult};
use crate::args;
use chrono::NaiveDate;

impl Store {
    /// Closes the caller's account: only when nothing is owed or held and no
    /// reported payment waits for confirmation. Sign-in stops, sessions end,
    /// and a confirmation is emailed.
    /// `today` decides the overdue figures of the customer returned.
    pub async fn close_own_account(
        &self,
        actor: &str,
        customer_id: i64,
        today: NaiveDate,
    ) -> StoreResult<Customer> {
        let customer = self.customer(customer_id, today).await?;
        if customer.balance.is_positive() {
            return Err(StoreError::Refused(Refusal::OwnBalanceOpen {
                balance: customer.balance,
            }));
        }
        if customer.balance.is_negative() {
            return Err(StoreError::Refused(Refusal::OwnCreditHeld {
                credit: -customer.balance,
            }));
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
            today,
        )
        .await
    }
}
