//! `duetrack import PATH` of the old system's folder and of a spreadsheet,
//! run as the real binary against a running server's database: balances
//! come out exactly as the old system had them, payments appear as
//! history, deleted customers stay deleted, customers sign in with their
//! old passwords, nothing is sent, a second run adds nothing, and a broken
//! file is refused whole, naming its lines, with nothing written.

use crate::helpers::{Backend, TestApp, link_token, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;

fn sample(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn import(app: &TestApp, args: &[&str]) -> Run {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = app.cli(&all).await;
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every customer, active and deleted, as the API lists them.
async fn everyone(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    for status in ["active", "deleted"] {
        let list = app
            .get(&format!("/api/v1/customers?status={status}&per_page=100"))
            .await;
        all.extend(list.ok(200)["items"].as_array().unwrap().iter().cloned());
    }
    all
}

fn named<'a>(customers: &'a [Value], name: &str) -> &'a Value {
    customers
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is imported: {customers:#?}"))
}

async fn emails_queued(app: &TestApp) -> usize {
    app.get("/api/v1/emails?per_page=100").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn customer_login(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password})),
    )
    .await
    .status
}

crate::on_both_backends!(
    the_old_systems_folder_comes_in_whole,
    a_second_run_adds_nothing_twice,
    the_first_versions_plain_passwords_are_hashed_and_still_sign_in,
    a_broken_folder_is_refused_whole_naming_its_lines,
    a_spreadsheet_comes_in_with_the_shops_own_amounts,
    a_bad_spreadsheet_is_refused_and_a_dry_run_writes_nothing,
);

async fn the_old_systems_folder_comes_in_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let emails_before = emails_queued(&app).await;
    let run = import(&app, &[&sample("original/shop")]).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("4 customers, 3 deleted customers"),
        "{}",
        run.stdout
    );

    // Balances exactly as customers.csv had them (99.89999999999999 is
    // the float noise of 99.90), and the old numbers kept.
    for (id, name, balance) in [
        (1, "Asha Rao", "2810.25"),
        (2, "Bala \"Kirana\" Stores", "0.00"),
        (4, "Farid Khan", "-50.00"),
        (5, "Geeta Menon", "99.90"),
    ] {
        let c = app.get(&format!("/api/v1/customers/{id}")).await;
        let c = c.ok(200);
        assert_eq!(c["name"], name);
        assert_eq!(c["balance"], balance, "{name}");
        assert_eq!(c["status"], "active");
    }
    let all = everyone(&app).await;
    assert_eq!(all.len(), 7);
    let asha = named(&all, "Asha Rao");
    assert_eq!(asha["phone"], "+919845012345");
    assert_eq!(asha["address"], "14, Temple Road\nMylapore");
    assert_eq!(named(&all, "Bala \"Kirana\" Stores")["email"], Value::Null);
    for (name, balance) in [
        ("Suresh Patel", "0.00"),
        ("Imran Sheikh", "450.00"),
        ("Kavya Nair", "0.00"),
    ] {
        let c = named(&all, name);
        assert_eq!(c["status"], "deleted", "{name}");
        assert_eq!(c["balance"], balance, "{name}");
    }

    // Payments as history: the portal payment and the admin's partial
    // payment, oldest first, after an opening balance that makes the sum.
    let statement = app.get("/api/v1/customers/1/statement").await;
    let lines = statement.ok(200)["entries"].as_array().unwrap().clone();
    let shape: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["date"].as_str().unwrap().to_string(),
                l["balance"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("due".into(), "2026-10-01".into(), "3810.25".into()),
            ("payment".into(), "2026-11-01".into(), "3310.25".into()),
            ("payment".into(), "2026-11-20".into(), "2810.25".into()),
        ]
    );
    let bala = app.get("/api/v1/customers/2/statement").await;
    assert_eq!(bala.ok(200)["entries"][1]["credit"], "1200.50");

    // Old passwords: a PBKDF2 hash and an scrypt hash as werkzeug wrote them.
    assert_eq!(
        customer_login(&app, "asharao", "asha-old-pass").await,
        StatusCode::OK
    );
    assert_eq!(
        customer_login(&app, "balakirana", "bala-old-pass").await,
        StatusCode::OK
    );
    assert_eq!(
        customer_login(&app, "faridkhan", "not-his-pass").await,
        StatusCode::UNAUTHORIZED
    );

    // The old log entered the activity log, marked as imported.
    let log = app.get("/api/v1/activity?actor=import&per_page=100").await;
    let actions: Vec<String> = log.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "imported.log").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "customer.imported").count(),
        7
    );

    // No invitation, no receipt.
    assert_eq!(emails_queued(&app).await, emails_before);
    let verify = app.cli(&["verify"]).await;
    assert!(verify.status.success(), "{verify:?}");

    // The server goes on numbering after the imported customers.
    let next = app.customer("Walk-in Customer").await;
    assert!(next > 7, "{next}");
}

