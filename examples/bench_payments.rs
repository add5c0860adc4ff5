//! Durable payments per second through the whole stack: HTTP on loopback,
//! validation, the ledger transaction and its commit. Method and figures are
//! in BENCHMARKS.md.
//!
//! cargo run --release --example bench_payments -- [sqlite|postgres] [payments] [concurrency] [customers]

use duetrack::config::{Config, RawSettings};
use duetrack::startup::Application;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = args.first().map_or("sqlite", String::as_str).to_string();
    let payments: usize = args.get(1).map_or(Ok(5000), |a| a.parse())?;
    let concurrency: usize = args.get(2).map_or(Ok(64), |a| a.parse())?;
    let customers: usize = args.get(3).map_or(Ok(50), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let database_url = match backend.as_str() {
        "sqlite" => None,
        "postgres" => Some(fresh_postgres().await?),
        other => anyhow::bail!("unknown backend {other}; use sqlite or postgres"),
    };
    let config = Config::from_raw(&RawSettings {
        database_url,
        data_dir: Some(dir.path().to_string_lossy().into_owned()),
        bind: Some("127.0.0.1:0".into()),
        admin_password: Some("bench-password".into()),
        db_max_connections: Some("16".into()),
        ..Default::default()
    })?;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let token = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "bench-password"}))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut ids = Vec::new();
    for i in 0..customers {
        let c: serde_json::Value = client
            .post(format!("{base}/api/v1/customers"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("Customer {i}")}))
            .send()
            .await?
            .json()
            .await?;
        let id = c["id"].as_i64().unwrap_or_default();
        client
            .post(format!("{base}/api/v1/customers/{id}/dues"))
            .bearer_auth(&token)
            .json(&json!({"amount": "1000000.00"}))
            .send()
            .await?;
        ids.push(id);
    }

    let gate = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for n in 0..payments {
        let permit = gate.clone().acquire_owned().await?;
        let request = client
            .post(format!(
                "{base}/api/v1/customers/{}/payments",
                ids[n % ids.len()]
            ))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("bench-{n}"))
            .json(&json!({"amount": "1.00", "method": "upi", "reference": format!("T{n}")}));
        tasks.spawn(async move {
            let sent = Instant::now();
            let status = request
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            drop(permit);
            (status, sent.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(payments);
    let mut failures = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, latency) = done?;
        if status != 201 {
            failures += 1;
        }
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "backend={backend} payments={payments} concurrency={concurrency} customers={customers} failures={failures}\n\
         elapsed={:.2}s  throughput={:.0} payments/s  p50={:?}  p99={:?}  max={:?}",
        elapsed.as_secs_f64(),
        payments as f64 / elapsed.as_secs_f64(),
        round(pct(0.50)),
        round(pct(0.99)),
        round(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    Ok(())
}

fn round(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64 / 100 * 100)
}

async fn fresh_postgres() -> anyhow::Result<String> {
    use sqlx::Connection;
    let admin = std::env::var("DUETRACK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    let name = format!("duetrack_bench_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    Ok(format!("{base}/{name}"))
}
