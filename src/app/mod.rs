//! The application core: every use case of duetrack, once. The JSON API
//! (`http`) and the web pages (`web`) are two thin faces over it: they turn a
//! request into raw input and a caller, call one method here, and render
//! what comes back. Here a use case asks the permission table
//! ([`crate::domain::permissions`]) whether the caller may act, parses raw
//! input into domain types (one set of field errors), and hands typed
//! commands to the store. Calls go one way: faces → app → domain and store.

mod auth;
mod customers;
mod error;
pub mod input;
mod ledger;
mod logs;
mod messages;
pub mod portal;
mod settings;
pub mod staff;
pub mod tables;

pub use crate::domain::permissions::{Action, Caller};
pub use crate::store::activity::{ActivityEntry, ActivityFilter};
pub use crate::store::auth::Session;
pub use crate::store::auth::{
    Client, LoginOutcome, NewSession, Principal, SetPasswordOutcome, SigninAttempt, SigninFilter,
};
pub use crate::store::customers::{Customer, CustomerSort, CustomerStatus};
pub use crate::store::dashboard::{Dashboard, OperationalFigures, Period, StatusCounts};
pub use crate::store::ledger::{Due, Payment, Statement, StatementLine};
pub use crate::store::outbox::{Audience, Email, EmailFilter, ManualOutcome};
pub use crate::store::staff::StaffMember;
pub use auth::{CSRF_COOKIE, SESSION_COOKIE};
pub use customers::{CustomerFilter, parse_flag};
pub use error::{AppError, AppResult, FieldProblem};
pub use ledger::{PaymentRecorded, RepeatedPayment};
pub use logs::time_bound;
pub use settings::apply_saved_settings;

use crate::config::{Config, LiveConfig};
use crate::domain::money::{Currency, Money};
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// Who is asking: a signed-in staff member or customer.
pub type Actor = Principal;

/// The application: the store, the configuration the service started with,
/// and the configuration in force now.
/// Cheap to clone; every request holds one.
#[derive(Clone)]
pub struct App {
    store: Store,
    /// The configuration the service started with, before saved settings.
    pub base: Arc<Config>,
    /// The configuration in force, saved settings included; shared with the
    /// scheduler, the letters and the settings follower.
    live: Arc<LiveConfig>,
}

fn caller_of(actor: &Actor) -> Caller {
    match actor {
        Principal::Staff { role, .. } => Caller::Staff(*role),
        Principal::Customer { .. } => Caller::Customer,
    }
}

/// The server's console (`duetrack admin …`): acts with the owner's rights
/// and is named "console" in the activity log.
pub fn console() -> Actor {
    Principal::Staff {
        id: 0,
        username: "console".to_string(),
        role: crate::domain::access::Role::Owner,
    }
}

/// Whether `actor` may do `action`: what menus and buttons ask.
pub fn may(actor: &Actor, action: Action) -> bool {
    action.allows(caller_of(actor))
}

impl App {
    pub fn new(store: Store, base: Arc<Config>, live: Arc<LiveConfig>) -> Self {
        Self { store, base, live }
    }

    /// The configuration as it stands now, saved settings included: the one
    /// place the running configuration is read from.
    pub fn config(&self) -> Arc<Config> {
        self.live.get()
    }

    /// A store error in the application's terms, refusals worded in the
    /// shop's currency.
    fn refused(&self, error: StoreError) -> AppError {
        AppError::from_store(error, &self.currency())
    }

    pub fn currency(&self) -> Currency {
        self.config().currency
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.config().today()
    }

    /// An amount as the API shows it: "1250.50".
    pub fn money(&self, amount: Money) -> String {
        self.currency().format(amount)
    }

    /// An amount as people read it: "₹1,250.50".
    pub fn display_money(&self, amount: Money) -> String {
        self.currency().display(amount)
    }

    /// Refuses `actor` unless the permission table grants `action`.
    pub fn authorize(&self, actor: &Actor, action: Action) -> AppResult<()> {
        let caller = caller_of(actor);
        if action.allows(caller) {
            Ok(())
        } else {
            Err(AppError::Forbidden(action.refusal(caller)))
        }
    }

    /// The customer id of a customer caller allowed `action` on their own account.
    fn own_account(&self, actor: &Actor, action: Action) -> AppResult<i64> {
        self.authorize(actor, action)?;
        match actor {
            Principal::Customer { id, .. } => Ok(*id),
            Principal::Staff { .. } => Err(AppError::Forbidden(
                action.refusal(caller_of(actor)).to_string(),
            )),
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ready(&self) -> AppResult<()> {
        self.store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            AppError::Unavailable
        })
    }

    /// Figures for `/metrics`: no money, no names.
    pub async fn operational_figures(&self) -> AppResult<OperationalFigures> {
        Ok(self.store.operational_figures().await?)
    }

    /// The outbox's depth and the age in seconds of its oldest waiting
    /// message, for `/metrics`.
    pub async fn outbox_depth(&self) -> AppResult<(i64, f64)> {
        Ok(self.store.outbox_depth().await?)
    }

    /// Each database pool's use now, for `/metrics`.
    pub fn pool_use(&self) -> Vec<crate::store::db::PoolUse> {
        self.store.db.pool_use()
    }

    /// The dashboard's figures as of today.
    pub async fn dashboard(&self, actor: &Actor) -> AppResult<Dashboard> {
        self.authorize(actor, Action::ViewDashboard)?;
        Ok(self.store.dashboard(self.today()).await?)
    }

    /// Portal payments waiting for staff; 0 for callers who may not review them.
    pub async fn pending_count(&self, actor: &Actor) -> AppResult<i64> {
        if !may(actor, Action::ReviewPayments) {
            return Ok(0);
        }
        Ok(self.store.pending_payment_count().await?)
    }
}
