//! The real binary killed with SIGKILL in the middle of a payment load (and
//! voids of some of those payments), then
//! started again on the same database: nothing acknowledged is lost, nothing
//! is recorded twice, and `duetrack verify` finds the store whole.

use crate::helpers::{ADMIN_PASSWORD, Backend, fresh_postgres_database};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_duetrack");

crate::on_both_backends!(a_kill_under_payment_load_loses_and_doubles_nothing);

/// A `duetrack serve` child process and a signed-in client for it.
pub struct Node {
    child: Child,
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
}

/// A command for the binary with a clean environment: only what is given.
pub fn duetrack(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir).env_clear().env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// The environment for a store in `dir`: SQLite there, or a fresh
/// PostgreSQL database (the data folder still holds the chain key).
pub async fn store_env(backend: Backend, dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "DUETRACK_DATA_DIR",
            dir.join("data").to_string_lossy().into_owned(),
        ),
        ("DUETRACK_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        ("DUETRACK_SCHEDULER", "off".to_string()),
        ("DUETRACK_TIMEZONE", "Asia/Kolkata".to_string()),
    ];
    if backend == Backend::Postgres {
        env.push(("DATABASE_URL", fresh_postgres_database().await));
    }
    env
}

impl Node {
    /// Starts `duetrack serve` on a free port and signs the owner in.
    pub async fn start(dir: &Path, env: &[(&str, String)]) -> Node {
        let port = crate::smtp::free_port();
        let mut env = env.to_vec();
        env.push(("DUETRACK_BIND", format!("127.0.0.1:{port}")));
        let mut child = duetrack(dir, &env)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        for _ in 0..300 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                let reply = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status(), 200, "the owner signs in");
                let token = reply.json::<Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_string();
                return Node {
                    child,
                    base,
                    client,
                    token,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not come up on {base}");
    }

    /// SIGKILL: no graceful shutdown, no flushing, nothing.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// SIGTERM, as an operator would: a graceful shutdown that exits 0.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "a graceful shutdown exits 0: {exit:?}");
    }

    pub async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {body}"
        );
        body
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// "123.45" as 12345.
pub fn cents(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    let fraction = format!("{fraction:0<2}");
    whole.parse::<i64>().unwrap() * 100 + fraction[..2].parse::<i64>().unwrap()
}

#[derive(Debug, Clone)]
enum Outcome {
    /// 201 with this payment id.
    Acknowledged(i64),
    /// Some other answer.
    Answered(u16, Value),
    /// The connection broke before an answer: the kill, or after it.
    NoAnswer,
}

#[derive(Debug, Clone)]
struct Attempt {
    key: String,
    customer: i64,
    amount: String,
    outcome: Outcome,
}

fn payment_body(attempt: &Attempt) -> Value {
    json!({"amount": attempt.amount, "method": "upi", "reference": attempt.key})
}

async fn send_payment(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    attempt: &Attempt,
) -> Result<(u16, bool, Value), reqwest::Error> {
    let response = client
        .post(format!(
            "{base}/api/v1/customers/{}/payments",
            attempt.customer
        ))
        .bearer_auth(token)
        .header("Idempotency-Key", &attempt.key)
        .json(&payment_body(attempt))
        .send()
        .await?;
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let body = response.json::<Value>().await?;
    Ok((status, replayed, body))
}

