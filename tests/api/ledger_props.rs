//! Property tests of the ledger through the HTTP API of a running app:
//! random sequences of dues, payments (some with advance), voids, and
//! payments customers report that staff confirm or reject. After every
//! step the balance is what the entries say; after every sequence each
//! allocation fits its due and its payment, each due's `paid` is the sum of
//! its allocations, and `duetrack verify` finds nothing wrong. No request
//! gets a 5xx, and every refusal is a 4xx problem with a code.

use crate::helpers::{Backend, Reply, TestApp, link_token, spawn_app};
use crate::on_both_backends;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

on_both_backends!(
    random_ledger_sequences_keep_the_books_consistent,
    concurrent_random_steps_keep_the_books_consistent,
    a_pending_or_rejected_payment_cannot_be_voided,
);

/// How often each kind of step got each answer, to show what was exercised.
type Stats = Mutex<BTreeMap<String, usize>>;

const CASES: u32 = 24;
const STEPS: usize = 30;
const PASSWORD: &str = "mango tree by the well";

#[derive(Debug, Clone)]
enum Op {
    Due {
        cents: i64,
        issue_date: Option<&'static str>,
        due_date: Option<&'static str>,
    },
    Pay {
        cents: i64,
        date: Option<&'static str>,
        advance: bool,
        /// Pay the whole balance instead (plus `cents` when `advance`).
        whole: bool,
    },
    VoidDue(Index),
    VoidPayment(Index),
    Report {
        cents: i64,
        whole: bool,
    },
    Confirm {
        pick: Index,
        advance: bool,
    },
    Reject(Index),
    /// Sends an earlier successful payment again with its key, or its key
    /// with a different amount.
    Replay {
        pick: Index,
        altered: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let due_date = prop_oneof![
        Just(None),
        Just(Some("2025-06-01")),
        Just(Some("2026-03-01")),
        Just(Some("2030-01-01")),
    ];
    let issue_date = prop_oneof![
        Just(None),
        Just(Some("2025-05-01")),
        Just(Some("2026-02-01"))
    ];
    let paid_on = prop_oneof![
        Just(None),
        Just(Some("2025-07-01")),
        Just(Some("2026-04-01"))
    ];
    prop_oneof![
        4 => (1i64..50_000, issue_date, due_date)
            .prop_map(|(cents, issue_date, due_date)| Op::Due { cents, issue_date, due_date }),
        4 => (1i64..60_000, paid_on, any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(cents, date, advance, whole)| Op::Pay { cents, date, advance, whole }),
        1 => any::<Index>().prop_map(Op::VoidDue),
        1 => any::<Index>().prop_map(Op::VoidPayment),
        2 => (1i64..40_000, prop::bool::weighted(0.2))
            .prop_map(|(cents, whole)| Op::Report { cents, whole }),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(pick, advance)| Op::Confirm { pick, advance }),
        1 => any::<Index>().prop_map(Op::Reject),
        2 => (any::<Index>(), prop::bool::weighted(0.3))
            .prop_map(|(pick, altered)| Op::Replay { pick, altered }),
    ]
}

