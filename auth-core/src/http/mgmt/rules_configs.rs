//! Rules configs (secrets rules read as `configuration`): `GET /api/v2/rules-configs`
//! (keys only) and `PUT/DELETE /api/v2/rules-configs/{key}`. Values are
//! write-only.

use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/rules-configs", get(list_rules_configs))
        .route(
            "/api/v2/rules-configs/{key}",
            put(set_rules_config).delete(delete_rules_config),
        )
}

async fn list_rules_configs(
    c: Caller,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:rules_configs")?;
    Ok(Json(json!(app.store.rules_configs(t.id()).await?)))
}

async fn set_rules_config(
    c: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:rules_configs")?;
    let v = json_body(&body)?;
    let value = str_field(&v, "value")?;
    app.store.set_rules_config(t.id(), &key, value).await?;
    // The value is write-only: echo the key, never the secret.
    Ok(Json(json!({"key": key})))
}

async fn delete_rules_config(
    c: Caller,
    Path(key): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:rules_configs")?;
    app.store.delete_rules_config(t.id(), &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
