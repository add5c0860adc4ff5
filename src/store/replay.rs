//! The replay behind `duetrack verify`: the activity log is read as the
//! ledger's history — every due and payment recorded, reported, confirmed,
//! rejected, voided or imported — and what it says must be what the ledger
//! rows say. A row the log never recorded, an entry whose row is gone, and
//! an amount, customer or status that differs between the two are each
//! named. Together with the keyed chain this makes a ledger edited behind
//! duetrack's back show: the log cannot be rewritten to match without the
//! chain key.

use super::db::{DbError, Tx};
use super::import::IMPORT_ACTOR;
use serde_json::Value;
use std::collections::BTreeMap;

/// A ledger-changing activity entry, as the replay needs it.
#[derive(Debug, Clone)]
pub struct Event {
    seq: i64,
    kind: Kind,
    /// The due or payment (or, for an import, the customer) it is about.
    id: Option<i64>,
    customer: Option<i64>,
    amount: Option<i64>,
}

#[derive(Debug, Clone)]
enum Kind {
    DueCreated,
    DueVoided,
    PaymentRecorded,
    PaymentSubmitted,
    PaymentConfirmed,
    PaymentRejected,
    PaymentVoided,
    /// A customer imported with an opening ledger: the amounts of its dues
    /// and payments and, in entries written since verify replays them,
    /// their ids.
    CustomerImported {
        dues: Vec<i64>,
        payments: Vec<i64>,
        due_ids: Option<Vec<i64>>,
        payment_ids: Option<Vec<i64>>,
    },
}

fn int(v: &Option<Value>, field: &str) -> Option<i64> {
    v.as_ref()?.get(field)?.as_i64()
}

fn ints(v: &Option<Value>, field: &str) -> Option<Vec<i64>> {
    v.as_ref()?
        .get(field)?
        .as_array()?
        .iter()
        .map(Value::as_i64)
        .collect()
}

/// The replay's view of one entry, or `None` for entries that do not
/// change the ledger.
pub fn event(
    seq: i64,
    action: &str,
    entity_id: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Option<Event> {
    let parse = |t: Option<&str>| t.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let (before, after) = (parse(before), parse(after));
    let kind = match action {
        "due.created" => Kind::DueCreated,
        "due.voided" => Kind::DueVoided,
        "payment.recorded" => Kind::PaymentRecorded,
        "payment.submitted" => Kind::PaymentSubmitted,
        "payment.confirmed" => Kind::PaymentConfirmed,
        "payment.rejected" => Kind::PaymentRejected,
        "payment.voided" => Kind::PaymentVoided,
        "customer.imported" => Kind::CustomerImported {
            dues: ints(&after, "dues").unwrap_or_default(),
            payments: ints(&after, "payments").unwrap_or_default(),
            due_ids: ints(&after, "due_ids"),
            payment_ids: ints(&after, "payment_ids"),
        },
        _ => return None,
    };
    Some(Event {
        seq,
        kind,
        id: entity_id.parse().ok(),
        customer: int(&after, "customer_id").or(int(&before, "customer_id")),
        amount: int(&after, "amount").or(int(&before, "amount")),
    })
}

/// A due or payment row, as the replay compares it.
struct LedgerRow {
    customer: i64,
    amount: i64,
    status: String,
    by: String,
}

/// Every due and payment row.
pub struct LedgerRows {
    dues: BTreeMap<i64, LedgerRow>,
    payments: BTreeMap<i64, LedgerRow>,
}

impl LedgerRows {
    pub async fn load(tx: &mut Tx) -> Result<Self, DbError> {
        let mut load = async |sql: &str| -> Result<BTreeMap<i64, LedgerRow>, DbError> {
            let mut rows = BTreeMap::new();
            for r in tx.fetch_all(sql, &[]).await? {
                rows.insert(
                    r.i64("id")?,
                    LedgerRow {
                        customer: r.i64("customer_id")?,
                        amount: r.i64("amount")?,
                        status: r.text("status")?,
                        by: r.opt_text("by")?.unwrap_or_default(),
                    },
                );
            }
            Ok(rows)
        };
        let dues =
            load("SELECT id, customer_id, amount, status, created_by AS by FROM dues").await?;
        let payments =
            load("SELECT id, customer_id, amount, status, recorded_by AS by FROM payments").await?;
        Ok(Self { dues, payments })
    }
}

/// What the log says a due or payment is.
struct Expected {
    /// The entry that recorded it.
    seq: i64,
    customer: Option<i64>,
    amount: Option<i64>,
    /// `live` for a due not voided; otherwise the status the row must have.
    state: &'static str,
    /// The entry that last changed it.
    last: i64,
}

struct Replay<'a, F: Fn(i64) -> String> {
    dues: BTreeMap<i64, Expected>,
    payments: BTreeMap<i64, Expected>,
    problems: &'a mut Vec<String>,
    money: &'a F,
}

