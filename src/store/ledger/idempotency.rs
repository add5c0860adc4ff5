//! Idempotency keys for payments: a retry with the same key returns the
//! first result; the same key with a different request is refused. The key
//! is written in the same transaction as the payment it guards.

use super::commands::IdempotencyKey;
use super::records::Payment;
use crate::args;
use crate::store::db::{DbError, Tx};
use crate::store::{Store, StoreError, StoreResult, now_text};

impl Store {
    /// Looks up an earlier request with the same key: its stored result, or
    /// a refusal when the key came with a different request.
    pub(super) async fn replay(
        &self,
        tx: &mut Tx,
        actor: &str,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<Payment>> {
        let earlier = tx
            .fetch_optional(
                "SELECT request_hash, response_body FROM idempotency_keys WHERE actor = $1 AND key = $2",
                args![actor, key.key.clone()],
            )
            .await?;
        let Some(earlier) = earlier else {
            return Ok(None);
        };
        if earlier.text("request_hash")? != key.request_hash {
            return Err(StoreError::rejected(
                "idempotency_key_reused",
                Some("Idempotency-Key"),
                "this Idempotency-Key was already used for a different request; use a new key for a new payment",
            ));
        }
        let payment: Payment = serde_json::from_str(&earlier.text("response_body")?)
            .map_err(|e| DbError::Decode(Box::new(e)))?;
        Ok(Some(payment))
    }

    pub(super) async fn remember(
        &self,
        tx: &mut Tx,
        actor: &str,
        key: &IdempotencyKey,
        payment: &Payment,
    ) -> StoreResult<()> {
        let body = serde_json::to_string(payment).map_err(|e| DbError::Decode(Box::new(e)))?;
        tx.execute(
            "INSERT INTO idempotency_keys (actor, key, request_hash, response_status, response_body, created_at)
             VALUES ($1, $2, $3, 201, $4, $5)",
            args![actor, key.key.clone(), key.request_hash.clone(), body, now_text()],
        )
        .await?;
        Ok(())
    }
}
