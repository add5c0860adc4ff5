//! Importing a folder written by `duetrack export` into an empty database,
//! such as when moving a shop from SQLite to PostgreSQL or to a new machine.
//! Two passes over the files: the first checks everything (checksums, row
//! counts, headers, every cell, the activity log's hash chain) and writes
//! nothing when anything is wrong; the second writes the rows in one
//! transaction, a few hundred per statement, with their ids and activity
//! hashes unchanged, so that `duetrack verify` finds the same ledger and an
//! unbroken log. Neither pass holds more than one batch of rows in memory.

mod files;

pub use files::unescape_cell;

use super::Problems;
use super::run::{ImportError, ImportOptions, Imported, Source};
use crate::config::LiveConfig;
use crate::domain::fields::{CustomerName, Email, Phone, search_terms};
use crate::domain::money::Currency;
use crate::export::{MANIFEST, file_name};
use crate::store::Store;
use crate::store::activity::entry_hash;
use crate::store::db::Arg;
use crate::store::export::{TABLES, Table};
use crate::store::import_own::{Holding, ImportTx, Rows};
use files::{ExportFile, Manifest, parse_cell, read_manifest};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::Path;

/// How many rows are gathered before they are written.
const BATCH: usize = 500;

/// The hash an empty activity log's head holds.
const NO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The password hash given to staff accounts that arrive from an export,
/// which carries no password hashes: it is no valid hash, so no password
/// matches it until `duetrack admin reset-password` sets one.
const NO_PASSWORD: &str = "!";

/// What the first pass learnt that the second pass and the decision
/// between "write", "already here" and "refuse" need.
#[derive(Debug, Default)]
struct Facts {
    /// Rows per file, as read (and as the manifest says, once checked).
    rows: HashMap<&'static str, u64>,
    /// The newest activity entry's sequence number and hash.
    head: Option<(i64, String)>,
    /// The currency the export's saved settings choose, if any.
    saved_currency: Option<String>,
    /// The highest sign-in id in the export.
    last_signin: i64,
}

/// Runs `duetrack import DIR` for an export folder: checks every file,
/// then writes everything in one transaction, or says why not. A database
/// that already holds this very export (its activity head is the export's
/// newest entry) gets nothing added, so running it twice is harmless.
pub async fn import(
    store: &Store,
    live: &LiveConfig,
    dir: &Path,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    if options.invite {
        return Err(ImportError::Usage(
            "--invite is for customers new to duetrack; an export's customers were invited where they were exported from".into(),
        ));
    }
    let (manifest, facts) = check(dir, live.get().currency)?;
    let mut done = Imported::new(Source::OwnExport, options.dry_run);
    if options.dry_run {
        let holding = store.import_holding().await.map_err(failed)?;
        if let Some(outcome) = decide(&holding, &facts, done.clone()) {
            return outcome;
        }
        done.added = counted(&facts);
        return Ok(done);
    }
    let mut tx = store.begin_import().await.map_err(failed)?;
    let holding = tx.holding().await.map_err(failed)?;
    if let Some(outcome) = decide(&holding, &facts, done.clone()) {
        return outcome;
    }
    if holding.activity > 0 {
        let replaced = tx.clear_own_log().await.map_err(failed)?;
        done.notes.push(format!(
            "this database's own {replaced} activity entr{} (setting up its staff accounts) gave way to the export's log",
            if replaced == 1 { "y" } else { "ies" }
        ));
    }
    write(&mut tx, dir, &manifest, &facts, &mut done).await?;
    let (seq, hash) = facts.head.clone().unwrap_or((0, NO_HASH.to_string()));
    tx.finish(seq, &hash).await.map_err(failed)?;
    Ok(done)
}

fn failed(e: impl Into<anyhow::Error>) -> ImportError {
    ImportError::Failed(e.into())
}

/// The word a summary uses for a table's rows.
fn kind(table: &Table) -> &'static str {
    match table.name {
        "activity" => "activity entries",
        "signins" => "sign-ins",
        other => other,
    }
}

/// The tables an import writes: all but the files that repeat rows of another.
fn written_tables() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| !t.is_view())
}

fn counted(facts: &Facts) -> Vec<(&'static str, u64)> {
    written_tables()
        .map(|t| (kind(t), facts.rows.get(t.name).copied().unwrap_or(0)))
        .collect()
}

