//! Actions (`/api/v2/actions/actions`): the draft of each Action, its secrets and (for
//! `runtime: "wasm"`) its module bytes. Deployed versions live in [`versions`], trigger
//! bindings in [`bindings`].

mod bindings;
mod versions;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::json::{decode, encode, patch_object};
use super::sealer::{SecretSealer, action_secret_context};
use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreError, StoreResult, ids};

pub use bindings::{Binding, BindingAction};
pub use versions::{ActionVersion, CheckedDraft};

/// Auth0's published limits, enforced here so every entry point gets them.
const MAX_CODE_BYTES: usize = 100 * 1024;
const MAX_SECRETS: usize = 30;
const MAX_SECRET_NAME: usize = 128;

/// Fields of an Action body the store understands. Other fields (such as the base64 module the
/// HTTP layer decodes itself) are ignored.
const FIELDS: [&str; 6] = [
    "name",
    "supported_triggers",
    "code",
    "runtime",
    "dependencies",
    "secrets",
];

/// A trigger an Action supports, e.g. `{"id": "post-login", "version": "v3"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRef {
    pub id: String,
    #[serde(default = "default_trigger_version")]
    pub version: String,
}

fn default_trigger_version() -> String {
    "v3".into()
}

/// A secret as listed by the API: the value is never returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub name: String,
    pub updated_at: String,
}

/// A secret in a create/update body. On update, an entry without `value` keeps the stored
/// value of the secret with that name (the Auth0 dashboard sends unchanged secrets that way).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SecretInput {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// The `runtime` of an Action whose code is a wasm module (any other is JavaScript).
pub const WASM_RUNTIME: &str = "wasm";

/// Whether a stored `runtime` names a wasm module.
pub fn is_wasm(runtime: &str) -> bool {
    runtime == WASM_RUNTIME
}

/// An Action, in the shape of Auth0's `GET /api/v2/actions/actions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub code: String,
    /// `node18` for JavaScript, `wasm` for WebAssembly modules.
    pub runtime: String,
    pub dependencies: Vec<Value>,
    pub secrets: Vec<SecretMeta>,
    /// Always `built`: drafts are validated synchronously by the caller before being stored.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_version: Option<ActionVersion>,
    pub created_at: String,
    pub updated_at: String,
    /// Whether the deployed version matches the draft (code, runtime, dependencies, triggers,
    /// module). Secrets are Action-wide and take effect without a deploy.
    pub all_changes_deployed: bool,
}

/// The recognised fields of an Action body, all optional (create checks the required ones).
#[derive(Debug, Default, Deserialize)]
struct ActionBody {
    name: Option<String>,
    supported_triggers: Option<Vec<TriggerRef>>,
    code: Option<String>,
    runtime: Option<String>,
    dependencies: Option<Vec<Value>>,
    secrets: Option<Vec<SecretInput>>,
}

fn parse_body(body: &Value) -> StoreResult<ActionBody> {
    let fields = patch_object(body)?;
    let known: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(known))
        .map_err(|e| StoreError::Invalid(format!("Payload validation error: {e}")))
}

/// The draft as stored, before secrets and the deployed version are attached.
#[derive(sqlx::FromRow)]
struct ActionRow {
    id: String,
    name: String,
    supported_triggers: String,
    code: String,
    runtime: String,
    dependencies: String,
    module_sha256: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, name, supported_triggers, code, runtime, dependencies, module_sha256, created_at, updated_at";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn validate_draft(
    name: &str,
    triggers: &[TriggerRef],
    code: &str,
    runtime: &str,
) -> StoreResult<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'name' is required".into(),
        ));
    }
    if triggers.is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'supported_triggers' must list at least one trigger".into(),
        ));
    }
    if code.len() > MAX_CODE_BYTES {
        return Err(StoreError::Invalid(format!(
            "Payload validation error: code exceeds {MAX_CODE_BYTES} bytes"
        )));
    }
    if runtime.is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'runtime' must not be empty".into(),
        ));
    }
    Ok(())
}

fn validate_secrets(secrets: &[SecretInput]) -> StoreResult<()> {
    if secrets.len() > MAX_SECRETS {
        return Err(StoreError::Invalid(format!(
            "Payload validation error: at most {MAX_SECRETS} secrets per action"
        )));
    }
    for (i, secret) in secrets.iter().enumerate() {
        if secret.name.is_empty() || secret.name.len() > MAX_SECRET_NAME {
            return Err(StoreError::Invalid(format!(
                "Payload validation error: secret names must be 1-{MAX_SECRET_NAME} characters"
            )));
        }
        if secrets[..i].iter().any(|s| s.name == secret.name) {
            return Err(StoreError::Invalid(format!(
                "Payload validation error: duplicate secret {}",
                secret.name
            )));
        }
    }
    Ok(())
}

async fn fetch_row(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<ActionRow> {
    let sql = format!("SELECT {COLUMNS} FROM actions WHERE tenant_id = $1 AND id = $2");
    let row: Option<ActionRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound("action"))
}

