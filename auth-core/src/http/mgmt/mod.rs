//! Management API v2 (the subset tenants and the Auth0 SDKs use):
//! authorized by tenant-signed access tokens carrying scopes.

mod action_code;
mod action_versions;
mod actions;
mod audit;
mod body;
mod caller;
mod client_grants;
mod clients;
mod connections;
mod logs_tail;
mod paging;
mod tenant_settings;
mod triggers;
mod users;

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::NewRule;
use crate::tenancy::TenantCtx;
use action_code::describe;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use body::{json_body, str_field};
use caller::{Caller, Res};
use paging::{CLASSIC_PER_PAGE, Paging};
use rulebox_runtime_api::JsKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes(app: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .merge(clients::router())
        .merge(client_grants::router())
        .merge(connections::router())
        .merge(users::router())
        .merge(actions::router())
        .merge(action_versions::router())
        .merge(triggers::router())
        .route("/api/v2/rules", get(list_rules).post(create_rule))
        .route(
            "/api/v2/rules/{id}",
            get(get_rule).patch(update_rule).delete(delete_rule),
        )
        .route("/api/v2/rules-configs", get(list_rules_configs))
        .route(
            "/api/v2/rules-configs/{key}",
            axum::routing::put(set_rules_config).delete(delete_rules_config),
        )
        .route("/api/v2/logs", get(list_logs))
        .route("/api/v2/logs/tail", get(logs_tail::tail))
        .route("/api/v2/keys/signing", get(list_signing_keys))
        .route("/api/v2/keys/signing/rotate", post(rotate_signing_key))
        .route("/api/v2/keys/signing/{kid}", get(get_signing_key))
        .route(
            "/api/v2/keys/signing/{kid}/revoke",
            axum::routing::put(revoke_signing_key),
        )
        .route(
            "/api/v2/tenants/settings",
            get(tenant_settings::get_settings).patch(tenant_settings::patch_settings),
        )
        .route("/api/v2/audit", get(audit::list))
        // axum's default 2 MiB would refuse modules the runtime accepts (16 MiB).
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            forget_config_after_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app,
            audit::record_changes,
        ))
}

/// Every management write drops this node's cached copy of the tenant's
/// configuration, so the next login here sees the change (other nodes see
/// it within `config_cache::CONFIG_TTL`). Doing it here rather than in each
/// handler means a new write endpoint cannot forget to.
async fn forget_config_after_writes(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let response = next.run(req).await;
    if writes {
        app.forget_tenant_config(t.id());
    }
    response
}

async fn list_logs(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:logs")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let action = q.get("action_id").map(String::as_str);
    // Logs of logins this node just answered may still be queued.
    app.logs.flush().await;
    let logs = app
        .store
        .list_execution_logs(t.id(), paging.page, paging.per_page, action)
        .await?;
    // Counting costs a query; only a caller that asked for totals pays it.
    let total = if paging.wants_totals() {
        app.store.count_execution_logs(t.id(), action).await?
    } else {
        0
    };
    Ok(Json(paging.classic("logs", logs, total)))
}

// ------------------------------------------------------------------ rules

async fn validate_rule(app: &Arc<AppState>, script: &str) -> Res<()> {
    let sandbox = app.sandbox.clone();
    let src = script.to_owned();
    tokio::task::spawn_blocking(move || sandbox.load_js(&JsKind::Rule, &src))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::bad_request(format!("Rule script is invalid: {}", describe(&e))))?;
    Ok(())
}

async fn list_rules(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:rules")?;
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:rules")?;
    let v = json_body(&body)?;
    let name = str_field(&v, "name")?.to_owned();
    let script = str_field(&v, "script")?.to_owned();
    validate_rule(&app, &script).await?;
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:rules")?;
    Ok(Json(json!(app.store.get_rule(t.id(), &id).await?)))
}

async fn update_rule(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:rules")?;
    let patch = json_body(&body)?;
    if let Some(script) = patch.get("script").and_then(Value::as_str) {
        validate_rule(&app, script).await?;
    }
    Ok(Json(json!(
        app.store.update_rule(t.id(), &id, patch).await?
    )))
}

async fn delete_rule(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:rules")?;
    app.store.delete_rule(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_rules_configs(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Res<Json<Value>> {
    c.require("read:rules_configs")?;
    Ok(Json(json!(app.store.rules_configs(t.id()).await?)))
}

async fn set_rules_config(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(key): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:rules_configs")?;
    let v = json_body(&body)?;
    let value = str_field(&v, "value")?;
    app.store.set_rules_config(t.id(), &key, value).await?;
    // The value is write-only: echo the key, never the secret.
    Ok(Json(json!({"key": key})))
}

async fn delete_rules_config(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(key): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:rules_configs")?;
    app.store.delete_rules_config(t.id(), &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ signing keys

/// Auth0's signing-key shape: public parts only.
fn key_json(k: &crate::store::SigningKey) -> Value {
    let mut key = json!({
        "kid": k.kid,
        "alg": k.alg,
        "current": k.state == "current",
        "next": k.state == "next",
        "previous": k.state == "previous",
        "revoked": k.state == "revoked",
        "jwk": k.public_jwk,
        "created_at": k.created_at,
    });
    if let Some(at) = &k.revoked_at {
        key["revoked_at"] = json!(at);
    }
    key
}

async fn list_signing_keys(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Res<Json<Value>> {
    c.require("read:signing_keys")?;
    let keys = app.store.signing_keys_with_revoked(t.id()).await?;
    Ok(Json(Value::Array(keys.iter().map(key_json).collect())))
}

async fn get_signing_key(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(kid): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:signing_keys")?;
    let key = app.store.signing_key(t.id(), &kid).await?;
    Ok(Json(key_json(&key)))
}

/// `PUT /keys/signing/{kid}/revoke`: a previously used key leaves the JWKS,
/// so tokens it signed stop verifying (a leaked key's answer).
async fn revoke_signing_key(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(kid): Path<String>,
) -> Res<Json<Value>> {
    c.require("update:signing_keys")?;
    let key = app.store.revoke_signing_key(t.id(), &kid).await?;
    Ok(Json(json!({"cert": null, "kid": key.kid})))
}

/// `POST /keys/signing/rotate`: new keys sign from now on — one per algorithm the
/// tenant signs with (its own, and any its clients chose); the previous ones stay
/// in the JWKS so tokens they signed keep verifying until they expire.
async fn rotate_signing_key(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Res<(StatusCode, Json<Value>)> {
    use crate::crypto::keys::Alg;
    c.require("create:signing_keys")?;
    let tenant_alg: Alg = t.tenant.signing_alg.parse().unwrap_or(Alg::RS256);
    let current = app.store.signing_keys(t.id()).await?;
    let mut algs: Vec<Alg> = current
        .iter()
        .filter(|k| k.state == "current")
        .filter_map(|k| k.alg.parse().ok())
        .collect();
    if !algs.contains(&tenant_alg) {
        algs.push(tenant_alg);
    }
    let mut primary_kid = None;
    for alg in algs {
        let pair = crate::app::generate_key(alg).await?;
        let new = crate::store::NewSigningKey {
            kid: pair.kid.clone(),
            alg: pair.alg.to_string(),
            private_pem: pair.private_pem.clone(),
            public_jwk: pair.public_jwk.clone(),
        };
        let key = app.store.rotate_signing_keys(t.id(), &new).await?;
        if alg == tenant_alg {
            primary_kid = Some(key.kid);
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"cert": null, "kid": primary_kid})),
    ))
}
