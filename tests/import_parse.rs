//! Reading the old system's data folders and a spreadsheet's customers from
//! the sample files under tests/data (written for these tests from the
//! columns the old code writes; no real data).

use duetrack::domain::customers::CustomerStatus;
use duetrack::domain::fields::PaymentMethod;
use duetrack::domain::money::{Currency, Money};
use duetrack::import::original::{
    self, DeletedBy, HistoryKind, OriginalData, PaymentSource, Version,
};
use duetrack::import::spreadsheet;
use duetrack::import::{ImportProblem, ImportRefused, LegacyPassword};
use std::path::{Path, PathBuf};

fn inr() -> Currency {
    Currency::parse("INR").unwrap()
}

fn sample(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn read(path: &str) -> OriginalData {
    original::read_folder(&sample(path), inr()).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(result: Result<impl std::fmt::Debug, ImportRefused>) -> Vec<ImportProblem> {
    result.expect_err("should be refused").problems
}

/// The problem placed at `file` and `line` whose message contains `words`.
fn has(problems: &[ImportProblem], file: &str, line: usize, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.file == file && p.line == line && p.message.contains(words)),
        "no problem in {file} line {line} saying {words:?}; found:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_first_version_reads_with_plain_passwords_and_dues_by_username() {
    let data = read("original/v1");
    assert_eq!(data.version, Some(Version::V1Csv));
    let names: Vec<_> = data.customers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Sharma, Asha", "Vikram Rao", "Vikram Rao"]);

    let asha = &data.customers[0];
    assert_eq!(asha.id, None);
    assert_eq!(asha.username.as_deref(), Some("sharmaasha"));
    assert_eq!(asha.phone.as_ref().unwrap().as_str(), "9845012345");
    assert_eq!(asha.due, Money(125_050));
    assert!(matches!(&asha.password, Some(LegacyPassword::PlainText(p)) if p == "Xk29pQr7Lm"));

    let vikram = &data.customers[1];
    assert_eq!(vikram.email, None, "an empty email is no email");
    assert_eq!(vikram.due, Money::ZERO);
    assert_eq!(data.customers[2].phone, None);
    assert_eq!(data.customers[2].due, Money(30_000));

    assert_eq!(data.payments.len(), 2);
    let first = &data.payments[0];
    assert_eq!(first.source, PaymentSource::Razorpay);
    assert_eq!(first.amount, Money(25_000));
    assert_eq!(first.method, Some(PaymentMethod::Upi));
    assert_eq!(first.reference.as_deref(), Some("order_Test0001"));
    assert_eq!(first.mode.as_deref(), Some("test"));
    assert_eq!(first.paid_at.to_string(), "2026-11-20 10:00:00");

    assert_eq!(data.logs.len(), 3);
    assert_eq!(data.logs[0].action, "create_customer");
    assert_eq!(data.logs[0].detail, "sharmaasha (Sharma, Asha) created");
    assert!(data.deleted.is_empty() && data.sign_ins.is_empty());
}

#[test]
fn the_second_version_reads_with_werkzeug_hashes_ids_and_its_history() {
    let data = read("original/v2");
    assert_eq!(data.version, Some(Version::V2Pandas));
    assert_eq!(data.customers.len(), 3);

    let meena = &data.customers[0];
    assert_eq!(meena.id, Some(1));
    assert_eq!(meena.phone.as_ref().unwrap().as_str(), "9876543210");
    assert_eq!(
        meena.address.as_deref(),
        Some("12, Temple Street\nMylapore, Chennai")
    );
    assert_eq!(meena.due, Money(150_000));
    assert_eq!(meena.category.as_deref(), Some("Regular"));
    assert!(
        matches!(&meena.password, Some(LegacyPassword::WerkzeugHash(h)) if h.starts_with("pbkdf2:sha256:600000$"))
    );
    assert_eq!(meena.due_date.unwrap().to_string(), "2026-11-01");
    assert_eq!(
        meena.last_reminded_at.unwrap().to_string(),
        "2026-11-20 10:00:00.123456"
    );
    assert_eq!(meena.added_at.unwrap().to_string(), "2026-11-01 09:15:00");

    let ravi = &data.customers[1];
    assert_eq!(ravi.email, None);
    assert_eq!(ravi.due, Money::ZERO);
    assert_eq!(ravi.address.as_deref(), Some("Shop 4, \"Ganesh\" Market"));
    assert!(
        matches!(&ravi.password, Some(LegacyPassword::WerkzeugHash(h)) if h.starts_with("scrypt:32768:8:1$"))
    );
    assert_eq!(ravi.updated_at.unwrap().to_string(), "2026-11-18 08:00:00");
    assert_eq!(ravi.added_at.unwrap().to_string(), "2026-11-02 00:00:00");

    let farid = &data.customers[2];
    assert_eq!(farid.due, Money(-5_000), "a credit the old system allowed");
    assert_eq!(farid.status, CustomerStatus::Active);

    assert_eq!(data.deleted.len(), 2);
    assert_eq!(data.deleted[0].deleted_by, DeletedBy::Admin);
    assert_eq!(
        data.deleted[0].reason.as_deref(),
        Some("Moved away, closed account")
    );
    assert_eq!(data.deleted[1].deleted_by, DeletedBy::Customer);
    assert_eq!(data.deleted[1].username.as_deref(), Some("anitadesai"));

    let kinds: Vec<_> = data.history.iter().map(|h| h.kind).collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Added,
            HistoryKind::Added,
            HistoryKind::DueSet,
            HistoryKind::PartialPayment,
            HistoryKind::PartialPayment
        ]
    );

    let paid: Vec<_> = data
        .payments
        .iter()
        .map(|p| (p.source, p.amount, p.due_after))
        .collect();
    assert_eq!(
        paid,
        [
            (PaymentSource::Portal, Money(75_000), Some(Money::ZERO)),
            (
                PaymentSource::AdminPartial,
                Money(30_000),
                Some(Money(150_000))
            ),
            // 100.1 down to pandas' -0.09999999999999432, i.e. -0.10.
            (PaymentSource::AdminPartial, Money(10_020), Some(Money(-10))),
        ]
    );
    assert_eq!(data.payments[0].method, None);

    assert_eq!(data.logs.len(), 2);
    assert_eq!(data.logs[0].action, "api_user_pay_due");
    assert!(data.logs[0].detail.contains("kwargs={'amount': 750}"));
    assert_eq!(data.logs[1].action, "email");
    assert!(
        data.logs[1]
            .detail
            .contains("Subject=Reminder: ₹1,500.00 due")
    );
    assert_eq!(data.sign_ins.len(), 1);
    assert_eq!(data.sign_ins[0].customer_id, Some(2));
}

