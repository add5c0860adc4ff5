//! Many payments at once on one customer: none lost, none doubled.

use crate::helpers::{Backend, spawn_app, spawn_app_with};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    hundreds_of_concurrent_payments_lose_no_update,
    concurrent_retries_with_one_key_record_one_payment,
);

async fn hundreds_of_concurrent_payments_lose_no_update(backend: Backend) {
    // 300 connections at once from one address stand for 300 clients:
    // lift the per-address cap, which would answer most of them 503.
    let app = spawn_app_with(backend, |s| {
        s.max_connections_per_address = Some("1000".into());
        s.max_requests_per_address = Some("1000".into());
    })
    .await;
    let c = app.customer("Busy Counter").await;
    app.add_due(c, json!({"amount": "300.00"})).await.ok(201);
    let url = app.url(&format!("/api/v1/customers/{c}/payments"));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let request = app
            .client
            .post(&url)
            .bearer_auth(&app.token)
            .json(&json!({"amount": "1.00", "reference": format!("r{i}")}));
        tasks.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), 201);
        created += 1;
    }
    assert_eq!(created, 300);
    let customer = app.get(&format!("/api/v1/customers/{c}")).await;
    assert_eq!(customer.ok(200)["balance"], "0.00");
    assert_eq!(customer.body["total_paid"], "300.00");
    let payments = app.get(&format!("/api/v1/customers/{c}/payments")).await;
    let items = payments.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 300);
    // Each payment saw a distinct balance: they were applied one after another.
    let mut after: Vec<String> = items
        .iter()
        .map(|p| p["balance_after"].as_str().unwrap().to_string())
        .collect();
    after.sort();
    after.dedup();
    assert_eq!(after.len(), 300);
    let due = app.get(&format!("/api/v1/customers/{c}/dues")).await;
    assert_eq!(due.ok(200)["items"][0]["status"], "paid");
    // One more is an overpayment.
    app.pay(c, json!({"amount": "1.00"})).await.problem(422);
}

async fn concurrent_retries_with_one_key_record_one_payment(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Impatient").await;
    app.add_due(c, json!({"amount": "100"})).await.ok(201);
    let url = app.url(&format!("/api/v1/customers/{c}/payments"));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..25 {
        let request = app
            .client
            .post(&url)
            .bearer_auth(&app.token)
            .header("Idempotency-Key", "double-tap")
            .json(&json!({"amount": "40"}));
        tasks.spawn(async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap()["id"].clone(),
            )
        });
    }
    let mut ids = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (status, id) = result.unwrap();
        assert_eq!(status, 201);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry returned the same payment");
    assert_eq!(app.balance(c).await, "60.00");
}
