//! `duetrack verify`: re-derives what the store keeps and reports every
//! place where it disagrees — balances against the ledger, allocations
//! against entries, and the activity log's hash chain.

use super::activity::entry_hash;
use super::{Store, StoreResult};
use crate::args;
use crate::domain::ledger::{DueStatus, PaymentStatus};
use crate::domain::money::{Currency, Money};

/// What a verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub customers: i64,
    pub dues: i64,
    pub payments: i64,
    pub activity_entries: i64,
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Amounts in the problems found are written in `currency`.
    pub async fn verify(&self, currency: Currency) -> StoreResult<Report> {
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

        // The hash chain, in pages so a long log is not held in memory.
        let mut expected_prev = "0".repeat(64);
        let mut expected_seq = 1;
        loop {
            let rows = tx
                .fetch_all(
                    "SELECT * FROM activity_log WHERE seq >= $1 ORDER BY seq LIMIT 1000",
                    args![expected_seq],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let seq = r.i64("seq")?;
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
                let recomputed = entry_hash(
                    seq,
                    &r.text("at")?,
                    &r.text("actor")?,
                    &r.text("action")?,
                    &r.text("entity_type")?,
                    &r.text("entity_id")?,
                    r.opt_text("before_state")?.as_deref(),
                    r.opt_text("after_state")?.as_deref(),
                    &prev,
                );
                let stored = r.text("hash")?;
                if recomputed != stored {
                    report
                        .problems
                        .push(format!("activity log entry {seq}: its content does not match its hash (it was altered)"));
                }
                expected_prev = stored;
                expected_seq = seq + 1;
                report.activity_entries += 1;
            }
        }
        let head = tx
            .fetch_one("SELECT seq, hash FROM activity_head WHERE id = 1", &[])
            .await?;
        if head.i64("seq")? != expected_seq - 1 || head.text("hash")? != expected_prev {
            report.problems.push(format!(
                "activity log: the chain ends at entry {} but the head says {} (entries were removed from the end)",
                expected_seq - 1,
                head.i64("seq")?
            ));
        }
        Ok(report)
    }
}
