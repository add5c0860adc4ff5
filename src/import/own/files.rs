//! Reading the files of a `duetrack export` folder: the manifest, and each
//! CSV file row by row with every byte hashed on the way, its cells turned
//! back into the values the database held. Nothing here touches the
//! database.

use crate::domain::money::Currency;
use crate::export::{FORMAT, MANIFEST, VERSION};
use crate::import::Problems;
use crate::store::db::Arg;
use crate::store::export::{Kind, Table};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// What the manifest says of one file.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub rows: u64,
    pub sha256: String,
    pub columns: Vec<String>,
}

/// The manifest, as far as an import relies on it.
#[derive(Debug, Clone)]
pub(super) struct Manifest {
    pub currency: Currency,
    pub files: HashMap<String, Listed>,
}

/// Reads `manifest.json`, recording what is wrong with it. `None` when the
/// folder cannot be read as an export at all.
pub(super) fn read_manifest(dir: &Path, problems: &mut Problems) -> Option<Manifest> {
    let text = match std::fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(e) => {
            problems.add(MANIFEST, 0, None, format!("cannot be read: {e}"));
            return None;
        }
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(e) => {
            problems.add(MANIFEST, 0, None, format!("is not JSON: {e}"));
            return None;
        }
    };
    if json["format"] != FORMAT {
        problems.add(
            MANIFEST,
            0,
            Some("format"),
            format!(
                "is {}, not \"{FORMAT}\": this folder was not written by `duetrack export`",
                json["format"]
            ),
        );
        return None;
    }
    if json["version"].as_u64() != Some(u64::from(VERSION)) {
        problems.add(
            MANIFEST,
            0,
            Some("version"),
            format!(
                "is {}; this duetrack reads version {VERSION} exports",
                json["version"]
            ),
        );
        return None;
    }
    let code = json["currency"]["code"].as_str().unwrap_or_default();
    let currency = match Currency::parse(code) {
        Ok(c) => c,
        Err(e) => {
            problems.add(MANIFEST, 0, Some("currency"), e);
            return None;
        }
    };
    if json["currency"]["exponent"].as_u64() != Some(u64::from(currency.exponent())) {
        problems.add(
            MANIFEST,
            0,
            Some("currency"),
            format!(
                "gives {} decimals for {}, which has {}",
                json["currency"]["exponent"],
                currency.code(),
                currency.exponent()
            ),
        );
        return None;
    }
    let mut files = HashMap::new();
    for (i, file) in json["files"].as_array().into_iter().flatten().enumerate() {
        let name = file["name"].as_str();
        let rows = file["rows"].as_u64();
        let sha256 = file["sha256"].as_str();
        let columns: Option<Vec<String>> = file["columns"]
            .as_array()
            .and_then(|c| c.iter().map(|v| v.as_str().map(str::to_string)).collect());
        match (name, rows, sha256, columns) {
            (Some(name), Some(rows), Some(sha256), Some(columns)) => {
                files.insert(
                    name.to_string(),
                    Listed {
                        rows,
                        sha256: sha256.to_ascii_lowercase(),
                        columns,
                    },
                );
            }
            _ => problems.add(
                MANIFEST,
                0,
                Some("files"),
                format!("entry {} lacks its name, rows, sha256 or columns", i + 1),
            ),
        }
    }
    Some(Manifest { currency, files })
}

