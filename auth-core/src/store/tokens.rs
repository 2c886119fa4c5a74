//! Refresh tokens and authorization codes. Only SHA-256 hex digests are stored, so a database
//! leak does not leak usable credentials. Both are single-use: taking one is a conditional
//! UPDATE whose affected-row count decides the race between two concurrent redemptions.

use std::time::SystemTime;

use sqlx::AnyConnection;

use super::time::{now_ms, rfc3339_from_ms, system_time_ms};
use super::{Backend, Store, StoreError, StoreResult, WriteTx, ids, lock_in};

/// A refresh token to store. `family_id: None` starts a new family (a fresh login);
/// `Some(family)` continues one (rotation of a token from that family).
#[derive(Debug, Clone, Copy)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    /// Space-separated scopes.
    pub scope: &'a str,
    pub audience: Option<&'a str>,
    /// This token's end: its family's end, or sooner if it sits unused (idle lifetime).
    pub expires_at: SystemTime,
    /// The family's absolute end, inherited by every rotation.
    pub family_expires_at: SystemTime,
    pub family_id: Option<&'a str>,
}

/// A stored refresh token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    /// Shared by a token and every token it was rotated into.
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub audience: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    /// The family's absolute end: a rotation's successor never outlives it.
    pub expires: SystemTime,
}

#[derive(sqlx::FromRow)]
pub(super) struct RefreshRow {
    pub(super) token_hash: String,
    pub(super) family_id: String,
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) scope: String,
    pub(super) audience: Option<String>,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) family_expires_at: i64,
}

impl RefreshRow {
    /// The family's absolute end. 0 is a row written by a node from before
    /// migration 0008 during a rolling upgrade: its own expiry was the family's.
    pub(super) fn family_end_ms(&self) -> i64 {
        if self.family_expires_at > 0 {
            self.family_expires_at
        } else {
            self.expires_at
        }
    }
}

impl From<RefreshRow> for RefreshTokenRecord {
    fn from(r: RefreshRow) -> Self {
        let family_end = r.family_end_ms();
        RefreshTokenRecord {
            token_hash: r.token_hash,
            family_id: r.family_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            audience: r.audience,
            created_at: rfc3339_from_ms(r.created_at),
            expires_at: rfc3339_from_ms(r.expires_at),
            expires: super::time::ms_to_system_time(family_end),
        }
    }
}

pub(super) const REFRESH_COLUMNS: &str = "token_hash, family_id, client_id, user_id, scope, audience, created_at, expires_at, \
     family_expires_at";

/// A refresh token joined with its user; the token's dates are renamed, the
/// user's keep their names.
#[derive(sqlx::FromRow)]
struct TokenAndUserRow {
    #[sqlx(flatten)]
    user: super::users::UserRow,
    token_hash: String,
    family_id: String,
    client_id: String,
    scope: String,
    audience: Option<String>,
    token_created_at: i64,
    token_expires_at: i64,
    family_expires_at: i64,
}

/// An authorization code to store (the `/authorize` → `/oauth/token` hand-over).
#[derive(Debug, Clone, Copy)]
pub struct NewAuthCode<'a> {
    pub code_hash: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub redirect_uri: &'a str,
    /// Space-separated scopes.
    pub scope: &'a str,
    pub audience: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    pub expires_at: SystemTime,
    /// JSON `{"id": {...}, "access": {...}}` of pipeline-decided claims.
    pub claims: Option<&'a str>,
}

/// A redeemed authorization code.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthCodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub claims: Option<String>,
}

/// What [`Store::purge_expired`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeStats {
    pub refresh_tokens: u64,
    pub auth_codes: u64,
    pub login_attempts: u64,
}

/// The `Conflict` message of a replayed refresh token (its family has been revoked).
const REUSE: &str = "refresh token reuse";

