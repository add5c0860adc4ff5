//! Tamper evidence over the real binary: history rewritten behind
//! duetrack's back — by SQL, with the database but without the chain key —
//! is named by `duetrack verify`, which exits 1.

use crate::cli::{read_text, tamper_app};
use crate::helpers::{Backend, TestApp, settings_env, spawn_app, spawn_app_on, test_settings};
use duetrack::store::activity::entry_hash;
use serde_json::json;

struct Verified {
    code: Option<i32>,
    stdout: String,
}

async fn verify(app: &TestApp) -> Verified {
    let out = app.cli(&["verify"]).await;
    Verified {
        code: out.status.code(),
        stdout: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

async fn number(app: &TestApp, backend: Backend, sql: &str) -> i64 {
    read_text(app, backend, sql).await.parse().unwrap()
}

/// A customer owing 1250.50 who paid 500.00: (customer, due, payment).
async fn a_shop(app: &TestApp) -> (i64, i64, i64) {
    let asha = app.customer("Asha Rao").await;
    let due = app.add_due(asha, json!({"amount": "1250.50"})).await;
    let due = due.ok(201)["id"].as_i64().unwrap();
    let other = app.customer("Bina Das").await;
    app.add_due(other, json!({"amount": "300"})).await.ok(201);
    let paid = app.pay(asha, json!({"amount": "500"})).await;
    let payment = paid.ok(201)["id"].as_i64().unwrap();
    (asha, due, payment)
}

async fn an_untouched_shop_verifies_and_a_rolled_back_head_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    a_shop(&app).await;
    let clean = verify(&app).await;
    assert_eq!(clean.code, Some(0), "{}", clean.stdout);
    assert!(clean.stdout.contains("OK"), "{}", clean.stdout);
    let key = std::fs::read_to_string(app.data_dir.join("chain.key")).unwrap();
    assert!(key.contains("keyed-from 1\n"), "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.data_dir.join("chain.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let hashes = read_text(
        &app,
        backend,
        "SELECT hash FROM activity_log ORDER BY seq DESC LIMIT 1",
    )
    .await;
    assert!(hashes.starts_with("k1:"), "{hashes}");

    // A command that writes leaves an anchor of the head behind it.
    let made = app
        .cli(&[
            "admin",
            "create-staff",
            "clerk",
            "--role",
            "staff",
            "--password",
            "a-long-enough-password",
        ])
        .await;
    assert!(made.status.success(), "{made:?}");
    let last = number(&app, backend, "SELECT CAST(seq AS TEXT) FROM activity_head").await;
    let anchors = std::fs::read_to_string(app.data_dir.join("chain.anchors")).unwrap();
    assert!(
        anchors
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(&last.to_string())),
        "{anchors}"
    );
    let clean = verify(&app).await;
    assert_eq!(clean.code, Some(0), "{}", clean.stdout);

    // (a) The last entry deleted, the head rolled back with it, and the
    // staff account it recorded removed too.
    tamper_app(
        &app,
        backend,
        &format!("DELETE FROM activity_log WHERE seq = {last}"),
    )
    .await;
    tamper_app(
        &app,
        backend,
        &format!(
            "UPDATE activity_head SET seq = {}, hash = (SELECT hash FROM activity_log WHERE seq = {}) WHERE id = 1",
            last - 1,
            last - 1
        ),
    )
    .await;
    tamper_app(
        &app,
        backend,
        "DELETE FROM staff_users WHERE username = 'clerk'",
    )
    .await;
    let broken = verify(&app).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken.stdout.contains(&format!(
            "the activity log ends at entry {}, but an anchor of",
            last - 1
        )) && broken
            .stdout
            .contains(&format!("recorded entry {last} (entries were removed")),
        "{}",
        broken.stdout
    );
}

