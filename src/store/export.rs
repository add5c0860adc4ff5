//! The database side of `duetrack export`: which tables and columns leave
//! the database, and reading them in key order, page by page, from one
//! read-only snapshot. Secrets never leave: password hashes, sessions,
//! one-time links and idempotency records are not read at all. Files,
//! CSV files and the manifest are `crate::export`'s.

use super::Store;
use super::db::{Arg, Backend, DbError, Row, Tx, placeholders};
use crate::domain::money::Money;

/// How many rows are held in memory at a time.
const PAGE: i64 = 500;

/// What a column holds, which decides how it is read and written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number, such as an id or a count.
    Int,
    /// An amount in minor units of the shop's currency.
    Money,
    /// Text, possibly typed by a person.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A moment, RFC 3339 UTC text as stored.
    Time,
    /// Yes or no (stored as 0 or 1).
    Flag,
}

/// One exported column: its name in the file, the SQL that yields it, and its kind.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    sql: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        sql: name,
        kind,
    }
}

/// One exported table: its name (which names its file), where its rows
/// come from, the key that orders them (and pages through them), and its
/// columns.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    from: &'static str,
    condition: Option<&'static str>,
    key: &'static [(&'static str, KeyKind)],
    pub columns: &'static [Column],
}

impl Table {
    /// The database table its rows come from (`activity_log` for `activity`).
    pub fn source(&self) -> &'static str {
        self.from
    }

    /// Whether the file holds a subset of another file's rows
    /// (`deleted_customers` repeats customers for people to read), which an
    /// import checks but does not write twice.
    pub fn is_view(&self) -> bool {
        self.condition.is_some()
    }
}

#[derive(Debug, Clone, Copy)]
enum KeyKind {
    Int,
    Text,
}

use Kind::{Date, Flag, Int, Money as Amount, Text, Time};

const ID: &[(&str, KeyKind)] = &[("id", KeyKind::Int)];

/// Every exported table, in the order an import needs them (a row's
/// references come before it).
pub const TABLES: &[Table] = &[
    Table {
        name: "staff",
        from: "staff_users",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("username", Text),
            col("role", Text),
            col("email", Text),
            col("disabled_at", Time),
            col("created_at", Time),
            col("updated_at", Time),
        ],
    },
    Table {
        name: "customers",
        from: "customers",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("username", Text),
            col("name", Text),
            col("phone", Text),
            col("email", Text),
            col("address", Text),
            col("category", Text),
            col("notes", Text),
            col("credit_limit", Amount),
            col("status", Text),
            col("balance", Amount),
            col("total_dues", Amount),
            col("total_paid", Amount),
            col("next_due_date", Date),
            col("reminders_paused", Flag),
            // Whether the customer has set a portal password; never the hash.
            Column {
                name: "has_password",
                sql: "CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT)",
                kind: Flag,
            },
            col("login_disabled_at", Time),
            col("version", Int),
            col("created_at", Time),
            col("updated_at", Time),
            col("deleted_at", Time),
            col("delete_reason", Text),
            // Where an imported customer came from, as a hash, so that
            // the same import run again after a move adds nothing twice.
            col("import_key", Text),
        ],
    },
    Table {
        name: "deleted_customers",
        from: "customers",
        condition: Some("status = 'deleted'"),
        key: ID,
        columns: &[
            col("id", Int),
            col("username", Text),
            col("name", Text),
            col("phone", Text),
            col("email", Text),
            col("balance", Amount),
            col("deleted_at", Time),
            col("delete_reason", Text),
        ],
    },
    Table {
        name: "dues",
        from: "dues",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("customer_id", Int),
            col("amount", Amount),
            col("paid", Amount),
            col("description", Text),
            col("issue_date", Date),
            col("due_date", Date),
            col("status", Text),
            col("balance_after", Amount),
            col("created_by", Text),
            col("created_at", Time),
            col("voided_at", Time),
            col("voided_by", Text),
            col("void_reason", Text),
        ],
    },
    Table {
        name: "payments",
        from: "payments",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("customer_id", Int),
            col("amount", Amount),
            col("unallocated", Amount),
            col("method", Text),
            col("reference", Text),
            col("paid_on", Date),
            col("is_advance", Flag),
            col("status", Text),
            col("balance_after", Amount),
            col("recorded_by", Text),
            col("created_at", Time),
            col("voided_at", Time),
            col("voided_by", Text),
            col("void_reason", Text),
            col("submitted_by", Text),
            col("decided_at", Time),
            col("decided_by", Text),
            col("reject_reason", Text),
        ],
    },
    Table {
        name: "allocations",
        from: "allocations",
        condition: None,
        key: &[("payment_id", KeyKind::Int), ("due_id", KeyKind::Int)],
        columns: &[
            col("payment_id", Int),
            col("due_id", Int),
            col("amount", Amount),
        ],
    },
    Table {
        name: "activity",
        from: "activity_log",
        condition: None,
        key: &[("seq", KeyKind::Int)],
        columns: &[
            col("seq", Int),
            col("at", Time),
            col("actor", Text),
            col("action", Text),
            col("entity_type", Text),
            col("entity_id", Text),
            col("before_state", Text),
            col("after_state", Text),
            col("prev_hash", Text),
            col("hash", Text),
        ],
    },
    Table {
        name: "signins",
        from: "signin_log",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("at", Time),
            col("kind", Text),
            col("username", Text),
            col("principal", Text),
            col("success", Flag),
            col("reason", Text),
            col("address", Text),
            col("user_agent", Text),
        ],
    },
    // The outbox without its bodies: one-time-link messages carry a
    // token in theirs, and every body is rendered from data exported here.
    Table {
        name: "emails",
        from: "emails",
        condition: None,
        key: ID,
        columns: &[
            col("id", Int),
            col("kind", Text),
            col("customer_id", Int),
            col("recipient", Text),
            col("subject", Text),
            col("status", Text),
            col("attempts", Int),
            col("next_attempt_at", Time),
            col("last_error", Text),
            col("created_at", Time),
            col("updated_at", Time),
            col("sent_at", Time),
        ],
    },
    Table {
        name: "reminders",
        from: "reminder_log",
        condition: None,
        key: &[("customer_id", KeyKind::Int), ("day", KeyKind::Text)],
        columns: &[
            col("customer_id", Int),
            col("day", Date),
            col("reason", Text),
            col("email_id", Int),
            col("created_at", Time),
        ],
    },
    Table {
        name: "settings",
        from: "settings",
        condition: None,
        key: &[("key", KeyKind::Text)],
        columns: &[
            col("key", Text),
            col("value", Text),
            col("updated_at", Time),
            col("updated_by", Text),
        ],
    },
];

