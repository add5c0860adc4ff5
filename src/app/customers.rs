//! Customers: adding, finding, editing, pausing reminders, deleting and
//! restoring, and emailing a customer a way back in.

use super::input::{CustomerEdit, CustomerInput, DEFAULT_PER_PAGE, Paging};
use super::{
    Action, Actor, App, AppError, AppResult, Client, Customer, CustomerSort, CustomerStatus,
};
use crate::store::customers::{CustomerPatch, CustomerQuery};

/// The list's query as sent: every part optional.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub overdue: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A yes/no query parameter.
pub fn parse_flag(field: &'static str, value: Option<&str>) -> AppResult<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
        Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
        Some(other) => Err(AppError::bad_request(
            "invalid_flag",
            field,
            format!("'{other}' is not true or false"),
        )),
    }
}

impl CustomerFilter {
    pub fn parse(&self, default_per_page: i64) -> AppResult<(CustomerQuery, Paging)> {
        let paging = Paging::parse_or(
            self.page.as_deref(),
            self.per_page.as_deref(),
            default_per_page,
        )?;
        let sort = match self.sort.as_deref().map(str::trim) {
            None | Some("") | Some("name") => CustomerSort::Name,
            Some("balance_desc") => CustomerSort::BalanceDesc,
            Some("overdue_desc") => CustomerSort::OverdueDesc,
            Some("created_desc") => CustomerSort::CreatedDesc,
            Some(other) => {
                return Err(AppError::bad_request(
                    "invalid_sort",
                    "sort",
                    format!(
                        "'{other}' is not a sort order; use name, balance_desc, overdue_desc or created_desc"
                    ),
                ));
            }
        };
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") | Some("active") => CustomerStatus::Active,
            Some("deleted") => CustomerStatus::Deleted,
            Some(other) => {
                return Err(AppError::bad_request(
                    "invalid_status",
                    "status",
                    format!("'{other}' is not a status; use active or deleted"),
                ));
            }
        };
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 100) {
            return Err(AppError::bad_request(
                "invalid_query",
                "q",
                "the search is longer than 100 characters",
            ));
        }
        let query = CustomerQuery {
            q: q.map(str::to_string),
            status,
            category: self
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            overdue_only: parse_flag("overdue", self.overdue.as_deref())?,
            sort,
            limit: paging.per_page,
            offset: paging.offset(),
        };
        Ok((query, paging))
    }
}

impl App {
    pub async fn create_customer(
        &self,
        actor: &Actor,
        input: &CustomerInput,
    ) -> AppResult<Customer> {
        self.authorize(actor, Action::CreateCustomer)?;
        let new = input.parse(self.currency())?;
        Ok(self.store.create_customer(&actor.label(), new).await?)
    }

    /// Customers matching `filter`, with how many match in all.
    pub async fn customers(
        &self,
        actor: &Actor,
        filter: &CustomerFilter,
        default_per_page: i64,
    ) -> AppResult<(Vec<Customer>, i64, Paging)> {
        self.authorize(actor, Action::ViewCustomers)?;
        let (query, paging) = filter.parse(default_per_page)?;
        let (items, total) = self.store.list_customers(&query, self.today()).await?;
        Ok((items, total, paging))
    }

    /// Every customer matching `filter`, for an export (at most `cap`).
    pub async fn all_customers(
        &self,
        actor: &Actor,
        filter: &CustomerFilter,
        cap: i64,
    ) -> AppResult<Vec<Customer>> {
        self.authorize(actor, Action::ViewCustomers)?;
        let (mut query, _) = filter.parse(DEFAULT_PER_PAGE)?;
        query.limit = cap;
        query.offset = 0;
        Ok(self.store.list_customers(&query, self.today()).await?.0)
    }

    pub async fn customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        self.authorize(actor, Action::ViewCustomers)?;
        Ok(self.store.customer(id, self.today()).await?)
    }

    /// Edits a customer. Changing details needs [`Action::EditCustomer`];
    /// the reminders switch needs [`Action::PauseReminders`].
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        edit: &CustomerEdit,
    ) -> AppResult<Customer> {
        if edit.touches_details() || edit.reminders_paused.is_none() {
            self.authorize(actor, Action::EditCustomer)?;
        }
        if edit.reminders_paused.is_some() {
            self.authorize(actor, Action::PauseReminders)?;
        }
        let patch = edit.parse(self.currency())?;
        Ok(self
            .store
            .update_customer(&actor.label(), id, patch, self.today())
            .await?)
    }

    /// Stops or resumes a customer's scheduled reminders.
    pub async fn pause_reminders(
        &self,
        actor: &Actor,
        id: i64,
        paused: bool,
    ) -> AppResult<Customer> {
        self.authorize(actor, Action::PauseReminders)?;
        let patch = CustomerPatch {
            reminders_paused: Some(paused),
            ..Default::default()
        };
        Ok(self
            .store
            .update_customer(&actor.label(), id, patch, self.today())
            .await?)
    }

    /// Archives a customer; with a balance open only when forced with a reason.
    pub async fn delete_customer(
        &self,
        actor: &Actor,
        id: i64,
        force: bool,
        reason: Option<&str>,
    ) -> AppResult<Customer> {
        self.authorize(actor, Action::DeleteCustomer)?;
        let reason = match reason {
            Some(r) => crate::domain::fields::TextKind::Reason
                .parse_optional(r)
                .map_err(|e| AppError::invalid("reason", e.0))?,
            None => None,
        };
        self.store
            .delete_customer(&actor.label(), id, force, reason, self.today())
            .await
            .map_err(|e| self.refused(e))
    }

    pub async fn restore_customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        self.authorize(actor, Action::RestoreCustomer)?;
        Ok(self
            .store
            .restore_customer(&actor.label(), id, self.today())
            .await?)
    }

    /// Erases a deleted customer's personal data and login, keeping every
    /// amount of their ledger; refused (409 `not_deleted`) for a customer
    /// who is not deleted. The `.eml` copies of their emails written on
    /// this node are removed too.
    pub async fn purge_customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        self.authorize(actor, Action::PurgeCustomer)?;
        let purged = self
            .store
            .purge_customer(&actor.label(), id, self.today())
            .await
            .map_err(|e| self.refused(e))?;
        for path in &purged.eml_paths {
            if let Err(e) = std::fs::remove_file(path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path, error = %e, "could not remove a purged customer's email copy");
            }
        }
        Ok(purged.customer)
    }

    /// Emails the customer a one-time link to choose a new password;
    /// at most a few per customer and hour.
    pub async fn reset_credentials(
        &self,
        actor: &Actor,
        id: i64,
        client: &Client,
    ) -> AppResult<Customer> {
        self.authorize(actor, Action::ResetCredentials)?;
        let customer = self.store.customer(id, self.today()).await?;
        if let Err(seconds) = self
            .store
            .allow_reset_request(&customer.username, client)
            .await?
        {
            return Err(AppError::Throttled(seconds));
        }
        Ok(self
            .store
            .reset_credentials(&actor.label(), id, self.today())
            .await?)
    }
}

impl Customer {
    /// Whether the customer was deleted (archived).
    pub fn is_deleted(&self) -> bool {
        self.status == CustomerStatus::Deleted
    }
}