/// Completes a draft row into the API shape (secret names, deployed version, change flag).
async fn assemble(conn: &mut AnyConnection, tenant: &str, row: ActionRow) -> StoreResult<Action> {
    let secrets: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, updated_at FROM action_secrets WHERE tenant_id = $1 AND action_id = $2 ORDER BY name",
    )
    .bind(tenant)
    .bind(&row.id)
    .fetch_all(&mut *conn)
    .await?;
    let deployed = versions::fetch_deployed(conn, tenant, &row.id).await?;
    let supported_triggers: Vec<TriggerRef> =
        decode(&row.supported_triggers, "action supported_triggers")?;
    let dependencies: Vec<Value> = decode(&row.dependencies, "action dependencies")?;
    let all_changes_deployed = deployed.as_ref().is_some_and(|(v, module_sha256)| {
        v.code == row.code
            && v.runtime == row.runtime
            && v.dependencies == dependencies
            && v.supported_triggers == supported_triggers
            && *module_sha256 == row.module_sha256
    });
    Ok(Action {
        id: row.id,
        name: row.name,
        supported_triggers,
        code: row.code,
        runtime: row.runtime,
        dependencies,
        secrets: secrets
            .into_iter()
            .map(|(name, at)| SecretMeta {
                name,
                updated_at: rfc3339_from_ms(at),
            })
            .collect(),
        status: "built".into(),
        deployed_version: deployed.map(|(v, _)| v),
        created_at: rfc3339_from_ms(row.created_at),
        updated_at: rfc3339_from_ms(row.updated_at),
        all_changes_deployed,
    })
}

