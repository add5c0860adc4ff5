//! The tamper-evident activity log. Each entry is written in the same
//! transaction as the change it records and carries the hash of the entry
//! before it. On SQLite the single writer chains each entry as it is
//! written; on PostgreSQL entries are numbered from a sequence and chained
//! after commit by one sealer at a time (`seal.rs`), so concurrent writers,
//! on one node or many, never wait on one another for the chain's head.

use super::db::{Arg, Backend, DbError, Row, Tx};
use super::{Store, StoreResult, now_text};
use crate::args;
use crate::chain::ChainKey;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One change to record.
pub struct Change<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The canonical form of one entry: its fields as a JSON array, so that
/// no two different entries serialise alike.
#[allow(clippy::too_many_arguments)]
pub fn canonical(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&str>,
    after: Option<&str>,
    prev_hash: &str,
) -> String {
    serde_json::to_string(&(
        seq,
        at,
        actor,
        action,
        entity_type,
        entity_id,
        before,
        after,
        prev_hash,
    ))
    .expect("a tuple of strings always serialises")
}

/// The unkeyed hash of one entry: SHA-256 over its canonical form. Entries
/// written before the chain key existed carry it.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&str>,
    after: Option<&str>,
    prev_hash: &str,
) -> String {
    plain_hash(&canonical(
        seq,
        at,
        actor,
        action,
        entity_type,
        entity_id,
        before,
        after,
        prev_hash,
    ))
}

pub fn plain_hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The hash a new entry gets: keyed (HMAC-SHA256, `k1:`) when there is a
/// chain key, plain SHA-256 otherwise.
pub fn chain_hash(key: Option<&ChainKey>, canonical: &str) -> String {
    match key {
        Some(key) => key.entry_hash(canonical),
        None => plain_hash(canonical),
    }
}

/// Appends an entry inside the caller's transaction.
pub async fn record(tx: &mut Tx, actor: &str, change: Change<'_>) -> Result<(), DbError> {
    record_many(tx, vec![(actor, change)]).await
}

/// Appends entries, in order, inside the caller's transaction.
///
/// On SQLite, whose single writer already serialises transactions, they
/// are chained at once: the head moves once for all of them. On PostgreSQL
/// they take their numbers from a sequence and are written unsealed, so
/// that writers never wait on one another for the head; the sealer
/// (`seal.rs`) chains them in order once they are committed.
pub async fn record_many(tx: &mut Tx, changes: Vec<(&str, Change<'_>)>) -> Result<(), DbError> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(changes.len()).expect("a batch fits in i64");
    let at = now_text();
    let mut rows = Vec::with_capacity(changes.len());
    match tx.backend() {
        Backend::Sqlite => {
            let head = tx
                .fetch_one(
                    "UPDATE activity_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash",
                    args![count],
                )
                .await?;
            let mut seq = head.i64("seq")? - count;
            let mut prev_hash = head.text("hash")?;
            for (actor, change) in changes {
                seq += 1;
                let entry = Entry::new(seq, &at, actor, change);
                let hash = chain_hash(tx.chain.as_deref(), &entry.canonical(&prev_hash));
                rows.push(entry.row(&prev_hash, &hash));
                prev_hash = hash;
            }
            insert_entries(tx, &rows).await?;
            tx.execute(
                "UPDATE activity_head SET hash = $1 WHERE id = 1",
                args![prev_hash],
            )
            .await?;
        }
        Backend::Postgres => {
            let seqs = take_numbers(tx, changes.len()).await?;
            for ((actor, change), seq) in changes.into_iter().zip(seqs) {
                rows.push(Entry::new(seq, &at, actor, change).row(UNSEALED, UNSEALED));
            }
            insert_entries(tx, &rows).await?;
        }
    }
    Ok(())
}

/// `count` entry numbers from PostgreSQL's log sequence, in order: the
/// numbers of entries written unsealed, for the sealer to chain.
pub async fn take_numbers(tx: &mut Tx, count: usize) -> Result<Vec<i64>, DbError> {
    let mut seqs = tx
        .fetch_all(
            "SELECT nextval('activity_seq') AS seq FROM generate_series(1, $1)",
            args![i64::try_from(count).expect("a batch fits in i64")],
        )
        .await?
        .iter()
        .map(|r| r.i64("seq"))
        .collect::<Result<Vec<_>, _>>()?;
    seqs.sort_unstable();
    Ok(seqs)
}

/// After entries were written with numbers of their own (an import, a
/// restore), moves PostgreSQL's numbering past the head so new entries
/// follow them. SQLite numbers from the head itself.
pub async fn move_numbers_past_head(tx: &mut Tx) -> Result<(), DbError> {
    if tx.backend() == Backend::Postgres {
        tx.execute(
            "SELECT setval('activity_seq', GREATEST(h.seq, s.last_value, 1), GREATEST(h.seq, s.last_value) > 0)
             FROM activity_head h, activity_seq s WHERE h.id = 1",
            &[],
        )
        .await?;
    }
    Ok(())
}

/// The `prev_hash` and `hash` of an entry not sealed yet.
pub const UNSEALED: &str = "";

/// One entry's fields, before it is linked to the one before it.
pub struct Entry<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Entry<'a> {
    fn new(seq: i64, at: &'a str, actor: &'a str, change: Change<'a>) -> Self {
        Entry {
            seq,
            at,
            actor,
            action: change.action,
            entity_type: change.entity_type,
            entity_id: change.entity_id,
            before: change.before.map(|v| v.to_string()),
            after: change.after.map(|v| v.to_string()),
        }
    }

    /// Its canonical form, linked to `prev_hash`.
    pub fn canonical(&self, prev_hash: &str) -> String {
        canonical(
            self.seq,
            self.at,
            self.actor,
            self.action,
            self.entity_type,
            &self.entity_id,
            self.before.as_deref(),
            self.after.as_deref(),
            prev_hash,
        )
    }

    /// Its row, in the order of [`ENTRY_COLUMNS`].
    pub fn row(&self, prev_hash: &str, hash: &str) -> Vec<Arg> {
        args![
            self.seq,
            self.at,
            self.actor,
            self.action,
            self.entity_type,
            self.entity_id.clone(),
            self.before.clone(),
            self.after.clone(),
            prev_hash,
            hash
        ]
        .to_vec()
    }
}

