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
    allocations: Allocations,
}

/// What an entry says of allocations, as (payment, due, amount).
#[derive(Debug, Clone)]
enum Allocations {
    /// It adds these (a payment recorded or confirmed, a due paid from
    /// credit, a customer imported).
    Add(Vec<(i64, i64, i64)>),
    /// After a void, the customer's allocations are these.
    Replace(Vec<(i64, i64, i64)>),
    /// It changed allocations without saying how (an entry from before
    /// they were logged): the customer's are not compared from here on.
    Unknown,
    None,
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

/// `[[a, b], …]` or `[[a, b, c], …]` as rows of numbers.
fn rows(v: &Option<Value>, field: &str, width: usize) -> Option<Vec<Vec<i64>>> {
    v.as_ref()?
        .get(field)?
        .as_array()?
        .iter()
        .map(|r| {
            let r: Option<Vec<i64>> = r.as_array()?.iter().map(Value::as_i64).collect();
            r.filter(|r| r.len() == width)
        })
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
    let id: Option<i64> = entity_id.parse().ok();
    let allocations = match (&kind, id) {
        (Kind::PaymentRecorded | Kind::PaymentConfirmed, Some(payment)) => {
            match rows(&after, "allocations", 2) {
                Some(r) => Allocations::Add(r.iter().map(|r| (payment, r[0], r[1])).collect()),
                None => Allocations::Unknown,
            }
        }
        (Kind::DueCreated, Some(due)) => match rows(&after, "credit_allocations", 2) {
            Some(r) => Allocations::Add(r.iter().map(|r| (r[0], due, r[1])).collect()),
            None if int(&after, "paid_from_credit").unwrap_or(0) == 0 => Allocations::None,
            None => Allocations::Unknown,
        },
        (Kind::DueVoided | Kind::PaymentVoided, _) => {
            match rows(&after, "customer_allocations", 3) {
                Some(r) => Allocations::Replace(r.iter().map(|r| (r[0], r[1], r[2])).collect()),
                None => Allocations::Unknown,
            }
        }
        (Kind::CustomerImported { payments, .. }, _) => match rows(&after, "allocations", 3) {
            Some(r) => Allocations::Add(r.iter().map(|r| (r[0], r[1], r[2])).collect()),
            None if payments.is_empty() => Allocations::None,
            None => Allocations::Unknown,
        },
        _ => Allocations::None,
    };
    Some(Event {
        seq,
        kind,
        allocations,
        id,
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
    /// Customer → (payment, due) → amount.
    allocations: BTreeMap<i64, Spread>,
}

/// A customer's allocations: (payment, due) → amount.
type Spread = BTreeMap<(i64, i64), i64>;

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
        let mut allocations: BTreeMap<i64, Spread> = BTreeMap::new();
        for r in tx
            .fetch_all(
                "SELECT p.customer_id, a.payment_id, a.due_id, a.amount FROM allocations a JOIN payments p ON p.id = a.payment_id",
                &[],
            )
            .await?
        {
            *allocations
                .entry(r.i64("customer_id")?)
                .or_default()
                .entry((r.i64("payment_id")?, r.i64("due_id")?))
                .or_default() += r.i64("amount")?;
        }
        Ok(Self {
            dues,
            payments,
            allocations,
        })
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
    /// Customer → (payment, due) → amount, as the log has them; `None`
    /// once an entry changed them without saying how.
    allocations: BTreeMap<i64, Option<Spread>>,
    problems: &'a mut Vec<String>,
    money: &'a F,
}

impl<F: Fn(i64) -> String> Replay<'_, F> {
    /// Follows what `e` says of its customer's allocations.
    fn allocate(&mut self, e: &Event) {
        let customer = e.customer.or_else(|| {
            let id = e.id?;
            let map = match e.kind {
                Kind::DueCreated | Kind::DueVoided => &self.dues,
                Kind::CustomerImported { .. } => return Some(id),
                _ => &self.payments,
            };
            map.get(&id)?.customer
        });
        let Some(customer) = customer else {
            return;
        };
        let known = self
            .allocations
            .entry(customer)
            .or_insert_with(|| Some(BTreeMap::new()));
        match &e.allocations {
            Allocations::None => {}
            Allocations::Unknown => *known = None,
            Allocations::Add(list) => {
                if let Some(map) = known {
                    for (p, d, a) in list {
                        *map.entry((*p, *d)).or_default() += a;
                    }
                }
            }
            Allocations::Replace(list) => {
                let mut map = BTreeMap::new();
                for (p, d, a) in list {
                    *map.entry((*p, *d)).or_default() += a;
                }
                *known = Some(map);
            }
        }
    }

    fn compare_allocations(&mut self, rows: &LedgerRows) {
        let money = self.money;
        let empty = BTreeMap::new();
        for (customer, logged) in &self.allocations {
            let Some(logged) = logged else {
                continue;
            };
            let stored = rows.allocations.get(customer).unwrap_or(&empty);
            for ((p, d), a) in stored {
                if logged.get(&(*p, *d)) != Some(a) {
                    self.problems.push(format!(
                        "customer {customer}: the ledger allocates {} of payment {p} to due {d}, but the activity log has {}",
                        money(*a),
                        logged.get(&(*p, *d)).map_or("no such allocation".into(), |l| money(*l)),
                    ));
                }
            }
            for ((p, d), a) in logged {
                if *a != 0 && !stored.contains_key(&(*p, *d)) {
                    self.problems.push(format!(
                        "customer {customer}: the activity log allocates {} of payment {p} to due {d}, but the ledger has no such allocation",
                        money(*a)
                    ));
                }
            }
        }
    }

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
                allocations: Allocations::None,
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
        allocations: BTreeMap::new(),
        problems,
        money,
    };
    for e in events {
        r.allocate(e);
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
    r.compare_allocations(rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(customer: i64, amount: i64, status: &str, by: &str) -> LedgerRow {
        LedgerRow {
            customer,
            amount,
            status: status.into(),
            by: by.into(),
        }
    }

    /// Entries as the versions before the replay wrote them: no ids in an
    /// import, nothing but the status in a void.
    fn old_log() -> Vec<Event> {
        [
            (
                1,
                "customer.imported",
                "7",
                None,
                Some(r#"{"name":"A","dues":[1000],"payments":[400]}"#),
            ),
            (
                2,
                "due.created",
                "2",
                Some(r#"{"customer_id":7,"balance":600}"#),
                Some(r#"{"customer_id":7,"amount":500,"paid_from_credit":0}"#),
            ),
            (
                3,
                "payment.recorded",
                "2",
                None,
                Some(r#"{"customer_id":7,"amount":100,"allocations":[[1,100]]}"#),
            ),
            (
                4,
                "due.voided",
                "2",
                Some(r#"{"status":"open","amount":500}"#),
                Some(r#"{"status":"void"}"#),
            ),
            (5, "staff.created", "3", None, Some("{}")),
        ]
        .into_iter()
        .filter_map(|(seq, action, id, before, after)| event(seq, action, id, before, after))
        .collect()
    }

    fn ledger() -> LedgerRows {
        LedgerRows {
            dues: [
                (1, row(7, 1000, "partial", IMPORT_ACTOR)),
                (2, row(7, 500, "void", "clerk")),
            ]
            .into_iter()
            .collect(),
            payments: [
                (1, row(7, 400, "recorded", IMPORT_ACTOR)),
                (2, row(7, 100, "recorded", "clerk")),
            ]
            .into_iter()
            .collect(),
            allocations: BTreeMap::new(),
        }
    }

    fn problems(rows: &LedgerRows) -> Vec<String> {
        let mut problems = Vec::new();
        replay(&old_log(), rows, &|m| m.to_string(), &mut problems);
        problems
    }

    #[test]
    fn old_entries_replay_and_a_changed_row_is_named() {
        assert_eq!(problems(&ledger()), Vec::<String>::new());

        let mut changed = ledger();
        changed.payments.get_mut(&1).unwrap().amount = 300;
        changed.dues.get_mut(&2).unwrap().status = "open".into();
        changed.payments.remove(&2);
        changed.dues.insert(3, row(7, 50, "open", "clerk"));
        let found = problems(&changed);
        assert!(
            found.contains(
                &"payment 1: the ledger says 300 but activity log entry 1 recorded 400".to_string()
            ),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with(
                "due 2: it is open in the ledger but the activity log has it void (entry 4)"
            )),
            "{found:?}"
        );
        assert!(found.iter().any(|p| p.starts_with("payment 2: activity log entry 3 recorded it (100 for customer 7), but the ledger has no payment 2")), "{found:?}");
        assert!(
            found.iter().any(|p| p.starts_with(
                "due 3 (50 for customer 7) is in the ledger but no activity log entry records it"
            )),
            "{found:?}"
        );
    }
}
