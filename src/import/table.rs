//! One CSV file read liberally into rows, and the cells of a row parsed into
//! domain types, each failure recorded as a problem placed at its file, line
//! and column. Headers are matched by meaning, not position: trimmed,
//! case-insensitive, punctuation and spaces folded to `_`, with aliases.

use super::Problems;
use crate::domain::fields::{self, CustomerName, Email, Phone, TextKind};
use crate::domain::money::{Currency, Money, MoneyError};
use chrono::{NaiveDate, NaiveDateTime};
use std::path::Path;

pub(crate) struct Table {
    pub file: String,
    /// Headers as written, trimmed (for problems).
    headers: Vec<String>,
    /// Headers folded for matching.
    keys: Vec<String>,
    pub rows: Vec<Row>,
}

pub(crate) struct Row {
    pub line: usize,
    fields: Vec<String>,
}

/// A column found in a table: its position and its header as written.
#[derive(Clone, Copy)]
pub(crate) struct Col<'t> {
    index: usize,
    header: &'t str,
}

impl Col<'_> {
    /// The header as written in the file.
    pub fn header(&self) -> &str {
        self.header
    }
}

/// Folds a header for matching: "Due Amount", "due_amount" and " DUE-AMOUNT "
/// are one key.
pub(crate) fn fold_header(raw: &str) -> String {
    let mut key = String::new();
    for c in raw.trim().trim_start_matches('\u{feff}').chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_string()
}

/// Reads `path` as a table, or records why it cannot be read and returns
/// `None`. Rows that are wholly blank are dropped (spreadsheets leave them).
pub(crate) fn read(path: &Path, file: &str, problems: &mut Problems) -> Option<Table> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            problems.add(file, 0, None, format!("cannot be read: {e}"));
            return None;
        }
    };
    read_bytes(&bytes, file, problems)
}

/// [`read`] of a file's contents, named `file` in problems.
pub(crate) fn read_bytes(bytes: &[u8], file: &str, problems: &mut Problems) -> Option<Table> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            problems.add(
                file,
                line,
                None,
                format!(
                    "is not UTF-8 (byte 0x{:02X} is not valid UTF-8); save the file as UTF-8 and import again",
                    bytes[at]
                ),
            );
            return None;
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The csv crate reads a quote left open at the end of the file as a
    // field that runs to the end, silently swallowing every later record.
    if let Some(line) = unclosed_quote(text) {
        problems.add(
            file,
            line,
            None,
            "a quoted field opened on this line is never closed",
        );
        return None;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let (mut counted_to, mut counted_line) = (0usize, 1usize);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.add(file, line, None, format!("is not well-formed CSV: {e}"));
                return None;
            }
        };
        // The line from the byte offset: the csv crate's own line count
        // lags by one in files with CRLF line ends.
        let line = match record.position() {
            Some(p) => {
                // With CRLF ends a record's position is the LF before it.
                let bytes = text.as_bytes();
                let mut at = (p.byte() as usize).min(bytes.len());
                while at < bytes.len() && (bytes[at] == b'\r' || bytes[at] == b'\n') {
                    at += 1;
                }
                counted_line += line_breaks(&bytes[counted_to..at]);
                counted_to = at;
                counted_line
            }
            None => 0,
        };
        let fields: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if let Some(at) = fields.iter().position(|f| f.contains('\0')) {
            let column = header.as_ref().and_then(|h| h.get(at)).map(String::as_str);
            problems.add(
                file,
                line,
                column,
                "contains a NUL character (U+0000), which no database here can store",
            );
            continue;
        }
        if header.is_none() {
            header = Some(fields);
        } else {
            rows.push(Row { line, fields });
        }
    }
    let Some(headers) = header else {
        // An empty file: the original created files with only a header,
        // or none at all when nothing had happened yet.
        return Some(Table {
            file: file.to_string(),
            headers: Vec::new(),
            keys: Vec::new(),
            rows,
        });
    };
    let keys = headers.iter().map(|h| fold_header(h)).collect();
    Some(Table {
        file: file.to_string(),
        headers,
        keys,
        rows,
    })
}

/// How many line ends `bytes` holds: LF, CRLF, and a lone CR (which old
/// Mac spreadsheets write, and which the csv crate also ends a record on).
pub(crate) fn line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The line on which a quoted field opens and never closes, if any.
fn unclosed_quote(text: &str) -> Option<usize> {
    let mut line = 1;
    let mut opened_on = None;
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (opened_on, c) {
            (None, '"') if at_field_start => opened_on = Some(line),
            (Some(_), '"') if chars.peek() == Some(&'"') => {
                chars.next();
            }
            (Some(_), '"') => opened_on = None,
            _ => {}
        }
        if c == '\n' {
            line += 1;
        }
        if opened_on.is_none() {
            at_field_start = c == ',' || c == '\n' || c == '\r';
        }
    }
    opened_on
}

