//! What the hosted login pages share: HTML escaping, the error page, and
//! the redirect back to the client with an issued authorization code.

use crate::app::AppState;
use crate::authn::grants::authorization_code;
use crate::authn::parked::PendingLogin;
use crate::tenant::TenantCtx;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Error</title><h1>Login error</h1><p id=\"error\">{}</p>",
        escape(message)
    );
    (status, Html(body)).into_response()
}

/// `uri` with `params` added to its query (`None` values left out).
pub(super) fn url_with(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

/// Issues the login's authorization code; the client's redirect URL carrying it
/// (and the login's `state`), or the error page.
pub(super) async fn code_redirect(
    app: &AppState,
    t: &TenantCtx,
    pending: &PendingLogin,
    mfa: bool,
) -> Result<String, Response> {
    let code = authorization_code::issue(app, t, pending, mfa)
        .await
        .map_err(|e| error_page(StatusCode::INTERNAL_SERVER_ERROR, e.message()))?;
    let state = pending.params.get("state").and_then(Value::as_str);
    Ok(url_with(
        &pending.redirect_uri,
        &[("code", Some(&code)), ("state", state)],
    ))
}
