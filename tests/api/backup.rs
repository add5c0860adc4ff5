//! `duetrack backup` and `duetrack restore`, run as the real binary beside a
//! running server: a backup taken mid-business restores into an empty
//! database with every balance intact, and neither command overwrites what
//! it was not told to.

use crate::helpers::{Backend, TestApp, fresh_postgres_database, spawn_app};
use serde_json::json;
use std::path::Path;

/// Runs the binary with exactly these settings.
async fn duetrack(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_duetrack"));
    command.current_dir(dir).env_clear().env("RUST_LOG", "warn");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.args(args).output().await.expect("the binary runs");
    Output {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// An empty database to restore into: a new data folder for SQLite, a new
/// PostgreSQL database otherwise. Returns its settings as the binary reads them.
async fn empty_database(backend: Backend, dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![(
        "DUETRACK_DATA_DIR",
        dir.join("restored").to_string_lossy().into_owned(),
    )];
    if backend == Backend::Postgres {
        env.push(("DATABASE_URL", fresh_postgres_database().await));
    }
    env
}

fn setting(env: &[(&'static str, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
}

/// Two customers with dues, a part payment and an advance.
async fn some_business(app: &TestApp) -> Vec<i64> {
    let asha = app.customer("Asha Rao").await;
    let bina = app.customer("Bina Das").await;
    app.add_due(asha, json!({"amount": "1250.50"}))
        .await
        .ok(201);
    app.add_due(asha, json!({"amount": "99.50"})).await.ok(201);
    app.pay(asha, json!({"amount": "500"})).await.ok(201);
    app.add_due(bina, json!({"amount": "300"})).await.ok(201);
    app.pay(bina, json!({"amount": "350", "advance": true}))
        .await
        .ok(201);
    vec![asha, bina]
}

async fn a_backup_taken_while_serving_restores_with_the_same_balances(backend: Backend) {
    let app = spawn_app(backend).await;
    let customers = some_business(&app).await;
    let balances = [
        app.balance(customers[0]).await,
        app.balance(customers[1]).await,
    ];
    assert_eq!(balances, ["850.00", "-50.00"]);

    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("duetrack-nightly.db");
    let made = app.cli(&["backup", file.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        stdout.contains("2 customers, 3 dues, 2 payments")
            && stdout.contains("verifies OK")
            && stdout.contains(&file.display().to_string()),
        "{stdout}"
    );
    // The server keeps working after the backup.
    app.pay(customers[0], json!({"amount": "50"})).await.ok(201);

    let target = empty_database(backend, backups.path()).await;
    // The chain key is not in the backup: it is kept, and comes back, apart.
    let target_dir = std::path::PathBuf::from(setting(&target, "DUETRACK_DATA_DIR").unwrap());
    std::fs::create_dir_all(&target_dir).unwrap();
    std::fs::copy(app.data_dir.join("chain.key"), target_dir.join("chain.key")).unwrap();
    let restored = duetrack(
        backups.path(),
        &target,
        &["restore", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(restored.code, Some(0), "{restored:?}");
    assert!(restored.stdout.contains("verify: OK"), "{restored:?}");
    let verified = duetrack(backups.path(), &target, &["verify"]).await;
    assert_eq!(verified.code, Some(0), "{verified:?}");
    assert!(
        verified.stdout.contains("2 customers, 3 dues, 2 payments"),
        "{verified:?}"
    );

    // A server on the restored database shows the balances as they were at
    // the backup, without the payment made after it.
    let node = app
        .another_node(|s| {
            s.database_url = setting(&target, "DATABASE_URL");
            s.data_dir = setting(&target, "DUETRACK_DATA_DIR");
        })
        .await;
    assert_eq!(node.balance(customers[0]).await, "850.00");
    assert_eq!(node.balance(customers[1]).await, "-50.00");
    assert_eq!(app.balance(customers[0]).await, "800.00");
    let statement = node
        .get(&format!("/api/v1/customers/{}/statement", customers[0]))
        .await;
    assert_eq!(statement.ok(200)["entries"].as_array().unwrap().len(), 3);
}

async fn restoring_over_a_ledger_is_refused_and_changes_nothing(backend: Backend) {
    let source = spawn_app(backend).await;
    some_business(&source).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("source.db");
    let made = source.cli(&["backup", file.to_str().unwrap()]).await;
    assert!(made.status.success(), "{made:?}");

    let busy = spawn_app(backend).await;
    let kept = busy.customer("Chandra Iyer").await;
    busy.add_due(kept, json!({"amount": "42"})).await.ok(201);
    let refused = busy.cli(&["restore", file.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already holds 1 customer(s), 1 due(s) and 0 payment(s)")
            && stderr.contains("--force"),
        "{stderr}"
    );
    let list = busy.get("/api/v1/customers").await;
    assert_eq!(list.ok(200)["total"], 1, "nothing was restored");
    assert_eq!(busy.balance(kept).await, "42.00");
    let verified = busy.cli(&["verify"]).await;
    assert!(verified.status.success(), "{verified:?}");

    // A file that is not a backup of this kind of database is refused too.
    let stray = backups.path().join("notes.txt");
    std::fs::write(&stray, "not a backup").unwrap();
    let target = empty_database(backend, backups.path()).await;
    let wrong = duetrack(
        backups.path(),
        &target,
        &["restore", stray.to_str().unwrap()],
    )
    .await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(wrong.stderr.contains("not a duetrack backup"), "{wrong:?}");
}

async fn a_backup_never_replaces_a_file_without_force(backend: Backend) {
    let app = spawn_app(backend).await;
    some_business(&app).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("duetrack.db");
    std::fs::write(&file, "yesterday's backup").unwrap();

    let refused = app.cli(&["backup", file.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "yesterday's backup"
    );

    let forced = app
        .cli(&["backup", "--force", file.to_str().unwrap()])
        .await;
    assert!(forced.status.success(), "{forced:?}");
    let head = std::fs::read(&file).unwrap();
    let magic: &[u8] = match backend {
        Backend::Sqlite => b"SQLite format 3\0",
        Backend::Postgres => b"PGDMP",
    };
    assert!(head.starts_with(magic), "the file is a real backup now");
    let left: Vec<_> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["duetrack.db"], "no temporary file is left behind");

    if backend == Backend::Postgres {
        // Without pg_dump there is no PostgreSQL backup, and it says what to install.
        let mut env = app.env.clone();
        env.push(("PATH", String::new()));
        let without = duetrack(
            backups.path(),
            &env,
            &["backup", "--force", file.to_str().unwrap()],
        )
        .await;
        assert_eq!(without.code, Some(1), "{without:?}");
        assert!(
            without.stderr.contains("pg_dump is not installed")
                && without.stderr.contains("postgresql-client"),
            "{without:?}"
        );
        assert!(std::fs::read(&file).unwrap().starts_with(magic));
    }

    let no_file = app.cli(&["backup"]).await;
    assert_eq!(
        no_file.status.code(),
        Some(2),
        "a missing FILE is bad usage"
    );
}

crate::on_both_backends!(
    a_backup_taken_while_serving_restores_with_the_same_balances,
    restoring_over_a_ledger_is_refused_and_changes_nothing,
    a_backup_never_replaces_a_file_without_force
);
