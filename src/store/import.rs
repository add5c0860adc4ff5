//! The database side of importing customers with their history from
//! outside (the old system's folder, a spreadsheet): every row is worked
//! out beforehand by `crate::import`, and written here in one transaction
//! with multi-row inserts, each imported customer's activity entry chained
//! like any other. A customer already brought in by an earlier run of the
//! same import (same `import_key`) is left as it is.

use super::activity::{self, Entry, chain_hash};
use super::db::{Arg, Backend, DbError, Tx};
use super::{Store, StoreResult, now_text};
use crate::args;
use crate::domain::customers::CustomerStatus;
use crate::domain::fields::{
    CustomerName, Email, PaymentMethod, Phone, search_terms, username_stem,
};
use crate::domain::ledger::DueStatus;
use crate::domain::money::Money;
use chrono::NaiveDate;
use serde_json::json;
use std::collections::HashSet;

/// The user name recorded as the actor of everything an import writes.
pub const IMPORT_ACTOR: &str = "import";

/// Rows per INSERT statement: far below both backends' limits on
/// parameters (SQLite 32,766; PostgreSQL 65,535) for the widest table here.
const ROWS_PER_INSERT: usize = 500;

/// One customer to bring in, with the ledger rows that give its balance.
#[derive(Debug, Clone)]
pub struct ImportCustomer {
    /// Where it came from, as a hash: the same record imported again has
    /// the same key.
    pub key: String,
    /// The number it had, kept where no one here has it.
    pub wanted_id: Option<i64>,
    /// The login name it had; one is made from the name when missing or
    /// when someone here already has it.
    pub username: Option<String>,
    pub name: CustomerName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub category: Option<String>,
    /// A PHC string (Argon2id) or a werkzeug hash, never a plain password.
    pub password_hash: Option<String>,
    pub created_at: String,
    /// `Some((when, why))` for a customer deleted in the old system.
    pub deleted: Option<(String, String)>,
    /// At most a few dues, oldest first.
    pub dues: Vec<ImportDue>,
    /// Oldest first; each pays the dues before it in order.
    pub payments: Vec<ImportPayment>,
    pub balance: Money,
    pub total_dues: Money,
    pub total_paid: Money,
    pub next_due_date: Option<NaiveDate>,
    /// Where the record is, for the activity entry: `customers.csv:12`.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ImportDue {
    pub amount: Money,
    pub paid: Money,
    pub status: DueStatus,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub description: String,
    pub balance_after: Money,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct ImportPayment {
    pub amount: Money,
    /// What it paid of each due, by the due's place in `ImportCustomer::dues`.
    pub allocations: Vec<(usize, Money)>,
    pub unallocated: Money,
    pub is_advance: bool,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    pub balance_after: Money,
    pub created_at: String,
}

/// A line of the old system's own log, kept as an activity entry.
#[derive(Debug, Clone)]
pub struct ImportLog {
    /// A hash of the line's content, so that a re-run finds it.
    pub key: String,
    pub original_at: String,
    pub action: String,
    pub detail: String,
    pub origin: String,
}

/// A sign-in the old system logged.
#[derive(Debug, Clone)]
pub struct ImportSignIn {
    pub at: String,
    pub username: String,
}

/// Everything one import writes.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    /// What was read, for the activity entry that closes the import.
    pub source: String,
    pub customers: Vec<ImportCustomer>,
    pub logs: Vec<ImportLog>,
    pub sign_ins: Vec<ImportSignIn>,
}

/// What an import wrote, and what it found already here.
#[derive(Debug, Clone, Default)]
pub struct ImportWritten {
    pub customers: u64,
    pub deleted_customers: u64,
    pub dues: u64,
    pub payments: u64,
    pub logs: u64,
    pub sign_ins: u64,
    pub customers_already: u64,
    pub logs_already: u64,
    /// Customers whose old login name someone here already had: (origin,
    /// old name, name given).
    pub renamed: Vec<(String, String, String)>,
    /// Customers imported without their email because an active customer
    /// here (or earlier in the file) has it: (origin, email).
    pub email_dropped: Vec<(String, String)>,
    /// Ids of the customers added, with whether each has an email and a
    /// password, in the order given.
    pub added_ids: Vec<(i64, bool, bool)>,
}

