//! Staff accounts: the owner created on first start, and the accounts the
//! owner and admins manage.

use super::activity::{self, Change};
use super::db::{Row, Tx, is_unique_violation};
use super::{Store, StoreError, StoreResult, now_text};
use crate::args;
use crate::domain::access::{self, Role};
use serde::Serialize;
use serde_json::json;

/// A staff account as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub email: Option<String>,
    /// Set when the account was deleted; it can no longer sign in.
    pub disabled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl StaffMember {
    fn from_row(row: &Row) -> StoreResult<Self> {
        Ok(StaffMember {
            id: row.i64("id")?,
            username: row.text("username")?,
            role: Role::parse(&row.text("role")?).unwrap_or(Role::Staff),
            email: row.opt_text("email")?,
            disabled_at: row.opt_text("disabled_at")?,
            created_at: row.text("created_at")?,
            updated_at: row.text("updated_at")?,
        })
    }
}

pub struct NewStaff {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub email: Option<String>,
}

#[derive(Default)]
pub struct StaffPatch {
    pub role: Option<Role>,
    pub email: Option<Option<String>>,
    pub password: Option<String>,
}

/// Who may change an account: the owner any; an admin those below owner.
fn may_manage(actor_role: Role, target_role: Role) -> bool {
    actor_role == Role::Owner || (actor_role == Role::Admin && target_role != Role::Owner)
}

