//! The daily run's data: who is reminded and why, the reminder log that
//! allows one reminder per customer and day, the owner's digest, and the
//! leases and run records that let exactly one node run it.

use super::activity::{self, Change};
use super::db::Arg;
use super::letters::{DigestFacts, ReminderFacts, ReminderLine};
use super::outbox::{self, NewEmail};
use super::{Store, StoreResult, now_text, timestamp_text};
use crate::args;
use crate::domain::money::Money;
use crate::domain::notifications::EmailKind;
use crate::domain::reminders::{OpenDueDate, ReminderPolicy, reminder_reason};
use chrono::NaiveDate;
use serde_json::json;
use std::collections::HashSet;

/// The outbox key of the reminder for `customer_id` on `day`.
fn reminder_key(customer_id: i64, day: NaiveDate) -> String {
    format!("reminder:{customer_id}:{day}")
}

/// One customer with an open balance, and what the policy says of it.
#[derive(Debug, Clone)]
pub struct ReminderCandidate {
    pub customer_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub balance: Money,
    pub overdue: Money,
    /// Why a reminder is due today, when it is.
    pub reason: Option<String>,
    /// Why a reminder is not sent although one is due (no email, paused,
    /// already reminded that day, today, or on a later day).
    pub held_back: Option<&'static str>,
    dues: Vec<ReminderLine>,
    dates: Vec<OpenDueDate>,
    last_reminded: Option<NaiveDate>,
    paused: bool,
    reminded_that_day: bool,
    reminded_today: bool,
    reminded_later: bool,
}

impl ReminderCandidate {
    pub fn will_be_sent(&self) -> bool {
        self.reason.is_some() && self.held_back.is_none()
    }
}

impl Store {
    /// Works out, without changing anything, who the run for `day` reminds
    /// when it runs on `today` (the calendar day of sending).
    pub async fn reminder_plan(
        &self,
        day: NaiveDate,
        today: NaiveDate,
        policy: ReminderPolicy,
    ) -> StoreResult<Vec<ReminderCandidate>> {
        let mut tx = self.db.read().await?;
        let rows = tx
            .fetch_all(
                "SELECT c.id, c.name, c.email, c.balance, c.reminders_paused,
                        (SELECT MAX(r.day) FROM reminder_log r WHERE r.customer_id = c.id AND r.day < $1) AS last_reminded,
                        (SELECT COUNT(*) FROM reminder_log r WHERE r.customer_id = c.id AND r.day = $1) AS reminded_that_day,
                        (SELECT COUNT(*) FROM reminder_log r WHERE r.customer_id = c.id AND r.sent_on = $2) AS reminded_today,
                        (SELECT COUNT(*) FROM reminder_log r WHERE r.customer_id = c.id AND r.day > $1) AS reminded_later,
                        d.id AS due_id, d.description, d.due_date, d.amount - d.paid AS outstanding
                 FROM customers c JOIN dues d ON d.customer_id = c.id AND d.status IN ('open', 'partial')
                 WHERE c.status = 'active' AND c.balance > 0
                 ORDER BY c.id, COALESCE(d.due_date, d.issue_date), d.issue_date, d.id",
                args![day, today],
            )
            .await?;
        let mut plan: Vec<ReminderCandidate> = Vec::new();
        for row in rows {
            let id = row.i64("id")?;
            if plan.last().is_none_or(|c| c.customer_id != id) {
                plan.push(ReminderCandidate {
                    customer_id: id,
                    name: row.text("name")?,
                    email: row.opt_text("email")?,
                    balance: row.money("balance")?,
                    overdue: Money::ZERO,
                    reason: None,
                    held_back: None,
                    dues: Vec::new(),
                    dates: Vec::new(),
                    last_reminded: row.opt_date("last_reminded")?,
                    paused: row.i64("reminders_paused")? != 0,
                    reminded_that_day: row.i64("reminded_that_day")? > 0,
                    reminded_today: row.i64("reminded_today")? > 0,
                    reminded_later: row.i64("reminded_later")? > 0,
                });
            }
            let Some(candidate) = plan.last_mut() else {
                continue;
            };
            let due_date = row.opt_date("due_date")?;
            let outstanding = row.money("outstanding")?;
            if due_date.is_some_and(|d| d < day) {
                candidate.overdue += outstanding;
            }
            candidate.dates.push(OpenDueDate {
                due_date,
                outstanding: outstanding.minor(),
            });
            candidate.dues.push(ReminderLine {
                description: row
                    .opt_text("description")?
                    .unwrap_or_else(|| format!("Due #{}", row.i64("due_id").unwrap_or_default())),
                due_date,
                outstanding,
            });
        }
        for c in &mut plan {
            c.reason = reminder_reason(policy, day, c.balance.minor(), c.last_reminded, &c.dates);
            c.held_back = if c.reminded_that_day {
                Some("already reminded that day")
            } else if c.reminded_today {
                Some("already reminded today")
            } else if c.reminded_later {
                Some("reminded on a later day")
            } else if c.paused {
                Some("reminders are paused")
            } else if c.email.is_none() {
                Some("no email address")
            } else {
                None
            };
        }
        Ok(plan)
    }

