//! Auth0's MFA API: how a client finishes a token-endpoint login that an
//! Action answered with `mfa_required`. The client enrolls the user's
//! authenticator app (`POST /mfa/associate`), lists what they have
//! (`GET /mfa/authenticators`), asks for a challenge (`POST /mfa/challenge`)
//! and trades the app's one-time code, or a recovery code, for the tokens
//! (`POST /oauth/token` with the MFA grants). Every call names the login by
//! the `mfa_token` it was handed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::token::{
    LoginFacts, TokenRequest, authenticate_client, grant_allowed, issue_user_tokens, now_secs,
    parse_body,
};
use crate::app::AppState;
use crate::authn::mfa::MfaTransaction;
use crate::crypto::{constant_time_eq, otp, sha256_hex};
use crate::error::{ApiError, ErrorKind};
use crate::store::mfa::{NewEnrollment, OTP, RECOVERY_CODE};
use crate::store::{StoreError, ids};
use crate::tenant::TenantCtx;

pub const OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub const RECOVERY_CODE_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

const WRONG_OTP: &str = "Invalid otp_code.";
const WRONG_RECOVERY_CODE: &str = "Invalid recovery_code.";
const TOO_MANY: &str = "Too many invalid codes: try again later.";

/// The login an `Authorization: Bearer <mfa_token>` header names, for a user
/// still there and not blocked.
async fn bearer_login(
    app: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
) -> Result<MfaTransaction, ApiError> {
    let token = super::errors::bearer(headers)
        .ok_or_else(|| ApiError::invalid_token("an mfa_token is required as the bearer token"))?;
    let unknown = |e: ApiError| match e.kind() {
        ErrorKind::InvalidGrant => ApiError::invalid_token("Malformed or expired mfa_token"),
        _ => e,
    };
    let login = crate::authn::mfa::find(app, t.id(), token)
        .await
        .map_err(unknown)?;
    crate::authn::mfa::current_user(app, t.id(), &login)
        .await
        .map_err(unknown)?;
    Ok(login)
}

/// `GET /mfa/authenticators`: what the user has enrolled.
pub async fn authenticators(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let login = bearer_login(&app, &t, &headers).await?;
    let list = app
        .store
        .mfa_authenticators(t.id(), &login.user.user_id)
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|a| json!({"id": a.id, "authenticator_type": a.authenticator_type, "active": a.active}))
            .collect(),
    )))
}

#[derive(Debug, Default, Deserialize)]
struct AssociateRequest {
    authenticator_types: Option<Vec<String>>,
}

/// `POST /mfa/associate`: enrolls an authenticator app. The answer carries the
/// secret (and its `otpauth://` URI for a QR code) and the recovery code, each
/// shown only here; the enrollment counts once a first code proves it.
pub async fn associate(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let login = bearer_login(&app, &t, &headers).await?;
    let req: AssociateRequest = parse_body(&headers, &body)?;
    let types = req.authenticator_types.unwrap_or_default();
    if !types.iter().any(|k| k == OTP) {
        return Err(unsupported(
            "authenticator_types must include \"otp\": only authenticator apps can be enrolled",
        ));
    }
    let account = login.user.email.as_deref().unwrap_or(&login.user.user_id);
    let enrolled = match enroll(&app, &t, &login.user.user_id, account).await {
        Ok(e) => e,
        Err(EnrollError::AlreadyEnrolled(m)) => return Err(ApiError::access_denied(m)),
        Err(EnrollError::Failed(e)) => return Err(e),
    };
    Ok(Json(json!({
        "authenticator_type": OTP,
        "secret": enrolled.secret,
        "barcode_uri": enrolled.barcode_uri,
        "recovery_codes": [enrolled.recovery_code],
    })))
}

/// A new, unconfirmed enrollment: what the user is shown once.
pub(super) struct NewFactor {
    /// The app's authenticator id.
    pub id: String,
    /// base32, to type into the app.
    pub secret: String,
    /// The `otpauth://` URI to scan.
    pub barcode_uri: String,
    pub recovery_code: String,
}

