//! A database signup (`POST /dbconnections/signup`): the checks, the
//! pre-user-registration Actions, the user stored here or in the tenant's
//! custom database (its `create` script), then post-user-registration.

use crate::app::AppState;
use crate::authn::finish::login_connection;
use crate::authn::login;
use crate::code::custom_db;
use crate::code::pipeline::{self, RequestInfo};
use crate::code::triggers::{post_user_registration, pre_user_registration};
use crate::crypto::password::{hash_password, policy_violation};
use crate::error::ApiError;
use crate::store::{NewUser, StoreError};
use crate::tenant::TenantCtx;
use rulebox_runtime_api::Trigger;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The signup's parameters (JSON or form: HTTP decides).
#[derive(Debug, Default, Deserialize)]
pub struct SignupRequest {
    pub client_id: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub connection: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub user_metadata: Option<Value>,
}

pub async fn signup(
    app: &Arc<AppState>,
    t: &TenantCtx,
    info: &RequestInfo,
    req: SignupRequest,
) -> Result<Value, ApiError> {
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
    let conn = login_connection(app, t, &client, Some(&connection)).await?;
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
    if custom_db::get_user(app, t, &conn, &email).await?.is_some() {
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
    let pre_event = pre_user_registration::event(t, &client, &conn, &new, info);
    let scope = pipeline::Scope::new(app, t, Some(&client.client_id), None);
    let pre = pipeline::run(&scope, Trigger::PreUserRegistration, pre_event.clone()).await?;
    let mut new = pre_user_registration::apply(pre, new)?;
    // A custom database without import mode keeps its users itself: its `create`
    // script stores the user there, and later logins go through its `login` script.
    if let Some(source) = custom_db::script(&conn, "create")
        && !login::import_mode(&conn)
    {
        let user = json!({
            "email": new.email, "password": password, "username": new.username,
            "name": new.name, "user_metadata": new.user_metadata.clone().unwrap_or(json!({})),
            "app_metadata": new.app_metadata.clone().unwrap_or(json!({})),
            "tenant": t.id(), "client_id": client.client_id, "connection": conn.name,
        });
        let result = custom_db::run_script(app, t, &conn, "create", source, json!([user])).await?;
        if let Some(err) = result.error {
            let message = err.message.as_deref().unwrap_or("signup refused");
            return Err(match err.code.as_deref() {
                Some("user_exists") => ApiError::user_exists(),
                _ => ApiError::invalid_signup(message),
            });
        }
        return Ok(json!({
            "email": new.email,
            "email_verified": false,
            "user_metadata": new.user_metadata.unwrap_or(json!({})),
        }));
    }
    if custom_db::script(&conn, "login").is_some() && !login::import_mode(&conn) {
        return Err(ApiError::invalid_request(
            "the connection's custom database has no create script",
        ));
    }
    let cost = login::bcrypt_cost(app, &conn);
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, cost)).await??;
    new.password_hash = Some(hash);
    let user = match app.store.create_user(t.id(), new).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => return Err(ApiError::user_exists()),
        Err(e) => return Err(e.into()),
    };
    // post-user-registration: notifications only; a failure is logged, the
    // user already exists.
    let post_event = post_user_registration::event(pre_event, &user);
    let scope = pipeline::Scope::new(app, t, Some(&client.client_id), Some(&user.user_id));
    if let Err(e) = pipeline::run(&scope, Trigger::PostUserRegistration, post_event).await {
        tracing::warn!(tenant = t.id(), error = %e, "post-user-registration action failed");
    }
    Ok(json!({
        "_id": user.user_id.trim_start_matches("auth0|"),
        "email": user.email,
        "email_verified": user.email_verified,
        "user_metadata": user.user_metadata,
    }))
}
