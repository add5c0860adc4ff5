//! `duetrack backup` and `duetrack restore`: a consistent copy of the whole
//! database taken while the server runs, and putting one back into an empty
//! database. Every file is first written under a temporary name beside its
//! final one and renamed into place, so a crash never leaves a half-written
//! file under the final name. SQLite copies itself (`VACUUM INTO`);
//! PostgreSQL goes through `pg_dump` and `pg_restore`, run directly, never
//! through a shell.

use crate::config::{Config, DatabaseConfig};
use crate::startup::open_store;
use crate::store::backup::{self as db, Contents};
use crate::store::verify::Report;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The command line is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The state of things forbids it, such as an existing file (exit code 1).
    #[error("{0}")]
    Refused(String),
    /// It was tried and failed (exit code 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl BackupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::Usage(_) => 2,
            BackupError::Refused(_) | BackupError::Failed(_) => 1,
        }
    }
}

/// A finished backup: the file, its size, and the check of the source.
pub struct Written {
    pub file: PathBuf,
    pub bytes: u64,
    pub source: Report,
}

/// Writes a backup of the configured database to `file`.
pub async fn backup(config: &Config, file: &Path, force: bool) -> Result<Written, BackupError> {
    if file.as_os_str().is_empty() || file.is_dir() {
        return Err(BackupError::Usage(format!(
            "'{}' is not a file name; name the backup file, such as /backups/duetrack.db",
            file.display()
        )));
    }
    if file.exists() && !force {
        return Err(BackupError::Refused(format!(
            "{} already exists; choose another name, or add --force to replace it",
            file.display()
        )));
    }
    let temp = Partial::beside(file)?;
    let store = match &config.database {
        DatabaseConfig::Sqlite { path } => {
            if !path.exists() {
                return Err(BackupError::Refused(format!(
                    "there is no database at {}; nothing to back up",
                    path.display()
                )));
            }
            if same_file(path, file) {
                return Err(BackupError::Usage(format!(
                    "{} is the database itself; write the backup somewhere else",
                    file.display()
                )));
            }
            let opened = open_store(config).await?;
            opened.0.vacuum_into(temp.path()).await?;
            db::check_sqlite_file(temp.path()).await?;
            opened
        }
        DatabaseConfig::Postgres { url } => {
            let pg_dump = tool("pg_dump")?;
            let mut dump = pg_command(&pg_dump, url);
            dump.arg("--format=custom")
                .arg(format!("--file={}", temp.path().display()));
            run(dump, "pg_dump")?;
            // The dump's table of contents reads back: the file is whole.
            let mut list = Command::new(tool("pg_restore")?);
            list.arg("--list").arg(temp.path());
            run_quietly(list, "pg_restore --list")?;
            open_store(config).await?
        }
    };
    temp.put_in_place(file)?;
    let (store, live) = store;
    let source = store
        .verify(live.get().currency)
        .await
        .map_err(anyhow::Error::from);
    store.close().await;
    let bytes = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .len();
    Ok(Written {
        file: file.to_path_buf(),
        bytes,
        source: source?,
    })
}

/// Restores `file`, made by `duetrack backup`, into the configured database,
/// which must be empty unless `force`. Returns the check of the result.
pub async fn restore(config: &Config, file: &Path, force: bool) -> Result<Report, BackupError> {
    let kind = BackupKind::of(file)?;
    match &config.database {
        DatabaseConfig::Sqlite { path } => {
            if kind != BackupKind::Sqlite {
                return Err(BackupError::Refused(format!(
                    "{} is not an SQLite backup{}; this database is SQLite",
                    file.display(),
                    kind.hint()
                )));
            }
            if path.exists() {
                refuse_unless_empty(db::sqlite_contents(path).await?, path, force)?;
                if db::sqlite_in_use(path).await? {
                    return Err(BackupError::Refused(format!(
                        "{} is in use: stop `duetrack serve` (and every other duetrack process on it) before restoring",
                        path.display()
                    )));
                }
            } else if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
                })?;
            }
            let temp = Partial::beside(path)?;
            std::fs::copy(file, temp.path())
                .map_err(|e| anyhow::anyhow!("cannot copy {}: {e}", file.display()))?;
            db::check_sqlite_file(temp.path()).await?;
            if !db::sqlite_contents(temp.path()).await?.schema {
                return Err(BackupError::Refused(format!(
                    "{} is an SQLite file but not a duetrack database",
                    file.display()
                )));
            }
            // The old database's write-ahead log must not be applied to the new file.
            for suffix in ["-wal", "-shm"] {
                let mut side = path.as_os_str().to_owned();
                side.push(suffix);
                remove_if_there(Path::new(&side))?;
            }
            temp.put_in_place(path)?;
        }
        DatabaseConfig::Postgres { url } => {
            if kind != BackupKind::PgDump {
                return Err(BackupError::Refused(format!(
                    "{} is not a PostgreSQL backup{}; this database is PostgreSQL",
                    file.display(),
                    kind.hint()
                )));
            }
            let pg_restore = tool("pg_restore")?;
            let contents = db::postgres_contents(url)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL (DATABASE_URL): {e}"))?;
            refuse_unless_empty(contents, Path::new("the database"), force)?;
            let mut restore = pg_command(&pg_restore, url);
            // One transaction: a failed restore leaves the database as it was.
            restore.arg("--no-owner").arg("--single-transaction");
            if contents.schema {
                // Tables made by an earlier start (or --force) are replaced.
                restore.arg("--clean").arg("--if-exists");
            }
            restore.arg(file);
            run(restore, "pg_restore")?;
        }
    }
    let (store, live) = open_store(config).await?;
    // The restored log becomes this installation's: the key file records a
    // MAC over it, and the anchors of the log it replaced are set aside.
    crate::startup::adopt_log(&store).await?;
    let report = store
        .verify(live.get().currency)
        .await
        .map_err(anyhow::Error::from);
    store.close().await;
    Ok(report?)
}