async fn a_lowered_payment_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (asha, due, payment) = a_shop(&app).await;
    // (b) The payment lowered by 100.00, and its allocation, the due and
    // the customer's totals made to agree, so every sum still adds up.
    for sql in [
        format!("UPDATE payments SET amount = amount - 10000 WHERE id = {payment}"),
        format!("UPDATE allocations SET amount = amount - 10000 WHERE payment_id = {payment}"),
        format!("UPDATE dues SET paid = paid - 10000 WHERE id = {due}"),
        format!(
            "UPDATE customers SET balance = balance + 10000, total_paid = total_paid - 10000 WHERE id = {asha}"
        ),
    ] {
        tamper_app(&app, backend, &sql).await;
    }
    let broken = verify(&app).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken.stdout.contains(&format!(
            "payment {payment}: the ledger says 400.00 but activity log entry"
        )) && broken.stdout.contains("recorded 500.00"),
        "{}",
        broken.stdout
    );
    assert!(
        broken.stdout.contains(&format!(
            "customer {asha}: the ledger allocates 400.00 of payment {payment} to due {due}, but the activity log has 500.00"
        )),
        "{}",
        broken.stdout
    );
    // The sums alone agree: it is the log that gives it away.
    assert!(!broken.stdout.contains("balance is"), "{}", broken.stdout);
}

async fn a_deleted_payment_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (asha, due, payment) = a_shop(&app).await;
    // (c) The payment and its allocation deleted, the due and the
    // customer's totals put back as if it had never been made.
    for sql in [
        format!("DELETE FROM allocations WHERE payment_id = {payment}"),
        format!("DELETE FROM payments WHERE id = {payment}"),
        format!("UPDATE dues SET paid = 0, status = 'open' WHERE id = {due}"),
        format!(
            "UPDATE customers SET balance = balance + 50000, total_paid = total_paid - 50000 WHERE id = {asha}"
        ),
    ] {
        tamper_app(&app, backend, &sql).await;
    }
    let broken = verify(&app).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken.stdout.contains(&format!("payment {payment}: activity log entry"))
            && broken.stdout.contains(&format!(
                "recorded it (500.00 for customer {asha}), but the ledger has no payment {payment} (it was deleted)"
            )),
        "{}",
        broken.stdout
    );
    assert!(!broken.stdout.contains("balance is"), "{}", broken.stdout);
}

/// One activity entry, every column.
struct Entry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity_type: String,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
}

async fn entries(app: &TestApp, backend: Backend) -> Vec<Entry> {
    use sqlx::{Connection, Row};
    const SQL: &str = "SELECT seq, at, actor, action, entity_type, entity_id, before_state, after_state FROM activity_log ORDER BY seq";
    macro_rules! read {
        ($rows:expr) => {
            $rows
                .iter()
                .map(|r| Entry {
                    seq: r.get("seq"),
                    at: r.get("at"),
                    actor: r.get("actor"),
                    action: r.get("action"),
                    entity_type: r.get("entity_type"),
                    entity_id: r.get("entity_id"),
                    before: r.get("before_state"),
                    after: r.get("after_state"),
                })
                .collect()
        };
    }
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", app.data_dir.join("duetrack.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let rows = sqlx::query(SQL).fetch_all(&mut conn).await.unwrap();
            read!(rows)
        }
        Backend::Postgres => {
            let url = &app.settings.database_url.clone().unwrap();
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let rows = sqlx::query(SQL).fetch_all(&mut conn).await.unwrap();
            read!(rows)
        }
    }
}

fn quoted(text: &Option<String>) -> String {
    match text {
        Some(t) => format!("'{}'", t.replace('\'', "''")),
        None => "NULL".into(),
    }
}

