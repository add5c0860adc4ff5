//! The money-moving writes. Every change to what a customer owes goes
//! through [`Store::apply`]: one transaction that locks the customer, writes
//! the entry and its allocations, moves the balance kept on the customer's
//! row, records the activity and (for payments) the idempotency key.

use super::activity::{self, Change};
use super::db::{Arg, DbError, Row, Tx, is_unique_violation, placeholders};
use super::letters::{ReceiptFacts, RejectionFacts};
use super::outbox::{self, NewEmail};
use super::{Store, StoreError, StoreResult, customers, now_text};
use crate::args;
use crate::domain::customers::CustomerStatus;
use crate::domain::fields::PaymentMethod;
use crate::domain::ledger::{
    self, DueLine, DueStatus, HeldCredit, LedgerRefusal, OpenDue, PaymentLine, PaymentStatus,
    StatementLineKind, StatementMovement, allocate, running_balances,
};
use crate::domain::money::Money;
use crate::domain::notifications::EmailKind;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Due {
    pub id: i64,
    pub customer_id: i64,
    pub amount: i64,
    pub paid: i64,
    pub description: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub status: DueStatus,
    pub balance_after: i64,
    pub created_by: String,
    pub created_at: String,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
}

impl Due {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Due {
            id: row.i64("id")?,
            customer_id: row.i64("customer_id")?,
            amount: row.i64("amount")?,
            paid: row.i64("paid")?,
            description: row.opt_text("description")?,
            issue_date: row.date("issue_date")?,
            due_date: row.opt_date("due_date")?,
            status: row.parsed("status", DueStatus::parse)?,
            balance_after: row.i64("balance_after")?,
            created_by: row.text("created_by")?,
            created_at: row.text("created_at")?,
            voided_at: row.opt_text("voided_at")?,
            voided_by: row.opt_text("voided_by")?,
            void_reason: row.opt_text("void_reason")?,
        })
    }
}

/// The part of a payment that went to one due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllocationLine {
    pub due_id: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub customer_id: i64,
    pub amount: i64,
    pub unallocated: i64,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    pub is_advance: bool,
    pub status: PaymentStatus,
    pub balance_after: i64,
    pub recorded_by: String,
    pub created_at: String,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    /// The customer who reported it, for payments made through the portal.
    #[serde(default)]
    pub submitted_by: Option<String>,
    /// Who confirmed or rejected a reported payment, and when.
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub reject_reason: Option<String>,
    pub allocations: Vec<AllocationLine>,
}

impl Payment {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Payment {
            id: row.i64("id")?,
            customer_id: row.i64("customer_id")?,
            amount: row.i64("amount")?,
            unallocated: row.i64("unallocated")?,
            method: row.parsed("method", |m| PaymentMethod::parse(m).ok())?,
            reference: row.opt_text("reference")?,
            paid_on: row.date("paid_on")?,
            is_advance: row.i64("is_advance")? != 0,
            status: row.parsed("status", PaymentStatus::parse)?,
            balance_after: row.i64("balance_after")?,
            recorded_by: row.text("recorded_by")?,
            created_at: row.text("created_at")?,
            voided_at: row.opt_text("voided_at")?,
            voided_by: row.opt_text("voided_by")?,
            void_reason: row.opt_text("void_reason")?,
            submitted_by: row.opt_text("submitted_by")?,
            decided_by: row.opt_text("decided_by")?,
            decided_at: row.opt_text("decided_at")?,
            reject_reason: row.opt_text("reject_reason")?,
            allocations: Vec::new(),
        })
    }
}

pub struct NewDue {
    pub customer_id: i64,
    pub amount: Money,
    pub description: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// Accept the due even when it takes the balance past the credit limit.
    pub over_limit: bool,
}

/// A retry guard: the caller's key and a hash of what it asked for.
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

pub struct NewPayment {
    pub customer_id: i64,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    /// Accept more than the balance and keep the excess as credit.
    pub advance: bool,
    pub idempotency: Option<IdempotencyKey>,
}

pub enum LedgerCommand {
    AddDue(NewDue),
    RecordPayment(NewPayment),
    /// A customer reports a payment; it waits, pending, for staff.
    SubmitPayment(NewPayment),
    ConfirmPayment {
        payment_id: i64,
        advance: bool,
    },
    RejectPayment {
        payment_id: i64,
        reason: String,
    },
    VoidDue {
        due_id: i64,
        reason: String,
    },
    VoidPayment {
        payment_id: i64,
        reason: String,
    },
}

