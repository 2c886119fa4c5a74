//! `credentials-exchange`: the event a machine client's token request gives
//! its Actions, and how their deny ends the request (with the OAuth error the
//! Action chose).

use crate::code::pipeline::RequestInfo;
use crate::error::{ApiError, ErrorKind};
use crate::store::Client;
use crate::tenant::TenantCtx;
use serde_json::{Map, Value, json};

/// Auth0's credentials-exchange `event`.
pub fn event(
    t: &TenantCtx,
    client: &Client,
    audience: &str,
    granted: &[String],
    info: &RequestInfo,
    body: Map<String, Value>,
) -> Value {
    json!({
        "client": {"client_id": client.client_id, "name": client.name, "metadata": client.client_metadata},
        "request": {"ip": info.ip, "hostname": t.base(), "body": body},
        "resource_server": {"identifier": audience},
        "accessToken": {"scope": granted},
        "tenant": {"id": t.id()},
        "transaction": {"requested_scopes": granted},
    })
}

/// A credentials-exchange Action's `api.access.deny(code, reason)`: Auth0 answers
/// with the code it chose (`invalid_scope`, `invalid_request`, `server_error`).
pub fn denied(code: Option<&str>, reason: String) -> ApiError {
    let kind = match code {
        Some("invalid_scope") => ErrorKind::InvalidScope,
        Some("invalid_request") => ErrorKind::InvalidRequest,
        Some("server_error") => ErrorKind::ServerError,
        _ => ErrorKind::AccessDenied,
    };
    ApiError::new(kind, reason)
}
