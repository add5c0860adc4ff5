//! One way to talk to either database. SQL is written once with `$1`-style
//! placeholders, which SQLite and PostgreSQL both accept; values go in as
//! [`Arg`]s and come out of a [`Row`] by column name. Everything the business
//! logic needs runs inside a [`Tx`]: a write transaction (one writer at a time
//! on SQLite, row locks on PostgreSQL) or a read-only snapshot.

use crate::chain::ChainKey;
use crate::config::{Config, DatabaseConfig};
use crate::domain::money::Money;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{
    ConnectOptions as _, Connection as _, Decode, Postgres, Row as _, Sqlite, Transaction, Type,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use sqlx::Error as DbError;

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";

/// A database is duetrack's to use when it is empty or holds duetrack's
/// schema; tables of anything else are never written into.
fn ensure_ours(tables: &[String]) -> anyhow::Result<()> {
    let ours = ["_sqlx_migrations", "activity_head"]
        .iter()
        .all(|name| tables.iter().any(|t| t == name));
    if !tables.is_empty() && !ours {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        anyhow::bail!(
            "this database is not duetrack's: it holds other tables ({}{}) and no duetrack schema; nothing was changed. Point DATABASE_URL (or DUETRACK_DATA_DIR) at an empty database or one duetrack made",
            shown.join(", "),
            if tables.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Begins a transaction on SQLite, first healing a connection that a
/// failed transaction left behind. When a statement or the COMMIT fails
/// with a full disk or an I/O error, SQLite rolls the transaction back by
/// itself; sqlx's own ROLLBACK then fails and it goes on believing the
/// connection is inside a transaction, refusing every later BEGIN on it.
/// Such a connection is closed, and the pool opens a fresh one.
async fn begin_sqlite(
    pool: &sqlx::SqlitePool,
    begin: &'static str,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, DbError> {
    use sqlx::Connection;
    let stuck = |e: &DbError| e.to_string().contains("non-zero transaction depth");
    match pool.begin_with(begin).await {
        Err(e) if stuck(&e) => {
            // Try each connection the pool holds; close the ones stuck.
            for _ in 0..=pool.size() {
                let mut conn = pool.acquire().await?;
                let healthy = match conn.begin_with(begin).await {
                    Ok(tx) => {
                        tx.rollback().await?;
                        true
                    }
                    Err(e) if stuck(&e) => false,
                    Err(e) => return Err(e),
                };
                if !healthy {
                    tracing::warn!(
                        "closing a database connection left inside a failed transaction"
                    );
                    conn.close().await?;
                }
            }
            pool.begin_with(begin).await
        }
        other => other,
    }
}

/// What a database error means for the one who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Another writer holds the lock, or a transaction had to give way:
    /// nothing was changed; the same request may simply be tried again.
    Busy,
    /// The database cannot be reached (restarting, the network, a closed
    /// pool): nothing was changed, or a commit's outcome is for the
    /// idempotency key to tell.
    Unreachable,
    /// The disk under the database is full: nothing was changed.
    Full,
    /// Anything else: a fault of ours.
    Fault,
}

/// Sorts a database error by what the caller can do about it.
pub fn failure_of(error: &DbError) -> Failure {
    match error {
        sqlx::Error::PoolTimedOut => Failure::Busy,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Failure::Unreachable,
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code is the low byte of the extended one.
                let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0) & 0xff;
                match code {
                    5 | 6 => Failure::Busy,          // SQLITE_BUSY, SQLITE_LOCKED
                    13 => Failure::Full,             // SQLITE_FULL
                    10 | 14 => Failure::Unreachable, // SQLITE_IOERR, SQLITE_CANTOPEN
                    _ => Failure::Fault,
                }
            } else {
                let state = db.code().unwrap_or_default();
                match state.as_ref() {
                    "53100" => Failure::Full, // disk_full
                    "40001" | "40P01" | "55P03" => Failure::Busy,
                    s if s.starts_with("53") => Failure::Busy, // out of resources
                    s if s.starts_with("08") || s.starts_with("57P") => Failure::Unreachable,
                    _ => Failure::Fault,
                }
            }
        }
        _ => Failure::Fault,
    }
}

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
        chain: ChainSlot,
    },
    Postgres(sqlx::PgPool, ChainSlot),
}

