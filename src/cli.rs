//! The command line: `duetrack serve | migrate | verify`, with every
//! setting also available as a flag.

use crate::config::RawSettings;
use clap::{Parser, Subcommand};

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
    /// Create or update the database schema, then exit.
    Migrate,
    /// Check that every balance equals its ledger, allocations add up and the activity log's hash chain is intact.
    Verify,
}