/// A decimal string as signed cents: "-12.5" is -1250.
fn cents(amount: &Value) -> i64 {
    let text = amount
        .as_str()
        .unwrap_or_else(|| panic!("an amount: {amount}"));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let fraction = format!("{fraction:0<2}");
    let value = whole.parse::<i64>().unwrap() * 100 + fraction[..2].parse::<i64>().unwrap();
    if negative { -value } else { value }
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// What the test believes: each entry's amount and whether it counts.
#[derive(Default)]
struct Model {
    /// due id -> (cents, void)
    dues: BTreeMap<i64, (i64, bool)>,
    /// payment id -> (cents, status)
    payments: BTreeMap<i64, (i64, &'static str)>,
    /// Reported through the portal, in the order reported.
    reported: Vec<i64>,
    /// Payments recorded with an Idempotency-Key: (key, body, id).
    keyed: Vec<(String, Value, i64)>,
}

impl Model {
    fn balance(&self) -> i64 {
        let owed: i64 = self.dues.values().filter(|(_, v)| !v).map(|(c, _)| c).sum();
        let paid: i64 = self
            .payments
            .values()
            .filter(|(_, s)| *s == "recorded")
            .map(|(c, _)| c)
            .sum();
        owed - paid
    }
}

/// No 5xx, and a refusal is a 4xx problem with a code.
fn answered(reply: &Reply, what: &str, stats: &Stats) -> Result<bool, TestCaseError> {
    let status = reply.status.as_u16();
    let kind = what.split([' ', '(', '{']).next().unwrap_or(what);
    let code = reply.body["code"].as_str().unwrap_or("");
    *stats
        .lock()
        .unwrap()
        .entry(format!("{kind} {status} {code}").trim().to_string())
        .or_default() += 1;
    prop_assert!(status < 500, "{what}: {status} {}", reply.body);
    if status >= 400 {
        prop_assert!(
            reply.body["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{what}: a refusal says why with a code: {status} {}",
            reply.body
        );
        prop_assert_eq!(
            reply
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        return Ok(false);
    }
    prop_assert!(status == 200 || status == 201, "{what}: {status}");
    Ok(true)
}

async fn balance(app: &TestApp, customer: i64) -> i64 {
    cents(&app.get(&format!("/api/v1/customers/{customer}")).await.body["balance"])
}

async fn customer_with_login(app: &TestApp, n: usize) -> (i64, String) {
    let email = format!("prop{n}@example.com");
    let id = app
        .post(
            "/api/v1/customers",
            json!({"name": format!("Prop {n}"), "email": email}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let token = link_token(app, &email).await;
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": token, "password": PASSWORD})),
    )
    .await
    .ok(200);
    let session = app
        .login(&email, PASSWORD)
        .await
        .expect("the customer signs in");
    (id, session)
}

async fn step(
    app: &TestApp,
    customer: i64,
    session: &str,
    model: &mut Model,
    op: &Op,
    stats: &Stats,
) -> Result<(), TestCaseError> {
    let what = format!("{op:?}");
    match op {
        Op::Due {
            cents: c,
            issue_date,
            due_date,
        } => {
            let mut body = json!({"amount": money(*c)});
            if let Some(d) = issue_date {
                body["issue_date"] = json!(d);
            }
            if let Some(d) = due_date {
                body["due_date"] = json!(d);
            }
            let reply = app.add_due(customer, body).await;
            if answered(&reply, &what, stats)? {
                model
                    .dues
                    .insert(reply.body["id"].as_i64().unwrap(), (*c, false));
            }
        }
        Op::Pay {
            cents: c,
            date,
            advance,
            whole,
        } => {
            let owed = model.balance();
            let amount = match (whole, advance) {
                (true, true) => owed.max(0) + c,
                (true, false) if owed > 0 => owed,
                _ => *c,
            };
            let mut body = json!({"amount": money(amount), "advance": advance});
            if let Some(d) = date {
                body["date"] = json!(d);
            }
            let key = format!("pay-{customer}-{}", model.payments.len());
            let reply = app
                .send(
                    app.authed(
                        app.client
                            .post(app.url(&format!("/api/v1/customers/{customer}/payments"))),
                    )
                    .header("Idempotency-Key", &key)
                    .json(&body),
                )
                .await;
            if answered(&reply, &what, stats)? {
                let id = reply.body["id"].as_i64().unwrap();
                model.payments.insert(id, (amount, "recorded"));
                model.keyed.push((key, body, id));
            } else {
                // Only an overpayment without advance is refused.
                prop_assert!(!advance && amount > owed, "{what}: {}", reply.body);
                prop_assert_eq!(&reply.body["code"], "overpayment");
            }
        }
        Op::VoidDue(pick) => {
            if model.dues.is_empty() {
                return Ok(());
            }
            let id = *model.dues.keys().nth(pick.index(model.dues.len())).unwrap();
            let reply = app
                .post(
                    &format!("/api/v1/dues/{id}/void"),
                    json!({"reason": "wrong"}),
                )
                .await;
            let was_void = model.dues[&id].1;
            if answered(&reply, &what, stats)? {
                prop_assert!(!was_void, "{what}: a void due voided again");
                model.dues.get_mut(&id).unwrap().1 = true;
            } else {
                prop_assert!(was_void, "{what}: {}", reply.body);
                prop_assert_eq!(&reply.body["code"], "already_void");
            }
        }
        Op::VoidPayment(pick) => {
            if model.payments.is_empty() {
                return Ok(());
            }
            let id = *model
                .payments
                .keys()
                .nth(pick.index(model.payments.len()))
                .unwrap();
            let reply = app
                .post(
                    &format!("/api/v1/payments/{id}/void"),
                    json!({"reason": "bounced"}),
                )
                .await;
            let status = model.payments[&id].1;
            if answered(&reply, &what, stats)? {
                prop_assert_eq!(
                    status,
                    "recorded",
                    "{}: only a recorded payment is voided",
                    what
                );
                model.payments.get_mut(&id).unwrap().1 = "void";
            } else {
                prop_assert_ne!(status, "recorded", "{}: {}", what, reply.body);
            }
        }
        Op::Report { cents: c, whole } => {
            let owed = model.balance();
            let amount = if *whole && owed > 0 { owed } else { *c };
            let reply = app
                .send(
                    app.client
                        .post(app.url("/api/v1/me/payments"))
                        .bearer_auth(session)
                        .json(&json!({"amount": money(amount)})),
                )
                .await;
            if answered(&reply, &what, stats)? {
                prop_assert_eq!(&reply.body["status"], "pending");
                let id = reply.body["id"].as_i64().unwrap();
                model.payments.insert(id, (amount, "pending"));
                model.reported.push(id);
            } else {
                prop_assert!(amount > owed, "{what}: {}", reply.body);
                prop_assert_eq!(&reply.body["code"], "more_than_balance");
            }
        }
        Op::Confirm { pick, advance } => {
            if model.reported.is_empty() {
                return Ok(());
            }
            let id = model.reported[pick.index(model.reported.len())];
            let (amount, status) = model.payments[&id];
            let owed = model.balance();
            let reply = app
                .post(
                    &format!("/api/v1/payments/{id}/confirm"),
                    json!({"advance": advance}),
                )
                .await;
            if answered(&reply, &what, stats)? {
                prop_assert_eq!(status, "pending", "{}", what);
                prop_assert!(
                    *advance || amount <= owed,
                    "{what}: confirmed past the balance"
                );
                model.payments.get_mut(&id).unwrap().1 = "recorded";
            } else if status == "pending" {
                prop_assert!(!advance && amount > owed, "{what}: {}", reply.body);
                prop_assert_eq!(&reply.body["code"], "overpayment");
            } else {
                prop_assert_eq!(&reply.body["code"], "not_pending");
            }
        }
        Op::Replay { pick, altered } => {
            if model.keyed.is_empty() {
                return Ok(());
            }
            let (key, mut body, id) = model.keyed[pick.index(model.keyed.len())].clone();
            if *altered {
                body["amount"] = json!(money(cents(&body["amount"]) + 1));
            }
            let reply = app
                .send(
                    app.authed(
                        app.client
                            .post(app.url(&format!("/api/v1/customers/{customer}/payments"))),
                    )
                    .header("Idempotency-Key", &key)
                    .json(&body),
                )
                .await;
            if answered(&reply, &what, stats)? {
                prop_assert!(
                    !altered,
                    "{what}: a reused key with another amount was accepted"
                );
                prop_assert_eq!(reply.status.as_u16(), 201);
                prop_assert_eq!(
                    reply
                        .headers
                        .get("idempotent-replayed")
                        .and_then(|v| v.to_str().ok()),
                    Some("true"),
                    "{}: a replay says so",
                    what
                );
                prop_assert_eq!(
                    reply.body["id"].as_i64(),
                    Some(id),
                    "{}: the same payment",
                    what
                );
            } else {
                prop_assert!(*altered, "{what}: a replay was refused: {}", reply.body);
                prop_assert_eq!(&reply.body["code"], "idempotency_key_reused");
            }
        }
        Op::Reject(pick) => {
            if model.reported.is_empty() {
                return Ok(());
            }
            let id = model.reported[pick.index(model.reported.len())];
            let status = model.payments[&id].1;
            let reply = app
                .post(
                    &format!("/api/v1/payments/{id}/reject"),
                    json!({"reason": "not in the bank statement"}),
                )
                .await;
            if answered(&reply, &what, stats)? {
                prop_assert_eq!(status, "pending", "{}", what);
                model.payments.get_mut(&id).unwrap().1 = "rejected";
            } else {
                prop_assert_eq!(&reply.body["code"], "not_pending");
            }
        }
    }
    prop_assert_eq!(
        balance(app, customer).await,
        model.balance(),
        "after {}: balance = non-void dues - recorded payments",
        what
    );
    Ok(())
}

/// The books of one customer after a sequence.
/// The books of one customer after a sequence; with a model, they also
/// match what the test believes.
async fn check_books(
    app: &TestApp,
    customer: i64,
    model: Option<&Model>,
) -> Result<(), TestCaseError> {
    let dues = app.get(&format!("/api/v1/customers/{customer}/dues")).await;
    let dues = dues.ok(200)["items"].as_array().unwrap().clone();
    let payments = app
        .get(&format!("/api/v1/customers/{customer}/payments"))
        .await;
    let payments = payments.ok(200)["items"].as_array().unwrap().clone();
    if let Some(model) = model {
        prop_assert_eq!(dues.len(), model.dues.len());
        prop_assert_eq!(payments.len(), model.payments.len());
    }

    // due id -> (amount, paid, void)
    let due_of: BTreeMap<i64, (i64, i64, bool)> = dues
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap(),
                (
                    cents(&d["amount"]),
                    cents(&d["paid"]),
                    d["status"] == "void",
                ),
            )
        })
        .collect();
    let mut allocated: BTreeMap<i64, i64> = BTreeMap::new();
    let mut credit = 0;
    let mut recorded = 0;
    for p in &payments {
        let id = p["id"].as_i64().unwrap();
        let amount = cents(&p["amount"]);
        if let Some(model) = model {
            prop_assert_eq!(
                p["status"].as_str(),
                Some(model.payments[&id].1),
                "payment {}",
                id
            );
        }
        let allocations = p["allocations"].as_array().unwrap();
        if p["status"] != "recorded" {
            continue;
        }
        recorded += amount;
        let mut sum = 0;
        for a in allocations {
            let due = a["due_id"].as_i64().unwrap();
            let part = cents(&a["amount"]);
            let Some(&(due_amount, _, void)) = due_of.get(&due) else {
                return Err(TestCaseError::fail(format!(
                    "payment {id} is allocated to due {due} of someone else"
                )));
            };
            prop_assert!(!void, "payment {id} is still allocated to void due {due}");
            prop_assert!(part > 0, "payment {id}: an empty allocation");
            prop_assert!(part <= amount, "payment {id}: allocation above the payment");
            prop_assert!(
                part <= due_amount,
                "payment {id}: allocation above due {due}"
            );
            *allocated.entry(due).or_default() += part;
            sum += part;
        }
        let unallocated = cents(&p["unallocated"]);
        prop_assert!(unallocated >= 0);
        prop_assert_eq!(
            sum + unallocated,
            amount,
            "payment {}: allocations + credit",
            id
        );
        credit += unallocated;
    }
    let mut owed = 0;
    let mut outstanding = 0;
    for (id, (amount, paid, void)) in &due_of {
        if let Some(model) = model {
            prop_assert_eq!(*amount, model.dues[id].0);
            prop_assert_eq!(*void, model.dues[id].1, "due {} void", id);
        }
        if *void {
            prop_assert_eq!(allocated.get(id), None, "void due {} keeps allocations", id);
            continue;
        }
        let by_allocations = allocated.get(id).copied().unwrap_or(0);
        prop_assert_eq!(*paid, by_allocations, "due {}: paid = its allocations", id);
        prop_assert!(*paid <= *amount, "due {id}: paid past its amount");
        owed += amount;
        outstanding += amount - paid;
    }
    prop_assert!(
        credit == 0 || outstanding == 0,
        "credit {credit} is held while {outstanding} is outstanding"
    );
    let balance = balance(app, customer).await;
    prop_assert_eq!(balance, owed - recorded, "balance = dues - payments");
    let statement = app
        .get(&format!("/api/v1/customers/{customer}/statement"))
        .await;
    prop_assert_eq!(
        cents(&statement.ok(200)["closing_balance"]),
        balance,
        "the statement closes on the balance"
    );
    prop_assert_eq!(
        balance,
        outstanding - credit,
        "balance = outstanding - credit"
    );
    Ok(())
}

async fn run_case(app: &TestApp, n: usize, ops: &[Op], stats: &Stats) -> Result<(), TestCaseError> {
    let (customer, session) = customer_with_login(app, n).await;
    let mut model = Model::default();
    for op in ops {
        step(app, customer, &session, &mut model, op, stats).await?;
    }
    check_books(app, customer, Some(&model)).await?;
    let verify = app.cli(&["verify"]).await;
    prop_assert!(
        verify.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    Ok(())
}

async fn random_ledger_sequences_keep_the_books_consistent(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let handle = tokio::runtime::Handle::current();
    let counter = Arc::new(AtomicUsize::new(0));
    let stats: Arc<Stats> = Arc::default();
    let seen = stats.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            max_shrink_iters: 200,
            failure_persistence: None,
            ..Config::default()
        });
        runner.run(&prop::collection::vec(op(), STEPS), |ops| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            handle.block_on(run_case(&app, n, &ops, &seen))
        })
    })
    .await
    .unwrap();
    println!("{backend:?}: answers by step: {:?}", stats.lock().unwrap());
    if let Err(e) = result {
        panic!("{backend:?}: {e}");
    }
}