/// Whether the database's state settles the import before any writing:
/// `None` when it is empty and the rows may go in; otherwise the same
/// export already imported (nothing to add), or other data (refused).
fn decide(
    holding: &Holding,
    facts: &Facts,
    mut done: Imported,
) -> Option<Result<Imported, ImportError>> {
    if holding.is_empty() {
        return None;
    }
    let last = facts.head.as_ref().map_or(NO_HASH, |(_, h)| h.as_str());
    if holding.head_hash == last {
        done.already_here = counted(facts);
        done.added = written_tables().map(|t| (kind(t), 0)).collect();
        return Some(Ok(done));
    }
    Some(Err(ImportError::Conflict(format!(
        "the database already holds data ({} customers, {} dues, {} payments, {} emails, {} activity entries) that is not this export's; import a duetrack export into an empty database",
        holding.customers, holding.dues, holding.payments, holding.emails, holding.activity
    ))))
}

/// The first pass: reads the manifest and every file, and returns what the
/// second pass needs, or every problem found.
fn check(dir: &Path, configured: Currency) -> Result<(Manifest, Facts), ImportError> {
    let mut problems = Problems::default();
    let Some(manifest) = read_manifest(dir, &mut problems) else {
        return Err(problems.finish(()).unwrap_err().into());
    };
    let mut facts = Facts::default();
    let known: Vec<String> = TABLES.iter().map(file_name).collect();
    let mut unknown: Vec<&String> = manifest
        .files
        .keys()
        .filter(|name| !known.contains(name))
        .collect();
    unknown.sort();
    for name in unknown {
        problems.add(
            MANIFEST,
            0,
            Some("files"),
            format!("lists {name}, which a version 1 export does not have"),
        );
    }
    let total = manifest.files.values().map(|f| f.rows).sum();
    let bar = progress(total, "checking");
    for table in TABLES {
        check_file(dir, table, &manifest, &mut facts, &mut problems, &bar);
    }
    bar.finish_and_clear();
    let effective = facts
        .saved_currency
        .clone()
        .unwrap_or_else(|| configured.code());
    if !effective.eq_ignore_ascii_case(&manifest.currency.code()) {
        problems.add(
            MANIFEST,
            0,
            Some("currency"),
            format!(
                "the export's amounts are in {} but this duetrack keeps them in {effective}; set DUETRACK_CURRENCY={} before importing",
                manifest.currency.code(),
                manifest.currency.code()
            ),
        );
    }
    problems.finish((manifest, facts)).map_err(Into::into)
}

/// A progress bar on stderr; it draws nothing when stderr is not a terminal.
fn progress(total: u64, doing: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} rows") {
        bar.set_style(style);
    }
    bar.set_message(doing);
    bar
}

/// Checks one file against the manifest and its table, row by row.
fn check_file(
    dir: &Path,
    table: &'static Table,
    manifest: &Manifest,
    facts: &mut Facts,
    problems: &mut Problems,
    bar: &ProgressBar,
) {
    let name = file_name(table);
    let Some(listed) = manifest.files.get(&name) else {
        problems.add(MANIFEST, 0, Some("files"), format!("does not list {name}"));
        return;
    };
    let expected: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    if listed.columns != expected {
        problems.add(
            MANIFEST,
            0,
            Some("files"),
            format!(
                "gives {name} the columns {}, not {}",
                listed.columns.join(","),
                expected.join(",")
            ),
        );
        return;
    }
    let mut file = match ExportFile::open(&dir.join(&name)) {
        Ok(f) => f,
        Err(e) => {
            problems.add(&name, 0, None, format!("cannot be read: {e}"));
            return;
        }
    };
    let mut chain = Chain::default();
    let mut rows = 0u64;
    let mut header_seen = false;
    loop {
        let record = match file.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err((line, message)) => {
                problems.add(&name, line, None, message);
                continue;
            }
        };
        if !header_seen {
            header_seen = true;
            if record.cells.iter().ne(expected.iter().copied()) {
                problems.add(
                    &name,
                    record.line,
                    None,
                    format!(
                        "the header is {}, not the manifest's {}",
                        record.cells.iter().collect::<Vec<_>>().join(","),
                        expected.join(",")
                    ),
                );
                return;
            }
            continue;
        }
        rows += 1;
        bar.inc(1);
        let Some(values) = row_values(table, &record, manifest.currency, &name, problems) else {
            continue;
        };
        match table.name {
            "activity" => chain.follow(&values, &name, record.line, problems),
            "signins" => {
                if let Arg::Int(Some(id)) = values[0] {
                    facts.last_signin = facts.last_signin.max(id);
                }
            }
            "settings" => {
                if let (Arg::Text(Some(key)), Arg::Text(Some(value))) = (&values[0], &values[1])
                    && key == "currency"
                {
                    facts.saved_currency = Some(value.clone());
                }
            }
            _ => {}
        }
    }
    if !header_seen {
        problems.add(&name, 0, None, "is empty: it has no header");
    }
    match file.finish() {
        Ok(sha256) if sha256 != listed.sha256 => problems.add(
            &name,
            0,
            None,
            "its SHA-256 checksum does not match the manifest's: the file was changed after the export",
        ),
        Ok(_) => {}
        Err(e) => problems.add(&name, 0, None, format!("cannot be read: {e}")),
    }
    if rows != listed.rows {
        problems.add(
            &name,
            0,
            None,
            format!("has {rows} rows but the manifest says {}", listed.rows),
        );
    }
    if table.name == "activity" {
        facts.head = chain.head();
    }
    facts.rows.insert(table.name, rows);
}

