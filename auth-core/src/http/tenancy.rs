//! Which tenant a request is for: its `Host` header (custom domains), or the
//! path prefix `/t/{tenant}` for single-host set-ups and local development
//! (an SDK given `localhost:8080/t/acme` as its domain works unchanged).

use crate::app::AppState;
use crate::error::ApiError;
use crate::tenant::TenantCtx;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// How the request named its tenant, found before routing.
#[derive(Debug, Clone)]
enum TenantHint {
    Path(String),
    /// Addressed by domain: which header names it depends on whether proxies are
    /// trusted, which [`resolve`] knows.
    Host,
}

/// The domain a request was sent to. `X-Forwarded-Host` counts only behind declared
/// proxies (`server.trusted_proxies`): from anyone else it would let a caller choose
/// the issuer written into discovery documents and tokens.
fn host(headers: &HeaderMap, behind_proxy: bool) -> String {
    behind_proxy
        .then(|| headers.get("x-forwarded-host"))
        .flatten()
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_ascii_lowercase()
}

/// `https` issuers come from a TLS-terminating proxy's `X-Forwarded-Proto`.
fn scheme(headers: &HeaderMap, behind_proxy: bool) -> &'static str {
    match behind_proxy
        .then(|| headers.get("x-forwarded-proto"))
        .flatten()
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    }
}

/// Strips a `/t/{tenant}` prefix before routing, so the same routes serve
/// both addressing styles.
pub fn rewrite(mut req: Request) -> Request {
    let path = req.uri().path();
    let hint = match path.strip_prefix("/t/") {
        Some(rest) => {
            let (tenant, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let tenant = tenant.to_owned();
            let mut new_path = format!("/{tail}");
            if let Some(q) = req.uri().query() {
                new_path.push('?');
                new_path.push_str(q);
            }
            if let Ok(uri) = new_path.parse::<Uri>() {
                *req.uri_mut() = uri;
            }
            TenantHint::Path(tenant)
        }
        None => TenantHint::Host,
    };
    req.extensions_mut().insert(hint);
    req
}

/// Resolves the hint to a stored tenant; unknown tenants get a 404 before any handler runs.
pub async fn resolve(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let behind_proxy = app.settings.trusted_proxies > 0;
    let (scheme, host) = (scheme(headers, behind_proxy), host(headers, behind_proxy));
    let hint = req.extensions().get::<TenantHint>().cloned();
    let found = match &hint {
        Some(TenantHint::Path(id)) => app.tenant_by_hint(id, true).await.map(|t| {
            let issuer = format!("{scheme}://{host}/t/{}/", t.id);
            (t, issuer)
        }),
        Some(TenantHint::Host) => app.tenant_by_hint(&host, false).await.map(|t| {
            let issuer = format!("{scheme}://{host}/");
            (t, issuer)
        }),
        None => None,
    };
    match found {
        Some((tenant, issuer)) => {
            let span = tracing::Span::current();
            span.record("tenant", tenant.id.as_str());
            req.extensions_mut().insert(TenantCtx { tenant, issuer });
            next.run(req).await
        }
        None => ApiError::unknown_tenant(
            "unknown tenant: use a tenant's domain or the /t/{tenant} prefix",
        )
        .into_response(),
    }
}
