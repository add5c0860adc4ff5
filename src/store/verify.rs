//! `duetrack verify`: re-derives what the store keeps and reports every
//! place where it disagrees — balances against the ledger, allocations
//! against entries, the activity log's hash chain (keyed with the chain key
//! kept outside the database) and the anchors written beside the key, and
//! the ledger's rows against the log's account of them (see `replay`).

use super::activity::{canonical, plain_hash, stored_form};
use super::db::Tx;
use super::replay;
use super::{Store, StoreResult};
use crate::args;
use crate::chain::{Anchor, is_keyed};
use crate::domain::ledger::{DueStatus, PaymentStatus};
use crate::domain::money::{Currency, Money};
use std::collections::BTreeMap;

/// What a verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub customers: i64,
    pub dues: i64,
    pub payments: i64,
    pub activity_entries: i64,
    /// Signed checkpoints found in the anchors file.
    pub anchors: i64,
    pub problems: Vec<String>,
    /// What could not be checked, and why; not problems.
    pub notes: Vec<String>,
    /// The ledger's entries, gathered for the replay.
    events: Vec<replay::Event>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Amounts in the problems found are written in `currency`.
    pub async fn verify(&self, currency: Currency) -> StoreResult<Report> {
        // Entries still unsealed are sealed first, so the whole log is checked.
        self.seal_all(super::seal::GAP_GRACE + std::time::Duration::from_secs(2))
            .await?;
        let money = |m: i64| currency.format(Money(m));
        let mut report = Report::default();
        let mut tx = self.db.read().await?;

        // Balances and totals kept on each customer row against the ledger.
        let rows = tx
            .fetch_all(
                "SELECT c.id, c.name, c.balance, c.total_dues, c.total_paid, c.next_due_date,
                    CAST(COALESCE((SELECT SUM(amount) FROM dues d WHERE d.customer_id = c.id AND d.status <> 'void'), 0) AS BIGINT) AS ledger_dues,
                    CAST(COALESCE((SELECT SUM(amount) FROM payments p WHERE p.customer_id = c.id AND p.status = 'recorded'), 0) AS BIGINT) AS ledger_paid,
                    (SELECT MIN(due_date) FROM dues d WHERE d.customer_id = c.id AND d.status IN ('open', 'partial')) AS ledger_next_due
                 FROM customers c ORDER BY c.id",
                &[],
            )
            .await?;
        report.customers = rows.len() as i64;
        for r in rows {
            let (id, name) = (r.i64("id")?, r.text("name")?);
            let (balance, dues, paid) = (
                r.i64("balance")?,
                r.i64("ledger_dues")?,
                r.i64("ledger_paid")?,
            );
            if balance != dues - paid {
                report.problems.push(format!(
                    "customer {id} ({name}): balance is {} but the ledger says {} ({} due − {} paid)",
                    money(balance),
                    money(dues - paid),
                    money(dues),
                    money(paid)
                ));
            }
            if r.i64("total_dues")? != dues || r.i64("total_paid")? != paid {
                report.problems.push(format!(
                    "customer {id} ({name}): totals {} due / {} paid disagree with the ledger's {} / {}",
                    money(r.i64("total_dues")?),
                    money(r.i64("total_paid")?),
                    money(dues),
                    money(paid)
                ));
            }
            if r.opt_text("next_due_date")? != r.opt_text("ledger_next_due")? {
                report.problems.push(format!(
                    "customer {id} ({name}): next due date {:?} should be {:?}",
                    r.opt_text("next_due_date")?,
                    r.opt_text("ledger_next_due")?
                ));
            }
        }

        // Each due's paid amount and status against its allocations.
        let rows = tx
            .fetch_all(
                "SELECT d.id, d.amount, d.paid, d.status,
                    CAST(COALESCE((SELECT SUM(a.amount) FROM allocations a WHERE a.due_id = d.id), 0) AS BIGINT) AS allocated
                 FROM dues d ORDER BY d.id",
                &[],
            )
            .await?;
        report.dues = rows.len() as i64;
        for r in rows {
            let (id, amount, paid, allocated) = (
                r.i64("id")?,
                r.i64("amount")?,
                r.i64("paid")?,
                r.i64("allocated")?,
            );
            let status_text = r.text("status")?;
            if paid != allocated {
                report.problems.push(format!(
                    "due {id}: marked {} paid but {} is allocated to it",
                    money(paid),
                    money(allocated)
                ));
            }
            if allocated > amount {
                report.problems.push(format!(
                    "due {id}: {} allocated to a due of {}",
                    money(allocated),
                    money(amount)
                ));
            }
            let status = DueStatus::parse(&status_text);
            let expected = if status == Some(DueStatus::Void) {
                if allocated != 0 {
                    report.problems.push(format!(
                        "due {id}: void but still has {} allocated",
                        money(allocated)
                    ));
                }
                DueStatus::Void
            } else {
                DueStatus::of(Money(amount), Money(paid))
            };
            if status != Some(expected) {
                report.problems.push(format!(
                    "due {id}: status is {status_text} but should be {expected}"
                ));
            }
        }

        // Each payment's allocations and remaining credit.
        let rows = tx
            .fetch_all(
                "SELECT p.id, p.amount, p.unallocated, p.status,
                    CAST(COALESCE((SELECT SUM(a.amount) FROM allocations a WHERE a.payment_id = p.id), 0) AS BIGINT) AS allocated
                 FROM payments p ORDER BY p.id",
                &[],
            )
            .await?;
        report.payments = rows.len() as i64;
        for r in rows {
            let (id, amount, unallocated, allocated) = (
                r.i64("id")?,
                r.i64("amount")?,
                r.i64("unallocated")?,
                r.i64("allocated")?,
            );
            if PaymentStatus::parse(&r.text("status")?) == Some(PaymentStatus::Void) {
                if allocated != 0 {
                    report.problems.push(format!(
                        "payment {id}: void but still has {} allocated",
                        money(allocated)
                    ));
                }
            } else if allocated + unallocated != amount {
                report.problems.push(format!(
                    "payment {id}: {} allocated plus {} unallocated is not its amount {}",
                    money(allocated),
                    money(unallocated),
                    money(amount)
                ));
            }
        }
        let crossed = tx
            .scalar(
                "SELECT COUNT(*) FROM allocations a JOIN dues d ON d.id = a.due_id JOIN payments p ON p.id = a.payment_id
                 WHERE d.customer_id <> p.customer_id",
                &[],
            )
            .await?;
        if crossed > 0 {
            report.problems.push(format!(
                "{crossed} allocation(s) apply one customer's payment to another customer's due"
            ));
        }

        self.verify_chain(&mut tx, &mut report).await?;
        let ledger = super::replay::LedgerRows::load(&mut tx).await?;
        let events = std::mem::take(&mut report.events);
        super::replay::replay(&events, &ledger, &money, &mut report.problems);
        Ok(report)
    }

    /// The hash chain (keyed or not), the anchors, and the head; collects
    /// the ledger's entries for the replay on the way.
    async fn verify_chain(&self, tx: &mut Tx, report: &mut Report) -> StoreResult<()> {
        let key = tx.chain.clone();
        let adopted = key.as_ref().and_then(|k| k.adopted.clone());
        let mut adopted_mac = adopted.as_ref().and(key.as_ref()).map(|k| k.running_mac());
        // Checkpoints written outside the database, by sequence number.
        let mut anchors: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
        if let Some(key) = &key {
            let path = key.anchors_path();
            match key.read_anchors() {
                Ok(lines) => {
                    for a in lines {
                        match a {
                            Anchor::Signed { at, seq, hash, .. } => {
                                report.anchors += 1;
                                anchors.entry(seq).or_default().push((at, hash));
                            }
                            Anchor::Bad { line, why } => report.problems.push(format!(
                                "anchors file {}, line {line}: {why}",
                                path.display()
                            )),
                        }
                    }
                }
                Err(e) => report.problems.push(format!(
                    "cannot read the anchors file {}: {e}",
                    path.display()
                )),
            }
        } else {
            report.notes.push(
                "there is no chain key (DUETRACK_CHAIN_KEY_FILE, by default <data dir>/chain.key): only the unkeyed parts were checked — the links between entries, the hashes of entries made before keying, and the ledger against the log; keyed hashes and anchors cannot be checked without the key".into(),
            );
        }
        let mut unchecked_keyed = 0;

        // In pages, so a long log is not held in memory.
        let mut expected_prev = "0".repeat(64);
        let mut expected_seq = 1;
        // Entries after the head may wait for the sealer (PostgreSQL): they
        // are replayed against the ledger, but not yet part of the chain.
        let sealed_through = tx
            .fetch_one("SELECT seq FROM activity_head WHERE id = 1", &[])
            .await?
            .i64("seq")?;
        let (mut unsealed, mut gaps, mut cursor) = (0, Vec::new(), 1);
        loop {
            let rows = tx
                .fetch_all(
                    "SELECT * FROM activity_log WHERE seq >= $1 ORDER BY seq LIMIT 1000",
                    args![cursor],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let seq = r.i64("seq")?;
                cursor = seq + 1;
                if seq > sealed_through && r.text("hash")? == super::activity::UNSEALED {
                    unsealed += 1;
                    if let Some(event) = replay::event(
                        seq,
                        &r.text("action")?,
                        &r.text("entity_id")?,
                        r.opt_text("before_state")?.as_deref(),
                        r.opt_text("after_state")?.as_deref(),
                    ) {
                        report.events.push(event);
                    }
                    continue;
                }
                if seq != expected_seq {
                    report.problems.push(format!(
                        "activity log: entries {expected_seq} to {} are missing",
                        seq - 1
                    ));
                }
                let prev = r.text("prev_hash")?;
                if prev != expected_prev {
                    report.problems.push(format!(
                        "activity log entry {seq}: its link to the entry before does not match (an entry was changed, removed or inserted)"
                    ));
                }
                let (action, entity_id) = (r.text("action")?, r.text("entity_id")?);
                if action == "activity.gap" {
                    gaps.push(seq);
                }
                let (before, after) = (r.opt_text("before_state")?, r.opt_text("after_state")?);
                let form = canonical(
                    seq,
                    &r.text("at")?,
                    &r.text("actor")?,
                    &action,
                    &r.text("entity_type")?,
                    &entity_id,
                    before.as_deref(),
                    after.as_deref(),
                    &prev,
                );
                let stored = r.text("hash")?;
                let altered = || {
                    format!(
                        "activity log entry {seq}: its content does not match its hash (it was altered)"
                    )
                };
                let in_adopted = adopted.as_ref().is_some_and(|(through, _)| seq <= *through);
                if in_adopted {
                    // Brought in whole: held to the MAC the key file recorded.
                    if let Some(mac) = adopted_mac.as_mut() {
                        mac.update(stored_form(&r)?.as_bytes());
                    }
                    if !is_keyed(&stored) && plain_hash(&form) != stored {
                        report.problems.push(altered());
                    }
                } else if is_keyed(&stored) {
                    match &key {
                        None => unchecked_keyed += 1,
                        Some(k) if seq < k.keyed_from => report.problems.push(format!(
                            "activity log entry {seq}: it has a keyed hash, but this chain key ({}) keys entries from {} on: it was made under another key (is this the key file that belongs to this database?)",
                            k.path().display(),
                            k.keyed_from
                        )),
                        Some(k) => {
                            if k.entry_hash(&form) != stored {
                                report.problems.push(altered());
                            }
                        }
                    }
                } else {
                    if plain_hash(&form) != stored {
                        report.problems.push(altered());
                    }
                    if let Some(k) = &key
                        && seq >= k.keyed_from
                    {
                        report.problems.push(format!(
                            "activity log entry {seq}: it has an unkeyed hash, but every entry from {} on is hashed under the chain key (it was rewritten without the key)",
                            k.keyed_from
                        ));
                    }
                }
                if let Some((through, recorded)) = &adopted
                    && seq == *through
                    && let Some(mac) = adopted_mac.take()
                    && mac.finish() != *recorded
                {
                    report.problems.push(format!(
                        "activity log entries 1 to {through}, brought in whole by a restore or an import, no longer match the MAC the chain key file recorded for them (one of them was changed)"
                    ));
                }
                if let Some(marks) = anchors.remove(&seq) {
                    for (at, hash) in &marks {
                        if *hash != stored {
                            report.problems.push(format!(
                                "activity log entry {seq}: an anchor of {at} recorded it with hash {hash}, but it now has {stored} (the log was rewritten after that anchor)"
                            ));
                        }
                    }
                }
                if let Some(event) = replay::event(
                    seq,
                    &action,
                    &entity_id,
                    before.as_deref(),
                    after.as_deref(),
                ) {
                    report.events.push(event);
                }
                expected_prev = stored;
                expected_seq = seq + 1;
                report.activity_entries += 1;
            }
        }
        let last = expected_seq - 1;
        if unsealed > 0 {
            report.notes.push(format!(
                "{unsealed} activity-log entries after entry {last} were still waiting for the sealer: they were checked against the ledger, and the chain through entry {last}"
            ));
        }
        if !gaps.is_empty() {
            let shown: Vec<String> = gaps.iter().take(20).map(i64::to_string).collect();
            report.notes.push(format!(
                "{} activity-log number(s) were taken by a change that failed and never committed; each is sealed as a gap: {}{}",
                gaps.len(),
                shown.join(", "),
                if gaps.len() > shown.len() { ", …" } else { "" }
            ));
        }
        if let Some((through, _)) = &adopted
            && *through > last
        {
            report.problems.push(format!(
                "the activity log ends at entry {last}, but the chain key file records a log brought in whole up to entry {through} (entries were removed)"
            ));
        }
        if unchecked_keyed > 0 {
            report.notes.push(format!(
                "{unchecked_keyed} activity-log entries carry keyed hashes that cannot be checked without the chain key"
            ));
        }
        // What is left was anchored but not found.
        for (seq, marks) in &anchors {
            for (at, _) in marks {
                if *seq > last {
                    report.problems.push(format!(
                        "the activity log ends at entry {last}, but an anchor of {at} recorded entry {seq} (entries were removed from the end, or the database was rolled back)"
                    ));
                } else if *seq > 0 {
                    report.problems.push(format!(
                        "activity log entry {seq}, recorded by an anchor of {at}, is missing"
                    ));
                }
            }
        }
        let head = tx
            .fetch_one("SELECT seq, hash FROM activity_head WHERE id = 1", &[])
            .await?;
        if head.i64("seq")? != last || head.text("hash")? != expected_prev {
            report.problems.push(format!(
                "activity log: the chain ends at entry {last} but the head says {} (entries were removed from the end)",
                head.i64("seq")?
            ));
        }
        Ok(())
    }
}
