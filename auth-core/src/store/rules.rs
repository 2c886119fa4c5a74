//! Legacy Rules (`/api/v2/rules`) and the tenant-wide `configuration` object they read
//! (`/api/v2/rules-configs`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::json::apply_patch;
use super::sealer::rules_config_context;
use super::time::now_ms;
use super::{Store, StoreError, StoreResult, ids};

/// Fields `update_rule` accepts; `stage` cannot change in Auth0.
const PATCHABLE: [&str; 4] = ["name", "script", "order", "enabled"];

/// Auth0's key rule for rules-configs.
const MAX_CONFIG_KEY: usize = 127;

/// A rule, in the shape of Auth0's `GET /api/v2/rules/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub script: String,
    /// Rules run in ascending `order`.
    pub order: i64,
    pub enabled: bool,
    /// Always `login_success`.
    pub stage: String,
}

/// A rule to create (the body of `POST /api/v2/rules`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewRule {
    pub name: String,
    pub script: String,
    /// Defaults to one more than the largest existing order.
    pub order: Option<i64>,
    /// Defaults to `true`.
    pub enabled: Option<bool>,
}

/// A rules-config entry as the API lists it: keys only, values are write-only secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesConfigKey {
    pub key: String,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    name: String,
    script: String,
    rule_order: i64,
    enabled: i64,
    stage: String,
}

impl RuleRow {
    fn into_rule(self) -> Rule {
        Rule {
            id: self.id,
            name: self.name,
            script: self.script,
            order: self.rule_order,
            enabled: self.enabled != 0,
            stage: self.stage,
        }
    }
}

fn validate(rule: &Rule) -> StoreResult<()> {
    if rule.name.trim().is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'name' is required".into(),
        ));
    }
    if rule.script.trim().is_empty() {
        return Err(StoreError::Invalid(
            "Payload validation error: 'script' is required".into(),
        ));
    }
    Ok(())
}

fn validate_config_key(key: &str) -> StoreResult<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_CONFIG_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-@*+:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "Payload validation error: rules-config key {key:?} must be 1-{MAX_CONFIG_KEY} characters of A-Z a-z 0-9 _ - @ * + :"
        )))
    }
}

fn name_conflict(name: &str) -> String {
    format!("A rule with the name '{name}' already exists")
}

async fn fetch(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<Rule> {
    let row: Option<RuleRow> = sqlx::query_as(
        "SELECT id, name, script, rule_order, CAST(enabled AS INTEGER) AS enabled, stage FROM rules WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.ok_or(StoreError::NotFound("rule"))?.into_rule())
}

impl Store {
    /// Creates a rule at the login_success stage. `Conflict` on a duplicate name.
    pub async fn create_rule(&self, tenant: &str, new: NewRule) -> StoreResult<Rule> {
        let mut rule = Rule {
            id: ids::rule_id(),
            name: new.name,
            script: new.script,
            order: new.order.unwrap_or(0),
            enabled: new.enabled.unwrap_or(true),
            stage: "login_success".into(),
        };
        validate(&rule)?;
        // Serialized so two rules created at once do not get the same default order.
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("rules:{tenant}")).await?;
        if new.order.is_none() {
            let (next,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(rule_order), 0) + 1 FROM rules WHERE tenant_id = $1",
            )
            .bind(tenant)
            .fetch_one(tx.conn())
            .await?;
            rule.order = next;
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO rules (tenant_id, id, name, script, rule_order, enabled, stage, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(tenant)
        .bind(&rule.id)
        .bind(&rule.name)
        .bind(&rule.script)
        .bind(rule.order)
        .bind(rule.enabled)
        .bind(&rule.stage)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "tenant", |_| name_conflict(&rule.name)))?;
        tx.commit().await?;
        Ok(rule)
    }

    /// The rule with this id.
    pub async fn get_rule(&self, tenant: &str, id: &str) -> StoreResult<Rule> {
        fetch(&mut *self.conn().await?, tenant, id).await
    }

    /// All rules of the tenant in execution order (`order`, then creation).
    pub async fn list_rules(&self, tenant: &str) -> StoreResult<Vec<Rule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT id, name, script, rule_order, CAST(enabled AS INTEGER) AS enabled, stage FROM rules WHERE tenant_id = $1
             ORDER BY rule_order, created_at, id",
        )
        .bind(tenant)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(RuleRow::into_rule).collect())
    }

    /// Auth0 PATCH: given fields among `name`, `script`, `order`, `enabled` replace the stored
    /// ones.
    pub async fn update_rule(&self, tenant: &str, id: &str, patch: Value) -> StoreResult<Rule> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("rule:{tenant}:{id}")).await?;
        let current = fetch(tx.conn(), tenant, id).await?;
        let updated = apply_patch(&current, &patch, &PATCHABLE, "rule")?;
        validate(&updated)?;
        sqlx::query(
            "UPDATE rules SET name = $3, script = $4, rule_order = $5, enabled = $6, updated_at = $7
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .bind(&updated.name)
        .bind(&updated.script)
        .bind(updated.order)
        .bind(updated.enabled)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_write(e, |_| name_conflict(&updated.name)))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes the rule.
    pub async fn delete_rule(&self, tenant: &str, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM rules WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("rule"));
        }
        Ok(())
    }

    /// Sets (creates or replaces) one `configuration` value
    /// (`PUT /api/v2/rules-configs/{key}`).
    pub async fn set_rules_config(&self, tenant: &str, key: &str, value: &str) -> StoreResult<()> {
        validate_config_key(key)?;
        sqlx::query(
            "INSERT INTO rules_configs (tenant_id, config_key, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, config_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(key)
        .bind(self.sealer.seal(&rules_config_context(tenant, key), value)?)
        .bind(now_ms())
        .execute(&mut *self.conn().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, "tenant", |_| format!("rules-config {key} exists")))?;
        Ok(())
    }

    /// The configured keys, sorted, without values (what `GET /api/v2/rules-configs` returns).
    pub async fn rules_configs(&self, tenant: &str) -> StoreResult<Vec<RulesConfigKey>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT config_key FROM rules_configs WHERE tenant_id = $1 ORDER BY config_key",
        )
        .bind(tenant)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(key,)| RulesConfigKey { key })
            .collect())
    }

    /// The `configuration` object handed to Rules and custom-database scripts: key → string.
    pub async fn rules_config_values(&self, tenant: &str) -> StoreResult<Map<String, Value>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT config_key, value FROM rules_configs WHERE tenant_id = $1 ORDER BY config_key",
        )
        .bind(tenant)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(k, v)| {
                let plain = self.sealer.open(&rules_config_context(tenant, &k), &v)?;
                Ok((k, Value::String(plain)))
            })
            .collect()
    }

    /// Removes one `configuration` value.
    pub async fn delete_rules_config(&self, tenant: &str, key: &str) -> StoreResult<()> {
        let done =
            sqlx::query("DELETE FROM rules_configs WHERE tenant_id = $1 AND config_key = $2")
                .bind(tenant)
                .bind(key)
                .execute(&mut *self.conn().await?)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("rules-config"));
        }
        Ok(())
    }
}
