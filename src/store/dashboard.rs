//! The figures of the owner's dashboard, computed from the ledger as of a
//! day: totals, customers by state, ageing, collections over time, top
//! debtors and days sales outstanding.

use super::activity::ActivityFilter;
use super::{Store, StoreResult};
use crate::args;
use crate::domain::money::Money;
use crate::domain::notifications::EmailStatus;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    /// Nothing owed (or in credit).
    pub paid: i64,
    /// Owes, has paid part.
    pub partial: i64,
    /// Owes, has paid nothing towards what is open.
    pub unpaid: i64,
    /// Has something past its due date.
    pub overdue: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ageing {
    /// Not yet due, or with no due date.
    pub current: Money,
    pub days_1_30: Money,
    pub days_31_60: Money,
    pub days_61_90: Money,
    pub days_over_90: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// YYYY-MM for months, YYYY-MM-DD for days.
    pub label: String,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Debtor {
    pub customer_id: i64,
    pub name: String,
    pub balance: Money,
    pub overdue: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub as_of: NaiveDate,
    pub total_outstanding: Money,
    pub total_overdue: Money,
    pub total_credit: Money,
    pub collected_today: Money,
    pub collected_this_month: Money,
    pub active_customers: i64,
    pub customers_by_status: StatusCounts,
    pub ageing: Ageing,
    pub collections_by_month: Vec<Period>,
    pub collections_by_day: Vec<Period>,
    pub top_debtors: Vec<Debtor>,
    /// Days sales outstanding over the last 90 days, when there were sales.
    pub days_sales_outstanding: Option<i64>,
    pub pending_payments: i64,
    pub recent_activity: Vec<super::activity::ActivityEntry>,
}

fn months_back(day: NaiveDate, n: u32) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    let total = first.year() * 12 + first.month0() as i32 - n as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(first)
}

/// Which ageing bucket a due date falls in, as of `today`.
fn bucket_of(ageing: &mut Ageing, today: NaiveDate, due: Option<NaiveDate>) -> &mut Money {
    match due.map(|d| (today - d).num_days()).unwrap_or(0) {
        d if d <= 0 => &mut ageing.current,
        1..=30 => &mut ageing.days_1_30,
        31..=60 => &mut ageing.days_31_60,
        61..=90 => &mut ageing.days_61_90,
        _ => &mut ageing.days_over_90,
    }
}

