//! `pre-user-registration`: the event of a signup before the user exists,
//! and how its decisions end it — a deny refuses the signup
//! (`invalid_signup`), metadata the Actions set is stored with the new user.

use crate::code::pipeline::{Decisions, RequestInfo};
use crate::error::ApiError;
use crate::store::{Client, Connection, NewUser};
use crate::tenant::TenantCtx;
use serde_json::{Value, json};

/// Auth0's pre-user-registration `event`.
pub fn event(
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    new: &NewUser,
    info: &RequestInfo,
) -> Value {
    json!({
        "user": {"email": new.email, "username": new.username, "name": new.name, "user_metadata": new.user_metadata.clone().unwrap_or(json!({})), "app_metadata": {}},
        "client": {"client_id": client.client_id, "name": client.name, "metadata": client.client_metadata},
        "connection": {"id": conn.id, "name": conn.name, "strategy": conn.strategy},
        "request": {"ip": info.ip, "hostname": info.hostname, "user_agent": info.user_agent},
        "tenant": {"id": t.id()},
        "transaction": {"protocol": "oauth2-resource-owner"},
    })
}

/// The user to create, with what the Actions decided; their deny refuses the signup.
pub fn apply(decisions: Decisions, mut new: NewUser) -> Result<NewUser, ApiError> {
    if let Some(reason) = decisions.denied {
        return Err(ApiError::invalid_signup(reason));
    }
    if !decisions.user_metadata.is_empty() {
        let mut md = new
            .user_metadata
            .take()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        md.extend(decisions.user_metadata);
        new.user_metadata = Some(Value::Object(md));
    }
    if !decisions.app_metadata.is_empty() {
        new.app_metadata = Some(Value::Object(decisions.app_metadata));
    }
    Ok(new)
}
