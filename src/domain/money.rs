//! Exact money: an amount is an `i64` count of the currency's minor unit
//! (paise for INR, cents for USD, yen for JPY). Decimal strings exist only at
//! the edges, parsed and formatted here with the currency's exponent.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// The largest amount one entry may carry, in major units. Far above any
/// shop's real transaction, far below where sums of many entries could
/// overflow an `i64` of minor units.
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000_000;

/// An ISO 4217 currency with the number of decimals its minor unit has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: iso_currency::Currency,
    exponent: u32,
}

impl Currency {
    /// Accepts an ISO 4217 code such as `INR`, `usd` or `JPY`.
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        let currency = iso_currency::Currency::from_code(&upper)
            .ok_or_else(|| format!("'{code}' is not an ISO 4217 currency code (e.g. INR, USD)"))?;
        let exponent = currency
            .exponent()
            .ok_or_else(|| format!("'{upper}' has no minor unit and cannot be used for money"))?;
        Ok(Self {
            code: currency,
            exponent: u32::from(exponent),
        })
    }

    pub fn code(&self) -> String {
        self.code.code().to_string()
    }

    pub fn symbol(&self) -> String {
        self.code.symbol().symbol
    }

    /// Decimal places of the minor unit (2 for INR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    fn scale(&self) -> i64 {
        10i64.pow(self.exponent)
    }

    /// The largest amount one entry may carry, in minor units.
    pub fn max_amount(&self) -> Money {
        Money(MAX_MAJOR_UNITS * self.scale())
    }

    /// Parses a decimal string in major units ("1250.50") into minor units.
    /// Accepts an optional leading minus sign; rejects anything that is not
    /// plain digits with at most `exponent` decimals.
    pub fn parse_amount(&self, input: &str) -> Result<Money, MoneyError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(MoneyError::NotANumber(input.to_string()));
        }
        let fraction = fraction.unwrap_or("");
        if fraction.len() > self.exponent as usize {
            return Err(MoneyError::TooManyDecimals {
                max: self.exponent,
                currency: self.code(),
            });
        }
        let whole = whole.trim_start_matches('0');
        // More than 13 whole digits is above MAX_MAJOR_UNITS whatever they are.
        if whole.len() > 13 {
            return Err(MoneyError::TooLarge(self.format(self.max_amount())));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| MoneyError::NotANumber(input.to_string()))?
        };
        let mut minor_fraction: i64 = if fraction.is_empty() {
            0
        } else {
            fraction
                .parse()
                .map_err(|_| MoneyError::NotANumber(input.to_string()))?
        };
        minor_fraction *= 10i64.pow(self.exponent - fraction.len() as u32);
        let minor = whole * self.scale() + minor_fraction;
        if minor > self.max_amount().0 {
            return Err(MoneyError::TooLarge(self.format(self.max_amount())));
        }
        Ok(Money(if negative { -minor } else { minor }))
    }

    /// Parses an amount that must be strictly positive (a due or a payment).
    pub fn parse_positive(&self, input: &str) -> Result<Money, MoneyError> {
        let money = self.parse_amount(input)?;
        if money.0 < 0 {
            Err(MoneyError::Negative)
        } else if money.0 == 0 {
            Err(MoneyError::Zero)
        } else {
            Ok(money)
        }
    }

    /// Parses an amount that may be zero but not negative (a credit limit).
    pub fn parse_non_negative(&self, input: &str) -> Result<Money, MoneyError> {
        let money = self.parse_amount(input)?;
        if money.0 < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(money)
        }
    }

    /// Parses an amount as a spreadsheet shows it: an optional leading minus,
    /// an optional currency symbol or code ("₹", "Rs.", "INR"), and digits
    /// grouped by commas in thousands ("1,000,000.50") or Indian lakhs and
    /// crores ("10,00,000.50"). A comma anywhere else is refused, so that a
    /// decimal comma ("12,50") is never read as twelve hundred and fifty.
    pub fn parse_grouped(&self, input: &str) -> Result<Money, MoneyError> {
        let text = input.trim();
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r.trim_start()),
            None => (false, text),
        };
        let rest = self.strip_currency_mark(rest);
        let (whole, fraction) = match rest.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (rest, None),
        };
        if whole.contains(',') && !well_grouped(whole) {
            return Err(MoneyError::NotANumber(input.to_string()));
        }
        let mut plain = String::with_capacity(rest.len() + 1);
        if negative {
            plain.push('-');
        }
        plain.extend(whole.chars().filter(|&c| c != ','));
        if let Some(f) = fraction {
            plain.push('.');
            plain.push_str(f);
        }
        self.parse_amount(&plain).map_err(|e| match e {
            MoneyError::NotANumber(_) => MoneyError::NotANumber(input.to_string()),
            other => other,
        })
    }

    fn strip_currency_mark<'a>(&self, text: &'a str) -> &'a str {
        let mut marks = vec![self.symbol(), self.code()];
        if self.code == iso_currency::Currency::INR {
            marks.extend(["Rs.".to_string(), "Rs".to_string(), "₹".to_string()]);
        }
        for mark in marks {
            if let Some(rest) = text.strip_prefix(mark.as_str()) {
                return rest.trim_start();
            }
        }
        text
    }

    /// Parses an amount written by a program that kept money in binary
    /// floats (Python's `repr`, pandas' `to_csv`): "1500.0", or "99.89999999999999"
    /// where 100.10 - 0.20 was meant. Decimals beyond the currency's are
    /// accepted only where they are zeros or float noise (15 or more
    /// significant digits, past what a float holds exactly); the amount is
    /// then rounded half away from zero to the minor unit. Any other extra
    /// decimal ("12.345") is refused, as by [`Currency::parse_amount`].
    pub fn parse_float_repr(&self, input: &str) -> Result<Money, MoneyError> {
        let text = input.trim();
        let exponent = self.exponent as usize;
        let Some((whole, fraction)) = text.split_once('.') else {
            return self.parse_amount(text);
        };
        if fraction.len() <= exponent || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return self.parse_amount(text);
        }
        let (kept, excess) = fraction.split_at(exponent);
        let digits_of_whole = whole.trim_start_matches('-').trim_start_matches('0');
        let significant = if digits_of_whole.is_empty() {
            fraction.trim_start_matches('0').len()
        } else {
            digits_of_whole.len() + fraction.len()
        };
        if !excess.bytes().all(|b| b == b'0') && significant < 15 {
            return Err(MoneyError::TooManyDecimals {
                max: self.exponent,
                currency: self.code(),
            });
        }
        let truncated = if kept.is_empty() {
            self.parse_amount(whole)?
        } else {
            self.parse_amount(&format!("{whole}.{kept}"))?
        };
        let round_away = excess.as_bytes()[0] >= b'5';
        let step = if whole.starts_with('-') { -1 } else { 1 };
        let rounded = if round_away {
            Money(truncated.0 + step)
        } else {
            truncated
        };
        if rounded.0.abs() > self.max_amount().0 {
            return Err(MoneyError::TooLarge(self.format(self.max_amount())));
        }
        Ok(rounded)
    }

    /// Formats minor units as a plain decimal string in major units: `-1250.50`.
    pub fn format(&self, money: Money) -> String {
        let scale = self.scale().unsigned_abs();
        let abs = money.0.unsigned_abs();
        let sign = if money.0 < 0 { "-" } else { "" };
        if self.exponent == 0 {
            return format!("{sign}{abs}");
        }
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = self.exponent as usize
        )
    }
}

