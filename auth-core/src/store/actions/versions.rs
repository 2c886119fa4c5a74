//! Action versions: immutable snapshots of a draft, one of which is deployed. Deploying and
//! rolling back both append a version (numbered N+1) and move the single `deployed` flag, in
//! one serialized transaction so concurrent deploys cannot reuse a number.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;

use super::super::json::decode;
use super::super::time::{now_ms, rfc3339_from_ms};
use super::super::{Store, StoreError, StoreResult, ids};
use super::{TriggerRef, fetch_row};

/// Auth0 keeps 50 versions per Action; older undeployed ones are pruned.
const MAX_VERSIONS: usize = 50;

/// A version, in the shape of Auth0's `GET /api/v2/actions/actions/{id}/versions/{version}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionVersion {
    pub id: String,
    pub action_id: String,
    pub number: u32,
    pub code: String,
    pub runtime: String,
    pub dependencies: Vec<Value>,
    pub supported_triggers: Vec<TriggerRef>,
    pub deployed: bool,
    /// Always `built`.
    pub status: String,
    pub created_at: String,
    /// Reference of the compiled module given at deploy time (a sandbox module id), or else
    /// the SHA-256 hex of the WebAssembly bytes; `None` for JavaScript deployed without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_hash: Option<String>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: String,
    action_id: String,
    number: i64,
    code: String,
    runtime: String,
    dependencies: String,
    supported_triggers: String,
    module_sha256: Option<String>,
    module_hash: Option<String>,
    deployed: i64,
    created_at: i64,
}

impl VersionRow {
    /// The API shape plus the SHA-256 of the module, used to compare with the draft.
    fn into_version(self) -> StoreResult<(ActionVersion, Option<String>)> {
        let version = ActionVersion {
            number: u32::try_from(self.number)
                .map_err(|e| StoreError::corrupt("version number", e))?,
            dependencies: decode(&self.dependencies, "version dependencies")?,
            supported_triggers: decode(&self.supported_triggers, "version supported_triggers")?,
            id: self.id,
            action_id: self.action_id,
            code: self.code,
            runtime: self.runtime,
            deployed: self.deployed != 0,
            status: "built".into(),
            created_at: rfc3339_from_ms(self.created_at),
            module_hash: self.module_hash,
        };
        Ok((version, self.module_sha256))
    }
}

const COLUMNS: &str = "id, action_id, number, code, runtime, dependencies, supported_triggers, \
    module_sha256, module_hash, CAST(deployed AS INTEGER) AS deployed, created_at";

/// What a new version is made of: the draft (deploy) or an older version (rollback).
#[derive(sqlx::FromRow)]
struct Snapshot {
    code: String,
    runtime: String,
    dependencies: String,
    supported_triggers: String,
    module: Option<Vec<u8>>,
    module_sha256: Option<String>,
    module_hash: Option<String>,
}

/// The deployed version of an Action with its module SHA-256, if one is deployed.
pub(super) async fn fetch_deployed(
    conn: &mut AnyConnection,
    tenant: &str,
    action_id: &str,
) -> StoreResult<Option<(ActionVersion, Option<String>)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM action_versions WHERE tenant_id = $1 AND action_id = $2 AND deployed = TRUE"
    );
    let row: Option<VersionRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(action_id)
        .fetch_optional(conn)
        .await?;
    row.map(VersionRow::into_version).transpose()
}

async fn fetch_version(
    conn: &mut AnyConnection,
    tenant: &str,
    action_id: &str,
    version_id: &str,
) -> StoreResult<ActionVersion> {
    let sql = format!(
        "SELECT {COLUMNS} FROM action_versions WHERE tenant_id = $1 AND action_id = $2 AND id = $3"
    );
    let row: Option<VersionRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(action_id)
        .bind(version_id)
        .fetch_optional(conn)
        .await?;
    Ok(row
        .ok_or(StoreError::NotFound("action version"))?
        .into_version()?
        .0)
}

/// Appends `snapshot` as version N+1, makes it the only deployed version and prunes the oldest
/// undeployed versions beyond [`MAX_VERSIONS`]. Must run inside a write transaction.
async fn append_deployed(
    conn: &mut AnyConnection,
    tenant: &str,
    action_id: &str,
    snapshot: Snapshot,
) -> StoreResult<ActionVersion> {
    let (next,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM action_versions WHERE tenant_id = $1 AND action_id = $2",
    )
    .bind(tenant)
    .bind(action_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE action_versions SET deployed = FALSE
         WHERE tenant_id = $1 AND action_id = $2 AND deployed = TRUE",
    )
    .bind(tenant)
    .bind(action_id)
    .execute(&mut *conn)
    .await?;
    let id = ids::uuid();
    sqlx::query(
        "INSERT INTO action_versions (tenant_id, id, action_id, number, code, runtime, dependencies,
             supported_triggers, module, module_sha256, module_hash, deployed, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, TRUE, $12)",
    )
    .bind(tenant)
    .bind(&id)
    .bind(action_id)
    .bind(next)
    .bind(snapshot.code)
    .bind(snapshot.runtime)
    .bind(snapshot.dependencies)
    .bind(snapshot.supported_triggers)
    .bind(snapshot.module)
    .bind(snapshot.module_sha256)
    .bind(snapshot.module_hash)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    let old: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM action_versions WHERE tenant_id = $1 AND action_id = $2 AND deployed = FALSE
         ORDER BY number",
    )
    .bind(tenant)
    .bind(action_id)
    .fetch_all(&mut *conn)
    .await?;
    // The deployed version counts towards the limit, hence the + 1.
    let excess = (old.len() + 1).saturating_sub(MAX_VERSIONS);
    for (old_id,) in old.iter().take(excess) {
        sqlx::query("DELETE FROM action_versions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(old_id)
            .execute(&mut *conn)
            .await?;
    }
    fetch_version(conn, tenant, action_id, &id).await
}