impl Store {
    /// Read from the maintained figures (see [`super::figures`]): a few
    /// hundred rows at most, however many customers and entries there are.
    pub async fn dashboard(&self, today: NaiveDate) -> StoreResult<Dashboard> {
        let mut tx = self.db.read().await?;
        let sql = format!(
            "SELECT {} AS active, {} AS owing, {} AS outstanding, {} AS credit, {} AS open_dues FROM customer_totals",
            tx.sum("active"),
            tx.sum("owing"),
            tx.sum("outstanding"),
            tx.sum("credit"),
            tx.sum("open_dues"),
        );
        let totals = tx.fetch_one(&sql, &[]).await?;
        let active_customers = totals.i64("active")?;
        let owing = totals.i64("owing")?;
        let total_outstanding = totals.money("outstanding")?;
        let open_dues = totals.money("open_dues")?;

        // Ageing: open amounts by due date, summed over the last 90 days
        // and the future; what is older is the rest of the total.
        let oldest_bucketed = today - chrono::Days::new(90);
        let sql = format!(
            "SELECT due_date, {} AS outstanding FROM open_dues_by_day
             WHERE due_date = '' OR due_date >= $1 GROUP BY due_date",
            tx.sum("outstanding")
        );
        let mut ageing = Ageing::default();
        for row in tx.fetch_all(&sql, args![oldest_bucketed]).await? {
            let day = row.text("due_date")?;
            let due = if day.is_empty() {
                None
            } else {
                Some(row.date("due_date")?)
            };
            *bucket_of(&mut ageing, today, due) += row.money("outstanding")?;
        }
        ageing.days_over_90 =
            open_dues - ageing.current - ageing.days_1_30 - ageing.days_31_60 - ageing.days_61_90;
        let total_overdue = open_dues - ageing.current;

        // Customers who owe, by state as of today.
        let sql = format!(
            "SELECT {} AS overdue FROM owing_customers WHERE next_due > '' AND next_due < $1",
            tx.sum("customers")
        );
        let overdue_customers = tx.scalar(&sql, args![today]).await?;
        let sql = format!(
            "SELECT {} AS partial FROM owing_customers
             WHERE partial = 1 AND (next_due = '' OR next_due >= $1)",
            tx.sum("customers")
        );
        let partial_customers = tx.scalar(&sql, args![today]).await?;
        let by_status = StatusCounts {
            paid: active_customers - owing,
            partial: partial_customers,
            unpaid: owing - overdue_customers - partial_customers,
            overdue: overdue_customers,
        };

        // Collections over the last 12 months and 30 days.
        let first_month = months_back(today, 11);
        let mut collections_by_month: Vec<Period> = (0..12)
            .map(|i| Period {
                label: months_back(today, 11 - i).format("%Y-%m").to_string(),
                amount: Money::ZERO,
            })
            .collect();
        let first_day = today - chrono::Days::new(29);
        let mut collections_by_day: Vec<Period> = (0..30)
            .map(|i| Period {
                label: (first_day + chrono::Days::new(i)).to_string(),
                amount: Money::ZERO,
            })
            .collect();
        let month_start = today.with_day(1).unwrap_or(today);
        let mut collected_today = Money::ZERO;
        let mut collected_this_month = Money::ZERO;
        let sql = format!(
            "SELECT paid_on, {} AS amount FROM payments_by_day
             WHERE paid_on >= $1 AND paid_on <= $2 GROUP BY paid_on",
            tx.sum("collected")
        );
        for row in tx
            .fetch_all(&sql, args![first_month.min(first_day), today])
            .await?
        {
            let day = row.date("paid_on")?;
            let amount = row.money("amount")?;
            let add = |p: &mut Money| *p = Money(p.minor().saturating_add(amount.minor()));
            if day == today {
                add(&mut collected_today);
            }
            if day >= month_start {
                add(&mut collected_this_month);
            }
            let month = day.format("%Y-%m").to_string();
            if let Some(p) = collections_by_month.iter_mut().find(|p| p.label == month) {
                add(&mut p.amount);
            }
            let label = day.to_string();
            if let Some(p) = collections_by_day.iter_mut().find(|p| p.label == label) {
                add(&mut p.amount);
            }
        }

        // The five who owe most (an index walk), with what each has overdue.
        let rows = tx
            .fetch_all(
                "SELECT id, name, balance FROM customers WHERE status = 'active' AND balance > 0 ORDER BY balance DESC, id LIMIT 5",
                &[],
            )
            .await?;
        let mut top_debtors = Vec::new();
        for row in rows {
            let id = row.i64("id")?;
            let sql = format!(
                "SELECT {} FROM dues WHERE customer_id = $1 AND status IN ('open', 'partial') AND due_date < $2",
                tx.sum("amount - paid")
            );
            let overdue = Money(tx.scalar(&sql, args![id, today]).await?);
            top_debtors.push(Debtor {
                customer_id: id,
                name: row.text("name")?,
                balance: row.money("balance")?,
                overdue,
            });
        }

        // DSO: what is owed, in days of the last 90 days' credit sales.
        let sql = format!(
            "SELECT {} FROM dues_by_day WHERE issue_date > $1 AND issue_date <= $2",
            tx.sum("issued")
        );
        let sales_90 = tx
            .scalar(&sql, args![today - chrono::Days::new(90), today])
            .await?;
        let days_sales_outstanding = (sales_90 > 0)
            .then(|| (i128::from(total_outstanding.minor()) * 90 / i128::from(sales_90)) as i64);

        // The newest entries of the log: the filter on their earliest time
        // keeps the count that comes with the page small.
        let since = tx
            .fetch_optional(
                "SELECT MIN(at) AS since FROM (SELECT at FROM activity_log ORDER BY seq DESC LIMIT 8) newest",
                &[],
            )
            .await?
            .map(|r| r.opt_text("since"))
            .transpose()?
            .flatten();
        drop(tx);
        let pending_payments = self.pending_payment_count().await?;
        let filter = ActivityFilter {
            from: since,
            ..ActivityFilter::default()
        };
        let (recent_activity, _) = self.list_activity(&filter, 8, 0).await?;
        Ok(Dashboard {
            as_of: today,
            total_outstanding,
            total_overdue,
            total_credit: totals.money("credit")?,
            collected_today,
            collected_this_month,
            active_customers,
            customers_by_status: by_status,
            ageing,
            collections_by_month,
            collections_by_day,
            top_debtors,
            days_sales_outstanding,
            pending_payments,
            recent_activity,
        })
    }
}

/// Counts for `/metrics`.
pub struct OperationalFigures {
    pub emails: Vec<(String, i64)>,
    pub pending_payments: i64,
    pub active_customers: i64,
    pub deleted_customers: i64,
}

impl Store {
    pub async fn operational_figures(&self) -> StoreResult<OperationalFigures> {
        let mut tx = self.db.read().await?;
        let mut emails = Vec::new();
        for status in EmailStatus::ALL {
            emails.push((
                status.to_string(),
                tx.scalar(
                    "SELECT COUNT(*) FROM emails WHERE status = $1",
                    args![status.as_str()],
                )
                .await?,
            ));
        }
        Ok(OperationalFigures {
            emails,
            pending_payments: self.pending_payment_count().await?,
            active_customers: customer_count(&mut tx, "active").await?,
            deleted_customers: customer_count(&mut tx, "deleted").await?,
        })
    }
}

/// How many customers have a status, from the maintained figures.
pub(super) async fn customer_count(
    tx: &mut super::db::Tx,
    status: &str,
) -> Result<i64, super::db::DbError> {
    let column = if status == "deleted" {
        "deleted"
    } else {
        "active"
    };
    let sql = format!("SELECT {} FROM customer_totals", tx.sum(column));
    tx.scalar(&sql, &[]).await
}

#[cfg(test)]
mod tests {
    use super::months_back;
    use chrono::NaiveDate;

    #[test]
    fn months_back_crosses_years() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 15).unwrap();
        assert_eq!(months_back(d, 0).to_string(), "2026-02-01");
        assert_eq!(months_back(d, 2).to_string(), "2025-12-01");
        assert_eq!(months_back(d, 14).to_string(), "2024-12-01");
    }
}