async fn fetch(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<Action> {
    let row = fetch_row(conn, tenant, id).await?;
    assemble(conn, tenant, row).await
}

/// Replaces the secret set. Entries without a value keep the stored value (and date); an entry
/// without a value that has nothing stored is `Invalid`.
async fn replace_secrets(
    conn: &mut AnyConnection,
    sealer: &SecretSealer,
    tenant: &str,
    action_id: &str,
    secrets: &[SecretInput],
) -> StoreResult<()> {
    validate_secrets(secrets)?;
    let existing: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT name, value, updated_at FROM action_secrets WHERE tenant_id = $1 AND action_id = $2",
    )
    .bind(tenant)
    .bind(action_id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM action_secrets WHERE tenant_id = $1 AND action_id = $2")
        .bind(tenant)
        .bind(action_id)
        .execute(&mut *conn)
        .await?;
    let now = now_ms();
    for secret in secrets {
        let (value, updated_at) = match &secret.value {
            Some(value) => (
                sealer.seal(
                    &action_secret_context(tenant, action_id, &secret.name),
                    value,
                )?,
                now,
            ),
            None => match existing.iter().find(|(name, _, _)| *name == secret.name) {
                Some((_, value, at)) => (value.clone(), *at),
                None => {
                    return Err(StoreError::Invalid(format!(
                        "Payload validation error: secret {} needs a value",
                        secret.name
                    )));
                }
            },
        };
        sqlx::query(
            "INSERT INTO action_secrets (tenant_id, action_id, name, value, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(action_id)
        .bind(&secret.name)
        .bind(value)
        .bind(updated_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn name_conflict(name: &str) -> String {
    format!("An action with the name '{name}' already exists")
}

impl Store {
    /// Creates an Action draft from an Auth0 body (`name`, `supported_triggers`, `code`,
    /// `runtime` (default `node18`), `dependencies`, `secrets: [{name, value}]`); `module`
    /// holds the WebAssembly bytes of a `wasm` Action. `Conflict` on a duplicate name.
    pub async fn create_action(
        &self,
        tenant: &str,
        body: Value,
        module: Option<Vec<u8>>,
    ) -> StoreResult<Action> {
        let body = parse_body(&body)?;
        let name = body.name.unwrap_or_default();
        let triggers = body.supported_triggers.unwrap_or_default();
        let code = body.code.unwrap_or_default();
        let runtime = body.runtime.unwrap_or_else(|| "node18".into());
        let dependencies = body.dependencies.unwrap_or_default();
        let secrets = body.secrets.unwrap_or_default();
        validate_draft(&name, &triggers, &code, &runtime)?;
        validate_secrets(&secrets)?;
        let module_sha256 = module.as_deref().map(sha256_hex);
        let id = ids::uuid();
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO actions (tenant_id, id, name, supported_triggers, code, runtime,
                 dependencies, module, module_sha256, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(tenant)
        .bind(&id)
        .bind(&name)
        .bind(encode(&triggers)?)
        .bind(&code)
        .bind(&runtime)
        .bind(encode(&dependencies)?)
        .bind(module)
        .bind(module_sha256)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "tenant", |_| name_conflict(&name)))?;
        replace_secrets(tx.conn(), &self.sealer, tenant, &id, &secrets).await?;
        let action = fetch(tx.conn(), tenant, &id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// The Action draft with its deployed version, if any.
    pub async fn get_action(&self, tenant: &str, id: &str) -> StoreResult<Action> {
        fetch(&mut *self.conn().await?, tenant, id).await
    }

    /// Actions of the tenant, oldest first, optionally only those supporting `trigger_id`
    /// and/or with exactly this name.
    pub async fn list_actions(
        &self,
        tenant: &str,
        trigger_id: Option<&str>,
        action_name: Option<&str>,
    ) -> StoreResult<Vec<Action>> {
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM actions WHERE tenant_id = $1 AND ($2 IS NULL OR name = $2)
             ORDER BY created_at, id"
        );
        let rows: Vec<ActionRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(action_name)
            .fetch_all(&mut *conn)
            .await?;
        let mut actions = Vec::with_capacity(rows.len());
        for row in rows {
            let action = assemble(&mut conn, tenant, row).await?;
            // JSON columns are filtered here rather than in SQL to stay portable.
            if trigger_id.is_none_or(|t| action.supported_triggers.iter().any(|s| s.id == t)) {
                actions.push(action);
            }
        }
        Ok(actions)
    }

    /// Updates the draft: given fields of `patch` (`name`, `code`, `supported_triggers`,
    /// `runtime`, `dependencies`, `secrets` — which replaces the whole set) replace the stored
    /// ones; `module` replaces the WebAssembly bytes. A runtime other than `wasm` drops the
    /// stored module. Deployed versions are untouched until the next deploy.
    pub async fn update_action(
        &self,
        tenant: &str,
        id: &str,
        patch: Value,
        module: Option<Vec<u8>>,
    ) -> StoreResult<Action> {
        let body = parse_body(&patch)?;
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("action:{tenant}:{id}")).await?;
        let row = fetch_row(tx.conn(), tenant, id).await?;
        let name = body.name.unwrap_or(row.name);
        let triggers = match body.supported_triggers {
            Some(t) => t,
            None => decode(&row.supported_triggers, "action supported_triggers")?,
        };
        let code = body.code.unwrap_or(row.code);
        let runtime = body.runtime.unwrap_or(row.runtime);
        let dependencies = match body.dependencies {
            Some(d) => d,
            None => decode(&row.dependencies, "action dependencies")?,
        };
        validate_draft(&name, &triggers, &code, &runtime)?;
        let now = now_ms();
        sqlx::query(
            "UPDATE actions SET name = $3, supported_triggers = $4, code = $5, runtime = $6,
                 dependencies = $7, updated_at = $8
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(&name)
        .bind(encode(&triggers)?)
        .bind(&code)
        .bind(&runtime)
        .bind(encode(&dependencies)?)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_write(e, |_| name_conflict(&name)))?;
        if !is_wasm(&runtime) {
            sqlx::query("UPDATE actions SET module = NULL, module_sha256 = NULL WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(tx.conn())
                .await?;
        } else if let Some(bytes) = module {
            let sha = sha256_hex(&bytes);
            sqlx::query("UPDATE actions SET module = $3, module_sha256 = $4 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .bind(bytes)
                .bind(sha)
                .execute(tx.conn())
                .await?;
        }
        if let Some(secrets) = &body.secrets {
            replace_secrets(tx.conn(), &self.sealer, tenant, id, secrets).await?;
        }
        let action = fetch(tx.conn(), tenant, id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Deletes the Action with its versions and secrets. Like Auth0, an Action still bound to
    /// a trigger is not deleted (`Conflict`) unless `force`, which also removes the bindings.
    pub async fn delete_action(&self, tenant: &str, id: &str, force: bool) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("action:{tenant}:{id}")).await?;
        let row = fetch_row(tx.conn(), tenant, id).await?;
        let triggers: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT trigger_id FROM trigger_bindings WHERE tenant_id = $1 AND action_id = $2 ORDER BY trigger_id",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(tx.conn())
        .await?;
        if !triggers.is_empty() && !force {
            let names: Vec<String> = triggers.into_iter().map(|(t,)| t).collect();
            return Err(StoreError::Conflict(format!(
                "The action '{}' is bound to trigger(s) {}; remove the bindings first or delete with force=true",
                row.name,
                names.join(", ")
            )));
        }
        sqlx::query("DELETE FROM actions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Secret names and values for running the Action (`event.secrets`), opened.
    pub async fn action_secrets(
        &self,
        tenant: &str,
        action_id: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, value FROM action_secrets WHERE tenant_id = $1 AND action_id = $2 ORDER BY name",
        )
        .bind(tenant)
        .bind(action_id)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(name, value)| {
                let context = action_secret_context(tenant, action_id, &name);
                Ok((name.clone(), self.sealer.open(&context, &value)?))
            })
            .collect()
    }

    /// The draft's WebAssembly bytes (`None` for JavaScript Actions); `NotFound` if the Action
    /// does not exist.
    pub async fn action_module(
        &self,
        tenant: &str,
        action_id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT module FROM actions WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(action_id)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.ok_or(StoreError::NotFound("action"))?.0)
    }
}
