//! Validated values. Each type is built once from raw input by `parse`, so a
//! value of the type is always valid; errors name what is wrong in words a
//! person can act on.

use chrono::NaiveDate;
use std::fmt;

/// Why a field was refused; the HTTP layer adds which field it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError(msg.into()))
}

/// Trims and checks a free-text field: no control characters other than
/// newlines and tabs, at most `max` characters.
fn clean_text(raw: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return err(format!("is longer than {max} characters"));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return err("contains control characters");
    }
    Ok(text.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = clean_text(raw, 120, false)?;
        if name.is_empty() {
            return err("must not be empty");
        }
        if !name.chars().any(char::is_alphanumeric) {
            return err("must contain at least one letter or digit");
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are sorted by.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// A practical check, not RFC 5322: one `@`, a non-empty local part, a
    /// domain with a dot, no spaces. Stored lower-cased so that one address
    /// cannot belong to two customers by a difference of case.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return err("must not be empty; leave it out or send null instead");
        }
        if email.len() > 254 {
            return err("is longer than 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return err(format!("'{raw}' is not an email address (no '@')"));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"@\\".contains(c));
        if !domain_ok || !local_ok {
            return err(format!("'{raw}' is not an email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts digits with spaces, dashes, dots and parentheses, and an
    /// optional leading `+`; keeps the `+` and the digits.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return err("must not be empty; leave it out or send null instead");
        }
        let (plus, rest) = match text.strip_prefix('+') {
            Some(r) => ("+", r),
            None => ("", text),
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()".contains(c))
        {
            return err(format!(
                "'{raw}' is not a phone number; use digits, spaces, dashes and an optional leading +"
            ));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if !(5..=15).contains(&digits.len()) {
            return err("must have between 5 and 15 digits");
        }
        Ok(Self(format!("{plus}{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }
}

/// Optional short or long text fields of a customer or an entry.
#[derive(Debug, Clone, Copy)]
pub enum TextKind {
    Address,
    Category,
    Notes,
    Description,
    Reference,
    Reason,
}

impl TextKind {
    fn max(self) -> usize {
        match self {
            TextKind::Address => 500,
            TextKind::Category => 60,
            TextKind::Notes => 2000,
            TextKind::Description => 500,
            TextKind::Reference => 120,
            TextKind::Reason => 500,
        }
    }

    fn multiline(self) -> bool {
        matches!(
            self,
            TextKind::Address | TextKind::Notes | TextKind::Description | TextKind::Reason
        )
    }

    /// Cleans an optional text; blank becomes `None`.
    pub fn parse_optional(self, raw: &str) -> Result<Option<String>, FieldError> {
        let text = clean_text(raw, self.max(), self.multiline())?;
        Ok((!text.is_empty()).then_some(text))
    }

    /// Cleans a text that must be given (a void reason).
    pub fn parse_required(self, raw: &str) -> Result<String, FieldError> {
        match self.parse_optional(raw)? {
            Some(t) => Ok(t),
            None => err("must not be empty"),
        }
    }
}

/// Parses a calendar date written `YYYY-MM-DD` between 1900 and 2200.
pub fn parse_date(raw: &str) -> Result<NaiveDate, FieldError> {
    let text = raw.trim();
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return err(format!("'{raw}' is not a date in the form YYYY-MM-DD"));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError(format!("'{raw}' is not a real calendar date")))?;
    let year = chrono::Datelike::year(&date);
    if !(1900..=2200).contains(&year) {
        return err(format!("'{raw}' is outside the years 1900 to 2200"));
    }
    Ok(date)
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Cash,
    Upi,
    Card,
    Bank,
    Cheque,
    Other,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 6] = [
        PaymentMethod::Cash,
        PaymentMethod::Upi,
        PaymentMethod::Card,
        PaymentMethod::Bank,
        PaymentMethod::Cheque,
        PaymentMethod::Other,
    ];

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let lower = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == lower)
            .ok_or_else(|| FieldError(format!("'{raw}' is not a payment method; use one of cash, upi, card, bank, cheque, other")))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Upi => "upi",
            PaymentMethod::Card => "card",
            PaymentMethod::Bank => "bank",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::Other => "other",
        }
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stem of a customer's login name, made from the name: lower-case ASCII
/// letters and digits joined by dots ("Ramesh Kumar" → "ramesh.kumar"). The
/// store adds a number when the stem is taken.
pub fn username_stem(name: &CustomerName) -> String {
    let words: Vec<String> = name
        .as_str()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut stem = words.join(".");
    stem.truncate(24);
    let stem = stem.trim_end_matches('.').to_string();
    if stem.is_empty() {
        "customer".to_string()
    } else {
        stem
    }
}

/// The words a customer can be found by: each word of the name, the whole
/// name, the email and its local part, the phone's digits and its last ten.
pub fn search_terms(
    name: &CustomerName,
    email: Option<&Email>,
    phone: Option<&Phone>,
) -> Vec<String> {
    let mut terms: Vec<String> = name
        .as_str()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    terms.push(name.sort_key());
    if let Some(email) = email {
        terms.push(email.as_str().to_string());
    }
    if let Some(phone) = phone {
        let digits = phone.digits();
        terms.push(digits.to_string());
        if digits.len() > 10 {
            terms.push(digits[digits.len() - 10..].to_string());
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// Turns a search query into the prefixes every match must have.
pub fn search_prefixes(query: &str) -> Vec<String> {
    query
        .to_lowercase()
        .split_whitespace()
        .map(|w| {
            // A phone typed with separators is matched by its digits.
            let digits: String = w.chars().filter(char::is_ascii_digit).collect();
            if !digits.is_empty() && w.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c)) {
                digits
            } else {
                w.to_string()
            }
        })
        .filter(|w| !w.is_empty())
        .take(5)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_methods_serialize_as_the_words_they_parse_from() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Ok(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }

    #[test]
    fn names_are_trimmed_and_must_say_something() {
        assert_eq!(
            CustomerName::parse("  Asha Rao ").unwrap().as_str(),
            "Asha Rao"
        );
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse("!!!").is_err());
        assert!(CustomerName::parse("a\u{0}b").is_err());
        assert!(CustomerName::parse(&"x".repeat(121)).is_err());
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            Email::parse("Asha@Example.COM").unwrap().as_str(),
            "asha@example.com"
        );
        for bad in [
            "asha",
            "asha@",
            "@example.com",
            "asha@example",
            "a b@example.com",
            "asha@exa..mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_keep_their_digits() {
        assert_eq!(
            Phone::parse("+91 98765-43210").unwrap().as_str(),
            "+919876543210"
        );
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("12").is_err());
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("26-1-1").is_err());
        assert!(parse_date("0001-01-01").is_err());
        assert_eq!(parse_date("2028-02-29").unwrap().to_string(), "2028-02-29");
    }

    #[test]
    fn usernames_come_from_names() {
        let n = |s| CustomerName::parse(s).unwrap();
        assert_eq!(username_stem(&n("Ramesh Kumar")), "ramesh.kumar");
        assert_eq!(username_stem(&n("राम")), "customer");
        assert_eq!(username_stem(&n("O'Brien & Sons")), "o.brien.sons");
    }

    #[test]
    fn search_finds_words_emails_and_phone_digits() {
        let name = CustomerName::parse("Asha Rao").unwrap();
        let email = Email::parse("asha@example.com").unwrap();
        let phone = Phone::parse("+91 98765 43210").unwrap();
        let terms = search_terms(&name, Some(&email), Some(&phone));
        for t in [
            "asha",
            "rao",
            "asha rao",
            "asha@example.com",
            "919876543210",
            "9876543210",
        ] {
            assert!(terms.contains(&t.to_string()), "{t}");
        }
        assert_eq!(search_prefixes("98765-432 Asha"), vec!["98765432", "asha"]);
    }
}
