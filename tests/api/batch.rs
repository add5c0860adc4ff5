//! Group commit: payments that wait together are recorded in one
//! transaction, and each is still answered on its own — a refusal is that
//! payment's answer, a key sent twice gives one payment, and a batch that
//! cannot commit records nothing and says so to every request in it.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use serde_json::{Value, json};
use std::collections::BTreeSet;

crate::on_both_backends!(
    refusals_inside_a_batch_leave_their_neighbours_recorded,
    one_key_twice_in_a_batch_gives_one_payment,
    a_batch_that_fails_to_commit_records_none_and_answers_each,
    payments_from_two_nodes_at_once_are_each_recorded_once,
);

/// A writer that waits for company: payments sent together share a batch.
async fn lingering(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.payment_batch_linger_ms = Some("500".into());
    })
    .await
}

/// One payment to send: the customer, an Idempotency-Key, the body.
type Send = (i64, Option<&'static str>, Value);

/// Sends the payments at once; (status, body, replayed) of each, in the
/// order given.
async fn pay_together(app: &TestApp, payments: Vec<Send>) -> Vec<(u16, Value, bool)> {
    let mut tasks = Vec::new();
    for (customer, key, body) in payments {
        let url = app.url(&format!("/api/v1/customers/{customer}/payments"));
        let mut request = app.authed(app.client.post(url)).json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().contains_key("idempotent-replayed");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap(), replayed)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn payments_of(app: &TestApp, customer: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/customers/{customer}/payments"))
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn refusals_inside_a_batch_leave_their_neighbours_recorded(backend: Backend) {
    let app = lingering(backend).await;
    let asha = app.customer("Asha Rao").await;
    app.add_due(asha, json!({"amount": "500"})).await.ok(201);
    let ravi = app.customer("Ravi Kumar").await;
    app.add_due(ravi, json!({"amount": "300"})).await.ok(201);
    let gone = app.customer("Gone Away").await;
    app.delete(&format!("/api/v1/customers/{gone}"))
        .await
        .ok(200);

    let answers = pay_together(
        &app,
        vec![
            (asha, None, json!({"amount": "300"})),
            (asha, None, json!({"amount": "300"})),
            (asha, None, json!({"amount": "200", "method": "upi"})),
            (ravi, None, json!({"amount": "100"})),
            (gone, None, json!({"amount": "50"})),
            (987_654, None, json!({"amount": "50"})),
        ],
    )
    .await;

    // Whatever order they reached the writer in, one of Asha's 300s found
    // the balance too low for it; her other two were recorded.
    let asha_statuses: Vec<u16> = answers[..3].iter().map(|a| a.0).collect();
    assert_eq!(
        asha_statuses.iter().filter(|s| **s == 201).count(),
        2,
        "{answers:?}"
    );
    let refused = answers[..3]
        .iter()
        .find(|a| a.0 == 422)
        .expect("one refused");
    assert_eq!(refused.1["code"], "overpayment", "{refused:?}");
    assert_eq!(answers[3].0, 201, "{answers:?}");
    assert_eq!(answers[4].0, 409, "{answers:?}");
    assert_eq!(answers[4].1["code"], "customer_deleted");
    assert_eq!(answers[5].0, 404, "{answers:?}");

    // The three recorded payments were one batch: one commit, one moment.
    let moments: BTreeSet<String> = answers
        .iter()
        .filter(|a| a.0 == 201)
        .map(|a| a.1["created_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(moments.len(), 1, "one batch: {moments:?}");

    assert_eq!(app.balance(asha).await, "0.00");
    assert_eq!(app.balance(ravi).await, "200.00");
    assert_eq!(payments_of(&app, asha).await.len(), 2);
    assert_eq!(payments_of(&app, ravi).await.len(), 1);
    assert!(payments_of(&app, gone).await.is_empty());
    // Each recorded payment has its own activity entry.
    let log = app
        .get("/api/v1/activity?action=payment.recorded")
        .await
        .ok(200)
        .clone();
    assert_eq!(log["total"], 3, "{log}");
}

async fn one_key_twice_in_a_batch_gives_one_payment(backend: Backend) {
    let app = lingering(backend).await;
    let asha = app.customer("Asha Rao").await;
    app.add_due(asha, json!({"amount": "500"})).await.ok(201);
    let ravi = app.customer("Ravi Kumar").await;
    app.add_due(ravi, json!({"amount": "500"})).await.ok(201);

    let answers = pay_together(
        &app,
        vec![
            (asha, Some("till-1-0042"), json!({"amount": "100"})),
            (asha, Some("till-1-0042"), json!({"amount": "100"})),
            (asha, Some("till-1-0042"), json!({"amount": "100"})),
            // The same key for a different payment is refused.
            (ravi, Some("till-2-0007"), json!({"amount": "40"})),
            (ravi, Some("till-2-0007"), json!({"amount": "41"})),
        ],
    )
    .await;

    for (status, _, _) in &answers[..3] {
        assert_eq!(*status, 201, "{answers:?}");
    }
    let ids: BTreeSet<i64> = answers[..3]
        .iter()
        .map(|a| a.1["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one payment for one key: {answers:?}");
    assert_eq!(
        answers[..3].iter().filter(|a| a.2).count(),
        2,
        "two of the three are replays: {answers:?}"
    );
    assert_eq!(app.balance(asha).await, "400.00");
    assert_eq!(payments_of(&app, asha).await.len(), 1);

    let ravi_statuses: BTreeSet<u16> = answers[3..].iter().map(|a| a.0).collect();
    assert_eq!(ravi_statuses, BTreeSet::from([201, 422]), "{answers:?}");
    let reused = answers[3..].iter().find(|a| a.0 == 422).unwrap();
    assert_eq!(reused.1["code"], "idempotency_key_reused");
    assert_eq!(payments_of(&app, ravi).await.len(), 1);

    // A retry later, in a batch of its own, finds the same payment.
    let later = pay_together(
        &app,
        vec![(asha, Some("till-1-0042"), json!({"amount": "100"}))],
    )
    .await;
    assert_eq!(later[0].0, 201);
    assert!(later[0].2, "a replay says so");
    assert_eq!(later[0].1["id"].as_i64().unwrap(), *ids.first().unwrap());
    assert_eq!(app.balance(asha).await, "400.00");
}

/// A constraint checked only at commit, that one payment breaks: the
/// commit of its whole batch fails.
fn commit_breaker(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE commit_breaker (customer_id INTEGER REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER break_commit AFTER INSERT ON payments WHEN NEW.reference = 'break-the-commit'
             BEGIN INSERT INTO commit_breaker VALUES (-1); END;"
        }
        Backend::Postgres => {
            "CREATE TABLE commit_breaker (customer_id BIGINT REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE FUNCTION break_commit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.reference = 'break-the-commit' THEN INSERT INTO commit_breaker VALUES (-1); END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER break_commit AFTER INSERT ON payments FOR EACH ROW EXECUTE FUNCTION break_commit();"
        }
    }
}

async fn a_batch_that_fails_to_commit_records_none_and_answers_each(backend: Backend) {
    let app = lingering(backend).await;
    let asha = app.customer("Asha Rao").await;
    app.add_due(asha, json!({"amount": "500"})).await.ok(201);
    let ravi = app.customer("Ravi Kumar").await;
    app.add_due(ravi, json!({"amount": "500"})).await.ok(201);
    app.raw_sql(commit_breaker(backend)).await;
    let head_before = app.get("/api/v1/activity?limit=1").await.ok(200)["items"][0]["seq"].clone();

    let answers = pay_together(
        &app,
        vec![
            (asha, Some("k-1"), json!({"amount": "100"})),
            (
                ravi,
                Some("k-2"),
                json!({"amount": "100", "reference": "break-the-commit"}),
            ),
            (ravi, None, json!({"amount": "50"})),
        ],
    )
    .await;
    for (status, body, _) in &answers {
        assert!(
            *status >= 500,
            "every request of the batch fails: {answers:?}"
        );
        assert_eq!(body["status"], *status, "a problem document: {body}");
    }
    assert_eq!(app.balance(asha).await, "500.00");
    assert_eq!(app.balance(ravi).await, "500.00");
    assert!(payments_of(&app, asha).await.is_empty());
    assert!(payments_of(&app, ravi).await.is_empty());
    let head_after = app.get("/api/v1/activity?limit=1").await.ok(200)["items"][0]["seq"].clone();
    assert_eq!(head_before, head_after, "no activity entry was written");

    // The writer goes on: the same key now records its payment.
    let retried = pay_together(&app, vec![(asha, Some("k-1"), json!({"amount": "100"}))]).await;
    assert_eq!(retried[0].0, 201, "{retried:?}");
    assert!(
        !retried[0].2,
        "nothing was remembered from the failed batch"
    );
    assert_eq!(app.balance(asha).await, "400.00");

    // The chain holds; on PostgreSQL the numbers the failed batch took are
    // sealed as gaps, and verify names them.
    let verified = app.cli(&["verify"]).await;
    let said = String::from_utf8_lossy(&verified.stdout).to_string()
        + &String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    if backend == Backend::Postgres {
        assert!(said.contains("sealed as a gap"), "{said}");
    }
}

async fn payments_from_two_nodes_at_once_are_each_recorded_once(backend: Backend) {
    const EACH: usize = 40;
    let first = spawn_app_with(backend, |s| {
        s.max_requests_per_address = Some("1000".into());
        s.max_connections_per_address = Some("1000".into());
    })
    .await;
    let second = first.another_node(|_| {}).await;
    let customers = [
        first.customer("Asha Rao").await,
        first.customer("Ravi Kumar").await,
        first.customer("Meena Iyer").await,
    ];
    for c in customers {
        first.add_due(c, json!({"amount": "10000"})).await.ok(201);
    }
    let mut sends: Vec<(usize, Send)> = Vec::new();
    for n in 0..EACH * 2 {
        let key: &'static str = Box::leak(format!("two-nodes-{}", n / 2).into_boxed_str());
        // Every key is sent to both nodes, as a client retrying elsewhere would.
        sends.push((
            n % 2,
            (customers[(n / 2) % 3], Some(key), json!({"amount": "10"})),
        ));
    }
    let (to_first, to_second): (Vec<_>, Vec<_>) =
        sends.into_iter().partition(|(node, _)| *node == 0);
    let strip = |v: Vec<(usize, Send)>| v.into_iter().map(|(_, s)| s).collect::<Vec<_>>();
    let (a, b) = tokio::join!(
        pay_together(&first, strip(to_first)),
        pay_together(&second, strip(to_second))
    );
    let mut by_key = std::collections::BTreeMap::new();
    for (status, body, _) in a.iter().chain(&b) {
        assert_eq!(*status, 201, "{body}");
        by_key
            .entry(body["id"].as_i64().unwrap())
            .and_modify(|n| *n += 1)
            .or_insert(1);
    }
    assert_eq!(by_key.len(), EACH, "one payment per key across both nodes");
    let mut total = 0;
    for c in customers {
        total += payments_of(&first, c).await.len();
    }
    assert_eq!(total, EACH);
    let verified = first.cli(&["verify"]).await;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