/// Found by the property test: voiding a payment a customer reported, still
/// pending or already rejected, was accepted and raised the balance by an
/// amount that had never lowered it.
async fn a_pending_or_rejected_payment_cannot_be_voided(backend: Backend) {
    let app = spawn_app(backend).await;
    let (c, session) = customer_with_login(&app, 0).await;
    app.add_due(c, json!({"amount": "100.00"})).await.ok(201);
    let report = |amount: &'static str| {
        app.send(
            app.client
                .post(app.url("/api/v1/me/payments"))
                .bearer_auth(&session)
                .json(&json!({"amount": amount})),
        )
    };
    let pending = report("30.00").await.ok(201)["id"].as_i64().unwrap();
    let rejected = report("20.00").await.ok(201)["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/payments/{rejected}/reject"),
        json!({"reason": "not received"}),
    )
    .await
    .ok(200);

    for (id, status) in [(pending, "pending"), (rejected, "rejected")] {
        let reply = app
            .post(
                &format!("/api/v1/payments/{id}/void"),
                json!({"reason": "typo"}),
            )
            .await;
        assert_eq!(reply.problem(409)["code"], "not_recorded");
        assert_eq!(
            app.balance(c).await,
            "100.00",
            "after voiding a {status} payment"
        );
        let payment = app.get(&format!("/api/v1/payments/{id}")).await;
        assert_eq!(payment.ok(200)["status"], status);
    }
    // The pending one can still be confirmed, and then voided.
    app.post(&format!("/api/v1/payments/{pending}/confirm"), json!({}))
        .await
        .ok(200);
    assert_eq!(app.balance(c).await, "70.00");
    app.post(
        &format!("/api/v1/payments/{pending}/void"),
        json!({"reason": "bounced"}),
    )
    .await
    .ok(200);
    assert_eq!(app.balance(c).await, "100.00");
    let verify = app.cli(&["verify"]).await;
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// Ids of the entries made so far, shared by concurrent workers.
#[derive(Default)]
struct Ids {
    dues: Vec<i64>,
    payments: Vec<i64>,
    reported: Vec<i64>,
}