/// A row's cells as the database held them, or `None` after recording why not.
fn row_values(
    table: &Table,
    record: &files::Record,
    currency: Currency,
    file: &str,
    problems: &mut Problems,
) -> Option<Vec<Arg>> {
    if record.cells.len() != table.columns.len() {
        problems.add(
            file,
            record.line,
            None,
            format!(
                "has {} cells, not {}",
                record.cells.len(),
                table.columns.len()
            ),
        );
        return None;
    }
    let mut values = Vec::with_capacity(table.columns.len());
    let mut ok = true;
    for (column, cell) in table.columns.iter().zip(record.cells.iter()) {
        match parse_cell(table, column.name, column.kind, cell, currency) {
            Ok(v) => values.push(v),
            Err(message) => {
                problems.add(file, record.line, Some(column.name), message);
                ok = false;
            }
        }
    }
    ok.then_some(values)
}

/// Follows the activity log's hash chain through the file: each entry
/// numbered one past the last, linked to its hash, and hashing to what it
/// says. A broken chain would only be found by `duetrack verify` after
/// the import; here it is found before anything is written.
#[derive(Default)]
struct Chain {
    last: Option<(i64, String)>,
}

impl Chain {
    fn follow(&mut self, values: &[Arg], file: &str, line: usize, problems: &mut Problems) {
        let text = |i: usize| match &values[i] {
            Arg::Text(t) => t.clone(),
            Arg::Int(_) => None,
        };
        let Arg::Int(Some(seq)) = values[0] else {
            return;
        };
        let field = |i| text(i).unwrap_or_default();
        let (expected_seq, expected_prev) = match &self.last {
            Some((s, h)) => (s + 1, h.clone()),
            None => (1, NO_HASH.to_string()),
        };
        if seq != expected_seq {
            problems.add(
                file,
                line,
                Some("seq"),
                format!("is {seq} where entry {expected_seq} should be"),
            );
        }
        let prev = field(8);
        if prev != expected_prev {
            problems.add(
                file,
                line,
                Some("prev_hash"),
                "does not match the hash of the entry before",
            );
        }
        let hash = field(9);
        let recomputed = entry_hash(
            seq,
            &field(1),
            &field(2),
            &field(3),
            &field(4),
            &field(5),
            text(6).as_deref(),
            text(7).as_deref(),
            &prev,
        );
        // A keyed hash was made under the exporting installation's chain
        // key, which an export does not carry: only its link is checked
        // here, and the log is adopted whole under this installation's key.
        if !crate::chain::is_keyed(&hash) && recomputed != hash {
            problems.add(
                file,
                line,
                Some("hash"),
                "does not match the entry's content (the entry was changed)",
            );
        }
        self.last = Some((seq, hash));
    }

    fn head(self) -> Option<(i64, String)> {
        self.last
    }
}

