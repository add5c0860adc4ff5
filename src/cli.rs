//! The command line: `duetrack serve | migrate | verify | backup | restore
//! | export | import | admin | remind`, with every setting also available as a flag.

use crate::config::RawSettings;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "duetrack",
    version,
    about = "A shop's credit book: customers, dues, payments and reminders"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: RawSettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (creates the database and the owner account when missing).
    Serve,
    /// Create or update the database schema (and the activity log's chain key on first run), then exit.
    Migrate {
        /// When the chain key is lost: make a new one and accept the log as it stands now (its earlier keyed hashes can no longer be checked).
        #[arg(long)]
        new_chain_key: bool,
    },
    /// Check every balance against its ledger, the ledger against the activity log, the log's keyed hash chain and its anchors.
    Verify,
    /// Write a consistent copy of the whole database to FILE while the server keeps running (SQLite: VACUUM INTO; PostgreSQL: pg_dump), then check the source like `verify`.
    Backup {
        /// The backup file to write; it must not exist yet.
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup made by `duetrack backup` into an empty database, then check it like `verify`. On SQLite, stop the server first.
    Restore {
        /// The backup file to restore.
        file: PathBuf,
        /// Restore even if the database holds customers, dues or payments, replacing all of it.
        #[arg(long)]
        force: bool,
    },
    /// Write every table as CSV files, with a manifest.json of row counts and SHA-256 sums, into DIR from one consistent snapshot while the server keeps running. Password hashes, sessions, tokens and idempotency records are left out.
    Export {
        /// The folder to write; it is created if missing and must be empty.
        dir: PathBuf,
        /// Write into DIR even if it is not empty, replacing the files of an earlier export.
        #[arg(long)]
        force: bool,
    },
    /// Bring data in: a folder of the old due tracker (its backend/data CSV files), a folder written by `duetrack export`, or one customers CSV from a spreadsheet. All or nothing: a file with problems is refused whole, naming each problem's file, line and column. Running the same import again adds nothing twice. No email is sent unless --invite is given.
    Import {
        /// The folder or CSV file to import.
        path: PathBuf,
        /// Queue an invitation email for each imported customer who has an email address and no password yet.
        #[arg(long)]
        invite: bool,
        /// Read and check everything; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage staff accounts from the server's console (for example when the owner's password is lost), or purge a deleted customer's personal data.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Run the daily reminders and digest now (safe while the server runs; a second run for a date sends nothing new).
    Remind {
        /// Print who would be reminded and why; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The day to run for, YYYY-MM-DD (default: today in DUETRACK_TIMEZONE).
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Set a new password for a staff account and end its sessions; without --password one is generated and printed once.
    ResetPassword {
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Create a staff account; without --password one is generated and printed once.
    CreateStaff {
        username: String,
        /// owner, admin or staff
        #[arg(long, default_value = "staff")]
        role: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Erase a deleted customer's personal data and login, keeping every amount of their ledger (logged as "console").
    Purge {
        /// The id of the deleted customer.
        customer_id: i64,
    },
}
