//! `POST /dbconnections/signup` and `GET /userinfo`.

use crate::app::AppState;
use crate::crypto::password::{hash_password, policy_violation};
use crate::error::ApiError;
use crate::store::{NewUser, StoreError};
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use rulebox_runtime_api::Trigger;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
pub struct SignupRequest {
    client_id: Option<String>,
    email: Option<String>,
    password: Option<String>,
    connection: Option<String>,
    username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    user_metadata: Option<Value>,
}

pub async fn signup(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: super::client_ip::ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: SignupRequest = super::request::parse_body(&headers, &body)?;
    let client_id = req
        .client_id
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: client_id"))?;
    let client = app
        .store
        .get_client(t.id(), &client_id)
        .await
        .map_err(|_| ApiError::invalid_client("Unknown client."))?;
    let email = req
        .email
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: email"))?;
    let password = req
        .password
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: password"))?;
    let connection = req
        .connection
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: connection"))?;
    // Only database connections take signups, and only from clients they are enabled for.
    let conn = crate::authn::finish::login_connection(&app, &t, &client, Some(&connection)).await?;
    if conn.strategy != "auth0" {
        return Err(ApiError::invalid_request(
            "signup is only possible on database connections",
        ));
    }
    if let Some(why) = policy_violation(&password) {
        return Err(ApiError::invalid_request(why));
    }
    // A custom database knows users we have not imported yet: one of them signing up again
    // would split the account in two.
    if crate::code::custom_db::get_user(&app, &t, &conn, &email)
        .await?
        .is_some()
    {
        return Err(ApiError::user_exists());
    }
    let new = NewUser {
        connection: conn.name.clone(),
        email: Some(email),
        username: req.username,
        name: req.name,
        given_name: req.given_name,
        family_name: req.family_name,
        nickname: req.nickname,
        user_metadata: req.user_metadata,
        ..NewUser::default()
    };
    // pre-user-registration Actions may refuse the signup or add metadata
    // before anything is stored.
    let info = super::request::request_info(&headers, ip, "oauth2-resource-owner");
    let pre_event = json!({
        "user": {"email": new.email, "username": new.username, "name": new.name, "user_metadata": new.user_metadata.clone().unwrap_or(json!({})), "app_metadata": {}},
        "client": {"client_id": client.client_id, "name": client.name, "metadata": client.client_metadata},
        "connection": {"id": conn.id, "name": conn.name, "strategy": conn.strategy},
        "request": {"ip": info.ip, "hostname": info.hostname, "user_agent": info.user_agent},
        "tenant": {"id": t.id()},
        "transaction": {"protocol": "oauth2-resource-owner"},
    });
    let pre = crate::code::pipeline::run(
        &app,
        &t,
        Trigger::PreUserRegistration,
        pre_event.clone(),
        Some(&client.client_id),
        None,
    )
    .await?;
    if let Some(reason) = pre.denied {
        return Err(ApiError::invalid_signup(reason));
    }
    let mut new = new;
    if !pre.user_metadata.is_empty() {
        let mut md = new
            .user_metadata
            .take()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        md.extend(pre.user_metadata);
        new.user_metadata = Some(Value::Object(md));
    }
    if !pre.app_metadata.is_empty() {
        new.app_metadata = Some(Value::Object(pre.app_metadata));
    }
    // A custom database without import mode keeps its users itself: its `create`
    // script stores the user there, and later logins go through its `login` script.
    if let Some(source) = crate::code::custom_db::script(&conn, "create")
        && !crate::authn::login::import_mode(&conn)
    {
        let user = json!({
            "email": new.email, "password": password, "username": new.username,
            "name": new.name, "user_metadata": new.user_metadata.clone().unwrap_or(json!({})),
            "app_metadata": new.app_metadata.clone().unwrap_or(json!({})),
            "tenant": t.id(), "client_id": client.client_id, "connection": conn.name,
        });
        let result =
            crate::code::custom_db::run_script(&app, &t, &conn, "create", source, json!([user]))
                .await?;
        if let Some(err) = result.get("error").filter(|e| !e.is_null()) {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("signup refused");
            return Err(match err.get("code").and_then(Value::as_str) {
                Some("user_exists") => ApiError::user_exists(),
                _ => ApiError::invalid_signup(message.to_owned()),
            });
        }
        return Ok(Json(json!({
            "email": new.email,
            "email_verified": false,
            "user_metadata": new.user_metadata.unwrap_or(json!({})),
        })));
    }
    if crate::code::custom_db::script(&conn, "login").is_some()
        && !crate::authn::login::import_mode(&conn)
    {
        return Err(ApiError::invalid_request(
            "the connection's custom database has no create script",
        ));
    }
    let cost = crate::authn::login::bcrypt_cost(&app, &conn);
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, cost)).await??;
    new.password_hash = Some(hash);
    let user = match app.store.create_user(t.id(), new).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => return Err(ApiError::user_exists()),
        Err(e) => return Err(e.into()),
    };
    // post-user-registration: notifications only; a failure is logged, the
    // user already exists.
    let mut post_event = pre_event;
    post_event["user"] = serde_json::to_value(&user).unwrap_or(Value::Null);
    if let Err(e) = crate::code::pipeline::run(
        &app,
        &t,
        Trigger::PostUserRegistration,
        post_event,
        Some(&client.client_id),
        Some(&user.user_id),
    )
    .await
    {
        tracing::warn!(tenant = t.id(), error = %e, "post-user-registration action failed");
    }
    Ok(Json(json!({
        "_id": user.user_id.trim_start_matches("auth0|"),
        "email": user.email,
        "email_verified": user.email_verified,
        "user_metadata": user.user_metadata,
    })))
}

pub async fn userinfo(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = super::request::bearer(&headers)
        .ok_or_else(|| ApiError::invalid_token("Missing access token"))?;
    let keys = app.keys(&t.tenant).await?;
    let claims = crate::crypto::jwt::verify(
        token,
        &keys.jwks,
        &t.issuer,
        &format!("{}userinfo", t.issuer),
    )
    .map_err(|e| ApiError::invalid_token(e.to_string()))?;
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let user = app
        .store
        .get_user(t.id(), sub)
        .await
        .map_err(|_| ApiError::invalid_token("unknown user"))?;
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    // OIDC Core 5.4: the token's scopes decide which claims are released.
    let granted = |s: &str| {
        claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|all| all.split(' ').any(|g| g == s))
    };
    if !granted("openid") {
        return Err(ApiError::insufficient_token_scope("openid"));
    }
    let mut out = json!({ "sub": user.user_id });
    if granted("profile") {
        out["name"] = json!(user.name);
        out["nickname"] = json!(user.nickname);
        out["picture"] = json!(user.picture);
        out["given_name"] = json!(user.given_name);
        out["family_name"] = json!(user.family_name);
        out["updated_at"] = json!(user.updated_at);
    }
    if granted("email") {
        out["email"] = json!(user.email);
        out["email_verified"] = json!(user.email_verified);
    }
    if let Some(map) = out.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    Ok(Json(out))
}
