//! Settings the owner changes on the Settings page, kept in the database.
//! The store only reads and writes the rows; laying them over the
//! environment's configuration and making the result live happens above it
//! (`app::App::save_settings`, and `startup` on every node).

use super::activity::{self, Change};
use super::{Store, StoreError, StoreResult, now_text};
use crate::args;
use serde_json::json;

/// One setting being saved, with the value it replaces (for the activity log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub key: String,
    pub before: String,
    pub after: String,
}

impl Store {
    /// Every saved setting as (key, value), by key.
    pub async fn saved_settings(&self) -> StoreResult<Vec<(String, String)>> {
        let mut tx = self.db.read().await?;
        let rows = tx
            .fetch_all("SELECT key, value FROM settings ORDER BY key", &[])
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("key")?, r.text("value")?)))
            .collect()
    }

    /// Saves checked settings with one activity entry. When `currency_changes`,
    /// only while the ledger is empty, since amounts are stored in its minor unit.
    pub async fn save_settings(
        &self,
        actor: &str,
        changes: &[SettingChange],
        currency_changes: bool,
    ) -> StoreResult<()> {
        let mut tx = self.db.write().await?;
        if currency_changes {
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
        for change in changes {
            tx.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                args![change.key.clone(), change.after.clone(), now.clone(), actor],
            )
            .await?;
        }
        if !changes.is_empty() {
            let before: serde_json::Map<String, serde_json::Value> = changes
                .iter()
                .map(|c| (c.key.clone(), json!(c.before)))
                .collect();
            let after: serde_json::Map<String, serde_json::Value> = changes
                .iter()
                .map(|c| (c.key.clone(), json!(c.after)))
                .collect();
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
        Ok(())
    }
}