impl Currency {
    /// Formats for people: the currency's symbol and digit grouping, e.g.
    /// "₹1,00,000.00" (Indian lakh grouping for INR), "$1,234.50", "¥1,500".
    pub fn display(&self, money: Money) -> String {
        let plain = self.format(Money(money.0.abs()));
        let (whole, fraction) = match plain.split_once('.') {
            Some((w, f)) => (w.to_string(), format!(".{f}")),
            None => (plain, String::new()),
        };
        let grouped = if self.code == iso_currency::Currency::INR {
            group_indian(&whole)
        } else {
            group_thousands(&whole)
        };
        let sign = if money.0 < 0 { "-" } else { "" };
        let symbol = self.symbol();
        if symbol.chars().count() <= 1 || symbol.chars().any(|c| !c.is_alphabetic()) {
            format!("{sign}{symbol}{grouped}{fraction}")
        } else {
            format!("{sign}{symbol} {grouped}{fraction}")
        }
    }
}

/// Whether commas group `whole` as people write numbers: the last group of
/// three, the ones before it all of three (thousands) or all of two (Indian
/// lakhs and crores), and a first group no longer than those.
fn well_grouped(whole: &str) -> bool {
    let groups: Vec<&str> = whole.split(',').collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let (first, last) = (groups[0].len(), groups[groups.len() - 1].len());
    let middle = &groups[1..groups.len() - 1];
    last == 3
        && ((first <= 3 && middle.iter().all(|g| g.len() == 3))
            || (first <= 2 && middle.iter().all(|g| g.len() == 2)))
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 12,34,56,789: the last three digits, then groups of two.
fn group_indian(digits: &str) -> String {
    if digits.len() <= 3 {
        return digits.to_string();
    }
    let (head, tail) = digits.split_at(digits.len() - 3);
    let mut out = String::new();
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (head.len() - i).is_multiple_of(2) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out},{tail}")
}

