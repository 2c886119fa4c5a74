//! Logins paused mid-flow — by an Action's redirect, or for the hosted MFA
//! page — kept in the database so the `/continue` may reach any node.

use crate::app::AppState;
use crate::crypto::random::sha256_hex;
use crate::error::ApiError;
use std::time::Duration;

/// A login paused by an Action's redirect, waiting for `/continue`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    /// The original `/authorize` parameters.
    pub params: serde_json::Value,
    pub client_id: String,
    pub user_id: String,
    pub connection: String,
    pub redirect_uri: String,
    /// Binding position of the Action that redirected.
    pub resume_at: Option<usize>,
    /// A legacy Rule redirected: on return the Actions (all done) are not run
    /// again, and the Rules run anew with protocol `redirect-callback`, as at Auth0.
    #[serde(default)]
    pub rules_only: bool,
    /// Claims decided before the pause.
    pub id_claims: serde_json::Map<String, serde_json::Value>,
    pub access_claims: serde_json::Map<String, serde_json::Value>,
    /// Scope changes and an MFA requirement decided before the pause: they
    /// hold for the tokens issued after it.
    #[serde(default)]
    pub add_scopes: Vec<String>,
    #[serde(default)]
    pub remove_scopes: Vec<String>,
    #[serde(default)]
    pub mfa: Option<String>,
    /// The unconfirmed authenticator the hosted MFA page enrolled for this
    /// login: only this login's page may show its secret again.
    #[serde(default)]
    pub mfa_enrollment: Option<String>,
}

/// How long a paused login waits for its `/continue`.
const PARK_TTL: Duration = Duration::from_secs(600);

/// Stores a paused login in the database (any node may see the `/continue`).
pub async fn park(
    app: &AppState,
    tenant: &str,
    key: &str,
    login: &PendingLogin,
) -> Result<(), ApiError> {
    let value = serde_json::to_value(login)?;
    app.store
        .park_login(
            tenant,
            &sha256_hex(key),
            &value,
            std::time::SystemTime::now() + PARK_TTL,
        )
        .await
        .map_err(|e| ApiError::server_error(format!("pausing the login: {e}")))
}

/// Takes a paused login (once).
pub async fn unpark(app: &AppState, tenant: &str, key: &str) -> Option<PendingLogin> {
    match app.store.take_parked_login(tenant, &sha256_hex(key)).await {
        Ok(Some(v)) => serde_json::from_value(v).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read a paused login");
            None
        }
    }
}
