//! An Action's versions: `GET /api/v2/actions/actions/{id}/versions`,
//! `GET /api/v2/actions/actions/{id}/versions/{version}`, a rollback by
//! `POST /api/v2/actions/actions/{id}/versions/{version}/deploy`, and
//! `POST /api/v2/actions/actions/{id}/versions` with an `application/wasm`
//! body, which uploads a compiled module as the draft.

use super::action_code;
use super::caller::{Caller, Res};
use super::paging::{ACTIONS_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::WASM_RUNTIME;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v2/actions/actions/{id}/versions",
            get(list_versions).post(upload_module),
        )
        .route(
            "/api/v2/actions/actions/{id}/versions/{version}",
            get(get_version),
        )
        .route(
            "/api/v2/actions/actions/{id}/versions/{version}/deploy",
            post(rollback),
        )
}

async fn list_versions(
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:actions")?;
    let paging = Paging::parse(&q, ACTIONS_PER_PAGE)?;
    let versions = app.store.list_action_versions(t.id(), &id).await?;
    let (versions, total) = paging.slice(versions);
    Ok(Json(paging.with_totals("versions", versions, total)))
}

async fn get_version(
    c: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:actions")?;
    Ok(Json(json!(
        app.store.get_action_version(t.id(), &id, &version).await?
    )))
}

async fn rollback(
    c: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("update:actions")?;
    // A version deployed before its triggers were checked is held to the
    // same rule as a new deploy before it serves again.
    let old = app.store.get_action_version(t.id(), &id, &version).await?;
    let module = app
        .store
        .action_version_module(t.id(), &id, &version)
        .await?;
    action_code::validate(
        app,
        &old.runtime,
        &old.code,
        module.as_deref(),
        &old.supported_triggers,
    )
    .await?;
    // The login path caches flow plans; this node sees its own change at once.
    let version = app.store.rollback_action(t.id(), &id, &version).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(version))))
}

/// `POST /actions/actions/{id}/versions` with an `application/wasm` body:
/// replaces the draft with a compiled module (any language built with the
/// SDK), validated first; deploy it like any draft.
async fn upload_module(
    c: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("update:actions")?;
    let is_wasm = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/wasm"));
    if !is_wasm {
        return Err(ApiError::bad_request("send the module as an application/wasm body").into());
    }
    let current = app.store.get_action(t.id(), &id).await?;
    action_code::validate(app, WASM_RUNTIME, "", Some(&body), &current.supported_triggers).await?;
    let action = app
        .store
        .update_action(t.id(), &id, json!({"runtime": WASM_RUNTIME}), Some(body.to_vec()))
        .await?;
    Ok((StatusCode::CREATED, Json(json!(action))))
}
