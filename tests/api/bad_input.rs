//! Bad input of every kind gets a 4xx problem+json naming the problem and
//! changes nothing.

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    bad_amounts_are_refused_and_change_nothing,
    malformed_bodies_are_refused_and_change_nothing,
    bad_customer_fields_are_all_named,
    unknown_and_malformed_ids_are_told_apart,
    absurd_pagination_and_sorting_are_refused,
    impossible_dates_are_refused,
);

const BAD_AMOUNTS: &[&str] = &[
    r#""abc""#,
    r#""-5""#,
    r#""0""#,
    r#""0.00""#,
    r#""10.001""#,
    r#""1e5""#,
    r#""NaN""#,
    r#""Infinity""#,
    r#""""#,
    r#""  ""#,
    r#""1,000""#,
    r#""99999999999999999999999999""#,
    r#""1000000000000.01""#,
    "12.5",
    "-3",
    "0",
    "true",
    "null",
    "[]",
    "{}",
];

/// The ledger of a customer as a value to compare before and after.
async fn ledger_of(app: &TestApp, c: i64) -> (Value, usize, usize) {
    let customer = app
        .get(&format!("/api/v1/customers/{c}"))
        .await
        .ok(200)
        .clone();
    let dues = app
        .get(&format!("/api/v1/customers/{c}/dues"))
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    let payments = app
        .get(&format!("/api/v1/customers/{c}/payments"))
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    (customer["balance"].clone(), dues, payments)
}

async fn bad_amounts_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Steady").await;
    app.add_due(c, json!({"amount": "100.00"})).await.ok(201);
    let before = ledger_of(&app, c).await;
    for amount in BAD_AMOUNTS {
        for kind in ["payments", "dues"] {
            let body = format!(r#"{{"amount": {amount}}}"#);
            let reply = app
                .post_raw(
                    &format!("/api/v1/customers/{c}/{kind}"),
                    "application/json",
                    &body,
                )
                .await;
            assert!(
                reply.status.is_client_error(),
                "{kind} with amount {amount}: {}",
                reply.status
            );
            let problem = reply.problem(reply.status.as_u16());
            assert_eq!(
                problem["field"], "amount",
                "{kind} with amount {amount}: {problem}"
            );
        }
    }
    // A number too large for JSON parsers is malformed JSON.
    let huge = app
        .post_raw(
            &format!("/api/v1/customers/{c}/payments"),
            "application/json",
            r#"{"amount": 1e400}"#,
        )
        .await;
    huge.problem(400);
    let bad_method = app
        .pay(c, json!({"amount": "1", "method": "bitcoin"}))
        .await;
    assert_eq!(bad_method.problem(422)["field"], "method");
    let long_reference = app
        .pay(c, json!({"amount": "1", "reference": "x".repeat(500)}))
        .await;
    assert_eq!(long_reference.problem(422)["field"], "reference");
    let bad_key = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/customers/{c}/payments")))
                .bearer_auth(&app.token)
                .header("Idempotency-Key", "k".repeat(300))
                .json(&json!({"amount": "1"})),
        )
        .await;
    bad_key.problem(400);
    assert_eq!(ledger_of(&app, c).await, before);
}

async fn malformed_bodies_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Careful").await;
    app.add_due(c, json!({"amount": "50"})).await.ok(201);
    let before = ledger_of(&app, c).await;
    let path = format!("/api/v1/customers/{c}/payments");
    for body in [
        "",
        "{",
        "not json",
        r#"{"amount": "1"} trailing"#,
        "[]",
        r#""amount""#,
        "null",
    ] {
        let reply = app.post_raw(&path, "application/json", body).await;
        assert!(
            reply.status.is_client_error(),
            "body {body:?}: {}",
            reply.status
        );
        reply.problem(reply.status.as_u16());
    }
    let missing = app
        .post_raw(&path, "application/json", r#"{"method": "cash"}"#)
        .await;
    assert_eq!(missing.problem(422)["field"], "amount");
    let wrong_type = app
        .post_raw(&path, "text/plain", r#"{"amount": "1"}"#)
        .await;
    wrong_type.problem(415);
    let untyped = app
        .send(
            app.client
                .post(app.url(&path))
                .bearer_auth(&app.token)
                .body(r#"{"amount": "1"}"#),
        )
        .await;
    assert_eq!(untyped.problem(415)["code"], "unsupported_media_type");
    let huge = app
        .post_raw(
            &path,
            "application/json",
            &format!(
                r#"{{"amount": "1", "reference": "{}"}}"#,
                "x".repeat(200_000)
            ),
        )
        .await;
    huge.problem(413);
    let customer_without_name = app
        .post_raw(
            "/api/v1/customers",
            "application/json",
            r#"{"email": "a@b.co"}"#,
        )
        .await;
    assert_eq!(customer_without_name.problem(422)["field"], "name");
    assert_eq!(ledger_of(&app, c).await, before);
    assert_eq!(app.get("/api/v1/customers").await.ok(200)["total"], 1);
}

async fn bad_customer_fields_are_all_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/api/v1/customers",
            json!({"name": "   ", "email": "nobody", "phone": "call me", "credit_limit": "-1", "notes": "x".repeat(3000)}),
        )
        .await;
    let problem = reply.problem(422);
    let mut fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec!["credit_limit", "email", "name", "notes", "phone"]
    );
    let wrong_type = app.post("/api/v1/customers", json!({"name": 42})).await;
    assert_eq!(wrong_type.problem(422)["field"], "name");
    let control = app
        .post("/api/v1/customers", json!({"name": "Bad\u{0007}Name"}))
        .await;
    assert_eq!(control.problem(422)["field"], "name");
    assert_eq!(app.get("/api/v1/customers").await.ok(200)["total"], 0);
}

