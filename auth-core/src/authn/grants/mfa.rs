//! The MFA grants (`mfa-otp`, `mfa-recovery-code`): a login that an Action
//! answered with `mfa_required` is finished by proving the second factor
//! with the `mfa_token` it was handed; the tokens are the ones its flow
//! decided, without running the tenant's code again.

use super::{Requester, TokenRequest};
use crate::app::AppState;
use crate::authn::client_auth::{authenticate_client, grant_allowed};
use crate::authn::mfa_factors::{
    check_otp, recovery_code_matches, spend_recovery_code, under_guard,
};
use crate::authn::tokens::{LoginFacts, Scopes, UserGrant, issue_user_tokens};
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use serde_json::{Value, json};
use std::sync::Arc;

pub const OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub const RECOVERY_CODE_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// `POST /oauth/token` with the `mfa-otp` or `mfa-recovery-code` grant.
pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    from: Requester,
    req: TokenRequest,
    grant: &str,
) -> Result<Value, ApiError> {
    let client = authenticate_client(app, t, &from.client, false).await?;
    grant_allowed(&client, grant)?;
    let token = req
        .mfa_token
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: mfa_token"))?;
    let login = crate::authn::mfa::find(app, t.id(), token).await?;
    if login.client_id != client.client_id {
        return Err(ApiError::invalid_grant("Malformed or expired mfa_token"));
    }
    // Refused before any code is looked at: a user deleted or blocked since.
    crate::authn::mfa::current_user(app, t.id(), &login).await?;
    let user_id = login.user.user_id.clone();
    let recovery_code = under_guard(app, t, &user_id, async {
        if grant == OTP_GRANT {
            let code = req
                .otp
                .as_deref()
                .ok_or_else(|| ApiError::invalid_request("Missing required parameter: otp"))?;
            check_otp(app, t, &user_id, code).await.map(|()| None)
        } else {
            let code = req.recovery_code.as_deref().ok_or_else(|| {
                ApiError::invalid_request("Missing required parameter: recovery_code")
            })?;
            recovery_code_matches(app, t, &user_id, code)
                .await
                .map(|()| Some(code.to_owned()))
        }
    })
    .await?;
    // Proven: the token is spent (a concurrent proof with the same token loses here).
    let login = crate::authn::mfa::finish(app, t.id(), token).await?;
    let user = crate::authn::mfa::current_user(app, t.id(), &login).await?;
    let keys = app.client_keys(&t.tenant, &client).await?;
    let mut out = issue_user_tokens(
        app,
        t,
        &client,
        &keys,
        &user,
        UserGrant {
            scope: Scopes::Stored(&login.scope),
            audience: login.audience.as_deref(),
            id_claims: login.id_claims,
            access_claims: login.access_claims,
            allow_refresh: true,
            facts: LoginFacts {
                nonce: None,
                mfa: true,
            },
        },
    )
    .await?;
    if let Some(used) = recovery_code {
        // Spent only now, with the answer ready: a login that failed on the way
        // keeps the user's code. Auth0 hands the next one out with the tokens.
        let next = spend_recovery_code(app, t, &user_id, &used).await?;
        out["recovery_code"] = json!(next);
    }
    Ok(out)
}
