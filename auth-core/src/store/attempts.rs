//! Login attempts, counted per key (`user:<connection>:<email>:ip:<ip>`, `ip:<ip>`) for
//! brute-force protection. The store only records and counts; the caller decides windows
//! and thresholds.
//!
//! An attempt is recorded *before* the password is checked and withdrawn when it turns
//! out not to be a guess (a success, or an error that is not about the credentials). So
//! concurrent guesses each see the ones before them: counting only after a failure let
//! a burst of parallel guesses all pass a check that saw none of them.

use std::time::SystemTime;

use super::time::system_time_ms;
use super::{Store, StoreResult, ids};

impl Store {
    /// Records one attempt for `key` at `at`; its id, for [`Store::withdraw_login_attempt`].
    pub async fn record_login_attempt(
        &self,
        tenant: &str,
        key: &str,
        at: SystemTime,
    ) -> StoreResult<String> {
        let id = ids::uuid();
        sqlx::query(
            "INSERT INTO login_attempts (tenant_id, id, attempt_key, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(&id)
        .bind(key)
        .bind(system_time_ms(at))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(id)
    }

    /// Forgets one recorded attempt (it was not a failed guess).
    pub async fn withdraw_login_attempt(&self, tenant: &str, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// How many attempts `key` has had since `since` (inclusive).
    pub async fn login_attempts_since(
        &self,
        tenant: &str,
        key: &str,
        since: SystemTime,
    ) -> StoreResult<u32> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM login_attempts WHERE tenant_id = $1 AND attempt_key = $2 AND at >= $3",
        )
        .bind(tenant)
        .bind(key)
        .bind(system_time_ms(since))
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Forgets all of `key`'s attempts (after a successful login).
    pub async fn clear_login_attempts(&self, tenant: &str, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE tenant_id = $1 AND attempt_key = $2")
            .bind(tenant)
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}