/// Revokes every live token of a family (inside the caller's transaction).
async fn revoke_family(
    conn: &mut AnyConnection,
    tenant: &str,
    family_id: &str,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(family_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Inserts one refresh token of `family_id` (inside the caller's transaction).
async fn insert_row(
    conn: &mut AnyConnection,
    tenant: &str,
    token: &NewRefreshToken<'_>,
    family_id: &str,
) -> StoreResult<RefreshRow> {
    let sql = format!(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope,
             audience, created_at, expires_at, family_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING {REFRESH_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(tenant)
        .bind(token.token_hash)
        .bind(family_id)
        .bind(token.client_id)
        .bind(token.user_id)
        .bind(token.scope)
        .bind(token.audience)
        .bind(now_ms())
        .bind(system_time_ms(token.expires_at))
        .bind(system_time_ms(token.family_expires_at))
        .fetch_one(conn)
        .await
        .map_err(|e| StoreError::from_write(e, |_| "refresh token already exists".into()))
}

/// Takes a refresh token (and stores its successor) inside the caller's write transaction.
/// The caller commits unless the answer is `Ok(None)` (nothing was written); a reuse
/// `Conflict` has revoked the family and must be committed too.
pub(super) async fn redeem_in(
    conn: &mut AnyConnection,
    backend: Backend,
    tenant: &str,
    token_hash: &str,
    successor: Option<(&str, SystemTime)>,
) -> StoreResult<Option<RefreshTokenRecord>> {
    lock_family_of(&mut *conn, backend, tenant, token_hash).await?;
    let now = now_ms();
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = $3
         WHERE tenant_id = $1 AND token_hash = $2
           AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
         RETURNING {REFRESH_COLUMNS}"
    );
    let taken: Option<RefreshRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = taken {
        if let Some((next_hash, expires_at)) = successor {
            let next = NewRefreshToken {
                token_hash: next_hash,
                client_id: &row.client_id,
                user_id: &row.user_id,
                scope: &row.scope,
                audience: row.audience.as_deref(),
                // Never past the family's end, whatever the caller asked.
                expires_at: expires_at.min(super::time::ms_to_system_time(row.family_end_ms())),
                family_expires_at: super::time::ms_to_system_time(row.family_end_ms()),
                family_id: Some(&row.family_id),
            };
            insert_row(&mut *conn, tenant, &next, &row.family_id).await?;
        }
        return Ok(Some(row.into()));
    }
    let state: Option<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT family_id, used_at, revoked_at FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
    )
    .bind(tenant)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    match state {
        Some((family_id, Some(_used), None)) => {
            revoke_family(conn, tenant, &family_id).await?;
            Err(StoreError::Conflict(REUSE.into()))
        }
        _ => Ok(None),
    }
}

/// Serializes everything that changes the family of `token_hash` across nodes (see
/// [`super::WriteTx::lock`]): a family never changes, so its id can be read before the lock.
async fn lock_family_of(
    conn: &mut AnyConnection,
    backend: Backend,
    tenant: &str,
    token_hash: &str,
) -> StoreResult<Option<String>> {
    if backend != Backend::Postgres {
        return Ok(None);
    }
    let family: Option<(String,)> = sqlx::query_as(
        "SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
    )
    .bind(tenant)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((family_id,)) = &family {
        lock_in(conn, backend, &family_key(tenant, family_id)).await?;
    }
    Ok(family.map(|(f,)| f))
}

fn family_key(tenant: &str, family_id: &str) -> String {
    format!("rt:{tenant}:{family_id}")
}

/// Commits a redemption's transaction when it wrote something that must stay: the rotation,
/// or the revocation of a reused token's family. Anything else rolls back — on PostgreSQL a
/// failed statement has aborted the transaction, and a COMMIT would silently roll back.
pub(super) async fn finish_redeem(
    tx: WriteTx,
    result: StoreResult<Option<RefreshTokenRecord>>,
) -> StoreResult<Option<RefreshTokenRecord>> {
    match &result {
        Ok(Some(_)) => tx.commit().await?,
        Err(StoreError::Conflict(m)) if m == REUSE => tx.commit().await?,
        _ => {}
    }
    result
}

impl Store {
    /// Stores a refresh token. Continuing a family that has been revoked (reuse was detected
    /// while this rotation was in flight) is refused with `Conflict("refresh token reuse")`,
    /// so a revoked family can never grow a live token.
    pub async fn insert_refresh_token(
        &self,
        tenant: &str,
        token: NewRefreshToken<'_>,
    ) -> StoreResult<RefreshTokenRecord> {
        let family_id = token.family_id.map_or_else(ids::uuid, str::to_string);
        let mut tx = self.write_tx().await?;
        if token.family_id.is_some() {
            tx.lock(&family_key(tenant, &family_id)).await?;
            let (revoked,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM refresh_tokens WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NOT NULL",
            )
            .bind(tenant)
            .bind(&family_id)
            .fetch_one(tx.conn())
            .await?;
            if revoked > 0 {
                return Err(StoreError::Conflict(REUSE.into()));
            }
        }
        let row = insert_row(tx.conn(), tenant, &token, &family_id).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Redeems a refresh token exactly once (rotation). `Ok(None)` if unknown, expired or
    /// revoked. A token that was already redeemed is a replay: its whole family is revoked
    /// and `Conflict("refresh token reuse")` returned, so neither the thief nor the victim
    /// can continue the chain.
    pub async fn take_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let mut tx = self.write_tx().await?;
        let backend = tx.backend();
        let result = redeem_in(tx.conn(), backend, tenant, token_hash, None).await;
        finish_redeem(tx, result).await
    }

    /// A live refresh token (unused, unrevoked, unexpired) and its user, without redeeming
    /// the token. One query: the refresh grant needs both, and each query is a round trip to
    /// the database.
    pub async fn peek_refresh_token(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> StoreResult<Option<(RefreshTokenRecord, super::User)>> {
        let sql = format!(
            "SELECT {}, t.token_hash, t.family_id, t.client_id, t.scope, t.audience,
                    t.created_at AS token_created_at, t.expires_at AS token_expires_at,
                    t.family_expires_at
             FROM refresh_tokens t
             JOIN users u ON u.tenant_id = t.tenant_id AND u.user_id = t.user_id
             WHERE t.tenant_id = $1 AND t.token_hash = $2
               AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $3",
            super::users::U_COLUMNS
        );
        let row: Option<TokenAndUserRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(token_hash)
            .bind(now_ms())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token = RefreshRow {
            token_hash: row.token_hash,
            family_id: row.family_id,
            client_id: row.client_id,
            user_id: row.user.user_id.clone(),
            scope: row.scope,
            audience: row.audience,
            created_at: row.token_created_at,
            expires_at: row.token_expires_at,
            family_expires_at: row.family_expires_at,
        };
        Ok(Some((token.into(), row.user.into_user()?)))
    }

    /// The client a refresh token (live or not) was issued to; `None` if it is unknown.
    pub async fn refresh_token_client(
        &self,
        tenant: &str,
        token_hash: &str,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT client_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant)
        .bind(token_hash)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|(c,)| c))
    }

    /// Revokes the token's whole family (`/oauth/revoke`: revoking a refresh token revokes the
    /// grant). Returns whether the token was known.
    pub async fn revoke_refresh_token(&self, tenant: &str, token_hash: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let family: Option<(String,)> = sqlx::query_as(
            "SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
        )
        .bind(tenant)
        .bind(token_hash)
        .fetch_optional(tx.conn())
        .await?;
        let Some((family_id,)) = family else {
            return Ok(false);
        };
        tx.lock(&family_key(tenant, &family_id)).await?;
        revoke_family(tx.conn(), tenant, &family_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every refresh token of a user (password change, block). Returns how many.
    pub async fn revoke_user_refresh_tokens(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        if tx.backend() == Backend::Postgres {
            // A rotation in flight must not add a live successor after the UPDATE below.
            let families: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT family_id FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 ORDER BY family_id",
            )
            .bind(tenant)
            .bind(user_id)
            .fetch_all(tx.conn())
            .await?;
            for (family_id,) in families {
                tx.lock(&family_key(tenant, &family_id)).await?;
            }
        }
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Stores an authorization code.
    pub async fn insert_auth_code(&self, tenant: &str, code: NewAuthCode<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO auth_codes (tenant_id, code_hash, client_id, user_id, redirect_uri, scope,
                 audience, nonce, code_challenge, code_challenge_method, created_at, expires_at, claims)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tenant)
        .bind(code.code_hash)
        .bind(code.client_id)
        .bind(code.user_id)
        .bind(code.redirect_uri)
        .bind(code.scope)
        .bind(code.audience)
        .bind(code.nonce)
        .bind(code.code_challenge)
        .bind(code.code_challenge_method)
        .bind(now_ms())
        .bind(system_time_ms(code.expires_at))
        .bind(code.claims)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(|e| StoreError::from_write(e, |_| "authorization code already exists".into()))?;
        Ok(())
    }

    /// Redeems an authorization code exactly once: one conditional UPDATE, so of two
    /// concurrent redemptions only one gets the record. `Ok(None)` if unknown, expired or
    /// already used.
    pub async fn take_auth_code(
        &self,
        tenant: &str,
        code_hash: &str,
    ) -> StoreResult<Option<AuthCodeRecord>> {
        let now = now_ms();
        let record: Option<AuthCodeRecord> = sqlx::query_as(
            "UPDATE auth_codes SET used_at = $3
             WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING code_hash, client_id, user_id, redirect_uri, scope, audience, nonce,
                       code_challenge, code_challenge_method, claims",
        )
        .bind(tenant)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(record)
    }

    /// Housekeeping: deletes refresh tokens and codes that expired before `now`, and failed
    /// login attempts recorded before `attempts_before` (older than any brute-force window).
    pub async fn purge_expired(
        &self,
        tenant: &str,
        now: SystemTime,
        attempts_before: SystemTime,
    ) -> StoreResult<PurgeStats> {
        let now = system_time_ms(now);
        let mut conn = self.conn().await?;
        let refresh_tokens =
            sqlx::query("DELETE FROM refresh_tokens WHERE tenant_id = $1 AND expires_at <= $2")
                .bind(tenant)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        let auth_codes =
            sqlx::query("DELETE FROM auth_codes WHERE tenant_id = $1 AND expires_at <= $2")
                .bind(tenant)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        let login_attempts =
            sqlx::query("DELETE FROM login_attempts WHERE tenant_id = $1 AND at < $2")
                .bind(tenant)
                .bind(system_time_ms(attempts_before))
                .execute(&mut *conn)
                .await?
                .rows_affected();
        Ok(PurgeStats {
            refresh_tokens,
            auth_codes,
            login_attempts,
        })
    }
}
