//! Failed login attempts, counted per key (`user:<email>`, `ip:<ip>`, ...) for brute-force
//! protection. The store only records and counts; the caller decides windows and thresholds.

use std::time::SystemTime;

use super::time::system_time_ms;
use super::{Store, StoreResult, ids};

impl Store {
    /// Records one failed attempt for `key` at `at`.
    pub async fn record_failed_login(
        &self,
        tenant: &str,
        key: &str,
        at: SystemTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_attempts (tenant_id, id, attempt_key, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(ids::uuid())
        .bind(key)
        .bind(system_time_ms(at))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// How many failed attempts `key` has had since `since` (inclusive).
    pub async fn failed_logins_since(
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

    /// Forgets `key`'s failed attempts (after a successful login or an unblock).
    pub async fn clear_failed_logins(&self, tenant: &str, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE tenant_id = $1 AND attempt_key = $2")
            .bind(tenant)
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}
