//! Payments customers report: pending, the balance untouched, until staff
//! confirm them (recorded, allocated and receipted) or reject them (the
//! customer is told why).

use super::apply::{
    lock_customer, move_balance, payment_customer, plan_allocation, write_allocation,
};
use super::commands::NewPayment;
use super::records::{Payment, load_payment};
use crate::args;
use crate::domain::ledger::{self, PaymentStatus};
use crate::domain::money::Money;
use crate::domain::notifications::EmailKind;
use crate::store::activity::{self, Change};
use crate::store::db::Tx;
use crate::store::letters::RejectionFacts;
use crate::store::outbox::{self, NewEmail};
use crate::store::{Store, StoreError, StoreResult, now_text};
use serde_json::json;

impl Store {
    /// A customer's own report of a payment: pending, the balance untouched,
    /// until staff confirm it.
    pub(super) async fn submit_payment(
        &self,
        tx: &mut Tx,
        actor: &str,
        new: &NewPayment,
    ) -> StoreResult<(Payment, bool)> {
        let customer = lock_customer(tx, new.customer_id).await?;
        if let Some(key) = &new.idempotency
            && let Some(payment) = self.replay(tx, actor, key).await?
        {
            return Ok((payment, true));
        }
        let amount = new.amount;
        ledger::check_reported_payment(customer.balance, amount)?;
        let row = tx
            .fetch_one(
                "INSERT INTO payments (customer_id, amount, unallocated, method, reference, paid_on, is_advance, status, balance_after, recorded_by, submitted_by, created_at)
                 VALUES ($1, $2, $2, $3, $4, $5, 0, 'pending', $6, $7, $7, $8) RETURNING id",
                args![
                    new.customer_id,
                    amount,
                    new.method.as_str(),
                    new.reference.clone(),
                    new.paid_on,
                    customer.balance,
                    actor,
                    now_text()
                ],
            )
            .await?;
        let payment_id = row.i64("id")?;
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.submitted",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: None,
                after: Some(json!({
                    "payment_id": payment_id, "customer_id": new.customer_id, "amount": amount,
                    "status": PaymentStatus::Pending, "method": payment.method, "reference": payment.reference,
                })),
            },
        )
        .await?;
        if let Some(key) = &new.idempotency {
            self.remember(tx, actor, key, &payment).await?;
        }
        Ok((payment, false))
    }

    /// Staff confirm a pending payment: it is recorded, allocated and receipted.
    pub(super) async fn confirm_payment(
        &self,
        tx: &mut Tx,
        actor: &str,
        payment_id: i64,
        advance: bool,
    ) -> StoreResult<Payment> {
        let customer_id = payment_customer(tx, payment_id).await?;
        let customer = lock_customer(tx, customer_id).await?;
        let pending = load_payment(tx, payment_id).await?;
        if pending.status != PaymentStatus::Pending {
            return Err(StoreError::conflict(
                "not_pending",
                None,
                format!("payment {payment_id} is {}, not pending", pending.status),
            ));
        }
        let balance_after = ledger::check_payment(customer.balance, pending.amount, advance)?;
        let now = now_text();
        let plan = plan_allocation(tx, customer_id, pending.amount).await?;
        tx.execute(
            "UPDATE payments SET status = 'recorded', is_advance = $1, balance_after = $2, recorded_by = $3, decided_by = $3,
             decided_at = $4, unallocated = $6 WHERE id = $5",
            args![i64::from(advance), balance_after, actor, now, payment_id, plan.left],
        )
        .await?;
        write_allocation(tx, payment_id, &plan).await?;
        let slices = plan.slices;
        let balance = move_balance(tx, customer_id, Money::ZERO, pending.amount).await?;
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.confirmed",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(
                    json!({"status": PaymentStatus::Pending, "balance": customer.balance}),
                ),
                after: Some(json!({
                    "payment_id": payment_id, "customer_id": customer_id, "amount": pending.amount,
                    "status": PaymentStatus::Recorded, "allocations": slices, "balance": balance,
                })),
            },
        )
        .await?;
        self.queue_receipt(tx, &customer, &payment).await?;
        Ok(payment)
    }

    /// Staff reject a pending payment; the customer is told why.
    pub(super) async fn reject_payment(
        &self,
        tx: &mut Tx,
        actor: &str,
        payment_id: i64,
        reason: &str,
    ) -> StoreResult<Payment> {
        let customer_id = payment_customer(tx, payment_id).await?;
        let customer = lock_customer(tx, customer_id).await?;
        let pending = load_payment(tx, payment_id).await?;
        if pending.status != PaymentStatus::Pending {
            return Err(StoreError::conflict(
                "not_pending",
                None,
                format!("payment {payment_id} is {}, not pending", pending.status),
            ));
        }
        tx.execute(
            "UPDATE payments SET status = 'rejected', reject_reason = $1, decided_by = $2, decided_at = $3 WHERE id = $4",
            args![reason, actor, now_text(), payment_id],
        )
        .await?;
        let payment = load_payment(tx, payment_id).await?;
        if let Some(email) = &customer.email {
            outbox::enqueue(
                tx,
                NewEmail {
                    kind: EmailKind::PaymentRejected,
                    dedupe_key: format!("payment_rejected:{payment_id}"),
                    customer_id: Some(customer_id),
                    recipient: email.clone(),
                    message: self.letters.payment_rejected(&RejectionFacts {
                        name: &customer.name,
                        amount: payment.amount,
                        paid_on: payment.paid_on,
                        reason,
                    }),
                },
            )
            .await?;
        }
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.rejected",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(json!({"status": PaymentStatus::Pending})),
                after: Some(json!({
                    "payment_id": payment_id, "customer_id": customer_id, "amount": pending.amount,
                    "status": PaymentStatus::Rejected, "reason": reason,
                })),
            },
        )
        .await?;
        Ok(payment)
    }
}
