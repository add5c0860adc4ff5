//! The money-moving writes. Every change to what a customer owes goes
//! through [`Store::apply`]: one transaction that locks the customer, writes
//! the entry and its allocations, moves the balance kept on the customer's
//! row, records the activity and (for payments) the idempotency key. Here
//! are that entry point, the steps every change shares, new dues and
//! payments staff record; reported payments and voids have files of their own.

use super::commands::{LedgerCommand, LedgerOutcome, NewDue};
use super::records::{Due, Payment, load_due};
use crate::args;
use crate::domain::customers::CustomerStatus;
use crate::domain::ledger::{self, DueStatus, HeldCredit, LedgerRefusal, OpenDue, allocate};
use crate::domain::money::Money;
use crate::domain::notifications::EmailKind;
use crate::store::activity::{self, Change};
use crate::store::db::{DbError, Tx, is_unique_violation};
use crate::store::letters::ReceiptFacts;
use crate::store::outbox::{self, NewEmail};
use crate::store::{Refusal, Store, StoreError, StoreResult, now_text};
use serde_json::json;
use std::collections::HashMap;

/// The customer row locked for this transaction: bumping its version takes
/// a row lock on PostgreSQL and is a write under SQLite's single writer, so
/// concurrent changes to one customer queue here instead of losing updates.
pub(super) struct LockedCustomer {
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) balance: Money,
    pub(super) credit_limit: Option<Money>,
}

