//! Customers: create, read, list with search and sorting, edit, soft delete
//! and restore. Balances are maintained by the ledger; here they are read.

use super::activity::{self, Change};
use super::db::{Arg, DbError, Row, Tx, is_unique_violation, placeholders};
use super::letters::{AccountChange, CredentialLinkFacts};
use super::outbox::{self, NewEmail};
use super::tokens::{self, Purpose};
use super::{Refusal, Store, StoreError, StoreResult, now_text};
use crate::args;
/// Where callers of the store have always found it.
pub use crate::domain::customers::CustomerStatus;
use crate::domain::fields::{
    CustomerName, Email, Phone, search_prefixes, search_terms, username_stem,
};
use crate::domain::ledger::days_past;
use crate::domain::money::Money;
use crate::domain::notifications::EmailKind;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// A customer as stored, with the figures derived from the ledger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub category: Option<String>,
    pub notes: Option<String>,
    pub credit_limit: Option<Money>,
    pub status: CustomerStatus,
    pub balance: Money,
    pub total_dues: Money,
    pub total_paid: Money,
    pub next_due_date: Option<NaiveDate>,
    /// Unpaid amount of dues whose due date has passed, as of today.
    pub overdue: Money,
    /// Days since the oldest unpaid due date that has passed.
    pub days_overdue: i64,
    /// No scheduled reminders while set.
    pub reminders_paused: bool,
    /// Whether the customer has chosen a password and can sign in.
    pub has_password: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub delete_reason: Option<String>,
}

impl Customer {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Customer {
            id: row.i64("id")?,
            username: row.text("username")?,
            name: row.text("name")?,
            phone: row.opt_text("phone")?,
            email: row.opt_text("email")?,
            address: row.opt_text("address")?,
            category: row.opt_text("category")?,
            notes: row.opt_text("notes")?,
            credit_limit: row.opt_money("credit_limit")?,
            status: row.parsed("status", CustomerStatus::parse)?,
            balance: row.money("balance")?,
            total_dues: row.money("total_dues")?,
            total_paid: row.money("total_paid")?,
            next_due_date: row.opt_date("next_due_date")?,
            overdue: Money::ZERO,
            days_overdue: 0,
            reminders_paused: row.i64("reminders_paused")? != 0,
            has_password: row.opt_text("password_hash")?.is_some(),
            version: row.i64("version")?,
            created_at: row.text("created_at")?,
            updated_at: row.text("updated_at")?,
            deleted_at: row.opt_text("deleted_at")?,
            delete_reason: row.opt_text("delete_reason")?,
        })
    }

    /// The fields the activity log keeps of a customer.
    fn snapshot(&self) -> serde_json::Value {
        json!({
            "name": self.name, "phone": self.phone, "email": self.email, "address": self.address,
            "category": self.category, "notes": self.notes, "credit_limit": self.credit_limit,
            "status": self.status, "balance": self.balance, "reminders_paused": self.reminders_paused,
        })
    }
}

pub struct NewCustomer {
    pub name: CustomerName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub category: Option<String>,
    pub notes: Option<String>,
    pub credit_limit: Option<Money>,
}

/// A partial edit: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Default)]
pub struct CustomerPatch {
    pub name: Option<CustomerName>,
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<Email>>,
    pub address: Option<Option<String>>,
    pub category: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub credit_limit: Option<Option<Money>>,
    pub reminders_paused: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    BalanceDesc,
    OverdueDesc,
    CreatedDesc,
}

pub struct CustomerQuery {
    pub q: Option<String>,
    pub status: CustomerStatus,
    pub category: Option<String>,
    pub overdue_only: bool,
    pub sort: CustomerSort,
    pub limit: i64,
    pub offset: i64,
}

const SEARCH_END: char = '\u{10FFFF}';

