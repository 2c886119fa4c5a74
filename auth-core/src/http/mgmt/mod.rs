//! Management API v2 (the subset tenants and the Auth0 SDKs use):
//! authorized by tenant-signed access tokens carrying scopes.

mod action_code;
mod audit;
mod body;
mod caller;
mod logs_tail;
mod paging;
mod tenant_settings;

use crate::app::AppState;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::{Connection, NewClient, NewRule, NewUser, StoreError};
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
        .route("/api/v2/clients", get(list_clients).post(create_client))
        .route(
            "/api/v2/clients/{id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route(
            "/api/v2/client-grants",
            get(list_client_grants).post(create_client_grant),
        )
        .route(
            "/api/v2/client-grants/{id}",
            axum::routing::patch(update_client_grant).delete(delete_client_grant),
        )
        .route(
            "/api/v2/clients/{id}/rotate-secret",
            post(rotate_client_secret),
        )
        .route("/api/v2/actions/triggers", get(list_triggers))
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
        .route("/api/v2/users", get(list_users).post(create_user))
        .route("/api/v2/users-by-email", get(users_by_email))
        .route(
            "/api/v2/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/api/v2/users/{id}/enrollments", get(list_enrollments))
        .route(
            "/api/v2/users/{id}/authenticators",
            axum::routing::delete(reset_authenticators),
        )
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

// ---------------------------------------------------------------- clients

async fn list_clients(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:clients")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let clients = app.store.list_clients(t.id()).await?;
    let (clients, total) = paging.slice(clients);
    Ok(Json(paging.classic("clients", clients, total)))
}

async fn create_client(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:clients")?;
    let v = json_body(&body)?;
    let mut new: NewClient = serde_json::from_value(v.clone())
        .map_err(|e| ApiError::bad_request(format!("Payload validation error: {e}")))?;
    str_field(&v, "name")?;
    new.client_id = None;
    // Before the client exists: a failure here must not lose the secret shown once below.
    publish_client_key(
        &app,
        &t,
        new.jwt_configuration
            .as_ref()
            .and_then(|j| j.alg.as_deref()),
    )
    .await?;
    let secret = random_token(48);
    let client = app
        .store
        .create_client(t.id(), new, &sha256_hex(&secret))
        .await?;
    let mut out = json!(client);
    out["client_secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

async fn get_client(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:clients")?;
    Ok(Json(json!(app.store.get_client(t.id(), &id).await?)))
}

async fn update_client(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:clients")?;
    let patch = json_body(&body)?;
    let alg = patch
        .get("jwt_configuration")
        .and_then(|j| j.get("alg"))
        .and_then(Value::as_str);
    publish_client_key(&app, &t, alg).await?;
    let client = app.store.update_client(t.id(), &id, patch).await?;
    Ok(Json(json!(client)))
}

/// A client that chose an ID-token algorithm the tenant has no key of gets that key
/// now, so that the JWKS has it before the first token: verifiers that cached the
/// JWKS would otherwise meet an unknown `kid`.
async fn publish_client_key(app: &AppState, t: &TenantCtx, alg: Option<&str>) -> Res<()> {
    if let Some(alg) = alg {
        let alg = alg.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "Payload validation error: jwt_configuration.alg must be RS256 or ES256 (got {alg})"
            ))
        })?;
        app.keys_with(&t.tenant, alg).await?;
    }
    Ok(())
}

