//! Token signing keys. Several keys per tenant coexist so tokens signed before a rotation stay
//! verifiable: the `current` key signs, `next` and `previous` keys are only published in the
//! JWKS, `revoked` keys are kept for the record but never returned.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;

use super::json::{decode, encode};
use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreError, StoreResult};

const STATES: [&str; 3] = ["current", "next", "previous"];

/// A signing key pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// PKCS#8 PEM of the private key. Never serialized, so a key list can be returned or
    /// logged without leaking it.
    #[serde(skip_serializing, default)]
    pub private_pem: String,
    /// The public JWK published at `/.well-known/jwks.json`.
    pub public_jwk: Value,
    /// `current`, `next`, `previous` or `revoked`.
    pub state: String,
    pub created_at: String,
    /// When it was revoked (keys revoked before this was recorded have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// A key to store, as produced by the crypto module (for [`Store::rotate_signing_keys`]).
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub public_jwk: Value,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_pem: String,
    public_jwk: String,
    state: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl KeyRow {
    fn into_key(self) -> StoreResult<SigningKey> {
        Ok(SigningKey {
            public_jwk: decode(&self.public_jwk, "public JWK")?,
            kid: self.kid,
            alg: self.alg,
            private_pem: self.private_pem,
            state: self.state,
            created_at: rfc3339_from_ms(self.created_at),
            revoked_at: self.revoked_at.map(rfc3339_from_ms),
        })
    }
}

async fn insert(
    conn: &mut AnyConnection,
    tenant: &str,
    key: &NewSigningKey,
    state: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (tenant_id, kid, alg, private_pem, public_jwk, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.private_pem)
    .bind(encode(&key.public_jwk)?)
    .bind(state)
    .bind(now_ms())
    .execute(conn)
    .await
    .map_err(|e| {
        StoreError::from_insert(e, "tenant", |msg| {
            if msg.contains("kid") {
                format!("a signing key with kid {} already exists", key.kid)
            } else {
                "the tenant already has a current signing key of this algorithm".to_string()
            }
        })
    })?;
    Ok(())
}

impl Store {
    /// Stores a key in the given state. `Conflict` if the kid exists or if a second `current`
    /// key is inserted (use [`Store::rotate_signing_keys`] to replace the current key).
    pub async fn insert_signing_key(
        &self,
        tenant: &str,
        kid: &str,
        alg: &str,
        private_pem: &str,
        public_jwk: &Value,
        state: &str,
    ) -> StoreResult<SigningKey> {
        if !STATES.contains(&state) {
            return Err(StoreError::Invalid(format!(
                "signing key state must be current, next or previous (got {state})"
            )));
        }
        let key = NewSigningKey {
            kid: kid.to_string(),
            alg: alg.to_string(),
            private_pem: private_pem.to_string(),
            public_jwk: public_jwk.clone(),
        };
        let mut conn = self.conn().await?;
        insert(&mut conn, tenant, &key, state).await?;
        fetch_key(&mut conn, tenant, kid).await
    }

    /// All non-revoked keys: the current key first, then next, then previous keys newest first.
    pub async fn signing_keys(&self, tenant: &str) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(tenant, false).await
    }

    /// [`Store::signing_keys`] and then the revoked ones, for the record.
    pub async fn signing_keys_with_revoked(&self, tenant: &str) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(tenant, true).await
    }

    async fn list_keys(&self, tenant: &str, with_revoked: bool) -> StoreResult<Vec<SigningKey>> {
        let live = if with_revoked {
            ""
        } else {
            "AND state <> 'revoked'"
        };
        let sql = format!(
            "SELECT kid, alg, private_pem, public_jwk, state, created_at, revoked_at FROM signing_keys
             WHERE tenant_id = $1 {live}
             ORDER BY CASE state WHEN 'current' THEN 0 WHEN 'next' THEN 1
                                 WHEN 'previous' THEN 2 ELSE 3 END,
                      created_at DESC, kid"
        );
        let rows: Vec<KeyRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    /// Makes `new_key` the current key of its algorithm and demotes the old one to
    /// `previous` (it stays in the JWKS so tokens it signed still verify). Atomic: there is
    /// never a moment without, or with two, current keys of one algorithm.
    pub async fn rotate_signing_keys(
        &self,
        tenant: &str,
        new_key: &NewSigningKey,
    ) -> StoreResult<SigningKey> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("keys:{tenant}")).await?;
        sqlx::query(
            "UPDATE signing_keys SET state = 'previous' WHERE tenant_id = $1 AND state = 'current' AND alg = $2",
        )
        .bind(tenant)
        .bind(&new_key.alg)
        .execute(tx.conn())
        .await?;
        insert(tx.conn(), tenant, new_key, "current").await?;
        let key = fetch_key(tx.conn(), tenant, &new_key.kid).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// One key, revoked ones included.
    pub async fn signing_key(&self, tenant: &str, kid: &str) -> StoreResult<SigningKey> {
        fetch_key(&mut *self.conn().await?, tenant, kid).await
    }

    /// Retires a previously used key for good: it disappears from
    /// [`Store::signing_keys`] and thus the JWKS, and its private half is
    /// erased. The current and next keys cannot be revoked (rotate first),
    /// as at Auth0.
    pub async fn revoke_signing_key(&self, tenant: &str, kid: &str) -> StoreResult<SigningKey> {
        // Under rotation's lock: a key is judged in the state it is revoked in.
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("keys:{tenant}")).await?;
        let key = fetch_key(tx.conn(), tenant, kid).await?;
        match key.state.as_str() {
            "previous" => {}
            "revoked" => {
                return Err(StoreError::Conflict(
                    "The signing key is already revoked.".into(),
                ));
            }
            other => {
                return Err(StoreError::Invalid(format!(
                    "The {other} signing key cannot be revoked: only a previously used key can (rotate first)."
                )));
            }
        }
        sqlx::query(
            "UPDATE signing_keys SET state = 'revoked', private_pem = '', revoked_at = $3
             WHERE tenant_id = $1 AND kid = $2",
        )
        .bind(tenant)
        .bind(kid)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        let key = fetch_key(tx.conn(), tenant, kid).await?;
        tx.commit().await?;
        Ok(key)
    }
}

async fn fetch_key(conn: &mut AnyConnection, tenant: &str, kid: &str) -> StoreResult<SigningKey> {
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT kid, alg, private_pem, public_jwk, state, created_at, revoked_at FROM signing_keys
             WHERE tenant_id = $1 AND kid = $2",
    )
    .bind(tenant)
    .bind(kid)
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound("signing key"))?.into_key()
}
