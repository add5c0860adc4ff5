//! Reads a folder in the layout of the Flask + CSV system duetrack replaces
//! (`backend/data/*.csv`, or the `data` folder itself) into typed records.
//!
//! Two versions of that system wrote the folder; the columns below are read
//! from their code (Pranav-techhub/Customer_due_tracker, "v1": `csv`
//! module, `backend/utils.py`, `services.py`, `payments.py`; and
//! Swaraj2201/Customer_Due_Tracker_System, "v2": pandas, `backend/services.py`,
//! `decorators.py`). Times are written `%Y-%m-%d %H:%M:%S` unless noted.
//! Amounts are Python floats: v1 writes `f"{x:.2f}"` ("0" for a new due),
//! v2 lets pandas write `repr(float)` ("1500.0", "99.89999999999999").
//!
//! | file | version | columns | meaning |
//! |------|---------|---------|---------|
//! | customers.csv | v1 | name, email, phone, username, password | one row per customer; `password` is the password in PLAIN TEXT (generated 10 letters/digits, changed by `change_password`); `username` is the name's letters and digits lower-cased, made unique by a counter (compared case-insensitively); no id, no due (that is in dues.csv) |
//! | customers.csv | v2 | id, name, phone, email, address, due, category, status, last_update, added_at, username, password | `id` is max(id)+1, so the id of a deleted last customer is given again; `due` is the current balance and may go below zero (partial payments are not capped); `category` defaults to "Regular"; `status` is `active` (deleted rows are removed, not marked); `last_update`/`added_at` times; `password` is a werkzeug hash, `pbkdf2:sha256:N$salt$hex` or (werkzeug ≥ 2.3) `scrypt:32768:8:1$salt$hex` |
//! | dues.csv | v1 | username, customer, due | the balance per username (`customer` is the name); never below 0 |
//! | dues.csv | v2 | id, name, phone, address, due_amount, due_date, last_message_date | a copy of the balance per id; `due_date` is a date (`YYYY-MM-DD`, the day the customer was added); `last_message_date` a time, sometimes with microseconds (pandas `Timestamp.now()`) |
//! | transactions.csv | v1 | date, username, customer, amount, order_id, status, mode | a Razorpay payment confirmed: `order_id` the Razorpay order, `status` "Success", `mode` "test" or "live" (a test-mode payment moved no money) |
//! | logs.csv | v1 | timestamp, action, details | the activity log: `action` such as create_customer, change_password, offline_payment, payment_success; `details` a sentence naming the username |
//! | logs.csv | v2 | timestamp, function, message, args, kwargs | written by the `@log_action` decorator: the Python function, its message, and its arguments as Python reprs |
//! | added_customers.csv | v2 | id, name, phone, email, address, due, last_update, status, added_at | a snapshot appended when a customer is added (`due` the opening balance) |
//! | updated_customers.csv | v2 | id, name, phone, email, address, due, last_update, status, updated_due, updated_at | appended when the admin sets a due: `due` and `updated_due` are both the new balance (the old one is lost) |
//! | partial_customers.csv | v2 | id, name, phone, email, address, due, last_update, status, partial_due, partial_at | appended when the admin records a partial payment: `due` before, `partial_due` after, so the payment is their difference |
//! | deleted_customers.csv | v2 | id, name, phone, email, address, due, last_update, status, deleted_at | the customer as it was when the admin deleted it (`status` "deleted"); ids may repeat (see customers.csv) |
//! | user_payment_updated.csv | v2 | id, username, name, amount_paid, new_due, payment_date | a payment the customer made from the portal |
//! | user_account_deleted.csv | v2 | id, username, name, deleted_at | a customer who closed their own account (only with nothing due) |
//! | signin_logs.csv | v2 | timestamp, customer_id, username, name, login_type | a successful customer sign-in (`login_type` "customer") |
//! | signin.csv, email_logs.csv, users.csv, signup.csv | v2 | not written by the code | named in the README or as constants (`SIGNIN_CSV`, `USERS_CSV`, `SIGNUP_CSV`) but never written; read here, if present, by the same aliases as their written kin: signin.csv as sign-ins, email_logs.csv as log lines (timestamp, to/email, subject, status), users.csv and signup.csv as accounts (username, password, name, email) |
//!
//! Neither version stores a payment method: v1's payments are Razorpay UPI
//! orders, v2's are the customer's portal payments and the admin's partial
//! payments. A column `method` or `reference`, where a folder has one, is
//! read. Only customers.csv must exist; every other file is optional.
//! Balances (a customer's due) may be negative, a credit the old system let
//! arise; payment amounts must be above zero.

