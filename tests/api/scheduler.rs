//! The daily run inside `serve`: exactly one node runs it, it runs once a
//! day, and after downtime it catches up on the missed day once.

use crate::helpers::{Backend, TestApp, spawn_app_with, with_smtp};
use crate::on_both_backends;
use crate::smtp::SmtpSink;
use chrono::{NaiveDate, Timelike};
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    two_nodes_on_one_database_send_each_reminder_once,
    after_downtime_the_missed_day_is_run_once,
);

/// A time zone where it is now between 01:00 and 22:00, so that "23:30"
/// has not come yet today whatever the clock says.
fn daytime_zone() -> (&'static str, NaiveDate) {
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
    smtp.wait_for(5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reminders_to(&smtp, "first@example.com"), 1);
    assert_eq!(reminders_to(&smtp, "second@example.com"), 1);
    let digests = smtp
        .messages()
        .iter()
        .filter(|m| m.to == "owner@sharma-stores.example")
        .count();
    assert_eq!(digests, 1, "one digest a day");

    // A node started later the same day finds the run done.
    let _c = setup.another_node(scheduled).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 5);
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

    // Back before today's reminder time: yesterday's run happens once, the day before is not replayed.
    let _node = setup.another_node(later).await;
    for _ in 0..100 {
        if reminders_to(&smtp, "daily@example.com") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _again = setup.another_node(later).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        reminders_to(&smtp, "daily@example.com"),
        2,
        "the missed day once, and no backlog"
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
    assert!(out.contains("already reminded that day"), "{out}");
}
