//! `post-login`: its event, Rules' `context`, and what a login without a
//! browser (the token endpoint) makes of the decisions. The browser flow's
//! ending (redirect, hosted MFA page) is `http::authorize`'s.

use crate::code::pipeline::{Decisions, RequestInfo};
use crate::error::ApiError;
use crate::store::{Client, Connection, User};
use crate::tenant::TenantCtx;
use serde_json::{Map, Value, json};

/// Auth0's post-login `event`.
pub fn event(
    t: &TenantCtx,
    client: &Client,
    connection: &Connection,
    user: &User,
    req: &RequestInfo,
    secrets: Map<String, Value>,
) -> Value {
    let user_json = serde_json::to_value(user).unwrap_or(Value::Null);
    let roles = user
        .app_metadata
        .get("roles")
        .cloned()
        .unwrap_or_else(|| json!([]));
    json!({
        "user": user_json,
        "client": {"client_id": client.client_id, "name": client.name, "metadata": client.client_metadata},
        "connection": {"id": connection.id, "name": connection.name, "strategy": connection.strategy, "metadata": {}},
        "request": {
            "ip": req.ip, "hostname": req.hostname, "method": req.method,
            "user_agent": req.user_agent, "query": req.query, "body": req.body, "language": "en",
        },
        "transaction": {
            "protocol": req.protocol,
            "requested_scopes": req.requested_scopes,
            "redirect_uri": req.redirect_uri,
            "metadata": {},
        },
        "authentication": {"methods": [{"name": "pwd", "timestamp": crate::store::now_rfc3339()}]},
        "authorization": {"roles": roles},
        "stats": {"logins_count": user.logins_count},
        "tenant": {"id": t.id()},
        "resource_server": req.audience.as_ref().map(|a| json!({"identifier": a})),
        "secrets": secrets,
    })
}

/// The Rules `context` Auth0 builds for a login.
pub fn rule_context(
    t: &TenantCtx,
    client: &Client,
    connection: &Connection,
    user: &User,
    req: &RequestInfo,
) -> Value {
    json!({
        "tenant": t.id(),
        "clientID": client.client_id,
        "clientName": client.name,
        "clientMetadata": client.client_metadata,
        "connection": connection.name,
        "connectionID": connection.id,
        "connectionStrategy": connection.strategy,
        "protocol": req.protocol,
        "stats": {"loginsCount": user.logins_count},
        "request": {"ip": req.ip, "hostname": req.hostname, "userAgent": req.user_agent, "query": req.query, "body": req.body},
        "authentication": {"methods": [{"name": "pwd"}]},
        "idToken": {},
        "accessToken": {},
        "sessionID": crate::crypto::random::random_id(24),
    })
}

/// What a token-endpoint login (no browser to send anywhere) makes of the flow's
/// decisions: a deny, an MFA requirement or a redirect all end it without tokens.
pub fn token_endpoint_outcome(decisions: &Decisions) -> Result<(), ApiError> {
    if let Some(reason) = &decisions.denied {
        return Err(ApiError::access_denied(reason.clone()));
    }
    // A redirect first: a second factor proven later must not skip it.
    if decisions.redirect.is_some() {
        return Err(ApiError::access_denied(
            "The login was redirected, which this grant cannot follow; use /authorize",
        ));
    }
    if decisions.mfa.is_some() {
        return Err(ApiError::mfa_required(
            "Multifactor authentication required",
        ));
    }
    Ok(())
}
