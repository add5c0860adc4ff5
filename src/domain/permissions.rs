//! Who may do what: the one table every face of duetrack reads. The
//! application layer refuses an action the table does not grant; the API's
//! OpenAPI security scopes, the web console's menus and buttons, and the
//! authorization tests are all derived from it, so they cannot disagree.

use super::access::Role;

/// Everything a signed-in caller can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// The dashboard's figures.
    ViewDashboard,
    /// Customers, their dues, payments and statements; the customer list export.
    ViewCustomers,
    CreateCustomer,
    /// Change a customer's name, contact details, category, notes or credit limit.
    EditCustomer,
    /// Stop or resume a customer's scheduled reminders.
    PauseReminders,
    DeleteCustomer,
    RestoreCustomer,
    /// Erase a deleted customer's personal data and login, keeping the ledger.
    PurgeCustomer,
    /// Email a customer a link to choose a new password.
    ResetCredentials,
    AddDue,
    RecordPayment,
    /// Void a due or a payment.
    VoidEntry,
    /// See, confirm and reject the payments customers report.
    ReviewPayments,
    /// Write to customers by email.
    SendMessage,
    /// The log of emails.
    ViewEmails,
    /// The activity log.
    ViewActivity,
    /// The sign-in log.
    ViewSignins,
    /// List, add, change and remove staff accounts.
    ManageStaff,
    /// The shop's settings.
    EditSettings,
    /// A customer's own account: balance, dues, payments, statement, receipts.
    ViewOwnAccount,
    /// A customer reporting a payment they made.
    ReportPayment,
    /// A customer editing their own contact details.
    EditOwnProfile,
    /// A customer closing their own account.
    CloseOwnAccount,
    /// Change one's own password (staff and customers).
    ChangeOwnPassword,
    /// End one's own session (staff and customers).
    SignOut,
}

/// Who an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Staff with at least this role.
    Staff(Role),
    /// The signed-in customer, for their own account only.
    Customer,
    /// Anyone signed in.
    SignedIn,
}

/// Who is asking, reduced to what the table needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Staff(Role),
    Customer,
}

impl Action {
    /// Every action, for tests and documentation.
    pub const ALL: [Action; 25] = [
        Action::ViewDashboard,
        Action::ViewCustomers,
        Action::CreateCustomer,
        Action::EditCustomer,
        Action::PauseReminders,
        Action::DeleteCustomer,
        Action::RestoreCustomer,
        Action::PurgeCustomer,
        Action::ResetCredentials,
        Action::AddDue,
        Action::RecordPayment,
        Action::VoidEntry,
        Action::ReviewPayments,
        Action::SendMessage,
        Action::ViewEmails,
        Action::ViewActivity,
        Action::ViewSignins,
        Action::ManageStaff,
        Action::EditSettings,
        Action::ViewOwnAccount,
        Action::ReportPayment,
        Action::EditOwnProfile,
        Action::CloseOwnAccount,
        Action::ChangeOwnPassword,
        Action::SignOut,
    ];

    /// The table itself.
    pub const fn holder(self) -> Holder {
        use Action::*;
        use Holder::*;
        match self {
            ViewDashboard | ViewCustomers | CreateCustomer | ResetCredentials | AddDue
            | RecordPayment | ReviewPayments | ViewEmails => Staff(Role::Staff),
            EditCustomer | PauseReminders | DeleteCustomer | RestoreCustomer | VoidEntry
            | SendMessage | ViewActivity | ViewSignins | ManageStaff => Staff(Role::Admin),
            EditSettings | PurgeCustomer => Staff(Role::Owner),
            ViewOwnAccount | ReportPayment | EditOwnProfile | CloseOwnAccount => Customer,
            ChangeOwnPassword | SignOut => SignedIn,
        }
    }

    /// Whether `caller` may do this.
    pub fn allows(self, caller: Caller) -> bool {
        match (self.holder(), caller) {
            (Holder::SignedIn, _) => true,
            (Holder::Staff(least), Caller::Staff(role)) => role >= least,
            (Holder::Customer, Caller::Customer) => true,
            _ => false,
        }
    }

    /// The OpenAPI security scopes of a route that performs this action:
    /// the least role, or `customer`.
    pub fn scopes(self) -> Vec<&'static str> {
        match self.holder() {
            Holder::Staff(role) => vec![role.as_str()],
            Holder::Customer => vec!["customer"],
            Holder::SignedIn => vec!["customer", "staff"],
        }
    }

    /// Why `caller` is refused, in words for them.
    pub fn refusal(self, caller: Caller) -> String {
        match (self.holder(), caller) {
            (Holder::Staff(least), Caller::Staff(role)) => format!(
                "this needs the {} role; you are signed in as {}",
                least.as_str(),
                role.as_str()
            ),
            (Holder::Staff(_), Caller::Customer) => "this is for the shop's staff only".to_string(),
            (Holder::Customer, Caller::Staff(_)) => {
                "this is the customer portal; staff use the /api/v1/customers routes".to_string()
            }
            _ => "you may not do this".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_role_may_do_all_a_lower_one_may() {
        for action in Action::ALL {
            for (lower, higher) in [(Role::Staff, Role::Admin), (Role::Admin, Role::Owner)] {
                if action.allows(Caller::Staff(lower)) {
                    assert!(action.allows(Caller::Staff(higher)), "{action:?}");
                }
            }
        }
    }

    #[test]
    fn customers_and_staff_never_share_an_action_but_their_own_password() {
        for action in Action::ALL {
            let both = action.allows(Caller::Customer) && action.allows(Caller::Staff(Role::Staff));
            assert_eq!(
                both,
                matches!(action, Action::ChangeOwnPassword | Action::SignOut),
                "{action:?}"
            );
        }
    }

    #[test]
    fn staff_may_not_message_customers_or_pause_their_reminders() {
        let staff = Caller::Staff(Role::Staff);
        assert!(!Action::SendMessage.allows(staff));
        assert!(!Action::PauseReminders.allows(staff));
        assert!(Action::RecordPayment.allows(staff));
        assert!(!Action::EditSettings.allows(Caller::Staff(Role::Admin)));
        assert_eq!(Action::VoidEntry.scopes(), vec!["admin"]);
    }

    #[test]
    fn only_the_owner_may_purge_a_customer() {
        assert!(Action::PurgeCustomer.allows(Caller::Staff(Role::Owner)));
        assert!(!Action::PurgeCustomer.allows(Caller::Staff(Role::Admin)));
        assert!(!Action::PurgeCustomer.allows(Caller::Staff(Role::Staff)));
        assert!(!Action::PurgeCustomer.allows(Caller::Customer));
        assert_eq!(Action::PurgeCustomer.scopes(), vec!["owner"]);
    }
}
