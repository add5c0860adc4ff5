//! Latency of the read endpoints against a running server: signs in, then
//! sends each request `n` times one after another (customer ids chosen at
//! random among the first `customers`) and prints p50, p95, p99 and max.
//!
//! ```sh
//! cargo build --release --example bench_reads
//! ./target/release/examples/bench_reads http://127.0.0.1:8080 admin PASSWORD 200 1000000
//! ```
//! Arguments: base URL, user name, password, requests per endpoint,
//! customers (the range of ids to pick from). Every answer must be 200.

use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let user = args.get(1).cloned().unwrap_or_else(|| "admin".into());
    let password = args.get(2).cloned().unwrap_or_default();
    let n: usize = args.get(3).map_or(Ok(200), |a| a.parse())?;
    let customers: i64 = args.get(4).map_or(Ok(1000), |a| a.parse())?;

    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign-in refused: {login}"))?
        .to_string();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let searches = [
        "sharma",
        "priya",
        "ra",
        "kumar singh",
        "9000001",
        "ananya mehta",
    ];
    type Pick = Box<dyn Fn(&mut rand::rngs::StdRng, usize) -> (String, bool)>;
    let endpoints: Vec<(&str, Pick)> = vec![
        (
            "GET /api/v1/dashboard",
            Box::new(|_, _| ("/api/v1/dashboard".into(), false)),
        ),
        (
            "GET /dashboard (web)",
            Box::new(|_, _| ("/dashboard".into(), true)),
        ),
        (
            "GET /api/v1/customers?q= (search)",
            Box::new(move |_, i| {
                (
                    format!(
                        "/api/v1/customers?q={}",
                        searches[i % searches.len()].replace(' ', "+")
                    ),
                    false,
                )
            }),
        ),
        (
            "GET /customers?q= (web search)",
            Box::new(move |_, i| {
                (
                    format!(
                        "/customers?q={}",
                        searches[i % searches.len()].replace(' ', "+")
                    ),
                    true,
                )
            }),
        ),
        (
            "GET /api/v1/customers?sort=balance_desc (top debtors)",
            Box::new(|_, _| ("/api/v1/customers?sort=balance_desc".into(), false)),
        ),
        (
            "GET /api/v1/customers/{id}",
            Box::new(move |r, _| {
                (
                    format!("/api/v1/customers/{}", r.gen_range(1..=customers)),
                    false,
                )
            }),
        ),
        (
            "GET /customers/{id} (web)",
            Box::new(move |r, _| (format!("/customers/{}", r.gen_range(1..=customers)), true)),
        ),
        (
            "GET /api/v1/customers/{id}/statement",
            Box::new(move |r, _| {
                (
                    format!("/api/v1/customers/{}/statement", r.gen_range(1..=customers)),
                    false,
                )
            }),
        ),
    ];
    println!(
        "{:<55} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "p50", "p95", "p99", "max"
    );
    for (label, pick) in endpoints {
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let (path, web) = pick(&mut rng, i);
            let request = client.get(format!("{base}{path}"));
            let request = if web {
                request.header("cookie", format!("duetrack_session={token}"))
            } else {
                request.bearer_auth(&token)
            };
            let sent = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let _ = response.bytes().await?;
            times.push(sent.elapsed());
            if status != 200 {
                anyhow::bail!("{path} answered {status}");
            }
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{label:<55} {:>9} {:>9} {:>9} {:>9}",
            ms(pct(0.50)),
            ms(pct(0.95)),
            ms(pct(0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
