//! The sealer of the activity log on PostgreSQL. Writers number their
//! entries from a sequence and write them unsealed; the sealer links them
//! into the hash chain afterwards, in order of number, and moves the head.
//! Only one sealer works at a time: a pass starts by locking the head row
//! and skips when another node holds it, so the head is the sealers' lease
//! and no writer ever waits for it.
//!
//! A number can go missing for good: a transaction that took it failed
//! and rolled back. The sealer waits [`GAP_GRACE`] for the entry in case
//! its transaction is still committing, then seals an `activity.gap` entry
//! in its place, so `verify` names every gap and nothing can later appear
//! under that number (the late transaction would fail on it and be
//! answered with an error, recording nothing).

use super::activity::{Entry, UNSEALED, chain_hash, insert_entries};
use super::db::{Arg, Backend};
use super::{Store, StoreResult, now_text};
use crate::args;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a missing number may stay missing before it is sealed as a gap.
pub const GAP_GRACE: Duration = Duration::from_secs(3);

/// Entries sealed in one pass, at most.
const PASS: i64 = 2000;

/// What a sealer remembers between passes: when it first saw each number
/// missing.
#[derive(Default)]
pub struct Sealer {
    missing_since: HashMap<i64, Instant>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub entries: usize,
    pub gaps: usize,
}

impl Store {
    /// Whether entries wait to be sealed (PostgreSQL; never on SQLite).
    pub async fn unsealed_entries(&self) -> StoreResult<bool> {
        if self.db.backend() == Backend::Sqlite {
            return Ok(false);
        }
        let mut tx = self.db.read().await?;
        Ok(tx
            .scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM activity_log WHERE hash = '' LIMIT 1) AS u",
                &[],
            )
            .await?
            > 0)
    }

    /// One sealing pass: chains the entries after the head, in order, up to
    /// the first number still missing within its grace. Does nothing when
    /// another sealer is at work.
    pub async fn seal_pass(&self, sealer: &mut Sealer) -> StoreResult<Sealed> {
        let mut done = Sealed::default();
        if !self.unsealed_entries().await? {
            return Ok(done);
        }
        let mut tx = self.db.write().await?;
        let Some(head) = tx
            .fetch_optional(
                "SELECT seq, hash FROM activity_head WHERE id = 1 FOR UPDATE SKIP LOCKED",
                &[],
            )
            .await?
        else {
            return Ok(done);
        };
        let (mut last, mut prev) = (head.i64("seq")?, head.text("hash")?);
        let rows = tx
            .fetch_all(
                "SELECT * FROM activity_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                args![last, PASS],
            )
            .await?;
        let now = Instant::now();
        let at = now_text();
        let mut links: Vec<Arg> = Vec::new();
        let mut gaps: Vec<Vec<Arg>> = Vec::new();
        'rows: for r in &rows {
            let seq = r.i64("seq")?;
            while last + 1 < seq {
                let missing = last + 1;
                let since = *sealer.missing_since.entry(missing).or_insert(now);
                if now.duration_since(since) < GAP_GRACE {
                    break 'rows;
                }
                let gap = Entry {
                    seq: missing,
                    at: &at,
                    actor: "system",
                    action: "activity.gap",
                    entity_type: "activity",
                    entity_id: missing.to_string(),
                    before: None,
                    after: Some(
                        json!({"reason": "no change was committed under this number (its transaction failed)"})
                            .to_string(),
                    ),
                };
                let hash = chain_hash(tx.chain.as_deref(), &gap.canonical(&prev));
                gaps.push(gap.row(&prev, &hash));
                (last, prev) = (missing, hash);
            }
            if r.text("hash")? != UNSEALED {
                // Sealed already, yet after the head: only a hand on the
                // database does this. Leave it for `verify` to name.
                tracing::error!(
                    seq,
                    "an activity entry after the head is sealed already; sealing stops here"
                );
                break;
            }
            let (at, actor, action, entity_type) = (
                r.text("at")?,
                r.text("actor")?,
                r.text("action")?,
                r.text("entity_type")?,
            );
            let entry = Entry {
                seq,
                at: &at,
                actor: &actor,
                action: &action,
                entity_type: &entity_type,
                entity_id: r.text("entity_id")?,
                before: r.opt_text("before_state")?,
                after: r.opt_text("after_state")?,
            };
            let hash = chain_hash(tx.chain.as_deref(), &entry.canonical(&prev));
            links.extend([
                Arg::from(seq),
                Arg::from(prev.clone()),
                Arg::from(hash.clone()),
            ]);
            (last, prev) = (seq, hash);
        }
        done.entries = links.len() / 3;
        done.gaps = gaps.len();
        if done.entries == 0 && done.gaps == 0 {
            return Ok(done);
        }
        insert_entries(&mut tx, &gaps).await?;
        if !links.is_empty() {
            let sql = format!(
                "WITH v (seq, prev_hash, hash) AS (VALUES {})
                 UPDATE activity_log SET prev_hash = v.prev_hash, hash = v.hash FROM v WHERE activity_log.seq = v.seq",
                tx.value_rows(1, links.len() / 3, 3)
            );
            tx.execute(&sql, &links).await?;
        }
        tx.execute(
            "UPDATE activity_head SET seq = $1, hash = $2 WHERE id = 1",
            args![last, prev],
        )
        .await?;
        tx.commit().await?;
        sealer.missing_since.retain(|seq, _| *seq > last);
        Ok(done)
    }

    /// Seals everything written so far, waiting out the grace of any
    /// missing number: what `verify`, `export` and a stopping server do
    /// before they read or leave the log. Gives up when nothing could be
    /// sealed for `patience`.
    pub async fn seal_all(&self, patience: Duration) -> StoreResult<()> {
        let mut sealer = Sealer::default();
        let mut progress = Instant::now();
        while self.unsealed_entries().await? && progress.elapsed() < patience {
            let done = self.seal_pass(&mut sealer).await?;
            if done.entries > 0 || done.gaps > 0 {
                progress = Instant::now();
            } else {
                // Another sealer is at work, or a number is in its grace.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Seals what this process wrote (waiting out the grace of a missing
    /// number, a few seconds at most) and closes the database.
    pub async fn close(&self) {
        if let Err(e) = self.seal_all(GAP_GRACE + Duration::from_secs(2)).await {
            tracing::warn!(error = %e, "could not seal the activity log before closing");
        }
        self.db.close().await;
    }
}

/// The sealer of a serving node (PostgreSQL): seals soon after each commit,
/// and idles with one cheap indexed look every few milliseconds.
pub async fn sealing(store: Store) {
    let mut sealer = Sealer::default();
    loop {
        let pause = match store.seal_pass(&mut sealer).await {
            Ok(done) if done.entries > 0 || done.gaps > 0 => Duration::from_millis(2),
            Ok(_) => Duration::from_millis(20),
            Err(e) => {
                tracing::warn!(error = %e, "sealing the activity log failed; trying again");
                Duration::from_secs(1)
            }
        };
        tokio::time::sleep(pause).await;
    }
}
