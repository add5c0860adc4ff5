//! What happened in the old system: payments, v2's snapshots of added,
//! re-priced and part-paid customers, the activity and email logs, and
//! sign-ins.

use super::people::CustomerRef;
use crate::domain::fields::{CustomerName, PaymentMethod, TextKind};
use crate::domain::money::{Currency, Money};
use crate::import::Problems;
use crate::import::table::Table;
use chrono::NaiveDateTime;

/// Where a payment was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentSource {
    /// v1 transactions.csv: a Razorpay order, confirmed.
    Razorpay,
    /// v2 user_payment_updated.csv: paid by the customer from the portal.
    Portal,
    /// v2 partial_customers.csv: a partial payment the admin recorded; the
    /// amount is the fall in the balance.
    AdminPartial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalPayment {
    pub file: String,
    pub line: usize,
    pub source: PaymentSource,
    pub customer: CustomerRef,
    pub customer_name: Option<String>,
    /// Above zero.
    pub amount: Money,
    pub paid_at: NaiveDateTime,
    /// From a `method` column where there is one; v1's Razorpay orders are UPI.
    pub method: Option<PaymentMethod>,
    /// v1's Razorpay order id, or a `reference` column.
    pub reference: Option<String>,
    /// v1's `status` ("Success").
    pub status: Option<String>,
    /// v1's Razorpay `mode`: "test" payments moved no money.
    pub mode: Option<String>,
    /// The balance after the payment, where the file says.
    pub due_after: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    /// added_customers.csv: `due_after` is the opening balance.
    Added,
    /// updated_customers.csv: the admin set the balance to `due_after`.
    DueSet,
    /// partial_customers.csv: a payment took the balance from `due_before`
    /// to `due_after`.
    PartialPayment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub file: String,
    pub line: usize,
    pub kind: HistoryKind,
    pub customer_id: i64,
    pub name: CustomerName,
    pub due_before: Option<Money>,
    pub due_after: Money,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub file: String,
    pub line: usize,
    pub at: NaiveDateTime,
    /// Who acted, where the file says (neither version does).
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub file: String,
    pub line: usize,
    pub at: NaiveDateTime,
    pub customer_id: Option<i64>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
}

const ID: &[&str] = &["id", "customer_id", "cust_id"];
const USERNAME: &[&str] = &["username", "user_name", "user"];
const NAME: &[&str] = &["name", "customer", "customer_name"];
const TIME: &[&str] = &["timestamp", "date", "time", "at"];

pub(super) fn payments(
    t: &Table,
    currency: Currency,
    problems: &mut Problems,
) -> Vec<OriginalPayment> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let (id, username) = (t.column(ID), t.column(USERNAME));
    if id.is_none() && username.is_none() {
        t.require(&["username", "id"], problems);
    }
    let amount = t.require(&["amount", "amount_paid", "paid", "payment"], problems);
    let date = t.require(&["date", "payment_date", "paid_at", "timestamp"], problems);
    let name = t.column(NAME);
    let method = t.column(&["method", "payment_method"]);
    let reference = t.column(&["order_id", "reference", "ref", "payment_id"]);
    let status = t.column(&["status"]);
    let mode = t.column(&["mode"]);
    let due_after = t.column(&["new_due", "due_after", "balance"]);
    let source = if t.file == "user_payment_updated.csv" {
        PaymentSource::Portal
    } else {
        PaymentSource::Razorpay
    };
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let customer = if id.is_some() && !c.raw(id).is_empty() {
            c.id(id).map(CustomerRef::Id)
        } else if c.present(username) {
            c.word(username).map(CustomerRef::Username)
        } else {
            if username.is_none() {
                c.fault(id, "is empty");
            }
            None
        };
        let paid = if c.present(amount) {
            let read = c.recorded_amount(amount, currency);
            c.positive(amount, read)
        } else {
            None
        };
        let paid_at = if c.present(date) {
            c.timestamp(date)
        } else {
            None
        };
        let method = match c.raw(method) {
            "" if source == PaymentSource::Razorpay => Some(PaymentMethod::Upi),
            "" => None,
            raw => match PaymentMethod::parse(raw) {
                Ok(m) => Some(m),
                Err(e) => {
                    c.fault(method, e.0);
                    None
                }
            },
        };
        let customer_name = c.text(name, TextKind::Reference);
        let reference = c.word(reference);
        let status = c.word(status);
        let mode = c.word(mode);
        let due_after = c.recorded_amount(due_after, currency);
        let line = c.line();
        let record = (|| {
            Some(OriginalPayment {
                file: t.file.clone(),
                line,
                source,
                customer: customer?,
                customer_name,
                amount: paid?,
                paid_at: paid_at?,
                method,
                reference,
                status,
                mode,
                due_after,
            })
        })();
        if let Some(r) = record
            && !c.has_faults()
        {
            out.push(r);
        }
    }
    out
}

