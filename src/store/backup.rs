//! The database side of `duetrack backup` and `duetrack restore`: SQLite's
//! online copy (`VACUUM INTO`), checking a copied SQLite file, whether a
//! database already holds a ledger, and whether an SQLite file is in use.
//! Files, temporary names and the PostgreSQL tools are `crate::backup`'s.

use super::Store;
use super::db::Db;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode};
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// What a database holds, as far as restoring into it is concerned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    /// Whether duetrack's tables exist at all.
    pub schema: bool,
    pub customers: i64,
    pub dues: i64,
    pub payments: i64,
}

impl Contents {
    /// A database with no customer, due or payment counts as empty, even
    /// with its schema and the owner account created on first start.
    pub fn holds_ledger(&self) -> bool {
        self.customers + self.dues + self.payments > 0
    }
}

const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM dues), (SELECT COUNT(*) FROM payments)";

impl Store {
    /// SQLite only: writes a consistent snapshot of the whole database to
    /// `target`, which must not exist yet. It reads in one transaction, so a
    /// running server keeps writing meanwhile. SQLite does not flush the new
    /// file to disk; the caller does.
    pub async fn vacuum_into(&self, target: &Path) -> anyhow::Result<()> {
        let Db::Sqlite { write, .. } = &self.db else {
            anyhow::bail!("VACUUM INTO is for SQLite databases only");
        };
        let target = target
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not a UTF-8 path", target.display()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(write)
            .await?;
        Ok(())
    }
}

/// Opens an SQLite file that is not in use (a backup, or a copy being put
/// in place), makes it a single self-contained file (rollback journal
/// instead of WAL) and runs `PRAGMA integrity_check`.
pub async fn check_sqlite_file(path: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| anyhow::anyhow!("{} does not open as SQLite: {e}", path.display()))?;
    let results: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    if results != ["ok"] {
        anyhow::bail!(
            "{}: PRAGMA integrity_check says: {}",
            path.display(),
            results.join("; ")
        );
    }
    Ok(())
}

/// What an existing SQLite file holds.
pub async fn sqlite_contents(path: &Path) -> anyhow::Result<Contents> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'customers'",
    )
    .fetch_one(&mut conn)
    .await?;
    let mut contents = Contents::default();
    if tables > 0 {
        let (customers, dues, payments) = sqlx::query_as(COUNTS).fetch_one(&mut conn).await?;
        contents = Contents {
            schema: true,
            customers,
            dues,
            payments,
        };
    }
    conn.close().await?;
    Ok(contents)
}

/// What a PostgreSQL database holds. It must exist; its schema need not.
pub async fn postgres_contents(url: &str) -> anyhow::Result<Contents> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let mut conn = PgConnection::connect_with(&options).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'customers'",
    )
    .fetch_one(&mut conn)
    .await?;
    let mut contents = Contents::default();
    if tables > 0 {
        let (customers, dues, payments) = sqlx::query_as(COUNTS).fetch_one(&mut conn).await?;
        contents = Contents {
            schema: true,
            customers,
            dues,
            payments,
        };
    }
    conn.close().await?;
    Ok(contents)
}

/// Whether another connection, such as a running `duetrack serve`, has
/// this SQLite file open: only then is an exclusive lock out of reach.
pub async fn sqlite_in_use(path: &Path) -> anyhow::Result<bool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_millis(200));
    let busy = |e: &sqlx::Error| {
        e.as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
            // SQLITE_BUSY and SQLITE_LOCKED, with any extended code.
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
    };
    let mut conn = match SqliteConnection::connect_with(&options).await {
        Ok(c) => c,
        Err(e) if busy(&e) => return Ok(true),
        Err(e) => return Err(e.into()),
    };
    let taken = match sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await {
        Ok(_) => {
            sqlx::query("COMMIT").execute(&mut conn).await?;
            false
        }
        Err(e) if busy(&e) => true,
        Err(e) => return Err(e.into()),
    };
    conn.close().await?;
    Ok(taken)
}
