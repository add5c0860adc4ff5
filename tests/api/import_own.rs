//! `duetrack import DIR` of a folder written by `duetrack export`, run as
//! the real binary: the shop comes back into a new database with the same
//! balances, statements and activity log (and `verify` finds it whole), a
//! second run adds nothing, a database holding other data is left alone,
//! and a file changed after the export is refused before anything is written.

use crate::helpers::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use std::path::Path;

const EVIL: &str = "=HYPERLINK(\"http://evil\",\"x\")";

/// Customers (one named like a spreadsheet formula, one with an email and a
/// phone), dues, payments, a voided payment, a customer deleted with a
/// balance open, and a second staff account. Returns every customer's id.
async fn a_shop(app: &TestApp) -> Vec<i64> {
    let asha = app.customer("Asha Rao").await;
    let evil = app.customer(EVIL).await;
    let gone = app.customer("Moved Away").await;
    let devi = app
        .post(
            "/api/v1/customers",
            json!({"name": "Devi Nair", "email": "devi@example.com", "phone": "+91 98450 12345"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(
        asha,
        json!({"amount": "1250.50", "description": "-rice and dal"}),
    )
    .await
    .ok(201);
    app.add_due(asha, json!({"amount": "99.50", "due_date": "2026-01-15"}))
        .await
        .ok(201);
    app.pay(asha, json!({"amount": "500"})).await.ok(201);
    app.add_due(evil, json!({"amount": "300"})).await.ok(201);
    let bounced = app.pay(evil, json!({"amount": "100"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/payments/{bounced}/void"),
        json!({"reason": "cheque bounced"}),
    )
    .await
    .ok(200);
    app.pay(evil, json!({"amount": "350", "advance": true}))
        .await
        .ok(201);
    app.add_due(devi, json!({"amount": "42"})).await.ok(201);
    app.add_due(gone, json!({"amount": "99.99"})).await.ok(201);
    app.delete(&format!(
        "/api/v1/customers/{gone}?force=true&reason=moved%20away"
    ))
    .await
    .ok(200);
    app.post(
        "/api/v1/staff",
        json!({"username": "clerk", "password": "counter-key-4821", "role": "staff"}),
    )
    .await
    .ok(201);
    vec![asha, evil, gone, devi]
}

async fn export(app: &TestApp, dir: &Path) {
    let made = app.cli(&["export", dir.to_str().unwrap()]).await;
    assert!(made.status.success(), "{made:?}");
}

/// Runs `duetrack import DIR` against `app`'s database; returns the exit
/// code, stdout and stderr.
async fn import(app: &TestApp, dir: &Path) -> (Option<i32>, String, String) {
    let out = app.cli(&["import", dir.to_str().unwrap()]).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the API shows of one customer: the record with its totals, its
/// statement, dues and payments.
async fn customer_view(app: &TestApp, id: i64) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/api/v1/customers/{id}"),
        format!("/api/v1/customers/{id}/statement"),
        format!("/api/v1/customers/{id}/dues"),
        format!("/api/v1/customers/{id}/payments"),
    ] {
        let reply = app.get(&path).await;
        seen.push(json!({"path": path, "status": reply.status.as_u16(), "body": reply.body}));
    }
    seen
}

async fn activity(app: &TestApp) -> Value {
    app.get("/api/v1/activity?per_page=100")
        .await
        .ok(200)
        .clone()
}

async fn customer_count(app: &TestApp) -> (u64, u64) {
    let total = |reply: crate::helpers::Reply| reply.ok(200)["total"].as_u64().unwrap();
    (
        total(app.get("/api/v1/customers").await),
        total(app.get("/api/v1/customers?status=deleted").await),
    )
}

async fn an_export_comes_back_whole_into_a_new_database(backend: Backend) {
    let shop = spawn_app(backend).await;
    let ids = a_shop(&shop).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    export(&shop, &dir).await;

    // A new install: its owner was set up on start, nothing else is there.
    let moved = spawn_app(backend).await;
    let tried = moved
        .cli(&["import", "--dry-run", dir.to_str().unwrap()])
        .await;
    let said = String::from_utf8_lossy(&tried.stdout);
    assert!(tried.status.success(), "{tried:?}");
    assert!(
        said.contains("dry run") && said.contains("4 customers"),
        "{said}"
    );
    assert_eq!(
        customer_count(&moved).await,
        (0, 0),
        "a dry run writes nothing"
    );
    let (code, stdout, stderr) = import(&moved, &dir).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("imported a duetrack export: 2 staff")
            || stdout.contains("imported a duetrack export: 1 staff"),
        "{stdout}"
    );
    assert!(stdout.contains("4 customers"), "{stdout}");
    assert!(
        stdout.contains("reset-password") && stdout.contains("clerk"),
        "{stdout}"
    );

    for id in &ids {
        assert_eq!(
            customer_view(&moved, *id).await,
            customer_view(&shop, *id).await,
            "customer {id}"
        );
    }
    assert_eq!(activity(&moved).await, activity(&shop).await);
    let evil = moved.get(&format!("/api/v1/customers/{}", ids[1])).await;
    assert_eq!(
        evil.ok(200)["name"],
        EVIL,
        "the formula name comes back as typed"
    );
    let found = moved.get("/api/v1/customers?q=devi").await;
    assert_eq!(
        found.ok(200)["total"],
        1,
        "search finds an imported customer"
    );
    let by_phone = moved.get("/api/v1/customers?q=9845012345").await;
    assert_eq!(by_phone.ok(200)["total"], 1);

    let verified = moved.cli(&["verify"]).await;
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{report}");
    assert!(report.contains("OK"), "{report}");

    // Running it again adds nothing.
    let counts = customer_count(&moved).await;
    let (code, stdout, stderr) = import(&moved, &dir).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("nothing new"), "{stdout}");
    assert!(stdout.contains("already here"), "{stdout}");
    assert_eq!(customer_count(&moved).await, counts);
    assert_eq!(activity(&moved).await, activity(&shop).await);

    // The owner kept their own password; the imported clerk has none yet
    // and is refused, not crashed on.
    moved
        .login("admin", crate::helpers::ADMIN_PASSWORD)
        .await
        .expect("the owner still signs in");
    let refused = moved.login("clerk", "counter-key-4821").await.unwrap_err();
    assert_eq!(refused.status.as_u16(), 401, "{refused:?}");
    let reset = moved
        .cli(&[
            "admin",
            "reset-password",
            "clerk",
            "--password",
            "fresh-key-99120",
        ])
        .await;
    assert!(reset.status.success(), "{reset:?}");
    moved
        .login("clerk", "fresh-key-99120")
        .await
        .expect("the clerk signs in after a reset");

    // New records continue after the imported ids, and the log goes on.
    let next = moved.customer("Chandra Iyer").await;
    assert!(next > *ids.iter().max().unwrap(), "{next}");
    moved.add_due(next, json!({"amount": "10"})).await.ok(201);
    moved.pay(ids[0], json!({"amount": "50"})).await.ok(201);
    let verified = moved.cli(&["verify"]).await;
    assert!(verified.status.success(), "{verified:?}");
}

async fn a_database_holding_other_data_is_left_alone(backend: Backend) {
    let shop = spawn_app(backend).await;
    a_shop(&shop).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    export(&shop, &dir).await;

    let other = spawn_app(backend).await;
    let own = other.customer("Someone Else").await;
    other.add_due(own, json!({"amount": "75"})).await.ok(201);
    let before = (customer_count(&other).await, activity(&other).await);
    let (code, stdout, stderr) = import(&other, &dir).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("empty database"), "{stderr}");
    assert_eq!(
        (customer_count(&other).await, activity(&other).await),
        before
    );
    assert_eq!(other.balance(own).await, "75.00");

    // The database it came from already holds exactly this export.
    let (code, stdout, stderr) = import(&shop, &dir).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("already here"), "{stdout}");
}

