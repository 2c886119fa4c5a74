//! The one place errors become HTTP responses, per surface.
//!
//! Domain code returns [`ApiError`] (a kind and a message). The
//! Authentication API spells it OAuth style, `{"error", "error_description"}`
//! (plus `mfa_token` for `mfa_required`): that is `ApiError`'s own
//! `IntoResponse`. Handlers under `/api/v2` return [`MgmtError`], which spells
//! the same error as the Management API does,
//! `{"statusCode", "error", "message", "errorCode"}`.

use crate::error::{ApiError, ErrorKind};
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn status(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The Authentication API's spelling.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.kind();
        let mut body = json!({"error": kind.oauth_error(), "error_description": self.message()});
        if let Some(token) = self.mfa_token() {
            body["mfa_token"] = json!(token);
        }
        (status(kind), Json(body)).into_response()
    }
}

/// An error answered by a Management API route.
#[derive(Debug)]
pub struct MgmtError(pub ApiError);

impl From<ApiError> for MgmtError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for MgmtError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        let status = status(kind);
        let mut body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": self.0.message(),
        });
        if let Some(code) = kind.mgmt_code() {
            body["errorCode"] = json!(code);
        }
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn one_error_two_spellings() {
        let e = ApiError::from(StoreError::NotFound("rule"));
        let oauth = e.clone().into_response();
        assert_eq!(oauth.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body(oauth).await,
            json!({"error": "not_found", "error_description": "The rule does not exist."})
        );
        let mgmt = MgmtError(e).into_response();
        assert_eq!(
            body(mgmt).await,
            json!({"statusCode": 404, "error": "Not Found",
                "message": "The rule does not exist.", "errorCode": "inexistent_resource"})
        );
        let internal = MgmtError(ApiError::server_error("disk")).into_response();
        assert_eq!(
            body(internal).await,
            json!({"statusCode": 500, "error": "Internal Server Error", "message": "disk"})
        );
        let mfa = ApiError::mfa_required_with("tok".into()).into_response();
        assert_eq!(mfa.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(mfa).await["mfa_token"], "tok");
    }
}
