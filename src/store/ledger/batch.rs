//! Group commit for the payments staff record. Every such payment is queued
//! to a writer that takes all the payments waiting at that moment and
//! records them in one transaction with one durable commit: each still gets
//! its own allocation, activity entry, receipt and idempotency record, and
//! each request is answered only once the commit is on disk.
//!
//! The rules are checked in order of arrival against the balances as the
//! batch leaves them, so a payment refused (an overpayment, a customer
//! deleted, a key reused) is that request's answer and its neighbours go
//! on. Two requests with one key in one batch give one payment: the second
//! is answered as a replay of the first. When the batch cannot be written,
//! no payment in it is recorded: a failure of the commit (or of the
//! database) is every request's answer; a statement that fails for a
//! reason of its own has each payment tried again alone, so one bad
//! payment cannot fail the rest.

use super::apply::deleted_customer;
use super::commands::NewPayment;
use super::idempotency::{KEY_COLUMNS, earlier_answer, key_reused, key_row};
use super::records::{AllocationLine, Payment, RECORDED_PAYMENT_COLUMNS};
use crate::domain::customers::CustomerStatus;
use crate::domain::ledger::{self, DueStatus, LedgerRefusal, OpenDue, PaymentStatus, allocate};
use crate::domain::money::Money;
use crate::store::activity::{self, Change};
use crate::store::db::{Arg, Backend, DbError, Failure, Tx, failure_of, is_unique_violation};
use crate::store::outbox;
use crate::store::{Refusal, Store, StoreError, StoreResult, now_text};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc, oneshot};

/// How payments are gathered into batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// How long a writer waits for more payments after the first of a
    /// batch arrives. Zero: a batch is whatever waited while the last one
    /// committed, so a lone payment is never held back.
    pub linger: Duration,
    /// The most payments in one transaction.
    pub max_batch: usize,
    /// Writers working at once on PostgreSQL (SQLite has one writer).
    pub writers: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            linger: Duration::ZERO,
            max_batch: 256,
            writers: 2,
        }
    }
}

/// What a recorded payment request gets back: the payment, and whether it
/// is the replay of an earlier request with the same key.
pub type PaymentAnswer = StoreResult<(Payment, bool)>;

struct Request {
    actor: String,
    payment: NewPayment,
}

struct Job {
    request: Request,
    reply: oneshot::Sender<PaymentAnswer>,
    queued: Instant,
}

/// Where payments wait for a writer; started on first use.
#[derive(Clone, Default)]
pub(crate) struct PaymentQueue(Arc<OnceLock<mpsc::UnboundedSender<Job>>>);

enum BatchFailure {
    /// A statement failed, or the transaction could not begin.
    Statement(DbError),
    /// The commit failed: nothing in the batch is recorded.
    Commit(DbError),
}

