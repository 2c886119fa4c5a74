//! Rules (the classic JavaScript login hooks): `GET/POST /api/v2/rules` and
//! `GET/PATCH/DELETE /api/v2/rules/{id}`. A script must compile before it is
//! stored.

use super::action_code::describe;
use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::NewRule;
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
        .route("/api/v2/rules", get(list_rules).post(create_rule))
        .route(
            "/api/v2/rules/{id}",
            get(get_rule).patch(update_rule).delete(delete_rule),
        )
}

async fn validate_rule(app: &Arc<AppState>, script: &str) -> Res<()> {
    crate::code::loader::load_js(&app.sandbox, JsKind::Rule, script.to_owned())
        .await
        .map_err(|e| ApiError::bad_request(format!("Rule script is invalid: {}", describe(&e))))?;
    Ok(())
}

async fn list_rules(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:rules")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let mut rules = app.store.list_rules(t.id()).await?;
    // The SDKs send `enabled=true` unless told otherwise, as Auth0 filters on it.
    match q.get("enabled").map(String::as_str) {
        Some("true") => rules.retain(|r| r.enabled),
        Some("false") => rules.retain(|r| !r.enabled),
        _ => {}
    }
    let (rules, total) = paging.slice(rules);
    Ok(Json(paging.classic("rules", rules, total)))
}

async fn create_rule(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:rules")?;
    let v = json_body(&body)?;
    let name = str_field(&v, "name")?.to_owned();
    let script = str_field(&v, "script")?.to_owned();
    validate_rule(app, &script).await?;
    let new = NewRule {
        name,
        script,
        order: v.get("order").and_then(Value::as_i64),
        enabled: v.get("enabled").and_then(Value::as_bool),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!(app.store.create_rule(t.id(), new).await?)),
    ))
}

async fn get_rule(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:rules")?;
    Ok(Json(json!(app.store.get_rule(t.id(), &id).await?)))
}

async fn update_rule(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:rules")?;
    let patch = json_body(&body)?;
    if let Some(script) = patch.get("script").and_then(Value::as_str) {
        validate_rule(app, script).await?;
    }
    Ok(Json(json!(
        app.store.update_rule(t.id(), &id, patch).await?
    )))
}

async fn delete_rule(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:rules")?;
    app.store.delete_rule(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
