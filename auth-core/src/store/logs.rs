//! Execution logs: one row per Action / Rule / custom-database script run, with its outcome,
//! resource use and console output — what Auth0 tenants miss most (see the reference notes).
//! No foreign keys: a log must outlive the Action, rule or user it mentions.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::{decode, encode};
use super::time::{rfc3339_from_ms, system_time_ms};
use super::{Backend, Store, StoreError, StoreResult, ids};

/// Largest page `list_execution_logs` returns.
const MAX_PER_PAGE: u32 = 100;

/// One console line of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `log`, `info`, `warn`, `error`, ...
    pub level: String,
    pub message: String,
}

/// A stored execution log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionLog {
    pub id: String,
    pub date: String,
    /// `action`, `rule`, `custom_db`, or `login`: an authentication event, whose `name`
    /// is Auth0's log event code (`fp` failed login, `limit_wc` blocked attempt) and
    /// whose `trigger_id` is the connection.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Action / rule name, or script name for `custom_db`.
    pub name: String,
    pub trigger_id: String,
    /// e.g. `success`, `denied`, `error`, `timeout`, `out_of_fuel`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub logs: Vec<LogLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A log to store. `logs` is the console output as JSON: an array of `{level, message}`
/// objects (plain strings become `log` lines; `null` means none).
#[derive(Debug, Clone, Default)]
pub struct ExecutionLogInput {
    pub kind: String,
    pub action_id: Option<String>,
    pub rule_id: Option<String>,
    pub name: String,
    pub trigger_id: String,
    pub outcome: String,
    pub error: Option<String>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub logs: Value,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
}

/// Normalizes console output into lines, tolerating the shapes runtimes produce.
fn log_lines(logs: &Value) -> Vec<LogLine> {
    let Some(items) = logs.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => LogLine {
                level: "log".into(),
                message: s.clone(),
            },
            other => LogLine {
                level: other
                    .get("level")
                    .and_then(Value::as_str)
                    .unwrap_or("log")
                    .to_string(),
                message: match other.get("message") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => other.to_string(),
                },
            },
        })
        .collect()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: String,
    log_date: i64,
    kind: String,
    action_id: Option<String>,
    rule_id: Option<String>,
    name: String,
    trigger_id: Option<String>,
    outcome: String,
    error: Option<String>,
    duration_us: i64,
    fuel_used: i64,
    peak_memory_bytes: i64,
    logs: String,
    client_id: Option<String>,
    user_id: Option<String>,
}

impl LogRow {
    fn into_log(self) -> StoreResult<ExecutionLog> {
        let unsigned =
            |v: i64, what: &str| u64::try_from(v).map_err(|e| StoreError::corrupt(what, e));
        Ok(ExecutionLog {
            duration_us: unsigned(self.duration_us, "duration_us")?,
            fuel_used: unsigned(self.fuel_used, "fuel_used")?,
            peak_memory_bytes: unsigned(self.peak_memory_bytes, "peak_memory_bytes")?,
            logs: decode(&self.logs, "execution log lines")?,
            id: self.id,
            date: rfc3339_from_ms(self.log_date),
            kind: self.kind,
            action_id: self.action_id,
            rule_id: self.rule_id,
            name: self.name,
            trigger_id: self.trigger_id.unwrap_or_default(),
            outcome: self.outcome,
            error: self.error,
            client_id: self.client_id,
            user_id: self.user_id,
        })
    }
}

/// Rows per INSERT statement: each statement is a round trip to the
/// connection's worker thread. (Binding stays linear in the rows because the
/// batched placeholders are anonymous on SQLite, see `placeholders`.)
const LOG_ROWS_PER_INSERT: usize = 32;
const LOG_COLUMNS: usize = 16;

/// `INSERT ... VALUES (...), (...)` for `rows` (1 to [`LOG_ROWS_PER_INSERT`])
/// rows of the execution-log columns; built once per backend and row count.
fn insert_logs_sql(backend: Backend, rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<[Vec<String>; 2]> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [Backend::Sqlite, Backend::Postgres].map(|backend| {
            (0..=LOG_ROWS_PER_INSERT)
                .map(|rows| build_insert_logs_sql(backend, rows))
                .collect()
        })
    });
    let of_backend = match backend {
        Backend::Sqlite => &all[0],
        Backend::Postgres => &all[1],
    };
    of_backend.get(rows).map_or("", String::as_str)
}

fn build_insert_logs_sql(backend: Backend, rows: usize) -> String {
    format!(
        "INSERT INTO execution_logs (tenant_id, id, log_date, kind, action_id, rule_id, name,
             trigger_id, outcome, error, duration_us, fuel_used, peak_memory_bytes, logs,
             client_id, user_id) VALUES {}",
        super::placeholders::value_rows(backend, rows, LOG_COLUMNS, 1)
    )
}