async fn an_edited_entry_with_a_recomputed_plain_chain_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (asha, due, payment) = a_shop(&app).await;
    // (d) The payment lowered in the ledger and in its log entry, and the
    // chain recomputed with plain SHA-256 as before keying: every link and
    // every hash is consistent again.
    for sql in [
        format!("UPDATE payments SET amount = amount - 10000 WHERE id = {payment}"),
        format!("UPDATE allocations SET amount = amount - 10000 WHERE payment_id = {payment}"),
        format!("UPDATE dues SET paid = paid - 10000 WHERE id = {due}"),
        format!(
            "UPDATE customers SET balance = balance + 10000, total_paid = total_paid - 10000 WHERE id = {asha}"
        ),
    ] {
        tamper_app(&app, backend, &sql).await;
    }
    let mut prev = "0".repeat(64);
    let mut edited = 0;
    for mut e in entries(&app, backend).await {
        if e.action == "payment.recorded" && e.entity_id == payment.to_string() {
            let mut after: serde_json::Value =
                serde_json::from_str(e.after.as_deref().unwrap()).unwrap();
            after["amount"] = json!(40000);
            e.after = Some(after.to_string());
            edited = e.seq;
        }
        let hash = entry_hash(
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.entity_type,
            &e.entity_id,
            e.before.as_deref(),
            e.after.as_deref(),
            &prev,
        );
        tamper_app(
            &app,
            backend,
            &format!(
                "UPDATE activity_log SET after_state = {}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
                quoted(&e.after),
                e.seq
            ),
        )
        .await;
        tamper_app(
            &app,
            backend,
            &format!("UPDATE activity_head SET hash = '{hash}' WHERE id = 1"),
        )
        .await;
        prev = hash;
    }
    assert!(edited > 0);
    let broken = verify(&app).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken.stdout.contains(&format!(
            "activity log entry {edited}: it has an unkeyed hash, but every entry from 1 on is hashed under the chain key"
        )),
        "{}",
        broken.stdout
    );
    assert!(
        !broken.stdout.contains("does not match its hash"),
        "the plain chain itself is consistent: {}",
        broken.stdout
    );
    // Without the key, verify says what it cannot check, and still finds
    // nothing wrong with the ledger against the rewritten log.
    std::fs::rename(
        app.data_dir.join("chain.key"),
        app.data_dir.join("elsewhere.key"),
    )
    .unwrap();
    let keyless = verify(&app).await;
    assert!(
        keyless.stdout.contains("note: there is no chain key"),
        "{}",
        keyless.stdout
    );
}

async fn a_shop_from_before_keying_verifies(backend: Backend) {
    // The old shop: an import and a staff account made from the console
    // before any `serve` or `migrate`, so before there was a chain key.
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(backend, dir.path()).await;
    let cli = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_duetrack"));
        command
            .current_dir(dir.path())
            .env_clear()
            .env("RUST_LOG", "warn");
        for (k, v) in settings_env(&settings) {
            command.env(k, v);
        }
        command.args(args).output().unwrap()
    };
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/original/shop");
    let imported = cli(&["import", shop]);
    assert!(imported.status.success(), "{imported:?}");
    assert!(!dir.path().join("chain.key").exists());
    let before = cli(&["verify"]);
    assert!(before.status.success(), "{before:?}");

    // Then the new version starts: entries from here on are keyed.
    let app = spawn_app_on(dir, settings).await;
    let head = number(&app, backend, "SELECT CAST(seq AS TEXT) FROM activity_head").await;
    let key = std::fs::read_to_string(app.data_dir.join("chain.key")).unwrap();
    assert!(key.contains("keyed-from "), "{key}");
    let (asha, _, _) = a_shop(&app).await;
    let v = app
        .post(
            &format!("/api/v1/customers/{asha}/payments"),
            json!({"amount": "1"}),
        )
        .await;
    v.ok(201);
    let clean = verify(&app).await;
    assert_eq!(clean.code, Some(0), "{}", clean.stdout);
    let first_keyed = read_text(
        &app,
        backend,
        "SELECT CAST(MIN(seq) AS TEXT) FROM activity_log WHERE hash LIKE 'k1:%'",
    )
    .await;
    assert!(first_keyed.parse::<i64>().unwrap() <= head + 1);
    let plain = number(
        &app,
        backend,
        "SELECT CAST(COUNT(*) AS TEXT) FROM activity_log WHERE hash NOT LIKE 'k1:%'",
    )
    .await;
    assert!(plain > 0, "the imported entries keep their plain hashes");

    // An imported payment lowered behind duetrack's back is named too,
    // though its entry is from before keying.
    let payment = number(
        &app,
        backend,
        "SELECT CAST(MIN(id) AS TEXT) FROM payments WHERE recorded_by = 'import'",
    )
    .await;
    tamper_app(
        &app,
        backend,
        &format!("UPDATE payments SET amount = amount + 1 WHERE id = {payment}"),
    )
    .await;
    let broken = verify(&app).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken
            .stdout
            .contains(&format!("payment {payment}: the ledger says")),
        "{}",
        broken.stdout
    );
}