pub(super) async fn lock_customer(tx: &mut Tx, id: i64) -> StoreResult<LockedCustomer> {
    let row = tx
        .fetch_optional(
            "UPDATE customers SET version = version + 1 WHERE id = $1 RETURNING status, name, email, balance, credit_limit",
            args![id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found("customer", id))?;
    if row.parsed("status", CustomerStatus::parse)? != CustomerStatus::Active {
        return Err(deleted_customer(id));
    }
    Ok(LockedCustomer {
        name: row.text("name")?,
        email: row.opt_text("email")?,
        balance: row.money("balance")?,
        credit_limit: row.opt_money("credit_limit")?,
    })
}

/// The refusal to change the ledger of a deleted customer.
pub(super) fn deleted_customer(id: i64) -> StoreError {
    StoreError::conflict(
        "customer_deleted",
        None,
        format!("customer {id} is deleted; restore it before changing its ledger"),
    )
}

/// The customer a payment belongs to, or 404.
pub(super) async fn payment_customer(tx: &mut Tx, payment_id: i64) -> StoreResult<i64> {
    Ok(tx
        .fetch_optional(
            "SELECT customer_id FROM payments WHERE id = $1",
            args![payment_id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found("payment", payment_id))?
        .i64("customer_id")?)
}

/// How a payment will be spread over a customer's open dues, oldest first.
pub(super) struct AllocationPlan {
    /// (due id, amount)
    pub(super) slices: Vec<(i64, Money)>,
    /// What no due needs: kept as credit.
    pub(super) left: Money,
    /// (amount, paid so far) of each open due.
    pub(super) dues: HashMap<i64, (Money, Money)>,
}

pub(super) async fn plan_allocation(
    tx: &mut Tx,
    customer_id: i64,
    amount: Money,
) -> StoreResult<AllocationPlan> {
    let open = tx
        .fetch_all(
            "SELECT id, amount, paid FROM dues WHERE customer_id = $1 AND status IN ('open', 'partial')
             ORDER BY COALESCE(due_date, issue_date), issue_date, id",
            args![customer_id],
        )
        .await?;
    let mut open_dues = Vec::with_capacity(open.len());
    let mut dues = HashMap::new();
    for row in &open {
        let (id, due_amount, paid) = (row.i64("id")?, row.money("amount")?, row.money("paid")?);
        dues.insert(id, (due_amount, paid));
        open_dues.push(OpenDue {
            id,
            outstanding: (due_amount - paid).minor(),
        });
    }
    // The allocation rule works in minor units.
    let (slices, left) = allocate(amount.minor(), &open_dues);
    Ok(AllocationPlan {
        slices: slices
            .into_iter()
            .map(|(id, take)| (id, Money(take)))
            .collect(),
        left: Money(left),
        dues,
    })
}

/// Writes a plan's allocations and the dues' new paid amounts.
pub(super) async fn write_allocation(
    tx: &mut Tx,
    payment_id: i64,
    plan: &AllocationPlan,
) -> StoreResult<()> {
    for (due_id, take) in &plan.slices {
        let (due_amount, paid) = plan.dues[due_id];
        tx.execute(
            "INSERT INTO allocations (payment_id, due_id, amount) VALUES ($1, $2, $3)",
            args![payment_id, *due_id, *take],
        )
        .await?;
        tx.execute(
            "UPDATE dues SET paid = $1, status = $2 WHERE id = $3",
            args![
                paid + *take,
                DueStatus::of(due_amount, paid + *take).as_str(),
                *due_id
            ],
        )
        .await?;
    }
    Ok(())
}

/// Moves the balance kept on the customer's row and recomputes the next
/// due date; returns the new balance.
pub(super) async fn move_balance(
    tx: &mut Tx,
    customer_id: i64,
    dues_delta: Money,
    paid_delta: Money,
) -> StoreResult<Money> {
    // The totals are bounded, so the sums here cannot overflow; a change
    // that would pass the bound leaves the row alone and is refused.
    let row = tx
        .fetch_optional(
            "UPDATE customers SET balance = balance + $1 - $2, total_dues = total_dues + $1, total_paid = total_paid + $2,
             next_due_date = (SELECT MIN(due_date) FROM dues WHERE customer_id = $3 AND status IN ('open', 'partial')),
             updated_at = $4 WHERE id = $3 AND total_dues + $1 <= $5 AND total_paid + $2 <= $5 RETURNING balance",
            args![dues_delta, paid_delta, customer_id, now_text(), ledger::MAX_CUSTOMER_TOTAL],
        )
        .await?
        .ok_or(StoreError::Refused(Refusal::Ledger(
            LedgerRefusal::TotalTooLarge {
                limit: ledger::MAX_CUSTOMER_TOTAL,
            },
        )))?;
    Ok(row.money("balance")?)
}

impl Store {
    /// The single entry point for every change that moves money. Payments
    /// staff record go through the group-commit writer (`batch.rs`).
    pub async fn apply(&self, actor: &str, command: LedgerCommand) -> StoreResult<LedgerOutcome> {
        if let LedgerCommand::RecordPayment(payment) = command {
            let (payment, replayed) = self.record_payment(actor, payment).await?;
            return Ok(LedgerOutcome::Payment { payment, replayed });
        }
        match self.apply_once(actor, &command).await {
            // Two reports with one key raced past the check on different
            // customers; the loser runs again and now sees the winner's key.
            Err(StoreError::Db(e))
                if is_unique_violation(&e)
                    && matches!(command, LedgerCommand::SubmitPayment(_)) =>
            {
                self.apply_once(actor, &command).await
            }
            other => other,
        }
    }

    async fn apply_once(&self, actor: &str, command: &LedgerCommand) -> StoreResult<LedgerOutcome> {
        let mut tx = self.db.write().await?;
        let outcome = match command {
            LedgerCommand::AddDue(due) => {
                LedgerOutcome::Due(self.add_due(&mut tx, actor, due).await?)
            }
            LedgerCommand::RecordPayment(_) => {
                unreachable!("recorded payments go through the group-commit writer")
            }
            LedgerCommand::SubmitPayment(payment) => {
                match self.submit_payment(&mut tx, actor, payment).await? {
                    (payment, true) => {
                        return Ok(LedgerOutcome::Payment {
                            payment,
                            replayed: true,
                        });
                    }
                    (payment, false) => LedgerOutcome::Payment {
                        payment,
                        replayed: false,
                    },
                }
            }
            LedgerCommand::ConfirmPayment {
                payment_id,
                advance,
            } => LedgerOutcome::Payment {
                payment: self
                    .confirm_payment(&mut tx, actor, *payment_id, *advance)
                    .await?,
                replayed: false,
            },
            LedgerCommand::RejectPayment { payment_id, reason } => LedgerOutcome::Payment {
                payment: self
                    .reject_payment(&mut tx, actor, *payment_id, reason)
                    .await?,
                replayed: false,
            },
            LedgerCommand::VoidDue { due_id, reason } => {
                LedgerOutcome::Due(self.void_due(&mut tx, actor, *due_id, reason).await?)
            }
            LedgerCommand::VoidPayment { payment_id, reason } => LedgerOutcome::Payment {
                payment: self
                    .void_payment(&mut tx, actor, *payment_id, reason)
                    .await?,
                replayed: false,
            },
        };
        let wake = tx.queued_email;
        tx.commit().await?;
        if wake {
            self.email_queued();
        }
        Ok(outcome)
    }

    async fn add_due(&self, tx: &mut Tx, actor: &str, new: &NewDue) -> StoreResult<Due> {
        let customer = lock_customer(tx, new.customer_id).await?;
        let amount = new.amount;
        let balance_after = ledger::check_due(
            customer.balance,
            amount,
            customer.credit_limit,
            new.over_limit,
        )?;
        let now = now_text();
        let row = tx
            .fetch_one(
                "INSERT INTO dues (customer_id, amount, paid, description, issue_date, due_date, status, balance_after, created_by, created_at)
                 VALUES ($1, $2, 0, $3, $4, $5, 'open', $6, $7, $8) RETURNING id",
                args![new.customer_id, amount, new.description.clone(), new.issue_date, new.due_date, balance_after, actor, now],
            )
            .await?;
        let due_id = row.i64("id")?;

        // Money held in advance pays the new due at once, oldest credit first.
        let credits = tx
            .fetch_all(
                "SELECT id, unallocated FROM payments WHERE customer_id = $1 AND status = 'recorded' AND unallocated > 0
                 ORDER BY paid_on, id",
                args![new.customer_id],
            )
            .await?
            .iter()
            .map(|c| {
                Ok(HeldCredit {
                    payment_id: c.i64("id")?,
                    unallocated: c.i64("unallocated")?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        // Paying from credit works in minor units, as allocation does.
        let (slices, paid) = ledger::pay_from_credit(amount.minor(), &credits);
        let paid = Money(paid);
        for &(payment_id, take) in &slices {
            tx.execute(
                "UPDATE payments SET unallocated = unallocated - $1 WHERE id = $2",
                args![take, payment_id],
            )
            .await?;
            tx.execute(
                "INSERT INTO allocations (payment_id, due_id, amount) VALUES ($1, $2, $3)",
                args![payment_id, due_id, take],
            )
            .await?;
        }
        if paid.is_positive() {
            tx.execute(
                "UPDATE dues SET paid = $1, status = $2 WHERE id = $3",
                args![paid, DueStatus::of(amount, paid).as_str(), due_id],
            )
            .await?;
        }
        let balance = move_balance(tx, new.customer_id, amount, Money::ZERO).await?;
        debug_assert_eq!(balance, balance_after);
        let due = load_due(tx, due_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "due.created",
                entity_type: "due",
                entity_id: due_id.to_string(),
                before: Some(json!({"customer_id": new.customer_id, "balance": customer.balance})),
                after: Some(json!({
                    "due_id": due_id, "customer_id": new.customer_id, "amount": amount, "description": due.description,
                    "issue_date": due.issue_date, "due_date": due.due_date, "paid_from_credit": paid,
                    "credit_allocations": slices,
                    "balance": balance, "over_limit": new.over_limit,
                })),
            },
        )
        .await?;
        Ok(due)
    }

    /// Queues the receipt of a recorded payment, when the customer has an email.
    pub(super) async fn queue_receipt(
        &self,
        tx: &mut Tx,
        customer: &LockedCustomer,
        payment: &Payment,
    ) -> StoreResult<()> {
        if let Some(email) = &customer.email {
            outbox::enqueue(tx, self.receipt_email(&customer.name, email, payment)).await?;
        }
        Ok(())
    }

    /// The receipt of a recorded payment, to `email`.
    pub(super) fn receipt_email(&self, name: &str, email: &str, payment: &Payment) -> NewEmail {
        let message = self.letters.receipt(&ReceiptFacts {
            name,
            payment_id: payment.id,
            amount: payment.amount,
            method: payment.method,
            reference: payment.reference.as_deref(),
            paid_on: payment.paid_on,
            balance_after: payment.balance_after,
        });
        NewEmail {
            kind: EmailKind::Receipt,
            dedupe_key: format!("receipt:{}", payment.id),
            customer_id: Some(payment.customer_id),
            recipient: email.to_string(),
            message,
        }
    }
}