impl Table {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The first column whose header is one of `aliases` (already folded).
    pub fn column(&self, aliases: &[&str]) -> Option<Col<'_>> {
        aliases.iter().find_map(|alias| {
            self.keys.iter().position(|k| k == alias).map(|index| Col {
                index,
                header: &self.headers[index],
            })
        })
    }

    /// Like [`Table::column`], but a missing column is a problem.
    pub fn require(&self, aliases: &[&str], problems: &mut Problems) -> Option<Col<'_>> {
        let found = self.column(aliases);
        if found.is_none() {
            let also = if aliases.len() > 1 {
                format!(" (also accepted: {})", aliases[1..].join(", "))
            } else {
                String::new()
            };
            problems.add(
                &self.file,
                1,
                None,
                format!("the required column '{}' is missing{also}", aliases[0]),
            );
        }
        found
    }

    /// Reads the cells of `row`, recording problems against this table.
    pub fn cells<'a>(&'a self, row: &'a Row, problems: &'a mut Problems) -> Cells<'a> {
        Cells {
            file: &self.file,
            row,
            problems,
            faults: 0,
        }
    }
}

/// The cells of one row; each reader records a problem where the cell is
/// bad and returns `None`, so one row reports every bad cell it has.
pub(crate) struct Cells<'a> {
    file: &'a str,
    row: &'a Row,
    problems: &'a mut Problems,
    faults: usize,
}

impl Cells<'_> {
    pub fn line(&self) -> usize {
        self.row.line
    }

    /// Whether any cell of the row was refused.
    pub fn has_faults(&self) -> bool {
        self.faults > 0
    }

    pub fn fault(&mut self, col: Option<Col<'_>>, message: impl Into<String>) {
        self.faults += 1;
        self.problems
            .add(self.file, self.row.line, col.map(|c| c.header), message);
    }

    /// The trimmed cell, `""` where the column or the cell is absent.
    pub fn raw(&self, col: Option<Col<'_>>) -> &str {
        col.and_then(|c| self.row.fields.get(c.index))
            .map_or("", String::as_str)
    }

    fn with<T, E: std::fmt::Display>(
        &mut self,
        col: Option<Col<'_>>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = self.raw(col).to_string();
        if raw.is_empty() {
            return None;
        }
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fault(col, e.to_string());
                None
            }
        }
    }

    /// Whether a required cell holds a value; an empty one is a problem.
    /// (A missing column was already reported once for the whole file.)
    pub fn present(&mut self, col: Option<Col<'_>>) -> bool {
        if col.is_none() {
            return false;
        }
        if self.raw(col).is_empty() {
            self.fault(col, "is empty");
            return false;
        }
        true
    }

    pub fn text(&mut self, col: Option<Col<'_>>, kind: TextKind) -> Option<String> {
        self.with(col, |raw| kind.parse_optional(raw)).flatten()
    }

    /// A short identifying text (a username, an order id): no control
    /// characters, at most 120 characters.
    pub fn word(&mut self, col: Option<Col<'_>>) -> Option<String> {
        self.text(col, TextKind::Reference)
    }

    pub fn name(&mut self, col: Option<Col<'_>>) -> Option<CustomerName> {
        self.with(col, CustomerName::parse)
    }

    pub fn email(&mut self, col: Option<Col<'_>>) -> Option<Email> {
        self.with(col, Email::parse)
    }

    /// pandas writes a numeric column that has a blank cell as floats, so
    /// a phone number may arrive as "9876543210.0"; the ".0" is not a digit
    /// of the number.
    pub fn phone(&mut self, col: Option<Col<'_>>) -> Option<Phone> {
        self.with(col, |raw| {
            let raw = match raw.strip_suffix(".0") {
                Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => raw,
            };
            Phone::parse(raw)
        })
    }

    /// A whole number id; "3.0" (pandas, as for phones) is 3.
    pub fn id(&mut self, col: Option<Col<'_>>) -> Option<i64> {
        self.with(col, |raw| {
            let digits = raw.strip_suffix(".0").unwrap_or(raw);
            match digits.parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!(
                    "'{raw}' is not a customer id (a whole number above 0)"
                )),
            }
        })
    }

    /// An amount as the old system wrote it (Python floats), see
    /// [`Currency::parse_float_repr`].
    pub fn recorded_amount(&mut self, col: Option<Col<'_>>, currency: Currency) -> Option<Money> {
        self.with(col, |raw| currency.parse_float_repr(raw))
    }

    /// An amount as a spreadsheet shows it, see [`Currency::parse_grouped`].
    pub fn grouped_amount(&mut self, col: Option<Col<'_>>, currency: Currency) -> Option<Money> {
        self.with(col, |raw| currency.parse_grouped(raw))
    }

    /// Refuses a negative amount already read from `col`.
    pub fn not_negative(&mut self, col: Option<Col<'_>>, amount: Option<Money>) -> Option<Money> {
        match amount {
            Some(m) if m.is_negative() => {
                self.fault(col, MoneyError::Negative.to_string());
                None
            }
            other => other,
        }
    }

    /// Refuses an amount that is zero or negative.
    pub fn positive(&mut self, col: Option<Col<'_>>, amount: Option<Money>) -> Option<Money> {
        match amount {
            Some(m) if m.is_negative() => {
                self.fault(col, MoneyError::Negative.to_string());
                None
            }
            Some(m) if m.is_zero() => {
                self.fault(col, MoneyError::Zero.to_string());
                None
            }
            other => other,
        }
    }

    pub fn timestamp(&mut self, col: Option<Col<'_>>) -> Option<NaiveDateTime> {
        self.with(col, parse_timestamp)
    }

    pub fn date(&mut self, col: Option<Col<'_>>) -> Option<NaiveDate> {
        self.with(col, |raw| parse_timestamp(raw).map(|t| t.date()))
    }
}

