//! Client authentication, the first step of every grant: which client is
//! asking, proven by its secret (sent in the body or as HTTP Basic — HTTP
//! decides which and hands over [`ClientCredentials`]), and whether it may use
//! the grant it asks for.

use crate::app::AppState;
use crate::crypto::random::{constant_time_eq, sha256_hex};
use crate::error::ApiError;
use crate::store::Client;
use crate::tenant::{ClientEntry, TenantCtx};
use std::sync::Arc;

/// The credentials a request presented for its client.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub id: Option<String>,
    pub secret: Option<String>,
}

/// Authenticates the calling client (secret in the body or HTTP Basic). A public
/// client (`token_endpoint_auth_method: none`) has no secret; a confidential one
/// always needs it, and `require_secret` demands it of every client.
pub async fn authenticate_client(
    app: &AppState,
    t: &TenantCtx,
    creds: &ClientCredentials,
    require_secret: bool,
) -> Result<Arc<ClientEntry>, ApiError> {
    let id = creds
        .id
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: client_id"))?;
    let entry = app
        .client(t.id(), id)
        .await
        .map_err(|_| ApiError::invalid_client("Unknown client."))?;
    let public = entry.client.token_endpoint_auth_method == "none";
    match (creds.secret.as_deref(), entry.secret_hash.as_deref()) {
        (Some(s), Some(h)) if !constant_time_eq(sha256_hex(s).as_bytes(), h.as_bytes()) => {
            return Err(ApiError::invalid_client("Unauthorized"));
        }
        // PKCE proves a code's redeemer started the login; it does not stand in for
        // a confidential client's secret (RFC 7636 leaves client authentication as is).
        (None, _) if require_secret || !public => {
            return Err(ApiError::invalid_client(
                "Client authentication is required",
            ));
        }
        // A client stored without a secret hash cannot authenticate with one.
        (Some(_), None) if require_secret || !public => {
            return Err(ApiError::invalid_client("Unauthorized"));
        }
        _ => {}
    }
    Ok(entry)
}

pub fn grant_allowed(client: &Client, grant: &str) -> Result<(), ApiError> {
    if client.grant_types.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(ApiError::unauthorized_client(format!(
            "Grant type '{grant}' not allowed for the client."
        )))
    }
}
