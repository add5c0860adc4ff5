//! Raw input as both faces receive it — strings, blanks, absent fields —
//! and the one place it becomes typed values. Every problem is collected,
//! so one answer can name them all; each detail is worded to follow the
//! field's name or label ("amount must be more than zero").

use super::{AppError, AppResult, FieldProblem};
use crate::domain::fields::{CustomerName, Email, FieldError, PaymentMethod, Phone, TextKind};
use crate::domain::money::{Currency, Money};
use crate::store::customers::{CustomerPatch, NewCustomer};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use std::fmt;

/// Collects field problems while input is parsed.
#[derive(Debug, Default)]
pub struct Fields {
    problems: Vec<FieldProblem>,
}

impl Fields {
    /// The value of a parsed field, or its problem recorded.
    pub fn field<T, E: fmt::Display>(&mut self, name: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(name, e);
                None
            }
        }
    }

    /// An optional field, where blank or absent means "not given".
    pub fn optional<T, E: fmt::Display>(
        &mut self,
        name: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = raw.filter(|v| !v.trim().is_empty())?;
        self.field(name, parse(raw))
    }

    pub fn fail(&mut self, name: &str, detail: impl fmt::Display) {
        self.problems.push(FieldProblem {
            field: name.to_string(),
            detail: detail.to_string(),
        });
    }

    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Ends parsing: the value when every field was read, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> AppResult<T> {
        if !self.problems.is_empty() {
            return Err(AppError::Invalid(self.problems));
        }
        value.ok_or(AppError::Internal)
    }
}

/// A field of a partial edit: absent (leave alone), null (clear) or a value.
#[derive(Debug, Clone, Default)]
pub enum Patch<T> {
    #[default]
    Missing,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|v| v.map_or(Patch::Null, Patch::Value))
    }
}

impl<T> Patch<T> {
    /// A form field: blank clears, text sets.
    pub fn from_form(value: T) -> Self
    where
        T: AsRef<str>,
    {
        if value.as_ref().trim().is_empty() {
            Patch::Null
        } else {
            Patch::Value(value)
        }
    }
}

/// A date that must not lie after `today`, the one wording for it.
pub fn not_after(raw: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = crate::domain::fields::parse_date(raw)?;
    if date > today {
        return Err(FieldError(format!(
            "{date} is in the future (today is {today})"
        )));
    }
    Ok(date)
}

/// A text of `kind` where blank means nothing.
fn text(kind: TextKind) -> impl Fn(&str) -> Result<String, FieldError> {
    move |raw| kind.parse_optional(raw).map(Option::unwrap_or_default)
}

/// A void, rejection or deletion reason: required, one paragraph or a few.
pub fn reason(raw: &str) -> AppResult<String> {
    TextKind::Reason
        .parse_required(raw)
        .map_err(|e| AppError::invalid("reason", e.0))
}

/// A payment as typed into a form or sent as JSON.
#[derive(Debug, Clone, Default)]
pub struct PaymentInput {
    pub amount: String,
    pub method: Option<String>,
    pub reference: Option<String>,
    /// The day the money was received; blank means today.
    pub date: Option<String>,
    /// Keep anything above the balance as credit.
    pub advance: bool,
    /// The caller's retry guard: an `Idempotency-Key` header or the key a
    /// form was rendered with.
    pub key: Option<String>,
    /// Hold back a payment that repeats the last one (same customer, same
    /// amount, minutes apart) until the caller confirms it.
    pub check_repeat: bool,
}

/// A payment read and checked.
#[derive(Debug)]
pub struct ParsedPayment {
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    /// Whether a date was given, for telling retries apart.
    pub dated: bool,
}

impl PaymentInput {
    pub fn parse(
        &self,
        currency: Currency,
        today: NaiveDate,
        default_method: PaymentMethod,
    ) -> AppResult<ParsedPayment> {
        let mut f = Fields::default();
        let amount = f.field("amount", currency.parse_positive(&self.amount));
        let method = f
            .optional("method", self.method.as_deref(), PaymentMethod::parse)
            .or_else(|| {
                self.method
                    .as_deref()
                    .is_none_or(|m| m.trim().is_empty())
                    .then_some(default_method)
            });
        let reference = f
            .optional("reference", self.reference.as_deref(), |r| {
                TextKind::Reference.parse_optional(r)
            })
            .flatten();
        let dated = self.date.as_deref().is_some_and(|d| !d.trim().is_empty());
        let paid_on = f
            .optional("date", self.date.as_deref(), |d| not_after(d, today))
            .or((!dated).then_some(today));
        let parsed = match (amount, method, paid_on) {
            (Some(amount), Some(method), Some(paid_on)) => Some(ParsedPayment {
                amount,
                method,
                reference,
                paid_on,
                dated,
            }),
            _ => None,
        };
        f.finish(parsed)
    }
}