pub(super) enum EnrollError {
    /// The user has a confirmed app; an administrator resets it first.
    AlreadyEnrolled(String),
    Failed(ApiError),
}

/// Enrolls a fresh authenticator app and recovery code for `user_id` (replacing
/// an unconfirmed enrollment), for the MFA API and the hosted page alike.
pub(super) async fn enroll(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    account: &str,
) -> Result<NewFactor, EnrollError> {
    let secret = otp::new_secret();
    let barcode_uri = otp::otpauth_uri(&secret, t.id(), account)
        .map_err(|e| EnrollError::Failed(ApiError::server_error(e)))?;
    let factor = NewFactor {
        id: format!("totp|dev_{}", ids::random_alphanumeric(16)),
        secret: otp::base32(&secret),
        barcode_uri,
        recovery_code: new_recovery_code(),
    };
    let enrolled = app
        .store
        .enroll_mfa(
            t.id(),
            NewEnrollment {
                user_id,
                otp_id: &factor.id,
                otp_secret: &factor.secret,
                recovery_id: &format!("recovery-code|dev_{}", ids::random_alphanumeric(16)),
                recovery_hash: &recovery_hash(&factor.recovery_code),
            },
        )
        .await;
    match enrolled {
        Ok(()) => Ok(factor),
        Err(StoreError::Conflict(m)) => Err(EnrollError::AlreadyEnrolled(m)),
        Err(e) => Err(EnrollError::Failed(e.into())),
    }
}

fn unsupported(d: &str) -> ApiError {
    ApiError::new(ErrorKind::UnsupportedChallengeType, d)
}

#[derive(Debug, Default, Deserialize)]
struct ChallengeRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    mfa_token: Option<String>,
    challenge_type: Option<String>,
}

/// `POST /mfa/challenge`: for an authenticator app there is nothing to send;
/// the answer says to ask the user for the code the app shows.
pub async fn challenge(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ChallengeRequest = parse_body(&headers, &body)?;
    let as_token_request = TokenRequest {
        client_id: req.client_id,
        client_secret: req.client_secret,
        ..Default::default()
    };
    let client = authenticate_client(&app, &t, &headers, &as_token_request, false).await?;
    let token = req
        .mfa_token
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: mfa_token"))?;
    let login = crate::authn::mfa::find(&app, t.id(), &token).await?;
    if login.client_id != client.client_id {
        return Err(ApiError::invalid_grant("Malformed or expired mfa_token"));
    }
    crate::authn::mfa::current_user(&app, t.id(), &login).await?;
    if let Some(kinds) = &req.challenge_type
        && !kinds.split_whitespace().any(|k| k == OTP)
    {
        return Err(unsupported("only the otp challenge type is supported"));
    }
    let list = app
        .store
        .mfa_authenticators(t.id(), &login.user.user_id)
        .await?;
    if !list.iter().any(|a| a.authenticator_type == OTP) {
        return Err(unsupported(
            "the user has no authenticator app: enroll one with /mfa/associate",
        ));
    }
    Ok(Json(json!({"challenge_type": OTP})))
}

/// `POST /oauth/token` with the `mfa-otp` or `mfa-recovery-code` grant.
pub async fn grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    headers: &HeaderMap,
    req: TokenRequest,
    grant: &str,
) -> Result<Json<Value>, ApiError> {
    let client = authenticate_client(app, t, headers, &req, false).await?;
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
    let mut out = issue_user_tokens(
        app,
        t,
        &client,
        &user,
        &login.scope,
        login.audience.as_deref(),
        login.id_claims,
        login.access_claims,
        true,
        LoginFacts {
            nonce: None,
            mfa: true,
        },
    )
    .await?;
    if let Some(used) = recovery_code {
        // Spent only now, with the answer ready: a login that failed on the way
        // keeps the user's code. Auth0 hands the next one out with the tokens.
        let next = spend_recovery_code(app, t, &user_id, &used).await?;
        out.0["recovery_code"] = json!(next);
    }
    Ok(out)
}

