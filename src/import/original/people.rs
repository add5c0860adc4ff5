//! The people of the old system: customers (with their balance from
//! dues.csv where customers.csv has none), deleted customers, and logins;
//! and the check that every record naming a customer names one that exists.

use super::{OriginalData, Version};
use crate::domain::customers::CustomerStatus;
use crate::domain::fields::{CustomerName, Email, Phone, TextKind};
use crate::domain::money::{Currency, Money};
use crate::import::table::{Cells, Col, Table};
use crate::import::{LegacyPassword, Problems};
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::{HashMap, HashSet};

/// How a record names its customer: v2 by id, v1 by username.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    Id(i64),
    Username(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalCustomer {
    pub line: usize,
    pub id: Option<i64>,
    pub name: CustomerName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub category: Option<String>,
    pub username: Option<String>,
    pub password: Option<LegacyPassword>,
    /// The balance: what the customer owes, negative for a credit.
    pub due: Money,
    pub due_date: Option<NaiveDate>,
    pub last_reminded_at: Option<NaiveDateTime>,
    pub status: CustomerStatus,
    pub added_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// deleted_customers.csv: the admin deleted the customer.
    Admin,
    /// user_account_deleted.csv: the customer closed the account.
    Customer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedCustomer {
    pub file: String,
    pub line: usize,
    pub id: Option<i64>,
    pub username: Option<String>,
    pub name: CustomerName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub due: Option<Money>,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: DeletedBy,
    pub reason: Option<String>,
}

/// A login from users.csv or signup.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub file: String,
    pub line: usize,
    pub username: String,
    pub password: Option<LegacyPassword>,
    pub name: Option<CustomerName>,
    pub email: Option<Email>,
    pub role: Option<String>,
    pub created_at: Option<NaiveDateTime>,
}

const ID: &[&str] = &["id", "customer_id", "cust_id"];
const NAME: &[&str] = &["name", "customer", "customer_name"];
const PHONE: &[&str] = &["phone", "mobile", "phone_number", "mobile_no", "contact"];
const EMAIL: &[&str] = &["email", "email_address", "e_mail"];
const USERNAME: &[&str] = &["username", "user_name", "user", "login"];
const PASSWORD: &[&str] = &["password", "password_hash", "pass"];
const DUE: &[&str] = &["due", "due_amount", "amount", "balance"];

pub(super) fn version_of(t: &Table) -> Version {
    if t.column(ID).is_some() || t.column(&["status"]).is_some() {
        Version::V2Pandas
    } else {
        Version::V1Csv
    }
}

/// A row of dues.csv: the balance, and in v2 the due date.
struct DueRow {
    line: usize,
    due: Option<Money>,
    due_date: Option<NaiveDate>,
    last_message: Option<NaiveDateTime>,
}

fn dues(t: &Table, currency: Currency, problems: &mut Problems) -> HashMap<CustomerRef, DueRow> {
    let mut by_customer: HashMap<CustomerRef, DueRow> = HashMap::new();
    if t.is_empty() {
        return by_customer;
    }
    let (id, username) = (t.column(ID), t.column(USERNAME));
    if id.is_none() && username.is_none() {
        t.require(&["id", "username"], problems);
    }
    let due = t.require(DUE, problems);
    let due_date = t.column(&["due_date", "due_on"]);
    let last = t.column(&["last_message_date", "last_reminded_at"]);
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let key = if id.is_some() {
            c.present(id)
                .then(|| c.id(id))
                .flatten()
                .map(CustomerRef::Id)
        } else {
            c.present(username)
                .then(|| c.word(username))
                .flatten()
                .map(|u| CustomerRef::Username(u.to_lowercase()))
        };
        let amount = c.recorded_amount(due, currency);
        let entry = DueRow {
            line: c.line(),
            due: amount,
            due_date: c.date(due_date),
            last_message: c.timestamp(last),
        };
        let Some(key) = key else { continue };
        if let Some(earlier) = by_customer.get(&key) {
            let col = if id.is_some() { id } else { username };
            let line = earlier.line;
            c.fault(col, format!("names the same customer as line {line}"));
            continue;
        }
        by_customer.insert(key, entry);
    }
    by_customer
}

