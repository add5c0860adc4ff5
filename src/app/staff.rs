//! Staff accounts: who works the shop's books and with which role.

use super::input::{Fields, Patch};
use super::{Action, Actor, App, AppError, AppResult, Principal, StaffMember};
use crate::domain::access::{self, Role};
use crate::domain::fields::Email;
use crate::store::staff::{NewStaff, StaffPatch};

/// A new account as typed or sent.
#[derive(Debug, Clone, Default)]
pub struct StaffInput {
    pub username: String,
    pub password: String,
    pub role: String,
    pub email: Option<String>,
}

/// Changes to an account; absent parts stay as they are.
#[derive(Debug, Clone, Default)]
pub struct StaffEdit {
    pub role: Option<String>,
    pub email: Patch<String>,
    pub password: Option<String>,
}

fn parse_role(f: &mut Fields, raw: &str) -> Option<Role> {
    let role = Role::parse(raw.trim());
    if role.is_none() {
        f.fail(
            "role",
            format!("'{raw}' is not a role; use owner, admin or staff"),
        );
    }
    role
}

/// The id and role of a staff caller.
fn staff_of(actor: &Actor) -> AppResult<(i64, Role)> {
    match actor {
        Principal::Staff { id, role, .. } => Ok((*id, *role)),
        Principal::Customer { .. } => Err(AppError::Forbidden(
            "this is for the shop's staff only".to_string(),
        )),
    }
}

/// The roles `actor` may give: the owner any, an admin those below owner.
pub fn assignable_roles(actor: &Actor) -> Vec<Role> {
    match actor {
        Principal::Staff {
            role: Role::Owner, ..
        } => vec![Role::Staff, Role::Admin, Role::Owner],
        Principal::Staff { .. } => vec![Role::Staff, Role::Admin],
        Principal::Customer { .. } => Vec::new(),
    }
}

impl App {
    pub async fn staff_accounts(&self, actor: &Actor) -> AppResult<Vec<StaffMember>> {
        self.authorize(actor, Action::ManageStaff)?;
        Ok(self.store.list_staff().await?)
    }

    pub async fn staff_account(&self, actor: &Actor, id: i64) -> AppResult<StaffMember> {
        self.authorize(actor, Action::ManageStaff)?;
        Ok(self.store.staff_member(id).await?)
    }

    pub async fn create_staff(&self, actor: &Actor, input: &StaffInput) -> AppResult<StaffMember> {
        self.authorize(actor, Action::ManageStaff)?;
        let (_, actor_role) = staff_of(actor)?;
        let mut f = Fields::default();
        let username = f.field("username", access::check_username(&input.username));
        let role = parse_role(&mut f, &input.role);
        if let Err(why) = access::check_new_password(&input.password, input.username.trim()) {
            f.fail("password", format!("the password {why}"));
        }
        let email = f
            .optional("email", input.email.as_deref(), Email::parse)
            .map(|e| e.as_str().to_string());
        let new = match (username, role) {
            (Some(username), Some(role)) => Some(NewStaff {
                username,
                password: input.password.clone(),
                role,
                email,
            }),
            _ => None,
        };
        let new = f.finish(new)?;
        Ok(self
            .store
            .create_staff(&actor.label(), actor_role, new)
            .await?)
    }

    pub async fn update_staff(
        &self,
        actor: &Actor,
        id: i64,
        edit: &StaffEdit,
    ) -> AppResult<StaffMember> {
        self.authorize(actor, Action::ManageStaff)?;
        let (_, actor_role) = staff_of(actor)?;
        let mut f = Fields::default();
        let role = edit.role.as_deref().and_then(|r| parse_role(&mut f, r));
        let email = match &edit.email {
            Patch::Missing => None,
            Patch::Null => Some(None),
            Patch::Value(e) if e.trim().is_empty() => Some(None),
            Patch::Value(e) => f
                .field("email", Email::parse(e))
                .map(|e| Some(e.as_str().to_string())),
        };
        if let Some(password) = &edit.password {
            let target = self.store.staff_member(id).await?;
            if let Err(why) = access::check_new_password(password, &target.username) {
                f.fail("password", format!("the password {why}"));
            }
        }
        let patch = f.finish(Some(StaffPatch {
            role,
            email,
            password: edit.password.clone(),
        }))?;
        Ok(self
            .store
            .update_staff(&actor.label(), actor_role, id, patch)
            .await?)
    }

    /// Disables an account; its history stays and its sessions end.
    pub async fn delete_staff(&self, actor: &Actor, id: i64) -> AppResult<StaffMember> {
        self.authorize(actor, Action::ManageStaff)?;
        let (actor_id, actor_role) = staff_of(actor)?;
        Ok(self
            .store
            .delete_staff(&actor.label(), actor_id, actor_role, id)
            .await?)
    }
}

/// Whether `actor` may change or remove `member`: never themselves, never
/// a deleted account, and only the owner touches owners.
pub fn manageable(actor: &Actor, member: &StaffMember) -> bool {
    match actor {
        Principal::Staff { id, role, .. } => {
            member.id != *id
                && member.disabled_at.is_none()
                && (*role == Role::Owner || member.role != Role::Owner)
        }
        Principal::Customer { .. } => false,
    }
}
