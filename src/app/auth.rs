//! Signing in and out, sessions, and passwords: set from a one-time link or
//! changed by their holder.

use super::{Action, Actor, App, AppResult, Client, LoginOutcome, SetPasswordOutcome};
use crate::store::auth::Session;

impl App {
    /// Signs in a staff member or customer by user name (or a customer's
    /// email). Refuses absurd input without touching the database.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: &Client,
    ) -> AppResult<LoginOutcome> {
        let username = username.trim();
        if username.is_empty()
            || password.is_empty()
            || username.len() > 254
            || password.len() > 1024
        {
            return Ok(LoginOutcome::Refused);
        }
        let hours = self.config().session_hours;
        Ok(self.store.login(username, password, client, hours).await?)
    }

    /// The live session behind a token, if any.
    pub async fn session(&self, token: &str) -> AppResult<Option<Session>> {
        let idle = self.config().session_idle_minutes;
        Ok(self.store.session(token, idle).await?)
    }

    /// Ends the caller's own session.
    pub async fn sign_out(&self, session: &Session) -> AppResult<()> {
        self.authorize(&session.principal, Action::SignOut)?;
        Ok(self.store.revoke_session(&session.token_hash).await?)
    }

    /// Completes an invitation or reset link.
    pub async fn set_password_with_link(
        &self,
        token: &str,
        password: &str,
        client: &Client,
    ) -> AppResult<SetPasswordOutcome> {
        if token.trim().is_empty() || token.len() > 200 {
            return Ok(SetPasswordOutcome::BadToken);
        }
        Ok(self
            .store
            .set_password_with_token(token, password, client)
            .await?)
    }

    /// Changes the caller's own password; their other sessions end.
    pub async fn change_own_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
        client: &Client,
    ) -> AppResult<()> {
        self.authorize(&session.principal, Action::ChangeOwnPassword)?;
        Ok(self
            .store
            .change_password(session, current, new, client)
            .await?)
    }

    /// Whether the caller is a staff member (for where to land after sign-in).
    pub fn is_staff(actor: &Actor) -> bool {
        matches!(actor, super::Principal::Staff { .. })
    }
}

/// The cookie that carries a browser's session token.
pub const SESSION_COOKIE: &str = "duetrack_session";
/// The cookie a browser's scripts read the CSRF token from.
pub const CSRF_COOKIE: &str = "duetrack_csrf";