fn refuse_unless_empty(contents: Contents, target: &Path, force: bool) -> Result<(), BackupError> {
    if contents.holds_ledger() && !force {
        return Err(BackupError::Refused(format!(
            "{} already holds {} customer(s), {} due(s) and {} payment(s); restore only into an empty database, or add --force to replace everything in it",
            target.display(),
            contents.customers,
            contents.dues,
            contents.payments
        )));
    }
    Ok(())
}

/// What a backup file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackupKind {
    Sqlite,
    PgDump,
    Unknown,
}

impl BackupKind {
    fn of(file: &Path) -> Result<Self, BackupError> {
        let mut head = [0u8; 16];
        let read = std::fs::File::open(file).and_then(|mut f| {
            if f.metadata()?.is_dir() {
                return Err(std::io::Error::other("it is a directory"));
            }
            f.read(&mut head)
        });
        let n = read.map_err(|e| {
            BackupError::Refused(format!("cannot read the backup {}: {e}", file.display()))
        })?;
        Ok(if head[..n].starts_with(b"SQLite format 3\0") {
            BackupKind::Sqlite
        } else if head[..n].starts_with(b"PGDMP") {
            BackupKind::PgDump
        } else {
            BackupKind::Unknown
        })
    }

    fn hint(self) -> &'static str {
        match self {
            BackupKind::Sqlite => " (it is an SQLite file)",
            BackupKind::PgDump => " (it is a PostgreSQL dump)",
            BackupKind::Unknown => " (it is not a duetrack backup at all)",
        }
    }
}

/// A file being written under a temporary name beside its final one; it is
/// removed unless it is put in place.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    fn beside(target: &Path) -> Result<Self, BackupError> {
        let name = target.file_name().ok_or_else(|| {
            BackupError::Usage(format!("'{}' is not a file name", target.display()))
        })?;
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(BackupError::Refused(format!(
                "the folder {} does not exist",
                dir.display()
            )));
        }
        let mut temp = std::ffi::OsString::from(".");
        temp.push(name);
        temp.push(format!(".partial-{}", std::process::id()));
        let path = dir.join(temp);
        remove_if_there(&path)?;
        Ok(Partial { path, kept: false })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file to disk, renames it to `target` (replacing it) and
    /// flushes the folder, so the new name survives a power cut.
    fn put_in_place(mut self, target: &Path) -> anyhow::Result<()> {
        let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", target.display());
        std::fs::File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(fail)?;
        std::fs::rename(&self.path, target).map_err(fail)?;
        self.kept = true;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Not every file system lets a folder be synced; the rename stands.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::anyhow!("cannot remove {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Finds a PostgreSQL client tool on PATH, or says what to install.
fn tool(name: &str) -> Result<PathBuf, BackupError> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.metadata().is_ok_and(|m| m.is_file() && executable(&m)))
    });
    found.ok_or_else(|| {
        BackupError::Failed(anyhow::anyhow!(
            "{name} is not installed (it is not on PATH); a PostgreSQL database is backed up and restored with pg_dump and pg_restore: install the PostgreSQL client tools (on Debian or Ubuntu: apt-get install postgresql-client), of the server's major version or newer"
        ))
    })
}

#[cfg(unix)]
fn executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    true
}

/// A command for a PostgreSQL tool on `url`. The password, if the URL has
/// one, goes in `PGPASSWORD` rather than on the command line, where any
/// user of the machine could read it.
fn pg_command(program: &Path, url: &str) -> Command {
    let (url, password) = split_password(url);
    let mut command = Command::new(program);
    command.arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Runs a tool, letting its messages through to stderr.
fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {what}: {e}"))?;
    if !status.success() {
        anyhow::bail!("{what} failed ({status}); see its message above");
    }
    Ok(())
}

/// Runs a tool as a check; its messages are shown only if it fails.
fn run_quietly(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Splits the password out of a `postgres://user:password@host/db` URL,
/// percent-decoded as libpq would.
fn split_password(url: &str) -> (String, Option<String>) {
    let unchanged = (url.to_string(), None);
    let Some((scheme, rest)) = url.split_once("://") else {
        return unchanged;
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return unchanged;
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return unchanged;
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgres://shop:p%40ss%3Aw0rd@db.local:5432/khata?sslmode=require"),
            (
                "postgres://shop@db.local:5432/khata?sslmode=require".to_string(),
                Some("p@ss:w0rd".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1:5432/khata"),
            ("postgres://postgres@127.0.0.1:5432/khata".to_string(), None)
        );
        assert_eq!(
            split_password("postgresql:///khata"),
            ("postgresql:///khata".to_string(), None)
        );
    }
}
