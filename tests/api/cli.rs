//! The real binary: start-up, restart, configuration errors and `verify`.

use crate::helpers::{ADMIN_PASSWORD, Backend, fresh_postgres_database};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_duetrack");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command for the binary with a clean environment: only what is given.
fn duetrack(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir).env_clear().env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(dir: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let mut env = env.to_vec();
        env.push(("DUETRACK_BIND", format!("127.0.0.1:{port}")));
        let mut child = duetrack(dir, &env)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                return Server { child, base };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not come up on {base}");
    }

    /// Stops the server with SIGTERM, as an operator would, and returns what it printed.
    fn stop(self) -> String {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let output = self.child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a graceful shutdown exits 0: {:?}",
            output.status
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

async fn login(base: &str, password: &str) -> Option<String> {
    let reply = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    if !reply.status().is_success() {
        return None;
    }
    reply.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .map(str::to_string)
}

async fn call(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let reply = reqwest::Client::new()
        .request(
            method.to_uppercase().parse().unwrap(),
            format!("{base}{path}"),
        )
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "{method} {path}: {}",
        reply.status()
    );
    reply.json().await.unwrap()
}

fn run(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    duetrack(dir, env).args(args).output().unwrap()
}

async fn database_env(backend: Backend, dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![(
        "DUETRACK_DATA_DIR",
        dir.join("data").to_string_lossy().into_owned(),
    )];
    if backend == Backend::Postgres {
        env.push(("DATABASE_URL", fresh_postgres_database().await));
    }
    env
}

