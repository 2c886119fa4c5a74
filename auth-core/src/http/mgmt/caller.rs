//! Who calls the Management API: [`Caller`] verifies the tenant-signed access
//! token of a request and answers the scopes it carries; every handler takes one
//! and asks it for the scope its route needs.

use crate::app::AppState;
use crate::error::ApiError;
use crate::http::errors::MgmtError;
use crate::http::request::bearer;
use crate::tenant::TenantCtx;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::Value;
use std::sync::Arc;

/// What a Management API handler answers: its value, or an error in the Management API's shape.
pub(super) type Res<T> = Result<T, MgmtError>;

/// A verified Management API caller, the scopes its token carries, and what
/// every handler needs with it: the service and the tenant addressed.
pub(super) struct Caller {
    scopes: Vec<String>,
    pub(super) subject: String,
    pub(super) app: Arc<AppState>,
    pub(super) t: TenantCtx,
}

impl Caller {
    /// The service and the tenant, if the caller's token holds `scope`.
    pub(super) fn require(&self, scope: &str) -> Res<(&Arc<AppState>, &TenantCtx)> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok((&self.app, &self.t))
        } else {
            Err(ApiError::insufficient_scope(scope).into())
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Res<Self> {
        let t = parts
            .extensions
            .get::<TenantCtx>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("unknown tenant"))?;
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("Missing authentication"))?;
        let keys = app.keys(&t.tenant).await?;
        // A token from another tenant fails here: other keys, other issuer.
        let claims =
            crate::crypto::jwt::verify(token, &keys.jwks, &t.issuer, &t.management_audience())
                .map_err(|e| ApiError::unauthorized(format!("Invalid token: {e}")))?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        // Management scopes are only ever granted to a machine client through
        // its client grant. A user's token may name this audience (a login can
        // ask for any audience) but holds no management scope, whatever its
        // `scope` claim says: it gets 403s, as at Auth0.
        let machine = claims.get("gty").and_then(Value::as_str) == Some("client-credentials")
            && subject.ends_with("@clients");
        let scopes = if machine {
            claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            scopes,
            subject,
            app: app.clone(),
            t,
        })
    }
}
