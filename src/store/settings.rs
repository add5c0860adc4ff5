//! Settings the owner changes on the Settings page: kept in the database,
//! laid over the environment's configuration at start and whenever they
//! change, on every node.

use super::activity::{self, Change};
use super::{Store, StoreError, StoreResult, now_text};
use crate::args;
use crate::config::Config;
use serde_json::json;

impl Store {
    pub async fn saved_settings(&self) -> StoreResult<Vec<(String, String)>> {
        let mut tx = self.db.read().await?;
        let rows = tx
            .fetch_all("SELECT key, value FROM settings ORDER BY key", &[])
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("key")?, r.text("value")?)))
            .collect()
    }

    /// Lays the saved settings over `base` (the environment's configuration)
    /// and makes the result live. A saved value that no longer passes the
    /// checks is skipped with a warning rather than stopping the service.
    pub async fn apply_saved_settings(&self, base: &Config) -> StoreResult<()> {
        let saved = self.saved_settings().await?;
        let mut config = base.clone();
        for pair in &saved {
            match config.with_settings(std::slice::from_ref(pair)) {
                Ok(next) => config = next,
                Err(e) => {
                    tracing::warn!(setting = %pair.0, error = %e, "a saved setting is not valid; using the environment's value")
                }
            }
        }
        self.live().set(config);
        Ok(())
    }

    /// Saves changed settings after checking them; the currency can change
    /// only while the ledger is empty, since amounts are stored in its minor unit.
    pub async fn save_settings(
        &self,
        actor: &str,
        base: &Config,
        changes: &[(String, String)],
    ) -> StoreResult<Config> {
        let current = self.settings();
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
            StoreError::rejected("invalid_setting", field, e.message)
        })?;
        let mut tx = self.db.write().await?;
        if next.currency != current.currency {
            let entries = tx
                .scalar(
                    "SELECT (SELECT COUNT(*) FROM dues) + (SELECT COUNT(*) FROM payments)",
                    &[],
                )
                .await?;
            if entries > 0 {
                return Err(StoreError::conflict(
                    "currency_in_use",
                    Some("currency"),
                    "the currency cannot change once dues or payments are recorded: every amount is kept in its minor unit",
                ));
            }
        }
        let now = now_text();
        for (key, value) in &changes {
            tx.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                args![key.clone(), value.clone(), now.clone(), actor],
            )
            .await?;
        }
        if !changes.is_empty() {
            let before: serde_json::Map<String, serde_json::Value> = changes
                .iter()
                .map(|(k, _)| (k.clone(), json!(current.setting(k))))
                .collect();
            let after: serde_json::Map<String, serde_json::Value> =
                changes.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            activity::record(
                &mut tx,
                actor,
                Change {
                    action: "settings.changed",
                    entity_type: "settings",
                    entity_id: "shop".to_string(),
                    before: Some(serde_json::Value::Object(before)),
                    after: Some(serde_json::Value::Object(after)),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.apply_saved_settings(base).await?;
        Ok(self.settings().as_ref().clone())
    }
}