impl<F: Fn(i64) -> String> Replay<'_, F> {
    fn create(&mut self, payment: bool, id: i64, e: &Event, state: &'static str) {
        let what = if payment { "payment" } else { "due" };
        let map = if payment {
            &mut self.payments
        } else {
            &mut self.dues
        };
        if let Some(first) = map.get(&id) {
            self.problems.push(format!(
                "activity log entry {}: it records {what} {id}, which entry {} already recorded",
                e.seq, first.seq
            ));
            return;
        }
        map.insert(
            id,
            Expected {
                seq: e.seq,
                customer: e.customer,
                amount: e.amount,
                state,
                last: e.seq,
            },
        );
    }

    /// A change of status: `from` lists the states it may follow.
    fn change(&mut self, payment: bool, e: &Event, from: &[&str], to: &'static str) {
        let what = if payment { "payment" } else { "due" };
        let Some(id) = e.id else {
            self.problems.push(format!(
                "activity log entry {}: it changes a {what} but does not say which",
                e.seq
            ));
            return;
        };
        let map = if payment {
            &mut self.payments
        } else {
            &mut self.dues
        };
        let Some(x) = map.get_mut(&id) else {
            self.problems.push(format!(
                "activity log entry {}: it makes {what} {id} {to}, but no earlier entry records that {what}",
                e.seq
            ));
            return;
        };
        if !from.contains(&x.state) {
            self.problems.push(format!(
                "activity log entry {}: it makes {what} {id} {to}, but the log has it {} since entry {}",
                e.seq, x.state, x.last
            ));
        }
        if let (Some(said), Some(known)) = (e.amount, x.amount)
            && said != known
        {
            self.problems.push(format!(
                "activity log entry {}: it gives {what} {id} as {}, but entry {} recorded {}",
                e.seq,
                (self.money)(said),
                x.seq,
                (self.money)(known)
            ));
        }
        x.state = to;
        x.last = e.seq;
    }

    /// A customer imported with its ledger: rows by the ids the entry
    /// names or, in entries from before they were named, the customer's
    /// imported rows in id order.
    fn import(&mut self, e: &Event, rows: &LedgerRows, payment: bool) {
        let Kind::CustomerImported {
            dues,
            payments,
            due_ids,
            payment_ids,
        } = &e.kind
        else {
            return;
        };
        let (amounts, ids, ledger, what) = if payment {
            (payments, payment_ids, &rows.payments, "payment")
        } else {
            (dues, due_ids, &rows.dues, "due")
        };
        let ids: Vec<i64> = match ids {
            Some(ids) => ids.clone(),
            None => ledger
                .iter()
                .filter(|(_, r)| Some(r.customer) == e.id && r.by == IMPORT_ACTOR)
                .map(|(id, _)| *id)
                .collect(),
        };
        if ids.len() != amounts.len() {
            self.problems.push(format!(
                "activity log entry {}: it imported {} {what}(s) for customer {}, but the ledger has {} imported {what}(s) for them",
                e.seq,
                amounts.len(),
                e.id.unwrap_or_default(),
                ids.len()
            ));
        }
        for (id, amount) in ids.iter().zip(amounts) {
            let one = Event {
                seq: e.seq,
                kind: e.kind.clone(),
                id: Some(*id),
                customer: e.id,
                amount: Some(*amount),
            };
            let state = if payment { "recorded" } else { "live" };
            self.create(payment, *id, &one, state);
        }
    }

    fn compare(&mut self, payment: bool, rows: &BTreeMap<i64, LedgerRow>) {
        let what = if payment { "payment" } else { "due" };
        let expected = if payment { &self.payments } else { &self.dues };
        let money = self.money;
        for (id, x) in expected {
            let Some(row) = rows.get(id) else {
                self.problems.push(format!(
                    "{what} {id}: activity log entry {} recorded it ({}{}), but the ledger has no {what} {id} (it was deleted)",
                    x.seq,
                    x.amount.map(money).unwrap_or_else(|| "amount not logged".into()),
                    x.customer
                        .map(|c| format!(" for customer {c}"))
                        .unwrap_or_default(),
                ));
                continue;
            };
            if let Some(amount) = x.amount
                && amount != row.amount
            {
                self.problems.push(format!(
                    "{what} {id}: the ledger says {} but activity log entry {} recorded {}",
                    money(row.amount),
                    x.seq,
                    money(amount)
                ));
            }
            if let Some(customer) = x.customer
                && customer != row.customer
            {
                self.problems.push(format!(
                    "{what} {id}: it belongs to customer {} in the ledger but activity log entry {} recorded it for customer {customer}",
                    row.customer, x.seq
                ));
            }
            let row_state = if !payment && row.status != "void" {
                "live"
            } else {
                row.status.as_str()
            };
            if row_state != x.state {
                let said = if x.state == "live" {
                    "not void"
                } else {
                    x.state
                };
                self.problems.push(format!(
                    "{what} {id}: it is {} in the ledger but the activity log has it {said} (entry {})",
                    row.status, x.last
                ));
            }
        }
        for (id, row) in rows {
            if !expected.contains_key(id) {
                self.problems.push(format!(
                    "{what} {id} ({} for customer {}) is in the ledger but no activity log entry records it (it was added behind duetrack's back)",
                    money(row.amount),
                    row.customer
                ));
            }
        }
    }
}