fn pick(list: &[i64], index: &Index) -> Option<i64> {
    (!list.is_empty()).then(|| list[index.index(list.len())])
}

/// One step without a model (others change the books at the same time):
/// only the answer's shape is checked. A busy SQLite may answer 503, which
/// changed nothing.
async fn loose_step(
    app: &TestApp,
    customer: i64,
    session: &str,
    ids: &Mutex<Ids>,
    op: &Op,
    stats: &Stats,
) -> Result<(), TestCaseError> {
    let what = format!("{op:?}");
    let (path, body, as_customer) = match op {
        Op::Due {
            cents: c,
            issue_date,
            due_date,
        } => {
            let mut body = json!({"amount": money(*c)});
            if let Some(d) = issue_date {
                body["issue_date"] = json!(d);
            }
            if let Some(d) = due_date {
                body["due_date"] = json!(d);
            }
            (format!("/api/v1/customers/{customer}/dues"), body, false)
        }
        Op::Pay {
            cents: c,
            date,
            advance,
            whole,
        } => {
            let amount = if *whole {
                balance(app, customer).await.max(0) + if *advance { *c } else { 0 }
            } else {
                *c
            };
            let mut body = json!({"amount": money(amount.max(1)), "advance": advance});
            if let Some(d) = date {
                body["date"] = json!(d);
            }
            (
                format!("/api/v1/customers/{customer}/payments"),
                body,
                false,
            )
        }
        Op::Report { cents: c, .. } => (
            "/api/v1/me/payments".to_string(),
            json!({"amount": money(*c)}),
            true,
        ),
        Op::VoidDue(index) => {
            let Some(id) = pick(&ids.lock().unwrap().dues, index) else {
                return Ok(());
            };
            (
                format!("/api/v1/dues/{id}/void"),
                json!({"reason": "wrong"}),
                false,
            )
        }
        Op::VoidPayment(index) => {
            let Some(id) = pick(&ids.lock().unwrap().payments, index) else {
                return Ok(());
            };
            (
                format!("/api/v1/payments/{id}/void"),
                json!({"reason": "bounced"}),
                false,
            )
        }
        Op::Confirm {
            pick: index,
            advance,
        } => {
            let Some(id) = pick(&ids.lock().unwrap().reported, index) else {
                return Ok(());
            };
            (
                format!("/api/v1/payments/{id}/confirm"),
                json!({"advance": advance}),
                false,
            )
        }
        Op::Replay { .. } => return Ok(()),
        Op::Reject(index) => {
            let Some(id) = pick(&ids.lock().unwrap().reported, index) else {
                return Ok(());
            };
            (
                format!("/api/v1/payments/{id}/reject"),
                json!({"reason": "not in the bank statement"}),
                false,
            )
        }
    };
    let token = if as_customer { session } else { &app.token };
    let reply = app
        .send(
            app.client
                .post(app.url(&path))
                .bearer_auth(token)
                .json(&body),
        )
        .await;
    if reply.status.as_u16() == 503 {
        prop_assert!(
            reply.body["code"].as_str().is_some(),
            "{what}: {}",
            reply.body
        );
        return Ok(());
    }
    if !answered(&reply, &what, stats)? || reply.status.as_u16() != 201 {
        return Ok(());
    }
    let id = reply.body["id"].as_i64().unwrap();
    let mut ids = ids.lock().unwrap();
    match op {
        Op::Due { .. } => ids.dues.push(id),
        Op::Pay { .. } => ids.payments.push(id),
        Op::Report { .. } => {
            ids.payments.push(id);
            ids.reported.push(id);
        }
        _ => {}
    }
    Ok(())
}

