//! A customer's statement: every entry and void in date order with the
//! running balance, between two dates.

use super::records::{Due, Payment};
use crate::args;
use crate::domain::ledger::{StatementLineKind, StatementMovement, running_balances};
use crate::domain::money::Money;
use crate::store::{Store, StoreResult, customers};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

/// One statement line with the balance after it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementLine {
    pub date: NaiveDate,
    pub kind: StatementLineKind,
    pub due_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub description: String,
    /// Positive raises the balance, negative lowers it.
    pub delta: Money,
    pub balance: Money,
}

pub struct Statement {
    pub customer: customers::Customer,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub opening_balance: Money,
    pub closing_balance: Money,
    pub lines: Vec<StatementLine>,
}

impl Store {
    /// The ledger in date order with a running balance; entries before
    /// `from` make the opening balance, entries after `to` are left out.
    /// A void's date is the day it happened in `tz`, the shop's timezone.
    pub async fn statement(
        &self,
        customer_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        tz: Tz,
    ) -> StoreResult<Statement> {
        let mut tx = self.db.read().await?;
        let customer = customers::load(&mut tx, customer_id).await?;
        let void_date = |at: &Option<String>| -> Option<NaiveDate> {
            at.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&tz).date_naive())
        };
        let mut movements = Vec::new();
        for r in tx
            .fetch_all(
                "SELECT * FROM dues WHERE customer_id = $1",
                args![customer_id],
            )
            .await?
        {
            let due = Due::from_row(&r)?;
            let label = due
                .description
                .clone()
                .unwrap_or_else(|| format!("Due #{}", due.id));
            movements.push((
                StatementMovement {
                    date: due.issue_date,
                    sequence: (due.created_at.clone(), due.id),
                    delta: due.amount,
                },
                (StatementLineKind::Due, Some(due.id), None, label.clone()),
            ));
            if let (Some(date), Some(at)) = (void_date(&due.voided_at), due.voided_at.clone()) {
                movements.push((
                    StatementMovement {
                        date,
                        sequence: (at, due.id),
                        delta: -due.amount,
                    },
                    (
                        StatementLineKind::DueVoid,
                        Some(due.id),
                        None,
                        format!("Void of {label}: {}", due.void_reason.unwrap_or_default()),
                    ),
                ));
            }
        }
        for r in tx
            .fetch_all(
                "SELECT * FROM payments WHERE customer_id = $1 AND status IN ('recorded', 'void')",
                args![customer_id],
            )
            .await?
        {
            let p = Payment::from_row(&r)?;
            let label = match &p.reference {
                Some(reference) => format!("Payment ({}, {reference})", p.method),
                None => format!("Payment ({})", p.method),
            };
            movements.push((
                StatementMovement {
                    date: p.paid_on,
                    sequence: (p.created_at.clone(), p.id),
                    delta: -p.amount,
                },
                (StatementLineKind::Payment, None, Some(p.id), label.clone()),
            ));
            if let (Some(date), Some(at)) = (void_date(&p.voided_at), p.voided_at.clone()) {
                movements.push((
                    StatementMovement {
                        date,
                        sequence: (at, p.id),
                        delta: p.amount,
                    },
                    (
                        StatementLineKind::PaymentVoid,
                        None,
                        Some(p.id),
                        format!("Void of {label}: {}", p.void_reason.unwrap_or_default()),
                    ),
                ));
            }
        }
        let all = running_balances(Money::ZERO, movements);
        let mut opening_balance = Money::ZERO;
        let mut lines = Vec::new();
        for (m, (kind, due_id, payment_id, description), balance) in all {
            if from.is_some_and(|f| m.date < f) {
                opening_balance = balance;
                continue;
            }
            if to.is_some_and(|t| m.date > t) {
                continue;
            }
            lines.push(StatementLine {
                date: m.date,
                kind,
                due_id,
                payment_id,
                description,
                delta: m.delta,
                balance,
            });
        }
        let closing_balance = lines.last().map_or(opening_balance, |l| l.balance);
        Ok(Statement {
            customer,
            from,
            to,
            opening_balance,
            closing_balance,
            lines,
        })
    }
}