#[test]
fn the_data_folder_itself_reads_as_well_as_the_project_root() {
    let from_root = read("original/v1");
    let from_data = read("original/v1/backend/data");
    assert_eq!(from_root.customers, from_data.customers);
}

#[test]
fn a_broken_folder_yields_every_problem_and_no_records() {
    let problems = refused(original::read_folder(&sample("original/broken"), inr()));
    let c = "customers.csv";
    has(&problems, c, 2, "more than 2 decimal places");
    has(&problems, c, 3, "'1,000' is not a decimal amount");
    has(&problems, c, 3, "not a real calendar date");
    has(&problems, c, 4, "the id 1 is also on line 2");
    has(&problems, c, 4, "the username 'Asha' is also on line 2");
    has(&problems, c, 4, "is not an email address");
    has(&problems, c, 4, "'retired' is not a customer status");
    has(&problems, c, 5, "is empty");
    has(&problems, c, 5, "'abc' is not a decimal amount");
    has(
        &problems,
        "transactions.csv",
        1,
        "the required column 'amount' is missing",
    );
    has(
        &problems,
        "user_payment_updated.csv",
        2,
        "must not be negative",
    );
    has(&problems, "logs.csv", 3, "is not UTF-8");
    has(&problems, "signin_logs.csv", 3, "never closed");
    has(
        &problems,
        "dues.csv",
        3,
        "names the same customer as line 2",
    );

    let amount = problems
        .iter()
        .find(|p| p.file == c && p.line == 2)
        .unwrap();
    assert_eq!(amount.column.as_deref(), Some("due"));
}

