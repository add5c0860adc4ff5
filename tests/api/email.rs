//! Email through a real SMTP server: every kind of message, retries after an
//! outage, reminders once a day, and `.eml` files when no server is set.

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with, with_smtp};
use crate::on_both_backends;
use crate::smtp::{SmtpSink, free_port, parse};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    an_invitation_carries_a_one_time_link_and_the_shops_name,
    a_receipt_names_the_amount_paid,
    an_overdue_customer_is_reminded_once_however_often_the_run_repeats,
    a_dry_run_sends_nothing,
    two_concurrent_runs_remind_each_customer_once,
    a_manual_message_reaches_every_customer_with_a_balance,
    account_changes_deletion_and_reset_are_told_to_the_customer,
    a_receipt_queued_while_smtp_is_down_arrives_once_it_returns,
    a_refused_recipient_is_marked_failed_with_the_servers_answer,
    without_smtp_messages_are_kept_and_written_as_eml_files,
    the_owner_gets_a_daily_digest,
    a_restarted_smtp_server_drops_pooled_connections_and_loses_nothing,
);

async fn customer_with_email(app: &TestApp, name: &str, email: &str) -> i64 {
    app.post("/api/v1/customers", json!({"name": name, "email": email}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap()
}

/// Waits until the email log shows `count` messages with `status`.
async fn wait_for_status(app: &TestApp, status: &str, count: i64) -> serde_json::Value {
    for _ in 0..200 {
        let log = app.get(&format!("/api/v1/emails?status={status}")).await;
        if log.body["total"].as_i64() >= Some(count) {
            return log.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the email log never showed {count} {status} message(s): {}",
        app.get("/api/v1/emails").await.body
    );
}

async fn an_invitation_carries_a_one_time_link_and_the_shops_name(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let created = app
        .post(
            "/api/v1/customers",
            json!({"name": "Asha Rao", "email": "asha@example.com"}),
        )
        .await;
    let username = created.ok(201)["username"].as_str().unwrap().to_string();
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail.len(), 1);
    let invitation = &mail[0];
    assert_eq!(invitation.to, "asha@example.com");
    assert!(
        invitation.subject.contains("Sharma Stores"),
        "{}",
        invitation.subject
    );
    assert!(invitation.text.contains(&username));
    assert!(
        invitation
            .text
            .contains("https://khata.sharma-stores.example/set-password?token="),
        "{}",
        invitation.text
    );
    assert!(invitation.html.contains("Sharma Stores"));
    assert!(
        !invitation.text.contains("Password:"),
        "never a password in an email"
    );
    let token = invitation
        .text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(token.len() >= 32, "the token is long and random: {token}");

    let log = wait_for_status(&app, "sent", 1).await;
    assert_eq!(log["items"][0]["kind"], "invitation");
    assert_eq!(log["items"][0]["recipient"], "asha@example.com");
    assert_eq!(log["items"][0]["attempts"], 1);
    // A customer without an email gets nothing, and nothing is queued.
    app.customer("No Email").await;
    assert_eq!(app.get("/api/v1/emails").await.ok(200)["total"], 1);
}

async fn a_receipt_names_the_amount_paid(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = customer_with_email(&app, "Ravi", "ravi@example.com").await;
    app.add_due(c, json!({"amount": "150000"})).await.ok(201);
    app.pay(
        c,
        json!({"amount": "12345.50", "method": "upi", "reference": "UTR998877"}),
    )
    .await
    .ok(201);
    let mail = smtp.wait_for(2).await;
    let receipt = mail
        .iter()
        .find(|m| m.subject.starts_with("Receipt"))
        .expect("a receipt");
    assert_eq!(receipt.to, "ravi@example.com");
    assert!(
        receipt.subject.contains("₹12,345.50"),
        "{}",
        receipt.subject
    );
    assert!(receipt.text.contains("UTR998877"));
    assert!(
        receipt.text.contains("Balance still due: ₹1,37,654.50."),
        "{}",
        receipt.text
    );
    assert!(receipt.html.contains("₹12,345.50"));
}

async fn an_overdue_customer_is_reminded_once_however_often_the_run_repeats(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let late = customer_with_email(&app, "Late Payer", "late@example.com").await;
    app.add_due(
        late,
        json!({"amount": "500", "due_date": "2026-01-15", "description": "Cement bags"}),
    )
    .await
    .ok(201);
    let fine = customer_with_email(&app, "Not Yet Due", "fine@example.com").await;
    app.add_due(fine, json!({"amount": "80", "due_date": "2199-01-01"}))
        .await
        .ok(201);
    let undated = customer_with_email(&app, "No Due Date", "undated@example.com").await;
    app.add_due(undated, json!({"amount": "80"})).await.ok(201);
    smtp.wait_for(3).await; // the invitations

    for _ in 0..3 {
        let run = app.cli(&["remind"]).await;
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let mail = smtp.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reminders: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.starts_with("Reminder"))
        .collect();
    assert_eq!(
        reminders.len(),
        1,
        "one reminder, however often the run repeats: {mail:?}"
    );
    let reminder = &reminders[0];
    assert_eq!(reminder.to, "late@example.com");
    assert!(
        reminder.subject.contains("₹500.00 overdue"),
        "{}",
        reminder.subject
    );
    assert!(
        reminder
            .text
            .contains("Cement bags: ₹500.00, due 2026-01-15"),
        "{}",
        reminder.text
    );
    let log = app.get("/api/v1/emails?kind=reminder").await;
    assert_eq!(log.ok(200)["total"], 1);
    assert_eq!(log.body["items"][0]["customer_id"], late);

    // Paid up, nobody is reminded the next day either.
    app.pay(late, json!({"amount": "500"})).await.ok(201);
    let run = app
        .cli(&["remind", "--date", "2199-12-31", "--dry-run"])
        .await;
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(!out.contains("Late Payer"), "{out}");
}

async fn a_dry_run_sends_nothing(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = customer_with_email(&app, "Overdue Olga", "olga@example.com").await;
    app.add_due(c, json!({"amount": "99.50", "due_date": "2026-02-01"}))
        .await
        .ok(201);
    let quiet = app.customer("Quiet Quentin").await;
    app.add_due(quiet, json!({"amount": "10", "due_date": "2026-02-01"}))
        .await
        .ok(201);
    smtp.wait_for(1).await;
    let before = app.get("/api/v1/emails").await.ok(200)["total"].clone();

    let run = app.cli(&["remind", "--dry-run"]).await;
    assert!(run.status.success());
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains("WOULD REMIND") && out.contains("Overdue Olga") && out.contains("overdue by"),
        "{out}"
    );
    assert!(
        out.contains("Quiet Quentin") && out.contains("no email address"),
        "{out}"
    );
    assert!(out.contains("1 customer(s) would be reminded"), "{out}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.get("/api/v1/emails").await.ok(200)["total"], before);
    assert_eq!(smtp.messages().len(), 1, "only the invitation");
    // The real run afterwards still sends it (and the owner's digest): the dry run recorded nothing.
    assert!(app.cli(&["remind"]).await.status.success());
    let mail = smtp.wait_for(3).await;
    let reminders: Vec<_> = mail
        .iter()
        .filter(|m| m.subject.starts_with("Reminder"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].to, "olga@example.com");
}

async fn two_concurrent_runs_remind_each_customer_once(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    for i in 0..6 {
        let c = customer_with_email(
            &app,
            &format!("Debtor {i}"),
            &format!("debtor{i}@example.com"),
        )
        .await;
        app.add_due(c, json!({"amount": "10", "due_date": "2026-03-01"}))
            .await
            .ok(201);
    }
    let (a, b) = tokio::join!(app.cli(&["remind"]), app.cli(&["remind"]));
    assert!(a.status.success() && b.status.success());
    wait_for_status(&app, "sent", 12).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reminders: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.starts_with("Reminder"))
        .collect();
    assert_eq!(reminders.len(), 6, "one reminder per customer");
    let mut to: Vec<_> = reminders.iter().map(|m| m.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 6);
}

async fn a_manual_message_reaches_every_customer_with_a_balance(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let owing = customer_with_email(&app, "Owing", "owing@example.com").await;
    app.add_due(owing, json!({"amount": "10"})).await.ok(201);
    customer_with_email(&app, "Settled", "settled@example.com").await;
    let no_email = app.customer("Paper Only").await;
    app.add_due(no_email, json!({"amount": "10"})).await.ok(201);
    smtp.wait_for(2).await;

    let reply = app
        .post(
            "/api/v1/notifications",
            json!({"to": "with_balance", "subject": "Diwali hours", "body": "We open at 8 tomorrow.\n\n<b>Thank you</b>"}),
        )
        .await;
    assert_eq!(reply.ok(202)["queued"], 1);
    assert_eq!(
        reply.body["skipped"],
        json!([{"customer_id": no_email, "reason": "no email address"}])
    );
    let mail = smtp.wait_for(3).await;
    let manual = mail
        .iter()
        .find(|m| m.subject == "Diwali hours")
        .expect("the message");
    assert_eq!(manual.to, "owing@example.com");
    assert!(manual.text.contains("We open at 8 tomorrow."));
    assert!(
        manual.html.contains("&lt;b&gt;Thank you&lt;/b&gt;"),
        "staff text is escaped: {}",
        manual.html
    );

    let picked = app
        .post(
            "/api/v1/notifications",
            json!({"to": [owing], "subject": "Hi", "body": "Just you"}),
        )
        .await;
    assert_eq!(picked.ok(202)["queued"], 1);
    let unknown = app
        .post(
            "/api/v1/notifications",
            json!({"to": [owing, 999999], "subject": "Hi", "body": "x"}),
        )
        .await;
    assert_eq!(unknown.problem(422)["field"], "to");
    let bad = app
        .post(
            "/api/v1/notifications",
            json!({"to": "everyone", "subject": "Hi", "body": "x"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "to");
    let empty = app
        .post(
            "/api/v1/notifications",
            json!({"to": "all", "subject": " ", "body": "x"}),
        )
        .await;
    assert_eq!(empty.problem(422)["field"], "subject");
}

async fn account_changes_deletion_and_reset_are_told_to_the_customer(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = customer_with_email(&app, "Mover", "old@example.com").await;
    smtp.wait_for(1).await;
    app.patch(
        &format!("/api/v1/customers/{c}"),
        json!({"email": "new@example.com"}),
    )
    .await
    .ok(200);
    let mail = smtp.wait_for(2).await;
    let changed = mail
        .iter()
        .find(|m| m.subject.contains("was changed"))
        .expect("a change notice");
    assert_eq!(changed.to, "old@example.com");

    let reset = app
        .post(
            &format!("/api/v1/customers/{c}/reset-credentials"),
            json!({}),
        )
        .await;
    assert_eq!(reset.ok(202)["sent_to"], "new@example.com");
    let mail = smtp.wait_for(3).await;
    let link = mail
        .iter()
        .find(|m| m.subject.starts_with("Reset"))
        .expect("a reset link");
    assert_eq!(link.to, "new@example.com");
    assert!(link.text.contains("/set-password?token="));

    app.delete(&format!("/api/v1/customers/{c}")).await.ok(200);
    let mail = smtp.wait_for(4).await;
    let closed = mail
        .iter()
        .find(|m| m.subject.contains("closed"))
        .expect("a deletion confirmation");
    assert_eq!(closed.to, "new@example.com");

    let paper = app.customer("Paper").await;
    let refused = app
        .post(
            &format!("/api/v1/customers/{paper}/reset-credentials"),
            json!({}),
        )
        .await;
    assert_eq!(refused.problem(409)["code"], "no_email");
}

async fn a_receipt_queued_while_smtp_is_down_arrives_once_it_returns(backend: Backend) {
    let port = free_port();
    let app = spawn_app_with(backend, with_smtp(port)).await;
    let c = customer_with_email(&app, "Patient", "patient@example.com").await;
    app.add_due(c, json!({"amount": "100"})).await.ok(201);
    app.pay(c, json!({"amount": "40"})).await.ok(201);
    // Nothing listens: both messages fail and wait for a retry.
    for _ in 0..200 {
        let log = app.get("/api/v1/emails?status=queued").await;
        let items = log.body["items"].as_array().cloned().unwrap_or_default();
        if items.len() == 2
            && items
                .iter()
                .all(|e| e["attempts"].as_i64() >= Some(1) && e["last_error"].is_string())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = app.get("/api/v1/emails?status=queued").await;
    assert_eq!(log.ok(200)["total"], 2, "{}", log.body);
    assert!(log.body["items"][0]["next_attempt_at"].is_string());

    let smtp = SmtpSink::start_on(port);
    wait_for_status(&app, "sent", 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "each queued message exactly once: {mail:?}");
    assert!(mail.iter().any(|m| m.subject.contains("₹40.00")));
}

async fn a_refused_recipient_is_marked_failed_with_the_servers_answer(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    customer_with_email(&app, "Bounced", "rejected-box@example.com").await;
    let log = wait_for_status(&app, "failed", 1).await;
    let failed = &log["items"][0];
    assert_eq!(failed["recipient"], "rejected-box@example.com");
    assert_eq!(failed["attempts"], 1, "a permanent failure is not retried");
    assert!(
        failed["last_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    assert_eq!(smtp.messages().len(), 0);
    app.get("/api/v1/emails?status=lost").await.problem(400);
    app.get("/api/v1/emails?kind=invitation&customer_id=abc")
        .await
        .problem(400);
}

async fn without_smtp_messages_are_kept_and_written_as_eml_files(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app
        .post(
            "/api/v1/customers",
            json!({"name": "Offline", "email": "offline@example.com"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(c, json!({"amount": "20"})).await.ok(201);
    app.pay(c, json!({"amount": "20"})).await.ok(201);
    let outbox = app.data_dir.join("outbox");
    let mut files = Vec::new();
    for _ in 0..200 {
        files = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let receipt = parse(&std::fs::read(&files[1]).unwrap());
    assert_eq!(receipt.to, "offline@example.com");
    assert!(receipt.subject.contains("₹20.00"));
    // The file is written before its path is recorded: wait for both.
    let mut items = Vec::new();
    for _ in 0..200 {
        let log = app.get("/api/v1/emails").await;
        items = log.ok(200)["items"].as_array().unwrap().clone();
        if items.iter().all(|e| e["eml_path"].is_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        items.iter().all(|e| e["eml_path"].is_string()),
        "written: {items:?}"
    );
    let receipt = items.iter().find(|e| e["kind"] == "receipt").unwrap();
    assert_eq!(receipt["status"], "queued", "kept in the outbox: {items:?}");
    // The invitation's link is only in its file now: not readable from the
    // database, and never sent later with a stale text.
    let invitation = items.iter().find(|e| e["kind"] == "invitation").unwrap();
    assert_eq!(invitation["status"], "failed", "{invitation}");
    assert!(
        invitation["last_error"]
            .as_str()
            .unwrap()
            .contains("no SMTP server"),
        "{invitation}"
    );
    let bodies = app
        .get(&format!("/api/v1/emails/{}", invitation["id"]))
        .await;
    if bodies.status == reqwest::StatusCode::OK {
        assert!(
            !bodies.body.to_string().contains("token="),
            "{:?}",
            bodies.body
        );
    }
}

async fn the_owner_gets_a_daily_digest(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = app.customer("Regular").await;
    app.add_due(
        c,
        json!({"amount": "1000", "issue_date": "2026-06-01", "due_date": "2026-06-09"}),
    )
    .await
    .ok(201);
    app.pay(c, json!({"amount": "250", "date": "2026-06-09"}))
        .await
        .ok(201);
    let run = app.cli(&["remind", "--date", "2026-06-10"]).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mail = smtp.wait_for(1).await;
    let digest = mail
        .iter()
        .find(|m| m.to == "owner@sharma-stores.example")
        .expect("a digest to the owner");
    assert!(
        digest.subject.contains("₹250.00 collected on 2026-06-09"),
        "{}",
        digest.subject
    );
    assert!(
        digest.text.contains("Regular: ₹750.00"),
        "became overdue: {}",
        digest.text
    );
    // Once per day.
    assert!(
        app.cli(&["remind", "--date", "2026-06-10"])
            .await
            .status
            .success()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        smtp.messages()
            .iter()
            .filter(|m| m.to == "owner@sharma-stores.example")
            .count(),
        1
    );
}

async fn a_restarted_smtp_server_drops_pooled_connections_and_loses_nothing(backend: Backend) {
    let port = free_port();
    let first = SmtpSink::start_on(port);
    let app = spawn_app_with(backend, with_smtp(port)).await;
    let c = customer_with_email(&app, "Pooled", "pooled@example.com").await;
    app.add_due(c, json!({"amount": "100"})).await.ok(201);
    app.pay(c, json!({"amount": "10"})).await.ok(201);
    // The invitation and the first receipt go over a pooled connection.
    wait_for_status(&app, "sent", 2).await;
    // The server goes away and comes back: the pooled connection is dead.
    drop(first);
    let second = SmtpSink::start_on(port);
    app.pay(c, json!({"amount": "20"})).await.ok(201);
    wait_for_status(&app, "sent", 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mail = second.messages();
    assert_eq!(mail.len(), 1, "the second receipt, once: {mail:?}");
    assert!(mail[0].subject.contains("₹20.00"), "{mail:?}");
}