pub(super) fn customers(
    t: &Table,
    dues_table: Option<&Table>,
    currency: Currency,
    problems: &mut Problems,
) -> Vec<OriginalCustomer> {
    let mut out = Vec::new();
    let mut dues = dues_table.map_or_else(HashMap::new, |d| dues(d, currency, problems));
    if t.is_empty() {
        return out;
    }
    let id = t.column(ID);
    let name = t.require(NAME, problems);
    let username = t.column(USERNAME);
    let due = t.column(DUE);
    let status = t.column(&["status"]);
    let (phone, email) = (t.column(PHONE), t.column(EMAIL));
    let address = t.column(&["address"]);
    let category = t.column(&["category", "type", "group"]);
    let password = t.column(PASSWORD);
    let due_date = t.column(&["due_date", "due_on"]);
    let added_at = t.column(&["added_at", "created_at", "created"]);
    let updated_at = t.column(&["last_update", "updated_at", "last_updated"]);
    let mut ids: HashMap<i64, usize> = HashMap::new();
    let mut usernames: HashMap<String, usize> = HashMap::new();
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let cust_id = if id.is_some() && c.present(id) {
            c.id(id)
        } else {
            None
        };
        if let Some(n) = cust_id
            && let Some(first) = ids.insert(n, c.line())
        {
            c.fault(id, format!("the id {n} is also on line {first}"));
        }
        let login = c.word(username);
        if let Some(u) = &login
            && let Some(first) = usernames.insert(u.to_lowercase(), c.line())
        {
            c.fault(
                username,
                format!("the username '{u}' is also on line {first}"),
            );
        }
        let customer_name = if c.present(name) { c.name(name) } else { None };
        let status_value = read_status(&mut c, status);
        let key = cust_id.map(CustomerRef::Id).or_else(|| {
            login
                .as_ref()
                .map(|u| CustomerRef::Username(u.to_lowercase()))
        });
        let from_dues = key.and_then(|k| dues.remove(&k));
        let balance = match due {
            Some(_) => c.recorded_amount(due, currency),
            None => from_dues.as_ref().and_then(|d| d.due),
        };
        let phone = c.phone(phone);
        let email = c.email(email);
        let address = c.text(address, TextKind::Address);
        let category = c.text(category, TextKind::Category);
        let own_due_date = c.date(due_date);
        let added = c.timestamp(added_at);
        let updated = c.timestamp(updated_at);
        if let Some(name) = customer_name
            && !c.has_faults()
        {
            out.push(OriginalCustomer {
                line: c.line(),
                id: cust_id,
                name,
                phone,
                email,
                address,
                category,
                username: login,
                password: LegacyPassword::from_stored(c.raw(password)),
                due: balance.unwrap_or(Money::ZERO),
                due_date: own_due_date.or_else(|| from_dues.as_ref().and_then(|d| d.due_date)),
                last_reminded_at: from_dues.as_ref().and_then(|d| d.last_message),
                status: status_value.unwrap_or(CustomerStatus::Active),
                added_at: added,
                updated_at: updated,
            });
        }
    }
    if let Some(d) = dues_table {
        let mut left: Vec<&DueRow> = dues.values().collect();
        left.sort_by_key(|r| r.line);
        for row in left {
            problems.add(
                &d.file,
                row.line,
                None,
                "names a customer who is not in customers.csv",
            );
        }
    }
    out
}

fn read_status(c: &mut Cells<'_>, status: Option<Col<'_>>) -> Option<CustomerStatus> {
    let raw = c.raw(status).to_ascii_lowercase();
    if raw.is_empty() {
        return None;
    }
    let parsed = CustomerStatus::parse(&raw);
    if parsed.is_none() {
        c.fault(
            status,
            format!("'{raw}' is not a customer status; use active or deleted"),
        );
    }
    parsed
}