#[test]
fn a_payment_or_due_for_nobody_is_refused() {
    let problems = refused(original::read_folder(&sample("original/orphan"), inr()));
    has(&problems, "dues.csv", 3, "not in customers.csv");
    // References are checked once the files read cleanly; here the dues
    // file is at fault, so the payment is not yet blamed.
    assert!(
        !problems
            .iter()
            .any(|p| p.file == "user_payment_updated.csv")
    );

    let problems = refused(original::read_folder(
        &sample("original/orphan_payment"),
        inr(),
    ));
    has(
        &problems,
        "user_payment_updated.csv",
        3,
        "names customer id 7, who is neither in customers.csv",
    );
    assert_eq!(problems.len(), 1);
}

#[test]
fn a_folder_without_customers_is_refused() {
    let problems = refused(original::read_folder(&sample("original"), inr()));
    has(&problems, "customers.csv", 0, "is missing");
}

#[test]
fn a_spreadsheet_reads_whatever_its_headers_and_grouping() {
    let customers = spreadsheet::parse_customers(&sample("spreadsheet/customers.csv"), inr())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(customers.len(), 3, "the blank row is skipped");
    let lakshmi = &customers[0];
    assert_eq!(lakshmi.name.as_str(), "Lakshmi Stores, Main Road");
    assert_eq!(lakshmi.balance, Money(10_000_050));
    assert_eq!(lakshmi.address.as_deref(), Some("Main Road,\nBengaluru"));
    assert_eq!(lakshmi.category.as_deref(), Some("Wholesale"));
    assert_eq!(lakshmi.phone.as_ref().unwrap().as_str(), "9845011111");
    assert_eq!(lakshmi.due_date.unwrap().to_string(), "2026-12-01");
    assert_eq!(customers[1].balance, Money::ZERO);
    assert_eq!(customers[1].email, None);
    let nandini = &customers[2];
    assert_eq!(
        nandini.email.as_ref().unwrap().as_str(),
        "nandini@example.com"
    );
    assert_eq!(nandini.balance, Money(250_000));
    assert_eq!(nandini.due_date.unwrap().to_string(), "2026-12-15");
    assert_eq!(
        customers[2].line, 5,
        "a quoted newline makes row 2 two lines"
    );
}

#[test]
fn a_bad_spreadsheet_is_refused_row_by_row() {
    let problems = refused(spreadsheet::parse_customers(
        &sample("spreadsheet/bad.csv"),
        inr(),
    ));
    has(&problems, "bad.csv", 2, "'12,50' is not a decimal amount");
    has(&problems, "bad.csv", 3, "must not be negative");
    has(&problems, "bad.csv", 4, "not a real calendar date");
    has(&problems, "bad.csv", 5, "is empty");
    assert_eq!(problems.len(), 4);
}

#[test]
fn a_latin1_spreadsheet_or_one_without_names_is_refused() {
    let problems = refused(spreadsheet::parse_customers(
        &sample("spreadsheet/latin1.csv"),
        inr(),
    ));
    has(&problems, "latin1.csv", 2, "is not UTF-8");
    let problems = refused(spreadsheet::parse_customers(
        &sample("spreadsheet/no_name.csv"),
        inr(),
    ));
    has(
        &problems,
        "no_name.csv",
        1,
        "the required column 'name' is missing",
    );
}

/// Found by the csv_reader fuzz target: a file whose lines end in a lone
/// CR (as old Mac spreadsheets write them) placed its rows a line too high.
#[test]
fn a_spreadsheet_with_lone_cr_line_ends_places_rows_on_their_lines() {
    let customers =
        spreadsheet::parse_customers_bytes(b"party\rV-,,.", "sheet.csv", inr()).unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].line, 2);
    let refused =
        spreadsheet::parse_customers_bytes(b"name,due\rAsha,1\rBala,x\r", "sheet.csv", inr())
            .unwrap_err();
    assert_eq!(refused.problems[0].line, 3);
}
