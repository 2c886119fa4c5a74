//! The audit trail: every Management API change recorded with who made it,
//! what and when, and for Action and Rule code the SHA-256 before and after.
//! Bodies are kept as a keyed HMAC only, so secrets sent in them never reach
//! it and cannot be guessed from it.
//! `GET /api/v2/audit` lists it (scope `read:logs`).

use super::body::MAX_BODY;
use super::caller::Caller;
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::http::errors::MgmtError;
use crate::store::NewAuditEvent;
use crate::tenant::TenantCtx;
use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new().route("/api/v2/audit", get(list))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The code object a path changes, if any: `(is_action, id)`.
fn code_target(path: &str) -> Option<(bool, String)> {
    let rest = path.strip_prefix("/api/v2/")?;
    let mut parts = rest.split('/');
    match (parts.next()?, parts.next()) {
        ("actions", Some("actions")) => parts.next().map(|id| (true, id.to_owned())),
        ("rules", Some(id)) => Some((false, id.to_owned())),
        _ => None,
    }
}

async fn code_hash(
    app: &AppState,
    tenant: &str,
    target: &Option<(bool, String)>,
) -> Option<String> {
    match target.as_ref()? {
        (true, id) => app
            .store
            .get_action(tenant, id)
            .await
            .ok()
            .map(|a| sha256(a.code.as_bytes())),
        (false, id) => app
            .store
            .get_rule(tenant, id)
            .await
            .ok()
            .map(|r| sha256(r.script.as_bytes())),
    }
}

/// A layer over every Management API route: records each authenticated write.
pub(super) async fn record_changes(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // Unauthenticated writes change nothing: the handler answers them.
    let Ok(caller) = Caller::from_request_parts(&mut parts, &app).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return MgmtError(ApiError::bad_request("request body too large")).into_response();
    };
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let target = code_target(&path);
    let before = code_hash(&app, t.id(), &target).await;
    let body_hmac = (!bytes.is_empty()).then(|| app.store.fingerprint(&bytes));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let after = code_hash(&app, t.id(), &target).await;
    let event = NewAuditEvent {
        actor: caller.subject,
        method,
        path,
        status: response.status().as_u16(),
        body_hmac,
        code_before_sha256: before,
        code_after_sha256: after,
    };
    if let Err(e) = app.store.insert_audit_event(t.id(), event).await {
        tracing::warn!(error = %e, "could not record an audit event");
    }
    response
}

async fn list(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, MgmtError> {
    let (app, t) = c.require("read:logs")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let events = app
        .store
        .list_audit_events(t.id(), paging.page, paging.per_page)
        .await?;
    Ok(Json(json!(events)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_paths_are_recognised() {
        assert_eq!(
            code_target("/api/v2/actions/actions/abc"),
            Some((true, "abc".into()))
        );
        assert_eq!(
            code_target("/api/v2/actions/actions/abc/deploy"),
            Some((true, "abc".into()))
        );
        assert_eq!(code_target("/api/v2/rules/r1"), Some((false, "r1".into())));
        assert_eq!(code_target("/api/v2/actions/actions"), None);
        assert_eq!(code_target("/api/v2/clients/c1"), None);
    }
}
