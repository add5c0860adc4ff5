//! Prepares a running `duetrack serve` for `scripts/bench.sh`, through its
//! API: signs in, creates CUSTOMERS customers (without email, so that
//! payments queue no receipts) each owing 1,000,000.00 (so
//! that payments of 1.00 never overpay), and writes the bearer token to
//! OUT_DIR/token and the customer ids, one a line, to OUT_DIR/ids.
//!
//! cargo run --release --example bench_setup -- BASE_URL PASSWORD CUSTOMERS OUT_DIR

use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, password, customers, out] = args.as_slice() else {
        anyhow::bail!("usage: bench_setup BASE_URL PASSWORD CUSTOMERS OUT_DIR");
    };
    let customers: usize = customers.parse()?;
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token in {login}"))?
        .to_string();
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..customers {
        let (client, token, base, gate) =
            (client.clone(), token.clone(), base.clone(), gate.clone());
        tasks.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            let created: Value = client
                .post(format!("{base}/api/v1/customers"))
                .bearer_auth(&token)
                .json(&json!({"name": format!("Bench customer {i}")}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let id = created["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no id in {created}"))?;
            client
                .post(format!("{base}/api/v1/customers/{id}/dues"))
                .bearer_auth(&token)
                .json(&json!({"amount": "1000000.00", "description": "Bench opening balance"}))
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok(id)
        });
    }
    let mut ids = Vec::with_capacity(customers);
    while let Some(done) = tasks.join_next().await {
        ids.push(done??);
    }
    ids.sort_unstable();
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("token"), &token)?;
    let lines: Vec<String> = ids.iter().map(i64::to_string).collect();
    std::fs::write(out.join("ids"), lines.join("\n") + "\n")?;
    println!("{} customers ready", ids.len());
    Ok(())
}
