//! `grant_type=refresh_token`: a refresh is a login without credentials —
//! the post-login flow runs anew — and the presented token is rotated,
//! exactly once (a replay revokes its family).

use super::{Requester, TokenRequest, scopes};
use crate::app::AppState;
use crate::authn::client_auth::{authenticate_client, grant_allowed};
use crate::authn::tokens::{LoginFacts, Scopes, UserGrant, idle_deadline, issue_user_tokens};
use crate::code::post_login;
use crate::code::triggers::post_login::token_endpoint_outcome;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::StoreError;
use crate::tenant::TenantCtx;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    mut from: Requester,
    req: TokenRequest,
) -> Result<Value, ApiError> {
    let client = authenticate_client(app, t, &from.client, false).await?;
    grant_allowed(&client, "refresh_token")?;
    let presented = req
        .refresh_token
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: refresh_token"))?;
    let invalid = || ApiError::invalid_grant("Unknown or invalid refresh token.");
    let presented_hash = sha256_hex(&presented);
    // The token is only looked at until the login has succeeded: a login that
    // fails (denied, or 429/503 that a client retries) must not use it up.
    let (record, user) = match app.store.peek_refresh_token(t.id(), &presented_hash).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            // Unknown, expired, revoked — or already used: a replay, which
            // taking it again detects and answers by revoking its family.
            let _ = app.store.take_refresh_token(t.id(), &presented_hash).await;
            return Err(invalid());
        }
        Err(e) => return Err(e.into()),
    };
    if record.client_id != client.client_id {
        return Err(invalid());
    }
    // Blocking a user ends their sessions: no new tokens from old grants.
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    let conn = app.connection(t.id(), &user.connection).await?;
    let mut info = from.info("oauth2-refresh-token");
    info.requested_scopes = scopes(Some(&record.scope));
    info.audience = record.audience.clone();
    info.body = req.event_body;
    let snap = app.login_snapshot(t, client, conn).await?;
    let decisions = post_login::run(&post_login::Login {
        app,
        t,
        snap: &snap,
        user: &user,
        info: &info,
    })
    .await?;
    // A refresh is a login without a browser too: an Action that asks for MFA or a
    // redirect must not be skipped by refreshing instead of logging in.
    token_endpoint_outcome(&decisions)?;
    // The stored grant stays as it was; each refresh applies the Actions anew.
    let mut out = issue_user_tokens(
        app,
        t,
        snap.client(),
        &snap.keys,
        &user,
        UserGrant {
            scope: Scopes::Decided {
                requested: &info.requested_scopes,
                add: &decisions.add_scopes,
                remove: &decisions.remove_scopes,
            },
            audience: record.audience.as_deref(),
            id_claims: decisions.id_claims,
            access_claims: decisions.access_claims,
            allow_refresh: false,
            facts: LoginFacts::default(),
        },
    )
    .await?;
    // Rotation: the presented token is redeemed and its successor stored in one
    // (group-committed) transaction. Losing a race to a concurrent redemption
    // of the same token is a replay: no tokens.
    let next = random_token(48);
    match app
        .store
        .rotate_refresh_token(
            t.id(),
            &presented_hash,
            &sha256_hex(&next),
            // The successor lives for the idle lifetime, and never past the login's
            // grant: rotation must not keep a stolen family alive for ever (Auth0's
            // absolute lifetime).
            idle_deadline(app).min(record.expires),
        )
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) | Err(StoreError::NotFound(_)) | Err(StoreError::Conflict(_)) => {
            return Err(invalid());
        }
        Err(e) => return Err(e.into()),
    }
    out["refresh_token"] = json!(next);
    Ok(out)
}
