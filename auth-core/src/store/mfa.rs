//! Users' second factors for the MFA API: one authenticator app (TOTP) and
//! one recovery code per user, enrolled together as Auth0's `/mfa/associate`
//! does. The TOTP secret is sealed at rest; the recovery code is kept only
//! as its SHA-256, like every other bearer secret of the store.

use super::time::now_ms;
use super::{Store, StoreError, StoreResult};

/// `authenticator_type` of an authenticator app.
pub const OTP: &str = "otp";
/// `authenticator_type` of a recovery code.
pub const RECOVERY_CODE: &str = "recovery-code";

#[derive(Debug, Clone)]
pub struct Authenticator {
    pub id: String,
    pub user_id: String,
    pub authenticator_type: String,
    /// The base32 TOTP secret (opened), or the recovery code's SHA-256.
    pub secret: String,
    pub active: bool,
    pub last_step: i64,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    user_id: String,
    authenticator_type: String,
    secret: String,
    active: i64,
    last_step: i64,
    created_at: i64,
}

/// What `/mfa/associate` creates: both start unconfirmed.
pub struct NewEnrollment<'a> {
    pub user_id: &'a str,
    pub otp_id: &'a str,
    /// base32, as shown to the user.
    pub otp_secret: &'a str,
    pub recovery_id: &'a str,
    pub recovery_hash: &'a str,
}

/// The sealing context binds a secret to its row: copied elsewhere it does not open.
fn context(tenant: &str, id: &str) -> String {
    format!("mfa:{tenant}:{id}")
}

impl Store {
    /// The user's authenticators, oldest first.
    pub async fn mfa_authenticators(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> StoreResult<Vec<Authenticator>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, user_id, authenticator_type, secret, CAST(active AS INTEGER) AS active,
                    last_step, created_at
             FROM mfa_authenticators WHERE tenant_id = $1 AND user_id = $2
             ORDER BY created_at, id",
        )
        .bind(tenant)
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                let secret = if r.authenticator_type == OTP {
                    self.sealer.open(&context(tenant, &r.id), &r.secret)?
                } else {
                    r.secret
                };
                Ok(Authenticator {
                    id: r.id,
                    user_id: r.user_id,
                    authenticator_type: r.authenticator_type,
                    secret,
                    active: r.active != 0,
                    last_step: r.last_step,
                    created_at: r.created_at,
                })
            })
            .collect()
    }

    /// Enrolls an app and a recovery code, replacing an enrollment never
    /// confirmed; `Conflict` if the user already has a confirmed one (an
    /// administrator resets it first, as at Auth0).
    pub async fn enroll_mfa(&self, tenant: &str, new: NewEnrollment<'_>) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("mfa:{tenant}:{}", new.user_id)).await?;
        let (confirmed,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mfa_authenticators
             WHERE tenant_id = $1 AND user_id = $2 AND active = TRUE",
        )
        .bind(tenant)
        .bind(new.user_id)
        .fetch_one(tx.conn())
        .await?;
        if confirmed > 0 {
            return Err(StoreError::Conflict("User is already enrolled.".into()));
        }
        sqlx::query("DELETE FROM mfa_authenticators WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(new.user_id)
            .execute(tx.conn())
            .await?;
        let now = now_ms();
        let sealed = self
            .sealer
            .seal(&context(tenant, new.otp_id), new.otp_secret)?;
        for (id, kind, secret) in [
            (new.otp_id, OTP, sealed.as_str()),
            (new.recovery_id, RECOVERY_CODE, new.recovery_hash),
        ] {
            sqlx::query(
                "INSERT INTO mfa_authenticators
                   (tenant_id, id, user_id, authenticator_type, secret, active, last_step, created_at)
                 VALUES ($1, $2, $3, $4, $5, FALSE, 0, $6)",
            )
            .bind(tenant)
            .bind(id)
            .bind(new.user_id)
            .bind(kind)
            .bind(secret)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await
    }

    /// Accepts TOTP `step` for the user's app if it is later than the last step
    /// accepted, and confirms the enrollment; `false` for a replayed step.
    pub async fn accept_otp_step(
        &self,
        tenant: &str,
        user_id: &str,
        id: &str,
        step: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("mfa:{tenant}:{user_id}")).await?;
        let done = sqlx::query(
            "UPDATE mfa_authenticators SET last_step = $4, active = TRUE
             WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND last_step < $4",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(id)
        .bind(step)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE mfa_authenticators SET active = TRUE
             WHERE tenant_id = $1 AND user_id = $2 AND authenticator_type = $3",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(RECOVERY_CODE)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends the user's recovery code (`old_hash`) and stores the next one;
    /// `false` if `old_hash` is not their active code.
    pub async fn rotate_recovery_code(
        &self,
        tenant: &str,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE mfa_authenticators SET secret = $4
             WHERE tenant_id = $1 AND user_id = $2 AND authenticator_type = $5
               AND active = TRUE AND secret = $3",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(old_hash)
        .bind(new_hash)
        .bind(RECOVERY_CODE)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets all of the user's authenticators (Auth0's "reset MFA"); how many there were.
    pub async fn delete_mfa_authenticators(&self, tenant: &str, user_id: &str) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM mfa_authenticators WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant)
                .bind(user_id)
                .execute(&mut *self.conn().await?)
                .await?;
        Ok(done.rows_affected())
    }
}
