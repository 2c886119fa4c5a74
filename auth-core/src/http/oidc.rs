//! Discovery: what OIDC clients and Auth0 SDKs read before anything else.

use crate::app::AppState;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn openid_configuration(Extension(t): Extension<TenantCtx>) -> Json<Value> {
    let b = t.base();
    Json(json!({
        "issuer": t.issuer,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/oauth/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{b}/oauth/revoke"),
        "registration_endpoint": null,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code", "client_credentials", "password",
            "http://auth0.com/oauth/grant-type/password-realm", "refresh_token",
            crate::authn::grants::OTP_GRANT, crate::authn::grants::RECOVERY_CODE_GRANT
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "aud", "auth_time", "email", "email_verified", "exp", "family_name", "given_name",
            "iat", "iss", "name", "nickname", "picture", "sub", "updated_at"
        ],
    }))
}

pub async fn jwks(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(app.keys(&t.tenant).await?.jwks.clone()))
}
