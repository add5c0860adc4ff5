//! Purging a deleted customer's personal data: only the owner, only once
//! the customer is deleted, and never at the cost of the ledger, the hash
//! chain or `duetrack verify`.

use crate::helpers::{Backend, TestApp, link_token, spawn_app};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    only_a_deleted_customer_can_be_purged,
    only_the_owner_may_purge,
    a_purge_erases_personal_data_and_keeps_the_ledger,
    the_console_purges_a_customer,
);

const PASSWORD: &str = "mango tree by the well";

/// A customer with full details and a password, who owes 1000.00 and has
/// paid 400.00 of it.
async fn customer_with_a_ledger(app: &TestApp) -> i64 {
    let id = app
        .post(
            "/api/v1/customers",
            json!({"name": "Meera Iyer", "email": "meera@example.com", "phone": "98450 22222",
                   "address": "4 Temple Street", "category": "retail", "notes": "prefers UPI"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let token = link_token(app, "meera@example.com").await;
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": token, "password": PASSWORD})),
    )
    .await
    .ok(200);
    app.login("meera@example.com", PASSWORD)
        .await
        .expect("the customer signs in before the purge");
    app.add_due(id, json!({"amount": "600", "description": "rice"}))
        .await
        .ok(201);
    app.add_due(id, json!({"amount": "400", "description": "oil"}))
        .await
        .ok(201);
    app.pay(id, json!({"amount": "400", "method": "upi"}))
        .await
        .ok(201);
    id
}

async fn delete(app: &TestApp, id: i64) {
    app.delete(&format!(
        "/api/v1/customers/{id}?force=true&reason=moved%20to%20Pune"
    ))
    .await
    .ok(200);
}

async fn staff_token(app: &TestApp, username: &str, role: &str) -> String {
    app.post(
        "/api/v1/staff",
        json!({"username": username, "password": "counter-key-4821", "role": role}),
    )
    .await
    .ok(201);
    app.login(username, "counter-key-4821").await.unwrap()
}

/// The statement's amounts, without the customer it is about.
fn amounts(statement: &Value) -> Value {
    json!({
        "opening": statement["opening_balance"],
        "closing": statement["closing_balance"],
        "entries": statement["entries"],
    })
}

async fn only_a_deleted_customer_can_be_purged(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Ravi Kumar").await;
    let refused = app
        .post(&format!("/api/v1/customers/{id}/purge"), json!({}))
        .await;
    let problem = refused.problem(409);
    assert_eq!(problem["code"], "not_deleted");
    assert!(
        problem["detail"].as_str().unwrap().contains("delete"),
        "{problem}"
    );
    let customer = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(customer.ok(200)["name"], "Ravi Kumar");
    app.post("/api/v1/customers/987654/purge", json!({}))
        .await
        .problem(404);
}

async fn only_the_owner_may_purge(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Ravi Kumar").await;
    delete(&app, id).await;
    for (username, role) in [("manager", "admin"), ("counter", "staff")] {
        let token = staff_token(&app, username, role).await;
        let refused = app
            .send(
                app.client
                    .post(app.url(&format!("/api/v1/customers/{id}/purge")))
                    .bearer_auth(&token),
            )
            .await;
        refused.problem(403);
    }
    let customer = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(customer.ok(200)["name"], "Ravi Kumar");
}

async fn a_purge_erases_personal_data_and_keeps_the_ledger(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = customer_with_a_ledger(&app).await;
    let statement_before = app.get(&format!("/api/v1/customers/{id}/statement")).await;
    let statement_before = amounts(statement_before.ok(200));
    let dues_before = app.get(&format!("/api/v1/customers/{id}/dues")).await;
    let dues_before = dues_before.ok(200).clone();
    delete(&app, id).await;
    let before = app.get(&format!("/api/v1/customers/{id}")).await;
    let before = before.ok(200).clone();

    let purged = app
        .post(&format!("/api/v1/customers/{id}/purge"), json!({}))
        .await;
    let purged = purged.ok(200);
    assert_eq!(purged["name"], format!("Purged customer #{id}"));
    assert_eq!(purged["status"], "deleted");
    for field in ["phone", "email", "address", "category", "notes"] {
        assert_eq!(purged[field], Value::Null, "{field} is erased: {purged}");
    }
    let shown = app.get(&format!("/api/v1/customers/{id}")).await;
    let shown = shown.ok(200).clone();
    let text = shown.to_string();
    for secret in [
        "Meera",
        "meera",
        "98450",
        "Temple",
        "retail",
        "prefers UPI",
        "Pune",
    ] {
        assert!(!text.contains(secret), "{secret} is still shown: {text}");
    }
    for figure in ["balance", "total_dues", "total_paid", "overdue", "credit"] {
        assert_eq!(shown[figure], before[figure], "{figure} is kept");
    }
    assert_eq!(shown["balance"], "600.00");
    let statement_after = app.get(&format!("/api/v1/customers/{id}/statement")).await;
    assert_eq!(amounts(statement_after.ok(200)), statement_before);
    let dues_after = app.get(&format!("/api/v1/customers/{id}/dues")).await;
    assert_eq!(dues_after.ok(200), &dues_before);

    // Neither the old user name, the email nor the placeholder signs in.
    for name in ["meera.iyer", "meera@example.com", &format!("purged#{id}")] {
        let refused = app.login(name, PASSWORD).await;
        assert!(refused.is_err(), "{name} still signs in");
    }

    // The log says a purge happened, and not what was erased.
    let log = app.get("/api/v1/activity?per_page=1").await;
    let entry = &log.ok(200)["items"][0];
    assert_eq!(entry["action"], "customer.purged");
    assert_eq!(entry["actor"], "admin");
    assert_eq!(entry["entity_id"], id.to_string());
    let logged = entry.to_string();
    for secret in ["Meera", "meera", "98450", "Temple", "Pune"] {
        assert!(!logged.contains(secret), "{secret} is logged: {logged}");
    }

    // Their emails keep neither the address nor the text, and none waits to go.
    let emails = app
        .get(&format!("/api/v1/emails?customer_id={id}&per_page=100"))
        .await;
    let emails = emails.ok(200).clone();
    assert!(!emails["items"].as_array().unwrap().is_empty());
    assert!(
        !emails.to_string().contains("meera@example.com"),
        "{emails}"
    );
    for email in emails["items"].as_array().unwrap() {
        assert_ne!(email["status"], "queued", "{email}");
    }

    let verify = app.cli(&["verify"]).await;
    assert!(
        verify.status.success(),
        "verify after a purge: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

async fn the_console_purges_a_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = customer_with_a_ledger(&app).await;
    let active = app.cli(&["admin", "purge", &id.to_string()]).await;
    assert_eq!(active.status.code(), Some(1), "an active customer is kept");
    assert!(String::from_utf8_lossy(&active.stderr).contains("not deleted"));

    delete(&app, id).await;
    let done = app.cli(&["admin", "purge", &id.to_string()]).await;
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        stdout.contains(&format!("Purged customer #{id}")),
        "{stdout}"
    );

    let shown = app.get(&format!("/api/v1/customers/{id}")).await;
    let shown = shown.ok(200);
    assert_eq!(shown["name"], format!("Purged customer #{id}"));
    assert_eq!(shown["email"], Value::Null);
    assert_eq!(shown["balance"], "600.00");
    let log = app.get("/api/v1/activity?per_page=1").await;
    let entry = &log.ok(200)["items"][0];
    assert_eq!(entry["action"], "customer.purged");
    assert_eq!(entry["actor"], "console");
    let verify = app.cli(&["verify"]).await;
    assert!(verify.status.success());
}