pub enum LedgerOutcome {
    Due(Due),
    /// `replayed` is true when an idempotent retry returned the first result.
    Payment {
        payment: Payment,
        replayed: bool,
    },
}

/// The customer row locked for this transaction: bumping its version takes
/// a row lock on PostgreSQL and is a write under SQLite's single writer, so
/// concurrent changes to one customer queue here instead of losing updates.
struct LockedCustomer {
    name: String,
    email: Option<String>,
    balance: i64,
    credit_limit: Option<i64>,
}

async fn lock_customer(tx: &mut Tx, id: i64) -> StoreResult<LockedCustomer> {
    let row = tx
        .fetch_optional(
            "UPDATE customers SET version = version + 1 WHERE id = $1 RETURNING status, name, email, balance, credit_limit",
            args![id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found("customer", id))?;
    if row.parsed("status", CustomerStatus::parse)? != CustomerStatus::Active {
        return Err(StoreError::conflict(
            "customer_deleted",
            None,
            format!("customer {id} is deleted; restore it before changing its ledger"),
        ));
    }
    Ok(LockedCustomer {
        name: row.text("name")?,
        email: row.opt_text("email")?,
        balance: row.i64("balance")?,
        credit_limit: row.opt_i64("credit_limit")?,
    })
}

/// The customer a payment belongs to, or 404.
async fn payment_customer(tx: &mut Tx, payment_id: i64) -> StoreResult<i64> {
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
struct AllocationPlan {
    /// (due id, amount)
    slices: Vec<(i64, i64)>,
    /// What no due needs: kept as credit.
    left: i64,
    /// (amount, paid so far) of each open due.
    dues: HashMap<i64, (i64, i64)>,
}

async fn plan_allocation(
    tx: &mut Tx,
    customer_id: i64,
    amount: i64,
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
        let (id, due_amount, paid) = (row.i64("id")?, row.i64("amount")?, row.i64("paid")?);
        dues.insert(id, (due_amount, paid));
        open_dues.push(OpenDue {
            id,
            outstanding: due_amount - paid,
        });
    }
    let (slices, left) = allocate(amount, &open_dues);
    Ok(AllocationPlan { slices, left, dues })
}

/// Writes a plan's allocations and the dues' new paid amounts.
async fn write_allocation(tx: &mut Tx, payment_id: i64, plan: &AllocationPlan) -> StoreResult<()> {
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
                paid + take,
                DueStatus::of(due_amount, paid + take).as_str(),
                *due_id
            ],
        )
        .await?;
    }
    Ok(())
}

/// Moves the balance kept on the customer's row and recomputes the next
/// due date; returns the new balance.
async fn move_balance(
    tx: &mut Tx,
    customer_id: i64,
    dues_delta: i64,
    paid_delta: i64,
) -> StoreResult<i64> {
    let row = tx
        .fetch_one(
            "UPDATE customers SET balance = balance + $1 - $2, total_dues = total_dues + $1, total_paid = total_paid + $2,
             next_due_date = (SELECT MIN(due_date) FROM dues WHERE customer_id = $3 AND status IN ('open', 'partial')),
             updated_at = $4 WHERE id = $3 RETURNING balance",
            args![dues_delta, paid_delta, customer_id, now_text()],
        )
        .await?;
    Ok(row.i64("balance")?)
}

impl Store {
    /// A refusal of the ledger's rules as the store reports it: the codes
    /// and field callers rely on, the words from the rule.
    fn refused(&self, refusal: LedgerRefusal) -> StoreError {
        let message = refusal.explain(&self.currency());
        match refusal {
            LedgerRefusal::TooLarge => {
                StoreError::rejected("amount_too_large", Some("amount"), message)
            }
            LedgerRefusal::Overpayment { .. } => {
                StoreError::rejected("overpayment", Some("amount"), message)
            }
            LedgerRefusal::MoreThanBalance { .. } => {
                StoreError::rejected("more_than_balance", Some("amount"), message)
            }
            LedgerRefusal::OverCreditLimit { .. } => {
                StoreError::conflict("credit_limit", Some("amount"), message)
            }
        }
    }