/// The second pass: reads every file again and writes its rows. The files
/// were checked, so a problem now means they changed in between, and the
/// transaction is given up.
async fn write(
    tx: &mut ImportTx,
    dir: &Path,
    manifest: &Manifest,
    facts: &Facts,
    done: &mut Imported,
) -> Result<(), ImportError> {
    let total = written_tables()
        .map(|t| facts.rows.get(t.name).copied().unwrap_or(0))
        .sum();
    let bar = progress(total, "importing");
    let staff_here = tx.staff_here().await.map_err(failed)?;
    let mut writer = Writer {
        tx,
        staff_here,
        kept_staff: Vec::new(),
        new_staff: Vec::new(),
        had_password: 0,
        unsent: 0,
    };
    for table in written_tables() {
        if table.name == "signins" && facts.last_signin > 0 {
            writer
                .tx
                .make_room_in_signins(facts.last_signin)
                .await
                .map_err(failed)?;
        }
        let name = file_name(table);
        let listed = &manifest.files[&name];
        let mut file = ExportFile::open(&dir.join(&name))
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let changed =
            || anyhow::anyhow!("{name} changed while it was imported; nothing was written");
        let mut batch = Vec::with_capacity(BATCH);
        let mut added = 0;
        let mut header = true;
        while let Some(record) = file.next().map_err(|_| changed())? {
            if std::mem::take(&mut header) {
                continue;
            }
            let mut scratch = Problems::default();
            let values = row_values(table, &record, manifest.currency, &name, &mut scratch)
                .ok_or_else(changed)?;
            batch.push(values);
            if batch.len() == BATCH {
                added += writer.put(table, std::mem::take(&mut batch)).await?;
                bar.inc(BATCH as u64);
            }
        }
        bar.inc(batch.len() as u64);
        added += writer.put(table, batch).await?;
        if file.finish().map_err(failed)? != listed.sha256 {
            return Err(changed().into());
        }
        done.added.push((kind(table), added));
    }
    bar.finish_and_clear();
    let Writer {
        kept_staff,
        new_staff,
        had_password,
        unsent,
        ..
    } = writer;
    if !kept_staff.is_empty() {
        done.notes.push(format!(
            "staff already here kept their own password and role: {}",
            kept_staff.join(", ")
        ));
    }
    if !new_staff.is_empty() {
        done.notes.push(format!(
            "an export carries no passwords: give each new staff account one with `duetrack admin reset-password USER` ({})",
            new_staff.join(", ")
        ));
    }
    if had_password > 0 {
        done.notes.push(format!(
            "{had_password} customer(s) had set a portal password, which an export does not carry; they need a password reset to sign in"
        ));
    }
    if unsent > 0 {
        done.notes.push(format!(
            "{unsent} email(s) still waiting to be sent were marked failed: an export does not carry their text"
        ));
    }
    if facts.rows.get("settings").copied().unwrap_or(0) > 0 {
        done.notes.push(
            "the export's shop settings replace this database's; a running server takes them up when it restarts".into(),
        );
    }
    Ok(())
}

/// Inserts rows into one database table.
async fn insert(
    tx: &mut ImportTx,
    table: &'static str,
    columns: Vec<&str>,
    rows: Vec<Vec<Arg>>,
) -> Result<u64, ImportError> {
    tx.insert(Rows {
        table,
        columns: &columns,
        rows: &rows,
    })
    .await
    .map_err(failed)
}

/// Turns checked rows into the rows of the database's tables and writes them.
struct Writer<'t> {
    tx: &'t mut ImportTx,
    staff_here: HashMap<String, crate::store::import_own::StaffHere>,
    kept_staff: Vec<String>,
    new_staff: Vec<String>,
    had_password: u64,
    unsent: u64,
}

/// The position of `column` among a table's exported columns.
fn at(table: &Table, column: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| c.name == column)
        .unwrap_or_else(|| panic!("{}.{column} is exported", table.name))
}

fn text_of(value: &Arg) -> Option<&str> {
    match value {
        Arg::Text(t) => t.as_deref(),
        Arg::Int(_) => None,
    }
}