/// A moment as the old system or a spreadsheet writes it:
/// `2026-11-20 10:00:00`, `2026-11-20T10:00:00` (either with fractions of
/// a second, as pandas' `Timestamp.now()` leaves them), or `2026-11-20`
/// (midnight). Years outside 1900–2200 are refused, as for any date.
pub(crate) fn parse_timestamp(raw: &str) -> Result<NaiveDateTime, String> {
    let text = raw.trim();
    let Some(date_part) = text.get(..10) else {
        return Err(not_a_time(raw));
    };
    let date = fields::parse_date(date_part).map_err(|e| e.to_string())?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists"));
    }
    let time = rest
        .strip_prefix(' ')
        .or_else(|| rest.strip_prefix('T'))
        .ok_or_else(|| not_a_time(raw))?;
    chrono::NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(time, "%H:%M"))
        .map(|t| date.and_time(t))
        .map_err(|_| not_a_time(raw))
}

fn not_a_time(raw: &str) -> String {
    format!(
        "'{raw}' is not a date and time such as 2026-11-20 10:00:00 or a date such as 2026-11-20"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_is_a_problem_on_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "name,due\nAsha,1\nBa\0la,2\n").unwrap();
        let mut problems = Problems::default();
        read(&path, "t.csv", &mut problems);
        let refused = problems.finish(()).unwrap_err();
        assert_eq!(refused.problems[0].line, 3);
        assert_eq!(refused.problems[0].column.as_deref(), Some("name"));
    }

    #[test]
    fn lines_are_counted_alike_with_crlf_and_lf_and_across_quoted_breaks() {
        // A lone CR ends a line too (found by the csv_reader fuzz target).
        for end in ["\n", "\r\n", "\r"] {
            let text = format!("name,due{end}\"A{end}B\",1{end}C,2{end}");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.csv");
            std::fs::write(&path, text).unwrap();
            let mut problems = Problems::default();
            let t = read(&path, "t.csv", &mut problems).unwrap();
            let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![2, 4], "line ends {end:?}");
        }
    }

    #[test]
    fn headers_fold_to_one_key_whatever_their_case_and_spacing() {
        assert_eq!(fold_header(" Due Amount "), "due_amount");
        assert_eq!(fold_header("DUE-AMOUNT"), "due_amount");
        assert_eq!(fold_header("\u{feff}Name"), "name");
        assert_eq!(fold_header("Mobile No."), "mobile_no");
    }

    #[test]
    fn times_are_read_in_the_three_shapes_the_old_files_use() {
        let t = |s| parse_timestamp(s).map(|t| t.to_string());
        assert_eq!(t("2026-11-20 10:00:00").unwrap(), "2026-11-20 10:00:00");
        assert_eq!(t("2026-11-20T10:00:00").unwrap(), "2026-11-20 10:00:00");
        assert_eq!(t("2026-11-20").unwrap(), "2026-11-20 00:00:00");
        assert_eq!(
            t("2026-11-20 10:00:00.123456").unwrap(),
            "2026-11-20 10:00:00.123456"
        );
        assert!(
            t("2026-02-30")
                .unwrap_err()
                .contains("not a real calendar date")
        );
        assert!(t("2026-11-20 25:00:00").is_err());
        assert!(t("20/11/2026").is_err());
        assert!(t("2026-11-20x10:00").is_err());
    }

    #[test]
    fn an_unclosed_quote_is_found_on_the_line_it_opens() {
        assert_eq!(unclosed_quote("a,b\n\"x, y\",2\n"), None);
        assert_eq!(unclosed_quote("a,b\n\"say \"\"hi\"\"\",2\n"), None);
        assert_eq!(unclosed_quote("a,b\n\"two\nlines\",2\n"), None);
        assert_eq!(unclosed_quote("a,b\n1,2\n\"open,3\n4,5\n"), Some(3));
        // A quote inside an unquoted field is text, as the csv crate reads it.
        assert_eq!(unclosed_quote("a,b\n5\" pipe,2\n"), None);
    }
}