/// An amount in minor units of the configured currency. Serialized as the
/// bare integer of minor units, so records keep their stored JSON form.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` where it would overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self - other`, or `None` where it would overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The amount without its sign: what is owed, or held in credit.
    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }
}

/// Sums of amounts already bounded by [`MAX_MAJOR_UNITS`]: overflow is out
/// of reach, and is a bug (a panic in debug builds) as for `i64`. Where an
/// amount comes from outside, use [`Money::checked_add`].
impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(amounts: I) -> Money {
        amounts.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(amounts: I) -> Money {
        amounts.copied().sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    Empty,
    NotANumber(String),
    TooManyDecimals { max: u32, currency: String },
    TooLarge(String),
    Negative,
    Zero,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Empty => write!(f, "is empty; give a decimal amount such as \"1250.50\""),
            MoneyError::NotANumber(s) => write!(
                f,
                "'{s}' is not a decimal amount; use digits with an optional decimal point, such as \"1250.50\""
            ),
            MoneyError::TooManyDecimals { max: 0, currency } => {
                write!(f, "must be a whole number: {currency} has no minor unit")
            }
            MoneyError::TooManyDecimals { max, currency } => {
                write!(
                    f,
                    "has more than {max} decimal places, which {currency} does not have"
                )
            }
            MoneyError::TooLarge(max) => {
                write!(f, "is too large; the most one entry may be is {max}")
            }
            MoneyError::Negative => write!(f, "must not be negative"),
            MoneyError::Zero => write!(f, "must be greater than zero"),
        }
    }
}

