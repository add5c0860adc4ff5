//! Staff accounts and sign-in sessions.

use super::activity::{self, Change};
use super::{Store, StoreError, StoreResult, now_text, timestamp_text};
use crate::args;
use crate::domain::access::{self, Role};
use serde_json::json;

/// A signed-in staff member, as the HTTP layer sees the caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub staff_id: i64,
    pub username: String,
    pub role: Role,
    pub token_hash: String,
}

impl Actor {
    /// How the activity log names this caller.
    pub fn label(&self) -> &str {
        &self.username
    }
}

/// A session just created; the token is shown to the caller once.
pub struct NewSession {
    pub token: String,
    pub role: Role,
    pub expires_at: String,
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

    /// Checks a user name and password; on success opens a session.
    /// Returns `None` for any wrong combination, without saying which part.
    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
        hours: i64,
    ) -> StoreResult<Option<NewSession>> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT id, password_hash, role FROM staff_users WHERE username = $1 AND disabled_at IS NULL",
                args![username],
            )
            .await?;
        drop(tx);
        let (id, stored, role) = match &row {
            Some(r) => (
                Some(r.i64("id")?),
                r.text("password_hash")?,
                r.text("role")?,
            ),
            None => (None, access::decoy_hash().to_string(), String::new()),
        };
        let password = password.to_string();
        let matches =
            tokio::task::spawn_blocking(move || access::verify_password(&password, &stored))
                .await
                .expect("verifying does not panic");
        let (Some(id), true) = (id, matches) else {
            return Ok(None);
        };
        let role = Role::parse(&role)
            .ok_or_else(|| StoreError::conflict("bad_role", None, "account has an unknown role"))?;
        let token = access::new_token();
        let now = chrono::Utc::now();
        let expires_at = timestamp_text(now + chrono::Duration::hours(hours));
        let mut tx = self.db.write().await?;
        tx.execute(
            "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![access::token_hash(&token), id, timestamp_text(now), expires_at.clone()],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(NewSession {
            token,
            role,
            expires_at,
        }))
    }

    /// Finds the staff member behind a live token.
    pub async fn staff_session(&self, token: &str) -> StoreResult<Option<Actor>> {
        let hash = access::token_hash(token);
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT u.id, u.username, u.role FROM sessions s JOIN staff_users u ON u.id = s.staff_id
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled_at IS NULL",
                args![hash.clone(), now_text()],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(role) = Role::parse(&row.text("role")?) else {
            return Ok(None);
        };
        Ok(Some(Actor {
            staff_id: row.i64("id")?,
            username: row.text("username")?,
            role,
            token_hash: hash,
        }))
    }

    pub async fn revoke_session(&self, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        tx.execute(
            "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            args![now_text(), token_hash],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes expired sessions and idempotency keys older than two days.
    pub async fn purge_expired(&self) -> StoreResult<()> {
        let now = chrono::Utc::now();
        let mut tx = self.db.write().await?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_at < $1",
            args![timestamp_text(now - chrono::Duration::days(1))],
        )
        .await?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            args![timestamp_text(now - chrono::Duration::hours(48))],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
