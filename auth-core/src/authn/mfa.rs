//! Logins waiting for a second factor: what `mfa_required` hands the client
//! as its `mfa_token`, and what the MFA API checks before the tokens are issued.
//!
//! The transaction keeps everything the flow decided (scopes, custom claims),
//! so proving the factor issues exactly the tokens the flow would have issued,
//! without running the tenant's code a second time. It lives in the database
//! beside paused redirects, so the client's next call may reach any node.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::crypto::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::User;

/// How long an `mfa_token` stays valid (Auth0: 10 minutes).
const TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaTransaction {
    pub client_id: String,
    /// The user as the login found them: users of a custom database outside
    /// import mode exist nowhere else on our side.
    pub user: User,
    /// The user has a row in this tenant's store (not a custom database's user
    /// outside import mode): it must still be there, unblocked, when the
    /// factor is proven, or the login is over.
    #[serde(default)]
    pub local: bool,
    pub connection: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub id_claims: Map<String, Value>,
    pub access_claims: Map<String, Value>,
}

/// Stored apart from `/continue` states: one kind of token never opens the other.
fn key(token: &str) -> String {
    sha256_hex(&format!("mfa_token:{token}"))
}

/// Parks the login; the `mfa_token` to continue it with.
pub async fn begin(
    app: &Arc<AppState>,
    tenant: &str,
    tx: &MfaTransaction,
) -> Result<String, ApiError> {
    let token = random_token(32);
    let value = serde_json::to_value(tx)?;
    app.store
        .park_login(tenant, &key(&token), &value, SystemTime::now() + TTL)
        .await
        .map_err(|e| ApiError::server_error(format!("pausing the login for MFA: {e}")))?;
    Ok(token)
}

/// The login an `mfa_token` continues, without using it up.
pub async fn find(app: &AppState, tenant: &str, token: &str) -> Result<MfaTransaction, ApiError> {
    let found = app.store.peek_parked_login(tenant, &key(token)).await?;
    decode(found)
}

/// Ends the transaction: an `mfa_token` issues tokens once.
pub async fn finish(app: &AppState, tenant: &str, token: &str) -> Result<MfaTransaction, ApiError> {
    let found = app.store.take_parked_login(tenant, &key(token)).await?;
    decode(found)
}

/// The user the login continues for, as they are now: a local user deleted or
/// blocked since the password was checked gets no further.
pub async fn current_user(
    app: &AppState,
    tenant: &str,
    tx: &MfaTransaction,
) -> Result<User, ApiError> {
    if !tx.local {
        return Ok(tx.user.clone());
    }
    let user = app
        .store
        .get_user(tenant, &tx.user.user_id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound(_) => {
                ApiError::invalid_grant("Malformed or expired mfa_token")
            }
            e => ApiError::server_error(e.to_string()),
        })?;
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    Ok(user)
}

fn decode(found: Option<Value>) -> Result<MfaTransaction, ApiError> {
    // Unknown and expired look the same: expired rows are not kept.
    found
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| ApiError::invalid_grant("Malformed or expired mfa_token"))
}