/// One cell as the database holds it; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Int(Option<i64>),
    Money(Option<Money>),
    Text(Option<String>),
    Date(Option<String>),
    Time(Option<String>),
    Flag(Option<bool>),
}

/// A read-only view of the whole database as of one moment.
pub struct Snapshot {
    tx: Tx,
}

impl Store {
    /// Opens a consistent snapshot to export from; the server keeps
    /// writing meanwhile.
    pub async fn export_snapshot(&self) -> Result<Snapshot, DbError> {
        Ok(Snapshot {
            tx: self.db.read().await?,
        })
    }
}

impl Snapshot {
    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }

    /// Reads every row of `table` in key order and hands each to `each`,
    /// holding one page in memory at a time. Returns how many rows there were.
    pub async fn each_row<E: From<DbError>>(
        &mut self,
        table: &Table,
        each: impl FnMut(Vec<Cell>) -> Result<(), E>,
    ) -> Result<u64, E> {
        self.each_row_in_pages(table, PAGE, each).await
    }

    /// [`Snapshot::each_row`] with pages of `page` rows; tests use small
    /// pages to cross page boundaries with little data.
    pub async fn each_row_in_pages<E: From<DbError>>(
        &mut self,
        table: &Table,
        page: i64,
        mut each: impl FnMut(Vec<Cell>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let page = page.max(1);
        let columns = table
            .columns
            .iter()
            .map(|c| {
                if c.sql == c.name {
                    c.name.to_string()
                } else {
                    format!("{} AS {}", c.sql, c.name)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let key = table
            .key
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ");
        let mut after: Option<Vec<Arg>> = None;
        let mut count = 0;
        loop {
            let mut conditions: Vec<String> =
                table.condition.map(str::to_string).into_iter().collect();
            let mut args = Vec::new();
            if let Some(last) = after.take() {
                conditions.push(format!("({key}) > ({})", placeholders(1, table.key.len())));
                args = last;
            }
            args.push(Arg::from(page));
            let where_clause = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            let sql = format!(
                "SELECT {columns} FROM {} {where_clause} ORDER BY {key} LIMIT ${}",
                table.from,
                args.len()
            );
            let rows = self.tx.fetch_all(&sql, &args).await?;
            let full = rows.len() as i64 == page;
            if let Some(last) = rows.last() {
                after = Some(key_of(table, last)?);
            }
            for row in &rows {
                each(cells(table, row)?)?;
                count += 1;
            }
            if !full {
                return Ok(count);
            }
        }
    }
}

fn key_of(table: &Table, row: &Row) -> Result<Vec<Arg>, DbError> {
    table
        .key
        .iter()
        .map(|(name, kind)| {
            Ok(match kind {
                KeyKind::Int => Arg::from(row.i64(name)?),
                KeyKind::Text => Arg::from(row.text(name)?),
            })
        })
        .collect()
}

fn cells(table: &Table, row: &Row) -> Result<Vec<Cell>, DbError> {
    table
        .columns
        .iter()
        .map(|c| {
            Ok(match c.kind {
                Kind::Int => Cell::Int(row.opt_i64(c.name)?),
                Kind::Money => Cell::Money(row.opt_money(c.name)?),
                Kind::Text => Cell::Text(row.opt_text(c.name)?),
                Kind::Date => Cell::Date(row.opt_text(c.name)?),
                Kind::Time => Cell::Time(row.opt_text(c.name)?),
                Kind::Flag => Cell::Flag(row.opt_i64(c.name)?.map(|v| v != 0)),
            })
        })
        .collect()
}