    /// The single entry point for every change that moves money.
    pub async fn apply(&self, actor: &str, command: LedgerCommand) -> StoreResult<LedgerOutcome> {
        match self.apply_once(actor, &command).await {
            // Two requests with one key raced past the check on different
            // customers; the loser runs again and now sees the winner's key.
            Err(StoreError::Db(e))
                if is_unique_violation(&e)
                    && matches!(command, LedgerCommand::RecordPayment(_)) =>
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
            LedgerCommand::RecordPayment(payment) => {
                match self.record_payment(&mut tx, actor, payment).await? {
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
        let amount = new.amount.minor();
        let balance_after = ledger::check_due(
            customer.balance,
            amount,
            customer.credit_limit,
            new.over_limit,
        )
        .map_err(|r| self.refused(r))?;
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
        let (slices, paid) = ledger::pay_from_credit(amount, &credits);
        for (payment_id, take) in slices {
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
        if paid > 0 {
            tx.execute(
                "UPDATE dues SET paid = $1, status = $2 WHERE id = $3",
                args![paid, DueStatus::of(amount, paid).as_str(), due_id],
            )
            .await?;
        }
        let balance = move_balance(tx, new.customer_id, amount, 0).await?;
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
                    "customer_id": new.customer_id, "amount": amount, "description": due.description,
                    "issue_date": due.issue_date, "due_date": due.due_date, "paid_from_credit": paid,
                    "balance": balance, "over_limit": new.over_limit,
                })),
            },
        )
        .await?;
        Ok(due)
    }

    /// Looks up an earlier request with the same key: its stored result, or
    /// a refusal when the key came with a different request.
    async fn replay(
        &self,
        tx: &mut Tx,
        actor: &str,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<Payment>> {
        let earlier = tx
            .fetch_optional(
                "SELECT request_hash, response_body FROM idempotency_keys WHERE actor = $1 AND key = $2",
                args![actor, key.key.clone()],
            )
            .await?;
        let Some(earlier) = earlier else {
            return Ok(None);
        };
        if earlier.text("request_hash")? != key.request_hash {
            return Err(StoreError::rejected(
                "idempotency_key_reused",
                Some("Idempotency-Key"),
                "this Idempotency-Key was already used for a different request; use a new key for a new payment",
            ));
        }
        let payment: Payment = serde_json::from_str(&earlier.text("response_body")?)
            .map_err(|e| DbError::Decode(Box::new(e)))?;
        Ok(Some(payment))
    }

    async fn remember(
        &self,
        tx: &mut Tx,
        actor: &str,
        key: &IdempotencyKey,
        payment: &Payment,
    ) -> StoreResult<()> {
        let body = serde_json::to_string(payment).map_err(|e| DbError::Decode(Box::new(e)))?;
        tx.execute(
            "INSERT INTO idempotency_keys (actor, key, request_hash, response_status, response_body, created_at)
             VALUES ($1, $2, $3, 201, $4, $5)",
            args![actor, key.key.clone(), key.request_hash.clone(), body, now_text()],
        )
        .await?;
        Ok(())
    }

    /// Queues the receipt of a recorded payment, when the customer has an email.
    async fn queue_receipt(
        &self,
        tx: &mut Tx,
        customer: &LockedCustomer,
        payment: &Payment,
    ) -> StoreResult<()> {
        let Some(email) = &customer.email else {
            return Ok(());
        };
        let message = self.letters.receipt(&ReceiptFacts {
            name: &customer.name,
            payment_id: payment.id,
            amount: payment.amount,
            method: payment.method,
            reference: payment.reference.as_deref(),
            paid_on: payment.paid_on,
            balance_after: payment.balance_after,
        });
        outbox::enqueue(
            tx,
            NewEmail {
                kind: EmailKind::Receipt,
                dedupe_key: format!("receipt:{}", payment.id),
                customer_id: Some(payment.customer_id),
                recipient: email.clone(),
                message,
            },
        )
        .await?;
        Ok(())
    }

    /// Returns the payment and whether it is a replay of an earlier request.
    async fn record_payment(
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
        let amount = new.amount.minor();
        let balance_after = ledger::check_payment(customer.balance, amount, new.advance)
            .map_err(|r| self.refused(r))?;
        let plan = plan_allocation(tx, new.customer_id, amount).await?;
        let row = tx
            .fetch_one(
                "INSERT INTO payments (customer_id, amount, unallocated, method, reference, paid_on, is_advance, status, balance_after, recorded_by, created_at)
                 VALUES ($1, $2, $10, $3, $4, $5, $6, 'recorded', $7, $8, $9) RETURNING id",
                args![
                    new.customer_id,
                    amount,
                    new.method.as_str(),
                    new.reference.clone(),
                    new.paid_on,
                    i64::from(new.advance),
                    balance_after,
                    actor,
                    now_text(),
                    plan.left
                ],
            )
            .await?;
        let payment_id = row.i64("id")?;
        write_allocation(tx, payment_id, &plan).await?;
        let (slices, left) = (plan.slices, plan.left);
        let balance = move_balance(tx, new.customer_id, 0, amount).await?;
        debug_assert_eq!(balance, balance_after);
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.recorded",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(json!({"customer_id": new.customer_id, "balance": customer.balance})),
                after: Some(json!({
                    "customer_id": new.customer_id, "amount": amount, "method": payment.method,
                    "reference": payment.reference, "paid_on": payment.paid_on, "advance": left,
                    "allocations": slices, "balance": balance,
                })),
            },
        )
        .await?;
        self.queue_receipt(tx, &customer, &payment).await?;
        if let Some(key) = &new.idempotency {
            self.remember(tx, actor, key, &payment).await?;
        }
        Ok((payment, false))
    }

    /// A customer's own report of a payment: pending, the balance untouched,
    /// until staff confirm it.
    async fn submit_payment(
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
        let amount = new.amount.minor();
        ledger::check_reported_payment(customer.balance, amount).map_err(|r| self.refused(r))?;
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
                after: Some(json!({"customer_id": new.customer_id, "amount": amount, "method": payment.method, "reference": payment.reference})),
            },
        )
        .await?;
        if let Some(key) = &new.idempotency {
            self.remember(tx, actor, key, &payment).await?;
        }
        Ok((payment, false))
    }

    /// Staff confirm a pending payment: it is recorded, allocated and receipted.
    async fn confirm_payment(
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
        let balance_after = ledger::check_payment(customer.balance, pending.amount, advance)
            .map_err(|r| self.refused(r))?;
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
        let balance = move_balance(tx, customer_id, 0, pending.amount).await?;
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.confirmed",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(json!({"status": PaymentStatus::Pending, "balance": customer.balance})),
                after: Some(
                    json!({"status": PaymentStatus::Recorded, "allocations": slices, "balance": balance}),
                ),
            },
        )
        .await?;
        self.queue_receipt(tx, &customer, &payment).await?;
        Ok(payment)
    }

    /// Staff reject a pending payment; the customer is told why.
    async fn reject_payment(
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
                after: Some(json!({"status": PaymentStatus::Rejected, "reason": reason})),
            },
        )
        .await?;
        Ok(payment)
    }

    async fn void_due(
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
        reallocate(tx, customer_id).await?;
        let balance = move_balance(tx, customer_id, -before.amount, 0).await?;
        let due = load_due(tx, due_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "due.voided",
                entity_type: "due",
                entity_id: due_id.to_string(),
                before: Some(json!({"status": before.status, "amount": before.amount, "paid": before.paid, "balance": customer.balance})),
                after: Some(json!({"status": DueStatus::Void, "reason": reason, "balance": balance})),
            },
        )
        .await?;
        Ok(due)
    }

    async fn void_payment(
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
        ledger::check_payment_void(customer.balance, before.amount).map_err(|r| self.refused(r))?;
        tx.execute(
            "UPDATE payments SET status = 'void', unallocated = amount, voided_at = $1, voided_by = $2, void_reason = $3 WHERE id = $4",
            args![now_text(), actor, reason, payment_id],
        )
        .await?;
        reallocate(tx, customer_id).await?;
        let balance = move_balance(tx, customer_id, 0, -before.amount).await?;
        let payment = load_payment(tx, payment_id).await?;
        activity::record(
            tx,
            actor,
            Change {
                action: "payment.voided",
                entity_type: "payment",
                entity_id: payment_id.to_string(),
                before: Some(json!({"status": before.status, "amount": before.amount, "balance": customer.balance})),
                after: Some(json!({"status": PaymentStatus::Void, "reason": reason, "balance": balance})),
            },
        )
        .await?;
        Ok(payment)
    }
}

