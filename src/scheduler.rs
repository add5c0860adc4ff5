//! The daily run: reminders by policy and the owner's digest, at
//! `DUETRACK_REMINDER_TIME` in `DUETRACK_TIMEZONE`. A lease in the database
//! lets one node of many run it; a record per day makes it run once; after
//! downtime only the latest missed day is run, never a backlog, and never a
//! day before the installation first started. A catch-up sends the owner's
//! digest for the missed day but no customer reminders: those go from
//! today's run, and nobody gets more than one on a calendar day.

use crate::config::{Config, LiveConfig};
use crate::domain::reminders::{RunKind, digest_covers_a_known_day, may_catch_up};
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
/// several nodes at once: nothing is sent twice for one day, no customer is
/// reminded twice on one calendar day, and no digest covers a day before
/// the installation existed.
pub async fn run_daily(
    store: &Store,
    config: &Config,
    day: NaiveDate,
    holder: &str,
    kind: RunKind,
) -> anyhow::Result<DailyRun> {
    let started = std::time::Instant::now();
    let first_day = store.first_day().await?;
    let reminders = if kind.reminds_customers() {
        store
            .send_reminders(day, config.today(), config.reminder_policy, "scheduler")
            .await?
    } else {
        0
    };
    let fallback = config
        .admin_email
        .as_deref()
        .or(config.email_from.as_deref());
    let before_installation = !digest_covers_a_known_day(day, first_day);
    let digest_queued = match store.owner_email(fallback).await? {
        Some(to) => store.queue_digest(day, &to, before_installation).await?,
        None => false,
    };
    store.record_daily_run(day, holder, reminders).await?;
    metrics::histogram!(crate::telemetry::REMINDER_RUN).record(started.elapsed().as_secs_f64());
    metrics::counter!(crate::telemetry::REMINDERS_QUEUED).increment(reminders as u64);
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
    // An installation does not catch up on a day before it existed.
    if catching_up && !may_catch_up(day, store.first_day().await?) {
        return Ok(());
    }
    if store.daily_run_done(day).await? {
        return Ok(());
    }
    if !store.try_lease(LEASE, holder, LEASE_SECONDS).await? {
        return Ok(());
    }
    let result = async {
        // Another node may have finished it while we took the lease.
        if !store.daily_run_done(day).await? {
            let kind = if catching_up {
                RunKind::CatchUp
            } else {
                RunKind::OnTheDay
            };
            let run = run_daily(store, config, day, holder, kind).await?;
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
