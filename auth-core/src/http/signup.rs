//! `POST /dbconnections/signup` and `GET /userinfo`.

use crate::app::AppState;
use crate::crypto::password::hash_password;
use crate::error::ApiError;
use crate::store::{NewUser, StoreError};
use crate::tenancy::TenantCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::{Extension, Json};
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
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: SignupRequest = super::token::parse_body(&headers, &body)?;
    let client_id = req
        .client_id
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: client_id"))?;
    app.store
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
    let conn = app
        .store
        .connection_by_name(t.id(), &connection)
        .await
        .map_err(|_| ApiError::invalid_request("connection not found"))?;
    if password.len() < 8 {
        return Err(ApiError::invalid_request(
            "PasswordStrengthError: Password is too weak",
        ));
    }
    let cost = app.settings.bcrypt_cost;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, cost))
        .await
        .map_err(|e| ApiError::server_error(e.to_string()))?
        .map_err(|e| ApiError::server_error(e.to_string()))?;
    let new = NewUser {
        connection: conn.name.clone(),
        email: Some(email),
        username: req.username,
        name: req.name,
        given_name: req.given_name,
        family_name: req.family_name,
        nickname: req.nickname,
        user_metadata: req.user_metadata,
        password_hash: Some(hash),
        ..NewUser::default()
    };
    let user = match app.store.create_user(t.id(), new).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => return Err(ApiError::user_exists()),
        Err(e) => return Err(ApiError::server_error(e.to_string())),
    };
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
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::invalid_token("Missing access token"))?;
    let keys = app.keys(t.id()).await?;
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
    Ok(Json(json!({
        "sub": user.user_id, "email": user.email, "email_verified": user.email_verified,
        "name": user.name, "nickname": user.nickname, "picture": user.picture,
        "given_name": user.given_name, "family_name": user.family_name, "updated_at": user.updated_at,
    })))
}
