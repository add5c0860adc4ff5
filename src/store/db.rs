//! One way to talk to either database. SQL is written once with `$1`-style
//! placeholders, which SQLite and PostgreSQL both accept; values go in as
//! [`Arg`]s and come out of a [`Row`] by column name. Everything the business
//! logic needs runs inside a [`Tx`]: a write transaction (one writer at a time
//! on SQLite, row locks on PostgreSQL) or a read-only snapshot.

use crate::config::{Config, DatabaseConfig};
use crate::domain::money::Money;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Decode, Postgres, Row as _, Sqlite, Transaction, Type};
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::Error as DbError;

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub enum Db {
    /// SQLite allows one writer: a single-connection pool serialises writes
    /// in this process (the busy timeout covers other processes), while
    /// readers use their own connections under WAL.
    Sqlite {
        write: sqlx::SqlitePool,
        read: sqlx::SqlitePool,
    },
    Postgres(sqlx::PgPool),
}

impl Db {
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        match &config.database {
            DatabaseConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit is on disk before it is acknowledged.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(config.db_max_connections.max(2))
                    .connect_with(options.read_only(true))
                    .await?;
                Ok(Db::Sqlite { write, read })
            }
            DatabaseConfig::Postgres { url } => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Starts a transaction that may write.
    pub async fn write(&self) -> Result<Tx, DbError> {
        Ok(match self {
            // IMMEDIATE takes the write lock now, so a read-then-write cannot
            // fail half-way on a lock held by another process.
            Db::Sqlite { write, .. } => Tx::sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction that sees one consistent snapshot.
    pub async fn read(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite { read, .. } => Tx::sqlite(read.begin().await?),
            Db::Postgres(pool) => Tx::postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<Money> for Arg {
    fn from(v: Money) -> Self {
        Arg::Int(Some(v.minor()))
    }
}
impl From<Option<Money>> for Arg {
    fn from(v: Option<Money>) -> Self {
        Arg::Int(v.map(Money::minor))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<chrono::NaiveDate> for Arg {
    fn from(v: chrono::NaiveDate) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<Option<chrono::NaiveDate>> for Arg {
    fn from(v: Option<chrono::NaiveDate>) -> Self {
        Arg::Text(v.map(|d| d.to_string()))
    }
}

/// `args![a, b, c]` builds the argument list of a query.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::Arg::from($value)),*][..]
    };
}

/// A row of either backend, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// Reads a column; a type mismatch is a bug in our SQL, so it is an error
    /// the caller reports as internal.
    pub fn try_get<T>(&self, column: &str) -> Result<T, DbError>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        match self {
            Row::Sqlite(r) => r.try_get(column),
            Row::Postgres(r) => r.try_get(column),
        }
    }

    pub fn i64(&self, column: &str) -> Result<i64, DbError> {
        self.try_get(column)
    }

    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, DbError> {
        self.try_get(column)
    }

    /// An amount kept as an integer of minor units.
    pub fn money(&self, column: &str) -> Result<Money, DbError> {
        self.i64(column).map(Money)
    }

    pub fn opt_money(&self, column: &str) -> Result<Option<Money>, DbError> {
        Ok(self.opt_i64(column)?.map(Money))
    }

    pub fn text(&self, column: &str) -> Result<String, DbError> {
        self.try_get(column)
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, DbError> {
        self.try_get(column)
    }

    pub fn date(&self, column: &str) -> Result<chrono::NaiveDate, DbError> {
        let text = self.text(column)?;
        text.parse()
            .map_err(|e| DbError::Decode(format!("{column}: {e}").into()))
    }

    /// Reads a text column as one of a type's fixed words (a status, a
    /// kind); a word the type does not know is a decode error.
    pub fn parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, DbError> {
        let text = self.text(column)?;
        parse(&text)
            .ok_or_else(|| DbError::Decode(format!("{column}: unknown value '{text}'").into()))
    }

    pub fn opt_date(&self, column: &str) -> Result<Option<chrono::NaiveDate>, DbError> {
        self.opt_text(column)?
            .map(|t| {
                t.parse()
                    .map_err(|e| DbError::Decode(format!("{column}: {e}").into()))
            })
            .transpose()
    }
}

/// An open transaction on either backend.
pub struct Tx {
    inner: Conn,
    /// Set when the transaction queued an email, so that delivery can be
    /// woken once it commits (and not for every write).
    pub queued_email: bool,
}

enum Conn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    fn sqlite(tx: Transaction<'static, Sqlite>) -> Self {
        Tx {
            inner: Conn::Sqlite(tx),
            queued_email: false,
        }
    }

    fn postgres(tx: Transaction<'static, Postgres>) -> Self {
        Tx {
            inner: Conn::Postgres(tx),
            queued_email: false,
        }
    }
}

/// Text with a NUL character, which PostgreSQL cannot store; refused on
/// both backends before it is bound, as [`DbError::Encode`]. The request
/// edge refuses such text first; this is the second line.
#[derive(Debug, thiserror::Error)]
#[error("text must not contain NUL (U+0000) characters")]
pub struct NulInText;

/// Whether a database error is a refusal of text holding a NUL.
pub fn is_nul_in_text(error: &DbError) -> bool {
    matches!(error, DbError::Encode(e) if e.is::<NulInText>())
}

fn refuse_nul<'a>(args: impl IntoIterator<Item = &'a Arg>) -> Result<(), DbError> {
    let nul = args
        .into_iter()
        .any(|arg| matches!(arg, Arg::Text(Some(text)) if text.contains('\0')));
    if nul {
        Err(DbError::Encode(Box::new(NulInText)))
    } else {
        Ok(())
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_deref()),
            };
        }
        query
    }};
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.inner {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        refuse_nul(args)?;
        Ok(match &mut self.inner {
            Conn::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Conn::Postgres(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Inserts `rows` (each as many values as `columns`) with multi-row
    /// statements of a few hundred rows, `tail` (such as an ON CONFLICT
    /// clause) after each. Returns how many rows were written.
    pub async fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Arg>],
        tail: &str,
    ) -> Result<u64, DbError> {
        // Far below either backend's limit on parameters per statement
        // (SQLite 32,766; PostgreSQL 65,535).
        const MAX_VALUES: usize = 20_000;
        const MAX_ROWS: usize = 500;
        refuse_nul(rows.iter().flatten())?;
        let width = columns.len().max(1);
        let per_statement = (MAX_VALUES / width).clamp(1, MAX_ROWS);
        let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut written = 0;
        for chunk in rows.chunks(per_statement) {
            let values = (0..chunk.len())
                .map(|i| match self.backend() {
                    // Numbered parameters cost SQLite a search of every
                    // name per bind, which grows with the square of a
                    // statement's size; anonymous ones bind in order.
                    Backend::Sqlite => format!("({})", vec!["?"; width].join(", ")),
                    Backend::Postgres => format!("({})", placeholders(i * width + 1, width)),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("{head}{values}{tail}");
            let args = chunk.iter().flatten();
            written += match &mut self.inner {
                Conn::Sqlite(tx) => bind_all!(sqlx::query(&sql), args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
                Conn::Postgres(tx) => bind_all!(sqlx::query(&sql), args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            };
        }
        Ok(written)
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, DbError> {
        refuse_nul(args)?;
        Ok(match &mut self.inner {
            Conn::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Conn::Postgres(tx) => bind_all!(sqlx::query(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub async fn fetch_optional(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Option<Row>, DbError> {
        refuse_nul(args)?;
        Ok(match &mut self.inner {
            Conn::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Sqlite),
            Conn::Postgres(tx) => bind_all!(sqlx::query(sql), args)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Postgres),
        })
    }

    pub async fn fetch_one(&mut self, sql: &str, args: &[Arg]) -> Result<Row, DbError> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(DbError::RowNotFound)
    }

    /// Reads a single integer, such as a count or a sum.
    pub async fn scalar(&mut self, sql: &str, args: &[Arg]) -> Result<i64, DbError> {
        let row = self.fetch_one(sql, args).await?;
        match row {
            Row::Sqlite(r) => r.try_get(0),
            Row::Postgres(r) => r.try_get(0),
        }
    }

    pub async fn commit(self) -> Result<(), DbError> {
        match self.inner {
            Conn::Sqlite(tx) => tx.commit().await,
            Conn::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Conditions of a filtered list, joined by AND, with their arguments.
#[derive(Default)]
pub struct Filter {
    conditions: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// Adds `column_and_operator $n` (such as `"status ="`) when a value is given.
    pub fn add(&mut self, column_and_operator: &str, value: Option<impl Into<Arg>>) {
        if let Some(value) = value {
            self.args.push(value.into());
            self.conditions
                .push(format!("{column_and_operator} ${}", self.args.len()));
        }
    }

    /// One page of `table` newest first by `order`, and how many rows match in all.
    pub async fn page(
        mut self,
        tx: &mut Tx,
        table: &str,
        order: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Row>, i64), DbError> {
        let where_clause = if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        };
        let total = tx
            .scalar(
                &format!("SELECT COUNT(*) FROM {table} {where_clause}"),
                &self.args,
            )
            .await?;
        let n = self.args.len();
        self.args.push(limit.into());
        self.args.push(offset.into());
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT * FROM {table} {where_clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
                    n + 1,
                    n + 2
                ),
                &self.args,
            )
            .await?;
        Ok((rows, total))
    }
}

/// `$first, $first+1, …` placeholders for an `IN (…)` list of `count` values.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether an error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(error: &DbError) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