impl Store {
    /// Records a payment through the group-commit writer.
    pub(super) async fn record_payment(&self, actor: &str, payment: NewPayment) -> PaymentAnswer {
        let closed = || StoreError::Db(DbError::PoolClosed);
        let sender = self.payments.0.get_or_init(|| self.start_payment_writers());
        let (reply, answer) = oneshot::channel();
        sender
            .send(Job {
                request: Request {
                    actor: actor.to_string(),
                    payment,
                },
                reply,
                queued: Instant::now(),
            })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    fn start_payment_writers(&self) -> mpsc::UnboundedSender<Job> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        // The writers' own handle has no queue of its own, so the queue
        // (and the writers) end when the last handle that can send is gone.
        let writer = Store {
            payments: PaymentQueue::default(),
            ..self.clone()
        };
        let writers = match self.db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => self.batching.writers.max(1),
        };
        for _ in 0..writers {
            tokio::spawn(writer.clone().write_payments(receiver.clone()));
        }
        sender
    }

    async fn write_payments(self, receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
        let Batching {
            linger, max_batch, ..
        } = self.batching;
        let max_batch = max_batch.max(1);
        loop {
            let jobs = {
                let mut receiver = receiver.lock().await;
                let Some(first) = receiver.recv().await else {
                    return;
                };
                let mut jobs = vec![first];
                if !linger.is_zero() {
                    let until = tokio::time::Instant::now() + linger;
                    while jobs.len() < max_batch {
                        match tokio::time::timeout_at(until, receiver.recv()).await {
                            Ok(Some(job)) => jobs.push(job),
                            _ => break,
                        }
                    }
                }
                while jobs.len() < max_batch {
                    match receiver.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                jobs
            };
            self.commit_batch(jobs).await;
        }
    }

    async fn commit_batch(&self, jobs: Vec<Job>) {
        if let Some(oldest) = jobs.iter().map(|j| j.queued).min() {
            metrics::histogram!("duetrack_payment_batch_size").record(jobs.len() as f64);
            metrics::histogram!("duetrack_payment_batch_wait_seconds")
                .record(oldest.elapsed().as_secs_f64());
        }
        let (requests, replies): (Vec<Request>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        match self.write_batch_retrying(&requests).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(BatchFailure::Statement(e))
                if requests.len() > 1 && failure_of(&e) == Failure::Fault =>
            {
                tracing::warn!(error = %e, size = requests.len(), "a payment batch failed; trying each payment alone");
                for (request, reply) in requests.into_iter().zip(replies) {
                    let answer = match self
                        .write_batch_retrying(std::slice::from_ref(&request))
                        .await
                    {
                        Ok(mut answers) => answers.remove(0),
                        Err(BatchFailure::Statement(e) | BatchFailure::Commit(e)) => {
                            Err(StoreError::Db(e))
                        }
                    };
                    let _ = reply.send(answer);
                }
            }
            Err(BatchFailure::Statement(e) | BatchFailure::Commit(e)) => {
                tracing::warn!(error = %e, size = requests.len(), "a payment batch was not recorded");
                let shared = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Shared(shared.clone())));
                }
            }
        }
    }

    /// Writes a batch; when a key raced past the check on another node, once
    /// more, and the second time the earlier payment is found.
    async fn write_batch_retrying(
        &self,
        requests: &[Request],
    ) -> Result<Vec<PaymentAnswer>, BatchFailure> {
        match self.write_batch(requests).await {
            Err(BatchFailure::Statement(e)) if is_unique_violation(&e) => {
                self.write_batch(requests).await
            }
            other => other,
        }
    }

    async fn write_batch(&self, requests: &[Request]) -> Result<Vec<PaymentAnswer>, BatchFailure> {
        let mut tx = self.db.write().await.map_err(BatchFailure::Statement)?;
        let answers = self
            .record_batch(&mut tx, requests)
            .await
            .map_err(BatchFailure::Statement)?;
        let wake = tx.queued_email;
        tx.commit().await.map_err(BatchFailure::Commit)?;
        if wake {
            self.email_queued();
        }
        Ok(answers)
    }

    /// Checks and writes a batch inside `tx`; returns each request's answer.
    async fn record_batch(
        &self,
        tx: &mut Tx,
        requests: &[Request],
    ) -> Result<Vec<PaymentAnswer>, DbError> {
        let mut accounts = load_accounts(tx, requests).await?;
        let remembered = load_keys(tx, requests).await?;
        let mut answers: Vec<Option<PaymentAnswer>> = requests.iter().map(|_| None).collect();
        let mut planned: Vec<Planned> = Vec::new();
        // (actor, key) -> the planned payment that first used it
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        let mut replays: Vec<(usize, usize)> = Vec::new();

        for (index, request) in requests.iter().enumerate() {
            let new = &request.payment;
            let customer_id = new.customer_id;
            let Some(account) = accounts.get_mut(&customer_id) else {
                answers[index] = Some(Err(StoreError::not_found("customer", customer_id)));
                continue;
            };
            if !account.active {
                answers[index] = Some(Err(deleted_customer(customer_id)));
                continue;
            }
            if let Some(key) = &new.idempotency {
                let slot = (request.actor.as_str(), key.key.as_str());
                if let Some((request_hash, body)) = remembered.get(&slot) {
                    answers[index] =
                        Some(earlier_answer(request_hash, body, key).map(|p| (p, true)));
                    continue;
                }
                if let Some(&first) = seen.get(&slot) {
                    let same = requests[planned[first].index]
                        .payment
                        .idempotency
                        .as_ref()
                        .is_some_and(|k| k.request_hash == key.request_hash);
                    if same {
                        replays.push((index, first));
                    } else {
                        answers[index] = Some(Err(key_reused()));
                    }
                    continue;
                }
            }
            match account.take_payment(new.amount, new.advance) {
                Err(refusal) => answers[index] = Some(Err(StoreError::Refused(refusal))),
                Ok(taken) => {
                    if let Some(key) = &new.idempotency {
                        seen.insert((request.actor.as_str(), key.key.as_str()), planned.len());
                    }
                    planned.push(Planned { index, ..taken });
                }
            }
        }
        if planned.is_empty() {
            return Ok(answers.into_iter().map(|a| a.expect("answered")).collect());
        }

        let ids = reserve_payment_ids(tx, planned.len()).await?;
        let now = now_text();
        let payments: Vec<Payment> = planned
            .iter()
            .zip(&ids)
            .map(|(plan, &id)| {
                let request = &requests[plan.index];
                let new = &request.payment;
                Payment {
                    id,
                    customer_id: new.customer_id,
                    amount: new.amount,
                    unallocated: plan.left,
                    method: new.method,
                    reference: new.reference.clone(),
                    paid_on: new.paid_on,
                    is_advance: new.advance,
                    status: PaymentStatus::Recorded,
                    balance_after: plan.balance_after,
                    recorded_by: request.actor.clone(),
                    created_at: now.clone(),
                    voided_at: None,
                    voided_by: None,
                    void_reason: None,
                    submitted_by: None,
                    decided_by: None,
                    decided_at: None,
                    reject_reason: None,
                    allocations: plan
                        .slices
                        .iter()
                        .map(|&(due_id, amount)| AllocationLine { due_id, amount })
                        .collect(),
                }
            })
            .collect();
        write_payments(tx, &payments).await?;
        write_dues_and_balances(tx, &accounts, &now).await?;

        let changes = planned
            .iter()
            .zip(&payments)
            .map(|(plan, payment)| {
                let slices: Vec<(i64, Money)> = plan.slices.clone();
                (
                    requests[plan.index].actor.as_str(),
                    Change {
                        action: "payment.recorded",
                        entity_type: "payment",
                        entity_id: payment.id.to_string(),
                        before: Some(json!({"customer_id": payment.customer_id, "balance": plan.balance_before})),
                        after: Some(json!({
                            "payment_id": payment.id, "customer_id": payment.customer_id, "amount": payment.amount,
                            "method": payment.method, "reference": payment.reference, "paid_on": payment.paid_on,
                            "advance": plan.left, "allocations": slices, "balance": plan.balance_after,
                        })),
                    },
                )
            })
            .collect();
        activity::record_many(tx, changes).await?;

        let receipts = payments
            .iter()
            .filter_map(|payment| {
                let account = &accounts[&payment.customer_id];
                let email = account.email.as_deref()?;
                Some(self.receipt_email(&account.name, email, payment))
            })
            .collect();
        outbox::enqueue_many(tx, receipts).await?;

        let mut keys = Vec::new();
        for (plan, payment) in planned.iter().zip(&payments) {
            let request = &requests[plan.index];
            if let Some(key) = &request.payment.idempotency {
                keys.push(key_row(&request.actor, key, payment)?);
            }
        }
        tx.insert_many("idempotency_keys", &KEY_COLUMNS, &keys, "")
            .await?;

        for (plan, payment) in planned.iter().zip(&payments) {
            answers[plan.index] = Some(Ok((payment.clone(), false)));
        }
        for (index, first) in replays {
            answers[index] = Some(Ok((payments[first].clone(), true)));
        }
        Ok(answers.into_iter().map(|a| a.expect("answered")).collect())
    }
}