/// Undoes what `crate::edge::spreadsheet_cell` did to a text cell on the
/// way out: an apostrophe put before a leading `=`, `+`, `-`, `@`, tab or
/// carriage return, so that a spreadsheet shows the text instead of running
/// it. Any other apostrophe is the text's own and stays.
pub fn unescape_cell(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

/// The columns of each exported table that the database never leaves
/// empty. An empty cell in one of these is an empty text (or, for other
/// kinds, a problem); elsewhere an empty cell was NULL.
const REQUIRED: &[(&str, &[&str])] = &[
    (
        "staff",
        &["id", "username", "role", "created_at", "updated_at"],
    ),
    (
        "customers",
        &[
            "id",
            "username",
            "name",
            "status",
            "balance",
            "total_dues",
            "total_paid",
            "reminders_paused",
            "has_password",
            "version",
            "created_at",
            "updated_at",
        ],
    ),
    ("deleted_customers", &["id", "username", "name", "balance"]),
    (
        "dues",
        &[
            "id",
            "customer_id",
            "amount",
            "paid",
            "issue_date",
            "status",
            "balance_after",
            "created_by",
            "created_at",
        ],
    ),
    (
        "payments",
        &[
            "id",
            "customer_id",
            "amount",
            "unallocated",
            "method",
            "paid_on",
            "is_advance",
            "status",
            "balance_after",
            "recorded_by",
            "created_at",
        ],
    ),
    ("allocations", &["payment_id", "due_id", "amount"]),
    (
        "activity",
        &[
            "seq",
            "at",
            "actor",
            "action",
            "entity_type",
            "entity_id",
            "prev_hash",
            "hash",
        ],
    ),
    (
        "signins",
        &[
            "id", "at", "kind", "username", "success", "reason", "address",
        ],
    ),
    (
        "emails",
        &[
            "id",
            "kind",
            "recipient",
            "subject",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ],
    ),
    ("reminders", &["customer_id", "day", "reason", "created_at"]),
    ("settings", &["key", "value", "updated_at", "updated_by"]),
];

fn required(table: &str, column: &str) -> bool {
    REQUIRED
        .iter()
        .any(|(t, columns)| *t == table && columns.contains(&column))
}

/// Turns one cell back into the value the database held, or says why it
/// cannot be one.
pub(super) fn parse_cell(
    table: &Table,
    column: &str,
    kind: Kind,
    cell: &str,
    currency: Currency,
) -> Result<Arg, String> {
    if cell.is_empty() {
        return match (kind, required(table.name, column)) {
            (Kind::Text, true) => Ok(Arg::Text(Some(String::new()))),
            (Kind::Text | Kind::Date | Kind::Time, false) => Ok(Arg::Text(None)),
            (Kind::Int | Kind::Money | Kind::Flag, false) => Ok(Arg::Int(None)),
            (_, true) => Err("must not be empty".into()),
        };
    }
    match kind {
        Kind::Int => cell
            .parse::<i64>()
            .map(Arg::from)
            .map_err(|_| format!("'{cell}' is not a whole number")),
        Kind::Money => {
            // Written with exactly the currency's decimals; anything else
            // was not written by `duetrack export`.
            let decimals = cell.split_once('.').map_or(0, |(_, f)| f.len());
            if decimals != currency.exponent() as usize {
                return Err(format!(
                    "'{cell}' is not an amount with {} decimals",
                    currency.exponent()
                ));
            }
            currency
                .parse_amount(cell)
                .map(Arg::from)
                .map_err(|e| format!("'{cell}' is not an amount: {e}"))
        }
        Kind::Text => Ok(Arg::from(unescape_cell(cell))),
        Kind::Date => chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d")
            .map(|_| Arg::from(cell))
            .map_err(|_| format!("'{cell}' is not a date (YYYY-MM-DD)")),
        Kind::Time => chrono::DateTime::parse_from_rfc3339(cell)
            .map(|_| Arg::from(cell))
            .map_err(|_| format!("'{cell}' is not a moment in RFC 3339")),
        Kind::Flag => match cell {
            "true" => Ok(Arg::from(1)),
            "false" => Ok(Arg::from(0)),
            _ => Err(format!("'{cell}' is not true or false")),
        },
    }
}

/// One export file opened for reading row by row; every byte read passes
/// through a SHA-256, so that after the last row the file's checksum is
/// known without reading it twice.
pub(super) struct ExportFile {
    reader: csv::Reader<Hashing<BufReader<File>>>,
}

/// A row: the line it starts on (the header is line 1) and its cells.
pub(super) struct Record {
    pub line: usize,
    pub cells: csv::StringRecord,
}

impl ExportFile {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Hashing::new(BufReader::new(file)));
        Ok(Self { reader })
    }

    /// The next row, `Ok(None)` at the end. A row that cannot be read as CSV
    /// (bad quoting, not UTF-8) is an error naming its line.
    pub fn next(&mut self) -> Result<Option<Record>, (usize, String)> {
        let mut cells = csv::StringRecord::new();
        match self.reader.read_record(&mut cells) {
            Ok(true) => Ok(Some(Record {
                line: cells.position().map_or(0, |p| p.line() as usize),
                cells,
            })),
            Ok(false) => Ok(None),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                Err((line, format!("cannot be read as CSV: {e}")))
            }
        }
    }

    /// Reads whatever is left and returns the file's SHA-256 in hex.
    pub fn finish(self) -> io::Result<String> {
        let mut rest = self.reader.into_inner();
        io::copy(&mut rest, &mut io::sink())?;
        Ok(hex::encode(rest.hasher.finalize()))
    }
}

