//! The audit trail of management changes (see migration 0004): hashes, never values.

use serde::Serialize;

use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreResult, ids};

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub date: String,
    /// The management client (token subject) that made the change.
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body_hmac: Option<String>,
    pub code_before_sha256: Option<String>,
    pub code_after_sha256: Option<String>,
}

/// What to record; the store dates and names it.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    pub actor: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body_hmac: Option<String>,
    pub code_before_sha256: Option<String>,
    pub code_after_sha256: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    at: i64,
    actor: String,
    method: String,
    path: String,
    status: i64,
    body_hmac: Option<String>,
    code_before_sha256: Option<String>,
    code_after_sha256: Option<String>,
}

impl Store {
    pub async fn insert_audit_event(&self, tenant: &str, e: NewAuditEvent) -> StoreResult<()> {
        let at = now_ms();
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, id, at, actor, method, path, status, body_hmac,
                 code_before_sha256, code_after_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant)
        .bind(ids::log_id(at))
        .bind(at)
        .bind(&e.actor)
        .bind(&e.method)
        .bind(&e.path)
        .bind(i64::from(e.status))
        .bind(&e.body_hmac)
        .bind(&e.code_before_sha256)
        .bind(&e.code_after_sha256)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Newest first; `per_page` clamped to 1..=100.
    pub async fn list_audit_events(
        &self,
        tenant: &str,
        page: u32,
        per_page: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let per_page = per_page.clamp(1, 100);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, actor, method, path, status, body_hmac, code_before_sha256, code_after_sha256
             FROM audit_events WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(tenant)
        .bind(i64::from(per_page))
        .bind(i64::from(page) * i64::from(per_page))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEvent {
                id: r.id,
                date: rfc3339_from_ms(r.at),
                actor: r.actor,
                method: r.method,
                path: r.path,
                status: u16::try_from(r.status).unwrap_or(0),
                body_hmac: r.body_hmac,
                code_before_sha256: r.code_before_sha256,
                code_after_sha256: r.code_after_sha256,
            })
            .collect())
    }
}
