//! The ledger's use cases: dues, payments (staff's and the ones customers
//! report), voids, confirming and rejecting, and reading entries and
//! statements. How a repeated request is recognised is decided here once.

use super::input::{DueInput, PaymentInput};
use super::{Action, Actor, App, AppError, AppResult, Due, Payment, Statement};
use crate::domain::fields::PaymentMethod;
use crate::domain::ledger::{DueStatus, PaymentStatus};
use crate::domain::money::Money;
use crate::store::ledger::{IdempotencyKey, LedgerCommand, LedgerOutcome, NewDue, NewPayment};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// How long after a payment a new one of the same amount to the same
/// customer is held back as a likely repeat.
pub const REPEAT_WINDOW_MINUTES: i64 = 10;

/// What became of a payment.
pub enum PaymentRecorded {
    /// Recorded now, or (`replayed`) recorded earlier under the same key.
    Recorded { payment: Payment, replayed: bool },
    /// Not recorded: it repeats a payment made minutes ago. Ask the caller
    /// "record another?" and send it again with the repeat check off.
    HeldBack(RepeatedPayment),
}

/// The earlier payment a new one repeats.
pub struct RepeatedPayment {
    pub earlier: Payment,
}

/// What makes two requests with one key the same request: their parsed
/// values, so "500" and "500.00" are one payment; a request without a date
/// means "today" whenever it is retried.
fn retry_guard(
    key: Option<String>,
    customer_id: i64,
    p: &super::input::ParsedPayment,
    advance: bool,
) -> Option<IdempotencyKey> {
    let fingerprint = serde_json::json!([
        customer_id,
        p.amount.minor(),
        p.method.as_str(),
        p.reference,
        p.dated.then(|| p.paid_on.to_string()),
        advance
    ]);
    key.map(|key| IdempotencyKey {
        key,
        request_hash: hex::encode(Sha256::digest(fingerprint.to_string().as_bytes())),
    })
}

fn payment_of(outcome: LedgerOutcome) -> AppResult<(Payment, bool)> {
    match outcome {
        LedgerOutcome::Payment { payment, replayed } => Ok((payment, replayed)),
        LedgerOutcome::Due(_) => Err(AppError::Internal),
    }
}

impl App {
    /// Records what a customer owes.
    pub async fn add_due(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &DueInput,
    ) -> AppResult<Due> {
        self.authorize(actor, Action::AddDue)?;
        let d = input.parse(self.currency(), self.today())?;
        let outcome = self
            .apply(
                &actor.label(),
                LedgerCommand::AddDue(NewDue {
                    customer_id,
                    amount: d.amount,
                    description: d.description,
                    issue_date: d.issue_date,
                    due_date: d.due_date,
                    over_limit: input.over_limit,
                }),
            )
            .await?;
        match outcome {
            LedgerOutcome::Due(due) => Ok(due),
            LedgerOutcome::Payment { .. } => Err(AppError::Internal),
        }
    }

    /// Records a payment from staff, allocated to open dues oldest first.
    pub async fn record_payment(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &PaymentInput,
    ) -> AppResult<PaymentRecorded> {
        self.authorize(actor, Action::RecordPayment)?;
        self.take_payment(actor, customer_id, input, PaymentMethod::Cash, false)
            .await
    }

    /// A customer reports a payment they made; it waits for staff.
    pub async fn report_payment(
        &self,
        actor: &Actor,
        input: &PaymentInput,
    ) -> AppResult<PaymentRecorded> {
        let customer_id = self.own_account(actor, Action::ReportPayment)?;
        self.take_payment(actor, customer_id, input, PaymentMethod::Upi, true)
            .await
    }

    async fn take_payment(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &PaymentInput,
        default_method: PaymentMethod,
        reported: bool,
    ) -> AppResult<PaymentRecorded> {
        let key = input
            .key
            .as_deref()
            .map(super::input::idempotency_key)
            .transpose()?;
        let p = input.parse(self.currency(), self.today(), default_method)?;
        let advance = input.advance && !reported;
        let label = actor.label();
        // A key seen before answers as before (or refuses a changed
        // request); only a payment under a new key can be a repeat.
        if input.check_repeat {
            let key_known = match &key {
                Some(k) => self.store.idempotency_key_known(&label, k).await?,
                None => false,
            };
            if !key_known
                && let Some(earlier) = self.recent_same_payment(customer_id, p.amount).await?
            {
                return Ok(PaymentRecorded::HeldBack(RepeatedPayment { earlier }));
            }
        }
        let new = NewPayment {
            customer_id,
            amount: p.amount,
            method: p.method,
            reference: p.reference.clone(),
            paid_on: p.paid_on,
            advance,
            idempotency: retry_guard(key, customer_id, &p, advance),
        };
        let command = if reported {
            LedgerCommand::SubmitPayment(new)
        } else {
            LedgerCommand::RecordPayment(new)
        };
        let (payment, replayed) = payment_of(self.apply(&label, command).await?)?;
        Ok(PaymentRecorded::Recorded { payment, replayed })
    }

