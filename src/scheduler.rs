//! The daily run: reminders by policy and the owner's digest, at
//! `DUETRACK_REMINDER_TIME` in `DUETRACK_TIMEZONE`. A lease in the database
//! lets one node of many run it; a record per day makes it run once; after
//! downtime only the latest missed day is run, never a backlog.

use crate::config::{Config, LiveConfig};
use crate::store::Store;
use chrono::NaiveDate;
use std::sync::Arc;
use std::time::Duration;

const LEASE: &str = "daily-run";
const LEASE_SECONDS: i64 = 15 * 60;

#[derive(Debug)]
pub struct DailyRun {
    pub day: NaiveDate,
    pub reminders: usize,
    pub digest_queued: bool,
}

/// A name for this process in leases and run records.
pub fn node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "node".to_string());
    format!("{host}:{}", std::process::id())
}

/// Runs the day's reminders and digest. Safe to repeat and to run on
/// several nodes at once: nothing is sent twice for one day.
pub async fn run_daily(
    store: &Store,
    config: &Config,
    day: NaiveDate,
    holder: &str,
) -> anyhow::Result<DailyRun> {
    let reminders = store
        .send_reminders(day, config.reminder_policy, "scheduler")
        .await?;
    let fallback = config
        .admin_email
        .as_deref()
        .or(config.email_from.as_deref());
    let digest_queued = match store.owner_email(fallback).await? {
        Some(to) => store.queue_digest(day, &to).await?,
        None => false,
    };
    store.record_daily_run(day, holder, reminders).await?;
    Ok(DailyRun {
        day,
        reminders,
        digest_queued,
    })
}

/// The day whose run is due now: today once the reminder time has passed,
/// otherwise yesterday (a run missed while the service was down).
fn due_day(config: &Config, now: chrono::DateTime<chrono::Utc>) -> (NaiveDate, bool) {
    let local = now.with_timezone(&config.timezone);
    if local.time() >= config.reminder_time {
        (local.date_naive(), false)
    } else {
        (
            local.date_naive().pred_opt().unwrap_or(local.date_naive()),
            true,
        )
    }
}

async fn tick(store: &Store, live: &LiveConfig, holder: &str) -> anyhow::Result<()> {
    let config = live.get();
    let config = config.as_ref();
    let (day, catching_up) = due_day(config, chrono::Utc::now());
    let (done, any_run_ever) = store.daily_run_status(day).await?;
    // A fresh install does not catch up on a day it never saw.
    if done || (catching_up && !any_run_ever) {
        return Ok(());
    }
    if !store.try_lease(LEASE, holder, LEASE_SECONDS).await? {
        return Ok(());
    }
    let result = async {
        // Another node may have finished it while we took the lease.
        if !store.daily_run_status(day).await?.0 {
            let run = run_daily(store, config, day, holder).await?;
            tracing::info!(day = %run.day, reminders = run.reminders, digest = run.digest_queued, catching_up, "daily run done");
        }
        anyhow::Ok(())
    }
    .await;
    store.release_lease(LEASE, holder).await?;
    result
}

/// The scheduler inside `duetrack serve`, following the settings in `live`.
pub async fn run(store: Store, live: Arc<LiveConfig>) {
    let holder = node_id();
    let mut every = tokio::time::interval(Duration::from_secs(20));
    loop {
        every.tick().await;
        if let Err(e) = tick(&store, &live, &holder).await {
            tracing::warn!(error = %e, "the daily run failed; it will be tried again");
        }
    }
}