pub(super) fn deleted(
    t: &Table,
    by: DeletedBy,
    currency: Currency,
    problems: &mut Problems,
) -> Vec<DeletedCustomer> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let id = t.column(ID);
    let username = t.column(USERNAME);
    if id.is_none() && username.is_none() {
        t.require(&["id", "username"], problems);
    }
    let name = t.require(NAME, problems);
    let (phone, email) = (t.column(PHONE), t.column(EMAIL));
    let address = t.column(&["address"]);
    let due = t.column(DUE);
    let deleted_at = t.column(&["deleted_at", "deleted_on", "date", "timestamp"]);
    let reason = t.column(&["reason", "deleted_reason", "note"]);
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let customer_name = if c.present(name) { c.name(name) } else { None };
        let (cust_id, login) = (c.id(id), c.word(username));
        let (phone, email) = (c.phone(phone), c.email(email));
        let address = c.text(address, TextKind::Address);
        let due = c.recorded_amount(due, currency);
        let when = c.timestamp(deleted_at);
        let reason = c.text(reason, TextKind::Reason);
        if let Some(name) = customer_name
            && !c.has_faults()
        {
            out.push(DeletedCustomer {
                file: t.file.clone(),
                line: c.line(),
                id: cust_id,
                username: login,
                name,
                phone,
                email,
                address,
                due,
                deleted_at: when,
                deleted_by: by,
                reason,
            });
        }
    }
    out
}

pub(super) fn accounts(t: &Table, problems: &mut Problems) -> Vec<Account> {
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    let username = t.require(USERNAME, problems);
    let password = t.column(PASSWORD);
    let name = t.column(NAME);
    let email = t.column(EMAIL);
    let role = t.column(&["role", "type"]);
    let created = t.column(&["created_at", "timestamp", "date", "signup_date"]);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in &t.rows {
        let mut c = t.cells(row, problems);
        let login = if c.present(username) {
            c.word(username)
        } else {
            None
        };
        if let Some(u) = &login
            && let Some(first) = seen.insert(u.to_lowercase(), c.line())
        {
            c.fault(
                username,
                format!("the username '{u}' is also on line {first}"),
            );
        }
        let (full_name, mail) = (c.name(name), c.email(email));
        let role = c.text(role, TextKind::Category);
        let created_at = c.timestamp(created);
        if let Some(username) = login
            && !c.has_faults()
        {
            out.push(Account {
                file: t.file.clone(),
                line: c.line(),
                username,
                password: LegacyPassword::from_stored(c.raw(password)),
                name: full_name,
                email: mail,
                role,
                created_at,
            });
        }
    }
    out
}

/// Every payment and history entry must name a customer who is, or was
/// (deleted), in the folder.
pub(super) fn check_references(data: &OriginalData, problems: &mut Problems) {
    let mut known: HashSet<CustomerRef> = HashSet::new();
    for c in &data.customers {
        known.extend(c.id.map(CustomerRef::Id));
        known.extend(
            c.username
                .as_ref()
                .map(|u| CustomerRef::Username(u.to_lowercase())),
        );
    }
    for d in &data.deleted {
        known.extend(d.id.map(CustomerRef::Id));
        known.extend(
            d.username
                .as_ref()
                .map(|u| CustomerRef::Username(u.to_lowercase())),
        );
    }
    let unknown = |r: &CustomerRef| match r {
        CustomerRef::Username(u) => !known.contains(&CustomerRef::Username(u.to_lowercase())),
        id => !known.contains(id),
    };
    for p in data
        .payments
        .iter()
        .filter(|p| p.source != super::PaymentSource::AdminPartial)
    {
        if unknown(&p.customer) {
            problems.add(&p.file, p.line, None, describe_unknown(&p.customer));
        }
    }
    for h in &data.history {
        let r = CustomerRef::Id(h.customer_id);
        // An added customer may since have been deleted by delete_all,
        // which v2 logs in deleted_customers.csv; anything else is unknown.
        if unknown(&r) {
            problems.add(&h.file, h.line, None, describe_unknown(&r));
        }
    }
}

fn describe_unknown(r: &CustomerRef) -> String {
    match r {
        CustomerRef::Id(n) => format!(
            "names customer id {n}, who is neither in customers.csv nor in a deleted customers file"
        ),
        CustomerRef::Username(u) => format!(
            "names the username '{u}', who is neither in customers.csv nor in a deleted customers file"
        ),
    }
}