impl Store {
    /// Stores one execution log, dated now.
    pub async fn insert_execution_log(
        &self,
        tenant: &str,
        log: ExecutionLogInput,
    ) -> StoreResult<ExecutionLog> {
        let mut stored = self
            .insert_execution_logs(vec![(tenant.to_owned(), SystemTime::now(), log)])
            .await?;
        stored.pop().ok_or(StoreError::NotFound("execution log"))
    }

    /// Stores a batch of execution logs `(tenant, date, log)` in one write transaction: the
    /// login path queues its logs and a writer flushes them together, so a busy node pays one
    /// commit per batch instead of one per Action run.
    pub async fn insert_execution_logs(
        &self,
        batch: Vec<(String, SystemTime, ExecutionLogInput)>,
    ) -> StoreResult<Vec<ExecutionLog>> {
        let mut out = Vec::with_capacity(batch.len());
        let mut rows = Vec::with_capacity(batch.len());
        for (tenant, at, log) in batch {
            let at = system_time_ms(at);
            let stored = ExecutionLog {
                id: ids::log_id(at),
                date: rfc3339_from_ms(at),
                logs: log_lines(&log.logs),
                kind: log.kind,
                action_id: log.action_id,
                rule_id: log.rule_id,
                name: log.name,
                trigger_id: log.trigger_id,
                outcome: log.outcome,
                error: log.error,
                duration_us: log.duration_us,
                fuel_used: log.fuel_used,
                peak_memory_bytes: log.peak_memory_bytes,
                client_id: log.client_id,
                user_id: log.user_id,
            };
            rows.push((tenant, at, encode(&stored.logs)?));
            out.push(stored);
        }
        let mut tx = self.write_tx().await?;
        for (chunk, stored) in rows
            .chunks(LOG_ROWS_PER_INSERT)
            .zip(out.chunks(LOG_ROWS_PER_INSERT))
        {
            let mut q = sqlx::query(insert_logs_sql(self.backend, chunk.len()));
            for ((tenant, at, lines), stored) in chunk.iter().zip(stored) {
                q = q
                    .bind(tenant)
                    .bind(&stored.id)
                    .bind(*at)
                    .bind(&stored.kind)
                    .bind(&stored.action_id)
                    .bind(&stored.rule_id)
                    .bind(&stored.name)
                    .bind(&stored.trigger_id)
                    .bind(&stored.outcome)
                    .bind(&stored.error)
                    .bind(to_i64(stored.duration_us))
                    .bind(to_i64(stored.fuel_used))
                    .bind(to_i64(stored.peak_memory_bytes))
                    .bind(lines)
                    .bind(&stored.client_id)
                    .bind(&stored.user_id);
            }
            q.execute(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// One page (0-based, `per_page` clamped to 1..=100) of the tenant's execution logs, newest
    /// first, optionally only those of one Action.
    pub async fn list_execution_logs(
        &self,
        tenant: &str,
        page: u32,
        per_page: u32,
        action_id: Option<&str>,
    ) -> StoreResult<Vec<ExecutionLog>> {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT id, log_date, kind, action_id, rule_id, name, trigger_id, outcome, error,
                    duration_us, fuel_used, peak_memory_bytes, logs, client_id, user_id
             FROM execution_logs
             WHERE tenant_id = $1 AND ($2 IS NULL OR action_id = $2)
             ORDER BY log_date DESC, id DESC
             LIMIT $3 OFFSET $4",
        )
        .bind(tenant)
        .bind(action_id)
        .bind(i64::from(per_page))
        .bind(i64::from(page) * i64::from(per_page))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(LogRow::into_log).collect()
    }

    /// How many execution logs the tenant has (of one Action, with `action_id`).
    pub async fn count_execution_logs(
        &self,
        tenant: &str,
        action_id: Option<&str>,
    ) -> StoreResult<u64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM execution_logs WHERE tenant_id = $1 AND ($2 IS NULL OR action_id = $2)",
        )
        .bind(tenant)
        .bind(action_id)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The tenant's execution logs dated `since_ms` or later, oldest first, at most `limit`:
    /// what the live tail polls, so it sees every node's logs, not only its own.
    pub async fn execution_logs_since(
        &self,
        tenant: &str,
        since_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ExecutionLog>> {
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT id, log_date, kind, action_id, rule_id, name, trigger_id, outcome, error,
                    duration_us, fuel_used, peak_memory_bytes, logs, client_id, user_id
             FROM execution_logs
             WHERE tenant_id = $1 AND log_date >= $2
             ORDER BY log_date, id
             LIMIT $3",
        )
        .bind(tenant)
        .bind(since_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(LogRow::into_log).collect()
    }

    /// Retention: deletes the tenant's execution logs dated before `before`. Returns how many.
    pub async fn prune_execution_logs(&self, tenant: &str, before: SystemTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM execution_logs WHERE tenant_id = $1 AND log_date < $2")
            .bind(tenant)
            .bind(system_time_ms(before))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
