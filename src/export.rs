//! `duetrack export DIR`: the whole ledger as CSV files a person can open in
//! a spreadsheet, plus a `manifest.json` that says what each file holds
//! (rows and SHA-256), so that an import can recognise and check the layout.
//! Rows come from one consistent snapshot while the server keeps running,
//! and each file is written as its rows are read. Every file is written
//! under a temporary name and renamed at the end, the manifest last: a
//! folder with a manifest is a complete export.

use crate::config::Config;
use crate::domain::money::Currency;
use crate::edge::spreadsheet_cell;
use crate::startup::open_store;
use crate::store::db::Backend;
use crate::store::export::{Cell, TABLES, Table};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The name an import looks for, and the layout's version.
pub const FORMAT: &str = "duetrack-export";
pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

/// Why an export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The command line is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The state of things forbids it, such as a folder in use (exit code 1).
    #[error("{0}")]
    Refused(String),
    /// It was tried and failed (exit code 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl ExportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ExportError::Usage(_) => 2,
            ExportError::Refused(_) | ExportError::Failed(_) => 1,
        }
    }
}

/// A finished export.
#[derive(Debug)]
pub struct Exported {
    pub dir: PathBuf,
    /// The CSV files written, with their row counts.
    pub files: Vec<(String, u64)>,
}

impl Exported {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|(_, n)| n).sum()
    }
}

/// One CSV file, written and hashed, still under its temporary name.
struct Written {
    table: &'static Table,
    temp: Temp,
    rows: u64,
    bytes: u64,
    sha256: String,
}

/// Exports the configured database into `dir`, which must be empty or
/// missing unless `force`.
pub async fn export(config: &Config, dir: &Path, force: bool) -> Result<Exported, ExportError> {
    prepare(dir, force)?;
    let (store, live) = open_store(config).await?;
    let currency = live.get().currency;
    let result = async {
        // The log goes out whole and chained: what waits for the sealer
        // (PostgreSQL) is sealed first.
        store
            .seal_all(crate::store::seal::GAP_GRACE + std::time::Duration::from_secs(2))
            .await
            .map_err(anyhow::Error::from)?;
        let mut snapshot = store.export_snapshot().await.map_err(anyhow::Error::from)?;
        let exported_at = crate::store::now_text();
        let backend = snapshot.backend();
        let mut written = Vec::new();
        for table in TABLES {
            let temp = Temp::beside(&dir.join(file_name(table)));
            let file = File::create(temp.path())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", temp.path().display()))?;
            let mut csv = csv::Writer::from_writer(Hashing::new(BufWriter::new(file)));
            csv.write_record(table.columns.iter().map(|c| c.name))
                .map_err(anyhow::Error::from)?;
            let rows = snapshot
                .each_row(table, |cells| -> anyhow::Result<()> {
                    csv.write_record(cells.into_iter().map(|c| render(c, currency)))?;
                    Ok(())
                })
                .await?;
            let hashing = csv
                .into_inner()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file_name(table)))?;
            let (file, bytes, sha256) = hashing.finish()?;
            file.sync_all()?;
            written.push(Written {
                table,
                temp,
                rows,
                bytes,
                sha256,
            });
        }
        drop(snapshot);
        anyhow::Ok((written, exported_at, backend))
    }
    .await;
    store.db.close().await;
    let (written, exported_at, backend) = result?;
    let manifest = manifest(&written, &exported_at, backend, currency);
    put_in_place(dir, written, &manifest)
}

/// A table's file: `customers.csv` for the table named `customers`.
pub fn file_name(table: &Table) -> String {
    format!("{}.csv", table.name)
}

/// Checks `dir` and creates it when missing.
fn prepare(dir: &Path, force: bool) -> Result<(), ExportError> {
    if dir.as_os_str().is_empty() {
        return Err(ExportError::Usage(
            "name the folder to export into, such as /backups/duetrack-export".into(),
        ));
    }
    if dir.exists() {
        if !dir.is_dir() {
            return Err(ExportError::Usage(format!(
                "{} is a file, not a folder; name a new or empty folder",
                dir.display()
            )));
        }
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot read the folder {}: {e}", dir.display()))?;
        if entries.next().is_some() && !force {
            return Err(ExportError::Refused(format!(
                "{} is not empty; choose a new or empty folder, or add --force to write over the files of an earlier export",
                dir.display()
            )));
        }
    } else {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create the folder {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// A cell as text: amounts in major units with the currency's decimals,
/// dates and times as stored, and text a spreadsheet could run neutralised.
fn render(cell: Cell, currency: Currency) -> String {
    match cell {
        Cell::Int(v) => v.map(|v| v.to_string()).unwrap_or_default(),
        Cell::Money(v) => v.map(|m| currency.format(m)).unwrap_or_default(),
        Cell::Text(v) => v
            .map(|t| spreadsheet_cell(&t).into_owned())
            .unwrap_or_default(),
        Cell::Date(v) | Cell::Time(v) => v.unwrap_or_default(),
        Cell::Flag(v) => v.map(|b| b.to_string()).unwrap_or_default(),
    }
}

fn manifest(
    written: &[Written],
    exported_at: &str,
    backend: Backend,
    currency: Currency,
) -> serde_json::Value {
    let files: Vec<_> = written
        .iter()
        .map(|w| {
            serde_json::json!({
                "name": file_name(w.table),
                "rows": w.rows,
                "bytes": w.bytes,
                "sha256": w.sha256,
                "columns": w.table.columns.iter().map(|c| c.name).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": exported_at,
        "backend": match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        "currency": {"code": currency.code(), "exponent": currency.exponent()},
        "files": files,
    })
}

/// Renames the files into place and writes the manifest last. An earlier
/// export's manifest goes first, so that a folder never pairs one export's
/// manifest with another's files.
fn put_in_place(
    dir: &Path,
    written: Vec<Written>,
    manifest: &serde_json::Value,
) -> Result<Exported, ExportError> {
    let manifest_path = dir.join(MANIFEST);
    let manifest_temp = Temp::beside(&manifest_path);
    let text = serde_json::to_string_pretty(manifest).map_err(anyhow::Error::from)?;
    File::create(manifest_temp.path())
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        })
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", manifest_path.display()))?;
    match std::fs::remove_file(&manifest_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(anyhow::anyhow!("cannot remove {}: {e}", manifest_path.display()).into());
        }
        _ => {}
    }
    let mut files = Vec::new();
    for w in written {
        let name = file_name(w.table);
        w.temp.rename_to(&dir.join(&name))?;
        files.push((name, w.rows));
    }
    manifest_temp.rename_to(&manifest_path)?;
    // Not every file system lets a folder be synced; the renames stand.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(Exported {
        dir: dir.to_path_buf(),
        files,
    })
}

/// A file under a temporary name beside its final one (`.NAME.partial-PID`),
/// removed unless it is renamed into place.
struct Temp {
    path: PathBuf,
    kept: bool,
}

impl Temp {
    fn beside(target: &Path) -> Self {
        let name = target.file_name().unwrap_or_default();
        let mut temp = std::ffi::OsString::from(".");
        temp.push(name);
        temp.push(format!(".partial-{}", std::process::id()));
        Temp {
            path: target.with_file_name(temp),
            kept: false,
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn rename_to(mut self, target: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, target)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Passes bytes on to a file while counting and hashing them.
struct Hashing {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl Hashing {
    fn new(inner: BufWriter<File>) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes; returns the file, the number of bytes and their SHA-256 in hex.
    fn finish(self) -> anyhow::Result<(File, u64, String)> {
        let file = self
            .inner
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write: {}", e.error()))?;
        Ok((file, self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
