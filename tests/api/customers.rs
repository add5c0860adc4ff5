use crate::helpers::{Backend, spawn_app};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_new_customer_gets_a_username_and_a_zero_balance,
    search_finds_customers_by_name_phone_and_email,
    lists_sort_by_balance_and_paginate,
    an_edit_changes_only_the_fields_sent,
    a_customer_with_a_balance_is_deleted_only_by_force,
    a_deleted_customer_can_be_restored,
    two_active_customers_cannot_share_an_email,
    every_change_is_in_the_activity_log,
);

async fn a_new_customer_gets_a_username_and_a_zero_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/api/v1/customers",
            json!({"name": "Ramesh Kumar", "email": "Ramesh@Example.com", "phone": "+91 98765-43210",
                   "address": "12 MG Road", "category": "wholesale", "notes": "pays on Fridays"}),
        )
        .await;
    let body = reply.ok(201);
    assert!(body["id"].as_i64().unwrap() > 0);
    assert_eq!(body["username"], "ramesh.kumar");
    assert_eq!(body["balance"], "0.00");
    assert_eq!(body["email"], "ramesh@example.com");
    assert_eq!(body["phone"], "+919876543210");
    assert_eq!(body["currency"], "INR");
    assert_eq!(
        reply.headers.get("location").unwrap().to_str().unwrap(),
        format!("/api/v1/customers/{}", body["id"])
    );
    let twin = app
        .post("/api/v1/customers", json!({"name": "Ramesh Kumar"}))
        .await;
    assert_eq!(twin.ok(201)["username"], "ramesh.kumar2");
}

async fn search_finds_customers_by_name_phone_and_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post(
        "/api/v1/customers",
        json!({"name": "Asha Rao", "phone": "98450 11111"}),
    )
    .await
    .ok(201);
    app.post(
        "/api/v1/customers",
        json!({"name": "Ashok Mehta", "email": "ashok@shop.in"}),
    )
    .await
    .ok(201);
    app.post(
        "/api/v1/customers",
        json!({"name": "Bina Das", "email": "bina@example.com"}),
    )
    .await
    .ok(201);
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.get("/api/v1/customers?q=ash").await;
    r.ok(200);
    assert_eq!(names(&r), vec!["Asha Rao", "Ashok Mehta"]);
    assert_eq!(r.body["total"], 2);
    let r = app.get("/api/v1/customers?q=98450").await;
    r.ok(200);
    assert_eq!(names(&r), vec!["Asha Rao"]);
    let r = app.get("/api/v1/customers?q=bina@example.com").await;
    r.ok(200);
    assert_eq!(names(&r), vec!["Bina Das"]);
    let r = app.get("/api/v1/customers?q=asha%20rao").await;
    r.ok(200);
    assert_eq!(names(&r), vec!["Asha Rao"]);
    let r = app.get("/api/v1/customers?q=zzz").await;
    assert_eq!(r.ok(200)["total"], 0);
}

async fn lists_sort_by_balance_and_paginate(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, amount) in [
        ("A", "10"),
        ("B", "30"),
        ("C", "20"),
        ("D", "5"),
        ("E", "0"),
    ] {
        let id = app.customer(name).await;
        if amount != "0" {
            app.add_due(id, json!({ "amount": amount })).await.ok(201);
        }
    }
    let r = app
        .get("/api/v1/customers?sort=balance_desc&per_page=2&page=1")
        .await;
    let body = r.ok(200);
    assert_eq!(
        (
            body["total"].clone(),
            body["page"].clone(),
            body["per_page"].clone()
        ),
        (json!(5), json!(1), json!(2))
    );
    let names: Vec<_> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("B"), json!("C")]);
    let r = app
        .get("/api/v1/customers?sort=balance_desc&per_page=2&page=3")
        .await;
    let names: Vec<_> = r.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("E")]);
    let r = app
        .get("/api/v1/customers?sort=created_desc&per_page=1")
        .await;
    assert_eq!(r.ok(200)["items"][0]["name"], "E");
    let r = app.get("/api/v1/customers?sort=name&page=9").await;
    assert_eq!(r.ok(200)["items"], json!([]));
}

async fn an_edit_changes_only_the_fields_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            "/api/v1/customers",
            json!({"name": "Nina", "email": "nina@example.com", "phone": "12345678"}),
        )
        .await;
    let id = created.ok(201)["id"].as_i64().unwrap();
    let edited = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            json!({"phone": "+44 20 7946 0958", "email": null, "credit_limit": "2500.5"}),
        )
        .await;
    let body = edited.ok(200);
    assert_eq!(body["name"], "Nina");
    assert_eq!(body["phone"], "+442079460958");
    assert_eq!(body["email"], json!(null));
    assert_eq!(body["credit_limit"], "2500.50");
    // Search follows the edit.
    let found = app.get("/api/v1/customers?q=442079").await;
    assert_eq!(found.ok(200)["total"], 1);

    let bad = app
        .patch(&format!("/api/v1/customers/{id}"), json!({"name": null}))
        .await;
    assert_eq!(bad.problem(422)["field"], "name");
    let bad = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            json!({"email": "not-an-email"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "email");
    let unchanged = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(unchanged.ok(200)["phone"], "+442079460958");
}

