//! Voids: a wrong due or payment stays in the ledger, marked void with a
//! reason, and every allocation of the customer is worked out again.

use super::apply::{lock_customer, move_balance};
use super::records::{Due, Payment, load_due, load_payment};
use crate::args;
use crate::domain::ledger::{self, DueLine, DueStatus, PaymentLine, PaymentStatus};
use crate::domain::money::Money;
use crate::store::activity::{self, Change};
use crate::store::db::Tx;
use crate::store::{Store, StoreError, StoreResult, now_text};
use serde_json::json;
use std::collections::HashMap;

impl Store {
    pub(super) async fn void_due(
        &self,
        tx: &mut Tx,
        actor: &str,
        due_id: i64,
        reason: &str,
    ) -> StoreResult<Due> {
        let customer_id = tx
            .fetch_optional("SELECT customer_id FROM dues WHERE id = $1", args![due_id])
            .await?
            .ok_or_else(|| StoreError::not_found("due", due_id))?
            .i64("customer_id")?;
        let customer = lock_customer(tx, customer_id).await?;
        let before = load_due(tx, due_id).await?;
        if before.status == DueStatus::Void {
            return Err(StoreError::conflict(
                "already_void",
                None,
                format!("due {due_id} is already void"),
            ));
        }
        tx.execute(
            "UPDATE dues SET status = 'void', paid = 0, voided_at = $1, voided_by = $2, void_reason = $3 WHERE id = $4",
            args![now_text(), actor, reason, due_id],
        )
        .await?;
        let allocations = reallocate(tx, customer_id).await?;
        let balance = move_balance(tx, customer_id, -before.amount, Money::ZERO).await?;
        let due = load_due(tx, due_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "due.voided",
                entity_type: "due",
                entity_id: due_id.to_string(),
                before: Some(json!({"status": before.status, "amount": before.amount, "paid": before.paid, "balance": customer.balance})),
                after: Some(json!({
                    "due_id": due_id, "customer_id": customer_id, "amount": before.amount,
                    "customer_allocations": allocations,
                    "status": DueStatus::Void, "reason": reason, "balance": balance,
                })),
            },
        )
        .await?;
        Ok(due)
    }

    pub(super) async fn void_payment(
        &self,
        tx: &mut Tx,
        actor: &str,
        payment_id: i64,
        reason: &str,
    ) -> StoreResult<Payment> {
        let customer_id = tx
            .fetch_optional(
                "SELECT customer_id FROM payments WHERE id = $1",
                args![payment_id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found("payment", payment_id))?
            .i64("customer_id")?;
        let customer = lock_customer(tx, customer_id).await?;
        let before = load_payment(tx, payment_id).await?;
        if before.status == PaymentStatus::Void {
            return Err(StoreError::conflict(
                "already_void",
                None,
                format!("payment {payment_id} is already void"),
            ));
        }
        // A payment a customer reported never lowered the balance while it
        // was pending, nor once rejected: voiding it would raise the balance
        // by money that was never taken off. Staff reject a pending payment.
        match before.status {
            PaymentStatus::Recorded | PaymentStatus::Void => {}
            PaymentStatus::Pending => {
                return Err(StoreError::conflict(
                    "not_recorded",
                    None,
                    format!(
                        "payment {payment_id} is pending and has not changed the balance; reject it instead of voiding it"
                    ),
                ));
            }
            PaymentStatus::Rejected => {
                return Err(StoreError::conflict(
                    "not_recorded",
                    None,
                    format!(
                        "payment {payment_id} was rejected and never changed the balance; there is nothing to void"
                    ),
                ));
            }
        }
        ledger::check_payment_void(customer.balance, before.amount)?;
        tx.execute(
            "UPDATE payments SET status = 'void', unallocated = amount, voided_at = $1, voided_by = $2, void_reason = $3 WHERE id = $4",
            args![now_text(), actor, reason, payment_id],
        )
        .await?;
        let allocations = reallocate(tx, customer_id).await?;
        let balance = move_balance(tx, customer_id, Money::ZERO, -before.amount).await?;
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.voided",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(json!({"status": before.status, "amount": before.amount, "balance": customer.balance})),
                after: Some(json!({
                    "payment_id": payment_id, "customer_id": customer_id, "amount": before.amount,
                    "customer_allocations": allocations,
                    "status": PaymentStatus::Void, "reason": reason, "balance": balance,
                })),
            },
        )
        .await?;
        Ok(payment)
    }
}

/// Allocates a customer's live payments to its live dues afresh, after a
/// void has made earlier allocations wrong. Only rows that change are written.
/// Returns every allocation of the customer's now, as (payment, due, amount),
/// for the activity entry.
async fn reallocate(tx: &mut Tx, customer_id: i64) -> StoreResult<Vec<(i64, i64, i64)>> {
    let due_rows = tx
        .fetch_all(
            "SELECT id, amount, paid, issue_date, due_date FROM dues WHERE customer_id = $1 AND status <> 'void'",
            args![customer_id],
        )
        .await?;
    let payment_rows = tx
        .fetch_all(
            "SELECT id, amount, unallocated, paid_on FROM payments WHERE customer_id = $1 AND status = 'recorded'",
            args![customer_id],
        )
        .await?;
    let mut dues = Vec::new();
    let mut old_paid = HashMap::new();
    for r in &due_rows {
        let id = r.i64("id")?;
        old_paid.insert(id, r.i64("paid")?);
        dues.push(DueLine {
            id,
            amount: r.i64("amount")?,
            issue_date: r.date("issue_date")?,
            due_date: r.opt_date("due_date")?,
        });
    }
    let mut payments = Vec::new();
    let mut old_unallocated = HashMap::new();
    for r in &payment_rows {
        let id = r.i64("id")?;
        old_unallocated.insert(id, r.i64("unallocated")?);
        payments.push(PaymentLine {
            id,
            amount: r.i64("amount")?,
            paid_on: r.date("paid_on")?,
        });
    }
    let plan = ledger::reallocate(&dues, &payments);
    tx.execute(
        "DELETE FROM allocations WHERE payment_id IN (SELECT id FROM payments WHERE customer_id = $1)",
        args![customer_id],
    )
    .await?;
    for a in &plan.allocations {
        tx.execute(
            "INSERT INTO allocations (payment_id, due_id, amount) VALUES ($1, $2, $3)",
            args![a.payment_id, a.due_id, a.amount],
        )
        .await?;
    }
    let amounts: HashMap<i64, i64> = dues.iter().map(|d| (d.id, d.amount)).collect();
    for (due_id, paid) in plan.paid_per_due {
        if old_paid.get(&due_id) != Some(&paid) {
            tx.execute(
                "UPDATE dues SET paid = $1, status = $2 WHERE id = $3",
                args![
                    paid,
                    DueStatus::of(Money(amounts[&due_id]), Money(paid)).as_str(),
                    due_id
                ],
            )
            .await?;
        }
    }
    for (payment_id, unallocated) in plan.unallocated_per_payment {
        if old_unallocated.get(&payment_id) != Some(&unallocated) {
            tx.execute(
                "UPDATE payments SET unallocated = $1 WHERE id = $2",
                args![unallocated, payment_id],
            )
            .await?;
        }
    }
    Ok(plan
        .allocations
        .iter()
        .map(|a| (a.payment_id, a.due_id, a.amount))
        .collect())
}
