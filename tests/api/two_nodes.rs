//! Two `duetrack serve` processes on one PostgreSQL database, both running
//! the scheduler and delivering the outbox to one SMTP server, while
//! payments are recorded on both: every receipt and every reminder arrives
//! exactly once. (`scheduler::two_nodes_on_one_database_send_each_reminder_once`
//! covers the reminders alone, with nodes inside the test process.)

use crate::crash::{Node, store_env};
use crate::helpers::Backend;
use crate::scheduler::daytime_zone;
use crate::smtp::{Received, SmtpSink};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn set(env: &mut Vec<(&'static str, String)>, key: &'static str, value: &str) {
    env.retain(|(k, _)| *k != key);
    env.push((key, value.to_string()));
}

/// Waits until `count` messages arrived, or `limit` passed.
async fn wait_for(smtp: &SmtpSink, count: usize, limit: Duration) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let messages = smtp.messages();
        if messages.len() >= count || started.elapsed() > limit {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_nodes_deliver_each_receipt_and_reminder_once() {
    const CUSTOMERS: usize = 6;
    const PAYMENTS_EACH: usize = 6;
    let smtp = SmtpSink::start();
    let (zone, _) = daytime_zone();
    let dir = tempfile::tempdir().unwrap();
    let mut env = store_env(Backend::Postgres, dir.path()).await;
    set(&mut env, "DUETRACK_TIMEZONE", zone);
    set(&mut env, "SMTP_HOST", "127.0.0.1");
    set(&mut env, "SMTP_PORT", &smtp.port.to_string());
    set(&mut env, "SMTP_SECURITY", "none");
    set(&mut env, "EMAIL_FROM", "counter@sharma-stores.example");
    set(&mut env, "SHOP_NAME", "Sharma Stores");
    set(
        &mut env,
        "DUETRACK_BASE_URL",
        "https://khata.sharma-stores.example",
    );
    set(
        &mut env,
        "DUETRACK_ADMIN_EMAIL",
        "owner@sharma-stores.example",
    );
    set(&mut env, "DUETRACK_EMAIL_RETRY_SECONDS", "1");
    // Everyone with a balance is reminded on every run.
    set(&mut env, "DUETRACK_REMINDER_POLICY", "daily");

    // Overdue customers with email addresses, added with the scheduler off.
    let setup = Node::start(dir.path(), &env).await;
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let email = format!("c{i}@example.com");
        let c = setup
            .ok(
                "POST",
                "/api/v1/customers",
                json!({"name": format!("Customer {i}"), "email": email}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        setup
            .ok(
                "POST",
                &format!("/api/v1/customers/{c}/dues"),
                json!({"amount": "1000", "due_date": "2026-01-05"}),
            )
            .await;
        customers.push((c, email));
    }
    let invitations = wait_for(&smtp, CUSTOMERS, Duration::from_secs(20)).await;
    assert_eq!(invitations.len(), CUSTOMERS, "one invitation each");
    setup.stop();

    // Two nodes, each finding today's run due the moment it starts.
    set(&mut env, "DUETRACK_SCHEDULER", "on");
    set(&mut env, "DUETRACK_REMINDER_TIME", "00:00");
    let (a, b) = tokio::join!(Node::start(dir.path(), &env), Node::start(dir.path(), &env));
    let nodes = [&a, &b];

    // Payments alternately on each node, one task per customer, all at once
    // with the reminder run.
    let mut tasks = Vec::new();
    for (index, (c, _)) in customers.iter().enumerate() {
        let nodes = nodes.map(|n| (n.client.clone(), n.base.clone(), n.token.clone()));
        let c = *c;
        tasks.push(tokio::spawn(async move {
            let mut amounts = Vec::new();
            for j in 0..PAYMENTS_EACH {
                let (client, base, token) = &nodes[(index + j) % 2];
                // Distinct amounts tell the receipts apart.
                let amount = format!("{}.{:02}", j + 1, index + 10);
                let response = client
                    .post(format!("{base}/api/v1/customers/{c}/payments"))
                    .bearer_auth(token)
                    .header("Idempotency-Key", format!("two-nodes-{c}-{j}"))
                    .json(&json!({"amount": amount}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                amounts.push(amount);
            }
            amounts
        }));
    }
    let mut paid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (task, (_, email)) in tasks.into_iter().zip(&customers) {
        paid.insert(email.clone(), task.await.unwrap());
    }

    // Invitations, one reminder and a receipt per payment for each customer.
    let expected = CUSTOMERS * (1 + 1 + PAYMENTS_EACH);
    wait_for(&smtp, expected, Duration::from_secs(30)).await;
    // Anything doubled would arrive in the next moments.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = smtp.messages();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in &messages {
        *seen.entry((m.to.clone(), m.subject.clone())).or_default() += 1;
    }
    for (email, amounts) in &paid {
        let reminders: usize = seen
            .iter()
            .filter(|((to, subject), _)| to == email && subject.starts_with("Reminder"))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(reminders, 1, "{email}: one reminder");
        let receipts: Vec<_> = seen
            .iter()
            .filter(|((to, subject), _)| to == email && subject.starts_with("Receipt"))
            .collect();
        assert_eq!(receipts.len(), amounts.len(), "{email}: {receipts:?}");
        for amount in amounts {
            let found: Vec<_> = receipts
                .iter()
                .filter(|((_, subject), _)| subject.contains(&format!("{amount} received")))
                .collect();
            assert_eq!(
                found.len(),
                1,
                "{email}: a receipt for {amount}: {receipts:?}"
            );
            assert_eq!(*found[0].1, 1, "{email}: the receipt for {amount} once");
        }
    }
    let digests = messages
        .iter()
        .filter(|m| m.to == "owner@sharma-stores.example")
        .count();
    assert!(digests <= 1, "at most one digest: {digests}");
    assert_eq!(
        messages.len(),
        expected + digests,
        "nothing else, nothing twice: {:#?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );

    // The outbox agrees: everything sent, once. A message reaches the sink
    // a moment before its row says so: wait for the rows.
    let mut emails = serde_json::Value::Null;
    for _ in 0..100 {
        emails = a
            .ok(
                "GET",
                "/api/v1/emails?per_page=100",
                serde_json::Value::Null,
            )
            .await;
        if emails["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|e| e["status"] == "sent"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let items = emails["items"].as_array().unwrap();
    assert_eq!(items.len(), messages.len());
    assert!(items.iter().all(|e| e["status"] == "sent"), "{emails:#}");
    a.stop();
    b.stop();
}
