//! Trigger bindings (`/api/v2/actions/triggers/{trigger}/bindings`): the ordered list of
//! Actions a trigger runs. Only deployed Actions whose deployed version supports the trigger
//! can be bound, so the login pipeline never meets a binding it cannot run.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::super::time::{now_ms, rfc3339_from_ms};
use super::super::{Store, StoreError, StoreResult, ids};
use super::versions::{ActionVersion, fetch_deployed};
use super::{Action, assemble, fetch_row};

/// Auth0 runs at most 20 Actions per trigger.
const MAX_BINDINGS: usize = 20;

/// The bound Action as shown in a binding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindingAction {
    pub id: String,
    pub name: String,
}

/// A binding, in the shape of Auth0's `GET /api/v2/actions/triggers/{trigger}/bindings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub id: String,
    pub trigger_id: String,
    pub action: BindingAction,
    pub display_name: String,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct BindingRow {
    id: String,
    trigger_id: String,
    action_id: String,
    action_name: String,
    display_name: String,
    created_at: i64,
}

impl BindingRow {
    fn into_binding(self) -> Binding {
        Binding {
            id: self.id,
            trigger_id: self.trigger_id,
            action: BindingAction {
                id: self.action_id,
                name: self.action_name,
            },
            display_name: self.display_name,
            created_at: rfc3339_from_ms(self.created_at),
        }
    }
}

async fn fetch_bindings(
    conn: &mut AnyConnection,
    tenant: &str,
    trigger_id: &str,
) -> StoreResult<Vec<Binding>> {
    let rows: Vec<BindingRow> = sqlx::query_as(
        "SELECT b.id, b.trigger_id, b.action_id, a.name AS action_name, b.display_name, b.created_at
         FROM trigger_bindings b
         JOIN actions a ON a.tenant_id = b.tenant_id AND a.id = b.action_id
         WHERE b.tenant_id = $1 AND b.trigger_id = $2
         ORDER BY b.position",
    )
    .bind(tenant)
    .bind(trigger_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(BindingRow::into_binding).collect())
}

impl Store {
    /// Replaces the trigger's bindings with `action_ids`, in that order (Auth0 PATCH
    /// semantics). `Invalid` if an id is unknown, repeated, not deployed, or its deployed
    /// version does not support the trigger, or if more than 20 are given; nothing changes
    /// then. Actions that stay bound keep their binding id and creation date.
    pub async fn set_bindings(
        &self,
        tenant: &str,
        trigger_id: &str,
        action_ids: Vec<String>,
    ) -> StoreResult<Vec<Binding>> {
        if action_ids.len() > MAX_BINDINGS {
            return Err(StoreError::Invalid(format!(
                "a trigger can run at most {MAX_BINDINGS} actions"
            )));
        }
        let mut tx = self.write_tx().await?;
        // The binding set, then its actions in a fixed order (so two nodes cannot deadlock):
        // an action deleted or redeployed meanwhile waits or is seen as it ends.
        tx.lock(&format!("bindings:{tenant}:{trigger_id}")).await?;
        let mut sorted: Vec<&String> = action_ids.iter().collect();
        sorted.sort();
        for action_id in sorted {
            tx.lock(&format!("action:{tenant}:{action_id}")).await?;
        }
        let mut names = Vec::with_capacity(action_ids.len());
        for (i, action_id) in action_ids.iter().enumerate() {
            if action_ids[..i].contains(action_id) {
                return Err(StoreError::Invalid(format!(
                    "action {action_id} is bound twice"
                )));
            }
            let row = match fetch_row(tx.conn(), tenant, action_id).await {
                Ok(row) => row,
                Err(StoreError::NotFound(_)) => {
                    return Err(StoreError::Invalid(format!(
                        "action {action_id} does not exist"
                    )));
                }
                Err(e) => return Err(e),
            };
            let Some((deployed, _)) = fetch_deployed(tx.conn(), tenant, action_id).await? else {
                return Err(StoreError::Invalid(format!(
                    "action '{}' has no deployed version; deploy it before binding",
                    row.name
                )));
            };
            if !deployed
                .supported_triggers
                .iter()
                .any(|t| t.id == trigger_id)
            {
                return Err(StoreError::Invalid(format!(
                    "action '{}' does not support trigger {trigger_id}",
                    row.name
                )));
            }
            names.push(row.name);
        }
        let existing: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT action_id, id, created_at FROM trigger_bindings WHERE tenant_id = $1 AND trigger_id = $2",
        )
        .bind(tenant)
        .bind(trigger_id)
        .fetch_all(tx.conn())
        .await?;
        let existing: HashMap<String, (String, i64)> = existing
            .into_iter()
            .map(|(a, id, at)| (a, (id, at)))
            .collect();
        sqlx::query("DELETE FROM trigger_bindings WHERE tenant_id = $1 AND trigger_id = $2")
            .bind(tenant)
            .bind(trigger_id)
            .execute(tx.conn())
            .await?;
        let now = now_ms();
        for (position, (action_id, name)) in action_ids.iter().zip(&names).enumerate() {
            let (id, created_at) = existing
                .get(action_id)
                .cloned()
                .unwrap_or_else(|| (ids::uuid(), now));
            sqlx::query(
                "INSERT INTO trigger_bindings (tenant_id, id, trigger_id, action_id, display_name, position, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant)
            .bind(id)
            .bind(trigger_id)
            .bind(action_id)
            .bind(name)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(created_at)
            .execute(tx.conn())
            .await?;
        }
        let bindings = fetch_bindings(tx.conn(), tenant, trigger_id).await?;
        tx.commit().await?;
        Ok(bindings)
    }

    /// The trigger's bindings in execution order.
    pub async fn bindings(&self, tenant: &str, trigger_id: &str) -> StoreResult<Vec<Binding>> {
        fetch_bindings(&mut *self.conn().await?, tenant, trigger_id).await
    }

    /// What the pipeline runs for a trigger: each bound Action with its deployed version, in
    /// binding order, read from one consistent snapshot. Bound Actions without a deployed
    /// version are skipped (binding requires a deployment and deployments are never removed,
    /// so this is defensive).
    pub async fn bound_deployed_versions(
        &self,
        tenant: &str,
        trigger_id: &str,
    ) -> StoreResult<Vec<(Action, ActionVersion)>> {
        let mut tx = self.read_tx().await?;
        let bindings = fetch_bindings(&mut tx, tenant, trigger_id).await?;
        let mut out = Vec::with_capacity(bindings.len());
        for binding in bindings {
            let row = fetch_row(&mut tx, tenant, &binding.action.id).await?;
            let action = assemble(&mut tx, tenant, row).await?;
            if let Some(version) = action.deployed_version.clone() {
                out.push((action, version));
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}