/// One payment of the batch as checked: what it does to its customer.
struct Planned {
    /// Its request's place in the batch.
    index: usize,
    balance_before: Money,
    balance_after: Money,
    /// (due id, amount) in allocation order.
    slices: Vec<(i64, Money)>,
    /// What no due needed: kept as credit.
    left: Money,
}

/// A customer as the batch leaves it.
struct Account {
    active: bool,
    name: String,
    email: Option<String>,
    balance: Money,
    total_paid: Money,
    /// Open dues in allocation order, with what each still needs.
    open: Vec<OpenDue>,
    /// due id -> (amount, paid) of each open due, as the batch leaves it.
    dues_amounts: HashMap<i64, (Money, Money)>,
    /// The dues the batch paid something of.
    paid: BTreeSet<i64>,
    touched: bool,
}

impl Account {
    /// Checks a payment against the balance as it stands and, when it is
    /// allowed, spreads it over the open dues.
    fn take_payment(&mut self, amount: Money, advance: bool) -> Result<Planned, Refusal> {
        let balance_before = self.balance;
        let balance_after =
            ledger::check_payment(self.balance, amount, advance).map_err(Refusal::Ledger)?;
        let total_paid = self
            .total_paid
            .checked_add(amount)
            .filter(|t| *t <= ledger::MAX_CUSTOMER_TOTAL)
            .ok_or(Refusal::Ledger(LedgerRefusal::TotalTooLarge {
                limit: ledger::MAX_CUSTOMER_TOTAL,
            }))?;
        // The allocation rule works in minor units.
        let (slices, left) = allocate(amount.minor(), &self.open);
        for &(due_id, take) in &slices {
            let (due_amount, paid) = self.dues_amounts[&due_id];
            self.dues_amounts
                .insert(due_id, (due_amount, paid + Money(take)));
            self.paid.insert(due_id);
            if let Some(due) = self.open.iter_mut().find(|d| d.id == due_id) {
                due.outstanding -= take;
            }
        }
        self.open.retain(|d| d.outstanding > 0);
        self.balance = balance_after;
        self.total_paid = total_paid;
        self.touched = true;
        Ok(Planned {
            index: 0,
            balance_before,
            balance_after,
            slices: slices.into_iter().map(|(id, t)| (id, Money(t))).collect(),
            left: Money(left),
        })
    }
}

