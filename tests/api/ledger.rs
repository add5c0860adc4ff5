use crate::helpers::{Backend, spawn_app};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_partial_payment_leaves_the_rest_due,
    payments_fill_the_oldest_due_first,
    an_overpayment_is_refused_unless_it_is_an_advance,
    an_advance_pays_the_next_due,
    a_retried_payment_with_the_same_key_is_recorded_once,
    a_reused_key_with_a_different_body_is_refused,
    a_voided_payment_reopens_the_dues_it_paid,
    a_voided_due_frees_its_payment_as_credit,
    the_statement_runs_a_balance_in_date_order,
    a_due_past_the_credit_limit_needs_consent,
    overdue_counts_only_past_due_dates,
);

async fn a_partial_payment_leaves_the_rest_due(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Asha Rao").await;
    let due = app
        .add_due(
            c,
            json!({"amount": "1000.00", "description": "Rice, 25 kg"}),
        )
        .await;
    let due_id = due.ok(201)["id"].as_i64().unwrap();
    assert_eq!(due.body["status"], "open");

    let payment = app
        .pay(
            c,
            json!({"amount": "400.50", "method": "upi", "reference": "UPI123"}),
        )
        .await;
    let body = payment.ok(201);
    assert_eq!(body["balance_after"], "599.50");
    assert_eq!(body["method"], "upi");
    assert_eq!(
        body["allocations"],
        json!([{"due_id": due_id, "amount": "400.50"}])
    );

    let due = app.get(&format!("/api/v1/dues/{due_id}")).await;
    assert_eq!(due.ok(200)["status"], "partial");
    assert_eq!(due.body["outstanding"], "599.50");
    assert_eq!(app.balance(c).await, "599.50");

    app.pay(c, json!({"amount": "599.50"})).await.ok(201);
    let due = app.get(&format!("/api/v1/dues/{due_id}")).await;
    assert_eq!(due.ok(200)["status"], "paid");
    assert_eq!(app.balance(c).await, "0.00");
}

async fn payments_fill_the_oldest_due_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Ravi").await;
    let later = app
        .add_due(
            c,
            json!({"amount": "100", "issue_date": "2026-01-01", "due_date": "2026-03-01"}),
        )
        .await;
    let sooner = app
        .add_due(
            c,
            json!({"amount": "100", "issue_date": "2026-01-05", "due_date": "2026-02-01"}),
        )
        .await;
    let (later, sooner) = (
        later.ok(201)["id"].as_i64().unwrap(),
        sooner.ok(201)["id"].as_i64().unwrap(),
    );
    let payment = app.pay(c, json!({"amount": "150"})).await;
    assert_eq!(
        payment.ok(201)["allocations"],
        json!([{"due_id": sooner, "amount": "100.00"}, {"due_id": later, "amount": "50.00"}])
    );
    let dues = app.get(&format!("/api/v1/customers/{c}/dues")).await;
    let statuses: Vec<_> = dues.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("paid"), json!("partial")]);
}

async fn an_overpayment_is_refused_unless_it_is_an_advance(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Meena").await;
    app.add_due(c, json!({"amount": "250.00"})).await.ok(201);

    let refused = app.pay(c, json!({"amount": "300.00"})).await;
    let problem = refused.problem(422);
    assert_eq!(problem["field"], "amount");
    assert_eq!(problem["code"], "overpayment");
    assert!(problem["detail"].as_str().unwrap().contains("250.00"));
    assert_eq!(app.balance(c).await, "250.00");

    let advance = app
        .pay(c, json!({"amount": "300.00", "advance": true}))
        .await;
    assert_eq!(advance.ok(201)["balance_after"], "-50.00");
    assert_eq!(advance.body["unallocated"], "50.00");
    let customer = app.get(&format!("/api/v1/customers/{c}")).await;
    assert_eq!(customer.ok(200)["credit"], "50.00");

    // With nothing owed, even a small payment needs the advance flag.
    let refused = app.pay(c, json!({"amount": "1"})).await;
    assert_eq!(refused.problem(422)["code"], "overpayment");
}

async fn an_advance_pays_the_next_due(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Kiran").await;
    app.pay(c, json!({"amount": "100", "advance": true}))
        .await
        .ok(201);
    let due = app.add_due(c, json!({"amount": "60"})).await;
    assert_eq!(due.ok(201)["status"], "paid");
    assert_eq!(due.body["balance_after"], "-40.00");
    let due = app.add_due(c, json!({"amount": "60"})).await;
    assert_eq!(due.ok(201)["status"], "partial");
    assert_eq!(due.body["paid"], "40.00");
    assert_eq!(app.balance(c).await, "20.00");
}

async fn a_retried_payment_with_the_same_key_is_recorded_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Farah").await;
    app.add_due(c, json!({"amount": "500"})).await.ok(201);
    let pay = || {
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/customers/{c}/payments")))
                .bearer_auth(&app.token)
                .header("Idempotency-Key", "till-7-0001")
                .json(&json!({"amount": "200.00", "method": "cash"})),
        )
    };
    let first = pay().await;
    let first_body = first.ok(201).clone();
    let retry = pay().await;
    assert_eq!(
        retry.ok(201),
        &first_body,
        "a retry returns the first result"
    );
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(app.balance(c).await, "300.00");
    let payments = app.get(&format!("/api/v1/customers/{c}/payments")).await;
    assert_eq!(payments.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn a_reused_key_with_a_different_body_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Gopal").await;
    app.add_due(c, json!({"amount": "500"})).await.ok(201);
    let pay = |amount: &str| {
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/customers/{c}/payments")))
                .bearer_auth(&app.token)
                .header("Idempotency-Key", "same-key")
                .json(&json!({ "amount": amount })),
        )
    };
    pay("100").await.ok(201);
    let reused = pay("150").await;
    assert_eq!(reused.problem(422)["code"], "idempotency_key_reused");
    assert_eq!(app.balance(c).await, "400.00");
}

