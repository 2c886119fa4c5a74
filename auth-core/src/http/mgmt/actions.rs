//! Actions (tenant code run at a trigger): `GET/POST /api/v2/actions/actions`,
//! `GET/PATCH/DELETE /api/v2/actions/actions/{id}`,
//! `POST /api/v2/actions/actions/{id}/deploy` and
//! `POST /api/v2/actions/actions/{id}/test`. Code is checked (see
//! `action_code`) before a draft is stored, deployed or run.

use super::action_code::{self, body_triggers, decode_module};
use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{ACTIONS_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::{WASM_RUNTIME, is_wasm};
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v2/actions/actions",
            get(list_actions).post(create_action),
        )
        .route(
            "/api/v2/actions/actions/{id}",
            get(get_action).patch(update_action).delete(delete_action),
        )
        .route("/api/v2/actions/actions/{id}/deploy", post(deploy_action))
        .route("/api/v2/actions/actions/{id}/test", post(test_action))
}

async fn list_actions(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:actions")?;
    let paging = Paging::parse(&q, ACTIONS_PER_PAGE)?;
    let mut actions = app
        .store
        .list_actions(
            t.id(),
            q.get("triggerId").map(String::as_str),
            q.get("actionName").map(String::as_str),
        )
        .await?;
    match q.get("deployed").map(String::as_str) {
        Some("true") => actions.retain(|a| a.deployed_version.is_some()),
        Some("false") => actions.retain(|a| a.deployed_version.is_none()),
        _ => {}
    }
    // Every Action here is the tenant's own: none is installed from a marketplace.
    if q.get("installed").is_some_and(|v| v == "true") {
        actions.clear();
    }
    let (actions, total) = paging.slice(actions);
    Ok(Json(paging.with_totals("actions", actions, total)))
}

async fn create_action(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:actions")?;
    let mut v = json_body(&body)?;
    str_field(&v, "name")?;
    let module = decode_module(&v)?;
    let triggers = body_triggers(&v)?.unwrap_or_default();
    let runtime = if module.is_some() {
        WASM_RUNTIME
    } else {
        v.get("runtime").and_then(Value::as_str).unwrap_or("node18")
    }
    .to_owned();
    let code = v
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    action_code::validate(app, &runtime, &code, module.as_deref(), &triggers).await?;
    v["runtime"] = json!(runtime);
    let action = app.store.create_action(t.id(), v, module).await?;
    Ok((StatusCode::CREATED, Json(json!(action))))
}

async fn get_action(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:actions")?;
    Ok(Json(json!(app.store.get_action(t.id(), &id).await?)))
}

async fn update_action(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    let mut patch = json_body(&body)?;
    let module = decode_module(&patch)?;
    let current = app.store.get_action(t.id(), &id).await?;
    if module.is_some() {
        patch["runtime"] = json!(WASM_RUNTIME);
    }
    let triggers = body_triggers(&patch)?;
    if patch.get("code").is_some() || module.is_some() || triggers.is_some() {
        let runtime = patch
            .get("runtime")
            .and_then(Value::as_str)
            .unwrap_or(&current.runtime)
            .to_owned();
        let code = patch
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or(&current.code)
            .to_owned();
        // New triggers are checked against the code the draft keeps.
        let stored = match &module {
            None if is_wasm(&runtime) => app.store.action_module(t.id(), &id).await?,
            _ => None,
        };
        let triggers = triggers.unwrap_or(current.supported_triggers);
        action_code::validate(
            app,
            &runtime,
            &code,
            module.as_deref().or(stored.as_deref()),
            &triggers,
        )
        .await?;
    }
    let action = app.store.update_action(t.id(), &id, patch, module).await?;
    Ok(Json(json!(action)))
}

async fn delete_action(
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    let force = q.get("force").is_some_and(|v| v == "true");
    app.store.delete_action(t.id(), &id, force).await?;
    Ok(StatusCode::OK)
}

async fn deploy_action(
    c: Caller,
    Path(id): Path<String>,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("update:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    // A failed compile leaves the previous version serving.
    let (action, module, module_ref) = action_code::checked_draft(app, t.id(), &id).await?;
    let checked = crate::store::CheckedDraft {
        code: &action.code,
        runtime: &action.runtime,
        supported_triggers: &action.supported_triggers,
        module: module.as_deref(),
    };
    let version = app
        .store
        .deploy_checked_action(t.id(), &id, Some(module_ref.to_string()), Some(checked))
        .await?;
    // Auth0 answers deploys with 202 (its builds are queued); SDKs check for it.
    Ok((StatusCode::ACCEPTED, Json(json!(version))))
}

/// `POST /actions/actions/{id}/test`: runs the draft against a payload and
/// returns what it decided, its logs and its cost.
async fn test_action(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    // Running code is more than reading it (Auth0 asks for create:actions too).
    let (app, t) = c.require("create:actions")?;
    let v = json_body(&body)?;
    let (action, _, module_ref) = action_code::checked_draft(app, t.id(), &id).await?;
    let trigger = action
        .supported_triggers
        .first()
        .and_then(|tr| rulebox_runtime_api::Trigger::from_id(&tr.id))
        .unwrap_or(rulebox_runtime_api::Trigger::PostLogin);
    let payload = v.get("payload").cloned().unwrap_or(json!({}));
    let input = serde_json::to_vec(&payload).map_err(|e| ApiError::internal(e.to_string()))?;
    let scope = crate::code::pipeline::Scope::new(app, t, None, None);
    let limits = scope.limits.clone();
    let outcome =
        crate::code::pipeline::call_sandbox(&scope, module_ref, trigger, input, limits).await;
    Ok(Json(json!({"payload": outcome})))
}