mod history;
mod people;

pub use history::{HistoryEntry, HistoryKind, LogLine, OriginalPayment, PaymentSource, SignIn};
pub use people::{Account, CustomerRef, DeletedBy, DeletedCustomer, OriginalCustomer};

use super::{ImportRefused, Problems, table};
use crate::domain::money::Currency;
use std::path::{Path, PathBuf};

/// Everything read from one folder of the old system.
#[derive(Debug, Clone, Default)]
pub struct OriginalData {
    /// Which version wrote customers.csv.
    pub version: Option<Version>,
    pub customers: Vec<OriginalCustomer>,
    pub payments: Vec<OriginalPayment>,
    pub deleted: Vec<DeletedCustomer>,
    /// v2's snapshots: customers added, dues set by the admin, partial payments.
    pub history: Vec<HistoryEntry>,
    pub logs: Vec<LogLine>,
    pub sign_ins: Vec<SignIn>,
    /// Logins from users.csv and signup.csv, where a folder has them.
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// name, email, phone, username, password (plain text); dues in dues.csv.
    V1Csv,
    /// id, …, due, status, username, password (werkzeug hash).
    V2Pandas,
}

/// Where the data files are: `PATH/backend/data`, `PATH/data`, or `PATH`.
pub fn data_folder(path: &Path) -> PathBuf {
    for inner in ["backend/data", "data"] {
        let candidate = path.join(inner);
        if candidate.join("customers.csv").is_file() {
            return candidate;
        }
    }
    path.to_path_buf()
}

/// Reads the folder at `path` (see [`data_folder`]); amounts are in
/// `currency`. Either every record, or every problem found.
pub fn read_folder(path: &Path, currency: Currency) -> Result<OriginalData, ImportRefused> {
    let dir = data_folder(path);
    let mut problems = Problems::default();
    let mut data = OriginalData::default();
    let open = |file: &str, problems: &mut Problems| {
        let full = dir.join(file);
        if full.is_file() {
            table::read(&full, file, problems)
        } else {
            None
        }
    };

    match open("customers.csv", &mut problems) {
        Some(t) => {
            let dues = open("dues.csv", &mut problems);
            data.version = Some(people::version_of(&t));
            data.customers = people::customers(&t, dues.as_ref(), currency, &mut problems);
        }
        None if !dir.join("customers.csv").is_file() => problems.add(
            "customers.csv",
            0,
            None,
            format!(
                "is missing: {} has no customers.csv (nor backend/data/customers.csv)",
                path.display()
            ),
        ),
        None => {}
    }
    for (file, by) in [
        ("deleted_customers.csv", DeletedBy::Admin),
        ("user_account_deleted.csv", DeletedBy::Customer),
    ] {
        if let Some(t) = open(file, &mut problems) {
            data.deleted
                .extend(people::deleted(&t, by, currency, &mut problems));
        }
    }
    for file in ["users.csv", "signup.csv"] {
        if let Some(t) = open(file, &mut problems) {
            data.accounts.extend(people::accounts(&t, &mut problems));
        }
    }
    for (file, kind) in [
        ("added_customers.csv", HistoryKind::Added),
        ("updated_customers.csv", HistoryKind::DueSet),
        ("partial_customers.csv", HistoryKind::PartialPayment),
    ] {
        if let Some(t) = open(file, &mut problems) {
            data.history
                .extend(history::snapshots(&t, kind, currency, &mut problems));
        }
    }
    for file in ["transactions.csv", "user_payment_updated.csv"] {
        if let Some(t) = open(file, &mut problems) {
            data.payments
                .extend(history::payments(&t, currency, &mut problems));
        }
    }
    data.payments
        .extend(history::partial_payments(&data.history));
    for file in ["logs.csv", "email_logs.csv"] {
        if let Some(t) = open(file, &mut problems) {
            data.logs.extend(history::logs(&t, &mut problems));
        }
    }
    for file in ["signin_logs.csv", "signin.csv"] {
        if let Some(t) = open(file, &mut problems) {
            data.sign_ins.extend(history::sign_ins(&t, &mut problems));
        }
    }
    // Only once every file reads cleanly: a refused customer row would
    // otherwise be reported again by every payment that names it.
    if problems.is_empty() {
        people::check_references(&data, &mut problems);
    }
    problems.finish(data)
}
