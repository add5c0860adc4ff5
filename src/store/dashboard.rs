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

impl Store {
    pub async fn dashboard(&self, today: NaiveDate) -> StoreResult<Dashboard> {
        let mut tx = self.db.read().await?;
        let sql = format!(
            "SELECT {} AS outstanding, {} AS credit, COUNT(*) AS customers
             FROM customers WHERE status = 'active'",
            tx.sum("CASE WHEN balance > 0 THEN balance ELSE 0 END"),
            tx.sum("CASE WHEN balance < 0 THEN -balance ELSE 0 END"),
        );
        let totals = tx.fetch_one(&sql, &[]).await?;
        let month_start = today.with_day(1).unwrap_or(today);
        let sql = format!(
            "SELECT {} FROM payments WHERE status = 'recorded' AND paid_on >= $1 AND paid_on <= $2",
            tx.sum("amount")
        );
        let collected_today = Money(tx.scalar(&sql, args![today, today]).await?);
        let collected_this_month = Money(tx.scalar(&sql, args![month_start, today]).await?);

        // Open dues of active customers, for ageing and overdue per customer.
        let open = tx
            .fetch_all(
                "SELECT d.customer_id, d.due_date, d.amount - d.paid AS outstanding FROM dues d
                 JOIN customers c ON c.id = d.customer_id
                 WHERE c.status = 'active' AND d.status IN ('open', 'partial')",
                &[],
            )
            .await?;
        let mut ageing = Ageing::default();
        let mut overdue_by_customer = std::collections::HashMap::<i64, Money>::new();
        for row in &open {
            let outstanding = row.money("outstanding")?;
            let days = row
                .opt_date("due_date")?
                .map(|d| (today - d).num_days())
                .unwrap_or(0);
            let bucket = match days {
                d if d <= 0 => &mut ageing.current,
                1..=30 => &mut ageing.days_1_30,
                31..=60 => &mut ageing.days_31_60,
                61..=90 => &mut ageing.days_61_90,
                _ => &mut ageing.days_over_90,
            };
            *bucket += outstanding;
            if days > 0 {
                *overdue_by_customer
                    .entry(row.i64("customer_id")?)
                    .or_default() += outstanding;
            }
        }
        let total_overdue = overdue_by_customer.values().sum();

        // Customers by state.
        let rows = tx
            .fetch_all(
                "SELECT c.id, c.balance,
                        (SELECT COUNT(*) FROM dues d WHERE d.customer_id = c.id AND d.status = 'partial') AS partial_dues
                 FROM customers c WHERE c.status = 'active'",
                &[],
            )
            .await?;
        let mut by_status = StatusCounts {
            paid: 0,
            partial: 0,
            unpaid: 0,
            overdue: 0,
        };
        for row in rows {
            let id = row.i64("id")?;
            if !row.money("balance")?.is_positive() {
                by_status.paid += 1;
            } else if overdue_by_customer.contains_key(&id) {
                by_status.overdue += 1;
            } else if row.i64("partial_dues")? > 0 {
                by_status.partial += 1;
            } else {
                by_status.unpaid += 1;
            }
        }

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
        let sql = format!(
            "SELECT paid_on, {} AS amount FROM payments
             WHERE status = 'recorded' AND paid_on >= $1 AND paid_on <= $2 GROUP BY paid_on",
            tx.sum("amount")
        );
        for row in tx
            .fetch_all(&sql, args![first_month.min(first_day), today])
            .await?
        {
            let day = row.date("paid_on")?;
            let amount = row.money("amount")?;
            let month = day.format("%Y-%m").to_string();
            if let Some(p) = collections_by_month.iter_mut().find(|p| p.label == month) {
                p.amount = Money(p.amount.minor().saturating_add(amount.minor()));
            }
            let label = day.to_string();
            if let Some(p) = collections_by_day.iter_mut().find(|p| p.label == label) {
                p.amount = Money(p.amount.minor().saturating_add(amount.minor()));
            }
        }

        let mut top_debtors = Vec::new();
        for row in tx
            .fetch_all(
                "SELECT id, name, balance FROM customers WHERE status = 'active' AND balance > 0 ORDER BY balance DESC, id LIMIT 5",
                &[],
            )
            .await?
        {
            let id = row.i64("id")?;
            top_debtors.push(Debtor {
                customer_id: id,
                name: row.text("name")?,
                balance: row.money("balance")?,
                overdue: overdue_by_customer.get(&id).copied().unwrap_or_default(),
            });
        }

        // DSO: what is owed, in days of the last 90 days' credit sales.
        let sql = format!(
            "SELECT {} FROM dues WHERE status <> 'void' AND issue_date > $1 AND issue_date <= $2",
            tx.sum("amount")
        );
        let sales_90 = tx
            .scalar(&sql, args![today - chrono::Days::new(90), today])
            .await?;
        let total_outstanding = totals.money("outstanding")?;
        let days_sales_outstanding = (sales_90 > 0)
            .then(|| (i128::from(total_outstanding.minor()) * 90 / i128::from(sales_90)) as i64);
        drop(tx);
        let pending_payments = self.pending_payment_count().await?;
        let (recent_activity, _) = self.list_activity(&ActivityFilter::default(), 8, 0).await?;
        Ok(Dashboard {
            as_of: today,
            total_outstanding,
            total_overdue,
            total_credit: totals.money("credit")?,
            collected_today,
            collected_this_month,
            active_customers: totals.i64("customers")?,
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
            active_customers: tx
                .scalar(
                    "SELECT COUNT(*) FROM customers WHERE status = 'active'",
                    &[],
                )
                .await?,
            deleted_customers: tx
                .scalar(
                    "SELECT COUNT(*) FROM customers WHERE status = 'deleted'",
                    &[],
                )
                .await?,
        })
    }
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
