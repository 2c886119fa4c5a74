//! The authorization-code grant, both halves: issuing the code when an
//! `/authorize` login finishes (the flow's claims stored with it), and
//! redeeming it at the token endpoint (`grant_type=authorization_code`, with
//! PKCE when the code was bound to a challenge).

use super::{Requester, TokenRequest};
use crate::app::AppState;
use crate::authn::client_auth::{authenticate_client, grant_allowed};
use crate::authn::parked::PendingLogin;
use crate::authn::tokens::{LoginFacts, Scopes, UserGrant, issue_user_tokens};
use crate::crypto::pkce::verify_pkce;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::NewAuthCode;
use crate::tenant::TenantCtx;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long an authorization code may wait for its redemption.
const CODE_TTL: Duration = Duration::from_secs(600);

/// Stores an authorization code for the finished login; the callback URL that
/// carries it (with the request's `state`). `mfa`: a second factor was proven.
pub async fn issue(
    app: &AppState,
    t: &TenantCtx,
    pending: &PendingLogin,
    mfa: bool,
) -> Result<String, ApiError> {
    let code = random_token(32);
    let hash = sha256_hex(&code);
    let p = &pending.params;
    let get = |k: &str| p.get(k).and_then(Value::as_str);
    let requested: Vec<String> = get("scope")
        .unwrap_or("openid")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let granted = Scopes::Decided {
        requested: &requested,
        add: &pending.add_scopes,
        remove: &pending.remove_scopes,
    };
    let scope = granted.granted().join(" ");
    // A code from an /authorize that named its redirect_uri is redeemed only with it.
    let claims = json!({"id": pending.id_claims, "access": pending.access_claims,
        "redirect_uri_required": get("redirect_uri").is_some(), "mfa": mfa})
    .to_string();
    let stored = app
        .store
        .insert_auth_code(
            t.id(),
            NewAuthCode {
                code_hash: &hash,
                client_id: &pending.client_id,
                user_id: &pending.user_id,
                redirect_uri: &pending.redirect_uri,
                scope: &scope,
                audience: get("audience"),
                nonce: get("nonce"),
                code_challenge: get("code_challenge"),
                code_challenge_method: get("code_challenge_method"),
                expires_at: SystemTime::now() + CODE_TTL,
                claims: Some(&claims),
            },
        )
        .await;
    stored?;
    Ok(code)
}

/// `grant_type=authorization_code` (with PKCE when the code was bound to a challenge).
pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    from: Requester,
    req: TokenRequest,
) -> Result<Value, ApiError> {
    let code = req
        .code
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: code"))?;
    // The client proves itself before the code is spent: a caller who cannot
    // authenticate must not be able to burn another's code.
    let client = authenticate_client(app, t, &from.client, false).await?;
    let record = app
        .store
        .take_auth_code(t.id(), &sha256_hex(&code))
        .await?
        .ok_or_else(|| ApiError::invalid_grant("Invalid authorization code"))?;
    if client.client_id != record.client_id {
        return Err(ApiError::invalid_grant("Invalid authorization code"));
    }
    grant_allowed(&client, "authorization_code")?;
    let claims: Value = record
        .claims
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_else(|| json!({}));
    let redirect_required = claims["redirect_uri_required"].as_bool().unwrap_or(false);
    match req.redirect_uri.as_deref() {
        Some(r) if r != record.redirect_uri => {
            return Err(ApiError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        None if redirect_required => {
            return Err(ApiError::invalid_grant(
                "redirect_uri is required: the authorization request named one",
            ));
        }
        _ => {}
    }
    if let Some(challenge) = &record.code_challenge {
        let verifier = req
            .code_verifier
            .as_deref()
            .ok_or_else(|| ApiError::invalid_grant("Missing code_verifier"))?;
        let method = record.code_challenge_method.as_deref().unwrap_or("S256");
        if !verify_pkce(verifier, challenge, method) {
            return Err(ApiError::invalid_grant("Failed to verify code verifier"));
        }
    }
    let user = app
        .store
        .get_user(t.id(), &record.user_id)
        .await
        .map_err(|_| ApiError::invalid_grant("Invalid authorization code"))?;
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    let as_map = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let scope: Vec<String> = record.scope.split_whitespace().map(str::to_owned).collect();
    let keys = app.client_keys(&t.tenant, &client).await?;
    issue_user_tokens(
        app,
        t,
        &client,
        &keys,
        &user,
        UserGrant {
            scope: Scopes::Stored(&scope),
            audience: record.audience.as_deref(),
            id_claims: as_map(&claims["id"]),
            access_claims: as_map(&claims["access"]),
            allow_refresh: true,
            facts: LoginFacts {
                nonce: record.nonce.as_deref(),
                mfa: claims["mfa"].as_bool().unwrap_or(false),
            },
        },
    )
    .await
}
