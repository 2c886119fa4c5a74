//! Applications (`/api/v2/clients`). The client secret is stored only as a hash, in a column
//! the [`Client`] struct does not carry, so serializing a client can never leak it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::json::{apply_patch, decode, encode};
use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreError, StoreResult, ids};

const APP_TYPES: [&str; 4] = ["native", "spa", "regular_web", "non_interactive"];
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_post", "client_secret_basic"];
/// ID-token algorithms a client may choose. Not HS256: it signs with the client secret,
/// which rulebox stores only hashed.
const JWT_ALGS: [&str; 2] = ["RS256", "ES256"];

/// Auth0's default ID token lifetime (10 hours).
const DEFAULT_LIFETIME: u64 = 36_000;

/// Fields `update_client` accepts, as Auth0 PATCH does.
const PATCHABLE: [&str; 11] = [
    "name",
    "description",
    "app_type",
    "grant_types",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "token_endpoint_auth_method",
    "jwt_configuration",
    "client_metadata",
    "is_first_party",
];

/// `jwt_configuration` of a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JwtConfiguration {
    /// Signing algorithm override; `None` means the tenant's `signing_alg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default = "default_lifetime")]
    pub lifetime_in_seconds: u64,
}

fn default_lifetime() -> u64 {
    DEFAULT_LIFETIME
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        JwtConfiguration {
            alg: None,
            lifetime_in_seconds: DEFAULT_LIFETIME,
        }
    }
}

/// An application, in the shape of Auth0's `GET /api/v2/clients/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `native`, `spa`, `regular_web` or `non_interactive`.
    pub app_type: String,
    pub grant_types: Vec<String>,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub token_endpoint_auth_method: String,
    pub jwt_configuration: JwtConfiguration,
    pub client_metadata: Map<String, Value>,
    pub is_first_party: bool,
    pub created_at: String,
}

/// A client to create (the body of `POST /api/v2/clients`). Unset fields get Auth0's defaults
/// for the app type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewClient {
    /// Fixed id (seeding, imports); a random 32-character id otherwise.
    pub client_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// Empty means `regular_web`.
    pub app_type: String,
    /// Empty means the app type's defaults (`client_credentials` only for `non_interactive`).
    pub grant_types: Vec<String>,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    /// Defaults to `none` for `spa`/`native`, `client_secret_post` otherwise.
    pub token_endpoint_auth_method: Option<String>,
    pub jwt_configuration: Option<JwtConfiguration>,
    pub client_metadata: Map<String, Value>,
    /// Defaults to `true`.
    pub is_first_party: Option<bool>,
}

fn default_grant_types(app_type: &str) -> Vec<String> {
    let grants: &[&str] = match app_type {
        "non_interactive" => &["client_credentials"],
        "native" | "spa" => &["authorization_code", "implicit", "refresh_token"],
        _ => &[
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
        ],
    };
    grants.iter().map(|g| (*g).to_string()).collect()
}

fn validate(client: &Client) -> StoreResult<()> {
    if client.name.trim().is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'name' is required".into(),
        ));
    }
    if !APP_TYPES.contains(&client.app_type.as_str()) {
        return Err(StoreError::Invalid(format!(
            "Payload validation error: app_type must be one of {} (got {})",
            APP_TYPES.join(", "),
            client.app_type
        )));
    }
    if !AUTH_METHODS.contains(&client.token_endpoint_auth_method.as_str()) {
        return Err(StoreError::Invalid(format!(
            "Payload validation error: token_endpoint_auth_method must be one of {} (got {})",
            AUTH_METHODS.join(", "),
            client.token_endpoint_auth_method
        )));
    }
    if client.jwt_configuration.lifetime_in_seconds == 0 {
        return Err(StoreError::Invalid(
            "Payload validation error: jwt_configuration.lifetime_in_seconds must be at least 1"
                .into(),
        ));
    }
    if let Some(alg) = &client.jwt_configuration.alg
        && !JWT_ALGS.contains(&alg.as_str())
    {
        return Err(StoreError::Invalid(format!(
            "Payload validation error: jwt_configuration.alg must be one of {} (got {alg})",
            JWT_ALGS.join(", ")
        )));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    description: Option<String>,
    app_type: String,
    grant_types: String,
    callbacks: String,
    allowed_logout_urls: String,
    web_origins: String,
    token_endpoint_auth_method: String,
    jwt_configuration: String,
    client_metadata: String,
    is_first_party: i64,
    created_at: i64,
}

impl ClientRow {
    fn into_client(self) -> StoreResult<Client> {
        Ok(Client {
            grant_types: decode(&self.grant_types, "client grant_types")?,
            callbacks: decode(&self.callbacks, "client callbacks")?,
            allowed_logout_urls: decode(&self.allowed_logout_urls, "client allowed_logout_urls")?,
            web_origins: decode(&self.web_origins, "client web_origins")?,
            jwt_configuration: decode(&self.jwt_configuration, "client jwt_configuration")?,
            client_metadata: decode(&self.client_metadata, "client metadata")?,
            client_id: self.client_id,
            name: self.name,
            description: self.description,
            app_type: self.app_type,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            is_first_party: self.is_first_party != 0,
            created_at: rfc3339_from_ms(self.created_at),
        })
    }
}

const COLUMNS: &str = "client_id, name, description, app_type, grant_types, callbacks, \
    allowed_logout_urls, web_origins, token_endpoint_auth_method, jwt_configuration, \
    client_metadata, CAST(is_first_party AS INTEGER) AS is_first_party, created_at";

