//! Management API v2 (the subset tenants and the Auth0 SDKs use):
//! authorized by tenant-signed access tokens carrying scopes.

mod action_code;
mod audit;
mod body;
mod caller;
mod client_grants;
mod clients;
mod connections;
mod logs_tail;
mod paging;
mod tenant_settings;
mod users;

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::NewRule;
use crate::tenancy::TenantCtx;
use action_code::{body_triggers, decode_module, describe};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use body::{json_body, str_field};
use caller::{Caller, Res};
use paging::{ACTIONS_PER_PAGE, CLASSIC_PER_PAGE, Paging};
use rulebox_runtime_api::JsKind;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes(app: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .merge(clients::router())
        .merge(client_grants::router())
        .merge(connections::router())
        .merge(users::router())
        .route("/api/v2/actions/triggers", get(list_triggers))
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
        .route(
            "/api/v2/actions/triggers/{trigger}/bindings",
            get(get_bindings).patch(set_bindings),
        )
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

// ---------------------------------------------------------------- actions

async fn list_actions(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:actions")?;
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:actions")?;
    let mut v = json_body(&body)?;
    str_field(&v, "name")?;
    let module = decode_module(&v)?;
    let triggers = body_triggers(&v)?.unwrap_or_default();
    let runtime = if module.is_some() {
        "wasm"
    } else {
        v.get("runtime").and_then(Value::as_str).unwrap_or("node18")
    }
    .to_owned();
    let code = v
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    action_code::validate(&app, &runtime, &code, module.as_deref(), &triggers).await?;
    v["runtime"] = json!(runtime);
    let action = app.store.create_action(t.id(), v, module).await?;
    Ok((StatusCode::CREATED, Json(json!(action))))
}

async fn get_action(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:actions")?;
    Ok(Json(json!(app.store.get_action(t.id(), &id).await?)))
}

async fn update_action(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    let mut patch = json_body(&body)?;
    let module = decode_module(&patch)?;
    let current = app.store.get_action(t.id(), &id).await?;
    if module.is_some() {
        patch["runtime"] = json!("wasm");
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
        let stored = match (&module, runtime.as_str()) {
            (None, "wasm") => app.store.action_module(t.id(), &id).await?,
            _ => None,
        };
        let triggers = triggers.unwrap_or(current.supported_triggers);
        action_code::validate(
            &app,
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<StatusCode> {
    c.require("delete:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    let force = q.get("force").is_some_and(|v| v == "true");
    app.store.delete_action(t.id(), &id, force).await?;
    Ok(StatusCode::OK)
}

async fn deploy_action(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("update:actions")?;
    // The login path caches flow plans; this node sees its own change at once.
    // A failed compile leaves the previous version serving.
    let (action, module, module_ref) = action_code::checked_draft(&app, t.id(), &id).await?;
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

async fn list_versions(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:actions")?;
    let paging = Paging::parse(&q, ACTIONS_PER_PAGE)?;
    let versions = app.store.list_action_versions(t.id(), &id).await?;
    let (versions, total) = paging.slice(versions);
    Ok(Json(paging.with_totals("versions", versions, total)))
}

async fn get_version(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Res<Json<Value>> {
    c.require("read:actions")?;
    Ok(Json(json!(
        app.store.get_action_version(t.id(), &id, &version).await?
    )))
}

async fn rollback(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("update:actions")?;
    // A version deployed before its triggers were checked is held to the
    // same rule as a new deploy before it serves again.
    let old = app.store.get_action_version(t.id(), &id, &version).await?;
    let module = app
        .store
        .action_version_module(t.id(), &id, &version)
        .await?;
    action_code::validate(
        &app,
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

/// `POST /actions/actions/{id}/test`: runs the draft against a payload and
/// returns what it decided, its logs and its cost.
async fn test_action(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    // Running code is more than reading it (Auth0 asks for create:actions too).
    c.require("create:actions")?;
    let v = json_body(&body)?;
    let (action, _, module_ref) = action_code::checked_draft(&app, t.id(), &id).await?;
    let trigger = action
        .supported_triggers
        .first()
        .and_then(|tr| rulebox_runtime_api::Trigger::from_id(&tr.id))
        .unwrap_or(rulebox_runtime_api::Trigger::PostLogin);
    let payload = v.get("payload").cloned().unwrap_or(json!({}));
    let input = serde_json::to_vec(&payload).map_err(|e| ApiError::internal(e.to_string()))?;
    let limits = crate::pipeline::tenant_limits(&app.settings, &t.tenant.limits);
    let outcome =
        crate::pipeline::call_sandbox(&app, &t, module_ref, trigger, input, limits).await?;
    Ok(Json(json!({"payload": outcome})))
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(trigger): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:actions")?;
    let paging = Paging::parse(&q, ACTIONS_PER_PAGE)?;
    let b = app.store.bindings(t.id(), &trigger).await?;
    let (b, total) = paging.slice(b);
    Ok(Json(paging.with_totals("bindings", b, total)))
}

async fn set_bindings(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(trigger): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:actions")?;
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

/// `POST /actions/actions/{id}/versions` with an `application/wasm` body:
/// replaces the draft with a compiled module (any language built with the
/// SDK), validated first; deploy it like any draft.
async fn upload_module(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("update:actions")?;
    let is_wasm = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/wasm"));
    if !is_wasm {
        return Err(ApiError::bad_request("send the module as an application/wasm body").into());
    }
    let current = app.store.get_action(t.id(), &id).await?;
    action_code::validate(&app, "wasm", "", Some(&body), &current.supported_triggers).await?;
    let action = app
        .store
        .update_action(t.id(), &id, json!({"runtime": "wasm"}), Some(body.to_vec()))
        .await?;
    Ok((StatusCode::CREATED, Json(json!(action))))
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

/// `GET /actions/triggers`: the triggers this platform runs Actions for.
async fn list_triggers(c: Caller) -> Res<Json<Value>> {
    c.require("read:actions")?;
    let triggers: Vec<Value> = action_code::RUNNABLE
        .iter()
        .map(|t| json!({"id": t.id(), "version": "v3", "status": "CURRENT", "runtimes": ["node18", "wasm"], "default_runtime": "node18"}))
        .collect();
    Ok(Json(json!({"triggers": triggers})))
}