/// A draft as the caller validated it. A deploy given one versions the draft
/// only if it still is that draft, so a version's `supported_triggers` are
/// the ones its code was checked against and its `module_hash` names its code.
pub struct CheckedDraft<'a> {
    pub code: &'a str,
    pub runtime: &'a str,
    pub supported_triggers: &'a [TriggerRef],
    pub module: Option<&'a [u8]>,
}

impl CheckedDraft<'_> {
    fn matches(&self, draft: &Snapshot) -> StoreResult<bool> {
        let triggers: Vec<TriggerRef> =
            decode(&draft.supported_triggers, "action supported_triggers")?;
        Ok(draft.code == self.code
            && draft.runtime == self.runtime
            && triggers == self.supported_triggers
            && draft.module_sha256 == self.module.map(super::sha256_hex))
    }
}

impl Store {
    /// Deploys the current draft: creates version N+1 from it and makes it the deployed one.
    /// `module_ref` is the caller's reference of the compiled module (stored as
    /// `module_hash`); without it, a `wasm` draft's module SHA-256 is used.
    pub async fn deploy_action(
        &self,
        tenant: &str,
        action_id: &str,
        module_ref: Option<String>,
    ) -> StoreResult<ActionVersion> {
        self.deploy_checked_action(tenant, action_id, module_ref, None)
            .await
    }

    /// [`Store::deploy_action`] of the draft `checked` describes: a draft
    /// changed since it was validated is a conflict, and nothing is deployed.
    pub async fn deploy_checked_action(
        &self,
        tenant: &str,
        action_id: &str,
        module_ref: Option<String>,
        checked: Option<CheckedDraft<'_>>,
    ) -> StoreResult<ActionVersion> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("action:{tenant}:{action_id}")).await?;
        let draft: Option<Snapshot> = sqlx::query_as(
            "SELECT code, runtime, dependencies, supported_triggers, module, module_sha256,
                    NULL AS module_hash
             FROM actions WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(action_id)
        .fetch_optional(tx.conn())
        .await?;
        let mut draft = draft.ok_or(StoreError::NotFound("action"))?;
        if let Some(checked) = checked
            && !checked.matches(&draft)?
        {
            return Err(StoreError::Conflict(
                "The Action's draft changed while it was being deployed; deploy it again.".into(),
            ));
        }
        draft.module_hash = module_ref.or_else(|| draft.module_sha256.clone());
        let version = append_deployed(tx.conn(), tenant, action_id, draft).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Auth0 rollback: redeploys an older version by appending a new version (N+1) identical
    /// to it and deploying that. The draft is left as it is. Returns the new version.
    pub async fn rollback_action(
        &self,
        tenant: &str,
        action_id: &str,
        version_id: &str,
    ) -> StoreResult<ActionVersion> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("action:{tenant}:{action_id}")).await?;
        let old: Option<Snapshot> = sqlx::query_as(
            "SELECT code, runtime, dependencies, supported_triggers, module, module_sha256, module_hash
             FROM action_versions WHERE tenant_id = $1 AND action_id = $2 AND id = $3",
        )
        .bind(tenant)
        .bind(action_id)
        .bind(version_id)
        .fetch_optional(tx.conn())
        .await?;
        let old = old.ok_or(StoreError::NotFound("action version"))?;
        let version = append_deployed(tx.conn(), tenant, action_id, old).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// All versions of the Action, newest first.
    pub async fn list_action_versions(
        &self,
        tenant: &str,
        action_id: &str,
    ) -> StoreResult<Vec<ActionVersion>> {
        let mut conn = self.conn().await?;
        fetch_row(&mut conn, tenant, action_id).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM action_versions WHERE tenant_id = $1 AND action_id = $2 ORDER BY number DESC"
        );
        let rows: Vec<VersionRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(action_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(|r| Ok(r.into_version()?.0)).collect()
    }

    /// One version of the Action.
    pub async fn get_action_version(
        &self,
        tenant: &str,
        action_id: &str,
        version_id: &str,
    ) -> StoreResult<ActionVersion> {
        fetch_version(&mut *self.conn().await?, tenant, action_id, version_id).await
    }

    /// The deployed version (`None` if never deployed); `NotFound` if the Action does not exist.
    pub async fn deployed_version(
        &self,
        tenant: &str,
        action_id: &str,
    ) -> StoreResult<Option<ActionVersion>> {
        let mut conn = self.conn().await?;
        fetch_row(&mut conn, tenant, action_id).await?;
        Ok(fetch_deployed(&mut conn, tenant, action_id)
            .await?
            .map(|(v, _)| v))
    }

    /// The WebAssembly bytes captured by a version (`None` for JavaScript versions).
    pub async fn action_version_module(
        &self,
        tenant: &str,
        action_id: &str,
        version_id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
            "SELECT module FROM action_versions WHERE tenant_id = $1 AND action_id = $2 AND id = $3",
        )
        .bind(tenant)
        .bind(action_id)
        .bind(version_id)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.ok_or(StoreError::NotFound("action version"))?.0)
    }
}