/// The customers of a batch with their open dues; on PostgreSQL their rows
/// are locked, in order of id so that two batches never wait on each other.
async fn load_accounts(
    tx: &mut Tx,
    requests: &[Request],
) -> Result<HashMap<i64, Account>, DbError> {
    let ids: Vec<Arg> = requests
        .iter()
        .map(|r| r.payment.customer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(Arg::from)
        .collect();
    let lock = match tx.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " ORDER BY id FOR UPDATE",
    };
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT id, status, name, email, balance, total_paid FROM customers WHERE id IN ({}){lock}",
                tx.params(1, ids.len())
            ),
            &ids,
        )
        .await?;
    let mut accounts = HashMap::with_capacity(rows.len());
    for row in &rows {
        accounts.insert(
            row.i64("id")?,
            Account {
                active: row.parsed("status", CustomerStatus::parse)? == CustomerStatus::Active,
                name: row.text("name")?,
                email: row.opt_text("email")?,
                balance: row.money("balance")?,
                total_paid: row.money("total_paid")?,
                open: Vec::new(),
                dues_amounts: HashMap::new(),
                paid: BTreeSet::new(),
                touched: false,
            },
        );
    }
    let dues = tx
        .fetch_all(
            &format!(
                "SELECT id, customer_id, amount, paid FROM dues WHERE customer_id IN ({}) AND status IN ('open', 'partial')
                 ORDER BY customer_id, COALESCE(due_date, issue_date), issue_date, id",
                tx.params(1, ids.len())
            ),
            &ids,
        )
        .await?;
    for row in &dues {
        let (id, amount, paid) = (row.i64("id")?, row.money("amount")?, row.money("paid")?);
        if let Some(account) = accounts.get_mut(&row.i64("customer_id")?) {
            account.dues_amounts.insert(id, (amount, paid));
            account.open.push(OpenDue {
                id,
                outstanding: (amount - paid).minor(),
            });
        }
    }
    Ok(accounts)
}

/// The keys of the batch already remembered: (actor, key) -> (request
/// hash, response body).
async fn load_keys<'a>(
    tx: &mut Tx,
    requests: &'a [Request],
) -> Result<HashMap<(&'a str, &'a str), (String, String)>, DbError> {
    let keyed: Vec<(&str, &str)> = requests
        .iter()
        .filter_map(|r| {
            let key = r.payment.idempotency.as_ref()?;
            Some((r.actor.as_str(), key.key.as_str()))
        })
        .collect();
    if keyed.is_empty() {
        return Ok(HashMap::new());
    }
    let args: Vec<Arg> = keyed.iter().map(|&(_, key)| Arg::from(key)).collect();
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT actor, key, request_hash, response_body FROM idempotency_keys WHERE key IN ({})",
                tx.params(1, args.len())
            ),
            &args,
        )
        .await?;
    let mut found = HashMap::new();
    for row in &rows {
        let (actor, key) = (row.text("actor")?, row.text("key")?);
        if let Some(&slot) = keyed.iter().find(|&&(a, k)| a == actor && k == key) {
            found.insert(
                slot,
                (row.text("request_hash")?, row.text("response_body")?),
            );
        }
    }
    Ok(found)
}

