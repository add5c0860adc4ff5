//! The daily run inside `serve`: exactly one node runs it, it runs once a
//! day, after downtime it catches up on the missed day once (the digest, no
//! reminders), never on a day before the installation, and nobody gets two
//! reminders on one day.

use crate::helpers::{Backend, TestApp, spawn_app_with, with_smtp};
use crate::on_both_backends;
use crate::smtp::SmtpSink;
use chrono::{NaiveDate, Timelike};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    two_nodes_on_one_database_send_each_reminder_once,
    after_downtime_the_missed_day_is_run_once,
    a_fresh_install_reminds_each_customer_once_on_its_first_day,
);

/// A time zone where it is now between 01:00 and 22:00, so that "23:30"
/// has not come yet today whatever the clock says.
pub(crate) fn daytime_zone() -> (&'static str, NaiveDate) {
    for zone in [
        "UTC",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "America/New_York",
        "America/Los_Angeles",
        "Europe/Berlin",
    ] {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let local = chrono::Utc::now().with_timezone(&tz);
        if (1..22).contains(&local.hour()) {
            return (zone, local.date_naive());
        }
    }
    unreachable!("some zone is in daytime")
}

async fn overdue_customer(app: &TestApp, email: &str) -> i64 {
    let c = app
        .post("/api/v1/customers", json!({"name": email, "email": email}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(c, json!({"amount": "75", "due_date": "2026-01-05"}))
        .await
        .ok(201);
    c
}

fn digests_to(smtp: &SmtpSink, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.to == to && !m.subject.starts_with("Reminder"))
        .count()
}

fn reminders_to(smtp: &SmtpSink, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.subject.starts_with("Reminder") && m.to == to)
        .count()
}

async fn two_nodes_on_one_database_send_each_reminder_once(backend: Backend) {
    let smtp = SmtpSink::start();
    let (zone, _) = daytime_zone();
    let setup = spawn_app_with(backend, with_smtp(smtp.port)).await;
    overdue_customer(&setup, "first@example.com").await;
    overdue_customer(&setup, "second@example.com").await;
    smtp.wait_for(2).await;

    // Both nodes find today's run due the moment they start.
    let scheduled = |s: &mut duetrack::config::RawSettings| {
        s.scheduler = Some("on".into());
        s.reminder_time = Some("00:00".into());
        s.timezone = Some(zone.into());
    };
    let (_a, _b) = tokio::join!(setup.another_node(scheduled), setup.another_node(scheduled));
    smtp.wait_for(4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reminders_to(&smtp, "first@example.com"), 1);
    assert_eq!(reminders_to(&smtp, "second@example.com"), 1);
    assert_eq!(
        digests_to(&smtp, "owner@sharma-stores.example"),
        0,
        "the first day's digest would cover a day before the installation"
    );

    // A node started later the same day finds the run done.
    let _c = setup.another_node(scheduled).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 4);
}

async fn after_downtime_the_missed_day_is_run_once(backend: Backend) {
    let smtp = SmtpSink::start();
    let (zone, today) = daytime_zone();
    let setup = spawn_app_with(backend, |s| {
        with_smtp(smtp.port)(s);
        s.reminder_policy = Some("daily".into());
        s.timezone = Some(zone.into());
        s.admin_email = None;
        s.email_from = Some("counter@sharma-stores.example".into());
    })
    .await;
    overdue_customer(&setup, "daily@example.com").await;
    smtp.wait_for(1).await;
    let later = |s: &mut duetrack::config::RawSettings| {
        s.scheduler = Some("on".into());
        s.reminder_time = Some("23:30".into());
    };

    // A fresh install waits for the reminder time: no catch-up on a day it never saw.
    let fresh = setup.another_node(later).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reminders_to(&smtp, "daily@example.com"), 0);
    drop(fresh);

    // The service ran three days ago, then was down.
    let three_days_ago = (today - chrono::Days::new(3)).to_string();
    assert!(
        setup
            .cli(&["remind", "--date", &three_days_ago])
            .await
            .status
            .success()
    );
    assert_eq!(reminders_to(&smtp, "daily@example.com"), 1);

    // Back before today's reminder time: yesterday's run happens once, the
    // day before is not replayed. A catch-up sends the owner's digest for the
    // missed day; customers are reminded by today's run, not by it.
    let owner = "counter@sharma-stores.example";
    let _node = setup.another_node(later).await;
    for _ in 0..100 {
        if digests_to(&smtp, owner) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _again = setup.another_node(later).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        digests_to(&smtp, owner),
        1,
        "the missed day once, and no backlog"
    );
    assert_eq!(
        reminders_to(&smtp, "daily@example.com"),
        1,
        "a catch-up reminds nobody"
    );
    let dry = setup
        .cli(&[
            "remind",
            "--dry-run",
            "--date",
            &(today - chrono::Days::new(1)).to_string(),
        ])
        .await;
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("already reminded today"), "{out}");
    // Today's run finds the customer reminded today (by the run for three
    // days ago, sent today) and sends nothing more.
    assert!(setup.cli(&["remind"]).await.status.success());
    assert_eq!(reminders_to(&smtp, "daily@example.com"), 1);
}

/// Found from outside: a new installation, its customers added in its
/// first minutes, `duetrack remind` on two nodes, and a node before its
/// reminder time that took yesterday for a missed day. Each customer got two
/// reminders seconds apart and the owner a digest of a day before the
/// installation.
async fn a_fresh_install_reminds_each_customer_once_on_its_first_day(backend: Backend) {
    let smtp = SmtpSink::start();
    let (zone, _) = daytime_zone();
    let setup = spawn_app_with(backend, |s| {
        with_smtp(smtp.port)(s);
        s.timezone = Some(zone.into());
    })
    .await;
    let customers = 30;
    for i in 0..customers {
        overdue_customer(&setup, &format!("c{i}@example.com")).await;
    }
    smtp.wait_for(customers).await;

    // Nodes whose reminder time has not come: each would take yesterday
    // for a missed day. Another runs today's run as it starts.
    let before_time = |s: &mut duetrack::config::RawSettings| {
        s.scheduler = Some("on".into());
        s.reminder_time = Some("23:30".into());
    };
    let on_time = |s: &mut duetrack::config::RawSettings| {
        s.scheduler = Some("on".into());
        s.reminder_time = Some("00:00".into());
    };
    let _early = setup.another_node(before_time).await;
    let (first, second, _scheduled, _waiting) = tokio::join!(
        setup.cli(&["remind"]),
        setup.cli(&["remind"]),
        setup.another_node(on_time),
        setup.another_node(before_time),
    );
    assert!(first.status.success() && second.status.success());
    // Started after today's run is recorded.
    let _late = setup.another_node(before_time).await;
    let total = || {
        (0..customers)
            .map(|i| reminders_to(&smtp, &format!("c{i}@example.com")))
            .sum::<usize>()
    };
    for _ in 0..100 {
        if total() >= customers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..customers {
        assert_eq!(
            reminders_to(&smtp, &format!("c{i}@example.com")),
            1,
            "customer {i}: one reminder on the day"
        );
    }
    assert_eq!(
        digests_to(&smtp, "owner@sharma-stores.example"),
        0,
        "no digest of a day before the installation"
    );
    let dry = setup.cli(&["remind", "--dry-run"]).await;
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("0 customer(s) would be reminded"), "{out}");
}
