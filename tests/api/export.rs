//! `duetrack export DIR`, run as the real binary beside a running server:
//! the CSV files hold what the API shows, the manifest's counts and
//! checksums match the files, a spreadsheet formula typed as a name runs
//! nothing, no secret leaves, and an earlier export is never overwritten
//! without --force.

use crate::helpers::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

const EVIL: &str = "=HYPERLINK(\"http://evil\",\"x\")";

/// A CSV file read back: its header and its rows as column → text.
struct Csv {
    headers: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

fn read_csv(path: &Path) -> Csv {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{} opens: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let record = r.expect("a well-formed CSV row");
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect()
        })
        .collect();
    Csv { headers, rows }
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("a manifest");
    serde_json::from_str(&text).expect("the manifest is JSON")
}

fn rows_in_manifest(manifest: &Value, file: &str) -> u64 {
    manifest["files"]
        .as_array()
        .expect("a list of files")
        .iter()
        .find(|f| f["name"] == file)
        .unwrap_or_else(|| panic!("{file} is in the manifest"))["rows"]
        .as_u64()
        .expect("a row count")
}

/// Customers (one named like a spreadsheet formula), dues, payments, a
/// voided payment and a customer deleted with a balance open. Returns the
/// ids of the active customers and of the deleted one.
async fn a_shop(app: &TestApp) -> (Vec<i64>, i64) {
    let asha = app.customer("Asha Rao").await;
    let evil = app.customer(EVIL).await;
    let gone = app.customer("Moved Away").await;
    app.add_due(
        asha,
        json!({"amount": "1250.50", "description": "-rice and dal"}),
    )
    .await
    .ok(201);
    app.add_due(asha, json!({"amount": "99.50"})).await.ok(201);
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
    app.add_due(gone, json!({"amount": "99.99"})).await.ok(201);
    app.delete(&format!(
        "/api/v1/customers/{gone}?force=true&reason=moved%20away"
    ))
    .await
    .ok(200);
    (vec![asha, evil], gone)
}

