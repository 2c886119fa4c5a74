//! `POST /dbconnections/signup` (HTTP's half of `authn::signup`) and
//! `GET /userinfo`.

use crate::app::AppState;
use crate::authn::signup::{self, SignupRequest};
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn signup(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: super::client_ip::ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: SignupRequest = super::request::parse_body(&headers, &body)?;
    let info = super::request::request_info(&headers, ip, "oauth2-resource-owner");
    signup::signup(&app, &t, &info, req).await.map(Json)
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
