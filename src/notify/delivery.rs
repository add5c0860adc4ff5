//! Delivering the outbox. One pooled SMTP transport per process; messages
//! are claimed in batches, sent over several pooled connections at once,
//! and marked sent together, retried with exponential
//! backoff after a transient failure, or marked failed with the server's
//! answer after a permanent one. Without an SMTP server, messages stay in
//! the outbox and are written as `.eml` files for a person to see.

use crate::config::{Config, RetryPolicy, SmtpSecurity};
use crate::store::Store;
use crate::store::outbox::Email;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How long a claimed message is reserved for the node sending it.
const CLAIM_SECONDS: i64 = 120;
/// Messages claimed at once: one write claims them, one marks them sent.
const BATCH: i64 = 64;
/// SMTP connections kept open, and messages sent at once over them.
const CONNECTIONS: u32 = 8;

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    outbox_dir: PathBuf,
    retry: RetryPolicy,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let address = config
            .email_from
            .clone()
            .unwrap_or_else(|| "duetrack@localhost".to_string());
        let from: Mailbox = match address.parse::<Mailbox>() {
            Ok(mut m) => {
                if m.name.is_none() {
                    m.name = Some(config.shop_name.clone());
                }
                m
            }
            Err(e) => {
                anyhow::bail!("EMAIL_FROM: '{address}' is not an address lettre can send from: {e}")
            }
        };
        let transport = match &config.smtp {
            None => None,
            Some(smtp) => {
                let tls = match smtp.security {
                    SmtpSecurity::None => Tls::None,
                    SmtpSecurity::StartTls => Tls::Required(TlsParameters::new(smtp.host.clone())?),
                    SmtpSecurity::Tls => Tls::Wrapper(TlsParameters::new(smtp.host.clone())?),
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                        .port(smtp.port)
                        .tls(tls)
                        .timeout(Some(Duration::from_secs(30)))
                        .pool_config(
                            PoolConfig::new()
                                .max_size(CONNECTIONS)
                                .idle_timeout(Duration::from_secs(60)),
                        );
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Some(builder.build())
            }
        };
        Ok(Self {
            transport,
            from,
            outbox_dir: config.data_dir.join("outbox"),
            retry: config.email_retry,
        })
    }

    pub fn sends(&self) -> bool {
        self.transport.is_some()
    }

    pub fn outbox_dir(&self) -> &std::path::Path {
        &self.outbox_dir
    }

    fn build(&self, email: &Email) -> Result<Message, String> {
        let to: Mailbox = email.recipient.parse().map_err(|e| {
            format!(
                "the recipient '{}' is not a valid address: {e}",
                email.recipient
            )
        })?;
        let domain = self.from.email.domain().to_string();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!(
                "<duetrack.{}.{}@{domain}>",
                email.id,
                short_hash(&email.dedupe_key)
            )))
            .multipart(MultiPart::alternative_plain_html(
                email.body_text.clone(),
                email.body_html.clone(),
            ))
            .map_err(|e| format!("the message could not be built: {e}"))
    }

    /// Sends (or writes) one batch; returns how many messages it handled.
    pub async fn deliver_batch(&self, store: &Store) -> anyhow::Result<usize> {
        match &self.transport {
            Some(transport) => {
                // A cheap read first: claiming is a write.
                if !store.emails_ready().await? {
                    return Ok(0);
                }
                let batch = store.claim_emails(BATCH, CLAIM_SECONDS).await?;
                // Sent over the pool's connections at once; each is marked
                // as soon as it is sent.
                let mut sending = tokio::task::JoinSet::new();
                let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTIONS as usize));
                let mut sent = Vec::with_capacity(batch.len());
                let mut problems = Vec::new();
                for email in &batch {
                    match self.build(email) {
                        Ok(message) => {
                            let transport = transport.clone();
                            let gate = gate.clone();
                            let id = email.id;
                            sending.spawn(async move {
                                let _turn = gate.acquire_owned().await;
                                (id, transport.send(message).await.map(|_| ()))
                            });
                        }
                        Err(problem) => problems.push((email, problem)),
                    }
                }
                let mut failed = Vec::new();
                while let Some(done) = sending.join_next().await {
                    let (id, result) = done?;
                    match result {
                        // Marked as soon as it is sent, not after the
                        // slowest of the batch: a row left `sending` past
                        // its claim would be sent again.
                        Ok(()) => {
                            store.mark_emails_sent(&[id]).await?;
                            metrics::counter!(crate::telemetry::EMAILS_SENT).increment(1);
                            tracing::debug!(email = id, "email sent");
                            sent.push(id);
                        }
                        Err(e) => failed.push((id, e)),
                    }
                }
                if !sent.is_empty() {
                    tracing::info!(count = sent.len(), "emails sent");
                }
                for (email, problem) in problems {
                    tracing::warn!(email = email.id, %problem, "email cannot be sent");
                    store.mark_email_failed(email.id, &problem).await?;
                }
                for (id, error) in failed {
                    if let Some(email) = batch.iter().find(|e| e.id == id) {
                        self.after_failure(store, email, error).await?;
                    }
                }
                Ok(batch.len())
            }
            None => {
                let batch = store.unwritten_emails(BATCH).await?;
                for email in &batch {
                    self.write_eml(store, email).await?;
                }
                Ok(batch.len())
            }
        }
    }

    /// Records why `email` was not sent: failed for good, or to be retried.
    async fn after_failure(
        &self,
        store: &Store,
        email: &Email,
        e: lettre::transport::smtp::Error,
    ) -> anyhow::Result<()> {
        if e.is_permanent() {
            tracing::warn!(email = email.id, error = %e, "email refused by the SMTP server");
            store
                .mark_email_failed(email.id, &format!("refused by the SMTP server: {e}"))
                .await?;
        } else if email.attempts >= self.retry.max_attempts {
            tracing::warn!(email = email.id, error = %e, "email failed for the last time");
            store
                .mark_email_failed(
                    email.id,
                    &format!("gave up after {} attempts: {e}", email.attempts),
                )
                .await?;
        } else {
            let delay = self.retry.delay_after(email.attempts);
            tracing::info!(email = email.id, error = %e, retry_in_seconds = delay, "email not sent yet; will retry");
            let at = chrono::Utc::now() + chrono::Duration::seconds(delay as i64);
            store.mark_email_retry(email.id, &e.to_string(), at).await?;
        }
        Ok(())
    }

    async fn write_eml(&self, store: &Store, email: &Email) -> anyhow::Result<()> {
        let bytes = match self.build(email) {
            Ok(m) => m.formatted(),
            // Still keep a copy a person can read.
            Err(problem) => Message::builder()
                .from(self.from.clone())
                .to(self.from.clone())
                .subject(format!("[undeliverable: {problem}] {}", email.subject))
                .header(ContentType::TEXT_PLAIN)
                .body(email.body_text.clone())
                .map(|m| m.formatted())
                .unwrap_or_else(|_| email.body_text.clone().into_bytes()),
        };
        tokio::fs::create_dir_all(&self.outbox_dir).await?;
        let path = self
            .outbox_dir
            .join(format!("{:06}-{}.eml", email.id, email.kind));
        let partial = path.with_extension("eml.part");
        tokio::fs::write(&partial, &bytes).await?;
        tokio::fs::rename(&partial, &path).await?;
        store
            .mark_email_written(email.id, &path.to_string_lossy())
            .await?;
        Ok(())
    }

    /// Delivers everything that is ready now (used by `duetrack remind`).
    pub async fn deliver_ready(&self, store: &Store) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let n = self.deliver_batch(store).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// The delivery worker: runs until the process stops.
    pub async fn run(self, store: Store) {
        if self.transport.is_none() {
            tracing::warn!(
                directory = %self.outbox_dir.display(),
                "no SMTP server is configured (SMTP_HOST): emails stay in the outbox and are written as .eml files"
            );
        }
        let mut queued = store.email_waiter();
        loop {
            let worked = match self.deliver_batch(&store).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "email delivery failed; will try again");
                    0
                }
            };
            if worked == 0 {
                // Sleep until something is queued, or poll again in a second:
                // retries fall due by the clock and other nodes queue too.
                let _ = tokio::time::timeout(Duration::from_secs(1), queued.changed()).await;
            }
        }
    }
}

fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}