async fn a_voided_payment_reopens_the_dues_it_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Hari").await;
    let due = app.add_due(c, json!({"amount": "300"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    let payment = app.pay(c, json!({"amount": "300"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.balance(c).await, "0.00");

    let missing_reason = app
        .post(
            &format!("/api/v1/payments/{payment}/void"),
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(missing_reason.problem(422)["field"], "reason");

    let voided = app
        .post(
            &format!("/api/v1/payments/{payment}/void"),
            json!({"reason": "cheque bounced"}),
        )
        .await;
    assert_eq!(voided.ok(200)["status"], "void");
    assert_eq!(voided.body["void_reason"], "cheque bounced");
    assert_eq!(app.balance(c).await, "300.00");
    let due = app.get(&format!("/api/v1/dues/{due}")).await;
    assert_eq!(due.ok(200)["status"], "open");

    let again = app
        .post(
            &format!("/api/v1/payments/{payment}/void"),
            json!({"reason": "again"}),
        )
        .await;
    again.problem(409);
    // The ledger keeps both the payment and its reversal.
    let statement = app.get(&format!("/api/v1/customers/{c}/statement")).await;
    let kinds: Vec<_> = statement.ok(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("due"), json!("payment"), json!("payment_void")]
    );
}

async fn a_voided_due_frees_its_payment_as_credit(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Ila").await;
    let first = app
        .add_due(c, json!({"amount": "100", "issue_date": "2026-01-01"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let second = app
        .add_due(c, json!({"amount": "100", "issue_date": "2026-01-02"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.pay(c, json!({"amount": "100"})).await.ok(201);
    let voided = app
        .post(
            &format!("/api/v1/dues/{first}/void"),
            json!({"reason": "entered twice"}),
        )
        .await;
    assert_eq!(voided.ok(200)["status"], "void");
    // The payment moves to the remaining due.
    let second = app.get(&format!("/api/v1/dues/{second}")).await;
    assert_eq!(second.ok(200)["status"], "paid");
    assert_eq!(app.balance(c).await, "0.00");
}

async fn the_statement_runs_a_balance_in_date_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Joseph").await;
    app.add_due(
        c,
        json!({"amount": "1000", "issue_date": "2026-01-10", "description": "Cement"}),
    )
    .await
    .ok(201);
    app.pay(
        c,
        json!({"amount": "300", "date": "2026-02-01", "method": "cheque", "reference": "000123"}),
    )
    .await
    .ok(201);
    app.add_due(c, json!({"amount": "200.25", "issue_date": "2026-01-20"}))
        .await
        .ok(201);
    let statement = app.get(&format!("/api/v1/customers/{c}/statement")).await;
    let body = statement.ok(200);
    let entries = body["entries"].as_array().unwrap();
    let dates: Vec<_> = entries
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2026-01-10", "2026-01-20", "2026-02-01"]);
    let balances: Vec<_> = entries
        .iter()
        .map(|e| e["balance"].as_str().unwrap())
        .collect();
    assert_eq!(balances, vec!["1000.00", "1200.25", "900.25"]);
    assert_eq!(entries[2]["credit"], "300.00");
    assert_eq!(body["closing_balance"], "900.25");

    let window = app
        .get(&format!("/api/v1/customers/{c}/statement?from=2026-01-15"))
        .await;
    assert_eq!(window.ok(200)["opening_balance"], "1000.00");
    assert_eq!(window.body["entries"].as_array().unwrap().len(), 2);
    app.get(&format!("/api/v1/customers/{c}/statement?from=2026-02-30"))
        .await
        .problem(400);
}

async fn a_due_past_the_credit_limit_needs_consent(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .post(
            "/api/v1/customers",
            json!({"name": "Lata", "credit_limit": "1000"}),
        )
        .await;
    let c = created.ok(201)["id"].as_i64().unwrap();
    assert_eq!(created.body["credit_limit"], "1000.00");
    app.add_due(c, json!({"amount": "800"})).await.ok(201);
    let refused = app.add_due(c, json!({"amount": "300"})).await;
    let problem = refused.problem(409);
    assert_eq!(problem["code"], "credit_limit");
    assert!(problem["detail"].as_str().unwrap().contains("1000.00"));
    assert_eq!(app.balance(c).await, "800.00");
    app.add_due(c, json!({"amount": "300", "over_limit": true}))
        .await
        .ok(201);
    assert_eq!(app.balance(c).await, "1100.00");
}

async fn overdue_counts_only_past_due_dates(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Mohan").await;
    app.add_due(c, json!({"amount": "100", "due_date": "2026-01-01"}))
        .await
        .ok(201);
    app.add_due(c, json!({"amount": "50", "due_date": "2199-01-01"}))
        .await
        .ok(201);
    app.add_due(c, json!({"amount": "25"})).await.ok(201);
    let customer = app.get(&format!("/api/v1/customers/{c}")).await;
    let body = customer.ok(200);
    assert_eq!(body["balance"], "175.00");
    assert_eq!(body["overdue"], "100.00");
    assert!(body["days_overdue"].as_i64().unwrap() > 0);
    assert_eq!(body["next_due_date"], "2026-01-01");

    let overdue_only = app.get("/api/v1/customers?overdue=true").await;
    assert_eq!(overdue_only.ok(200)["total"], 1);
}
