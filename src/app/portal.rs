//! A signed-in customer's own account: reading it, editing their contact
//! details, and closing it. Every use case here acts on the caller's own
//! id, never on one from the request. (Reporting a payment is in `ledger`.)

use super::input::{Fields, Patch, patched};
use super::{Action, Actor, App, AppError, AppResult, Customer, Due, Payment, Statement};
use crate::domain::fields::{Email, Phone};
use crate::store::customers::CustomerPatch;
use chrono::NaiveDate;

/// A customer's account as they see it.
pub struct OwnAccount {
    pub customer: Customer,
    /// Unpaid dues, oldest first.
    pub open_dues: Vec<Due>,
    /// Every payment, newest first.
    pub payments: Vec<Payment>,
}

impl OwnAccount {
    /// Payments reported and not yet confirmed.
    pub fn pending(&self) -> impl Iterator<Item = &Payment> {
        self.payments.iter().filter(|p| p.is_pending())
    }
}

impl App {
    pub async fn own_account_view(&self, actor: &Actor) -> AppResult<OwnAccount> {
        let id = self.own_account(actor, Action::ViewOwnAccount)?;
        let customer = self.store.customer(id, self.today()).await?;
        let open_dues = self
            .store
            .customer_dues(id)
            .await?
            .into_iter()
            .filter(|d| d.is_open())
            .collect();
        let payments = self.store.customer_payments(id).await?;
        Ok(OwnAccount {
            customer,
            open_dues,
            payments,
        })
    }

    /// The caller's payments, newest first.
    pub async fn own_payments(&self, actor: &Actor) -> AppResult<Vec<Payment>> {
        let id = self.own_account(actor, Action::ViewOwnAccount)?;
        Ok(self.store.customer_payments(id).await?)
    }

    /// One of the caller's payments (a receipt); another's is "not found".
    pub async fn own_payment(&self, actor: &Actor, payment_id: i64) -> AppResult<Payment> {
        let id = self.own_account(actor, Action::ViewOwnAccount)?;
        match self.store.payment(payment_id).await {
            Ok(p) if p.customer_id == id => Ok(p),
            Ok(_) | Err(crate::store::StoreError::NotFound { .. }) => Err(AppError::NotFound {
                entity: "payment",
                id: payment_id.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn own_statement(
        &self,
        actor: &Actor,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> AppResult<Statement> {
        let id = self.own_account(actor, Action::ViewOwnAccount)?;
        Ok(self
            .store
            .statement(id, from, to, self.config().timezone)
            .await?)
    }

    /// Changes the caller's phone number or email; blank clears it.
    pub async fn update_own_profile(
        &self,
        actor: &Actor,
        phone: Patch<String>,
        email: Patch<String>,
    ) -> AppResult<Customer> {
        let id = self.own_account(actor, Action::EditOwnProfile)?;
        let mut f = Fields::default();
        let phone = patched(&mut f, "phone", &phone, Phone::parse);
        let email = patched(&mut f, "email", &email, Email::parse);
        let patch = f.finish(Some(CustomerPatch {
            phone,
            email,
            ..Default::default()
        }))?;
        Ok(self
            .store
            .update_customer(&actor.label(), id, patch, self.today())
            .await?)
    }

    /// Closes the caller's account, only when nothing is owed or waiting.
    pub async fn close_own_account(&self, actor: &Actor) -> AppResult<Customer> {
        let id = self.own_account(actor, Action::CloseOwnAccount)?;
        self.store
            .close_own_account(&actor.label(), id, self.today())
            .await
            .map_err(|e| self.refused(e))
    }
}
