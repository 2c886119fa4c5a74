//! Action triggers and the Actions bound to them: `GET /api/v2/actions/triggers`
//! (the triggers this platform runs) and
//! `GET/PATCH /api/v2/actions/triggers/{trigger}/bindings` (which Actions run
//! there, in order).

use super::caller::{Caller, Res};
use super::paging::{ACTIONS_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use rulebox_runtime_api::Trigger;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/actions/triggers", get(list_triggers))
        .route(
            "/api/v2/actions/triggers/{trigger}/bindings",
            get(get_bindings).patch(set_bindings),
        )
}

#[derive(Deserialize)]
struct BindingsBody {
    bindings: Vec<BindingRef>,
}

#[derive(Deserialize)]
struct BindingRef {
    #[serde(rename = "ref")]
    reference: RefValue,
    #[allow(dead_code)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct RefValue {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

async fn get_bindings(
    c: Caller,
    Path(trigger): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:actions")?;
    let paging = Paging::parse(&q, ACTIONS_PER_PAGE)?;
    let b = app.store.bindings(t.id(), &trigger).await?;
    let (b, total) = paging.slice(b);
    Ok(Json(paging.with_totals("bindings", b, total)))
}

async fn set_bindings(
    c: Caller,
    Path(trigger): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    let _ = headers;
    let body: BindingsBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Payload validation error: {e}")))?;
    let mut ids = Vec::new();
    for b in body.bindings {
        let id = match b.reference.kind.as_str() {
            "action_id" => b.reference.value,
            "action_name" => {
                let found = app
                    .store
                    .list_actions(t.id(), None, Some(&b.reference.value))
                    .await?;
                found.into_iter().next().map(|a| a.id).ok_or_else(|| {
                    ApiError::bad_request(format!("no action named '{}'", b.reference.value))
                })?
            }
            other => {
                return Err(ApiError::bad_request(format!("unknown ref type '{other}'")).into());
            }
        };
        ids.push(id);
    }
    let b = app.store.set_bindings(t.id(), &trigger, ids).await?;
    Ok(Json(json!({"bindings": b})))
}

/// `GET /actions/triggers`: the triggers this platform runs Actions for.
async fn list_triggers(c: Caller) -> Res<Json<Value>> {
    c.require("read:actions")?;
    let triggers: Vec<Value> = Trigger::bindable()
        .map(|t| json!({"id": t.id(), "version": "v3", "status": "CURRENT", "runtimes": ["node18", "wasm"], "default_runtime": "node18"}))
        .collect();
    Ok(Json(json!({"triggers": triggers})))
}