impl Writer<'_> {
    /// Writes one batch of `table`'s rows; returns how many were added.
    async fn put(&mut self, table: &Table, rows: Vec<Vec<Arg>>) -> Result<u64, ImportError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        match table.name {
            "staff" => self.put_staff(table, rows).await,
            "customers" => {
                let password = at(table, "has_password");
                let (name, email, phone, id) = (
                    at(table, "name"),
                    at(table, "email"),
                    at(table, "phone"),
                    at(table, "id"),
                );
                let mut terms = Vec::new();
                let mut out = Vec::with_capacity(rows.len());
                for mut row in rows {
                    if matches!(row[password], Arg::Int(Some(1))) {
                        self.had_password += 1;
                    }
                    let raw_name = text_of(&row[name]).unwrap_or_default().to_string();
                    let parsed = CustomerName::parse(&raw_name).ok();
                    let key = parsed
                        .as_ref()
                        .map_or_else(|| raw_name.to_lowercase(), CustomerName::sort_key);
                    if let (Some(parsed), Arg::Int(Some(id))) = (&parsed, &row[id]) {
                        // As the customer's own edits index them.
                        let email = text_of(&row[email]).and_then(|e| Email::parse(e).ok());
                        let phone = text_of(&row[phone]).and_then(|p| Phone::parse(p).ok());
                        for term in search_terms(parsed, email.as_ref(), phone.as_ref()) {
                            terms.push(vec![Arg::from(term), Arg::from(*id)]);
                        }
                    }
                    row.remove(password);
                    row.push(Arg::from(key));
                    out.push(row);
                }
                let mut columns = columns;
                columns.remove(password);
                columns.push("name_key");
                let added = insert(self.tx, "customers", columns, out).await?;
                insert(
                    self.tx,
                    "customer_search_terms",
                    vec!["term", "customer_id"],
                    terms,
                )
                .await?;
                Ok(added)
            }
            "emails" => {
                let (status, error, id) = (
                    at(table, "status"),
                    at(table, "last_error"),
                    at(table, "id"),
                );
                let mut out = Vec::with_capacity(rows.len());
                for mut row in rows {
                    if matches!(text_of(&row[status]), Some("queued" | "sending")) {
                        // Sending it would send an empty message.
                        self.unsent += 1;
                        row[status] = Arg::from("failed");
                        row[error] = Arg::from(
                            "imported from a duetrack export before it was sent; its text was not exported",
                        );
                    }
                    let dedupe = match &row[id] {
                        Arg::Int(Some(id)) => format!("imported:{id}"),
                        _ => unreachable!("an email's id is never empty"),
                    };
                    row.extend([Arg::from(dedupe), Arg::from(""), Arg::from("")]);
                    out.push(row);
                }
                let mut columns = columns;
                columns.extend(["dedupe_key", "body_text", "body_html"]);
                insert(self.tx, "emails", columns, out).await
            }
            "settings" => self.tx.upsert_settings(&rows).await.map_err(failed),
            _ => insert(self.tx, table.source(), columns, rows).await,
        }
    }

    /// Staff are matched by user name: one already here stays as it is
    /// (its password too); a new one comes in with its exported id where
    /// that id is free, and with no usable password.
    async fn put_staff(&mut self, table: &Table, rows: Vec<Vec<Arg>>) -> Result<u64, ImportError> {
        let (id, username) = (at(table, "id"), at(table, "username"));
        let taken: Vec<i64> = self.staff_here.values().map(|s| s.id).collect();
        let mut with_id = Vec::new();
        let mut without_id = Vec::new();
        for mut row in rows {
            let name = text_of(&row[username]).unwrap_or_default().to_string();
            if let Some(here) = self.staff_here.get(&name.to_lowercase()) {
                self.kept_staff.push(here.username.clone());
                continue;
            }
            self.new_staff.push(name);
            row.push(Arg::from(NO_PASSWORD));
            if matches!(row[id], Arg::Int(Some(n)) if taken.contains(&n)) {
                row.remove(id);
                without_id.push(row);
            } else {
                with_id.push(row);
            }
        }
        let mut columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        columns.push("password_hash");
        let mut added = self
            .tx
            .insert(Rows {
                table: "staff_users",
                columns: &columns,
                rows: &with_id,
            })
            .await
            .map_err(failed)?;
        columns.remove(id);
        added += self
            .tx
            .insert(Rows {
                table: "staff_users",
                columns: &columns,
                rows: &without_id,
            })
            .await
            .map_err(failed)?;
        Ok(added)
    }
}