/// A due as typed into a form or sent as JSON.
#[derive(Debug, Clone, Default)]
pub struct DueInput {
    pub amount: String,
    pub description: Option<String>,
    /// The day of the sale; blank means today, or the due date when that has passed.
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    /// Record it even past the credit limit.
    pub over_limit: bool,
}

#[derive(Debug)]
pub struct ParsedDue {
    pub amount: Money,
    pub description: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
}

impl DueInput {
    pub fn parse(&self, currency: Currency, today: NaiveDate) -> AppResult<ParsedDue> {
        let mut f = Fields::default();
        let amount = f.field("amount", currency.parse_positive(&self.amount));
        let description = f
            .optional("description", self.description.as_deref(), |d| {
                TextKind::Description.parse_optional(d)
            })
            .flatten();
        let due_date = f.optional(
            "due_date",
            self.due_date.as_deref(),
            crate::domain::fields::parse_date,
        );
        let issue_given = self
            .issue_date
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty());
        // Without an issue date the due is issued today, or on its due date
        // when that has already passed (recording an old debt).
        let issue_date = if issue_given {
            f.optional("issue_date", self.issue_date.as_deref(), |d| {
                not_after(d, today)
            })
        } else {
            Some(due_date.map_or(today, |due| due.min(today)))
        };
        if let (Some(issue), Some(due)) = (issue_date, due_date)
            && due < issue
        {
            f.fail(
                "due_date",
                format!("{due} is before the issue date {issue}"),
            );
        }
        let parsed = match (amount, issue_date) {
            (Some(amount), Some(issue_date)) => Some(ParsedDue {
                amount,
                description,
                issue_date,
                due_date,
            }),
            _ => None,
        };
        f.finish(parsed)
    }
}

/// A new customer as typed into a form or sent as JSON.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub category: Option<String>,
    pub notes: Option<String>,
    pub credit_limit: Option<String>,
}

impl CustomerInput {
    pub fn parse(&self, currency: Currency) -> AppResult<NewCustomer> {
        let mut f = Fields::default();
        let name = f.field("name", CustomerName::parse(&self.name));
        let email = f.optional("email", self.email.as_deref(), Email::parse);
        let phone = f.optional("phone", self.phone.as_deref(), Phone::parse);
        let address = f.optional("address", self.address.as_deref(), text(TextKind::Address));
        let category = f.optional(
            "category",
            self.category.as_deref(),
            text(TextKind::Category),
        );
        let notes = f.optional("notes", self.notes.as_deref(), text(TextKind::Notes));
        let credit_limit = f.optional("credit_limit", self.credit_limit.as_deref(), |raw| {
            currency.parse_non_negative(raw)
        });
        let new = name.map(|name| NewCustomer {
            name,
            phone,
            email,
            address,
            category,
            notes,
            credit_limit,
        });
        f.finish(new)
    }
}

/// A partial edit of a customer: only the fields given change.
#[derive(Debug, Clone, Default)]
pub struct CustomerEdit {
    pub name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub address: Patch<String>,
    pub category: Patch<String>,
    pub notes: Patch<String>,
    pub credit_limit: Patch<String>,
    pub reminders_paused: Option<bool>,
}

/// A field of a partial edit: absent leaves it, null or blank clears it.
pub fn patched<T, E: fmt::Display>(
    f: &mut Fields,
    field: &str,
    value: &Patch<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    match value {
        Patch::Missing => None,
        Patch::Null => Some(None),
        Patch::Value(v) if v.trim().is_empty() => Some(None),
        Patch::Value(v) => f.field(field, parse(v)).map(Some),
    }
}

impl CustomerEdit {
    /// Whether the edit changes anything but the reminders switch.
    pub fn touches_details(&self) -> bool {
        let given = |p: &Patch<String>| !matches!(p, Patch::Missing);
        given(&self.name)
            || given(&self.email)
            || given(&self.phone)
            || given(&self.address)
            || given(&self.category)
            || given(&self.notes)
            || given(&self.credit_limit)
    }

    pub fn parse(&self, currency: Currency) -> AppResult<CustomerPatch> {
        let mut f = Fields::default();
        let name = match &self.name {
            Patch::Missing => None,
            Patch::Null => {
                f.fail("name", "cannot be removed; a customer needs a name");
                None
            }
            Patch::Value(v) => f.field("name", CustomerName::parse(v)),
        };
        let patch = CustomerPatch {
            name,
            email: patched(&mut f, "email", &self.email, Email::parse),
            phone: patched(&mut f, "phone", &self.phone, Phone::parse),
            address: patched(&mut f, "address", &self.address, text(TextKind::Address)),
            category: patched(&mut f, "category", &self.category, text(TextKind::Category)),
            notes: patched(&mut f, "notes", &self.notes, text(TextKind::Notes)),
            credit_limit: patched(&mut f, "credit_limit", &self.credit_limit, |raw| {
                currency.parse_non_negative(raw)
            }),
            reminders_paused: self.reminders_paused,
        };
        f.finish(Some(patch))
    }
}