async fn fetch(conn: &mut AnyConnection, tenant: &str, client_id: &str) -> StoreResult<Client> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND client_id = $2");
    let row: Option<ClientRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound("client"))?.into_client()
}

impl Store {
    /// Creates a client. `secret_hash` is the hash of the generated client secret (the caller
    /// hashes; the store never sees the secret). `NotFound("tenant")` for an unknown tenant,
    /// `Conflict` if a fixed `client_id` is taken.
    pub async fn create_client(
        &self,
        tenant: &str,
        new: NewClient,
        secret_hash: &str,
    ) -> StoreResult<Client> {
        let app_type = if new.app_type.is_empty() {
            "regular_web".to_string()
        } else {
            new.app_type
        };
        let auth_method = new.token_endpoint_auth_method.unwrap_or_else(|| {
            if app_type == "spa" || app_type == "native" {
                "none".into()
            } else {
                "client_secret_post".into()
            }
        });
        let client = Client {
            client_id: new.client_id.unwrap_or_else(ids::client_id),
            name: new.name,
            description: new.description,
            grant_types: if new.grant_types.is_empty() {
                default_grant_types(&app_type)
            } else {
                new.grant_types
            },
            app_type,
            callbacks: new.callbacks,
            allowed_logout_urls: new.allowed_logout_urls,
            web_origins: new.web_origins,
            token_endpoint_auth_method: auth_method,
            jwt_configuration: new.jwt_configuration.unwrap_or_default(),
            client_metadata: new.client_metadata,
            is_first_party: new.is_first_party.unwrap_or(true),
            created_at: String::new(),
        };
        validate(&client)?;
        let now = now_ms();
        let mut conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO clients (tenant_id, client_id, name, description, app_type, grant_types,
                 callbacks, allowed_logout_urls, web_origins, token_endpoint_auth_method,
                 jwt_configuration, client_metadata, is_first_party, client_secret_hash,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(tenant)
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.description)
        .bind(&client.app_type)
        .bind(encode(&client.grant_types)?)
        .bind(encode(&client.callbacks)?)
        .bind(encode(&client.allowed_logout_urls)?)
        .bind(encode(&client.web_origins)?)
        .bind(&client.token_endpoint_auth_method)
        .bind(encode(&client.jwt_configuration)?)
        .bind(encode(&client.client_metadata)?)
        .bind(client.is_first_party)
        .bind(secret_hash)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::from_insert(e, "tenant", |_| {
                format!("a client with id {} already exists", client.client_id)
            })
        })?;
        fetch(&mut conn, tenant, &client.client_id).await
    }

    /// The client with this id in this tenant.
    pub async fn get_client(&self, tenant: &str, client_id: &str) -> StoreResult<Client> {
        fetch(&mut *self.conn().await?, tenant, client_id).await
    }

    /// All clients of the tenant, oldest first.
    pub async fn list_clients(&self, tenant: &str) -> StoreResult<Vec<Client>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 ORDER BY created_at, client_id"
        );
        let rows: Vec<ClientRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(ClientRow::into_client).collect()
    }

    /// Auth0 PATCH: each given field replaces the stored one (objects such as
    /// `jwt_configuration` and `client_metadata` are replaced whole). Unknown or read-only
    /// fields (`client_id`, `client_secret`, ...) are `Invalid`.
    pub async fn update_client(
        &self,
        tenant: &str,
        client_id: &str,
        patch: Value,
    ) -> StoreResult<Client> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("client:{tenant}:{client_id}")).await?;
        let current = fetch(tx.conn(), tenant, client_id).await?;
        let updated = apply_patch(&current, &patch, &PATCHABLE, "client")?;
        validate(&updated)?;
        sqlx::query(
            "UPDATE clients SET name = $3, description = $4, app_type = $5, grant_types = $6,
                 callbacks = $7, allowed_logout_urls = $8, web_origins = $9,
                 token_endpoint_auth_method = $10, jwt_configuration = $11, client_metadata = $12,
                 is_first_party = $13, updated_at = $14
             WHERE tenant_id = $1 AND client_id = $2",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(&updated.name)
        .bind(&updated.description)
        .bind(&updated.app_type)
        .bind(encode(&updated.grant_types)?)
        .bind(encode(&updated.callbacks)?)
        .bind(encode(&updated.allowed_logout_urls)?)
        .bind(encode(&updated.web_origins)?)
        .bind(&updated.token_endpoint_auth_method)
        .bind(encode(&updated.jwt_configuration)?)
        .bind(encode(&updated.client_metadata)?)
        .bind(updated.is_first_party)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        let client = fetch(tx.conn(), tenant, client_id).await?;
        tx.commit().await?;
        Ok(client)
    }

    /// Deletes the client; its grants, refresh tokens and authorization codes go with it.
    pub async fn delete_client(&self, tenant: &str, client_id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant)
            .bind(client_id)
            .execute(&mut *self.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// Replaces the stored client secret hash (secret rotation).
    pub async fn set_client_secret_hash(
        &self,
        tenant: &str,
        client_id: &str,
        secret_hash: &str,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE clients SET client_secret_hash = $3, updated_at = $4
             WHERE tenant_id = $1 AND client_id = $2",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(secret_hash)
        .bind(now_ms())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    /// The stored secret hash, for authenticating the client at `/oauth/token`. `Ok(None)` only
    /// for rows created without a secret; `NotFound` when the client does not exist.
    pub async fn client_secret_hash(
        &self,
        tenant: &str,
        client_id: &str,
    ) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT client_secret_hash FROM clients WHERE tenant_id = $1 AND client_id = $2",
        )
        .bind(tenant)
        .bind(client_id)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.ok_or(StoreError::NotFound("client"))?.0)
    }
}
