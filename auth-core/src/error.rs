//! Errors as Auth0 returns them.
//!
//! The Authentication API answers `{"error", "error_description"}` (OAuth
//! style); the Management API answers `{"statusCode", "error", "message",
//! "errorCode"}`. SDKs parse both, so both shapes are kept exactly.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Authentication API (`/oauth/token`, `/dbconnections/*`, `/userinfo`, ...).
    #[error("{error}: {description}")]
    Auth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// A login that needs a second factor (Auth0: 403 `mfa_required`); its
    /// `mfa_token` continues it at the MFA API.
    #[error("mfa_required: Multifactor authentication required")]
    MfaRequired { mfa_token: String },
    /// Management API (`/api/v2/*`).
    #[error("{message}")]
    Mgmt {
        status: StatusCode,
        message: String,
        error_code: Option<&'static str>,
    },
}

impl ApiError {
    fn auth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self::Auth {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::FORBIDDEN, "invalid_grant", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::FORBIDDEN, "unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::FORBIDDEN, "unsupported_grant_type", d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::FORBIDDEN, "access_denied", d)
    }
    pub fn mfa_required(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::FORBIDDEN, "mfa_required", d)
    }
    /// A blocked user's login or refresh (Auth0: 401 `unauthorized`, "user is blocked").
    pub fn user_blocked() -> Self {
        Self::auth(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked")
    }
    pub fn too_many_attempts(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", d)
    }
    /// The tenant's code is over its sandbox quota (Auth0 answers rate limits with 429
    /// `too_many_requests`).
    pub fn too_many_requests(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", d)
    }
    /// No sandbox could take the call; the client may retry.
    pub fn temporarily_unavailable(d: impl Into<String>) -> Self {
        Self::auth(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            d,
        )
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::UNAUTHORIZED, "invalid_token", d)
    }
    /// RFC 6750 §3.1: a valid token without the scope the resource needs.
    pub fn insufficient_token_scope(scope: &str) -> Self {
        Self::auth(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("the access token lacks the '{scope}' scope"),
        )
    }
    pub fn user_exists() -> Self {
        Self::auth(
            StatusCode::BAD_REQUEST,
            "user_exists",
            "The user already exists.",
        )
    }
    /// A pre-user-registration Action refused the signup.
    pub fn invalid_signup(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::BAD_REQUEST, "invalid_signup", d)
    }
    pub fn server_error(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
    }
    pub fn unknown_tenant(d: impl Into<String>) -> Self {
        Self::auth(StatusCode::NOT_FOUND, "invalid_request", d)
    }

    fn mgmt(
        status: StatusCode,
        message: impl Into<String>,
        error_code: Option<&'static str>,
    ) -> Self {
        Self::Mgmt {
            status,
            message: message.into(),
            error_code,
        }
    }

    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::mgmt(StatusCode::BAD_REQUEST, m, Some("invalid_body"))
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::mgmt(StatusCode::NOT_FOUND, m, Some("inexistent_resource"))
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::mgmt(StatusCode::CONFLICT, m, Some("conflict"))
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::mgmt(StatusCode::UNAUTHORIZED, m, None)
    }
    pub fn insufficient_scope(needed: &str) -> Self {
        Self::mgmt(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope, expected any of: {needed}"),
            Some("insufficient_scope"),
        )
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::mgmt(StatusCode::INTERNAL_SERVER_ERROR, m, None)
    }
    /// A dependency (the sandbox pool) is down; the caller may retry.
    pub fn unavailable(m: impl Into<String>) -> Self {
        Self::mgmt(
            StatusCode::SERVICE_UNAVAILABLE,
            m,
            Some("temporarily_unavailable"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Auth {
                status,
                error,
                description,
            } => (
                status,
                Json(json!({"error": error, "error_description": description})),
            )
                .into_response(),
            ApiError::MfaRequired { mfa_token } => (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "mfa_required",
                    "error_description": "Multifactor authentication required",
                    "mfa_token": mfa_token})),
            )
                .into_response(),
            ApiError::Mgmt {
                status,
                message,
                error_code,
            } => {
                let mut body = json!({
                    "statusCode": status.as_u16(),
                    "error": status.canonical_reason().unwrap_or("Error"),
                    "message": message,
                });
                if let Some(code) = error_code {
                    body["errorCode"] = json!(code);
                }
                (status, Json(body)).into_response()
            }
        }
    }
}