async fn a_changed_file_is_refused_before_anything_is_written(backend: Backend) {
    let shop = spawn_app(backend).await;
    a_shop(&shop).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    export(&shop, &dir).await;
    let moved = spawn_app(backend).await;
    let before = activity(&moved).await;

    // One byte of one name changed.
    let path = dir.join("customers.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("Asha Rao", "Asha Rap", 1)).unwrap();
    let (code, stdout, stderr) = import(&moved, &dir).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("customers.csv") && stderr.contains("SHA-256 checksum"),
        "{stderr}"
    );
    assert_eq!(customer_count(&moved).await, (0, 0));
    assert_eq!(activity(&moved).await, before);

    // A bad cell and a missing file are named too, all in one refusal.
    std::fs::write(&path, text.replacen("1250.50", "12,50.50", 1)).unwrap();
    std::fs::write(
        dir.join("dues.csv"),
        std::fs::read_to_string(dir.join("dues.csv"))
            .unwrap()
            .replacen("1250.50", "lots", 1),
    )
    .unwrap();
    std::fs::remove_file(dir.join("reminders.csv")).unwrap();
    let (code, _, stderr) = import(&moved, &dir).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("dues.csv, line 2, column 'amount'") && stderr.contains("'lots'"),
        "{stderr}"
    );
    assert!(stderr.contains("reminders.csv: cannot be read"), "{stderr}");
    assert_eq!(customer_count(&moved).await, (0, 0));
}

/// More rows than one statement inserts: the rows are split across
/// statements and all arrive, in order, with the log's chain unbroken.
async fn many_rows_arrive_in_several_statements(backend: Backend) {
    let shop = spawn_app(backend).await;
    let busy = shop.customer("Busy Counter").await;
    for day in 0..320 {
        shop.add_due(
            busy,
            json!({"amount": format!("{}.25", day + 1), "description": format!("=day {day}")}),
        )
        .await
        .ok(201);
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    export(&shop, &dir).await;
    let moved = spawn_app(backend).await;
    let (code, stdout, stderr) = import(&moved, &dir).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("320 dues"), "{stdout}");
    assert_eq!(moved.balance(busy).await, shop.balance(busy).await);
    let dues = format!("/api/v1/customers/{busy}/dues");
    let imported = moved.get(&dues).await.ok(200).clone();
    assert_eq!(imported["items"].as_array().unwrap().len(), 320);
    assert_eq!(imported, shop.get(&dues).await.ok(200).clone());
    assert_eq!(activity(&moved).await, activity(&shop).await);
    let verified = moved.cli(&["verify"]).await;
    assert!(verified.status.success(), "{verified:?}");
}

crate::on_both_backends!(
    many_rows_arrive_in_several_statements,
    an_export_comes_back_whole_into_a_new_database,
    a_database_holding_other_data_is_left_alone,
    a_changed_file_is_refused_before_anything_is_written,
);
