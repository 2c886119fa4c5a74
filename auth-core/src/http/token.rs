//! `POST /oauth/token` and `POST /oauth/revoke`: HTTP's half of the grants
//! (`authn::grants`): parse the request, run the grant, spell the answer,
//! count the login.

use super::client_ip::ClientIp;
use super::request::{client_credentials, event_body, parse_body, request_info};
use crate::app::AppState;
use crate::authn::client_auth::authenticate_client;
use crate::authn::grants::{self, Requester, TokenRequest};
use crate::crypto::random::sha256_hex;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::Instrument;

pub async fn token(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut req: TokenRequest = parse_body(&headers, &body)?;
    req.event_body = event_body(&headers, &body);
    let grant = req
        .grant_type
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: grant_type"))?;
    let span = tracing::info_span!("token", tenant = t.id(), grant = %grant);
    let from = Requester {
        client: client_credentials(&headers, req.client_id.take(), req.client_secret.take()),
        info: request_info(&headers, ip, ""),
    };
    let result = grants::run(&app, &t, from, &grant, req)
        .instrument(span)
        .await;
    // Logins by tenant, grant and result: `success` or the error code (Auth0's
    // failure reasons: access_denied, invalid_grant, mfa_required, ...).
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.kind().oauth_error(),
    };
    metrics::counter!("rulebox_logins_total", "tenant" => t.id().to_owned(),
        "grant" => grants::label(&grant).to_owned(), "result" => outcome)
    .increment(1);
    result.map(Json)
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
}

/// `POST /oauth/revoke`: revokes a refresh token and every token rotated
/// from it. Answers 200 for unknown tokens too (RFC 7009), so it cannot be
/// used to probe which tokens exist.
pub async fn revoke(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RevokeRequest = parse_body(&headers, &body)?;
    let token = req
        .token
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: token"))?;
    let creds = client_credentials(&headers, req.client_id, req.client_secret);
    let client = authenticate_client(&app, &t, &creds, false).await?;
    let hash = sha256_hex(&token);
    let owner = app.store.refresh_token_client(t.id(), &hash).await?;
    match owner {
        // RFC 7009: an unknown token is no error, there is just nothing to do.
        None => return Ok(Json(json!({}))),
        // One application must not end another's sessions.
        Some(owner) if owner != client.client_id => {
            return Err(ApiError::invalid_grant(
                "The refresh token was issued to another client.",
            ));
        }
        Some(_) => {}
    }
    app.store.revoke_refresh_token(t.id(), &hash).await?;
    Ok(Json(json!({})))
}
