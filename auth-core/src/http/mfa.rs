//! Auth0's MFA API: how a client finishes a token-endpoint login that an
//! Action answered with `mfa_required`. The client enrolls the user's
//! authenticator app (`POST /mfa/associate`), lists what they have
//! (`GET /mfa/authenticators`), asks for a challenge (`POST /mfa/challenge`)
//! and trades the app's one-time code, or a recovery code, for the tokens
//! (`POST /oauth/token` with the MFA grants). Every call names the login by
//! the `mfa_token` it was handed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{bearer, client_credentials, parse_body};
use crate::app::AppState;
use crate::authn::client_auth::authenticate_client;
use crate::authn::mfa::MfaTransaction;
use crate::authn::mfa_factors::{EnrollError, enroll};
use crate::error::{ApiError, ErrorKind};
use crate::store::mfa::OTP;
use crate::tenant::TenantCtx;

/// The login an `Authorization: Bearer <mfa_token>` header names, for a user
/// still there and not blocked.
async fn bearer_login(
    app: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
) -> Result<MfaTransaction, ApiError> {
    let token = bearer(headers)
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
    let creds = client_credentials(&headers, req.client_id, req.client_secret);
    let client = authenticate_client(&app, &t, &creds, false).await?;
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