async fn a_second_run_adds_nothing_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = import(&app, &[&sample("original/shop")]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let log_before =
        app.get("/api/v1/activity?per_page=1").await.ok(200)["items"][0]["seq"].clone();
    let again = import(&app, &[&sample("original/shop")]).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.contains("nothing new"), "{}", again.stdout);
    assert!(again.stdout.contains("7 customers"), "{}", again.stdout);
    assert_eq!(everyone(&app).await.len(), 7);
    let statement = app.get("/api/v1/customers/1/statement").await;
    assert_eq!(statement.ok(200)["entries"].as_array().unwrap().len(), 3);
    let log_after = app.get("/api/v1/activity?per_page=1").await.ok(200)["items"][0]["seq"].clone();
    assert_eq!(log_before, log_after, "a second run writes no activity");
}

async fn the_first_versions_plain_passwords_are_hashed_and_still_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let run = import(&app, &[&sample("original/v1")]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // The test-mode Razorpay payment moved no money: it is not a payment.
    assert!(run.stdout.contains("test mode"), "{}", run.stdout);
    let all = everyone(&app).await;
    let balances: Vec<(String, String)> = all
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap_or_default().to_string(),
                c["balance"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (user, balance) in [
        ("sharmaasha", "1250.50"),
        ("vikramrao", "0.00"),
        ("vikramrao1", "300.00"),
    ] {
        assert!(
            balances.contains(&(user.to_string(), balance.to_string())),
            "{user} {balance} in {balances:?}"
        );
    }
    assert_eq!(
        customer_login(&app, "sharmaasha", "Xk29pQr7Lm").await,
        StatusCode::OK
    );
    // The plain text is nowhere in what the shop can take out.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let export = app.cli(&["export", out.to_str().unwrap()]).await;
    assert!(export.status.success(), "{export:?}");
    for entry in std::fs::read_dir(&out).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("Xk29pQr7Lm"));
    }
}

async fn a_broken_folder_is_refused_whole_naming_its_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let seq_before =
        app.get("/api/v1/activity?per_page=1").await.ok(200)["items"][0]["seq"].clone();
    let run = import(&app, &[&sample("original/broken")]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    for words in [
        "nothing was imported",
        "customers.csv, line 2, column 'due': has more than 2 decimal places",
        "customers.csv, line 3, column 'due': '1,000' is not a decimal amount",
        "customers.csv, line 4, column 'id': the id 1 is also on line 2",
        "logs.csv, line 3",
        "is not UTF-8",
        "signin_logs.csv, line 3",
        "never closed",
    ] {
        assert!(run.stderr.contains(words), "{words:?} in:\n{}", run.stderr);
    }
    assert!(everyone(&app).await.is_empty());
    let seq_after = app.get("/api/v1/activity?per_page=1").await.ok(200)["items"][0]["seq"].clone();
    assert_eq!(seq_before, seq_after, "nothing was written");

    // A payment for a customer the folder does not have.
    let run = import(&app, &[&sample("original/orphan_payment")]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("user_payment_updated.csv, line"),
        "{}",
        run.stderr
    );
    assert!(everyone(&app).await.is_empty());

    // Not a folder or file at all.
    let run = import(&app, &["/nowhere/at/all"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

async fn a_spreadsheet_comes_in_with_the_shops_own_amounts(backend: Backend) {
    let app = spawn_app(backend).await;
    let run = import(&app, &["--invite", &sample("spreadsheet/customers.csv")]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let all = everyone(&app).await;
    assert_eq!(all.len(), 3);
    let lakshmi = named(&all, "Lakshmi Stores, Main Road");
    assert_eq!(lakshmi["balance"], "100000.50");
    assert_eq!(lakshmi["phone"], "9845011111");
    assert_eq!(named(&all, "Nandini")["balance"], "2500.00");
    assert_eq!(named(&all, "Gopal")["balance"], "0.00");
    // --invite: each customer with an email gets the invitation a
    // customer added by hand gets, and can choose a password with it.
    assert!(
        run.stdout.contains("2 invitations queued"),
        "{}",
        run.stdout
    );
    let token = link_token(&app, "lakshmi@example.com").await;
    assert!(!token.is_empty());

    // Without --invite nothing is sent.
    let quiet = spawn_app(backend).await;
    let before = emails_queued(&quiet).await;
    let run = import(&quiet, &[&sample("spreadsheet/customers.csv")]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(emails_queued(&quiet).await, before);
    let run = import(&quiet, &[&sample("spreadsheet/customers.csv")]).await;
    assert!(run.stdout.contains("nothing new"), "{}", run.stdout);
    assert_eq!(everyone(&quiet).await.len(), 3);
}

async fn a_bad_spreadsheet_is_refused_and_a_dry_run_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let run = import(&app, &[&sample("spreadsheet/bad.csv")]).await;
    assert_eq!(run.code, Some(1));
    for words in [
        "bad.csv, line 2",
        "'12,50' is not a decimal amount",
        "bad.csv, line 3",
        "must not be negative",
        "bad.csv, line 4",
        "bad.csv, line 5",
    ] {
        assert!(run.stderr.contains(words), "{words:?} in:\n{}", run.stderr);
    }
    let run = import(&app, &[&sample("spreadsheet/latin1.csv")]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("latin1.csv, line 2"), "{}", run.stderr);
    assert!(run.stderr.contains("is not UTF-8"), "{}", run.stderr);
    assert!(everyone(&app).await.is_empty());

    let run = import(&app, &["--dry-run", &sample("original/shop")]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("dry run"), "{}", run.stdout);
    assert!(everyone(&app).await.is_empty());
}
