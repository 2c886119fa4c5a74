//! The token endpoint's grants, one file each, over shared named steps:
//! client authentication (`authn::client_auth`), finishing a login
//! (`authn::finish`) and issuing tokens (`authn::tokens`). Framework-free:
//! HTTP parses the request into a [`TokenRequest`] and a [`Requester`],
//! and spells the answer or the error; a grant can be run without a server.

pub mod authorization_code;
pub mod client_credentials;
pub mod mfa;
pub mod password;
pub mod refresh;

use crate::app::AppState;
use crate::authn::client_auth::ClientCredentials;
use crate::code::pipeline::RequestInfo;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use mfa::{OTP_GRANT, RECOVERY_CODE_GRANT};

pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// The parameters of a token request (JSON or form: HTTP decides).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub refresh_token: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// The MFA grants: the token `mfa_required` handed out, and the proof.
    pub mfa_token: Option<String>,
    pub otp: Option<String>,
    pub recovery_code: Option<String>,
    /// What the tenant's code sees as `event.request.body`.
    #[serde(skip)]
    pub event_body: Map<String, Value>,
}

/// What HTTP found about a token request besides its body.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// The client's credentials: HTTP Basic when sent, else the body's.
    pub client: ClientCredentials,
    /// The caller's address, host and user agent; each grant names its protocol.
    pub info: RequestInfo,
}

impl Requester {
    /// `event.request` and `event.transaction.protocol` as a grant reports them
    /// (taken, not copied: a grant reports them once).
    pub fn info(&mut self, protocol: &str) -> RequestInfo {
        RequestInfo {
            protocol: protocol.into(),
            ..std::mem::take(&mut self.info)
        }
    }
}

/// Runs the grant `grant` names.
pub async fn run(
    app: &Arc<AppState>,
    t: &TenantCtx,
    from: Requester,
    grant: &str,
    req: TokenRequest,
) -> Result<Value, ApiError> {
    match grant {
        "password" | PASSWORD_REALM => {
            password::grant(app, t, from, req, grant == PASSWORD_REALM).await
        }
        "client_credentials" => client_credentials::grant(app, t, from, req).await,
        "refresh_token" => refresh::grant(app, t, from, req).await,
        "authorization_code" => authorization_code::grant(app, t, from, req).await,
        OTP_GRANT | RECOVERY_CODE_GRANT => mfa::grant(app, t, from, req, grant).await,
        other => Err(ApiError::unsupported_grant_type(format!(
            "Unsupported grant type: {other}"
        ))),
    }
}

/// The grants this server serves, for metrics labels (anything else is `other`,
/// so a caller cannot explode the label set).
pub fn label(grant: &str) -> &str {
    match grant {
        "password" | PASSWORD_REALM | "client_credentials" | "refresh_token"
        | "authorization_code" | OTP_GRANT | RECOVERY_CODE_GRANT => grant,
        _ => "other",
    }
}

/// A space-separated scope parameter as a list.
pub(crate) fn scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests;
