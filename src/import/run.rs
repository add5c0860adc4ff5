//! `duetrack import PATH`: decides what PATH is (a folder of the old
//! system, a folder written by `duetrack export`, or one customers CSV from
//! a spreadsheet), reads it whole, and only when every record reads cleanly
//! writes it in one transaction. Nothing is written when anything is wrong.

use super::ImportRefused;
use crate::config::Config;
use crate::startup::open_store;
use std::fmt;
use std::path::{Path, PathBuf};

/// What the person running the import asked for.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Queue an invitation email for every imported customer who has an
    /// email address and no password yet; without it no email goes out.
    pub invite: bool,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
}

/// What PATH turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A folder in the old Flask + CSV system's layout.
    Original,
    /// A folder written by `duetrack export` (it has a manifest.json).
    OwnExport,
    /// One customers CSV saved from a spreadsheet.
    Spreadsheet,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Original => "a folder of the old due tracker",
            Source::OwnExport => "a duetrack export",
            Source::Spreadsheet => "a spreadsheet of customers",
        })
    }
}

/// A finished (or, with `--dry-run`, checked) import.
#[derive(Debug, Clone)]
pub struct Imported {
    pub source: Source,
    /// What was written, by kind: ("customers", 120), ("payments", 40), …
    pub added: Vec<(&'static str, u64)>,
    /// What was already here from an earlier run of the same import and was
    /// left as it is, by kind.
    pub already_here: Vec<(&'static str, u64)>,
    /// Things a person should know: records passed over and why.
    pub notes: Vec<String>,
    pub dry_run: bool,
}

impl Imported {
    pub fn new(source: Source, dry_run: bool) -> Self {
        Self {
            source,
            added: Vec::new(),
            already_here: Vec::new(),
            notes: Vec::new(),
            dry_run,
        }
    }
}

impl fmt::Display for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[(&str, u64)]| {
            items
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let verb = if self.dry_run {
            "checked (dry run, nothing written)"
        } else {
            "imported"
        };
        if !self.dry_run && self.added.iter().all(|(_, n)| *n == 0) {
            writeln!(f, "nothing new to import from {}", self.source)?;
        } else {
            writeln!(f, "{verb} {}: {}", self.source, list(&self.added))?;
        }
        if self.already_here.iter().any(|(_, n)| *n > 0) {
            writeln!(
                f,
                "already here from an earlier import, left as they are: {}",
                list(&self.already_here)
            )?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input has problems; nothing was written (exit code 1).
    #[error("{0}")]
    Refused(#[from] ImportRefused),
    /// PATH is not something an import reads, or the options do not fit
    /// it (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The database's state forbids it (exit code 1).
    #[error("{0}")]
    Conflict(String),
    /// It was tried and failed; nothing was written (exit code 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl ImportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ImportError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Decides what `path` is.
pub fn source_of(path: &Path) -> Result<Source, ImportError> {
    if path.is_dir() {
        if path.join(crate::export::MANIFEST).is_file() {
            Ok(Source::OwnExport)
        } else {
            Ok(Source::Original)
        }
    } else if path.is_file() {
        Ok(Source::Spreadsheet)
    } else {
        Err(ImportError::Usage(format!(
            "{} does not exist: give a folder of the old due tracker (with customers.csv), a folder written by `duetrack export`, or one customers CSV file",
            path.display()
        )))
    }
}

/// Runs `duetrack import PATH`.
pub async fn import(
    config: &Config,
    path: &Path,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let source = source_of(path)?;
    let (store, live) = open_store(config).await?;
    let path: PathBuf = path.to_path_buf();
    let result = match source {
        Source::OwnExport => match super::own::import(&store, &live, &path, options).await {
            // The export's log arrives with its hashes, made under the
            // exporting installation's key: it is adopted whole here.
            Ok(done) if !done.dry_run && done.added.iter().any(|(_, n)| *n > 0) => {
                crate::startup::adopt_log(&store)
                    .await
                    .map_err(ImportError::from)?;
                Ok(done)
            }
            other => other,
        },
        Source::Original | Source::Spreadsheet => {
            super::shop::import(&store, &live, source, &path, options).await
        }
    };
    store.db.close().await;
    result
}