/// Replays `events` and compares the outcome with `rows`, adding a
/// sentence to `problems` for every difference.
pub fn replay(
    events: &[Event],
    rows: &LedgerRows,
    money: &impl Fn(i64) -> String,
    problems: &mut Vec<String>,
) {
    let mut r = Replay {
        dues: BTreeMap::new(),
        payments: BTreeMap::new(),
        problems,
        money,
    };
    for e in events {
        match (&e.kind, e.id) {
            (Kind::DueCreated, Some(id)) => r.create(false, id, e, "live"),
            (Kind::PaymentRecorded, Some(id)) => r.create(true, id, e, "recorded"),
            (Kind::PaymentSubmitted, Some(id)) => r.create(true, id, e, "pending"),
            (Kind::DueCreated | Kind::PaymentRecorded | Kind::PaymentSubmitted, None) => {
                r.problems.push(format!(
                    "activity log entry {}: it records a due or payment without its number",
                    e.seq
                ))
            }
            (Kind::DueVoided, _) => r.change(false, e, &["live"], "void"),
            (Kind::PaymentConfirmed, _) => r.change(true, e, &["pending"], "recorded"),
            (Kind::PaymentRejected, _) => r.change(true, e, &["pending"], "rejected"),
            (Kind::PaymentVoided, _) => r.change(true, e, &["recorded", "pending"], "void"),
            (Kind::CustomerImported { .. }, _) => {
                r.import(e, rows, false);
                r.import(e, rows, true);
            }
        }
    }
    r.compare(false, &rows.dues);
    r.compare(true, &rows.payments);
}
