//! Tenants: the unit of isolation. Everything else in the store hangs off a tenant id.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;

use super::json::{decode, encode, require_object};
use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreError, StoreResult};

/// Token signing algorithms a tenant may choose.
const SIGNING_ALGS: [&str; 2] = ["RS256", "ES256"];

/// A tenant and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    /// Custom domain the tenant is served on, if any (lowercase).
    pub domain: Option<String>,
    pub friendly_name: String,
    /// `RS256` or `ES256`: which key type signs this tenant's tokens.
    pub signing_alg: String,
    pub created_at: String,
    /// Per-tenant limit overrides (fuel, memory, timeouts...), interpreted by the caller.
    pub limits: Value,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    domain: Option<String>,
    friendly_name: String,
    signing_alg: String,
    limits: String,
    created_at: i64,
}

impl TenantRow {
    fn into_tenant(self) -> StoreResult<Tenant> {
        Ok(Tenant {
            limits: decode(&self.limits, "tenant limits")?,
            id: self.id,
            domain: self.domain,
            friendly_name: self.friendly_name,
            signing_alg: self.signing_alg,
            created_at: rfc3339_from_ms(self.created_at),
        })
    }
}

const COLUMNS: &str = "id, domain, friendly_name, signing_alg, limits, created_at";

/// Tenant ids end up in URLs, log lines and key ids, so keep them to a safe alphabet.
fn validate_tenant_id(id: &str) -> StoreResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid tenant id {id:?}: use 1-64 letters, digits, '-' or '_'"
        )))
    }
}

async fn fetch(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
    let row: Option<TenantRow> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    row.map(TenantRow::into_tenant).transpose()
}

impl Store {
    /// Creates a tenant with default settings (RS256, no limit overrides, friendly name = id).
    /// `Conflict` if the id or the domain is taken.
    pub async fn create_tenant(&self, id: &str, domain: Option<&str>) -> StoreResult<Tenant> {
        validate_tenant_id(id)?;
        let domain = domain.map(str::to_ascii_lowercase);
        let now = now_ms();
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO tenants (id, domain, friendly_name, signing_alg, limits, created_at, updated_at)
             VALUES ($1, $2, $3, 'RS256', '{}', $4, $4)",
        )
        .bind(id)
        .bind(&domain)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::from_write(e, |msg| {
                if msg.contains("domain") {
                    format!("a tenant with domain {} already exists", domain.as_deref().unwrap_or(""))
                } else {
                    format!("a tenant named {id} already exists")
                }
            })
        })?;
        fetch(&mut conn, id)
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    /// The tenant with this id.
    pub async fn get_tenant(&self, id: &str) -> StoreResult<Tenant> {
        let mut conn = self.conn().await?;
        fetch(&mut conn, id)
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }

    /// The tenant served on `domain` (case-insensitive), used to route requests by Host.
    pub async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Tenant> {
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE domain = $1");
        let row: Option<TenantRow> = sqlx::query_as(&sql)
            .bind(domain.to_ascii_lowercase())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.ok_or(StoreError::NotFound("tenant"))?.into_tenant()
    }

    /// All tenants, oldest first.
    pub async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at, id");
        let rows: Vec<TenantRow> = sqlx::query_as(&sql)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(TenantRow::into_tenant).collect()
    }

    /// Changes the signing algorithm and/or replaces the limits object; `None` leaves a setting
    /// as it is.
    pub async fn update_tenant_settings(
        &self,
        id: &str,
        signing_alg: Option<&str>,
        limits: Option<Value>,
    ) -> StoreResult<Tenant> {
        if let Some(alg) = signing_alg
            && !SIGNING_ALGS.contains(&alg)
        {
            return Err(StoreError::Invalid(format!(
                "signing_alg must be one of RS256, ES256 (got {alg})"
            )));
        }
        let limits = match limits {
            Some(v) => Some(encode(&require_object(v, "limits")?)?),
            None => None,
        };
        let mut conn = self.conn().await?;
        let done = sqlx::query(
            "UPDATE tenants SET signing_alg = COALESCE($2, signing_alg),
                                limits = COALESCE($3, limits),
                                updated_at = $4
             WHERE id = $1",
        )
        .bind(id)
        .bind(signing_alg)
        .bind(limits)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("tenant"));
        }
        fetch(&mut conn, id)
            .await?
            .ok_or(StoreError::NotFound("tenant"))
    }
}