async fn an_export_holds_what_the_api_shows_and_no_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let (active, gone) = a_shop(&app).await;
    // A customer with an email address is sent an invitation with a one-time link.
    app.post(
        "/api/v1/customers",
        json!({"name": "Devi Nair", "email": "devi@example.com"}),
    )
    .await
    .ok(201);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");

    let made = app.cli(&["export", dir.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert_eq!(
        made.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        stdout.contains("exported 11 files") && stdout.contains(&dir.display().to_string()),
        "{stdout}"
    );
    // The server keeps working after the export.
    app.pay(active[0], json!({"amount": "50"})).await.ok(201);

    let manifest = manifest(&dir);
    assert_eq!(manifest["format"], "duetrack-export");
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["currency"], json!({"code": "INR", "exponent": 2}));
    assert_eq!(
        manifest["backend"],
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    assert!(manifest["exported_at"].as_str().unwrap().ends_with('Z'));

    // Every file is listed with its true row count and checksum, and the
    // folder holds nothing else (no temporary file is left behind).
    let mut listed: Vec<String> = vec!["manifest.json".into()];
    for file in manifest["files"].as_array().unwrap() {
        let name = file["name"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            file["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&bytes)),
            "{name}"
        );
        let csv = read_csv(&dir.join(name));
        assert_eq!(
            file["rows"].as_u64().unwrap(),
            csv.rows.len() as u64,
            "{name}"
        );
        assert_eq!(
            file["columns"],
            json!(csv.headers),
            "the manifest names {name}'s columns"
        );
        for header in &csv.headers {
            let h = header.to_ascii_lowercase();
            assert!(
                !(h.contains("password_hash") || h.contains("token") || h.contains("secret")),
                "{name} has a column {header}"
            );
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("$argon2"), "{name} holds a password hash");
        listed.push(name.to_string());
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    listed.sort();
    assert_eq!(present, listed);
    for expected in [
        "customers.csv",
        "deleted_customers.csv",
        "dues.csv",
        "payments.csv",
        "allocations.csv",
        "activity.csv",
        "signins.csv",
        "emails.csv",
        "staff.csv",
        "reminders.csv",
        "settings.csv",
    ] {
        assert!(
            listed.iter().any(|f| f == expected),
            "{expected} is written"
        );
    }

    // Row counts agree with the API's.
    let customers = read_csv(&dir.join("customers.csv"));
    let active_total = app.get("/api/v1/customers").await.ok(200)["total"]
        .as_u64()
        .unwrap();
    let deleted_total = app.get("/api/v1/customers?status=deleted").await.ok(200)["total"]
        .as_u64()
        .unwrap();
    assert_eq!(customers.rows.len() as u64, active_total + deleted_total);
    assert_eq!(
        rows_in_manifest(&manifest, "deleted_customers.csv"),
        deleted_total
    );
    let (mut dues, mut payments) = (0, 0);
    for id in active.iter().chain([&gone]) {
        dues += app
            .get(&format!("/api/v1/customers/{id}/dues"))
            .await
            .ok(200)["items"]
            .as_array()
            .unwrap()
            .len() as u64;
        payments += app
            .get(&format!("/api/v1/customers/{id}/payments"))
            .await
            .ok(200)["items"]
            .as_array()
            .unwrap()
            .len() as u64;
    }
    // One payment was made after the export.
    assert_eq!(rows_in_manifest(&manifest, "dues.csv"), dues);
    assert_eq!(rows_in_manifest(&manifest, "payments.csv"), payments - 1);
    let staff = app.get("/api/v1/staff").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rows_in_manifest(&manifest, "staff.csv"), staff as u64);
    let emails = read_csv(&dir.join("emails.csv"));
    let queued = app.get("/api/v1/emails").await.ok(200)["total"]
        .as_u64()
        .unwrap();
    assert_eq!(emails.rows.len() as u64, queued);
    assert!(emails.rows.iter().any(|r| r["kind"] == "invitation"
        && r["recipient"] == "devi@example.com"
        && !r["subject"].is_empty()));
    assert!(
        !emails.headers.iter().any(|h| h.contains("body")),
        "no message body leaves: {:?}",
        emails.headers
    );
    let activity = read_csv(&dir.join("activity.csv"));
    let logged = app.get("/api/v1/activity").await.ok(200)["total"]
        .as_u64()
        .unwrap();
    assert_eq!(
        activity.rows.len() as u64,
        logged - 1,
        "the later payment is not in it"
    );
    assert!(
        activity
            .rows
            .iter()
            .all(|r| r["hash"].len() == 67 && r["hash"].starts_with("k1:")),
        "hashes are keyed under the chain key"
    );
    assert!(
        activity
            .rows
            .iter()
            .all(|r| r["prev_hash"].len() == 67 || r["prev_hash"] == "0".repeat(64))
    );

    // Balances and amounts are plain decimals in major units, as the API shows them.
    for row in &customers.rows {
        let id: i64 = row["id"].parse().unwrap();
        if id == active[0] {
            assert_eq!(row["balance"], "850.00");
        } else {
            assert_eq!(row["balance"], app.balance(id).await, "customer {id}");
        }
        assert_eq!(row["has_password"], "false");
    }
    let evil = customers
        .rows
        .iter()
        .find(|r| r["id"] == active[1].to_string())
        .unwrap();
    assert_eq!(
        evil["name"],
        format!("'{EVIL}"),
        "the formula is neutralised"
    );
    assert_eq!(
        evil["balance"], "-50.00",
        "a negative amount stays a number"
    );
    let dues_csv = read_csv(&dir.join("dues.csv"));
    let first = &dues_csv.rows[0];
    assert_eq!(first["amount"], "1250.50");
    assert_eq!(first["description"], "'-rice and dal");
    assert_eq!(first["issue_date"].len(), 10, "a date is YYYY-MM-DD");
    let voided = read_csv(&dir.join("payments.csv"))
        .rows
        .into_iter()
        .filter(|r| r["status"] == "void")
        .collect::<Vec<_>>();
    assert_eq!(voided.len(), 1);
    assert_eq!(voided[0]["void_reason"], "cheque bounced");
    let deleted = read_csv(&dir.join("deleted_customers.csv"));
    assert_eq!(deleted.rows.len(), 1);
    assert_eq!(deleted.rows[0]["id"], gone.to_string());
    assert_eq!(deleted.rows[0]["delete_reason"], "moved away");
    assert_eq!(deleted.rows[0]["balance"], "99.99");
    assert!(!deleted.rows[0]["deleted_at"].is_empty());
}

async fn a_second_export_never_overwrites_the_first_without_force(backend: Backend) {
    let app = spawn_app(backend).await;
    a_shop(&app).await;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    let first = app.cli(&["export", dir.to_str().unwrap()]).await;
    assert!(first.status.success(), "{first:?}");
    let before = std::fs::read(dir.join("manifest.json")).unwrap();
    let customers_before = std::fs::read(dir.join("customers.csv")).unwrap();

    app.customer("Chandra Iyer").await;
    let refused = app.cli(&["export", dir.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not empty") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(dir.join("manifest.json")).unwrap(), before);
    assert_eq!(
        std::fs::read(dir.join("customers.csv")).unwrap(),
        customers_before
    );
    let names = |dir: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&dir).len(), 12, "{:?}", names(&dir));

    let forced = app.cli(&["export", "--force", dir.to_str().unwrap()]).await;
    assert!(forced.status.success(), "{forced:?}");
    let manifest = manifest(&dir);
    assert_eq!(rows_in_manifest(&manifest, "customers.csv"), 4);
    assert_eq!(names(&dir).len(), 12, "no temporary file is left behind");

    // A file where the folder should be, or no folder at all, is bad usage.
    let file = out.path().join("notes.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let wrong = app.cli(&["export", file.to_str().unwrap()]).await;
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    let missing = app.cli(&["export"]).await;
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
}

async fn read(
    snapshot: &mut duetrack::store::export::Snapshot,
    table: &duetrack::store::export::Table,
    page: i64,
) -> Vec<Vec<duetrack::store::export::Cell>> {
    let mut rows = Vec::new();
    let n = snapshot
        .each_row_in_pages(table, page, |cells| -> anyhow::Result<()> {
            rows.push(cells);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(n, rows.len() as u64);
    rows
}

/// An amount from a CSV cell, in minor units (two decimals for INR).
fn minor(cell: &str) -> i64 {
    let (whole, cents) = cell.split_once('.').expect("two decimals");
    assert_eq!(cents.len(), 2, "{cell}");
    let value: i64 = format!("{}{cents}", whole.trim_start_matches('-'))
        .parse()
        .unwrap();
    if cell.starts_with('-') { -value } else { value }
}

/// Payments recorded while the export runs land wholly before or after its
/// snapshot: in the files, every balance still equals its ledger.
async fn an_export_during_payments_is_one_consistent_snapshot(backend: Backend) {
    let app = spawn_app(backend).await;
    let busy = app.customer("Busy Counter").await;
    app.add_due(busy, json!({"amount": "100000"})).await.ok(201);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    let paying = async {
        let mut made = 0;
        for _ in 0..30 {
            app.pay(busy, json!({"amount": "1.25"})).await.ok(201);
            made += 1;
        }
        made
    };
    let args = ["export", dir.to_str().unwrap()];
    let (made, exported) = tokio::join!(paying, app.cli(&args));
    assert_eq!(made, 30);
    assert!(exported.status.success(), "{exported:?}");

    let customers = read_csv(&dir.join("customers.csv"));
    let dues = read_csv(&dir.join("dues.csv"));
    let payments = read_csv(&dir.join("payments.csv"));
    let allocations = read_csv(&dir.join("allocations.csv"));
    let row = &customers.rows[0];
    let charged: i64 = dues
        .rows
        .iter()
        .filter(|d| d["status"] != "void")
        .map(|d| minor(&d["amount"]))
        .sum();
    let paid: i64 = payments
        .rows
        .iter()
        .filter(|p| p["status"] == "recorded")
        .map(|p| minor(&p["amount"]))
        .sum();
    assert_eq!(minor(&row["total_dues"]), charged);
    assert_eq!(minor(&row["total_paid"]), paid);
    assert_eq!(minor(&row["balance"]), charged - paid);
    assert_eq!(allocations.rows.len(), payments.rows.len());
    let allocated: i64 = allocations.rows.iter().map(|a| minor(&a["amount"])).sum();
    assert_eq!(allocated, paid);
    assert_eq!(minor(&dues.rows[0]["paid"]), paid);
    assert!(app.cli(&["verify"]).await.status.success());
}

/// Rows are read a page at a time by key; pages of one row see exactly
/// the rows, in the same order, that one big page does.
async fn paging_through_a_table_skips_and_repeats_nothing(backend: Backend) {
    use duetrack::store::export::TABLES;
    let app = spawn_app(backend).await;
    a_shop(&app).await;
    // One payment over two dues: two allocations under one payment id.
    let chandra = app.customer("Chandra Iyer").await;
    app.add_due(chandra, json!({"amount": "10"})).await.ok(201);
    app.add_due(chandra, json!({"amount": "20"})).await.ok(201);
    app.pay(chandra, json!({"amount": "30"})).await.ok(201);
    let config = duetrack::config::Config::from_raw(&app.settings).unwrap();
    let (store, _) = duetrack::startup::open_store(&config).await.unwrap();
    let mut snapshot = store.export_snapshot().await.unwrap();
    for table in TABLES {
        let whole = read(&mut snapshot, table, 1000).await;
        let one_by_one = read(&mut snapshot, table, 1).await;
        let two_by_two = read(&mut snapshot, table, 2).await;
        assert_eq!(one_by_one, whole, "{}", table.name);
        assert_eq!(two_by_two, whole, "{}", table.name);
        if ["dues", "payments", "allocations", "activity"].contains(&table.name) {
            assert!(whole.len() >= 3, "{} crosses pages", table.name);
        }
    }
    drop(snapshot);
    store.db.close().await;
}

crate::on_both_backends!(
    an_export_holds_what_the_api_shows_and_no_secret,
    a_second_export_never_overwrites_the_first_without_force,
    an_export_during_payments_is_one_consistent_snapshot,
    paging_through_a_table_skips_and_repeats_nothing
);