async fn run_concurrent_case(
    app: &Arc<TestApp>,
    n: usize,
    workers: Vec<Vec<Op>>,
    stats: &Arc<Stats>,
) -> Result<(), TestCaseError> {
    let (customer, session) = customer_with_login(app, n).await;
    let ids: Arc<Mutex<Ids>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for ops in workers {
        let (app, session, ids, stats) = (app.clone(), session.clone(), ids.clone(), stats.clone());
        tasks.spawn(async move {
            for op in &ops {
                loose_step(&app, customer, &session, &ids, op, &stats).await?;
            }
            Ok::<(), TestCaseError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap()?;
    }
    check_books(app, customer, None).await?;
    let verify = app.cli(&["verify"]).await;
    prop_assert!(
        verify.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    Ok(())
}

/// Three workers on one customer at once, each a random sequence: whatever
/// the interleaving, the books add up.
async fn concurrent_random_steps_keep_the_books_consistent(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let handle = tokio::runtime::Handle::current();
    let counter = Arc::new(AtomicUsize::new(1000));
    let stats: Arc<Stats> = Arc::default();
    let seen = stats.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 16,
            max_shrink_iters: 50,
            failure_persistence: None,
            ..Config::default()
        });
        runner.run(
            &prop::collection::vec(prop::collection::vec(op(), 12), 3),
            |workers| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                handle.block_on(run_concurrent_case(&app, n, workers, &seen))
            },
        )
    })
    .await
    .unwrap();
    println!(
        "{backend:?}: concurrent answers: {:?}",
        stats.lock().unwrap()
    );
    if let Err(e) = result {
        panic!("{backend:?}: {e}");
    }
}