/// Loads a customer inside a transaction, without the overdue figures.
pub(super) async fn load(tx: &mut Tx, id: i64) -> StoreResult<Customer> {
    let row = tx
        .fetch_optional("SELECT * FROM customers WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("customer", id))?;
    Ok(Customer::from_row(&row)?)
}

/// Fills in overdue amounts and days for the given customers as of `today`.
async fn add_overdue(
    tx: &mut Tx,
    customers: &mut [Customer],
    today: NaiveDate,
) -> Result<(), DbError> {
    let candidates: Vec<i64> = customers
        .iter()
        .filter(|c| c.next_due_date.is_some_and(|d| d < today))
        .map(|c| c.id)
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Arg> = vec![today.into()];
    values.extend(candidates.iter().map(|id| Arg::from(*id)));
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT customer_id, CAST(SUM(amount - paid) AS BIGINT) AS overdue, MIN(due_date) AS oldest
                 FROM dues WHERE status IN ('open', 'partial') AND due_date < $1 AND customer_id IN ({})
                 GROUP BY customer_id",
                placeholders(2, candidates.len())
            ),
            &values,
        )
        .await?;
    let mut found = HashMap::new();
    for row in rows {
        found.insert(
            row.i64("customer_id")?,
            (row.money("overdue")?, row.opt_date("oldest")?),
        );
    }
    for c in customers.iter_mut() {
        if let Some((overdue, oldest)) = found.get(&c.id) {
            c.overdue = *overdue;
            c.days_overdue = oldest.map_or(0, |d| days_past(d, today));
        }
    }
    Ok(())
}

/// Rewrites the words a customer is found by.
pub(super) async fn index_search_terms(
    tx: &mut Tx,
    id: i64,
    terms: &[String],
) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM customer_search_terms WHERE customer_id = $1",
        args![id],
    )
    .await?;
    for term in terms {
        tx.execute(
            "INSERT INTO customer_search_terms (term, customer_id) VALUES ($1, $2)",
            args![term, id],
        )
        .await?;
    }
    Ok(())
}

fn terms_of(c: &Customer) -> Vec<String> {
    // Stored values were validated on the way in, so they parse again.
    let name = CustomerName::parse(&c.name).ok();
    let email = c.email.as_deref().and_then(|e| Email::parse(e).ok());
    let phone = c.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    name.map(|n| search_terms(&n, email.as_ref(), phone.as_ref()))
        .unwrap_or_default()
}

/// A login name not yet used by any customer or staff member.
async fn free_username(tx: &mut Tx, stem: &str) -> Result<String, DbError> {
    let upper = format!("{stem}{SEARCH_END}");
    let mut taken: Vec<String> = Vec::new();
    for table in ["customers", "staff_users"] {
        for row in tx
            .fetch_all(
                &format!("SELECT username FROM {table} WHERE username >= $1 AND username < $2"),
                args![stem, upper.clone()],
            )
            .await?
        {
            taken.push(row.text("username")?);
        }
    }
    if !taken.iter().any(|t| t == stem) {
        return Ok(stem.to_string());
    }
    let n = (2..)
        .find(|n| !taken.contains(&format!("{stem}{n}")))
        .unwrap_or(2);
    Ok(format!("{stem}{n}"))
}

fn email_taken(email: &str) -> StoreError {
    StoreError::conflict(
        "email_taken",
        Some("email"),
        format!("another active customer already has the email {email}"),
    )
}