/// Changes the stored data behind the application's back.
async fn tamper(backend: Backend, env: &[(&str, String)], dir: &Path, sql: &str) {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.join("data/duetrack.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let url = &env.iter().find(|(k, _)| *k == "DATABASE_URL").unwrap().1;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

async fn a_restart_keeps_everything_and_verify_checks_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = database_env(backend, dir.path()).await;
    env.push(("DUETRACK_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()));

    let server = Server::start(dir.path(), &env).await;
    let token = login(&server.base, ADMIN_PASSWORD)
        .await
        .expect("the owner signs in");
    let c = call(
        &server.base,
        &token,
        "POST",
        "/api/v1/customers",
        json!({"name": "Kept"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    call(
        &server.base,
        &token,
        "POST",
        &format!("/api/v1/customers/{c}/dues"),
        json!({"amount": "750.25"}),
    )
    .await;
    call(
        &server.base,
        &token,
        "POST",
        &format!("/api/v1/customers/{c}/payments"),
        json!({"amount": "250"}),
    )
    .await;
    server.stop();

    let server = Server::start(dir.path(), &env).await;
    let token = login(&server.base, ADMIN_PASSWORD)
        .await
        .expect("the owner still signs in");
    let customer = call(
        &server.base,
        &token,
        "GET",
        &format!("/api/v1/customers/{c}"),
        json!(null),
    )
    .await;
    assert_eq!(customer["balance"], "500.25");
    let statement = call(
        &server.base,
        &token,
        "GET",
        &format!("/api/v1/customers/{c}/statement"),
        json!(null),
    )
    .await;
    assert_eq!(statement["entries"].as_array().unwrap().len(), 2);

    // verify runs beside the live server.
    let clean = run(dir.path(), &env, &["verify"]);
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "verify on a clean store: {stdout}");
    assert!(stdout.contains("OK"), "{stdout}");
    server.stop();

    tamper(
        backend,
        &env,
        dir.path(),
        "UPDATE customers SET balance = balance - 10000",
    )
    .await;
    tamper(
        backend,
        &env,
        dir.path(),
        "UPDATE activity_log SET actor = 'mallory' WHERE seq = 2",
    )
    .await;
    let broken = run(dir.path(), &env, &["verify"]);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(
        broken.status.code(),
        Some(1),
        "verify fails on a tampered store: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "customer {c} (Kept): balance is 400.25 but the ledger says 500.25"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("activity log entry 2"), "{stdout}");
}

async fn a_generated_owner_password_is_printed_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(backend, dir.path()).await;
    // The first start prints the password on the console; read it once the server stops.
    let printed = Server::start(dir.path(), &env).await.stop();
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_string())
        .expect("the generated password is printed");
    assert!(password.len() >= 16);

    let server = Server::start(dir.path(), &env).await;
    assert!(
        login(&server.base, &password).await.is_some(),
        "the printed password works"
    );
    assert!(login(&server.base, "1234").await.is_none());
    let second = server.stop();
    assert!(
        !second.contains("password:"),
        "the password is shown only once"
    );
}

crate::on_both_backends!(
    a_restart_keeps_everything_and_verify_checks_it,
    a_generated_owner_password_is_printed_once,
    a_lost_owner_password_is_reset_from_the_console
);

async fn a_lost_owner_password_is_reset_from_the_console(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let env = database_env(backend, dir.path()).await;
    // First start: the owner is created with a password printed once, then lost.
    Server::start(dir.path(), &env).await.stop();
    let reset = run(dir.path(), &env, &["admin", "reset-password", "admin"]);
    let out = String::from_utf8_lossy(&reset.stdout);
    assert!(reset.status.success(), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_string())
        .expect("a new password is printed");
    let weak = run(
        dir.path(),
        &env,
        &["admin", "create-staff", "clerk", "--password", "123"],
    );
    assert_eq!(weak.status.code(), Some(2), "weak passwords are refused");
    let made = run(
        dir.path(),
        &env,
        &[
            "admin",
            "create-staff",
            "clerk",
            "--role",
            "admin",
            "--password",
            "ledger-lamp-8812",
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start(dir.path(), &env).await;
    assert!(
        login(&server.base, &password).await.is_some(),
        "the owner signs in with the new password"
    );
    let clerk = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "clerk", "password": "ledger-lamp-8812"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        clerk.json::<serde_json::Value>().await.unwrap()["role"],
        "admin"
    );
    server.stop();
}

#[test]
fn a_wrong_setting_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("DUETRACK_CURRENCY", "RUPEES"),
        ("DUETRACK_BIND", "everywhere"),
        ("DUETRACK_TIMEZONE", "Moon/Base"),
        ("SMTP_PORT", "seventy"),
        ("DATABASE_URL", "mysql://localhost/db"),
    ] {
        let output = run(dir.path(), &[(variable, value.to_string())], &["serve"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{variable}={value}: {stderr}"
        );
        assert!(stderr.contains(variable), "{variable}={value}: {stderr}");
    }
}

#[test]
fn the_original_systems_env_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "EMAIL_ADDRESS = shop@example.com\nEMAIL_PASSWORD = app-password\nshop_name = \"Sharma Stores\"\n",
    )
    .unwrap();
    let output = run(dir.path(), &[], &["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        dir.path().join("data/duetrack.db").exists(),
        "the SQLite file is created under ./data"
    );
}

/// A connection to a test app's database, behind the application's back.
async fn with_connection(
    app: &crate::helpers::TestApp,
    backend: Backend,
    sql: &str,
    read: bool,
) -> Option<String> {
    use sqlx::{Connection, Row};
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", app.data_dir.join("duetrack.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            if read {
                let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
                return Some(row.get::<String, _>(0));
            }
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let url = &app
                .env
                .iter()
                .find(|(k, _)| *k == "DATABASE_URL")
                .unwrap()
                .1;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            if read {
                let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
                return Some(row.get::<String, _>(0));
            }
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
    None
}

pub async fn tamper_app(app: &crate::helpers::TestApp, backend: Backend, sql: &str) {
    with_connection(app, backend, sql, false).await;
}

pub async fn read_text(app: &crate::helpers::TestApp, backend: Backend, sql: &str) -> String {
    with_connection(app, backend, sql, true)
        .await
        .unwrap_or_default()
}