async fn an_export_imported_under_another_key_verifies_and_stays_evident(backend: Backend) {
    let shop = spawn_app(backend).await;
    a_shop(&shop).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    let made = shop.cli(&["export", dir.to_str().unwrap()]).await;
    assert!(made.status.success(), "{made:?}");

    // A new install, with a key of its own, takes the export's log whole.
    let moved = spawn_app(backend).await;
    let imported = moved.cli(&["import", dir.to_str().unwrap()]).await;
    assert!(imported.status.success(), "{imported:?}");
    let key = std::fs::read_to_string(moved.data_dir.join("chain.key")).unwrap();
    assert!(key.contains("\nadopted "), "{key}");
    let asha = number(
        &moved,
        backend,
        "SELECT CAST(id AS TEXT) FROM customers WHERE name = 'Asha Rao'",
    )
    .await;
    moved.pay(asha, json!({"amount": "10"})).await.ok(201);
    let clean = verify(&moved).await;
    assert_eq!(clean.code, Some(0), "{}", clean.stdout);

    // An entry it brought in is changed: the MAC recorded at import shows it.
    tamper_app(
        &moved,
        backend,
        "UPDATE activity_log SET actor = 'mallory' WHERE seq = 2",
    )
    .await;
    let broken = verify(&moved).await;
    assert_eq!(broken.code, Some(1), "{}", broken.stdout);
    assert!(
        broken
            .stdout
            .contains("brought in whole by a restore or an import, no longer match the MAC"),
        "{}",
        broken.stdout
    );
}

async fn a_backup_restored_under_another_key_verifies(backend: Backend) {
    let shop = spawn_app(backend).await;
    a_shop(&shop).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("shop.backup");
    let made = shop.cli(&["backup", file.to_str().unwrap()]).await;
    assert!(made.status.success(), "{made:?}");

    // Another install, set up with `migrate` (and so a key of its own).
    let target = tempfile::tempdir().unwrap();
    let mut env = vec![(
        "DUETRACK_DATA_DIR",
        target.path().join("data").to_string_lossy().into_owned(),
    )];
    if backend == Backend::Postgres {
        env.push((
            "DATABASE_URL",
            crate::helpers::fresh_postgres_database().await,
        ));
    }
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_duetrack"));
        command
            .current_dir(target.path())
            .env_clear()
            .env("RUST_LOG", "warn");
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (k, v) in &env {
            command.env(k, v);
        }
        let out = command.args(args).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = run(&["migrate"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(target.path().join("data/chain.key").exists());
    let (code, said) = run(&["restore", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run(&["verify"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("note:"), "{said}");

    // The key file lost: no new key is made over a keyed log unasked.
    let key = target.path().join("data/chain.key");
    std::fs::rename(&key, target.path().join("lost.key")).unwrap();
    let (code, said) = run(&["migrate"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("there is no chain key at"), "{said}");
    assert!(!key.exists());
    let (code, said) = run(&["migrate", "--new-chain-key"]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = run(&["verify"]);
    assert_eq!(code, Some(0), "{said}");
}

crate::on_both_backends!(
    an_untouched_shop_verifies_and_a_rolled_back_head_is_named,
    a_lowered_payment_is_named,
    a_deleted_payment_is_named,
    an_edited_entry_with_a_recomputed_plain_chain_is_named,
    a_shop_from_before_keying_verifies,
    an_export_imported_under_another_key_verifies_and_stays_evident,
    a_backup_restored_under_another_key_verifies,
);
