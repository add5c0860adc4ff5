//! Reading the retry guards payments are stored with, so a use case can
//! tell a retry from a new request before deciding anything else.

use super::{Store, StoreResult};
use crate::args;

impl Store {
    /// Whether `actor` has used `key` before (and it has not expired).
    pub async fn idempotency_key_known(&self, actor: &str, key: &str) -> StoreResult<bool> {
        let mut tx = self.db.read().await?;
        let row = tx
            .fetch_optional(
                "SELECT 1 AS found FROM idempotency_keys WHERE actor = $1 AND key = $2",
                args![actor, key],
            )
            .await?;
        Ok(row.is_some())
    }
}
