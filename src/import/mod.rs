//! Reading data from outside into typed, validated records, with no
//! database access: the first, pure half of an import. `original` reads a
//! folder in the layout of the Flask + CSV system duetrack replaces;
//! `spreadsheet` reads one customers CSV exported from a spreadsheet. Both
//! collect every problem they find (up to [`MAX_PROBLEMS`]) and yield no
//! records at all when there is one, so that a later step can write what
//! they return to the store in one transaction, or nothing.

pub mod original;
pub mod own;
mod run;
mod shop;
pub mod spreadsheet;
mod table;

pub use run::{ImportError, ImportOptions, Imported, Source, import, source_of};

use std::fmt;

/// How many problems one reading collects before it only counts the rest.
pub const MAX_PROBLEMS: usize = 100;

/// One thing wrong in the input, placed so that a person can find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The file's name as found in the folder, e.g. `customers.csv`.
    pub file: String,
    /// The 1-based line in the file (the header is line 1) where the record
    /// with the problem starts; 0 where the problem is the file as a whole
    /// (missing, unreadable).
    pub line: usize,
    /// The column's header as written in the file, where one column is at fault.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column '{column}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why nothing was read: every problem found, in the order found, and how
/// many more there were past [`MAX_PROBLEMS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRefused {
    pub problems: Vec<ImportProblem>,
    pub not_shown: usize,
}

impl fmt::Display for ImportRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.problems.len() + self.not_shown;
        writeln!(f, "nothing was imported: {total} problem(s) found")?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        if self.not_shown > 0 {
            writeln!(f, "  … and {} more", self.not_shown)?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportRefused {}

/// Collects problems up to the limit and counts the rest.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: Vec<ImportProblem>,
    not_shown: usize,
}

impl Problems {
    pub(crate) fn add(
        &mut self,
        file: &str,
        line: usize,
        column: Option<&str>,
        message: impl Into<String>,
    ) {
        if self.found.len() >= MAX_PROBLEMS {
            self.not_shown += 1;
            return;
        }
        self.found.push(ImportProblem {
            file: file.to_string(),
            line,
            column: column.map(str::to_string),
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty() && self.not_shown == 0
    }

    /// The records, if nothing was wrong; otherwise every problem.
    pub(crate) fn finish<T>(self, records: T) -> Result<T, ImportRefused> {
        if self.is_empty() {
            Ok(records)
        } else {
            Err(ImportRefused {
                problems: self.found,
                not_shown: self.not_shown,
            })
        }
    }
}

/// A password as the old system kept it: a werkzeug hash, or (in the older
/// version) the password itself in plain text, which the importer must
/// hash before it is stored.
#[derive(Clone, PartialEq, Eq)]
pub enum LegacyPassword {
    /// `pbkdf2:sha256[:N]$salt$hex` or `scrypt:N:r:p$salt$hex`, verifiable
    /// by `domain::access::verify_werkzeug`.
    WerkzeugHash(String),
    PlainText(String),
}

impl LegacyPassword {
    pub(crate) fn from_stored(raw: &str) -> Option<Self> {
        let text = raw.trim();
        if text.is_empty() {
            None
        } else if crate::domain::access::is_werkzeug_hash(text) {
            Some(Self::WerkzeugHash(text.to_string()))
        } else {
            Some(Self::PlainText(text.to_string()))
        }
    }

    pub fn is_plain_text(&self) -> bool {
        matches!(self, Self::PlainText(_))
    }
}

/// Never prints the secret, so that a record can be logged or shown in a
/// failed assertion without leaking a customer's password.
impl fmt::Debug for LegacyPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WerkzeugHash(h) => {
                let method = h.split('$').next().unwrap_or("");
                write!(f, "WerkzeugHash({method}$…)")
            }
            Self::PlainText(_) => f.write_str("PlainText(…)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_past_the_limit_are_counted_not_listed() {
        let mut problems = Problems::default();
        for line in 1..=MAX_PROBLEMS + 5 {
            problems.add("dues.csv", line, Some("due"), "bad");
        }
        let refused = problems.finish(()).unwrap_err();
        assert_eq!(refused.problems.len(), MAX_PROBLEMS);
        assert_eq!(refused.not_shown, 5);
        assert!(refused.to_string().contains("… and 5 more"));
    }

    #[test]
    fn a_problem_names_its_file_line_and_column() {
        let p = ImportProblem {
            file: "customers.csv".into(),
            line: 4,
            column: Some("Due".into()),
            message: "is empty".into(),
        };
        assert_eq!(
            p.to_string(),
            "customers.csv, line 4, column 'Due': is empty"
        );
    }

    #[test]
    fn a_legacy_password_is_told_apart_and_never_printed() {
        let hash = LegacyPassword::from_stored("scrypt:32768:8:1$salt$abcdef").unwrap();
        assert!(!hash.is_plain_text());
        assert_eq!(format!("{hash:?}"), "WerkzeugHash(scrypt:32768:8:1$…)");
        let plain = LegacyPassword::from_stored(" Secret123 ").unwrap();
        assert!(plain.is_plain_text());
        assert_eq!(format!("{plain:?}"), "PlainText(…)");
        assert_eq!(LegacyPassword::from_stored("  "), None);
    }
}
