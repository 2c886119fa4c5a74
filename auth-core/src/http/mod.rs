//! The HTTP surface: Authentication API, discovery and Management API,
//! per tenant.

pub mod authorize;
pub mod authorize_mfa;
pub mod client_ip;
pub mod dashboard;
pub mod errors;
pub mod mfa;
pub mod mgmt;
pub mod oidc;
pub mod pages;
pub mod request;
pub mod signup;
pub mod tenancy;
pub mod token;

use crate::app::AppState;
use axum::Router;
use axum::extract::Request;
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// The router for one process; tenants are told apart per request.
pub fn router(app: Arc<AppState>) -> Router {
    let tenant_routes = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(oidc::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(oidc::jwks))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .route(
            "/authorize",
            get(authorize::authorize_page).post(authorize::authorize_submit),
        )
        .route("/authorize/mfa", post(authorize_mfa::submit))
        .route("/continue", get(authorize::continue_login))
        .route("/mfa/associate", post(mfa::associate))
        .route("/mfa/authenticators", get(mfa::authenticators))
        .route("/mfa/challenge", post(mfa::challenge))
        .route("/dbconnections/signup", post(signup::signup))
        .route("/userinfo", get(signup::userinfo))
        .route("/dashboard", get(dashboard::page))
        .merge(mgmt::routes(app.clone()))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            tenancy::resolve,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .merge(tenant_routes)
        // SDKs parse every error body; an unknown route answers in Auth0's shape too.
        .fallback(|| async { errors::MgmtError(crate::error::ApiError::not_found("Not Found")) })
        .layer(axum::middleware::from_fn(count_statuses))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                tenant = tracing::field::Empty,
                request_id = %uuid::Uuid::new_v4(),
            )
        }))
        .with_state(app)
}

/// Readiness: 503 once shutdown began, so load balancers stop sending logins here while the
/// ones in flight finish.
async fn readyz(
    axum::extract::State(app): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if app.ready.load(std::sync::atomic::Ordering::Acquire) {
        "ready".into_response()
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                serde_json::json!({"error": "draining", "error_description": "shutting down"}),
            ),
        )
            .into_response()
    }
}

/// HTTP responses by status code and route (the matched pattern, so tenant
/// ids and object ids do not explode the label set).
async fn count_statuses(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    metrics::counter!("rulebox_http_responses_total", "method" => method, "route" => route,
        "status" => response.status().as_u16().to_string())
    .increment(1);
    response
}

async fn render_metrics(
    axum::extract::State(app): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match &app.metrics {
        Some(render) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            render(),
        )
            .into_response(),
        None => errors::MgmtError(crate::error::ApiError::not_found("metrics are not enabled"))
            .into_response(),
    }
}

/// How long a node keeps answering (with `/readyz` failing) after it was told to stop.
pub const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves until `shutdown` resolves. The `/t/{tenant}` prefix is stripped
/// before routing, so both addressing styles reach the same routes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::Layer;
    let draining = app.clone();
    let service = tower::util::MapRequestLayer::new(tenancy::rewrite).layer(router(app));
    // The outer router only hands every request on, carrying the peer address
    // (see `client_ip`); the path rewrite must happen before the inner one routes.
    let with_peer = Router::new()
        .fallback_service(service)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, with_peer)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Readiness flips first; the listener stays open for the grace period so
            // load balancers see it and move new logins elsewhere, then in-flight
            // requests finish and the server stops.
            draining
                .ready
                .store(false, std::sync::atomic::Ordering::Release);
            tokio::time::sleep(DRAIN_GRACE).await;
            draining.draining.send_replace(true);
        })
        .await
}
