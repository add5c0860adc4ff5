//! Reading the ledger: one due or payment, a customer's dues and payments,
//! and payments in one state across customers.

use super::records::{Due, Payment, attach_allocations, load_due, load_payment};
use crate::args;
use crate::domain::ledger::PaymentStatus;
use crate::store::{Store, StoreResult, customers};

impl Store {
    pub async fn due(&self, id: i64) -> StoreResult<Due> {
        let mut tx = self.db.read().await?;
        load_due(&mut tx, id).await
    }

    pub async fn payment(&self, id: i64) -> StoreResult<Payment> {
        let mut tx = self.db.read().await?;
        load_payment(&mut tx, id).await
    }

    /// A customer's dues, oldest first in allocation order.
    pub async fn customer_dues(&self, customer_id: i64) -> StoreResult<Vec<Due>> {
        let mut tx = self.db.read().await?;
        customers::load(&mut tx, customer_id).await?;
        let rows = tx
            .fetch_all(
                "SELECT * FROM dues WHERE customer_id = $1 ORDER BY COALESCE(due_date, issue_date), issue_date, id",
                args![customer_id],
            )
            .await?;
        Ok(rows.iter().map(Due::from_row).collect::<Result<_, _>>()?)
    }

    /// A customer's payments, newest first, with their allocations.
    pub async fn customer_payments(&self, customer_id: i64) -> StoreResult<Vec<Payment>> {
        let mut tx = self.db.read().await?;
        customers::load(&mut tx, customer_id).await?;
        let rows = tx
            .fetch_all(
                "SELECT * FROM payments WHERE customer_id = $1 ORDER BY paid_on DESC, id DESC",
                args![customer_id],
            )
            .await?;
        let mut payments: Vec<Payment> = rows
            .iter()
            .map(Payment::from_row)
            .collect::<Result<_, _>>()?;
        attach_allocations(&mut tx, &mut payments).await?;
        Ok(payments)
    }

    /// The customer's newest payment of `amount` created at or after
    /// `since` that still stands (recorded, or reported and pending).
    pub async fn recent_payment_of(
        &self,
        customer_id: i64,
        amount: crate::domain::money::Money,
        since: &str,
    ) -> StoreResult<Option<Payment>> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT * FROM payments WHERE customer_id = $1 AND amount = $2 AND created_at >= $3
                 AND status IN ($4, $5) ORDER BY id DESC LIMIT 1",
                args![
                    customer_id,
                    amount,
                    since,
                    PaymentStatus::Recorded.as_str(),
                    PaymentStatus::Pending.as_str()
                ],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut payments = vec![Payment::from_row(&row)?];
        attach_allocations(&mut tx, &mut payments).await?;
        Ok(payments.pop())
    }

    /// Payments in one state across all customers (such as `pending`, for
    /// staff to confirm), oldest first, with the customer's name.
    pub async fn payments_by_status(
        &self,
        status: PaymentStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<(Payment, String)>, i64)> {
        let mut tx = self.db.read().await?;
        let total = tx
            .scalar(
                "SELECT COUNT(*) FROM payments WHERE status = $1",
                args![status.as_str()],
            )
            .await?;
        let rows = tx
            .fetch_all(
                "SELECT p.*, c.name AS customer_name FROM payments p JOIN customers c ON c.id = p.customer_id
                 WHERE p.status = $1 ORDER BY p.id LIMIT $2 OFFSET $3",
                args![status.as_str(), limit, offset],
            )
            .await?;
        let mut payments: Vec<Payment> = rows
            .iter()
            .map(Payment::from_row)
            .collect::<Result<_, _>>()?;
        attach_allocations(&mut tx, &mut payments).await?;
        let names = rows
            .iter()
            .map(|r| r.text("customer_name"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((payments.into_iter().zip(names).collect(), total))
    }

    /// How many payments customers reported wait for staff.
    pub async fn pending_payment_count(&self) -> StoreResult<i64> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .scalar(
                "SELECT COUNT(*) FROM payments WHERE status = 'pending'",
                &[],
            )
            .await?)
    }
}