async fn unknown_and_malformed_ids_are_told_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/api/v1/customers/999999").await.problem(404);
    app.pay(999_999, json!({"amount": "1"})).await.problem(404);
    app.add_due(999_999, json!({"amount": "1"}))
        .await
        .problem(404);
    app.post("/api/v1/dues/424242/void", json!({"reason": "x"}))
        .await
        .problem(404);
    app.post("/api/v1/payments/424242/void", json!({"reason": "x"}))
        .await
        .problem(404);
    app.get("/api/v1/customers/999999/statement")
        .await
        .problem(404);
    for bad in ["abc", "-1", "0", "1.5", "99999999999999999999999", "%20"] {
        let reply = app.get(&format!("/api/v1/customers/{bad}")).await;
        assert_eq!(reply.problem(400)["field"], "id", "id {bad}");
        app.post(
            &format!("/api/v1/customers/{bad}/payments"),
            json!({"amount": "1"}),
        )
        .await
        .problem(400);
    }
    app.get("/api/v1/nothing-here").await.problem(404);
    app.send(
        app.client
            .put(app.url("/api/v1/customers"))
            .bearer_auth(&app.token),
    )
    .await
    .problem(405);
}

async fn absurd_pagination_and_sorting_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999999999999999",
        "per_page=0",
        "per_page=-5",
        "per_page=1000000",
        "per_page=1.5",
        "sort=random",
        "status=gone",
        "overdue=maybe",
    ] {
        let reply = app.get(&format!("/api/v1/customers?{query}")).await;
        let field = query.split('=').next().unwrap();
        assert_eq!(reply.problem(400)["field"], field, "{query}");
    }
    app.get("/api/v1/activity?per_page=500").await.problem(400);
    app.get("/api/v1/customers?page=2&per_page=100")
        .await
        .ok(200);
}

async fn impossible_dates_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Dated").await;
    for date in [
        "2026-02-30",
        "2026-13-01",
        "26-01-01",
        "yesterday",
        "2026/01/01",
        "0000-01-01",
        "9999-12-31",
    ] {
        let due = app
            .add_due(c, json!({"amount": "1", "due_date": date}))
            .await;
        assert_eq!(due.problem(422)["field"], "due_date", "{date}");
        let issued = app
            .add_due(c, json!({"amount": "1", "issue_date": date}))
            .await;
        assert_eq!(issued.problem(422)["field"], "issue_date", "{date}");
        let paid = app
            .pay(c, json!({"amount": "1", "date": date, "advance": true}))
            .await;
        assert_eq!(paid.problem(422)["field"], "date", "{date}");
    }
    let future_payment = app
        .pay(
            c,
            json!({"amount": "1", "date": "2199-01-01", "advance": true}),
        )
        .await;
    assert_eq!(future_payment.problem(422)["field"], "date");
    let backwards = app
        .add_due(
            c,
            json!({"amount": "1", "issue_date": "2026-03-01", "due_date": "2026-02-01"}),
        )
        .await;
    assert_eq!(backwards.problem(422)["field"], "due_date");
    assert_eq!(app.balance(c).await, "0.00");
}

/// What the fuzzer (`scripts/fuzz.sh`) found undocumented: every operation
/// can refuse a malformed request with 400, one with a body can also answer
/// 413, 415 and 422, and ids and pages are bounded as the server reads them.
/// Each of these answers is real, so the description has to list it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_lists_the_answers_to_bad_input() {
    let app = spawn_app(Backend::Sqlite).await;
    let spec = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await
        .ok(200)
        .clone();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let mut needed = vec!["400"];
            if op.get("requestBody").is_some() {
                needed.extend(["413", "415", "422"]);
            }
            for status in needed {
                let content = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not list {status}"))["content"];
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let bound = match (p["in"].as_str(), p["name"].as_str()) {
                    (Some("path"), Some("id")) => i64::MAX,
                    (Some("query"), Some("page")) => 1_000_000_000,
                    _ => continue,
                };
                assert_eq!(
                    p["schema"]["maximum"], bound,
                    "{method} {path} {}",
                    p["name"]
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} operations");

    // The answers themselves, one of each.
    let c = app.customer("Asha").await;
    app.get("/api/v1/customers/9223372036854775808")
        .await
        .problem(400);
    app.get("/api/v1/customers?page=1000000001")
        .await
        .problem(400);
    app.get("/api/v1/customers?page=1000000000").await.ok(200);
    app.post_raw(&format!("/api/v1/customers/{c}/dues"), "text/plain", "1")
        .await
        .problem(415);
    app.post_raw(
        &format!("/api/v1/customers/{c}/dues"),
        "application/json",
        "null",
    )
    .await
    .problem(422);
    app.post_raw(
        &format!("/api/v1/customers/{c}/dues"),
        "application/json",
        "{",
    )
    .await
    .problem(400);
    // The optional body of a removal was read as 400 when too large.
    let huge = format!(r#"{{"reason": "{}"}}"#, "x".repeat(70 * 1024));
    let reply = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/customers/{c}")))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    reply.problem(413);
    app.get(&format!("/api/v1/customers/{c}")).await.ok(200);
}
