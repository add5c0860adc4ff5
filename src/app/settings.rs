//! The shop's settings, edited live by the owner and followed by every node.

use super::{Action, Actor, App, AppError, AppResult};
use crate::config::{Config, LiveConfig};
use crate::store::settings::SettingChange;
use crate::store::{Store, StoreResult};
use std::sync::Arc;

impl App {
    /// Saves the changed settings after checking them; returns the
    /// configuration now in force.
    pub async fn save_settings(
        &self,
        actor: &Actor,
        changes: &[(String, String)],
    ) -> AppResult<Arc<Config>> {
        self.authorize(actor, Action::EditSettings)?;
        let current = self.config();
        let changes: Vec<(String, String)> = changes
            .iter()
            .filter(|(k, v)| Config::EDITABLE.contains(&k.as_str()) && current.setting(k) != *v)
            .cloned()
            .collect();
        let next = current.with_settings(&changes).map_err(|e| {
            let field = Config::EDITABLE.into_iter().find(|k| {
                e.variable.to_lowercase().ends_with(k)
                    || (k == &"shop_name" && e.variable == "SHOP_NAME")
            });
            AppError::Rejected {
                code: "invalid_setting",
                message: e.message,
                field,
            }
        })?;
        let changes: Vec<SettingChange> = changes
            .into_iter()
            .map(|(key, after)| SettingChange {
                before: current.setting(&key),
                key,
                after,
            })
            .collect();
        self.store
            .save_settings(&actor.label(), &changes, next.currency != current.currency)
            .await?;
        apply_saved_settings(&self.store, &self.base, &self.live).await?;
        Ok(self.config())
    }

    /// The settings as the owner edits them.
    pub fn settings(&self, actor: &Actor) -> AppResult<Arc<Config>> {
        self.authorize(actor, Action::EditSettings)?;
        Ok(self.config())
    }
}

/// Lays the saved settings over `base` (the environment's configuration)
/// and makes the result live: after saving here, at start and whenever
/// another node may have saved (see `startup`).
pub async fn apply_saved_settings(
    store: &Store,
    base: &Config,
    live: &LiveConfig,
) -> StoreResult<()> {
    let saved = store.saved_settings().await?;
    live.set(base.with_saved(&saved));
    Ok(())
}