/// Ids for `count` new payments, in increasing order. SQLite's single
/// writer holds the lock, so the ids after the largest ever used are free;
/// PostgreSQL hands them out from the column's sequence.
async fn reserve_payment_ids(tx: &mut Tx, count: usize) -> Result<Vec<i64>, DbError> {
    let count = i64::try_from(count).expect("a batch fits in i64");
    match tx.backend() {
        Backend::Sqlite => {
            let last = tx
                .scalar(
                    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'payments'), 0),
                                COALESCE((SELECT MAX(id) FROM payments), 0))",
                    &[],
                )
                .await?;
            Ok((last + 1..=last + count).collect())
        }
        Backend::Postgres => {
            let rows = tx
                .fetch_all(
                    "SELECT nextval(pg_get_serial_sequence('payments', 'id')) AS id FROM generate_series(1, $1)",
                    crate::args![count],
                )
                .await?;
            let mut ids = rows
                .iter()
                .map(|r| r.i64("id"))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            Ok(ids)
        }
    }
}

async fn write_payments(tx: &mut Tx, payments: &[Payment]) -> Result<(), DbError> {
    let rows: Vec<Vec<Arg>> = payments
        .iter()
        .map(|p| {
            crate::args![
                p.id,
                p.customer_id,
                p.amount,
                p.unallocated,
                p.method.as_str(),
                p.reference.clone(),
                p.paid_on,
                i64::from(p.is_advance),
                p.status.as_str(),
                p.balance_after,
                p.recorded_by.clone(),
                p.created_at.clone()
            ]
            .to_vec()
        })
        .collect();
    tx.insert_many("payments", &RECORDED_PAYMENT_COLUMNS, &rows, "")
        .await?;
    let allocations: Vec<Vec<Arg>> = payments
        .iter()
        .flat_map(|p| {
            p.allocations
                .iter()
                .map(|a| crate::args![p.id, a.due_id, a.amount].to_vec())
        })
        .collect();
    tx.insert_many(
        "allocations",
        &["payment_id", "due_id", "amount"],
        &allocations,
        "",
    )
    .await?;
    Ok(())
}

/// The dues the batch paid and the balances it moved, one statement each.
async fn write_dues_and_balances(
    tx: &mut Tx,
    accounts: &HashMap<i64, Account>,
    now: &str,
) -> Result<(), DbError> {
    let mut dues: Vec<Arg> = Vec::new();
    for account in accounts.values() {
        for &due_id in &account.paid {
            let (amount, paid) = account.dues_amounts[&due_id];
            dues.extend([
                Arg::from(due_id),
                Arg::from(paid),
                Arg::from(DueStatus::of(amount, paid).as_str()),
            ]);
        }
    }
    if !dues.is_empty() {
        let sql = format!(
            "WITH v (id, paid, status) AS (VALUES {})
             UPDATE dues SET paid = v.paid, status = v.status FROM v WHERE dues.id = v.id",
            tx.value_rows(1, dues.len() / 3, 3)
        );
        tx.execute(&sql, &dues).await?;
    }
    let mut customers: Vec<Arg> = Vec::new();
    for (&id, account) in accounts.iter().filter(|(_, a)| a.touched) {
        customers.extend([
            Arg::from(id),
            Arg::from(account.balance),
            Arg::from(account.total_paid),
        ]);
    }
    let rows = customers.len() / 3;
    customers.push(Arg::from(now));
    let sql = format!(
        "WITH v (id, balance, total_paid) AS (VALUES {})
         UPDATE customers SET balance = v.balance, total_paid = v.total_paid, version = version + 1, updated_at = {},
         next_due_date = (SELECT MIN(d.due_date) FROM dues d WHERE d.customer_id = customers.id AND d.status IN ('open', 'partial'))
         FROM v WHERE customers.id = v.id",
        tx.value_rows(1, rows, 3),
        tx.params(rows * 3 + 1, 1)
    );
    tx.execute(&sql, &customers).await?;
    Ok(())
}
