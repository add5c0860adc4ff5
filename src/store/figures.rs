//! The maintained figures behind the dashboard and the customer counts:
//! sums and counts kept exact by database triggers (migration
//! `0007_figures.sql` of each backend), split into 16 shards by
//! `customer_id % 16` so that no single row is written by every payment.
//!
//! A bulk load may drop the triggers ([`drop_triggers`]), write, then call
//! [`rebuild_aggregates`] and [`create_triggers`] in the same transaction:
//! the rebuild recomputes every figure from the ledger, so nothing written
//! while the triggers were away is missed.

use super::db::{Backend, DbError, Tx};

const SQLITE: &str = include_str!("../../migrations/sqlite/0007_figures.sql");
const POSTGRES: &str = include_str!("../../migrations/postgres/0007_figures.sql");

/// How many shards each figure is split into; readers sum them.
pub const SHARDS: i64 = 16;

const SQLITE_TRIGGERS: &[(&str, &str)] = &[
    ("figures_customer_insert", "customers"),
    ("figures_customer_update", "customers"),
    ("figures_customer_delete", "customers"),
    ("figures_due_insert", "dues"),
    ("figures_due_update", "dues"),
    ("figures_due_delete", "dues"),
    ("figures_payment_insert", "payments"),
    ("figures_payment_update", "payments"),
    ("figures_payment_delete", "payments"),
];

const POSTGRES_TRIGGERS: &[(&str, &str)] = &[
    ("figures_customer", "customers"),
    ("figures_due", "dues"),
    ("figures_payment", "payments"),
];

/// The part of the migration after `-- section: {name}` and before the next
/// section marker.
fn section(script: &'static str, name: &str) -> &'static str {
    let marker = format!("-- section: {name}\n");
    let start = script
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("migration 0007 has a section {name}"));
    let rest = &script[start..];
    let end = rest.find("-- section: ").unwrap_or(rest.len());
    &rest[..end]
}

fn script(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// Recomputes every maintained figure (and each customer's count of
/// part-paid dues) from customers, dues and payments. Safe with the
/// triggers in place or dropped; run it in the transaction that bulk-wrote.
pub async fn rebuild_aggregates(tx: &mut Tx) -> Result<(), DbError> {
    let sql = section(script(tx.backend()), "rebuild");
    tx.execute_script(sql).await
}

/// Removes the triggers that maintain the figures (for a bulk load, which
/// must then call [`rebuild_aggregates`] and [`create_triggers`]).
pub async fn drop_triggers(tx: &mut Tx) -> Result<(), DbError> {
    let sql = match tx.backend() {
        Backend::Sqlite => SQLITE_TRIGGERS
            .iter()
            .map(|(name, _)| format!("DROP TRIGGER IF EXISTS {name};"))
            .collect::<Vec<_>>()
            .join("\n"),
        Backend::Postgres => POSTGRES_TRIGGERS
            .iter()
            .map(|(name, table)| format!("DROP TRIGGER IF EXISTS {name} ON {table};"))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    tx.execute_script(&sql).await
}

/// Puts the triggers back (dropping any still there first).
pub async fn create_triggers(tx: &mut Tx) -> Result<(), DbError> {
    drop_triggers(tx).await?;
    let sql = section(script(tx.backend()), "triggers");
    tx.execute_script(sql).await
}

/// Differences between the maintained figures and the same figures
/// recomputed from the ledger, each as `table: expected vs found`; empty
/// when they agree. For `verify` and for tests.
pub async fn check_aggregates(tx: &mut Tx) -> Result<Vec<String>, DbError> {
    // Recompute into temporary copies by running the rebuild on them.
    let tables = [
        (
            "customer_totals",
            "shard, active, deleted, owing, outstanding, credit, open_dues",
        ),
        ("owing_customers", "next_due, partial, shard, customers"),
        ("open_dues_by_day", "due_date, shard, outstanding"),
        ("payments_by_day", "paid_on, shard, collected"),
        ("dues_by_day", "issue_date, shard, issued"),
    ];
    let mut found = Vec::new();
    for (table, columns) in tables {
        found.push(snapshot(tx, table, columns).await?);
    }
    let partial_before = partial_counts(tx).await?;
    rebuild_aggregates(tx).await?;
    let mut problems = Vec::new();
    if partial_counts(tx).await? != partial_before {
        problems.push("customers.partial_dues differ from the dues".to_string());
    }
    for ((table, columns), before) in tables.into_iter().zip(found) {
        let after = snapshot(tx, table, columns).await?;
        if after != before {
            problems.push(format!("{table}: expected {after:?}, found {before:?}"));
        }
    }
    Ok(problems)
}

async fn partial_counts(tx: &mut Tx) -> Result<Vec<(i64, i64)>, DbError> {
    tx.fetch_all(
        "SELECT id, partial_dues FROM customers WHERE partial_dues <> 0 ORDER BY id",
        &[],
    )
    .await?
    .iter()
    .map(|r| Ok((r.i64("id")?, r.i64("partial_dues")?)))
    .collect()
}

/// A table's rows as text, zero rows left out, in key order.
async fn snapshot(tx: &mut Tx, table: &str, columns: &str) -> Result<Vec<String>, DbError> {
    let parts: Vec<String> = columns
        .split(", ")
        .map(|c| format!("CAST({c} AS TEXT)"))
        .collect();
    let joined = parts.join(" || '|' || ");
    let keys: Vec<&str> = columns.split(", ").collect();
    let values = &keys[keys.len().saturating_sub(match table {
        "customer_totals" => 6,
        _ => 1,
    })..];
    let nonzero = values
        .iter()
        .map(|v| format!("{v} <> 0"))
        .collect::<Vec<_>>()
        .join(" OR ");
    tx.fetch_all(
        &format!("SELECT {joined} AS line FROM {table} WHERE {nonzero} ORDER BY 1"),
        &[],
    )
    .await?
    .iter()
    .map(|r| r.text("line"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_migrations_have_both_sections() {
        for script in [SQLITE, POSTGRES] {
            assert!(section(script, "rebuild").contains("INSERT INTO customer_totals"));
            assert!(section(script, "triggers").contains("CREATE TRIGGER"));
            assert!(!section(script, "rebuild").contains("CREATE TRIGGER"));
        }
    }

    #[test]
    fn every_trigger_created_is_dropped() {
        for (script, names) in [(SQLITE, SQLITE_TRIGGERS), (POSTGRES, POSTGRES_TRIGGERS)] {
            let created = section(script, "triggers")
                .matches("CREATE TRIGGER")
                .count();
            assert_eq!(created, names.len());
            for (name, _) in names {
                assert!(section(script, "triggers").contains(&format!("CREATE TRIGGER {name} ")));
            }
        }
    }
}