async fn a_customer_with_a_balance_is_deleted_only_by_force(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Owes Money").await;
    app.add_due(c, json!({"amount": "99.99"})).await.ok(201);
    let refused = app.delete(&format!("/api/v1/customers/{c}")).await;
    assert_eq!(refused.problem(409)["code"], "balance_open");
    let no_reason = app
        .delete(&format!("/api/v1/customers/{c}?force=true"))
        .await;
    assert_eq!(no_reason.problem(422)["field"], "reason");
    let forced = app
        .delete(&format!(
            "/api/v1/customers/{c}?force=true&reason=moved%20away"
        ))
        .await;
    assert_eq!(forced.ok(200)["status"], "deleted");
    assert_eq!(forced.body["delete_reason"], "moved away");
    assert_eq!(forced.body["balance"], "99.99", "the ledger is kept");
    let active = app.get("/api/v1/customers").await;
    assert_eq!(active.ok(200)["total"], 0);
    let deleted = app.get("/api/v1/customers?status=deleted").await;
    assert_eq!(deleted.ok(200)["total"], 1);
    // A deleted customer's ledger is frozen until it is restored.
    app.add_due(c, json!({"amount": "1"})).await.problem(409);
}

async fn a_deleted_customer_can_be_restored(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Paid Up").await;
    app.delete(&format!("/api/v1/customers/{c}")).await.ok(200);
    app.delete(&format!("/api/v1/customers/{c}"))
        .await
        .problem(409);
    let restored = app
        .post(&format!("/api/v1/customers/{c}/restore"), json!({}))
        .await;
    assert_eq!(restored.ok(200)["status"], "active");
    app.post(&format!("/api/v1/customers/{c}/restore"), json!({}))
        .await
        .problem(409);
    assert_eq!(app.get("/api/v1/customers").await.ok(200)["total"], 1);
}

async fn two_active_customers_cannot_share_an_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app
        .post(
            "/api/v1/customers",
            json!({"name": "One", "email": "same@example.com"}),
        )
        .await;
    let first = first.ok(201)["id"].as_i64().unwrap();
    let clash = app
        .post(
            "/api/v1/customers",
            json!({"name": "Two", "email": "SAME@example.com"}),
        )
        .await;
    assert_eq!(clash.problem(409)["field"], "email");
    app.delete(&format!("/api/v1/customers/{first}"))
        .await
        .ok(200);
    app.post(
        "/api/v1/customers",
        json!({"name": "Two", "email": "same@example.com"}),
    )
    .await
    .ok(201);
    // Restoring the first would now clash.
    let clash = app
        .post(&format!("/api/v1/customers/{first}/restore"), json!({}))
        .await;
    assert_eq!(clash.problem(409)["field"], "email");
}

async fn every_change_is_in_the_activity_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Logged").await;
    app.add_due(c, json!({"amount": "10"})).await.ok(201);
    let payment = app.pay(c, json!({"amount": "10"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    app.patch(
        &format!("/api/v1/customers/{c}"),
        json!({"notes": "regular"}),
    )
    .await
    .ok(200);

    let log = app.get("/api/v1/activity?per_page=100").await;
    let actions: Vec<_> = log.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        vec![
            "customer.updated",
            "payment.recorded",
            "due.created",
            "customer.created",
            "staff.created"
        ]
    );
    let entry = &log.body["items"][0];
    assert_eq!(entry["actor"], "admin");
    assert_eq!(entry["before"]["notes"], json!(null));
    assert_eq!(entry["after"]["notes"], "regular");

    let one = app
        .get(&format!(
            "/api/v1/activity?entity=payment&entity_id={payment}"
        ))
        .await;
    assert_eq!(one.ok(200)["total"], 1);
    let by_actor = app.get("/api/v1/activity?actor=system").await;
    assert_eq!(by_actor.ok(200)["total"], 1);
    let future = app.get("/api/v1/activity?from=2199-01-01").await;
    assert_eq!(future.ok(200)["total"], 0);
    let today = app
        .get("/api/v1/activity?from=2000-01-01&to=2199-12-31")
        .await;
    assert_eq!(today.ok(200)["total"], 5);
    app.get("/api/v1/activity?from=yesterday")
        .await
        .problem(400);
}
