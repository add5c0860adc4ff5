//! What the databases can do at most on this machine, through the same
//! driver (sqlx) that duetrack uses, for `scripts/bench.sh` to set beside
//! the service's own figures:
//!
//! - SQLite in WAL mode with `synchronous=FULL`: single transactions of one
//!   insert and one update per second, and rows per second inserted in
//!   transactions of 100 rows;
//! - PostgreSQL: the same one-insert-one-update transactions per second from
//!   1 and from 16 clients, each client updating its own row (so that what
//!   is measured is the commit, not a lock).
//!
//! cargo run --release --example bench_ceilings -- sqlite DIR [SECONDS]
//! cargo run --release --example bench_ceilings -- postgres ADMIN_URL [SECONDS]
//!
//! Prints `key=value` lines.

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: f64 = args.get(2).map_or(Ok(4.0), |s| s.parse())?;
    let span = Duration::from_secs_f64(seconds);
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("sqlite"), Some(dir)) => sqlite(std::path::Path::new(dir), span).await,
        (Some("postgres"), Some(url)) => postgres(url, span).await,
        _ => anyhow::bail!(
            "usage: bench_ceilings sqlite DIR [SECONDS] | postgres ADMIN_URL [SECONDS]"
        ),
    }
}

async fn sqlite(dir: &std::path::Path, span: Duration) -> anyhow::Result<()> {
    let path = dir.join("ceiling.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::query("CREATE TABLE entries (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL, note TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    sqlx::query("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
        .execute(&mut conn)
        .await?;
    sqlx::query("INSERT INTO accounts (id, balance) VALUES (1, 0)")
        .execute(&mut conn)
        .await?;

    // One insert and one update per durable transaction.
    let started = Instant::now();
    let mut commits = 0u64;
    while started.elapsed() < span {
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO entries (account, amount, note) VALUES (1, 100, 'payment')")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE accounts SET balance = balance + 100 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        commits += 1;
    }
    println!(
        "sqlite_commits_per_s={:.0}",
        commits as f64 / started.elapsed().as_secs_f64()
    );

    // Rows in batches of 100 per transaction, one multi-row insert each.
    let values = vec!["(1, 100, ?)"; 100].join(", ");
    let sql = format!("INSERT INTO entries (account, amount, note) VALUES {values}");
    let started = Instant::now();
    let mut rows = 0u64;
    while started.elapsed() < span {
        let mut tx = conn.begin().await?;
        let mut query = sqlx::query(&sql);
        for i in 0..100 {
            query = query.bind(format!("row {}", rows + i));
        }
        query.execute(&mut *tx).await?;
        sqlx::query("UPDATE accounts SET balance = balance + 10000 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rows += 100;
    }
    println!(
        "sqlite_batch100_rows_per_s={:.0}",
        rows as f64 / started.elapsed().as_secs_f64()
    );
    conn.close().await?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}

async fn postgres(admin: &str, span: Duration) -> anyhow::Result<()> {
    let name = format!("duetrack_ceiling_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    let url = format!("{base}/{name}");
    let result = async {
        let mut db = sqlx::PgConnection::connect(&url).await?;
        sqlx::query("CREATE TABLE entries (id BIGSERIAL PRIMARY KEY, account BIGINT NOT NULL, amount BIGINT NOT NULL, note TEXT NOT NULL)")
            .execute(&mut db)
            .await?;
        sqlx::query("CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)")
            .execute(&mut db)
            .await?;
        sqlx::query("INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 16) g")
            .execute(&mut db)
            .await?;
        db.close().await?;
        for clients in [1usize, 16] {
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for client in 1..=clients {
                let url = url.clone();
                tasks.spawn(async move {
                    let mut db = sqlx::PgConnection::connect(&url).await?;
                    let mut commits = 0u64;
                    while started.elapsed() < span {
                        let mut tx = db.begin().await?;
                        sqlx::query("INSERT INTO entries (account, amount, note) VALUES ($1, 100, 'payment')")
                            .bind(client as i64)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE accounts SET balance = balance + 100 WHERE id = $1")
                            .bind(client as i64)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        commits += 1;
                    }
                    db.close().await?;
                    anyhow::Ok(commits)
                });
            }
            let mut commits = 0;
            while let Some(done) = tasks.join_next().await {
                commits += done??;
            }
            println!(
                "postgres_commits_per_s_{clients}_clients={:.0}",
                commits as f64 / started.elapsed().as_secs_f64()
            );
        }
        anyhow::Ok(())
    }
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await?;
    result
}
