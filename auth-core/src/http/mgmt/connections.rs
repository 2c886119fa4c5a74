//! Database connections: `GET/POST /api/v2/connections` and
//! `GET/PATCH/DELETE /api/v2/connections/{id}`. A custom database's scripts
//! must compile, and its bcrypt cost be one this server verifies, before
//! they are stored.

use super::action_code::describe;
use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::StoreError;
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use rulebox_runtime_api::JsKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v2/connections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/api/v2/connections/{id}",
            get(get_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
}

async fn list_connections(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:connections")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let mut all = app.store.list_connections(t.id()).await?;
    if let Some(s) = q.get("strategy") {
        all.retain(|c| &c.strategy == s);
    }
    if let Some(n) = q.get("name") {
        all.retain(|c| &c.name == n);
    }
    let (page, total) = paging.slice(all);
    Ok(Json(paging.classic("connections", page, total)))
}

/// `options.bcrypt_cost` must be one this server can also verify: a higher
/// cost would lock every user hashed with it out, and hashing alone would tie
/// up a blocking thread for hours.
fn validate_bcrypt_cost(options: &Value) -> Res<()> {
    use crate::crypto::password::MAX_VERIFY_COST;
    match options.get("bcrypt_cost") {
        None | Some(Value::Null) => Ok(()),
        Some(v)
            if v.as_u64()
                .is_some_and(|c| (4..=u64::from(MAX_VERIFY_COST)).contains(&c)) =>
        {
            Ok(())
        }
        Some(v) => Err(ApiError::bad_request(format!(
            "options.bcrypt_cost must be an integer from 4 to {MAX_VERIFY_COST}, not {v}"
        ))
        .into()),
    }
}

/// A connection with a custom database must have scripts that compile:
/// refusing them at write time beats failing the first login.
async fn validate_scripts(app: &Arc<AppState>, options: &Value) -> Res<()> {
    validate_bcrypt_cost(options)?;
    let Some(scripts) = options.get("customScripts").and_then(Value::as_object) else {
        return Ok(());
    };
    for (name, source) in scripts {
        let Some(source) = source.as_str() else {
            return Err(
                ApiError::bad_request(format!("customScripts.{name} must be a string")).into(),
            );
        };
        let kind = JsKind::CustomDb {
            script: if name == "get_user" {
                "getUser".into()
            } else {
                name.clone()
            },
        };
        crate::code::loader::load_js(&app.sandbox, kind, source.to_owned())
            .await
            .map_err(|e| {
                ApiError::bad_request(format!("customScripts.{name}: {}", describe(&e)))
            })?;
    }
    Ok(())
}

async fn create_connection(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:connections")?;
    let v = json_body(&body)?;
    let name = str_field(&v, "name")?;
    let strategy = v.get("strategy").and_then(Value::as_str).unwrap_or("auth0");
    if strategy != "auth0" {
        return Err(ApiError::bad_request(format!(
            "strategy '{strategy}' is not supported (only 'auth0' database connections)"
        ))
        .into());
    }
    let options = v.get("options").cloned().unwrap_or(json!({}));
    validate_scripts(app, &options).await?;
    let enabled: Vec<String> =
        serde_json::from_value(v.get("enabled_clients").cloned().unwrap_or(json!([])))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    validate_enabled_clients(app, t, &enabled).await?;
    let conn = app
        .store
        .create_connection(t.id(), name, strategy, options, enabled)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(conn))))
}

/// Every id in `enabled_clients` must be one of this tenant's clients: an id from
/// elsewhere would point at nothing here, and says something about another tenant.
async fn validate_enabled_clients(app: &AppState, t: &TenantCtx, ids: &[String]) -> Res<()> {
    for id in ids {
        match app.store.get_client(t.id(), id).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::bad_request(format!(
                    "enabled_clients: no client with id {id}"
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn get_connection(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:connections")?;
    Ok(Json(json!(app.store.get_connection(t.id(), &id).await?)))
}

async fn update_connection(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:connections")?;
    let patch = json_body(&body)?;
    if let Some(options) = patch.get("options") {
        validate_scripts(app, options).await?;
    }
    if let Some(enabled) = patch.get("enabled_clients") {
        let enabled: Vec<String> = serde_json::from_value(enabled.clone())
            .map_err(|e| ApiError::bad_request(format!("enabled_clients: {e}")))?;
        validate_enabled_clients(app, t, &enabled).await?;
    }
    let conn = app.store.update_connection(t.id(), &id, patch).await?;
    // New scripts or a new TTL: this node's remembered getUser answers may be wrong now.
    crate::code::custom_db::forget_connection(app, t.id(), &conn.name);
    Ok(Json(json!(conn)))
}

async fn delete_connection(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:connections")?;
    app.store.delete_connection(t.id(), &id).await?;
    Ok(StatusCode::ACCEPTED)
}