/// The activity log's chain key, once loaded: every transaction carries it,
/// so that each entry it appends is chained under the key.
pub type ChainSlot = Arc<std::sync::RwLock<Option<Arc<ChainKey>>>>;

impl Db {
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        match &config.database {
            DatabaseConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        anyhow::anyhow!("cannot create the data directory {}: {e}", dir.display())
                    })?;
                }
                // Look before anything is set on the file (WAL mode alone
                // rewrites its header): it must be empty or duetrack's.
                if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
                    let mut peek = SqliteConnectOptions::new()
                        .filename(path)
                        .read_only(true)
                        .connect()
                        .await?;
                    let tables: Vec<String> = sqlx::query_scalar(SQLITE_TABLES)
                        .fetch_all(&mut peek)
                        .await?;
                    peek.close().await?;
                    ensure_ours(&tables)?;
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
                Ok(Db::Sqlite {
                    write,
                    read,
                    chain: ChainSlot::default(),
                })
            }
            DatabaseConfig::Postgres { url } => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool, ChainSlot::default()))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend, after checking that
    /// the database is empty or already duetrack's: tables of anything
    /// else are never written into.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let tables: Vec<String> = match self {
            Db::Sqlite { write, .. } => sqlx::query_scalar(SQLITE_TABLES).fetch_all(write).await?,
            Db::Postgres(pool, _) => sqlx::query_scalar(
                "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
            )
            .fetch_all(pool)
            .await?,
        };
        ensure_ours(&tables)?;
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Db::Postgres(pool, _) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Starts a transaction that may write.
    pub async fn write(&self) -> Result<Tx, DbError> {
        Ok(match self {
            // IMMEDIATE takes the write lock now, so a read-then-write cannot
            // fail half-way on a lock held by another process.
            Db::Sqlite { write, .. } => Tx::sqlite(begin_sqlite(write, "BEGIN IMMEDIATE").await?),
            Db::Postgres(pool, _) => Tx::postgres(pool.begin().await?),
        }
        .with_chain(self.chain_key()))
    }

    /// Starts a read-only transaction that sees one consistent snapshot.
    pub async fn read(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite { read, .. } => Tx::sqlite(begin_sqlite(read, "BEGIN").await?),
            Db::Postgres(pool, _) => Tx::postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        }
        .with_chain(self.chain_key()))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool, _) => pool.close().await,
        }
    }

    /// Each connection pool's use now: (name, in use, idle, most allowed).
    /// SQLite has a one-connection `write` pool and a `read` pool;
    /// PostgreSQL one `main` pool.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> PoolUse {
            let size = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
            PoolUse {
                name,
                in_use: size - idle,
                idle,
                max: pool.options().get_max_connections(),
            }
        }
        match self {
            Db::Sqlite { write, read, .. } => vec![of("write", write), of("read", read)],
            Db::Postgres(pool, _) => vec![of("main", pool)],
        }
    }

    fn slot(&self) -> &ChainSlot {
        match self {
            Db::Sqlite { chain, .. } | Db::Postgres(_, chain) => chain,
        }
    }

    /// The chain key this process uses, if it has one.
    pub fn chain_key(&self) -> Option<Arc<ChainKey>> {
        self.slot()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the chain key every later transaction carries.
    pub fn set_chain_key(&self, key: Option<Arc<ChainKey>>) {
        *self.slot().write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

/// One statement of a multi-row insert, with the rows it binds.
type Statement<'r> = (String, &'r [Vec<Arg>]);

/// One connection pool's use, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub name: &'static str,
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
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
    /// The chain key entries appended in this transaction are hashed under.
    pub chain: Option<Arc<ChainKey>>,
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
            chain: None,
        }
    }

    fn postgres(tx: Transaction<'static, Postgres>) -> Self {
        Tx {
            inner: Conn::Postgres(tx),
            queued_email: false,
            chain: None,
        }
    }

    fn with_chain(mut self, chain: Option<Arc<ChainKey>>) -> Self {
        self.chain = chain;
        self
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

    /// Runs several statements without parameters (such as DDL from a
    /// migration file), in order.
    pub async fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.inner {
            Conn::Sqlite(tx) => {
                sqlx::raw_sql(sql).execute(&mut **tx).await?;
            }
            Conn::Postgres(tx) => {
                sqlx::raw_sql(sql).execute(&mut **tx).await?;
            }
        }
        Ok(())
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
        let mut written = 0;
        for (sql, chunk) in self.multi_row_inserts(table, columns, rows, tail)? {
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

    /// Placeholders for `count` values bound in order from the `first`:
    /// numbered (`$first, …`) on PostgreSQL, anonymous (`?`) on SQLite,
    /// where numbered parameters cost a search of every name per bind,
    /// which grows with the square of a statement's size. A statement uses
    /// one kind throughout: never mix these with written-out `$N`.
    pub fn params(&self, first: usize, count: usize) -> String {
        match self.backend() {
            Backend::Sqlite => vec!["?"; count].join(", "),
            Backend::Postgres => placeholders(first, count),
        }
    }

    /// `rows` parenthesised groups of `width` placeholders, numbered on from
    /// `first`: the VALUES of a multi-row statement.
    pub fn value_rows(&self, first: usize, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|i| format!("({})", self.params(first + i * width, width)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// As [`Tx::insert_many`], with a `tail` that ends in a RETURNING
    /// clause: returns the rows it names, for the rows written.
    pub async fn insert_many_returning(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Arg>],
        tail: &str,
    ) -> Result<Vec<Row>, DbError> {
        let mut returned = Vec::with_capacity(rows.len());
        for (sql, chunk) in self.multi_row_inserts(table, columns, rows, tail)? {
            let args = chunk.iter().flatten();
            match &mut self.inner {
                Conn::Sqlite(tx) => returned.extend(
                    bind_all!(sqlx::query(&sql), args)
                        .fetch_all(&mut **tx)
                        .await?
                        .into_iter()
                        .map(Row::Sqlite),
                ),
                Conn::Postgres(tx) => returned.extend(
                    bind_all!(sqlx::query(&sql), args)
                        .fetch_all(&mut **tx)
                        .await?
                        .into_iter()
                        .map(Row::Postgres),
                ),
            }
        }
        Ok(returned)
    }

    /// The statements of a multi-row insert, each with its rows.
    fn multi_row_inserts<'r>(
        &self,
        table: &str,
        columns: &[&str],
        rows: &'r [Vec<Arg>],
        tail: &str,
    ) -> Result<Vec<Statement<'r>>, DbError> {
        // Far below either backend's limit on parameters per statement
        // (SQLite 32,766; PostgreSQL 65,535).
        const MAX_VALUES: usize = 20_000;
        const MAX_ROWS: usize = 500;
        refuse_nul(rows.iter().flatten())?;
        let width = columns.len().max(1);
        let per_statement = (MAX_VALUES / width).clamp(1, MAX_ROWS);
        let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        Ok(rows
            .chunks(per_statement)
            .map(|chunk| {
                (
                    format!("{head}{}{tail}", self.value_rows(1, chunk.len(), width)),
                    chunk,
                )
            })
            .collect())
    }

    /// SQL for the sum of `expr` over a query's rows that never fails
    /// with an overflow: past the 64-bit range it saturates at the largest
    /// (or smallest) whole number. Single amounts and each customer's
    /// totals are bounded, but a sum over many rows is not. SQLite adds
    /// the high and low 32 bits separately (neither sum can overflow) and
    /// turns an overflowing recombination into a real, which the cast
    /// saturates; PostgreSQL sums as NUMERIC and clamps.
    pub fn sum(&self, expr: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!(
                "CAST(COALESCE(SUM(({expr}) / 4294967296), 0) * 4294967296 + COALESCE(SUM(({expr}) % 4294967296), 0) AS INTEGER)"
            ),
            Backend::Postgres => format!(
                "CAST(LEAST(GREATEST(COALESCE(SUM(CAST(({expr}) AS NUMERIC)), 0), -9223372036854775808), 9223372036854775807) AS BIGINT)"
            ),
        }
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