/// Runs one code check under the user's failed-code limit (the brute-force
/// threshold and window of password logins): recorded before the check, so
/// parallel guesses count against each other; withdrawn when it succeeds.
pub(super) async fn under_guard<T>(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    check: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let key = format!("mfa:{user_id}");
    let now = SystemTime::now();
    let since = now
        .checked_sub(Duration::from_secs(app.settings.brute_force_window_secs))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let limit = app.settings.brute_force_threshold;
    let count = || app.store.login_attempts_since(t.id(), &key, since);
    if count().await? >= limit {
        return Err(ApiError::too_many_attempts(TOO_MANY));
    }
    let id = app.store.record_login_attempt(t.id(), &key, now).await?;
    let withdraw = || app.store.withdraw_login_attempt(t.id(), &id);
    if count().await? > limit {
        withdraw().await?;
        return Err(ApiError::too_many_attempts(TOO_MANY));
    }
    let result = check.await;
    match &result {
        Err(e) if e.kind() == ErrorKind::InvalidGrant => {}
        // A success, or a failure that was no guess (a missing field, the server).
        _ => withdraw().await?,
    }
    result
}

pub(super) async fn check_otp(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<(), ApiError> {
    let list = app.store.mfa_authenticators(t.id(), user_id).await?;
    let app_factor = list
        .iter()
        .find(|a| a.authenticator_type == OTP)
        .ok_or_else(|| {
            ApiError::invalid_grant("User is not enrolled: enroll with /mfa/associate")
        })?;
    let secret = otp::from_base32(&app_factor.secret)
        .ok_or_else(|| ApiError::server_error("a stored authenticator secret is unreadable"))?;
    let step = otp::matching_step(&secret, code, now_secs())
        .and_then(|s| i64::try_from(s).ok())
        .ok_or_else(|| ApiError::invalid_grant(WRONG_OTP))?;
    // Each step once: a code read over someone's shoulder is already spent.
    let fresh = app
        .store
        .accept_otp_step(t.id(), user_id, &app_factor.id, step)
        .await?;
    if fresh {
        Ok(())
    } else {
        Err(ApiError::invalid_grant(WRONG_OTP))
    }
}

/// Whether `code` is the user's active recovery code (nothing is spent).
pub(super) async fn recovery_code_matches(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<(), ApiError> {
    let hash = recovery_hash(code);
    let list = app.store.mfa_authenticators(t.id(), user_id).await?;
    let matches = list.iter().any(|a| {
        a.authenticator_type == RECOVERY_CODE
            && a.active
            && constant_time_eq(a.secret.as_bytes(), hash.as_bytes())
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::invalid_grant(WRONG_RECOVERY_CODE))
    }
}

/// Replaces the user's recovery code `code` with a new one, which it returns;
/// `invalid_grant` if `code` was spent meanwhile.
pub(super) async fn spend_recovery_code(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<String, ApiError> {
    let next = new_recovery_code();
    let swapped = app
        .store
        .rotate_recovery_code(t.id(), user_id, &recovery_hash(code), &recovery_hash(&next))
        .await?;
    if swapped {
        Ok(next)
    } else {
        Err(ApiError::invalid_grant(WRONG_RECOVERY_CODE))
    }
}

/// 24 characters from an alphabet without look-alikes, like Auth0's codes.
fn new_recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Typed back as shown, give or take case and spaces.
fn recovery_hash(code: &str) -> String {
    let canonical: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    sha256_hex(&canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_compared_as_typed_back() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 24);
        let spaced = format!(" {} {} ", &code[..12].to_lowercase(), &code[12..]);
        assert_eq!(recovery_hash(&spaced), recovery_hash(&code));
        assert_ne!(recovery_hash(&new_recovery_code()), recovery_hash(&code));
    }
}