async fn delete_client(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:clients")?;
    app.store.delete_client(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_client_grants(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:client_grants")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let grants = app
        .store
        .list_client_grants(
            t.id(),
            q.get("client_id").map(String::as_str),
            q.get("audience").map(|a| stored_audience(&t, a)),
        )
        .await?;
    let grants: Vec<Value> = grants.into_iter().map(|g| grant_json(&t, g)).collect();
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:client_grants")?;
    let v = json_body(&body)?;
    let client_id = str_field(&v, "client_id")?;
    let audience = stored_audience(&t, str_field(&v, "audience")?);
    let scope = grant_scope(&v, audience)?;
    app.store.get_client(t.id(), client_id).await?;
    let grant = app
        .store
        .create_client_grant(t.id(), client_id, audience, scope)
        .await?;
    Ok((StatusCode::CREATED, Json(grant_json(&t, grant))))
}

/// `PATCH /client-grants/{id}`: replaces its scopes (the only field Auth0
/// lets change). A server upgrade that adds Management API scopes is taken
/// up this way by existing management clients.
async fn update_client_grant(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:client_grants")?;
    let v = json_body(&body)?;
    let current = app.store.get_client_grant(t.id(), &id).await?;
    // A body without `scope` (the SDKs send other optional fields) keeps the
    // scopes: emptying a management client's grant would lock the tenant out.
    if v.get("scope").is_none_or(Value::is_null) {
        return Ok(Json(grant_json(&t, current)));
    }
    let scope = grant_scope(&v, &current.audience)?;
    let grant = app.store.update_client_grant(t.id(), &id, scope).await?;
    Ok(Json(grant_json(&t, grant)))
}

async fn delete_client_grant(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:client_grants")?;
    app.store.delete_client_grant(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ connections

async fn list_connections(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:connections")?;
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
        let sandbox = app.sandbox.clone();
        let src = source.to_owned();
        tokio::task::spawn_blocking(move || sandbox.load_js(&kind, &src))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| {
                ApiError::bad_request(format!("customScripts.{name}: {}", describe(&e)))
            })?;
    }
    Ok(())
}

async fn create_connection(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:connections")?;
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
    validate_scripts(&app, &options).await?;
    let enabled: Vec<String> =
        serde_json::from_value(v.get("enabled_clients").cloned().unwrap_or(json!([])))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    validate_enabled_clients(&app, &t, &enabled).await?;
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
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:connections")?;
    Ok(Json(json!(app.store.get_connection(t.id(), &id).await?)))
}

async fn update_connection(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:connections")?;
    let patch = json_body(&body)?;
    if let Some(options) = patch.get("options") {
        validate_scripts(&app, options).await?;
    }
    if let Some(enabled) = patch.get("enabled_clients") {
        let enabled: Vec<String> = serde_json::from_value(enabled.clone())
            .map_err(|e| ApiError::bad_request(format!("enabled_clients: {e}")))?;
        validate_enabled_clients(&app, &t, &enabled).await?;
    }
    let conn = app.store.update_connection(t.id(), &id, patch).await?;
    // New scripts or a new TTL: this node's remembered getUser answers may be wrong now.
    crate::custom_db::forget_connection(&app, t.id(), &conn.name);
    Ok(Json(json!(conn)))
}

async fn delete_connection(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:connections")?;
    app.store.delete_connection(t.id(), &id).await?;
    Ok(StatusCode::ACCEPTED)
}

// ------------------------------------------------------------------ users

async fn list_users(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:users")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let (users, total) = app
        .store
        .list_users(
            t.id(),
            paging.page,
            paging.per_page,
            q.get("q").map(String::as_str),
        )
        .await?;
    Ok(Json(paging.classic("users", users, total)))
}

async fn users_by_email(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Query(mut q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    c.require("read:users")?;
    let email = q.remove("email").ok_or_else(|| {
        ApiError::bad_request("Query validation error: Missing required property: email")
    })?;
    Ok(Json(json!(app.store.users_by_email(t.id(), &email).await?)))
}

async fn create_user(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    c.require("create:users")?;
    let v = json_body(&body)?;
    let connection = str_field(&v, "connection")?.to_owned();
    let conn = app.store.connection_by_name(t.id(), &connection).await?;
    let email = str_field(&v, "email")?.to_owned();
    let password = str_field(&v, "password")?.to_owned();
    let hash = hash_new_password(&app, &conn, password).await?;
    let new = NewUser {
        connection,
        email: Some(email),
        email_verified: v
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        username: v.get("username").and_then(Value::as_str).map(str::to_owned),
        name: v.get("name").and_then(Value::as_str).map(str::to_owned),
        given_name: v
            .get("given_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        family_name: v
            .get("family_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        nickname: v.get("nickname").and_then(Value::as_str).map(str::to_owned),
        app_metadata: v.get("app_metadata").cloned(),
        user_metadata: v.get("user_metadata").cloned(),
        password_hash: Some(hash),
        ..NewUser::default()
    };
    let user = app.store.create_user(t.id(), new).await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

async fn get_user(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:users")?;
    Ok(Json(json!(app.store.get_user(t.id(), &id).await?)))
}

/// 404 unless the tenant knows the user locally or holds second factors for them
/// (a custom database's users outside import mode enroll without a local row).
async fn known_user(app: &AppState, t: &TenantCtx, id: &str, has_factors: bool) -> Res<()> {
    match app.store.get_user(t.id(), id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) if has_factors => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /users/{id}/enrollments`: the user's authenticator app, if enrolled.
async fn list_enrollments(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("read:users")?;
    let factors = app.store.mfa_authenticators(t.id(), &id).await?;
    known_user(&app, &t, &id, !factors.is_empty()).await?;
    Ok(Json(Value::Array(
        factors
            .iter()
            .filter(|a| a.authenticator_type == crate::store::mfa::OTP)
            .map(|a| {
                json!({"id": a.id, "status": if a.active { "confirmed" } else { "pending" },
                       "type": "authenticator",
                       "enrolled_at": crate::store::time::rfc3339_from_ms(a.created_at)})
            })
            .collect(),
    )))
}

/// `DELETE /users/{id}/authenticators`: resets the user's MFA (a lost phone);
/// their next login that needs MFA enrolls anew.
async fn reset_authenticators(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:guardian_enrollments")?;
    let removed = app.store.delete_mfa_authenticators(t.id(), &id).await?;
    known_user(&app, &t, &id, removed > 0).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_user(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    c.require("update:users")?;
    let mut patch = json_body(&body)?;
    let new_password = match patch.as_object_mut().and_then(|m| m.remove("password")) {
        Some(pw) => Some(
            pw.as_str()
                .ok_or_else(|| ApiError::bad_request("password must be a string"))?
                .to_owned(),
        ),
        None => None,
    };
    // Everything is checked before anything is written: a PATCH that is refused
    // must not have changed the password already.
    let hash = match new_password {
        Some(pw) => {
            let user = app.store.get_user(t.id(), &id).await?;
            let conn = app
                .store
                .connection_by_name(t.id(), &user.connection)
                .await?;
            Some(hash_new_password(&app, &conn, pw).await?)
        }
        None => None,
    };
    let user = app
        .store
        .update_user_and_password(t.id(), &id, patch, hash.as_deref())
        .await?;
    Ok(Json(json!(user)))
}

/// A password the Management API sets, checked against the policy and hashed at the
/// connection's bcrypt cost.
async fn hash_new_password(app: &AppState, conn: &Connection, password: String) -> Res<String> {
    if let Some(why) = crate::crypto::password::policy_violation(&password) {
        return Err(ApiError::bad_request(why).into());
    }
    let cost = crate::login::bcrypt_cost(app, conn);
    tokio::task::spawn_blocking(move || crate::crypto::password::hash_password(&password, cost))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()).into())
}

async fn delete_user(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    c.require("delete:users")?;
    app.store.delete_user(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
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

/// `POST /clients/{id}/rotate-secret`: a new secret, shown once; the old one stops working.
async fn rotate_client_secret(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    c.require("update:client_keys")
        .or_else(|_| c.require("update:clients"))?;
    let secret = random_token(48);
    app.store
        .set_client_secret_hash(t.id(), &id, &sha256_hex(&secret))
        .await?;
    let mut out = json!(app.store.get_client(t.id(), &id).await?);
    out["client_secret"] = json!(secret);
    Ok(Json(out))
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