pub const ENTRY_COLUMNS: [&str; 10] = [
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before_state",
    "after_state",
    "prev_hash",
    "hash",
];

pub async fn insert_entries(tx: &mut Tx, rows: &[Vec<Arg>]) -> Result<(), DbError> {
    tx.insert_many("activity_log", &ENTRY_COLUMNS, rows, "")
        .await?;
    Ok(())
}

/// An entry as listed by the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = Object)]
    pub before: Option<Value>,
    #[schema(value_type = Object)]
    pub after: Option<Value>,
    pub hash: String,
}

fn entry_from_row(row: &Row) -> Result<ActivityEntry, DbError> {
    let json = |col: &str| -> Result<Option<Value>, DbError> {
        Ok(row
            .opt_text(col)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    };
    Ok(ActivityEntry {
        seq: row.i64("seq")?,
        at: row.text("at")?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        entity_type: row.text("entity_type")?,
        entity_id: row.text("entity_id")?,
        before: json("before_state")?,
        after: json("after_state")?,
        hash: row.text("hash")?,
    })
}

/// Filters for listing the log; timestamps compare as RFC 3339 text.
#[derive(Debug, Default, Clone)]
pub struct ActivityFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Inclusive lower bound, RFC 3339 UTC text.
    pub from: Option<String>,
    /// Exclusive upper bound, RFC 3339 UTC text.
    pub to: Option<String>,
}

impl Store {
    /// Newest first.
    pub async fn list_activity(
        &self,
        filter: &ActivityFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<ActivityEntry>, i64)> {
        // Entries are listed chained: what waits for the sealer
        // (PostgreSQL; a few milliseconds) is sealed first. A number in its
        // gap grace is not waited out for longer than a moment.
        self.seal_all(std::time::Duration::from_millis(500)).await?;
        let mut where_ = super::db::Filter::default();
        where_.add("entity_type =", filter.entity_type.clone());
        where_.add("entity_id =", filter.entity_id.clone());
        where_.add("actor =", filter.actor.clone());
        where_.add("action =", filter.action.clone());
        where_.add("at >=", filter.from.clone());
        where_.add("at <", filter.to.clone());
        let mut tx = self.db.read().await?;
        let (rows, total) = where_
            .page(&mut tx, "activity_log", "seq DESC", limit, offset)
            .await?;
        let items = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
        Ok((items, total))
    }
}

impl Store {
    /// The head of the chain: the newest entry's number and hash.
    pub async fn activity_head(&self) -> StoreResult<(i64, String)> {
        let mut tx = self.db.read().await?;
        let head = tx
            .fetch_one("SELECT seq, hash FROM activity_head WHERE id = 1", &[])
            .await?;
        Ok((head.i64("seq")?, head.text("hash")?))
    }

    /// How many entries carry a keyed hash.
    pub async fn keyed_entries(&self) -> StoreResult<i64> {
        let mut tx = self.db.read().await?;
        Ok(tx
            .scalar(
                "SELECT COUNT(*) FROM activity_log WHERE hash LIKE 'k1:%'",
                &[],
            )
            .await?)
    }

    /// Writes a checkpoint of the head to the anchors file beside the chain
    /// key, unless the head is still at `unless_at`. Returns the sequence
    /// number anchored, or `None` when there is no key or nothing new.
    pub async fn write_anchor(&self, unless_at: Option<i64>) -> anyhow::Result<Option<i64>> {
        let Some(key) = self.db.chain_key() else {
            return Ok(None);
        };
        let (seq, hash) = self.activity_head().await?;
        if unless_at == Some(seq) {
            return Ok(None);
        }
        key.append_anchor(&now_text(), seq, &hash).map_err(|e| {
            anyhow::anyhow!(
                "cannot write to the anchors file {}: {e}",
                key.anchors_path().display()
            )
        })?;
        Ok(Some(seq))
    }

    /// A MAC under `key` over every entry of the log as it stands, for
    /// adopting a log brought in whole: (the last entry, the MAC).
    pub async fn log_mac(&self, key: &ChainKey) -> StoreResult<(i64, String)> {
        let mut tx = self.db.read().await?;
        let mut mac = key.running_mac();
        let mut last = 0;
        loop {
            let rows = tx
                .fetch_all(
                    "SELECT * FROM activity_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
                    args![last],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                last = r.i64("seq")?;
                mac.update(stored_form(r)?.as_bytes());
            }
        }
        Ok((last, mac.finish()))
    }
}

/// An entry as stored, every column, in one canonical string: what the MAC
/// over an adopted log covers.
pub fn stored_form(r: &Row) -> Result<String, DbError> {
    Ok(serde_json::to_string(&(
        r.i64("seq")?,
        r.text("at")?,
        r.text("actor")?,
        r.text("action")?,
        r.text("entity_type")?,
        r.text("entity_id")?,
        r.opt_text("before_state")?,
        r.opt_text("after_state")?,
        r.text("prev_hash")?,
        r.text("hash")?,
    ))
    .expect("a tuple of strings always serialises"))
}
