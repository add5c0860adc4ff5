//! The ledger's records as the store reads them back: dues, payments and
//! how each payment was split over dues, each parsed from its row.

use crate::args;
use crate::domain::fields::PaymentMethod;
use crate::domain::ledger::{DueStatus, PaymentStatus};
use crate::domain::money::Money;
use crate::store::db::{Arg, DbError, Row, Tx, placeholders};
use crate::store::{StoreError, StoreResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Due {
    pub id: i64,
    pub customer_id: i64,
    pub amount: Money,
    pub paid: Money,
    pub description: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub status: DueStatus,
    pub balance_after: Money,
    pub created_by: String,
    pub created_at: String,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
}

impl Due {
    pub(super) fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Due {
            id: row.i64("id")?,
            customer_id: row.i64("customer_id")?,
            amount: row.money("amount")?,
            paid: row.money("paid")?,
            description: row.opt_text("description")?,
            issue_date: row.date("issue_date")?,
            due_date: row.opt_date("due_date")?,
            status: row.parsed("status", DueStatus::parse)?,
            balance_after: row.money("balance_after")?,
            created_by: row.text("created_by")?,
            created_at: row.text("created_at")?,
            voided_at: row.opt_text("voided_at")?,
            voided_by: row.opt_text("voided_by")?,
            void_reason: row.opt_text("void_reason")?,
        })
    }
}

/// The part of a payment that went to one due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllocationLine {
    pub due_id: i64,
    pub amount: Money,
}

/// The columns a payment staff record is written with, for multi-row
/// inserts (group commit, the import), in this order.
pub const RECORDED_PAYMENT_COLUMNS: [&str; 12] = [
    "id",
    "customer_id",
    "amount",
    "unallocated",
    "method",
    "reference",
    "paid_on",
    "is_advance",
    "status",
    "balance_after",
    "recorded_by",
    "created_at",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub customer_id: i64,
    pub amount: Money,
    pub unallocated: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
    pub is_advance: bool,
    pub status: PaymentStatus,
    pub balance_after: Money,
    pub recorded_by: String,
    pub created_at: String,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    /// The customer who reported it, for payments made through the portal.
    #[serde(default)]
    pub submitted_by: Option<String>,
    /// Who confirmed or rejected a reported payment, and when.
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub reject_reason: Option<String>,
    pub allocations: Vec<AllocationLine>,
}

impl Payment {
    pub(super) fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Payment {
            id: row.i64("id")?,
            customer_id: row.i64("customer_id")?,
            amount: row.money("amount")?,
            unallocated: row.money("unallocated")?,
            method: row.parsed("method", |m| PaymentMethod::parse(m).ok())?,
            reference: row.opt_text("reference")?,
            paid_on: row.date("paid_on")?,
            is_advance: row.i64("is_advance")? != 0,
            status: row.parsed("status", PaymentStatus::parse)?,
            balance_after: row.money("balance_after")?,
            recorded_by: row.text("recorded_by")?,
            created_at: row.text("created_at")?,
            voided_at: row.opt_text("voided_at")?,
            voided_by: row.opt_text("voided_by")?,
            void_reason: row.opt_text("void_reason")?,
            submitted_by: row.opt_text("submitted_by")?,
            decided_by: row.opt_text("decided_by")?,
            decided_at: row.opt_text("decided_at")?,
            reject_reason: row.opt_text("reject_reason")?,
            allocations: Vec::new(),
        })
    }
}

pub(super) async fn load_due(tx: &mut Tx, id: i64) -> StoreResult<Due> {
    let row = tx
        .fetch_optional("SELECT * FROM dues WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("due", id))?;
    Ok(Due::from_row(&row)?)
}

pub(super) async fn load_payment(tx: &mut Tx, id: i64) -> StoreResult<Payment> {
    let row = tx
        .fetch_optional("SELECT * FROM payments WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("payment", id))?;
    let mut payments = vec![Payment::from_row(&row)?];
    attach_allocations(tx, &mut payments).await?;
    Ok(payments.remove(0))
}

/// Fills in how each payment was split over dues, in allocation order, with
/// one query for all of them.
pub(super) async fn attach_allocations(tx: &mut Tx, payments: &mut [Payment]) -> StoreResult<()> {
    if payments.is_empty() {
        return Ok(());
    }
    let ids: Vec<Arg> = payments.iter().map(|p| Arg::from(p.id)).collect();
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT a.payment_id, a.due_id, a.amount FROM allocations a JOIN dues d ON d.id = a.due_id
                 WHERE a.payment_id IN ({}) ORDER BY COALESCE(d.due_date, d.issue_date), d.issue_date, d.id",
                placeholders(1, ids.len())
            ),
            &ids,
        )
        .await?;
    let mut by_payment: HashMap<i64, Vec<AllocationLine>> = HashMap::new();
    for a in rows {
        by_payment
            .entry(a.i64("payment_id")?)
            .or_default()
            .push(AllocationLine {
                due_id: a.i64("due_id")?,
                amount: a.money("amount")?,
            });
    }
    for p in payments {
        p.allocations = by_payment.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}
