//! `grant_type=client_credentials`: a machine client's token for an API it
//! has a client grant for, after the credentials-exchange Actions.

use super::{Requester, TokenRequest, scopes};
use crate::app::AppState;
use crate::authn::client_auth::{authenticate_client, grant_allowed};
use crate::authn::tokens::now_secs;
use crate::bootstrap::MANAGEMENT_AUDIENCE;
use crate::code::pipeline;
use crate::code::triggers::credentials_exchange;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use rulebox_runtime_api::Trigger;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    mut from: Requester,
    req: TokenRequest,
) -> Result<Value, ApiError> {
    let client = authenticate_client(app, t, &from.client, true).await?;
    grant_allowed(&client, "client_credentials")?;
    let audience = req
        .audience
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: audience"))?;
    let grant_audience = if audience == t.management_audience() {
        MANAGEMENT_AUDIENCE
    } else {
        audience.as_str()
    };
    let grant = app
        .store
        .find_client_grant(t.id(), &client.client_id, grant_audience)
        .await
        .map_err(|_| {
            ApiError::access_denied(format!("Client has not been granted scopes: {audience}"))
        })?;
    let requested = scopes(req.scope.as_deref());
    let granted: Vec<String> = if requested.is_empty() {
        grant.scope.clone()
    } else {
        requested
            .into_iter()
            .filter(|s| grant.scope.contains(s))
            .collect()
    };
    // Credentials-exchange Actions see the client and may deny or add claims.
    let info = from.info("oauth2-client-credentials");
    let event = credentials_exchange::event(t, &client, &audience, &granted, &info, req.event_body);
    let scope = pipeline::Scope::new(app, t, Some(&client.client_id), None);
    let decisions = pipeline::run(&scope, Trigger::CredentialsExchange, event).await?;
    if let Some(reason) = decisions.denied {
        return Err(credentials_exchange::denied(
            decisions.denied_code.as_deref(),
            reason,
        ));
    }
    let keys = app.keys(&t.tenant).await?;
    let now = now_secs();
    let mut claims = json!({
        "iss": t.issuer, "sub": format!("{}@clients", client.client_id), "aud": audience,
        "iat": now, "exp": now + app.settings.access_token_ttl_secs,
        "scope": granted.join(" "), "gty": "client-credentials", "azp": client.client_id,
    });
    if let Some(map) = claims.as_object_mut() {
        crate::authn::custom_claims::merge(map, decisions.access_claims);
    }
    let token = keys.signer.sign(&claims)?;
    Ok(json!({
        "access_token": token, "token_type": "Bearer",
        "expires_in": app.settings.access_token_ttl_secs, "scope": granted.join(" "),
    }))
}
