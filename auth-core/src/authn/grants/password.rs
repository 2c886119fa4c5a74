//! `grant_type=password` and Auth0's `password-realm`: a user's credentials
//! checked against a database connection (with brute-force protection), then
//! the post-login flow and the tokens.

use super::{PASSWORD_REALM, Requester, TokenRequest, scopes};
use crate::app::AppState;
use crate::authn::client_auth::{authenticate_client, grant_allowed};
use crate::authn::finish::{finish_login, login_connection};
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use serde_json::Value;
use std::sync::Arc;

pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    mut from: Requester,
    req: TokenRequest,
    realm_grant: bool,
) -> Result<Value, ApiError> {
    let client = authenticate_client(app, t, &from.client, false).await?;
    let grant_name = if realm_grant {
        PASSWORD_REALM
    } else {
        "password"
    };
    grant_allowed(&client, grant_name)?;
    let username = req
        .username
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: username"))?;
    let password = req
        .password
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: password"))?;
    if realm_grant && req.realm.is_none() {
        return Err(ApiError::invalid_request(
            "Missing required parameter: realm",
        ));
    }
    let conn = login_connection(app, t, &client, req.realm.as_deref()).await?;
    let mut info = from.info("oauth2-password");
    info.requested_scopes = scopes(req.scope.as_deref());
    info.audience = req.audience.clone();
    info.body = req.event_body.clone();

    let attempt = crate::authn::login::Attempt {
        username: &username,
        password: &password,
        ip: &info.ip,
        client_id: &client.client_id,
    };
    let user = crate::authn::login::authenticate(app, t, &conn, &attempt).await?;
    let snap = app.login_snapshot(t, client, Arc::new(conn)).await?;
    finish_login(app, t, &snap, user, info, true).await
}