/// Allocates a customer's live payments to its live dues afresh, after a
/// void has made earlier allocations wrong. Only rows that change are written.
async fn reallocate(tx: &mut Tx, customer_id: i64) -> StoreResult<()> {
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
                args![paid, DueStatus::of(amounts[&due_id], paid).as_str(), due_id],
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
    Ok(())
}

async fn load_due(tx: &mut Tx, id: i64) -> StoreResult<Due> {
    let row = tx
        .fetch_optional("SELECT * FROM dues WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("due", id))?;
    Ok(Due::from_row(&row)?)
}

async fn load_payment(tx: &mut Tx, id: i64) -> StoreResult<Payment> {
    let row = tx
        .fetch_optional("SELECT * FROM payments WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("payment", id))?;
    let mut payments = vec![Payment::from_row(&row)?];
    attach_allocations(tx, &mut payments).await?;
    Ok(payments.remove(0))
}

/// Fills in how each payment was split over dues, in allocation order, with
/// one query for all of them.
async fn attach_allocations(tx: &mut Tx, payments: &mut [Payment]) -> StoreResult<()> {
    if payments.is_empty() {
        return Ok(());
    }
    let ids: Vec<Arg> = payments.iter().map(|p| Arg::from(p.id)).collect();
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT a.payment_id, a.due_id, a.amount FROM allocations a JOIN dues d ON d.id = a.due_id
                 WHERE a.payment_id IN ({}) ORDER BY COALESCE(d.due_date, d.issue_date), d.issue_date, d.id",
                placeholders(1, ids.len())
            ),
            &ids,
        )
        .await?;
    let mut by_payment: HashMap<i64, Vec<AllocationLine>> = HashMap::new();
    for a in rows {
        by_payment
            .entry(a.i64("payment_id")?)
            .or_default()
            .push(AllocationLine {
                due_id: a.i64("due_id")?,
                amount: a.i64("amount")?,
            });
    }
    for p in payments {
        p.allocations = by_payment.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

/// One statement line with the balance after it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementLine {
    pub date: NaiveDate,
    pub kind: StatementLineKind,
    pub due_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub description: String,
    /// Positive raises the balance, negative lowers it.
    pub delta: i64,
    pub balance: i64,
}

pub struct Statement {
    pub customer: customers::Customer,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub opening_balance: i64,
    pub closing_balance: i64,
    pub lines: Vec<StatementLine>,
}

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

    /// The ledger in date order with a running balance; entries before
    /// `from` make the opening balance, entries after `to` are left out.
    pub async fn statement(
        &self,
        customer_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Statement> {
        let mut tx = self.db.read().await?;
        let customer = customers::load(&mut tx, customer_id).await?;
        let tz = self.timezone();
        let void_date = |at: &Option<String>| -> Option<NaiveDate> {
            at.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&tz).date_naive())
        };
        let mut movements = Vec::new();
        for r in tx
            .fetch_all(
                "SELECT * FROM dues WHERE customer_id = $1",
                args![customer_id],
            )
            .await?
        {
            let due = Due::from_row(&r)?;
            let label = due
                .description
                .clone()
                .unwrap_or_else(|| format!("Due #{}", due.id));
            movements.push((
                StatementMovement {
                    date: due.issue_date,
                    sequence: (due.created_at.clone(), due.id),
                    delta: due.amount,
                },
                (StatementLineKind::Due, Some(due.id), None, label.clone()),
            ));
            if let (Some(date), Some(at)) = (void_date(&due.voided_at), due.voided_at.clone()) {
                movements.push((
                    StatementMovement {
                        date,
                        sequence: (at, due.id),
                        delta: -due.amount,
                    },
                    (
                        StatementLineKind::DueVoid,
                        Some(due.id),
                        None,
                        format!("Void of {label}: {}", due.void_reason.unwrap_or_default()),
                    ),
                ));
            }
        }
        for r in tx
            .fetch_all(
                "SELECT * FROM payments WHERE customer_id = $1 AND status IN ('recorded', 'void')",
                args![customer_id],
            )
            .await?
        {
            let p = Payment::from_row(&r)?;
            let label = match &p.reference {
                Some(reference) => format!("Payment ({}, {reference})", p.method),
                None => format!("Payment ({})", p.method),
            };
            movements.push((
                StatementMovement {
                    date: p.paid_on,
                    sequence: (p.created_at.clone(), p.id),
                    delta: -p.amount,
                },
                (StatementLineKind::Payment, None, Some(p.id), label.clone()),
            ));
            if let (Some(date), Some(at)) = (void_date(&p.voided_at), p.voided_at.clone()) {
                movements.push((
                    StatementMovement {
                        date,
                        sequence: (at, p.id),
                        delta: p.amount,
                    },
                    (
                        StatementLineKind::PaymentVoid,
                        None,
                        Some(p.id),
                        format!("Void of {label}: {}", p.void_reason.unwrap_or_default()),
                    ),
                ));
            }
        }
        let all = running_balances(0, movements);
        let mut opening_balance = 0;
        let mut lines = Vec::new();
        for (m, (kind, due_id, payment_id, description), balance) in all {
            if from.is_some_and(|f| m.date < f) {
                opening_balance = balance;
                continue;
            }
            if to.is_some_and(|t| m.date > t) {
                continue;
            }
            lines.push(StatementLine {
                date: m.date,
                kind,
                due_id,
                payment_id,
                description,
                delta: m.delta,
                balance,
            });
        }
        let closing_balance = lines.last().map_or(opening_balance, |l| l.balance);
        Ok(Statement {
            customer,
            from,
            to,
            opening_balance,
            closing_balance,
            lines,
        })
    }
}