    /// Sends the reminders the plan for `day` calls for, on `today`. Each
    /// one is logged under a unique (customer, day) key and a unique
    /// (customer, day of sending) key in the same transaction as its email,
    /// so concurrent or repeated runs, for one day or several, remind nobody
    /// twice on one calendar day. Returns how many were queued by this call.
    pub async fn send_reminders(
        &self,
        day: NaiveDate,
        today: NaiveDate,
        policy: ReminderPolicy,
        actor: &str,
    ) -> StoreResult<usize> {
        let plan = self.reminder_plan(day, today, policy).await?;
        self.send_planned_reminders(plan, day, today, actor).await
    }

    /// Sends the reminders of a plan made by [`Store::reminder_plan`] for
    /// `day` on `today`, a few hundred customers per transaction: the
    /// reminder log, the emails and the log's links to them each written
    /// with one multi-row statement.
    pub async fn send_planned_reminders(
        &self,
        plan: Vec<ReminderCandidate>,
        day: NaiveDate,
        today: NaiveDate,
        actor: &str,
    ) -> StoreResult<usize> {
        /// Customers per transaction: large enough to spread a commit over
        /// many reminders, small enough not to hold the writer for long.
        const CHUNK: usize = 500;
        let due: Vec<ReminderCandidate> = plan.into_iter().filter(|c| c.will_be_sent()).collect();
        let mut queued = 0;
        for chunk in due.chunks(CHUNK) {
            let mut tx = self.db.write().await?;
            let now = now_text();
            let rows: Vec<Vec<Arg>> = chunk
                .iter()
                .map(|c| {
                    vec![
                        Arg::from(c.customer_id),
                        Arg::from(day),
                        Arg::from(today),
                        Arg::from(c.reason.clone()),
                        Arg::from(now.clone()),
                    ]
                })
                .collect();
            let logged: HashSet<i64> = tx
                .insert_many_returning(
                    "reminder_log",
                    &["customer_id", "day", "sent_on", "reason", "created_at"],
                    &rows,
                    " ON CONFLICT DO NOTHING RETURNING customer_id",
                )
                .await?
                .iter()
                .map(|r| r.i64("customer_id"))
                .collect::<Result<_, _>>()?;
            let chosen: Vec<&ReminderCandidate> = chunk
                .iter()
                .filter(|c| logged.contains(&c.customer_id))
                .collect();
            if chosen.is_empty() {
                continue;
            }
            let emails = chosen
                .iter()
                .map(|c| NewEmail {
                    kind: EmailKind::Reminder,
                    dedupe_key: reminder_key(c.customer_id, day),
                    customer_id: Some(c.customer_id),
                    recipient: c.email.clone().unwrap_or_default(),
                    message: self.letters.reminder(&ReminderFacts {
                        name: &c.name,
                        balance: c.balance,
                        overdue: c.overdue,
                        reason: c.reason.as_deref().unwrap_or_default(),
                        dues: &c.dues,
                    }),
                })
                .collect();
            outbox::enqueue_many(&mut tx, emails).await?;
            // Link the chunk's log rows to their emails in one statement
            // (the plan is in customer order): each to the email with its
            // key, whether written now or by an earlier run.
            let first = chosen.first().map_or(0, |c| c.customer_id);
            let last = chosen.last().map_or(0, |c| c.customer_id);
            tx.execute(
                "UPDATE reminder_log SET email_id = (SELECT e.id FROM emails e
                     WHERE e.dedupe_key = 'reminder:' || CAST(reminder_log.customer_id AS TEXT) || ':' || reminder_log.day)
                 WHERE day = $1 AND sent_on = $2 AND email_id IS NULL AND customer_id BETWEEN $3 AND $4",
                args![day, today, first, last],
            )
            .await?;
            let changes = chosen
                .iter()
                .map(|c| {
                    (
                        actor,
                        Change {
                            action: "reminder.queued",
                            entity_type: "customer",
                            entity_id: c.customer_id.to_string(),
                            before: None,
                            after: Some(json!({"day": day, "reason": c.reason, "balance": c.balance, "overdue": c.overdue})),
                        },
                    )
                })
                .collect();
            activity::record_many(&mut tx, changes).await?;
            tx.commit().await?;
            queued += chosen.len();
        }
        if queued > 0 {
            self.email_queued();
        }
        Ok(queued)
    }

    /// The figures of the owner's digest for the run on `day` (covering the day before).
    pub async fn digest_facts(&self, day: NaiveDate) -> StoreResult<DigestFacts> {
        let yesterday = day.pred_opt().unwrap_or(day);
        let mut tx = self.db.read().await?;
        // Sums over many rows saturate rather than fail (see `Tx::sum`).
        let sql = format!(
            "SELECT {} AS total, COUNT(*) AS n FROM payments WHERE status = 'recorded' AND paid_on = $1",
            tx.sum("amount")
        );
        let collected = tx.fetch_one(&sql, args![yesterday]).await?;
        let sql = format!(
            "SELECT {} AS total, COUNT(*) AS n FROM dues WHERE status <> 'void' AND issue_date = $1",
            tx.sum("amount")
        );
        let new_dues = tx.fetch_one(&sql, args![yesterday]).await?;
        let sql = format!(
            "SELECT {} FROM customers WHERE status = 'active' AND balance > 0",
            tx.sum("balance")
        );
        let total_outstanding = Money(tx.scalar(&sql, &[]).await?);
        let sql = format!(
            "SELECT {} FROM dues d JOIN customers c ON c.id = d.customer_id
             WHERE c.status = 'active' AND d.status IN ('open', 'partial') AND d.due_date < $1",
            tx.sum("d.amount - d.paid")
        );
        let total_overdue = Money(tx.scalar(&sql, args![day]).await?);
        let mut became_overdue = Vec::new();
        let sql = format!(
            "SELECT c.name, {} AS amount FROM dues d JOIN customers c ON c.id = d.customer_id
             WHERE c.status = 'active' AND d.status IN ('open', 'partial') AND d.due_date = $1
             GROUP BY c.id, c.name ORDER BY amount DESC, c.name",
            tx.sum("d.amount - d.paid")
        );
        for row in tx.fetch_all(&sql, args![yesterday]).await? {
            became_overdue.push((row.text("name")?, row.money("amount")?));
        }
        Ok(DigestFacts {
            day: yesterday,
            collected: collected.money("total")?,
            payments: collected.i64("n")?,
            new_dues: new_dues.money("total")?,
            new_due_count: new_dues.i64("n")?,
            total_outstanding,
            total_overdue,
            became_overdue,
        })
    }

    /// Where the digest goes: the owner's email, else `fallback`.
    pub async fn owner_email(&self, fallback: Option<&str>) -> StoreResult<Option<String>> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT email FROM staff_users WHERE role = 'owner' AND disabled_at IS NULL AND email IS NOT NULL ORDER BY id LIMIT 1",
                &[],
            )
            .await?;
        Ok(match row {
            Some(r) => r.opt_text("email")?,
            None => fallback.map(str::to_string),
        })
    }

    /// Queues the digest for the run on `day`; at most one per day, and
    /// none when there is nothing to report. When the day it covers came
    /// before the installation, only what is recorded for that day (such as
    /// payments entered with an earlier date) is worth a digest.
    pub async fn queue_digest(
        &self,
        day: NaiveDate,
        recipient: &str,
        before_installation: bool,
    ) -> StoreResult<bool> {
        let facts = self.digest_facts(day).await?;
        if facts.is_empty() || (before_installation && !facts.has_activity()) {
            return Ok(false);
        }
        let message = self.letters.digest(&facts);
        let mut tx = self.db.write().await?;
        let id = outbox::enqueue(
            &mut tx,
            NewEmail {
                kind: EmailKind::Digest,
                dedupe_key: format!("digest:{day}"),
                customer_id: None,
                recipient: recipient.to_string(),
                message,
            },
        )
        .await?;
        tx.commit().await?;
        if id.is_some() {
            self.email_queued();
        }
        Ok(id.is_some())
    }

    /// Takes or renews the lease `name` for `holder`; true when held.
    pub async fn try_lease(&self, name: &str, holder: &str, seconds: i64) -> StoreResult<bool> {
        let now = chrono::Utc::now();
        let mut tx = self.db.write().await?;
        let row = tx
            .fetch_optional(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE leases.expires_at < $4 OR leases.holder = excluded.holder
                 RETURNING holder",
                args![name, holder, timestamp_text(now + chrono::Duration::seconds(seconds)), timestamp_text(now)],
            )
            .await?;
        tx.commit().await?;
        Ok(row.is_some())
    }

    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            args![name, holder],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the daily run for `day` has been done.
    pub async fn daily_run_done(&self, day: NaiveDate) -> StoreResult<bool> {
        let mut tx = self.db.read().await?;
        let done = tx
            .scalar(
                "SELECT COUNT(*) FROM scheduler_runs WHERE job = 'daily' AND day = $1",
                args![day],
            )
            .await?;
        Ok(done > 0)
    }

    /// Records `today` as the day this installation first started, unless
    /// a first start is already recorded.
    pub async fn record_first_start(&self, today: NaiveDate, holder: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "INSERT INTO scheduler_runs (job, day, holder, reminders, finished_at)
             SELECT 'installed', $1, $2, 0, $3
             WHERE NOT EXISTS (SELECT 1 FROM scheduler_runs WHERE job = 'installed')
             ON CONFLICT (job, day) DO NOTHING",
            args![today, holder, now_text()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The first day this installation existed: the day it first started,
    /// or an earlier day a daily run was recorded for. `None` before
    /// either.
    pub async fn first_day(&self) -> StoreResult<Option<NaiveDate>> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_one(
                "SELECT MIN(day) AS day FROM scheduler_runs WHERE job IN ('installed', 'daily')",
                &[],
            )
            .await?;
        Ok(row.opt_date("day")?)
    }

    pub async fn record_daily_run(
        &self,
        day: NaiveDate,
        holder: &str,
        reminders: usize,
    ) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "INSERT INTO scheduler_runs (job, day, holder, reminders, finished_at) VALUES ('daily', $1, $2, $3, $4)
             ON CONFLICT (job, day) DO NOTHING",
            args![day, holder, reminders as i64, now_text()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