async fn a_kill_under_payment_load_loses_and_doubles_nothing(backend: Backend) {
    const CUSTOMERS: usize = 4;
    const WORKERS: usize = 16;
    const KILL_AFTER: usize = 300;
    const INITIAL_DUE: &str = "10000000.00";
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let env = store_env(backend, dir.path()).await;

    let node = Node::start(dir.path(), &env).await;
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let c = node
            .ok(
                "POST",
                "/api/v1/customers",
                json!({"name": format!("Load {i}"), "email": format!("load{i}@example.com")}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        node.ok(
            "POST",
            &format!("/api/v1/customers/{c}/dues"),
            json!({"amount": INITIAL_DUE}),
        )
        .await;
        customers.push(c);
    }

    // The load: unique keys from many tasks until the process dies.
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let acked_ids: Arc<Mutex<Vec<i64>>> = Arc::default();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (attempts, acknowledged, next, stop, acked_ids) = (
            attempts.clone(),
            acknowledged.clone(),
            next.clone(),
            stop.clone(),
            acked_ids.clone(),
        );
        let (client, base, token) = (node.client.clone(), node.base.clone(), node.token.clone());
        let customers = customers.clone();
        workers.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let mut attempt = Attempt {
                    key: format!("crash-{n:05}"),
                    customer: customers[n % customers.len()],
                    amount: format!("{}.{:02}", 1 + n % 97, n % 100),
                    outcome: Outcome::NoAnswer,
                };
                let result = send_payment(&client, &base, &token, &attempt).await;
                let broken = result.is_err();
                attempt.outcome = match result {
                    Ok((201, _, body)) => {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        let id = body["id"].as_i64().expect("a payment id");
                        acked_ids.lock().unwrap().push(id);
                        Outcome::Acknowledged(id)
                    }
                    Ok((status, _, body)) => Outcome::Answered(status, body),
                    Err(_) => Outcome::NoAnswer,
                };
                attempts.lock().unwrap().push(attempt);
                if broken {
                    break;
                }
            }
        });
    }
    // Meanwhile a clerk voids recent payments, one at a time.
    let voids: Arc<Mutex<Vec<(i64, Outcome)>>> = Arc::default();
    {
        let (voids, stop, acked_ids) = (voids.clone(), stop.clone(), acked_ids.clone());
        let (client, base, token) = (node.client.clone(), node.base.clone(), node.token.clone());
        workers.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let Some(id) = acked_ids.lock().unwrap().pop() else {
                    continue;
                };
                let result = client
                    .post(format!("{base}/api/v1/payments/{id}/void"))
                    .bearer_auth(&token)
                    .json(&json!({"reason": "entered twice"}))
                    .send()
                    .await;
                let outcome = match result {
                    Ok(r) if r.status() == 200 => Outcome::Acknowledged(id),
                    Ok(r) => Outcome::Answered(r.status().as_u16(), Value::Null),
                    Err(_) => Outcome::NoAnswer,
                };
                let broken = matches!(outcome, Outcome::NoAnswer);
                voids.lock().unwrap().push((id, outcome));
                if broken {
                    break;
                }
            }
        });
    }
    while acknowledged.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load never reached {KILL_AFTER} payments"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill();
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    let attempts = attempts.lock().unwrap().clone();
    let acked: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Acknowledged(_)))
        .collect();
    for attempt in &attempts {
        if let Outcome::Answered(status, body) = &attempt.outcome {
            assert_eq!(
                *status, 503,
                "before the kill the only refusal is a busy database: {body}"
            );
        }
    }

    // The same database, a new process.
    let node = Node::start(dir.path(), &env).await;
    let mut final_ids: BTreeMap<String, i64> = BTreeMap::new();
    let mut replayed_acked = 0;
    for attempt in &acked {
        let Outcome::Acknowledged(id) = attempt.outcome else {
            unreachable!()
        };
        let (status, replayed, body) = send_payment(&node.client, &node.base, &node.token, attempt)
            .await
            .unwrap();
        assert_eq!(status, 201, "{}: {body}", attempt.key);
        assert!(
            replayed,
            "{}: an acknowledged payment survived the kill and is replayed, not recorded again",
            attempt.key
        );
        assert_eq!(body["id"], id, "{}: the same payment", attempt.key);
        assert_eq!(body["reference"], attempt.key.as_str());
        replayed_acked += 1;
        final_ids.insert(attempt.key.clone(), id);
    }
    // Keys without a 201: retried once; each gives one payment, new or replayed.
    let mut unanswered = 0;
    let mut committed_unanswered = 0;
    for attempt in attempts
        .iter()
        .filter(|a| !matches!(a.outcome, Outcome::Acknowledged(_)))
    {
        unanswered += 1;
        let (status, replayed, body) = send_payment(&node.client, &node.base, &node.token, attempt)
            .await
            .unwrap();
        assert_eq!(status, 201, "{}: {body}", attempt.key);
        if replayed {
            committed_unanswered += 1;
        }
        final_ids.insert(attempt.key.clone(), body["id"].as_i64().unwrap());
    }

    // Voids: each acknowledged one stands; any other is tried once more.
    let voids = voids.lock().unwrap().clone();
    let mut voids_acknowledged = 0;
    for (id, outcome) in &voids {
        match outcome {
            Outcome::Acknowledged(_) => voids_acknowledged += 1,
            Outcome::Answered(status, _) => assert_eq!(*status, 503, "void of {id}"),
            Outcome::NoAnswer => {}
        }
        let (status, body) = node
            .call(
                "POST",
                &format!("/api/v1/payments/{id}/void"),
                json!({"reason": "entered twice"}),
            )
            .await;
        match outcome {
            Outcome::Acknowledged(_) => {
                assert_eq!(status, 409, "void of {id} survived the kill: {body}");
                assert_eq!(body["code"], "already_void");
            }
            _ => assert!(
                status == 200 || (status == 409 && body["code"] == "already_void"),
                "void of {id} retried: {status} {body}"
            ),
        }
    }
    let voided: BTreeSet<i64> = voids.iter().map(|(id, _)| *id).collect();

    // The ledger: exactly one payment per key, and the balances add up.
    let mut stored = BTreeSet::new();
    for (index, &c) in customers.iter().enumerate() {
        let payments = node
            .ok(
                "GET",
                &format!("/api/v1/customers/{c}/payments"),
                Value::Null,
            )
            .await;
        let items = payments["items"].as_array().unwrap();
        let mut references = BTreeSet::new();
        let mut paid = 0;
        let mut void = 0;
        for p in items {
            let id = p["id"].as_i64().unwrap();
            if voided.contains(&id) {
                assert_eq!(p["status"], "void", "{p}");
                void += cents(p["amount"].as_str().unwrap());
            } else {
                assert_eq!(p["status"], "recorded", "{p}");
                paid += cents(p["amount"].as_str().unwrap());
            }
            let reference = p["reference"].as_str().unwrap().to_string();
            assert!(
                references.insert(reference.clone()),
                "customer {index}: two payments for key {reference}"
            );
            assert_eq!(
                final_ids.get(&reference),
                p["id"].as_i64().as_ref(),
                "payment {} is the one its key answers with",
                p["id"]
            );
            stored.insert(reference);
        }
        let expected: i64 = attempts
            .iter()
            .filter(|a| a.customer == c)
            .map(|a| cents(&a.amount))
            .sum();
        assert_eq!(
            paid + void,
            expected,
            "customer {index}: the sum of its payments"
        );
        let customer = node
            .ok("GET", &format!("/api/v1/customers/{c}"), Value::Null)
            .await;
        assert_eq!(
            cents(customer["balance"].as_str().unwrap()),
            cents(INITIAL_DUE) - paid,
            "customer {index}: balance = due - distinct payments"
        );
    }
    assert_eq!(
        stored.len(),
        attempts.len(),
        "every key has exactly one payment"
    );

    // Each payment queued its receipt in its own transaction: none lost to
    // the kill, none doubled by the retries. Without SMTP each is written
    // once as a file, named by its outbox row.
    let receipts = node
        .ok("GET", "/api/v1/emails?kind=receipt&per_page=1", Value::Null)
        .await;
    assert_eq!(receipts["total"], attempts.len(), "one receipt per payment");
    let outbox = dir.path().join("data/outbox");
    let receipt_files = || {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with("-receipt.eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    let waiting = Instant::now();
    while receipt_files() < attempts.len() && waiting.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receipt_files(), attempts.len(), "each receipt written once");

    let verify = duetrack(dir.path(), &env).arg("verify").output().unwrap();
    assert!(
        verify.status.success(),
        "verify after the kill: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    node.kill();
    println!(
        "{backend:?}: {} payments sent, {} acknowledged before SIGKILL and replayed after, \
         {unanswered} without a 201 retried ({committed_unanswered} had committed and were replayed), \
         {} voids tried during the load ({voids_acknowledged} acknowledged), {:.1}s",
        attempts.len(),
        replayed_acked,
        voided.len(),
        started.elapsed().as_secs_f64()
    );
}