impl std::error::Error for MoneyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inr() -> Currency {
        Currency::parse("INR").unwrap()
    }

    #[test]
    fn grouped_amounts_read_as_a_spreadsheet_shows_them() {
        let c = inr();
        assert_eq!(c.parse_grouped("1,00,000.50"), Ok(Money(10_000_050)));
        assert_eq!(c.parse_grouped("10,00,00,000"), Ok(Money(10_000_000_000)));
        assert_eq!(c.parse_grouped("1,000,000.50"), Ok(Money(100_000_050)));
        assert_eq!(c.parse_grouped("12,345"), Ok(Money(1_234_500)));
        assert_eq!(c.parse_grouped("₹ 2,500"), Ok(Money(250_000)));
        assert_eq!(c.parse_grouped("Rs. 1,250.5"), Ok(Money(125_050)));
        assert_eq!(c.parse_grouped("-1,500"), Ok(Money(-150_000)));
        assert_eq!(c.parse_grouped("750"), Ok(Money(75_000)));
        for bad in [
            "12,50",
            "1,0000",
            "1,00,0000",
            ",100",
            "100,",
            "1,,000",
            "1,000,00,000",
            "abc",
            "",
        ] {
            assert!(c.parse_grouped(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(
            c.parse_grouped("1,000.505"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn float_noise_from_the_old_system_rounds_to_the_minor_unit() {
        let c = inr();
        assert_eq!(c.parse_float_repr("1500.0"), Ok(Money(150_000)));
        assert_eq!(c.parse_float_repr("1500"), Ok(Money(150_000)));
        assert_eq!(c.parse_float_repr("99.89999999999999"), Ok(Money(9_990)));
        assert_eq!(c.parse_float_repr("0.30000000000000004"), Ok(Money(30)));
        assert_eq!(c.parse_float_repr("-0.30000000000000004"), Ok(Money(-30)));
        assert_eq!(c.parse_float_repr("12.5000"), Ok(Money(1_250)));
        assert!(matches!(
            c.parse_float_repr("12.345"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(c.parse_float_repr("1e5").is_err());
        assert!(c.parse_float_repr("nan").is_err());
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(yen.parse_float_repr("1500.0"), Ok(Money(1_500)));
    }

    #[test]
    fn decimal_strings_become_minor_units() {
        let c = inr();
        assert_eq!(c.parse_amount("1250.50"), Ok(Money(125_050)));
        assert_eq!(c.parse_amount("1250.5"), Ok(Money(125_050)));
        assert_eq!(c.parse_amount("0.01"), Ok(Money(1)));
        assert_eq!(c.parse_amount("007"), Ok(Money(700)));
        assert_eq!(c.parse_amount("-3.10"), Ok(Money(-310)));
    }

    #[test]
    fn malformed_amounts_are_refused_with_a_reason() {
        let c = inr();
        for bad in [
            "", " ", "abc", "1e3", "NaN", "inf", "1.2.3", ".5", "5.", "+5", "1,000", "--1", "0x10",
        ] {
            assert!(c.parse_amount(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(
            c.parse_amount("1.234"),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        assert!(matches!(
            c.parse_amount("99999999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            c.parse_amount("1000000000000.01"),
            Err(MoneyError::TooLarge(_))
        ));
        assert_eq!(c.parse_positive("0"), Err(MoneyError::Zero));
        assert_eq!(c.parse_positive("-1"), Err(MoneyError::Negative));
    }

    #[test]
    fn currencies_differ_in_decimals() {
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(jpy.parse_amount("1500"), Ok(Money(1500)));
        assert!(jpy.parse_amount("1500.5").is_err());
        assert_eq!(jpy.format(Money(1500)), "1500");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.parse_amount("1.234"), Ok(Money(1234)));
        assert_eq!(kwd.format(Money(1234)), "1.234");
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn formatting_keeps_every_decimal() {
        let c = inr();
        assert_eq!(c.format(Money(125_050)), "1250.50");
        assert_eq!(c.format(Money(5)), "0.05");
        assert_eq!(c.format(Money(-5)), "-0.05");
        assert_eq!(c.format(Money(0)), "0.00");
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        let c = inr();
        assert_eq!(c.display(Money(10_000_000)), "₹1,00,000.00");
        assert_eq!(c.display(Money(123_456_789)), "₹12,34,567.89");
        assert_eq!(c.display(Money(-5_050)), "-₹50.50");
        assert_eq!(c.display(Money(99_900)), "₹999.00");
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(usd.display(Money(123_450)), "$1,234.50");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.display(Money(1_500_000)), "¥1,500,000");
    }

    #[test]
    fn amounts_add_and_compare_exactly() {
        assert_eq!(Money(150) + Money(-50), Money(100));
        assert_eq!(Money(150) - Money(200), Money(-50));
        assert_eq!(-Money(5), Money(-5));
        assert_eq!(
            [Money(1), Money(2), Money(3)].iter().sum::<Money>(),
            Money(6)
        );
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
        assert_eq!(Money(i64::MIN).checked_sub(Money(1)), None);
        assert_eq!(Money(7).checked_sub(Money(2)), Some(Money(5)));
        assert!(Money(1).is_positive() && Money(-1).is_negative() && Money::ZERO.is_zero());
        assert_eq!(Money(-250).abs(), Money(250));
        assert_eq!(Money(3).max(Money(-3)), Money(3));
        assert!(Money(-1) < Money::ZERO);
    }

    #[test]
    fn amounts_serialize_as_bare_minor_units() {
        assert_eq!(serde_json::to_string(&Money(125_050)).unwrap(), "125050");
        assert_eq!(serde_json::from_str::<Money>("-5").unwrap(), Money(-5));
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_same_amount(minor in -100_000_000_000_000i64..=100_000_000_000_000i64, code in prop::sample::select(vec!["INR", "USD", "JPY", "KWD", "EUR"])) {
            let c = Currency::parse(code).unwrap();
            prop_assume!(minor.abs() <= c.max_amount().0);
            let text = c.format(Money(minor));
            prop_assert_eq!(c.parse_amount(&text), Ok(Money(minor)));
        }

        #[test]
        fn parsing_any_string_never_panics(s in ".{0,40}") {
            let _ = inr().parse_amount(&s);
        }

        #[test]
        fn parsed_amounts_format_back_to_a_normal_form(whole in 0u64..1_000_000_000_000u64, frac in 0u32..100) {
            let c = inr();
            let text = format!("{whole}.{frac:02}");
            let money = c.parse_amount(&text).unwrap();
            prop_assert_eq!(money.0, whole as i64 * 100 + frac as i64);
            prop_assert_eq!(c.format(money), text);
        }
    }
}
