//! Reads one customers CSV saved from a spreadsheet: whatever the order and
//! spelling of its headers ("Customer Name", "Mobile No.", "Balance"), with
//! amounts as a spreadsheet shows them ("₹1,00,000.50"). Only a name column
//! is required; a balance column, where there is none, means nothing is due.

use super::table::{self};
use super::{ImportRefused, Problems};
use crate::domain::fields::{CustomerName, Email, Phone, TextKind};
use crate::domain::money::{Currency, Money};
use chrono::NaiveDate;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadsheetCustomer {
    pub line: usize,
    pub name: CustomerName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub category: Option<String>,
    /// What the customer owes; never negative.
    pub balance: Money,
    pub due_date: Option<NaiveDate>,
}

const NAME: &[&str] = &["name", "customer", "customer_name", "party", "party_name"];
const PHONE: &[&str] = &[
    "phone",
    "mobile",
    "phone_number",
    "phone_no",
    "mobile_no",
    "mobile_number",
    "contact",
    "contact_no",
];
const EMAIL: &[&str] = &["email", "e_mail", "email_address", "email_id", "mail"];
const ADDRESS: &[&str] = &["address", "addr", "location"];
const CATEGORY: &[&str] = &["category", "type", "group", "customer_type"];
const BALANCE: &[&str] = &[
    "balance",
    "due",
    "due_amount",
    "amount_due",
    "amount",
    "outstanding",
    "pending",
];
const DUE_DATE: &[&str] = &["due_date", "due_on", "due_by", "date"];

/// Reads the customers in the CSV file at `path`, amounts in `currency`.
/// Either every customer, or every problem found.
pub fn parse_customers(
    path: &Path,
    currency: Currency,
) -> Result<Vec<SpreadsheetCustomer>, ImportRefused> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let mut problems = Problems::default();
    let Some(t) = table::read(path, &file, &mut problems) else {
        return problems.finish(Vec::new());
    };
    customers_of(&file, t, problems, currency)
}

/// [`parse_customers`] of a file's contents, named `file` in problems.
pub fn parse_customers_bytes(
    bytes: &[u8],
    file: &str,
    currency: Currency,
) -> Result<Vec<SpreadsheetCustomer>, ImportRefused> {
    let mut problems = Problems::default();
    let Some(t) = table::read_bytes(bytes, file, &mut problems) else {
        return problems.finish(Vec::new());
    };
    customers_of(file, t, problems, currency)
}

fn customers_of(
    file: &str,
    t: table::Table,
    mut problems: Problems,
    currency: Currency,
) -> Result<Vec<SpreadsheetCustomer>, ImportRefused> {
    let mut out = Vec::new();
    if t.is_empty() {
        problems.add(file, 0, None, "is empty: it has no header and no customers");
        return problems.finish(out);
    }
    let name = t.require(NAME, &mut problems);
    let phone = t.column(PHONE);
    let email = t.column(EMAIL);
    let address = t.column(ADDRESS);
    let category = t.column(CATEGORY);
    let balance = t.column(BALANCE);
    let due_date = t.column(DUE_DATE);
    for row in &t.rows {
        let mut c = t.cells(row, &mut problems);
        let customer_name = if c.present(name) { c.name(name) } else { None };
        let phone = c.phone(phone);
        let email = c.email(email);
        let address = c.text(address, TextKind::Address);
        let category = c.text(category, TextKind::Category);
        let owed = c.grouped_amount(balance, currency);
        let owed = c.not_negative(balance, owed);
        let due_date = c.date(due_date);
        if let Some(name) = customer_name
            && !c.has_faults()
        {
            out.push(SpreadsheetCustomer {
                line: c.line(),
                name,
                phone,
                email,
                address,
                category,
                balance: owed.unwrap_or(Money::ZERO),
                due_date,
            });
        }
    }
    problems.finish(out)
}
