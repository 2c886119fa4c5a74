//! Logins paused by an Action's redirect (`api.redirect.sendUserTo`), waiting
//! for the browser's return to `/continue`. Stored so that any node can resume
//! them, single-use so a replayed `/continue` cannot resume twice. Logins
//! waiting for a second factor (an `mfa_token`) wait here too.

use std::time::SystemTime;

use serde_json::Value;

use super::json::{decode, encode};
use super::time::{now_ms, system_time_ms};
use super::{Store, StoreError, StoreResult};

impl Store {
    /// Stores a paused login (the caller's JSON) under the hash of its state value.
    pub async fn park_login(
        &self,
        tenant: &str,
        state_hash: &str,
        login: &Value,
        expires_at: SystemTime,
    ) -> StoreResult<()> {
        let now = now_ms();
        let mut conn = self.conn().await?;
        sqlx::query("DELETE FROM pending_logins WHERE tenant_id = $1 AND expires_at <= $2")
            .bind(tenant)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO pending_logins (tenant_id, state_hash, login, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(state_hash)
        .bind(encode(login)?)
        .bind(now)
        .bind(system_time_ms(expires_at))
        .execute(&mut *conn)
        .await
        .map_err(|e| StoreError::from_insert(e, "tenant", |_| "paused login exists".into()))?;
        Ok(())
    }

    /// Takes a paused login once; `None` if unknown, already resumed or expired.
    pub async fn take_parked_login(
        &self,
        tenant: &str,
        state_hash: &str,
    ) -> StoreResult<Option<Value>> {
        let row: Option<(String,)> = sqlx::query_as(
            "DELETE FROM pending_logins WHERE tenant_id = $1 AND state_hash = $2 AND expires_at > $3
             RETURNING login",
        )
        .bind(tenant)
        .bind(state_hash)
        .bind(now_ms())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|(text,)| decode(&text, "paused login")).transpose()
    }

    /// Reads a paused login without taking it; `None` if unknown or expired.
    pub async fn peek_parked_login(
        &self,
        tenant: &str,
        state_hash: &str,
    ) -> StoreResult<Option<Value>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT login FROM pending_logins WHERE tenant_id = $1 AND state_hash = $2 AND expires_at > $3",
        )
        .bind(tenant)
        .bind(state_hash)
        .bind(now_ms())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|(text,)| decode(&text, "paused login")).transpose()
    }
}