/// A statement's date range from query text: either end may be absent.
pub fn date_range(
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<(Option<NaiveDate>, Option<NaiveDate>)> {
    let date_param = |field: &'static str, value: Option<&str>| -> AppResult<Option<NaiveDate>> {
        value
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                crate::domain::fields::parse_date(v)
                    .map_err(|e| AppError::bad_request("invalid_date", field, e.0))
            })
            .transpose()
    };
    let from = date_param("from", from)?;
    let to = date_param("to", to)?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(AppError::bad_request(
            "invalid_date",
            "to",
            format!("{t} is before {f}"),
        ));
    }
    Ok((from, to))
}

/// The longest retry guard accepted.
pub const MAX_KEY_LEN: usize = 255;

/// Checks a retry guard: 1 to 255 visible ASCII characters.
pub fn idempotency_key(raw: &str) -> AppResult<String> {
    let key = raw.trim();
    if key.is_empty()
        || key.len() > MAX_KEY_LEN
        || !key.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
    {
        return Err(bad_idempotency_key());
    }
    Ok(key.to_string())
}

/// The refusal of a retry guard that is not 1 to 255 visible characters.
pub fn bad_idempotency_key() -> AppError {
    AppError::bad_request(
        "invalid_idempotency_key",
        "Idempotency-Key",
        format!("the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
    )
}

/// Which page of a list to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// The last page number a list accepts.
pub const MAX_PAGE: i64 = 1_000_000_000;

impl Paging {
    /// Reads `page` (from 1) and `per_page` (1 to 100, default 20).
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> AppResult<Self> {
        Self::parse_or(page, per_page, DEFAULT_PER_PAGE)
    }

    /// Reads `page` (from 1) and `per_page` (1 to 100, default `default`).
    pub fn parse_or(page: Option<&str>, per_page: Option<&str>, default: i64) -> AppResult<Self> {
        let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
            None => 1,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_page",
                        "page",
                        format!("'{p}' is not a page number; pages start at 1"),
                    )
                })?,
        };
        let per_page = match per_page.map(str::trim).filter(|p| !p.is_empty()) {
            None => default,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_per_page",
                        "per_page",
                        format!("'{p}' is not a page size; use a number from 1 to {MAX_PER_PAGE}"),
                    )
                })?,
        };
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr() -> Currency {
        Currency::parse("INR").unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn every_bad_field_of_a_payment_is_named() {
        let input = PaymentInput {
            amount: "-5".into(),
            method: Some("barter".into()),
            date: Some("2026-03-20".into()),
            ..Default::default()
        };
        let Err(AppError::Invalid(problems)) = input.parse(inr(), day(10), PaymentMethod::Cash)
        else {
            panic!("a bad payment was accepted");
        };
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["amount", "method", "date"]);
    }

    #[test]
    fn a_blank_payment_method_and_date_take_their_defaults() {
        let input = PaymentInput {
            amount: "500".into(),
            method: Some(" ".into()),
            date: Some(String::new()),
            ..Default::default()
        };
        let p = input.parse(inr(), day(10), PaymentMethod::Upi).unwrap();
        assert_eq!(
            (p.amount, p.method, p.paid_on, p.dated),
            (Money(50000), PaymentMethod::Upi, day(10), false)
        );
    }

    #[test]
    fn an_old_due_is_issued_on_its_due_date() {
        let input = DueInput {
            amount: "10".into(),
            due_date: Some("2026-03-01".into()),
            ..Default::default()
        };
        let d = input.parse(inr(), day(10)).unwrap();
        assert_eq!((d.issue_date, d.due_date), (day(1), Some(day(1))));
        let bad = DueInput {
            amount: "10".into(),
            issue_date: Some("2026-03-05".into()),
            due_date: Some("2026-03-01".into()),
            ..Default::default()
        };
        assert_eq!(
            bad.parse(inr(), day(10)).unwrap_err().field(),
            Some("due_date")
        );
    }

    #[test]
    fn retry_keys_are_short_visible_text() {
        assert!(idempotency_key("abc-123").is_ok());
        assert!(idempotency_key("").is_err());
        assert!(idempotency_key("a\u{7}b").is_err());
        assert!(idempotency_key(&"k".repeat(256)).is_err());
    }
}