/// Passes bytes on from a reader while hashing them.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::spreadsheet_cell;
    use crate::store::export::TABLES;

    #[test]
    fn an_apostrophe_added_on_export_is_taken_off() {
        for text in [
            "=HYPERLINK(\"http://evil\",\"x\")",
            "+1",
            "-rice and dal",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'=already quoted",
        ] {
            let exported = spreadsheet_cell(text);
            if text.starts_with('\'') {
                // Nothing was added, yet the cell reads like an escaped one:
                // the one case the export cannot tell apart.
                assert_eq!(unescape_cell(&exported), "=already quoted");
            } else {
                assert_eq!(unescape_cell(&exported), text, "{text:?}");
            }
        }
    }

    #[test]
    fn an_apostrophe_of_the_text_itself_stays() {
        for text in [
            "'tis the season",
            "'",
            "''",
            "O'Brien",
            "Asha Rao",
            "",
            "'x=1",
        ] {
            assert_eq!(unescape_cell(&spreadsheet_cell(text)), text, "{text:?}");
        }
        // Only one apostrophe comes off.
        assert_eq!(unescape_cell("''=x"), "''=x");
        assert_eq!(unescape_cell("'''=x"), "'''=x");
    }

    fn table(name: &str) -> &'static Table {
        TABLES.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn cells_read_back_by_their_kind() {
        let inr = Currency::parse("INR").unwrap();
        let dues = table("dues");
        let cell = |column: &str, kind, text: &str| parse_cell(dues, column, kind, text, inr);
        assert!(matches!(
            cell("amount", Kind::Money, "1250.50"),
            Ok(Arg::Int(Some(125050)))
        ));
        assert!(matches!(
            cell("balance_after", Kind::Money, "-50.00"),
            Ok(Arg::Int(Some(-5000)))
        ));
        assert!(cell("amount", Kind::Money, "1250.5").is_err());
        assert!(cell("amount", Kind::Money, "").is_err());
        assert!(matches!(
            cell("due_date", Kind::Date, ""),
            Ok(Arg::Text(None))
        ));
        assert!(cell("due_date", Kind::Date, "2026-02-30").is_err());
        assert!(matches!(
            cell("description", Kind::Text, "'-rice"),
            Ok(Arg::Text(Some(t))) if t == "-rice"
        ));
        assert!(matches!(
            cell("description", Kind::Text, ""),
            Ok(Arg::Text(None))
        ));
        assert!(matches!(
            cell("created_by", Kind::Text, ""),
            Ok(Arg::Text(Some(t))) if t.is_empty()
        ));
        assert!(cell("created_at", Kind::Time, "yesterday").is_err());
        assert!(cell("created_at", Kind::Time, "2026-03-01T10:00:00.000000Z").is_ok());
        assert!(cell("id", Kind::Int, "1.5").is_err());
        let payments = table("payments");
        assert!(matches!(
            parse_cell(payments, "is_advance", Kind::Flag, "true", inr),
            Ok(Arg::Int(Some(1)))
        ));
        assert!(parse_cell(payments, "is_advance", Kind::Flag, "yes", inr).is_err());
    }

    #[test]
    fn every_required_column_is_exported() {
        for (name, columns) in REQUIRED {
            let t = table(name);
            for column in *columns {
                assert!(
                    t.columns.iter().any(|c| c.name == *column),
                    "{name}.{column}"
                );
            }
        }
    }
}
