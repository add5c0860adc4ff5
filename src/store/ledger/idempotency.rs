//! Idempotency keys for payments: a retry with the same key returns the
//! first result; the same key with a different request is refused. The key
//! is written in the same transaction as the payment it guards.

use super::commands::IdempotencyKey;
use super::records::Payment;
use crate::args;
use crate::store::db::{Arg, DbError, Tx};
use crate::store::{Store, StoreError, StoreResult, now_text};

/// The columns of a remembered key, in the order of [`key_row`].
pub(super) const KEY_COLUMNS: [&str; 6] = [
    "actor",
    "key",
    "request_hash",
    "response_status",
    "response_body",
    "created_at",
];

/// The row that remembers `payment` as the answer to `key`.
pub(super) fn key_row(
    actor: &str,
    key: &IdempotencyKey,
    payment: &Payment,
) -> Result<Vec<Arg>, DbError> {
    let body = serde_json::to_string(payment).map_err(|e| DbError::Decode(Box::new(e)))?;
    Ok(args![
        actor,
        key.key.clone(),
        key.request_hash.clone(),
        201_i64,
        body,
        now_text()
    ]
    .to_vec())
}

/// What an earlier request with the same key, stored as `request_hash` and
/// `response_body`, means for this one: its result, or a refusal when it
/// asked for something else.
pub(super) fn earlier_answer(
    request_hash: &str,
    response_body: &str,
    key: &IdempotencyKey,
) -> StoreResult<Payment> {
    if request_hash != key.request_hash {
        return Err(key_reused());
    }
    Ok(serde_json::from_str(response_body).map_err(|e| DbError::Decode(Box::new(e)))?)
}

pub(super) fn key_reused() -> StoreError {
    StoreError::rejected(
        "idempotency_key_reused",
        Some("Idempotency-Key"),
        "this Idempotency-Key was already used for a different request; use a new key for a new payment",
    )
}

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
        earlier_answer(
            &earlier.text("request_hash")?,
            &earlier.text("response_body")?,
            key,
        )
        .map(Some)
    }

    pub(super) async fn remember(
        &self,
        tx: &mut Tx,
        actor: &str,
        key: &IdempotencyKey,
        payment: &Payment,
    ) -> StoreResult<()> {
        tx.insert_many(
            "idempotency_keys",
            &KEY_COLUMNS,
            &[key_row(actor, key, payment)?],
            "",
        )
        .await?;
        Ok(())
    }
}
