//! The email outbox. A message is a row written in the same transaction as
//! the event that causes it, with a key that makes a second copy of the
//! same event impossible. Delivery claims rows for a while, so several
//! nodes never send one message twice (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has a single writer).

use super::db::{Arg, Backend, DbError, Row, Tx};
use super::letters::Letter;
use super::{Store, StoreResult, now_text, timestamp_text};
use crate::args;
use crate::domain::customers::CustomerStatus;
use crate::domain::notifications::{EmailKind, EmailStatus};
use chrono::NaiveDate;
use serde::Serialize;

/// A message to queue.
pub struct NewEmail {
    pub kind: EmailKind,
    pub dedupe_key: String,
    pub customer_id: Option<i64>,
    pub recipient: String,
    pub message: Letter,
}

/// Queues a message inside the caller's transaction. Returns its id, or
/// `None` when a message with the same key already exists.
pub async fn enqueue(tx: &mut Tx, email: NewEmail) -> Result<Option<i64>, DbError> {
    let now = now_text();
    let row = tx
        .fetch_optional(
            "INSERT INTO emails (dedupe_key, kind, customer_id, recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8, $8)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            args![
                email.dedupe_key,
                email.kind.as_str(),
                email.customer_id,
                email.recipient,
                email.message.subject,
                email.message.text,
                email.message.html,
                now
            ],
        )
        .await?;
    if row.is_some() {
        tx.queued_email = true;
    }
    row.map(|r| r.i64("id")).transpose()
}

/// Queues many messages inside the caller's transaction with multi-row
/// inserts. Returns the id of each message written, by its dedupe key;
/// one whose key already exists is left out.
pub async fn enqueue_many(
    tx: &mut Tx,
    emails: Vec<NewEmail>,
) -> Result<std::collections::HashMap<String, i64>, DbError> {
    let now = now_text();
    let rows: Vec<Vec<Arg>> = emails
        .into_iter()
        .map(|e| {
            vec![
                Arg::from(e.dedupe_key),
                Arg::from(e.kind.as_str()),
                Arg::from(e.customer_id),
                Arg::from(e.recipient),
                Arg::from(e.message.subject),
                Arg::from(e.message.text),
                Arg::from(e.message.html),
                Arg::from("queued"),
                Arg::from(0_i64),
                Arg::from(now.clone()),
                Arg::from(now.clone()),
                Arg::from(now.clone()),
            ]
        })
        .collect();
    let written = tx
        .insert_many_returning(
            "emails",
            &[
                "dedupe_key",
                "kind",
                "customer_id",
                "recipient",
                "subject",
                "body_text",
                "body_html",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ],
            &rows,
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        )
        .await?;
    if !written.is_empty() {
        tx.queued_email = true;
    }
    written
        .iter()
        .map(|r| Ok((r.text("dedupe_key")?, r.i64("id")?)))
        .collect()
}

/// A message as the outbox holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Email {
    pub id: i64,
    #[schema(value_type = String)]
    pub kind: EmailKind,
    pub customer_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    /// queued, sending, sent or failed
    #[schema(value_type = String)]
    pub status: EmailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: Option<String>,
    /// Where the message was written as an `.eml` file, when no SMTP server is configured.
    pub eml_path: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: String,
    #[serde(skip)]
    pub dedupe_key: String,
}

