//! Small helpers shared by the pages: how amounts, dates and times read,
//! and field errors kept next to their field.

use crate::app::input::PaymentInput;
use crate::app::{App, AppError};
use crate::domain::money::Money;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::HashMap;

/// An amount as people read it: "₹1,250.50".
pub fn money(state: &App, amount: Money) -> String {
    state.config().currency.display(amount)
}

/// "5 Jan 2026"
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

pub fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(date).unwrap_or_else(|| "—".to_string())
}

/// An RFC 3339 time in the shop's time zone: "5 Jan 2026, 14:05".
pub fn when(state: &App, rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&state.config().timezone)
                .format("%-d %b %Y, %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// "12 days overdue", "due today", "due in 3 days", "no due date".
pub fn due_phrase(due: Option<NaiveDate>, today: NaiveDate) -> String {
    let Some(due) = due else {
        return "no due date".to_string();
    };
    let days = (due - today).num_days();
    match days {
        0 => "due today".to_string(),
        1 => "due tomorrow".to_string(),
        -1 => "1 day overdue".to_string(),
        d if d < 0 => format!("{} days overdue", -d),
        d => format!("due in {d} days"),
    }
}

/// Errors by field, and what the visitor typed, for re-showing a form.
#[derive(Debug, Default, Clone)]
pub struct FormState {
    pub errors: HashMap<String, String>,
    pub values: HashMap<String, String>,
}

impl FormState {
    pub fn with_values(values: &[(&str, &str)]) -> Self {
        Self {
            errors: HashMap::new(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }

    /// For `aria-invalid`.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.has_error(field) {
            "true"
        } else {
            "false"
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Records a refusal from the application: each field's problem next
    /// to the field, worded after its label ("Due date is before …"), and
    /// anything else at the top of the form.
    pub fn fail_with(&mut self, error: &AppError) {
        match error {
            AppError::Invalid(problems) => {
                for p in problems {
                    self.fail(&p.field, format!("{} {}", label(&p.field), p.detail));
                }
            }
            AppError::Conflict { message, field, .. }
            | AppError::Rejected { message, field, .. } => {
                self.fail(field.unwrap_or("form"), crate::web::sentence(message))
            }
            AppError::Internal => self.fail(
                "form",
                "Something went wrong on our side; nothing was changed.",
            ),
            other => self.fail("form", crate::web::sentence(&other.to_string())),
        }
    }
}

/// A field's name as a form labels it: "credit_limit" → "Credit limit".
pub fn label(field: &str) -> String {
    let words = field.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A payment as the staff and the portal forms send it. Each form carries
/// the one-time key it was rendered with.
#[derive(Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub date: String,
    pub advance: Option<String>,
    #[serde(default)]
    pub idempotency_key: String,
    /// "yes" once the visitor confirmed a payment that repeats the last one.
    #[serde(default)]
    pub confirm_repeat: String,
}

impl PaymentForm {
    pub fn input(&self) -> PaymentInput {
        PaymentInput {
            amount: self.amount.clone(),
            method: Some(self.method.clone()),
            reference: Some(self.reference.clone()),
            date: Some(self.date.clone()),
            advance: self.advance.is_some(),
            key: Some(self.idempotency_key.clone()).filter(|k| !k.trim().is_empty()),
            check_repeat: self.confirm_repeat != "yes",
        }
    }

    /// The fields to send again when the visitor confirms a repeat.
    pub fn resend(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("amount", self.amount.clone()),
            ("method", self.method.clone()),
            ("reference", self.reference.clone()),
            ("date", self.date.clone()),
            ("idempotency_key", self.idempotency_key.clone()),
        ];
        if self.advance.is_some() {
            fields.push(("advance", "true".into()));
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_read_relative_to_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 3, n);
        assert_eq!(due_phrase(d(10), today), "due today");
        assert_eq!(due_phrase(d(13), today), "due in 3 days");
        assert_eq!(due_phrase(d(1), today), "9 days overdue");
        assert_eq!(due_phrase(None, today), "no due date");
    }
}