    /// The customer's newest payment of `amount` made in the last few
    /// minutes and still standing (recorded or pending).
    async fn recent_same_payment(
        &self,
        customer_id: i64,
        amount: Money,
    ) -> AppResult<Option<Payment>> {
        let since = crate::store::timestamp_text(
            chrono::Utc::now() - chrono::Duration::minutes(REPEAT_WINDOW_MINUTES),
        );
        Ok(self
            .store
            .recent_payment_of(customer_id, amount, &since)
            .await?)
    }

    /// Confirms a payment a customer reported; `advance` keeps any excess as credit.
    pub async fn confirm_payment(
        &self,
        actor: &Actor,
        payment_id: i64,
        advance: bool,
    ) -> AppResult<Payment> {
        self.authorize(actor, Action::ReviewPayments)?;
        let outcome = self
            .apply(
                &actor.label(),
                LedgerCommand::ConfirmPayment {
                    payment_id,
                    advance,
                },
            )
            .await?;
        Ok(payment_of(outcome)?.0)
    }

    /// Rejects a payment a customer reported; the customer is told why.
    pub async fn reject_payment(
        &self,
        actor: &Actor,
        payment_id: i64,
        reason: &str,
    ) -> AppResult<Payment> {
        self.authorize(actor, Action::ReviewPayments)?;
        let reason = super::input::reason(reason)?;
        let outcome = self
            .apply(
                &actor.label(),
                LedgerCommand::RejectPayment { payment_id, reason },
            )
            .await?;
        Ok(payment_of(outcome)?.0)
    }

    /// Hands a change of the ledger to the store; its refusals come back worded.
    async fn apply(&self, actor_label: &str, command: LedgerCommand) -> AppResult<LedgerOutcome> {
        self.store
            .apply(actor_label, command)
            .await
            .map_err(|e| self.refused(e))
    }

    /// Voids a due; payments are allocated again.
    pub async fn void_due(&self, actor: &Actor, due_id: i64, reason: &str) -> AppResult<Due> {
        self.authorize(actor, Action::VoidEntry)?;
        let reason = super::input::reason(reason)?;
        match self
            .apply(&actor.label(), LedgerCommand::VoidDue { due_id, reason })
            .await?
        {
            LedgerOutcome::Due(due) => Ok(due),
            LedgerOutcome::Payment { .. } => Err(AppError::Internal),
        }
    }

    /// Voids a payment; the dues it paid are open again.
    pub async fn void_payment(
        &self,
        actor: &Actor,
        payment_id: i64,
        reason: &str,
    ) -> AppResult<Payment> {
        self.authorize(actor, Action::VoidEntry)?;
        let reason = super::input::reason(reason)?;
        let outcome = self
            .apply(
                &actor.label(),
                LedgerCommand::VoidPayment { payment_id, reason },
            )
            .await?;
        Ok(payment_of(outcome)?.0)
    }

    pub async fn due(&self, actor: &Actor, id: i64) -> AppResult<Due> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self.store.due(id).await?)
    }

    pub async fn payment(&self, actor: &Actor, id: i64) -> AppResult<Payment> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self.store.payment(id).await?)
    }

    /// A customer's dues in allocation order, voided ones included.
    pub async fn dues(&self, actor: &Actor, customer_id: i64) -> AppResult<Vec<Due>> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self.store.customer_dues(customer_id).await?)
    }

    /// A customer's payments, newest first.
    pub async fn payments(&self, actor: &Actor, customer_id: i64) -> AppResult<Vec<Payment>> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self.store.customer_payments(customer_id).await?)
    }

    /// Payments in one state (blank means "pending"), a page at a time,
    /// each with its customer's name.
    pub async fn payments_by_status(
        &self,
        actor: &Actor,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Vec<(Payment, String)>, i64)> {
        self.authorize(actor, Action::ReviewPayments)?;
        let raw = status.map(str::trim).filter(|s| !s.is_empty());
        let status = match raw {
            None => PaymentStatus::Pending,
            Some(raw) => PaymentStatus::parse(raw).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_status",
                    "status",
                    format!(
                        "'{raw}' is not a payment status; use pending, recorded, rejected or void"
                    ),
                )
            })?,
        };
        Ok(self.store.payments_by_status(status, limit, offset).await?)
    }

    /// A customer's statement with the running balance, optionally for a period.
    pub async fn statement(
        &self,
        actor: &Actor,
        customer_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> AppResult<Statement> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self
            .store
            .statement(customer_id, from, to, self.config().timezone)
            .await?)
    }
}

impl Due {
    /// Whether the due was voided (it then counts for nothing).
    pub fn is_void(&self) -> bool {
        self.status == DueStatus::Void
    }

    /// Whether something is left to pay on it.
    pub fn is_open(&self) -> bool {
        self.status.awaits_payment()
    }
}

impl Payment {
    /// Whether the payment was voided.
    pub fn is_void(&self) -> bool {
        self.status == PaymentStatus::Void
    }

    /// Whether a customer reported it and staff have yet to decide.
    pub fn is_pending(&self) -> bool {
        self.status == PaymentStatus::Pending
    }

    /// Whether it counts in the ledger.
    pub fn is_recorded(&self) -> bool {
        self.status == PaymentStatus::Recorded
    }
}
