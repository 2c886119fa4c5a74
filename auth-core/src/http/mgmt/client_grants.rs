//! Client grants (which client may ask for which API's scopes):
//! `GET/POST /api/v2/client-grants` and `PATCH/DELETE /api/v2/client-grants/{id}`.

use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v2/client-grants",
            get(list_client_grants).post(create_client_grant),
        )
        .route(
            "/api/v2/client-grants/{id}",
            patch(update_client_grant).delete(delete_client_grant),
        )
}

async fn list_client_grants(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:client_grants")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let grants = app
        .store
        .list_client_grants(
            t.id(),
            q.get("client_id").map(String::as_str),
            q.get("audience").map(|a| stored_audience(t, a)),
        )
        .await?;
    let grants: Vec<Value> = grants.into_iter().map(|g| grant_json(t, g)).collect();
    let (grants, total) = paging.slice(grants);
    Ok(Json(paging.classic("client_grants", grants, total)))
}

/// Grants to the Management API are stored under a marker, since its public
/// audience depends on how the tenant is addressed; callers see and filter by
/// the public one.
fn stored_audience<'a>(t: &TenantCtx, audience: &'a str) -> &'a str {
    if audience == t.management_audience() {
        crate::bootstrap::MANAGEMENT_AUDIENCE
    } else {
        audience
    }
}

fn grant_json(t: &TenantCtx, mut grant: crate::store::ClientGrant) -> Value {
    if grant.audience == crate::bootstrap::MANAGEMENT_AUDIENCE {
        grant.audience = t.management_audience();
    }
    json!(grant)
}

/// A grant's `scope`: a list of strings, and for the Management API only
/// scopes it defines, as Auth0 refuses scopes an API does not define.
fn grant_scope(v: &Value, audience: &str) -> Res<Vec<String>> {
    let scope: Vec<String> = serde_json::from_value(v.get("scope").cloned().unwrap_or(json!([])))
        .map_err(|_| {
        ApiError::bad_request("Payload validation error: 'scope' must be a list of strings")
    })?;
    if audience == crate::bootstrap::MANAGEMENT_AUDIENCE
        && let Some(unknown) = scope
            .iter()
            .find(|s| !crate::bootstrap::MANAGEMENT_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "Client grant scope '{unknown}' is not defined for the Management API"
        ))
        .into());
    }
    Ok(scope)
}

async fn create_client_grant(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:client_grants")?;
    let v = json_body(&body)?;
    let client_id = str_field(&v, "client_id")?;
    let audience = stored_audience(t, str_field(&v, "audience")?);
    let scope = grant_scope(&v, audience)?;
    app.store.get_client(t.id(), client_id).await?;
    let grant = app
        .store
        .create_client_grant(t.id(), client_id, audience, scope)
        .await?;
    Ok((StatusCode::CREATED, Json(grant_json(t, grant))))
}

/// `PATCH /client-grants/{id}`: replaces its scopes (the only field Auth0
/// lets change). A server upgrade that adds Management API scopes is taken
/// up this way by existing management clients.
async fn update_client_grant(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:client_grants")?;
    let v = json_body(&body)?;
    let current = app.store.get_client_grant(t.id(), &id).await?;
    // A body without `scope` (the SDKs send other optional fields) keeps the
    // scopes: emptying a management client's grant would lock the tenant out.
    if v.get("scope").is_none_or(Value::is_null) {
        return Ok(Json(grant_json(t, current)));
    }
    let scope = grant_scope(&v, &current.audience)?;
    let grant = app.store.update_client_grant(t.id(), &id, scope).await?;
    Ok(Json(grant_json(t, grant)))
}

async fn delete_client_grant(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:client_grants")?;
    app.store.delete_client_grant(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