impl Email {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        let status = row.parsed("status", EmailStatus::parse)?;
        Ok(Email {
            id: row.i64("id")?,
            kind: row.parsed("kind", EmailKind::parse)?,
            customer_id: row.opt_i64("customer_id")?,
            recipient: row.text("recipient")?,
            subject: row.text("subject")?,
            next_attempt_at: if status == EmailStatus::Queued {
                Some(row.text("next_attempt_at")?)
            } else {
                None
            },
            status,
            attempts: row.i64("attempts")?,
            last_error: row.opt_text("last_error")?,
            eml_path: row.opt_text("eml_path")?,
            created_at: row.text("created_at")?,
            sent_at: row.opt_text("sent_at")?,
            body_text: row.text("body_text")?,
            body_html: row.text("body_html")?,
            dedupe_key: row.text("dedupe_key")?,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct EmailFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub customer_id: Option<i64>,
}

impl Store {
    /// Takes up to `limit` messages that are ready to send, for `lease_seconds`.
    /// A message whose claim ran out (its node died) is ready again.
    pub async fn claim_emails(&self, limit: i64, lease_seconds: i64) -> StoreResult<Vec<Email>> {
        let now = chrono::Utc::now();
        let mut tx = self.db.write().await?;
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = tx
            .fetch_all(
                &format!(
                    "UPDATE emails SET status = 'sending', attempts = attempts + 1, claimed_until = $1, updated_at = $2
                     WHERE id IN (SELECT id FROM emails
                                  WHERE (status = 'queued' AND next_attempt_at <= $2) OR (status = 'sending' AND claimed_until < $2)
                                  ORDER BY id LIMIT $3{lock})
                     RETURNING *"
                ),
                args![timestamp_text(now + chrono::Duration::seconds(lease_seconds)), timestamp_text(now), limit],
            )
            .await?;
        tx.commit().await?;
        let mut emails = rows
            .iter()
            .map(Email::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        emails.sort_by_key(|e| e.id);
        Ok(emails)
    }

    /// How many messages wait (queued, or being sent), and how many
    /// seconds the oldest of them has waited since it was queued.
    pub async fn outbox_depth(&self) -> StoreResult<(i64, f64)> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_one(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM emails WHERE status IN ('queued', 'sending')",
                &[],
            )
            .await?;
        let age = row
            .opt_text("oldest")?
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|at| {
                (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                    .num_milliseconds()
                    .max(0) as f64
                    / 1000.0
            })
            .unwrap_or(0.0);
        Ok((row.i64("n")?, age))
    }

    /// Whether anything waits to be sent now (a cheap read before claiming).
    pub async fn emails_ready(&self) -> StoreResult<bool> {
        let now = now_text();
        let mut tx = self.db.read().await?;
        let n = tx
            .scalar(
                "SELECT COUNT(*) FROM (SELECT id FROM emails WHERE (status = 'queued' AND next_attempt_at <= $1)
                 OR (status = 'sending' AND claimed_until < $1) LIMIT 1) ready",
                args![now],
            )
            .await?;
        Ok(n > 0)
    }

    pub async fn mark_email_sent(&self, id: i64) -> StoreResult<()> {
        self.mark_emails_sent(&[id]).await
    }

    /// Marks messages sent, all in one transaction.
    pub async fn mark_emails_sent(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = now_text();
        let mut tx = self.db.write().await?;
        for chunk in ids.chunks(500) {
            let mut args = vec![Arg::from(now.clone())];
            args.extend(chunk.iter().map(|id| Arg::from(*id)));
            let list = super::db::placeholders(2, chunk.len());
            tx.execute(
                &format!(
                    "UPDATE emails SET status = 'sent', sent_at = $1, updated_at = $1, claimed_until = NULL, last_error = NULL WHERE id IN ({list})"
                ),
                &args,
            )
            .await?;
            // The one-time link is in the recipient's hands now; the
            // database need not keep a usable copy.
            tx.execute(
                &format!(
                    "UPDATE emails SET body_text = '(removed after sending: it held a one-time link)', body_html = '' WHERE id IN ({}) AND kind IN ({})",
                    super::db::placeholders(1, chunk.len()),
                    link_kinds()
                ),
                &args[1..],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A transient failure: try again at `retry_at`.
    pub async fn mark_email_retry(
        &self,
        id: i64,
        error: &str,
        retry_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "UPDATE emails SET status = 'queued', next_attempt_at = $1, last_error = $2, claimed_until = NULL, updated_at = $3 WHERE id = $4",
            args![timestamp_text(retry_at), error, now_text(), id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A permanent failure, or the last attempt failed.
    pub async fn mark_email_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "UPDATE emails SET status = 'failed', last_error = $1, claimed_until = NULL, updated_at = $2 WHERE id = $3",
            args![error, now_text(), id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queued messages not yet written as `.eml` files (no SMTP configured).
    pub async fn unwritten_emails(&self, limit: i64) -> StoreResult<Vec<Email>> {
        let mut tx = self.db.read().await?;
        let rows = tx
            .fetch_all(
                "SELECT * FROM emails WHERE eml_path IS NULL AND status = 'queued' ORDER BY id LIMIT $1",
                args![limit],
            )
            .await?;
        Ok(rows.iter().map(Email::from_row).collect::<Result<_, _>>()?)
    }

    /// Records where the `.eml` copy of a message is. A message carrying
    /// a one-time link keeps that link only in the file: its body is
    /// erased here, and it ends as failed, since the text an SMTP server
    /// set later would send is gone (a new invitation or reset link can
    /// be sent then).
    pub async fn mark_email_written(&self, id: i64, path: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        let now = now_text();
        tx.execute(
            "UPDATE emails SET eml_path = $1, updated_at = $2 WHERE id = $3",
            args![path, now.clone(), id],
        )
        .await?;
        tx.execute(
            &format!(
                "UPDATE emails SET status = 'failed', body_text = '(removed: it held a one-time link, which is only in the .eml file)', body_html = '',
                 last_error = $1 WHERE id = $2 AND kind IN ({})",
                link_kinds()
            ),
            args![
                format!("not sent, as no SMTP server is set; the one-time link is only in {path}"),
                id
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The email log, newest first.
    pub async fn list_emails(
        &self,
        filter: &EmailFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Email>, i64)> {
        let mut where_ = super::db::Filter::default();
        where_.add("status =", filter.status.clone());
        where_.add("kind =", filter.kind.clone());
        where_.add("customer_id =", filter.customer_id);
        let mut tx = self.db.read().await?;
        let (rows, total) = where_
            .page(&mut tx, "emails", "id DESC", limit, offset)
            .await?;
        Ok((
            rows.iter().map(Email::from_row).collect::<Result<_, _>>()?,
            total,
        ))
    }
}

/// Who a message from staff goes to.
#[derive(Debug, Clone)]
pub enum Audience {
    Customers(Vec<i64>),
    All,
    WithBalance,
    Overdue,
}

/// What happened to a message from staff.
#[derive(Debug, Default)]
pub struct ManualOutcome {
    pub queued: usize,
    /// Customers left out, with why (no email address, deleted).
    pub skipped: Vec<(i64, &'static str)>,
}

impl Store {
    /// Queues one message per customer of the audience, all in one transaction.
    pub async fn queue_manual(
        &self,
        actor: &str,
        audience: &Audience,
        subject: &str,
        body: &str,
        today: NaiveDate,
    ) -> StoreResult<ManualOutcome> {
        let mut tx = self.db.write().await?;
        let rows = match audience {
            Audience::Customers(ids) => {
                let values: Vec<Arg> = ids.iter().map(|id| Arg::from(*id)).collect();
                let rows = tx
                    .fetch_all(
                        &format!(
                            "SELECT id, name, email, status FROM customers WHERE id IN ({}) ORDER BY id",
                            super::db::placeholders(1, ids.len())
                        ),
                        &values,
                    )
                    .await?;
                let found: Vec<i64> = rows.iter().map(|r| r.i64("id")).collect::<Result<_, _>>()?;
                let missing: Vec<String> = ids.iter().filter(|id| !found.contains(id)).map(|id| id.to_string()).collect();
                if !missing.is_empty() {
                    return Err(super::StoreError::rejected(
                        "unknown_customer",
                        Some("to"),
                        format!("no customer has the id {}", missing.join(", ")),
                    ));
                }
                rows
            }
            Audience::All => {
                tx.fetch_all("SELECT id, name, email, status FROM customers WHERE status = 'active' ORDER BY id", &[])
                    .await?
            }
            Audience::WithBalance => {
                tx.fetch_all(
                    "SELECT id, name, email, status FROM customers WHERE status = 'active' AND balance > 0 ORDER BY id",
                    &[],
                )
                .await?
            }
            Audience::Overdue => {
                tx.fetch_all(
                    "SELECT id, name, email, status FROM customers WHERE status = 'active' AND next_due_date < $1 ORDER BY id",
                    args![today],
                )
                .await?
            }
        };
        let batch = crate::domain::access::new_token();
        let mut outcome = ManualOutcome::default();
        for row in rows {
            let id = row.i64("id")?;
            if row.parsed("status", CustomerStatus::parse)? != CustomerStatus::Active {
                outcome.skipped.push((id, "deleted"));
                continue;
            }
            let Some(email) = row.opt_text("email")? else {
                outcome.skipped.push((id, "no email address"));
                continue;
            };
            let message = self.letters.manual(&row.text("name")?, subject, body);
            enqueue(
                &mut tx,
                NewEmail {
                    kind: EmailKind::Manual,
                    dedupe_key: format!("manual:{}:{id}", &batch[..16]),
                    customer_id: Some(id),
                    recipient: email,
                    message,
                },
            )
            .await?;
            outcome.queued += 1;
        }
        super::activity::record(
            &mut tx,
            actor,
            super::activity::Change {
                action: "notification.queued",
                entity_type: "notification",
                entity_id: batch[..16].to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "subject": subject, "audience": format!("{audience:?}"), "queued": outcome.queued,
                    "skipped": outcome.skipped.len(),
                })),
            },
        )
        .await?;
        tx.commit().await?;
        if outcome.queued > 0 {
            self.email_queued();
        }
        Ok(outcome)
    }
}

/// The kinds of message that carry a one-time link, as an SQL list.
fn link_kinds() -> String {
    EmailKind::ALL
        .into_iter()
        .filter(|k| k.carries_one_time_link())
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
