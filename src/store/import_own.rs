//! The database side of importing a `duetrack export` folder: what the
//! database already holds, and writing the checked rows back in one
//! transaction with their ids, activity sequence numbers and hashes as
//! they were. Reading and checking the files is `crate::import::own`'s.

use super::Store;
use super::db::{Arg, Backend, DbError, Tx};
use crate::args;
use std::collections::HashMap;

/// Tables whose `id` PostgreSQL numbers from an identity sequence, which
/// explicit ids do not advance.
const IDENTITY_TABLES: [&str; 6] = [
    "staff_users",
    "customers",
    "dues",
    "payments",
    "emails",
    "signin_log",
];

/// What a database holds, as far as an import cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    pub customers: i64,
    pub dues: i64,
    pub payments: i64,
    pub emails: i64,
    pub reminders: i64,
    /// Activity entries about anything but staff accounts. A new database
    /// holds only entries about staff: its owner being set up.
    pub ledger_activity: i64,
    /// Every activity entry.
    pub activity: i64,
    /// The hash of the newest activity entry (zeros when there is none).
    pub head_hash: String,
}

impl Holding {
    /// Whether nothing but staff accounts (and the log of their setting
    /// up) is here, so an export can be laid in without meeting other data.
    pub fn is_empty(&self) -> bool {
        self.customers == 0
            && self.dues == 0
            && self.payments == 0
            && self.emails == 0
            && self.reminders == 0
            && self.ledger_activity == 0
    }
}

/// A staff account already here, found by its user name.
#[derive(Debug, Clone)]
pub struct StaffHere {
    pub id: i64,
    pub username: String,
}

/// Rows for one database table, all with the same columns.
pub struct Rows<'a> {
    pub table: &'static str,
    pub columns: &'a [&'a str],
    pub rows: &'a [Vec<Arg>],
}

/// The write transaction an import runs in; dropped without
/// [`ImportTx::finish`], it rolls back and nothing is written.
pub struct ImportTx {
    tx: Tx,
}

impl Store {
    /// What the database holds now, from a read-only snapshot.
    pub async fn import_holding(&self) -> Result<Holding, DbError> {
        let mut tx = self.db.read().await?;
        holding(&mut tx).await
    }

    /// Starts the one transaction an import writes in.
    pub async fn begin_import(&self) -> Result<ImportTx, DbError> {
        Ok(ImportTx {
            tx: self.db.write().await?,
        })
    }
}

async fn holding(tx: &mut Tx) -> Result<Holding, DbError> {
    let count = |table: &str| format!("(SELECT COUNT(*) FROM {table})");
    let row = tx
        .fetch_one(
            &format!(
                "SELECT {} AS customers, {} AS dues, {} AS payments, {} AS emails, {} AS reminders,
                    (SELECT COUNT(*) FROM activity_log WHERE entity_type <> 'staff') AS ledger_activity,
                    {} AS activity, h.hash AS head_hash
                 FROM activity_head h WHERE h.id = 1",
                count("customers"),
                count("dues"),
                count("payments"),
                count("emails"),
                count("reminder_log"),
                count("activity_log"),
            ),
            &[],
        )
        .await?;
    Ok(Holding {
        customers: row.i64("customers")?,
        dues: row.i64("dues")?,
        payments: row.i64("payments")?,
        emails: row.i64("emails")?,
        reminders: row.i64("reminders")?,
        ledger_activity: row.i64("ledger_activity")?,
        activity: row.i64("activity")?,
        head_hash: row.text("head_hash")?,
    })
}

impl ImportTx {
    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }

    /// What the database holds, seen from inside the transaction, so that
    /// a write that slipped in since the first look is not written over.
    pub async fn holding(&mut self) -> Result<Holding, DbError> {
        holding(&mut self.tx).await
    }

    /// The staff accounts here, by user name in lower case (sign-in matches
    /// user names regardless of case).
    pub async fn staff_here(&mut self) -> Result<HashMap<String, StaffHere>, DbError> {
        let rows = self
            .tx
            .fetch_all("SELECT id, username FROM staff_users ORDER BY id", &[])
            .await?;
        rows.iter()
            .map(|r| {
                let username = r.text("username")?;
                Ok((
                    username.to_lowercase(),
                    StaffHere {
                        id: r.i64("id")?,
                        username,
                    },
                ))
            })
            .collect()
    }

    /// Removes this database's own activity entries (only the setting up of
    /// its staff accounts, as [`Holding::is_empty`] made sure) so that the
    /// export's log, with its own numbers and hashes, takes their place.
    pub async fn clear_own_log(&mut self) -> Result<u64, DbError> {
        let removed = self.tx.execute("DELETE FROM activity_log", &[]).await?;
        self.tx
            .execute(
                "UPDATE activity_head SET seq = 0, hash = $1 WHERE id = 1",
                args!["0".repeat(64)],
            )
            .await?;
        Ok(removed)
    }

    /// Renumbers the sign-ins already logged here to follow every id up to
    /// `above`, so that the export's sign-ins keep their own ids.
    pub async fn make_room_in_signins(&mut self, above: i64) -> Result<(), DbError> {
        let highest = self
            .tx
            .scalar("SELECT COALESCE(MAX(id), 0) FROM signin_log", &[])
            .await?;
        if highest == 0 {
            return Ok(());
        }
        // Past both the old and the new ids, so no row meets another on the way.
        let shift = above.max(highest);
        self.tx
            .execute("UPDATE signin_log SET id = id + $1", args![shift])
            .await?;
        Ok(())
    }

    /// Inserts rows with multi-row statements, a few hundred rows at a
    /// time. Returns how many rows were inserted.
    pub async fn insert(&mut self, rows: Rows<'_>) -> Result<u64, DbError> {
        self.write(rows, "").await
    }

    /// Inserts settings, replacing any this database already saved: the
    /// export's shop settings win.
    pub async fn upsert_settings(&mut self, rows: &[Vec<Arg>]) -> Result<u64, DbError> {
        self.write(
            Rows {
                table: "settings",
                columns: &["key", "value", "updated_at", "updated_by"],
                rows,
            },
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .await
    }

    async fn write(&mut self, rows: Rows<'_>, tail: &str) -> Result<u64, DbError> {
        self.tx
            .insert_many(rows.table, rows.columns, rows.rows, tail)
            .await
    }

    /// Points the activity head at the export's newest entry, moves
    /// PostgreSQL's id sequences past the ids written, and commits.
    pub async fn finish(mut self, head_seq: i64, head_hash: &str) -> Result<(), DbError> {
        self.tx
            .execute(
                "UPDATE activity_head SET seq = $1, hash = $2 WHERE id = 1",
                args![head_seq, head_hash],
            )
            .await?;
        crate::store::activity::move_numbers_past_head(&mut self.tx).await?;
        if self.tx.backend() == Backend::Postgres {
            // SQLite's AUTOINCREMENT follows explicit ids by itself.
            for table in IDENTITY_TABLES {
                self.tx
                    .fetch_one(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                        ),
                        &[],
                    )
                    .await?;
            }
        }
        self.tx.commit().await
    }
}
