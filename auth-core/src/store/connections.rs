//! Connections (`/api/v2/connections`): where users live and how they authenticate. For
//! database connections `options` carries the custom-database settings (`customScripts`,
//! `enabledDatabaseCustomization`, `import_mode`, `configuration`) and password policy; the
//! store keeps `options` as an opaque object and lets the caller interpret it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::json::{apply_patch, decode, encode};
use super::time::now_ms;
use super::{Store, StoreError, StoreResult, ids};

/// Fields `update_connection` accepts. `name` and `strategy` are immutable, as in Auth0 (users
/// reference their connection by name).
const PATCHABLE: [&str; 5] = [
    "options",
    "enabled_clients",
    "realms",
    "display_name",
    "metadata",
];

/// A connection, in the shape of Auth0's `GET /api/v2/connections/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `auth0` for database connections.
    pub strategy: String,
    /// Strategy-specific settings, always a JSON object.
    pub options: Value,
    /// Client ids allowed to log in through this connection.
    pub enabled_clients: Vec<String>,
    /// Realm names (for `password-realm`); defaults to `[name]`.
    pub realms: Vec<String>,
    /// Free-form string metadata, exposed to Actions as `event.connection.metadata`.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// Auth0's rule for connection names: letters and digits, single hyphens inside, ≤ 128 chars.
fn validate_name(name: &str) -> StoreResult<()> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "Payload validation error: connection name {name:?} must be 1-128 letters, digits and single inner hyphens"
        )))
    }
}

fn validate(conn: &Connection) -> StoreResult<()> {
    if !conn.options.is_object() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'options' must be an object".into(),
        ));
    }
    if conn.strategy.is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'strategy' is required".into(),
        ));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: String,
    name: String,
    display_name: Option<String>,
    strategy: String,
    options: String,
    enabled_clients: String,
    realms: String,
    metadata: String,
}

impl ConnectionRow {
    fn into_connection(self) -> StoreResult<Connection> {
        Ok(Connection {
            options: decode(&self.options, "connection options")?,
            enabled_clients: decode(&self.enabled_clients, "connection enabled_clients")?,
            realms: decode(&self.realms, "connection realms")?,
            metadata: decode(&self.metadata, "connection metadata")?,
            id: self.id,
            name: self.name,
            display_name: self.display_name,
            strategy: self.strategy,
        })
    }
}

const COLUMNS: &str =
    "id, name, display_name, strategy, options, enabled_clients, realms, metadata";

async fn fetch(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<Connection> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2");
    let row: Option<ConnectionRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound("connection"))?
        .into_connection()
}

impl Store {
    /// Creates a connection with `realms = [name]`, no display name and empty metadata (set
    /// those with [`Store::update_connection`]). `Conflict` if the tenant already has a
    /// connection with this name, `NotFound("tenant")` for an unknown tenant, `Invalid` for a
    /// bad name or non-object `options`.
    pub async fn create_connection(
        &self,
        tenant: &str,
        name: &str,
        strategy: &str,
        options: Value,
        enabled_clients: Vec<String>,
    ) -> StoreResult<Connection> {
        validate_name(name)?;
        let connection = Connection {
            id: ids::connection_id(),
            name: name.to_string(),
            display_name: None,
            strategy: strategy.to_string(),
            options,
            enabled_clients,
            realms: vec![name.to_string()],
            metadata: Map::new(),
        };
        validate(&connection)?;
        let now = now_ms();
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO connections (tenant_id, id, name, display_name, strategy, options,
                 enabled_clients, realms, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(tenant)
        .bind(&connection.id)
        .bind(&connection.name)
        .bind(&connection.display_name)
        .bind(&connection.strategy)
        .bind(encode(&connection.options)?)
        .bind(encode(&connection.enabled_clients)?)
        .bind(encode(&connection.realms)?)
        .bind(encode(&connection.metadata)?)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::from_insert(e, "tenant", |_| {
                format!("a connection named {} already exists", connection.name)
            })
        })?;
        fetch(&mut conn, tenant, &connection.id).await
    }

    /// The connection with this id.
    pub async fn get_connection(&self, tenant: &str, id: &str) -> StoreResult<Connection> {
        fetch(&mut *self.conn().await?, tenant, id).await
    }

    /// The connection with this name (names are unique per tenant), e.g. for `realm`.
    pub async fn connection_by_name(&self, tenant: &str, name: &str) -> StoreResult<Connection> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND name = $2");
        let row: Option<ConnectionRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(name)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.ok_or(StoreError::NotFound("connection"))?
            .into_connection()
    }

    /// All connections of the tenant, oldest first.
    pub async fn list_connections(&self, tenant: &str) -> StoreResult<Vec<Connection>> {
        self.list_connections_filtered(tenant, None, None).await
    }

    /// Connections of the tenant, optionally only those with this exact strategy and/or name
    /// (`GET /api/v2/connections?strategy=..&name=..`), oldest first.
    pub async fn list_connections_filtered(
        &self,
        tenant: &str,
        strategy: Option<&str>,
        name: Option<&str>,
    ) -> StoreResult<Vec<Connection>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections
             WHERE tenant_id = $1 AND ($2 IS NULL OR strategy = $2) AND ($3 IS NULL OR name = $3)
             ORDER BY created_at, id"
        );
        let rows: Vec<ConnectionRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(strategy)
            .bind(name)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter()
            .map(ConnectionRow::into_connection)
            .collect()
    }

    /// Auth0 PATCH: given fields replace the stored ones; in particular `options` replaces the
    /// whole options object (callers wanting to change one option send them all, as with
    /// Auth0). `name` and `strategy` cannot change (`Invalid`).
    pub async fn update_connection(
        &self,
        tenant: &str,
        id: &str,
        patch: Value,
    ) -> StoreResult<Connection> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("connection:{tenant}:{id}")).await?;
        let current = fetch(tx.conn(), tenant, id).await?;
        let updated = apply_patch(&current, &patch, &PATCHABLE, "connection")?;
        validate(&updated)?;
        sqlx::query(
            "UPDATE connections SET display_name = $3, options = $4, enabled_clients = $5,
                 realms = $6, metadata = $7, updated_at = $8
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(&updated.display_name)
        .bind(encode(&updated.options)?)
        .bind(encode(&updated.enabled_clients)?)
        .bind(encode(&updated.realms)?)
        .bind(encode(&updated.metadata)?)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        let connection = fetch(tx.conn(), tenant, id).await?;
        tx.commit().await?;
        Ok(connection)
    }

    /// Deletes the connection and, as Auth0 does, every user in it (with their tokens).
    pub async fn delete_connection(&self, tenant: &str, id: &str) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        // Its users go with it (a foreign-key cascade); their second factors have no
        // foreign key (see migration 0007) and go here, in the same transaction.
        sqlx::query(
            "DELETE FROM mfa_authenticators WHERE tenant_id = $1 AND user_id IN
               (SELECT u.user_id FROM users u JOIN connections c
                  ON c.tenant_id = u.tenant_id AND c.name = u.connection
                WHERE c.tenant_id = $1 AND c.id = $2)",
        )
        .bind(tenant)
        .bind(id)
        .execute(tx.conn())
        .await?;
        let done = sqlx::query("DELETE FROM connections WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("connection"));
        }
        tx.commit().await
    }
}
