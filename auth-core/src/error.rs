//! The one error type domain code returns: an Auth0/OAuth kind plus a message.
//!
//! Why data and not a response: the same failure (a store error, a scope the
//! caller lacks) is spelled differently on the two surfaces Auth0 has — the
//! Authentication API answers `{"error", "error_description"}` (OAuth style),
//! the Management API `{"statusCode", "error", "message", "errorCode"}`.
//! Domain code cannot know which surface called it, so it says *what* went
//! wrong; `http::errors` alone spells it, per surface. SDKs parse both shapes,
//! so both are kept exactly.

use crate::store::StoreError;

/// What went wrong, as Auth0 names it. Each kind has one HTTP status and a
/// spelling on each surface ([`ErrorKind::oauth_error`], [`ErrorKind::mgmt_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    InvalidGrant,
    InvalidClient,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedChallengeType,
    AccessDenied,
    /// A login that needs a second factor; see [`ApiError::mfa_token`].
    MfaRequired,
    /// No or bad credentials for the Management API, or a blocked user (Auth0:
    /// 401 `unauthorized`).
    Unauthorized,
    TooManyAttempts,
    TooManyRequests,
    /// A dependency (the database, the sandbox pool) could not answer; the
    /// caller may retry.
    TemporarilyUnavailable,
    InvalidToken,
    /// The caller's token lacks the scope the resource needs (RFC 6750 §3.1;
    /// Management API `insufficient_scope`).
    InsufficientScope,
    UserExists,
    InvalidSignup,
    ServerError,
    /// The request names no tenant this server has.
    UnknownTenant,
    /// A Management API body that fails validation (`invalid_body`).
    InvalidBody,
    /// The addressed resource does not exist (`inexistent_resource`).
    NotFound,
    Conflict,
}

impl ErrorKind {
    /// The HTTP status, the same on both surfaces.
    pub fn status(self) -> u16 {
        use ErrorKind::*;
        match self {
            InvalidRequest
            | InvalidScope
            | UnsupportedChallengeType
            | UserExists
            | InvalidSignup
            | InvalidBody => 400,
            InvalidClient | Unauthorized | InvalidToken => 401,
            InvalidGrant | UnauthorizedClient | UnsupportedGrantType | AccessDenied
            | MfaRequired | InsufficientScope => 403,
            UnknownTenant | NotFound => 404,
            Conflict => 409,
            TooManyAttempts | TooManyRequests => 429,
            ServerError => 500,
            TemporarilyUnavailable => 503,
        }
    }

    /// The `error` of an Authentication API body.
    pub fn oauth_error(self) -> &'static str {
        use ErrorKind::*;
        match self {
            InvalidRequest | UnknownTenant | InvalidBody => "invalid_request",
            InvalidGrant => "invalid_grant",
            InvalidClient => "invalid_client",
            InvalidScope => "invalid_scope",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedChallengeType => "unsupported_challenge_type",
            AccessDenied => "access_denied",
            MfaRequired => "mfa_required",
            Unauthorized => "unauthorized",
            TooManyAttempts => "too_many_attempts",
            TooManyRequests => "too_many_requests",
            TemporarilyUnavailable => "temporarily_unavailable",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            UserExists => "user_exists",
            InvalidSignup => "invalid_signup",
            ServerError => "server_error",
            NotFound => "not_found",
            Conflict => "conflict",
        }
    }

    /// The `errorCode` of a Management API body (Auth0 leaves it out of
    /// authentication failures and internal errors).
    pub fn mgmt_code(self) -> Option<&'static str> {
        use ErrorKind::*;
        match self {
            Unauthorized | ServerError => None,
            InvalidBody => Some("invalid_body"),
            NotFound | UnknownTenant => Some("inexistent_resource"),
            other => Some(other.oauth_error()),
        }
    }
}

/// A failure of a request: what kind, and a message meant for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.oauth_error())]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    /// With [`ErrorKind::MfaRequired`]: the token that continues the login at
    /// the MFA API.
    mfa_token: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            mfa_token: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn mfa_token(&self) -> Option<&str> {
        self.mfa_token.as_deref()
    }

    /// A login that needs a second factor (Auth0: 403 `mfa_required`); its
    /// `mfa_token` continues it at the MFA API.
    pub fn mfa_required_with(mfa_token: String) -> Self {
        Self {
            kind: ErrorKind::MfaRequired,
            message: "Multifactor authentication required".to_owned(),
            mfa_token: Some(mfa_token),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidGrant, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidClient, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnauthorizedClient, d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsupportedGrantType, d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::AccessDenied, d)
    }
    pub fn mfa_required(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::MfaRequired, d)
    }
    /// A blocked user's login or refresh (Auth0: 401 `unauthorized`, "user is blocked").
    pub fn user_blocked() -> Self {
        Self::new(ErrorKind::Unauthorized, "user is blocked")
    }
    pub fn too_many_attempts(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooManyAttempts, d)
    }
    /// The tenant's code is over its sandbox quota (Auth0 answers rate limits with 429
    /// `too_many_requests`).
    pub fn too_many_requests(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooManyRequests, d)
    }
    /// No sandbox could take the call; the client may retry.
    pub fn temporarily_unavailable(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::TemporarilyUnavailable, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidToken, d)
    }
    /// RFC 6750 §3.1: a valid token without the scope the resource needs.
    pub fn insufficient_token_scope(scope: &str) -> Self {
        Self::new(
            ErrorKind::InsufficientScope,
            format!("the access token lacks the '{scope}' scope"),
        )
    }
    pub fn user_exists() -> Self {
        Self::new(ErrorKind::UserExists, "The user already exists.")
    }
    /// A pre-user-registration Action refused the signup.
    pub fn invalid_signup(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidSignup, d)
    }
    pub fn server_error(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerError, d)
    }
    pub fn unknown_tenant(d: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnknownTenant, d)
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidBody, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, m)
    }
    pub fn insufficient_scope(needed: &str) -> Self {
        Self::new(
            ErrorKind::InsufficientScope,
            format!("Insufficient scope, expected any of: {needed}"),
        )
    }
    /// An internal failure (a Management API 500, spelled without `errorCode`).
    pub fn internal(m: impl Into<String>) -> Self {
        Self::server_error(m)
    }
    /// A dependency (the sandbox pool) is down; the caller may retry.
    pub fn unavailable(m: impl Into<String>) -> Self {
        Self::temporarily_unavailable(m)
    }
}

/// A store failure as the caller sees it: a missing row is the resource not
/// existing, a uniqueness clash a conflict, a refused value a bad body;
/// anything else is the server's fault.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(format!("The {what} does not exist.")),
            StoreError::Conflict(m) => Self::conflict(m),
            StoreError::Invalid(m) => Self::bad_request(m),
            other => Self::server_error(other.to_string()),
        }
    }
}

/// Failures of the server's own work — a value of ours that would not
/// serialize, a blocking task that died, a key that would not sign — are the
/// server's fault, whatever the surface.
macro_rules! server_fault {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                Self::server_error(e.to_string())
            }
        }
    )*};
}
server_fault!(
    serde_json::Error,
    tokio::task::JoinError,
    crate::crypto::CryptoError
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_meaning() {
        let e = ApiError::from(StoreError::NotFound("client"));
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::NotFound, "The client does not exist.")
        );
        assert_eq!(
            ApiError::from(StoreError::Conflict("taken".into())).kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            ApiError::from(StoreError::Invalid("bad".into())).kind(),
            ErrorKind::InvalidBody
        );
    }
}