async fn load_staff(tx: &mut Tx, id: i64) -> StoreResult<StaffMember> {
    let row = tx
        .fetch_optional("SELECT * FROM staff_users WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| StoreError::not_found("staff account", id))?;
    StaffMember::from_row(&row)
}

async fn active_owners(tx: &mut Tx) -> StoreResult<i64> {
    Ok(tx
        .scalar(
            "SELECT COUNT(*) FROM staff_users WHERE role = 'owner' AND disabled_at IS NULL",
            &[],
        )
        .await?)
}

async fn hash_off_thread(password: String) -> String {
    tokio::task::spawn_blocking(move || access::hash_password(&password))
        .await
        .expect("hashing does not panic")
}

impl Store {
    /// Creates the owner account on first start. Returns the password when it
    /// was generated, so that start-up can print it once.
    pub async fn ensure_owner(
        &self,
        username: &str,
        password: Option<&str>,
        email: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.db.write().await?;
        let owners = tx
            .scalar("SELECT COUNT(*) FROM staff_users WHERE role = 'owner'", &[])
            .await?;
        if owners > 0 {
            // The owner's email follows the configuration.
            if let Some(email) = email {
                tx.execute(
                    "UPDATE staff_users SET email = $1, updated_at = $2
                     WHERE username = $3 AND role = 'owner' AND (email IS NULL OR email <> $1)",
                    args![email, now_text(), username],
                )
                .await?;
                tx.commit().await?;
            }
            return Ok(None);
        }
        let generated = password.is_none().then(access::generate_password);
        let plain = password
            .map(str::to_string)
            .or_else(|| generated.clone())
            .unwrap_or_default();
        let hash = tokio::task::spawn_blocking(move || access::hash_password(&plain))
            .await
            .expect("hashing does not panic");
        let now = now_text();
        let inserted = tx
            .fetch_one(
                "INSERT INTO staff_users (username, password_hash, role, email, created_at, updated_at)
                 VALUES ($1, $2, 'owner', $4, $3, $3) RETURNING id",
                args![username, hash, now, email],
            )
            .await;
        let id = match inserted {
            Ok(row) => row.i64("id")?,
            // Another node starting at the same moment created it first.
            Err(e) if super::db::is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        activity::record(
            &mut tx,
            "system",
            Change {
                action: "staff.created",
                entity_type: "staff",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({"username": username, "role": "owner"})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(generated)
    }

    pub async fn list_staff(&self) -> StoreResult<Vec<StaffMember>> {
        let mut tx = self.db.read().await?;
        let rows = tx
            .fetch_all("SELECT * FROM staff_users ORDER BY id", &[])
            .await?;
        rows.iter().map(StaffMember::from_row).collect()
    }

    pub async fn staff_member(&self, id: i64) -> StoreResult<StaffMember> {
        let mut tx = self.db.read().await?;
        load_staff(&mut tx, id).await
    }

    pub async fn create_staff(
        &self,
        actor: &str,
        actor_role: Role,
        new: NewStaff,
    ) -> StoreResult<StaffMember> {
        if !may_manage(actor_role, new.role) {
            return Err(StoreError::Forbidden(
                "only the owner can create an owner account".into(),
            ));
        }
        let hash = hash_off_thread(new.password.clone()).await;
        let mut tx = self.db.write().await?;
        let taken = tx
            .scalar(
                "SELECT COUNT(*) FROM customers WHERE lower(username) = lower($1)",
                args![new.username.clone()],
            )
            .await?;
        if taken > 0 {
            return Err(StoreError::conflict(
                "username_taken",
                Some("username"),
                format!("the user name {} is taken", new.username),
            ));
        }
        let now = now_text();
        let inserted = tx
            .fetch_one(
                "INSERT INTO staff_users (username, password_hash, role, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                args![new.username.clone(), hash, new.role.as_str(), new.email.clone(), now],
            )
            .await;
        let id = match inserted {
            Ok(row) => row.i64("id")?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "username_taken",
                    Some("username"),
                    format!("the user name {} is taken", new.username),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let member = load_staff(&mut tx, id).await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "staff.created",
                entity_type: "staff",
                entity_id: id.to_string(),
                before: None,
                after: Some(json!({"username": member.username, "role": member.role, "email": member.email})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    pub async fn update_staff(
        &self,
        actor: &str,
        actor_role: Role,
        id: i64,
        patch: StaffPatch,
    ) -> StoreResult<StaffMember> {
        let hash = match &patch.password {
            Some(p) => Some(hash_off_thread(p.clone()).await),
            None => None,
        };
        let mut tx = self.db.write().await?;
        let before = load_staff(&mut tx, id).await?;
        if before.disabled_at.is_some() {
            return Err(StoreError::conflict(
                "staff_deleted",
                None,
                format!("staff account {id} is deleted"),
            ));
        }
        let new_role = patch.role.unwrap_or(before.role);
        if !may_manage(actor_role, before.role) || !may_manage(actor_role, new_role) {
            return Err(StoreError::Forbidden(
                "only the owner can change an owner account or make an owner".into(),
            ));
        }
        if before.role == Role::Owner
            && new_role != Role::Owner
            && active_owners(&mut tx).await? <= 1
        {
            return Err(StoreError::conflict(
                "last_owner",
                Some("role"),
                "the shop needs at least one owner; make someone else owner first",
            ));
        }
        let email = patch.email.clone().unwrap_or(before.email.clone());
        tx.execute(
            "UPDATE staff_users SET role = $1, email = $2, password_hash = COALESCE($3, password_hash), updated_at = $4 WHERE id = $5",
            args![new_role.as_str(), email, hash.clone(), now_text(), id],
        )
        .await?;
        if hash.is_some() {
            tx.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
                args![now_text(), id],
            )
            .await?;
        }
        let after = load_staff(&mut tx, id).await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "staff.updated",
                entity_type: "staff",
                entity_id: id.to_string(),
                before: Some(json!({"role": before.role, "email": before.email})),
                after: Some(json!({"role": after.role, "email": after.email, "password_changed": hash.is_some()})),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        Ok(after)
    }

    /// Deletes an account: it stays in the records, disabled, its sessions ended.
    pub async fn delete_staff(
        &self,
        actor: &str,
        actor_id: i64,
        actor_role: Role,
        id: i64,
    ) -> StoreResult<StaffMember> {
        let mut tx = self.db.write().await?;
        let before = load_staff(&mut tx, id).await?;
        if before.disabled_at.is_some() {
            return Err(StoreError::conflict(
                "staff_deleted",
                None,
                format!("staff account {id} is already deleted"),
            ));
        }
        if !may_manage(actor_role, before.role) {
            return Err(StoreError::Forbidden(
                "only the owner can delete an owner account".into(),
            ));
        }
        if id == actor_id {
            return Err(StoreError::conflict(
                "self_delete",
                None,
                "you cannot delete your own account",
            ));
        }
        if before.role == Role::Owner && active_owners(&mut tx).await? <= 1 {
            return Err(StoreError::conflict(
                "last_owner",
                None,
                "the shop needs at least one owner",
            ));
        }
        let now = now_text();
        tx.execute(
            "UPDATE staff_users SET disabled_at = $1, updated_at = $1 WHERE id = $2",
            args![now.clone(), id],
        )
        .await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
            args![now, id],
        )
        .await?;
        let after = load_staff(&mut tx, id).await?;
        activity::record(
            &mut tx,
            actor,
            Change {
                action: "staff.deleted",
                entity_type: "staff",
                entity_id: id.to_string(),
                before: Some(json!({"username": before.username, "role": before.role})),
                after: Some(json!({"disabled_at": after.disabled_at})),
            },
        )
        .await?;
        tx.commit().await?;
        self.forget_sessions();
        Ok(after)
    }
}