pub(super) fn snapshots(
    t: &Table,
    kind: HistoryKind,
    currency: Currency,
    problems: &mut Problems,
) -> Vec<HistoryEntry> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let id = t.require(ID, problems);
    let name = t.require(NAME, problems);
    let due = t.column(&["due", "due_amount"]);
    let (after, before, at) = match kind {
        HistoryKind::Added => (
            t.require(&["due", "due_amount"], problems),
            None,
            t.require(&["added_at"], problems),
        ),
        HistoryKind::DueSet => (
            t.column(&["updated_due"]).or(due),
            None,
            t.require(&["updated_at"], problems),
        ),
        HistoryKind::PartialPayment => (
            t.require(&["partial_due"], problems),
            t.require(&["due", "due_amount"], problems),
            t.require(&["partial_at"], problems),
        ),
    };
    if kind == HistoryKind::DueSet && after.is_none() {
        t.require(&["updated_due", "due"], problems);
    }
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let customer_id = if c.present(id) { c.id(id) } else { None };
        let customer_name = if c.present(name) { c.name(name) } else { None };
        let due_after = if c.present(after) {
            c.recorded_amount(after, currency)
        } else {
            None
        };
        let due_before = if before.is_some() && c.present(before) {
            c.recorded_amount(before, currency)
        } else {
            None
        };
        let when = if c.present(at) { c.timestamp(at) } else { None };
        if kind == HistoryKind::PartialPayment
            && let (Some(b), Some(a)) = (due_before, due_after)
            && a >= b
        {
            c.fault(
                after,
                format!(
                    "a partial payment must lower the balance, but it went from {} to {}",
                    currency.format(b),
                    currency.format(a)
                ),
            );
        }
        let line = c.line();
        let record = (|| {
            Some(HistoryEntry {
                file: t.file.clone(),
                line,
                kind,
                customer_id: customer_id?,
                name: customer_name?,
                due_before,
                due_after: due_after?,
                at: when?,
            })
        })();
        if let Some(r) = record
            && !c.has_faults()
        {
            out.push(r);
        }
    }
    out
}

/// v2's admin partial payments, as payments: the fall in the balance.
pub(super) fn partial_payments(history: &[HistoryEntry]) -> Vec<OriginalPayment> {
    history
        .iter()
        .filter(|h| h.kind == HistoryKind::PartialPayment)
        .filter_map(|h| {
            Some(OriginalPayment {
                file: h.file.clone(),
                line: h.line,
                source: PaymentSource::AdminPartial,
                customer: CustomerRef::Id(h.customer_id),
                customer_name: Some(h.name.as_str().to_string()),
                amount: h.due_before?.checked_sub(h.due_after)?,
                paid_at: h.at,
                method: None,
                reference: None,
                status: None,
                mode: None,
                due_after: Some(h.due_after),
            })
        })
        .collect()
}

pub(super) fn logs(t: &Table, problems: &mut Problems) -> Vec<LogLine> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let at = t.require(&["timestamp", "date", "time", "sent_at"], problems);
    let is_email = t.file == "email_logs.csv";
    let action = t.column(&["action", "function", "event"]);
    if action.is_none() && !is_email {
        t.require(&["action", "function"], problems);
    }
    let actor = t.column(&["actor", "by", "admin", "username", "user"]);
    let detail = t.column(&["details", "detail", "message", "description"]);
    let extras: Vec<_> = [
        "args",
        "kwargs",
        "to",
        "email",
        "recipient",
        "subject",
        "status",
    ]
    .iter()
    .filter_map(|k| t.column(&[k]))
    .collect();
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let when = if c.present(at) { c.timestamp(at) } else { None };
        let mut text = c.raw(detail).to_string();
        for col in &extras {
            let value = c.raw(Some(*col));
            if !value.is_empty() {
                if !text.is_empty() {
                    text.push_str("; ");
                }
                text.push_str(&format!("{}={value}", col.header()));
            }
        }
        let what = if action.is_some() && !c.raw(action).is_empty() {
            Some(c.raw(action).to_string())
        } else if is_email {
            Some("email".to_string())
        } else {
            c.present(action);
            None
        };
        let (line, who) = (c.line(), c.word(actor));
        let record = (|| {
            Some(LogLine {
                file: t.file.clone(),
                line,
                at: when?,
                actor: who,
                action: what?,
                detail: text,
            })
        })();
        if let Some(r) = record
            && !c.has_faults()
        {
            out.push(r);
        }
    }
    out
}

pub(super) fn sign_ins(t: &Table, problems: &mut Problems) -> Vec<SignIn> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let at = t.require(TIME, problems);
    let (id, username) = (t.column(ID), t.column(USERNAME));
    if id.is_none() && username.is_none() {
        t.require(&["username", "customer_id"], problems);
    }
    let name = t.column(NAME);
    let kind = t.column(&["login_type", "type", "role"]);
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let when = if c.present(at) { c.timestamp(at) } else { None };
        let (customer_id, login) = (c.id(id), c.word(username));
        let (who, how) = (c.text(name, TextKind::Reference), c.word(kind));
        if let Some(at) = when
            && !c.has_faults()
        {
            out.push(SignIn {
                file: t.file.clone(),
                line: c.line(),
                at,
                customer_id,
                username: login,
                name: who,
                kind: how,
            });
        }
    }
    out
}
