//! The shop's settings, edited live by the owner and followed by every node.

use super::{Action, Actor, App, AppResult};
use crate::config::Config;
use std::sync::Arc;

impl App {
    /// Saves the changed settings; returns the configuration now in force.
    pub async fn save_settings(
        &self,
        actor: &Actor,
        changes: &[(String, String)],
    ) -> AppResult<Arc<Config>> {
        self.authorize(actor, Action::EditSettings)?;
        self.store
            .save_settings(&actor.label(), &self.base, changes)
            .await?;
        Ok(self.config())
    }

    /// The settings as the owner edits them.
    pub fn settings(&self, actor: &Actor) -> AppResult<Arc<Config>> {
        self.authorize(actor, Action::EditSettings)?;
        Ok(self.config())
    }
}
