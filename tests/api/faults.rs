//! Bad luck, met with a clear answer: a database file that is not
//! duetrack's is refused untouched; a full disk answers 503 and writes
//! resume when space returns; a database whose connections are cut answers
//! 503 with Retry-After and recovers without a restart. Nothing
//! acknowledged is lost, and `verify` stays clean.

use crate::helpers::{Backend, TestApp, fresh_postgres_database, spawn_app, spawn_app_with};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

crate::on_both_backends!(
    a_database_that_is_not_ours_is_refused_untouched,
    cut_connections_answer_503_and_recover_by_themselves,
    past_capacity_requests_are_shed_at_once_and_the_rest_served,
);

fn duetrack(envs: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duetrack"));
    command.env_clear().env("RUST_LOG", "warn");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    command.args(args).output().expect("the binary runs")
}

fn digest(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

async fn a_database_that_is_not_ours_is_refused_untouched(backend: Backend) {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    match backend {
        Backend::Sqlite => {
            // Another program's SQLite file, and a file that is no database.
            let theirs = dir.path().join("theirs.db");
            let url = format!("sqlite://{}?mode=rwc", theirs.display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
            let junk = dir.path().join("junk.db");
            std::fs::write(
                &junk,
                b"these are not the pages of a database\n".repeat(200),
            )
            .unwrap();
            for (file, words) in [(&theirs, "not duetrack's"), (&junk, "not a database")] {
                let before = digest(file);
                let out = duetrack(
                    &[("DATABASE_URL", format!("sqlite://{}", file.display()))],
                    &["migrate"],
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{stderr}");
                assert!(stderr.contains(words), "{stderr}");
                assert_eq!(
                    digest(file),
                    before,
                    "{} was left as it was",
                    file.display()
                );
            }
        }
        Backend::Postgres => {
            let url = fresh_postgres_database().await;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("CREATE TABLE invoices (id BIGINT PRIMARY KEY)")
                .execute(&mut conn)
                .await
                .unwrap();
            let out = duetrack(&[("DATABASE_URL", url.clone())], &["migrate"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{stderr}");
            assert!(stderr.contains("not duetrack's"), "{stderr}");
            let tables: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(tables, 1, "nothing was added beside the invoices");
        }
    }
}

/// Cuts every connection the server holds to its database (on SQLite,
/// there is nothing to cut: the test then only checks steady answers).
async fn cut_connections(app: &TestApp) {
    use sqlx::Connection;
    if let Some(url) = &app.settings.database_url {
        let name = url.rsplit('/').next().unwrap().to_string();
        let mut admin = sqlx::PgConnection::connect(&crate::helpers::postgres_admin_url())
            .await
            .unwrap();
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

async fn cut_connections_answer_503_and_recover_by_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Steady Customer").await;
    app.add_due(c, json!({"amount": "1000"})).await.ok(201);
    let mut acknowledged = 0;
    for round in 0..5 {
        cut_connections(&app).await;
        for i in 0..10 {
            let reply = app
                .send(
                    app.authed(
                        app.client
                            .post(app.url(&format!("/api/v1/customers/{c}/payments"))),
                    )
                    .header("Idempotency-Key", format!("cut-{round}-{i}"))
                    .json(&json!({"amount": "1.00"})),
                )
                .await;
            match reply.status.as_u16() {
                201 => acknowledged += 1,
                503 => {
                    assert!(
                        reply.headers.get("retry-after").is_some(),
                        "{:?}",
                        reply.body
                    );
                    // The same key again: at most one payment either way.
                    let again = app
                        .send(
                            app.authed(
                                app.client
                                    .post(app.url(&format!("/api/v1/customers/{c}/payments"))),
                            )
                            .header("Idempotency-Key", format!("cut-{round}-{i}"))
                            .json(&json!({"amount": "1.00"})),
                        )
                        .await;
                    assert!(
                        again.status.as_u16() == 201 || again.status.as_u16() == 503,
                        "{:?}",
                        again.body
                    );
                    if again.status.as_u16() == 201 {
                        acknowledged += 1;
                    }
                }
                other => panic!("a cut connection answered {other}: {:?}", reply.body),
            }
        }
    }
    assert!(
        acknowledged >= 40,
        "the service recovered: {acknowledged} of 50"
    );
    let balance = app.balance(c).await;
    let expected = format!("{}.00", 1000 - acknowledged);
    assert_eq!(balance, expected, "every acknowledged payment, once");
    let verify = app.cli(&["verify"]).await;
    assert!(verify.status.success(), "{verify:?}");
}

/// SQLite on a small tmpfs (needs root to mount; elsewhere it says so and
/// checks nothing, which the README's test notes mention).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_writes_resume_when_space_returns() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let data = mount.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.data_dir = Some(data.to_string_lossy().into_owned());
    })
    .await;
    let c = app.customer("Full Disk").await;
    app.add_due(c, json!({"amount": "1000000"})).await.ok(201);
    let filler = data.join("filler");
    let _ = std::fs::write(&filler, vec![b'x'; 8 * 1024 * 1024]);
    let mut acknowledged = 0;
    let mut refused = 0;
    for _ in 0..100 {
        let reply = app.pay(c, json!({"amount": "1.00"})).await;
        match reply.status.as_u16() {
            201 => acknowledged += 1,
            503 => {
                assert_eq!(reply.body["code"], "storage_full", "{:?}", reply.body);
                assert!(reply.headers.get("retry-after").is_some());
                refused += 1;
            }
            other => panic!("a full disk answered {other}: {:?}", reply.body),
        }
    }
    assert!(refused > 0, "the disk filled up");
    // Reads go on while the disk is full.
    app.get(&format!("/api/v1/customers/{c}")).await.ok(200);
    std::fs::remove_file(&filler).unwrap();
    app.pay(c, json!({"amount": "1.00"})).await.ok(201);
    acknowledged += 1;
    assert_eq!(
        app.balance(c).await,
        format!("{}.00", 1_000_000 - acknowledged)
    );
    let verify = app.cli(&["verify"]).await;
    assert!(verify.status.success(), "{verify:?}");
    drop(app);
    let _ = Command::new("umount").arg("-l").arg(mount.path()).status();
}

async fn past_capacity_requests_are_shed_at_once_and_the_rest_served(backend: Backend) {
    use crate::helpers::ADMIN_PASSWORD;
    // Sign-ins are slow on purpose (Argon2), so a burst of them holds the
    // few places there are.
    for (in_flight, per_address, code, status) in [
        ("2", "1000", "overloaded", 503),
        ("1000", "2", "too_many_requests", 429),
    ] {
        let app = spawn_app_with(backend, |s| {
            s.max_requests_in_flight = Some(in_flight.into());
            s.max_requests_per_address = Some(per_address.into());
        })
        .await;
        let mut burst = Vec::new();
        for _ in 0..24 {
            let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
            burst.push(tokio::spawn(async move {
                let reply = client
                    .post(url)
                    .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                let retry = reply.headers().get("retry-after").is_some();
                let status = reply.status().as_u16();
                let body: serde_json::Value = reply.json().await.unwrap_or_default();
                (
                    status,
                    retry,
                    body["code"].as_str().unwrap_or_default().to_string(),
                )
            }));
        }
        let (mut served, mut shed) = (0, 0);
        for attempt in burst {
            let (got, retry, got_code) = attempt.await.unwrap();
            if got == 200 {
                served += 1;
            } else {
                assert_eq!((got, got_code.as_str()), (status, code));
                assert!(retry, "a shed request says when to come back");
                shed += 1;
            }
        }
        assert!(served >= 1 && shed >= 1, "{served} served, {shed} shed");
        // Health is never shed, and the service answers normally afterwards.
        app.get("/healthz").await;
        app.get("/api/v1/customers").await.ok(200);
    }
}