impl Store {
    pub async fn create_customer(&self, actor: &str, new: NewCustomer) -> StoreResult<Customer> {
        let mut tx = self.db.write().await?;
        let username = free_username(&mut tx, &username_stem(&new.name)).await?;
        let now = now_text();
        let inserted = tx
            .fetch_one(
                "INSERT INTO customers (username, name, name_key, phone, email, address, category, notes, credit_limit, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                args![
                    username,
                    new.name.as_str(),
                    new.name.sort_key(),
                    new.phone.as_ref().map(|p| p.as_str()),
                    new.email.as_ref().map(|e| e.as_str()),
                    new.address,
                    new.category,
                    new.notes,
                    new.credit_limit.map(Money::minor),
                    now
                ],
            )
            .await;
        let id = match inserted {
            Ok(row) => row.i64("id")?,
            Err(e) if is_unique_violation(&e) => {
                return Err(email_taken(new.email.as_ref().map_or("", |e| e.as_str())));
            }
            Err(e) => return Err(e.into()),
        };
        index_search_terms(
            &mut tx,
            id,
            &search_terms(&new.name, new.email.as_ref(), new.phone.as_ref()),
        )
        .await?;
        let customer = load(&mut tx, id).await?;
        if let Some(email) = &customer.email {
            self.queue_credential_link(
                &mut tx,
                &customer,
                email,
                Purpose::Invitation,
                format!("invitation:{id}"),
            )
            .await?;
        }
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.created",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: None,
                after: Some(customer.snapshot()),
            },
        )
        .await?;
        tx.commit().await?;
        if customer.email.is_some() {
            self.email_queued();
        }
        Ok(customer)
    }

    /// Issues a one-time link and queues the email that carries it.
    async fn queue_credential_link(
        &self,
        tx: &mut Tx,
        customer: &Customer,
        email: &str,
        purpose: Purpose,
        dedupe_key: String,
    ) -> StoreResult<()> {
        let issued = tokens::issue(tx, customer.id, purpose).await?;
        let link = CredentialLinkFacts {
            name: &customer.name,
            username: &customer.username,
            token: &issued.token,
            expires_at: issued.expires_at,
        };
        let (kind, message) = match purpose {
            Purpose::Invitation => (EmailKind::Invitation, self.letters.invitation(&link)),
            Purpose::Reset => (
                EmailKind::CredentialReset,
                self.letters.credential_reset(&link),
            ),
        };
        outbox::enqueue(
            tx,
            NewEmail {
                kind,
                dedupe_key,
                customer_id: Some(customer.id),
                recipient: email.to_string(),
                message,
            },
        )
        .await?;
        Ok(())
    }

    /// Sends an imported customer the invitation that a customer added by
    /// hand gets at once. False when there is no one to invite: deleted,
    /// no email address, or a password already set.
    pub async fn invite_customer(&self, actor: &str, id: i64) -> StoreResult<bool> {
        let mut tx = self.db.write().await?;
        let customer = load(&mut tx, id).await?;
        let has_password = tx
            .scalar(
                "SELECT COUNT(*) FROM customers WHERE id = $1 AND password_hash IS NOT NULL",
                args![id],
            )
            .await?
            > 0;
        let Some(email) = customer.email.clone() else {
            return Ok(false);
        };
        if customer.status != CustomerStatus::Active || has_password {
            return Ok(false);
        }
        self.queue_credential_link(
            &mut tx,
            &customer,
            &email,
            Purpose::Invitation,
            format!("invitation:{id}"),
        )
        .await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.invited",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({"invitation_sent_to": email})),
            },
        )
        .await?;
        tx.commit().await?;
        self.email_queued();
        Ok(true)
    }

    /// Emails the customer a link to choose a new password.
    pub async fn reset_credentials(
        &self,
        actor: &str,
        id: i64,
        today: NaiveDate,
    ) -> StoreResult<Customer> {
        let mut tx = self.db.write().await?;
        let customer = load(&mut tx, id).await?;
        if customer.status != CustomerStatus::Active {
            return Err(StoreError::conflict(
                "customer_deleted",
                None,
                format!("customer {id} is deleted"),
            ));
        }
        let Some(email) = customer.email.clone() else {
            return Err(StoreError::conflict(
                "no_email",
                Some("email"),
                format!(
                    "customer {id} has no email address to send a reset link to; add one first"
                ),
            ));
        };
        // Every request is a new link: the key only stops one request from
        // queueing its message twice.
        let nonce: u64 = rand::random();
        self.queue_credential_link(
            &mut tx,
            &customer,
            &email,
            Purpose::Reset,
            format!("reset:{id}:{}:{nonce:016x}", now_text()),
        )
        .await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.credentials_reset",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({"reset_link_sent_to": email})),
            },
        )
        .await?;
        tx.commit().await?;
        self.email_queued();
        self.customer(id, today).await
    }

    /// One customer, with what is overdue as of `today`.
    pub async fn customer(&self, id: i64, today: NaiveDate) -> StoreResult<Customer> {
        let mut tx = self.db.read().await?;
        let mut customer = load(&mut tx, id).await?;
        add_overdue(&mut tx, std::slice::from_mut(&mut customer), today).await?;
        Ok(customer)
    }

    /// Customers matching `query`, overdue figures as of `today`, with how many match in all.
    pub async fn list_customers(
        &self,
        query: &CustomerQuery,
        today: NaiveDate,
    ) -> StoreResult<(Vec<Customer>, i64)> {
        let mut values: Vec<Arg> = vec![query.status.as_str().into()];
        let mut conditions = vec!["c.status = $1".to_string()];
        if let Some(q) = &query.q {
            for prefix in search_prefixes(q) {
                values.push(prefix.clone().into());
                values.push(format!("{prefix}{SEARCH_END}").into());
                conditions.push(format!(
                    "c.id IN (SELECT customer_id FROM customer_search_terms WHERE term >= ${} AND term < ${})",
                    values.len() - 1,
                    values.len()
                ));
            }
        }
        if let Some(category) = &query.category {
            values.push(category.clone().into());
            conditions.push(format!("c.category = ${}", values.len()));
        }
        if query.overdue_only {
            values.push(today.into());
            conditions.push(format!("c.next_due_date < ${}", values.len()));
        }
        let where_clause = conditions.join(" AND ");
        let mut tx = self.db.read().await?;
        // Unfiltered, the count is a maintained figure; a search or filter
        // counts only what its index range holds.
        let total = if conditions.len() == 1 {
            super::dashboard::customer_count(&mut tx, query.status.as_str()).await?
        } else {
            tx.scalar(
                &format!("SELECT COUNT(*) FROM customers c WHERE {where_clause}"),
                &values,
            )
            .await?
        };

        let (from, order) = match query.sort {
            CustomerSort::Name => ("customers c".to_string(), "c.name_key, c.id"),
            CustomerSort::BalanceDesc => ("customers c".to_string(), "c.balance DESC, c.id"),
            CustomerSort::CreatedDesc => ("customers c".to_string(), "c.id DESC"),
            CustomerSort::OverdueDesc => {
                values.push(today.into());
                (
                    format!(
                        "customers c LEFT JOIN (SELECT customer_id, SUM(amount - paid) AS overdue FROM dues
                         WHERE status IN ('open', 'partial') AND due_date < ${} GROUP BY customer_id) o
                         ON o.customer_id = c.id",
                        values.len()
                    ),
                    "COALESCE(o.overdue, 0) DESC, c.balance DESC, c.id",
                )
            }
        };
        values.push(query.limit.into());
        values.push(query.offset.into());
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT c.* FROM {from} WHERE {where_clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
                    values.len() - 1,
                    values.len()
                ),
                &values,
            )
            .await?;
        let mut customers = rows
            .iter()
            .map(Customer::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        add_overdue(&mut tx, &mut customers, today).await?;
        Ok((customers, total))
    }

    pub async fn update_customer(
        &self,
        actor: &str,
        id: i64,
        patch: CustomerPatch,
        today: NaiveDate,
    ) -> StoreResult<Customer> {
        let mut tx = self.db.write().await?;
        let before = load(&mut tx, id).await?;
        if before.status != CustomerStatus::Active {
            return Err(StoreError::conflict(
                "customer_deleted",
                None,
                format!("customer {id} is deleted; restore it before editing"),
            ));
        }
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = name.as_str().to_string();
        }
        if let Some(phone) = patch.phone {
            after.phone = phone.map(|p| p.as_str().to_string());
        }
        if let Some(email) = patch.email {
            after.email = email.map(|e| e.as_str().to_string());
        }
        if let Some(address) = patch.address {
            after.address = address;
        }
        if let Some(category) = patch.category {
            after.category = category;
        }
        if let Some(notes) = patch.notes {
            after.notes = notes;
        }
        if let Some(limit) = patch.credit_limit {
            after.credit_limit = limit;
        }
        if let Some(paused) = patch.reminders_paused {
            after.reminders_paused = paused;
        }
        let name_key = after.name.to_lowercase();
        let updated = tx
            .execute(
                "UPDATE customers SET name = $1, name_key = $2, phone = $3, email = $4, address = $5, category = $6,
                 notes = $7, credit_limit = $8, updated_at = $9, version = version + 1, reminders_paused = $11 WHERE id = $10",
                args![
                    after.name.clone(),
                    name_key,
                    after.phone.clone(),
                    after.email.clone(),
                    after.address.clone(),
                    after.category.clone(),
                    after.notes.clone(),
                    after.credit_limit,
                    now_text(),
                    id,
                    i64::from(after.reminders_paused)
                ],
            )
            .await;
        match updated {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(email_taken(after.email.as_deref().unwrap_or("")));
            }
            Err(e) => return Err(e.into()),
        }
        index_search_terms(&mut tx, id, &terms_of(&after)).await?;
        let after = load(&mut tx, id).await?;
        let queued = self.tell_of_email_change(&mut tx, &before, &after).await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.updated",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: Some(before.snapshot()),
                after: Some(after.snapshot()),
            },
        )
        .await?;
        tx.commit().await?;
        if queued {
            self.email_queued();
        }
        self.customer(id, today).await
    }

    /// When the email address changes, the old address hears of it; a
    /// customer who had none gets an invitation at the new one. Returns
    /// whether anything was queued.
    async fn tell_of_email_change(
        &self,
        tx: &mut Tx,
        before: &Customer,
        after: &Customer,
    ) -> StoreResult<bool> {
        if before.email == after.email {
            return Ok(false);
        }
        let version = after.version;
        if let Some(old) = &before.email {
            outbox::enqueue(
                tx,
                NewEmail {
                    kind: EmailKind::AccountChanged,
                    dedupe_key: format!("account_changed:{}:{version}", after.id),
                    customer_id: Some(after.id),
                    recipient: old.clone(),
                    message: self
                        .letters
                        .account_changed(&after.name, AccountChange::EmailAddress),
                },
            )
            .await?;
        }
        if let (None, Some(new), false) = (&before.email, &after.email, after.has_password) {
            self.queue_credential_link(
                tx,
                after,
                new,
                Purpose::Invitation,
                format!("invitation:{}:{version}", after.id),
            )
            .await?;
        }
        Ok(true)
    }

    /// Soft delete: the customer disappears from the active list and keeps
    /// its ledger. With an open balance it needs `force` and a reason.
    pub async fn delete_customer(
        &self,
        actor: &str,
        id: i64,
        force: bool,
        reason: Option<String>,
        today: NaiveDate,
    ) -> StoreResult<Customer> {
        let mut tx = self.db.write().await?;
        let before = load(&mut tx, id).await?;
        if before.status == CustomerStatus::Deleted {
            return Err(StoreError::conflict(
                "already_deleted",
                None,
                format!("customer {id} is already deleted"),
            ));
        }
        if !before.balance.is_zero() {
            if !force {
                return Err(StoreError::Refused(Refusal::BalanceOpen {
                    customer_id: id,
                    balance: before.balance,
                }));
            }
            if reason.is_none() {
                return Err(StoreError::rejected(
                    "reason_required",
                    Some("reason"),
                    "deleting a customer with an open balance needs a reason",
                ));
            }
        }
        let now = now_text();
        tx.execute(
            "UPDATE customers SET status = 'deleted', deleted_at = $1, delete_reason = $2, updated_at = $1, version = version + 1 WHERE id = $3",
            args![now, reason, id],
        )
        .await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = $1 WHERE customer_id = $2 AND revoked_at IS NULL",
            args![now_text(), id],
        )
        .await?;
        let after = load(&mut tx, id).await?;
        if let Some(email) = &after.email {
            outbox::enqueue(
                &mut tx,
                NewEmail {
                    kind: EmailKind::AccountDeleted,
                    dedupe_key: format!("account_deleted:{id}:{}", after.version),
                    customer_id: Some(id),
                    recipient: email.clone(),
                    message: self.letters.account_deleted(&after.name),
                },
            )
            .await?;
        }
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.deleted",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: Some(before.snapshot()),
                after: Some(
                    json!({"status": CustomerStatus::Deleted, "reason": after.delete_reason, "forced": force}),
                ),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        if after.email.is_some() {
            self.email_queued();
        }
        self.customer(id, today).await
    }

    pub async fn restore_customer(
        &self,
        actor: &str,
        id: i64,
        today: NaiveDate,
    ) -> StoreResult<Customer> {
        let mut tx = self.db.write().await?;
        let before = load(&mut tx, id).await?;
        if before.status == CustomerStatus::Active {
            return Err(StoreError::conflict(
                "not_deleted",
                None,
                format!("customer {id} is not deleted"),
            ));
        }
        let restored = tx
            .execute(
                "UPDATE customers SET status = 'active', deleted_at = NULL, delete_reason = NULL, updated_at = $1, version = version + 1 WHERE id = $2",
                args![now_text(), id],
            )
            .await;
        match restored {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(email_taken(before.email.as_deref().unwrap_or("")));
            }
            Err(e) => return Err(e.into()),
        }
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "customer.restored",
                entity_type: "customer",
                entity_id: id.to_string(),
                before: Some(
                    json!({"status": CustomerStatus::Deleted, "reason": before.delete_reason}),
                ),
                after: Some(json!({"status": CustomerStatus::Active})),
            },
        )
        .await?;
        tx.commit().await?;
        self.customer(id, today).await
    }
}
