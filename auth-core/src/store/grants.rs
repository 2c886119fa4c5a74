//! Client grants (`/api/v2/client-grants`): which APIs (audiences) a client may call with
//! `client_credentials`, and with which scopes.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::json::{decode, encode};
use super::time::now_ms;
use super::{Store, StoreError, StoreResult, ids};

/// A client grant, in Auth0's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: String,
    client_id: String,
    audience: String,
    scope: String,
}

impl GrantRow {
    fn into_grant(self) -> StoreResult<ClientGrant> {
        Ok(ClientGrant {
            scope: decode(&self.scope, "client grant scope")?,
            id: self.id,
            client_id: self.client_id,
            audience: self.audience,
        })
    }
}

async fn fetch(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<ClientGrant> {
    let row: Option<GrantRow> = sqlx::query_as(
        "SELECT id, client_id, audience, scope FROM client_grants WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound("client grant"))?
        .into_grant()
}

impl Store {
    /// Grants `client_id` access to `audience` with `scope`. `NotFound("client")` if the client
    /// is not in this tenant; `Conflict` if a grant for that client and audience exists.
    pub async fn create_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
        scope: Vec<String>,
    ) -> StoreResult<ClientGrant> {
        if audience.is_empty() {
            return Err(StoreError::Invalid(
                "Payload validation error: 'audience' is required".into(),
            ));
        }
        let id = ids::client_grant_id();
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO client_grants (tenant_id, id, client_id, audience, scope, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant)
        .bind(&id)
        .bind(client_id)
        .bind(audience)
        .bind(encode(&scope)?)
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::from_insert(e, "client", |_| {
                format!(
                    "A client grant for client {client_id} and audience {audience} already exists"
                )
            })
        })?;
        fetch(&mut conn, tenant, &id).await
    }

    /// The grant with this id.
    pub async fn get_client_grant(&self, tenant: &str, id: &str) -> StoreResult<ClientGrant> {
        fetch(&mut *self.conn().await?, tenant, id).await
    }

    /// Grants of the tenant, optionally only those of one client and/or one audience.
    pub async fn list_client_grants(
        &self,
        tenant: &str,
        client_id: Option<&str>,
        audience: Option<&str>,
    ) -> StoreResult<Vec<ClientGrant>> {
        let rows: Vec<GrantRow> = sqlx::query_as(
            "SELECT id, client_id, audience, scope FROM client_grants
             WHERE tenant_id = $1
               AND ($2 IS NULL OR client_id = $2)
               AND ($3 IS NULL OR audience = $3)
             ORDER BY created_at, id",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(audience)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(GrantRow::into_grant).collect()
    }

    /// The grant `client_credentials` checks: the one for this client and audience
    /// (`NotFound` if the client has no grant for that audience).
    pub async fn find_client_grant(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
    ) -> StoreResult<ClientGrant> {
        let row: Option<GrantRow> = sqlx::query_as(
            "SELECT id, client_id, audience, scope FROM client_grants
             WHERE tenant_id = $1 AND client_id = $2 AND audience = $3",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.ok_or(StoreError::NotFound("client grant"))?
            .into_grant()
    }

    /// Replaces the grant's scopes (the only mutable field in Auth0).
    pub async fn update_client_grant(
        &self,
        tenant: &str,
        id: &str,
        scope: Vec<String>,
    ) -> StoreResult<ClientGrant> {
        let mut conn = self.conn().await?;
        let done =
            sqlx::query("UPDATE client_grants SET scope = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .bind(encode(&scope)?)
                .execute(&mut *conn)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("client grant"));
        }
        fetch(&mut conn, tenant, id).await
    }

    /// Deletes the grant.
    pub async fn delete_client_grant(&self, tenant: &str, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM client_grants WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("client grant"));
        }
        Ok(())
    }
}