impl Store {
    /// Writes `batch` in one transaction; `progress` hears how many
    /// customers are done after each slice.
    pub async fn import_batch(
        &self,
        batch: ImportBatch,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<ImportWritten> {
        let mut tx = self.db.write().await?;
        if tx.backend() == Backend::Sqlite {
            // A large import would otherwise spill pages to the WAL over
            // and over before it commits; this connection gets its own
            // larger page cache (in KiB) for the rest of its life.
            tx.execute("PRAGMA cache_size = -262144", &[]).await?;
        }
        // On SQLite, taking the head first holds back every other writer
        // (each one extends the chain) until this import commits. On
        // PostgreSQL the import's entries are numbered and sealed like any
        // writer's (`Chain::flush`), and the head stays the sealer's.
        let head = match tx.backend() {
            Backend::Sqlite => {
                tx.fetch_one(
                    "UPDATE activity_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
                    &[],
                )
                .await?
            }
            Backend::Postgres => {
                tx.fetch_one("SELECT seq, hash FROM activity_head WHERE id = 1", &[])
                    .await?
            }
        };
        let mut chain = Chain {
            seq: head.i64("seq")?,
            hash: head.text("hash")?,
            at: now_text(),
            rows: Vec::new(),
            key: tx.chain.clone(),
        };
        let mut written = ImportWritten::default();
        let keys = existing(
            &mut tx,
            "SELECT import_key AS v FROM customers WHERE import_key IS NOT NULL",
        )
        .await?;
        let mut usernames = existing(&mut tx, "SELECT lower(username) AS v FROM customers UNION SELECT lower(username) FROM staff_users").await?;
        let mut emails = existing(
            &mut tx,
            "SELECT email AS v FROM customers WHERE status = 'active' AND email IS NOT NULL",
        )
        .await?;
        let log_keys = existing(
            &mut tx,
            "SELECT entity_id AS v FROM activity_log WHERE entity_type = 'import_log'",
        )
        .await?;

        let mut customers = Vec::with_capacity(batch.customers.len());
        for mut c in batch.customers {
            if keys.contains(&c.key) {
                written.customers_already += 1;
                continue;
            }
            let wanted = c.username.clone().filter(|u| !u.trim().is_empty());
            let username = match &wanted {
                Some(u) if !usernames.contains(&u.to_lowercase()) => u.clone(),
                _ => {
                    let given = free_username(&usernames, &username_stem(&c.name));
                    if let Some(old) = wanted {
                        written.renamed.push((c.origin.clone(), old, given.clone()));
                    }
                    given
                }
            };
            usernames.insert(username.to_lowercase());
            c.username = Some(username);
            if c.deleted.is_none()
                && let Some(email) = &c.email
                && !emails.insert(email.as_str().to_string())
            {
                written
                    .email_dropped
                    .push((c.origin.clone(), email.as_str().to_string()));
                c.email = None;
            }
            customers.push(c);
        }
        let ids = customer_ids(&customers, next_id(&mut tx, "customers").await?);
        let mut due_id = next_id(&mut tx, "dues").await?;
        let mut payment_id = next_id(&mut tx, "payments").await?;

        let set_aside = if customers.len() >= MANY {
            set_indexes_aside(&mut tx).await?
        } else {
            Vec::new()
        };
        let mut done = 0u64;
        let mut ids = ids.into_iter();
        let mut terms: Vec<(String, i64)> = Vec::new();
        for slice in customers.chunks(ROWS_PER_INSERT) {
            let mut customer_rows = Vec::new();
            let mut due_rows = Vec::new();
            let mut payment_rows = Vec::new();
            let mut allocation_rows = Vec::new();
            for c in slice {
                let id = ids.next().unwrap_or_default();
                let (status, deleted_at, reason) = match &c.deleted {
                    Some((at, why)) => {
                        (CustomerStatus::Deleted, Some(at.clone()), Some(why.clone()))
                    }
                    None => (CustomerStatus::Active, None, None),
                };
                customer_rows.push(vec![
                    Arg::from(id),
                    Arg::from(c.username.clone()),
                    Arg::from(c.name.as_str()),
                    Arg::from(c.name.sort_key()),
                    Arg::from(c.phone.as_ref().map(|p| p.as_str())),
                    Arg::from(c.email.as_ref().map(|e| e.as_str())),
                    Arg::from(c.address.clone()),
                    Arg::from(c.category.clone()),
                    Arg::from(status.as_str()),
                    Arg::from(c.balance),
                    Arg::from(c.total_dues),
                    Arg::from(c.total_paid),
                    Arg::from(c.next_due_date),
                    Arg::from(c.password_hash.clone()),
                    Arg::from(c.created_at.clone()),
                    Arg::from(c.created_at.clone()),
                    Arg::from(deleted_at),
                    Arg::from(reason),
                    Arg::from(c.key.clone()),
                ]);
                let own: HashSet<String> =
                    search_terms(&c.name, c.email.as_ref(), c.phone.as_ref())
                        .into_iter()
                        .collect();
                terms.extend(own.into_iter().map(|term| (term, id)));
                let (first_due, first_payment) = (due_id, payment_id);
                let mut logged_allocations = Vec::new();
                for d in &c.dues {
                    due_rows.push(vec![
                        Arg::from(due_id),
                        Arg::from(id),
                        Arg::from(d.amount),
                        Arg::from(d.paid),
                        Arg::from(d.description.clone()),
                        Arg::from(d.issue_date),
                        Arg::from(d.due_date),
                        Arg::from(d.status.as_str()),
                        Arg::from(d.balance_after),
                        Arg::from(IMPORT_ACTOR),
                        Arg::from(d.created_at.clone()),
                    ]);
                    due_id += 1;
                }
                for p in &c.payments {
                    payment_rows.push(vec![
                        Arg::from(payment_id),
                        Arg::from(id),
                        Arg::from(p.amount),
                        Arg::from(p.unallocated),
                        Arg::from(p.method.as_str()),
                        Arg::from(p.reference.clone()),
                        Arg::from(p.paid_on),
                        Arg::from(i64::from(p.is_advance)),
                        Arg::from("recorded"),
                        Arg::from(p.balance_after),
                        Arg::from(IMPORT_ACTOR),
                        Arg::from(p.created_at.clone()),
                    ]);
                    for (due, amount) in &p.allocations {
                        logged_allocations.push((payment_id, first_due + *due as i64, *amount));
                        allocation_rows.push(vec![
                            Arg::from(payment_id),
                            Arg::from(first_due + *due as i64),
                            Arg::from(*amount),
                        ]);
                    }
                    payment_id += 1;
                }
                chain.push(
                    "customer.imported",
                    "customer",
                    id.to_string(),
                    json!({
                        "name": c.name.as_str(), "phone": c.phone.as_ref().map(|p| p.as_str()),
                        "email": c.email.as_ref().map(|e| e.as_str()), "address": c.address,
                        "category": c.category, "status": status, "balance": c.balance,
                        "dues": c.dues.iter().map(|d| d.amount).collect::<Vec<_>>(),
                        "payments": c.payments.iter().map(|p| p.amount).collect::<Vec<_>>(),
                        "due_ids": (first_due..due_id).collect::<Vec<_>>(),
                        "payment_ids": (first_payment..payment_id).collect::<Vec<_>>(),
                        "allocations": logged_allocations,
                        "from": c.origin,
                    }),
                );
                written.customers += 1;
                if c.deleted.is_some() {
                    written.deleted_customers += 1;
                }
                written.dues += c.dues.len() as u64;
                written.payments += c.payments.len() as u64;
                written
                    .added_ids
                    .push((id, c.email.is_some(), c.password_hash.is_some()));
            }
            insert(
                &mut tx,
                "customers",
                &[
                    "id",
                    "username",
                    "name",
                    "name_key",
                    "phone",
                    "email",
                    "address",
                    "category",
                    "status",
                    "balance",
                    "total_dues",
                    "total_paid",
                    "next_due_date",
                    "password_hash",
                    "created_at",
                    "updated_at",
                    "deleted_at",
                    "delete_reason",
                    "import_key",
                ],
                customer_rows,
            )
            .await?;
            insert(
                &mut tx,
                "dues",
                &[
                    "id",
                    "customer_id",
                    "amount",
                    "paid",
                    "description",
                    "issue_date",
                    "due_date",
                    "status",
                    "balance_after",
                    "created_by",
                    "created_at",
                ],
                due_rows,
            )
            .await?;
            insert(
                &mut tx,
                "payments",
                &crate::store::ledger::RECORDED_PAYMENT_COLUMNS,
                payment_rows,
            )
            .await?;
            insert(
                &mut tx,
                "allocations",
                &["payment_id", "due_id", "amount"],
                allocation_rows,
            )
            .await?;
            chain.flush(&mut tx).await?;
            done += slice.len() as u64;
            progress(done);
        }

        for log in batch.logs {
            if log_keys.contains(&log.key) {
                written.logs_already += 1;
                continue;
            }
            chain.push(
                "imported.log",
                "import_log",
                log.key,
                json!({"at": log.original_at, "action": log.action, "detail": log.detail, "from": log.origin}),
            );
            written.logs += 1;
            if chain.rows.len() >= ROWS_PER_INSERT {
                chain.flush(&mut tx).await?;
            }
        }
        let sign_in_rows: Vec<Vec<Arg>> =
            if written.logs_already > 0 || written.customers_already > 0 {
                // Sign-ins carry no key of their own: a re-run leaves them.
                Vec::new()
            } else {
                batch
                    .sign_ins
                    .into_iter()
                    .map(|s| {
                        vec![
                            Arg::from(s.at),
                            Arg::from("customer"),
                            Arg::from(s.username),
                            Arg::from(1i64),
                            Arg::from("imported"),
                            Arg::from("(imported)"),
                        ]
                    })
                    .collect()
            };
        written.sign_ins = sign_in_rows.len() as u64;
        for rows in sign_in_rows.chunks(ROWS_PER_INSERT) {
            insert(
                &mut tx,
                "signin_log",
                &["at", "kind", "username", "success", "reason", "address"],
                rows.to_vec(),
            )
            .await?;
        }
        if written.customers > 0 || written.logs > 0 || written.sign_ins > 0 {
            chain.push(
                "import.finished",
                "import",
                batch.source.clone(),
                json!({
                    "source": batch.source, "customers": written.customers, "dues": written.dues,
                    "payments": written.payments, "logs": written.logs, "sign_ins": written.sign_ins,
                    "customers_already_here": written.customers_already,
                }),
            );
        }
        chain.flush(&mut tx).await?;
        // In the index's order, so that each lands beside the one before.
        terms.sort_unstable();
        for slice in terms.chunks(ROWS_PER_INSERT * 10) {
            let rows = slice
                .iter()
                .map(|(term, id)| vec![Arg::from(term.as_str()), Arg::from(*id)])
                .collect();
            insert(
                &mut tx,
                "customer_search_terms",
                &["term", "customer_id"],
                rows,
            )
            .await?;
        }
        for (name, sql) in set_aside {
            tracing::debug!(index = %name, "rebuilding");
            tx.execute(&sql, &[]).await?;
        }
        for table in ["customers", "dues", "payments"] {
            move_sequence_past(&mut tx, table).await?;
        }
        if tx.backend() == Backend::Sqlite {
            tx.execute(
                "UPDATE activity_head SET seq = $1, hash = $2 WHERE id = 1",
                args![chain.seq, chain.hash.clone()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(written)
    }
}

/// Activity entries worked out in order and written in slices.
struct Chain {
    seq: i64,
    hash: String,
    at: String,
    rows: Vec<Vec<Arg>>,
    key: Option<std::sync::Arc<crate::chain::ChainKey>>,
}

impl Chain {
    fn push(
        &mut self,
        action: &str,
        entity_type: &str,
        entity_id: String,
        after: serde_json::Value,
    ) {
        self.seq += 1;
        let entry = Entry {
            seq: self.seq,
            at: &self.at,
            actor: IMPORT_ACTOR,
            action,
            entity_type,
            entity_id,
            before: None,
            after: Some(after.to_string()),
        };
        let hash = chain_hash(self.key.as_deref(), &entry.canonical(&self.hash));
        self.rows.push(entry.row(&self.hash, &hash));
        self.hash = hash;
    }

    async fn flush(&mut self, tx: &mut Tx) -> Result<(), DbError> {
        let mut rows = std::mem::take(&mut self.rows);
        if tx.backend() == Backend::Postgres && !rows.is_empty() {
            // Numbered from the log's sequence and left for the sealer, as
            // every writer's entries are on PostgreSQL.
            let seqs = activity::take_numbers(tx, rows.len()).await?;
            for (row, seq) in rows.iter_mut().zip(seqs) {
                row[0] = Arg::from(seq);
                row[8] = Arg::from(activity::UNSEALED);
                row[9] = Arg::from(activity::UNSEALED);
            }
        }
        activity::insert_entries(tx, &rows).await
    }
}

/// One column of text values read into a set.
async fn existing(tx: &mut Tx, sql: &str) -> Result<HashSet<String>, DbError> {
    tx.fetch_all(sql, &[])
        .await?
        .iter()
        .map(|r| r.text("v"))
        .collect()
}

/// A login name not in `taken` (lower-cased), made from `stem`.
fn free_username(taken: &HashSet<String>, stem: &str) -> String {
    if !taken.contains(stem) {
        return stem.to_string();
    }
    (2..)
        .map(|n| format!("{stem}{n}"))
        .find(|u| !taken.contains(u))
        .unwrap_or_else(|| stem.to_string())
}

/// From how many customers on an import sets the secondary indexes of the
/// tables it fills aside and builds them again at the end: one sort per
/// index is far quicker than as many scattered inserts as there are rows.
const MANY: usize = 20_000;

/// On SQLite, drops the secondary indexes of the tables an import fills
/// (inside the import's transaction, so that a failure puts them back)
/// and returns their definitions to create them again. Other connections
/// keep reading the snapshot before the transaction, indexes and all.
/// Indexes that back a UNIQUE or PRIMARY KEY constraint stay.
async fn set_indexes_aside(tx: &mut Tx) -> Result<Vec<(String, String)>, DbError> {
    if tx.backend() != Backend::Sqlite {
        return Ok(Vec::new());
    }
    let rows = tx
        .fetch_all(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name IN ('customers', 'customer_search_terms', 'dues', 'payments', 'allocations', 'activity_log')",
            &[],
        )
        .await?;
    let mut aside = Vec::with_capacity(rows.len());
    for row in rows {
        let (name, sql) = (row.text("name")?, row.text("sql")?);
        tx.execute(&format!("DROP INDEX {name}"), &[]).await?;
        aside.push((name, sql));
    }
    Ok(aside)
}

/// The id each customer gets: the one it had where that is above every id
/// here and not wanted twice, otherwise the next one after all of those.
fn customer_ids(customers: &[ImportCustomer], first_free: i64) -> Vec<i64> {
    let mut seen = HashSet::new();
    let keep: Vec<bool> = customers
        .iter()
        .map(|c| {
            c.wanted_id
                .is_some_and(|id| id >= first_free && seen.insert(id))
        })
        .collect();
    let mut next = customers
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .filter_map(|(c, _)| c.wanted_id)
        .max()
        .map_or(first_free, |m| m + 1);
    customers
        .iter()
        .zip(keep)
        .map(|(c, k)| match (k, c.wanted_id) {
            (true, Some(id)) => id,
            _ => {
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// The first id in `table` that no one has had. The write transaction
/// already holds the activity head, which every other writer needs; on
/// PostgreSQL the table is also locked so that no insert draws from its
/// sequence until this transaction ends.
async fn next_id(tx: &mut Tx, table: &str) -> Result<i64, DbError> {
    let sql = match tx.backend() {
        Backend::Sqlite => format!(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0),
                        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0))"
        ),
        Backend::Postgres => {
            tx.execute(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE"), &[])
                .await?;
            let seq = sequence_of(tx, table).await?;
            format!(
                "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0),
                                 (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {seq}))"
            )
        }
    };
    Ok(tx.scalar(&sql, &[]).await? + 1)
}

async fn sequence_of(tx: &mut Tx, table: &str) -> Result<String, DbError> {
    tx.fetch_one(
        &format!("SELECT pg_get_serial_sequence('{table}', 'id') AS s"),
        &[],
    )
    .await?
    .text("s")
}

/// On PostgreSQL, moves `table`'s sequence past the ids written with their
/// number given; SQLite's AUTOINCREMENT follows by itself.
async fn move_sequence_past(tx: &mut Tx, table: &str) -> Result<(), DbError> {
    if tx.backend() == Backend::Postgres {
        let seq = sequence_of(tx, table).await?;
        tx.execute(
            &format!(
                "SELECT setval($1, (SELECT MAX(id) FROM {table}), true) WHERE EXISTS (SELECT 1 FROM {table})"
            ),
            args![seq],
        )
        .await?;
    }
    Ok(())
}

async fn insert(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
) -> Result<(), DbError> {
    tx.insert_many(table, columns, &rows, "").await.map(|_| ())
}
