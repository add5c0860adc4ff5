//! Huge sums: a customer's running totals stop at a stated limit with a
//! clear refusal instead of overflowing, and sums over many rows (the
//! dashboard, the digest) saturate instead of failing.

use crate::helpers::{Backend, spawn_app, spawn_app_with};
use serde_json::json;

crate::on_both_backends!(
    a_customers_totals_stop_at_the_limit_with_a_clear_refusal,
    sums_over_many_customers_saturate_instead_of_failing,
);

async fn a_customers_totals_stop_at_the_limit_with_a_clear_refusal(backend: Backend) {
    // Three decimals: the largest single amount is 10^15 minor units, so a
    // hundred of them reach the limit of 10^17 on one customer.
    let app = spawn_app_with(backend, |s| s.currency = Some("KWD".into())).await;
    let c = app.customer("Big Spender").await;
    let max = "1000000000000.000";
    for _ in 0..100 {
        app.add_due(c, json!({"amount": max})).await.ok(201);
        app.pay(c, json!({"amount": max, "advance": true}))
            .await
            .ok(201);
    }
    let refused = app.add_due(c, json!({"amount": max})).await;
    let problem = refused.problem(422);
    assert_eq!(problem["code"], "total_too_large", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        detail.contains("100000000000000.000") || detail.contains("100,000,000,000,000.000"),
        "the limit is named: {problem}"
    );
    let refused = app
        .pay(c, json!({"amount": "0.001", "advance": true}))
        .await;
    assert_eq!(refused.problem(422)["code"], "total_too_large");

    // Nothing half-written, and every page that adds things up still answers.
    assert_eq!(app.balance(c).await, "0.000");
    app.get(&format!("/api/v1/customers/{c}")).await.ok(200);
    app.get(&format!("/api/v1/customers/{c}/statement"))
        .await
        .ok(200);
    app.get("/api/v1/customers").await.ok(200);
    app.get("/api/v1/dashboard").await.ok(200);
    let verify = app.cli(&["verify"]).await;
    assert!(verify.status.success(), "{verify:?}");
}

async fn sums_over_many_customers_saturate_instead_of_failing(backend: Backend) {
    let app = spawn_app(backend).await;
    for name in ["One", "Two", "Three"] {
        let c = app.customer(name).await;
        app.add_due(c, json!({"amount": "10"})).await.ok(201);
        app.pay(c, json!({"amount": "5"})).await.ok(201);
    }
    // Balances and payments no single write could make, but their sum is
    // past the 64-bit range: the figures saturate, the pages answer.
    app.raw_sql("UPDATE customers SET balance = 4000000000000000000")
        .await;
    app.raw_sql(
        "UPDATE payments SET amount = 4000000000000000000, unallocated = 4000000000000000000",
    )
    .await;
    let dashboard = app.get("/api/v1/dashboard").await;
    let body = dashboard.ok(200);
    assert_eq!(body["total_outstanding"], "92233720368547758.07", "{body}");
    let remind = app.cli(&["remind", "--dry-run"]).await;
    assert!(remind.status.success(), "{remind:?}");
}
