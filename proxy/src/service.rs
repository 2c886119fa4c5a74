//! Serves a [`Sandbox`] over the runtime protocol (see [`crate::wire`]).
//! `rulebox runtime` mounts it over the local runtime, `rulebox proxy` over
//! a [`crate::Proxy`]; both expose `/healthz` (liveness: the process
//! answers) and `/readyz` (readiness: it should be sent work).

use crate::remote::wire_now;
use crate::wire::{ErrorBody, InvokeBody, LoadedBody, MODULE_NOT_LOADED, Source};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rulebox_runtime_api::{Call, MetricsRender, Sandbox};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest request body: a wasm module upload (base64) or a call's input.
const MAX_BODY_BYTES: usize = 16 << 20;

#[derive(Clone)]
struct Served {
    sandbox: Arc<dyn Sandbox>,
    ready: Arc<AtomicBool>,
    metrics: Option<MetricsRender>,
}

fn error(status: StatusCode, error: &str, description: String) -> Response {
    let body = ErrorBody {
        error: error.into(),
        error_description: description,
        load_error: None,
    };
    (status, Json(body)).into_response()
}

/// The protocol's routes. Flip `ready` to false to drain (readiness fails,
/// calls are still served).
pub fn router(
    sandbox: Arc<dyn Sandbox>,
    ready: Arc<AtomicBool>,
    metrics: Option<MetricsRender>,
) -> Router {
    Router::new()
        .route("/v1/modules", post(load))
        .route("/v1/invoke", post(invoke))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route".into()) })
        .with_state(Served {
            sandbox,
            ready,
            metrics,
        })
}

async fn render_metrics(State(s): State<Served>) -> Response {
    match &s.metrics {
        Some(render) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            render(),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not enabled".into(),
        ),
    }
}

async fn readyz(State(s): State<Served>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        "ready".into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "not taking new work".into(),
        )
    }
}

async fn load(
    State(s): State<Served>,
    body: Result<Json<Source>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(source)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body must be a module source".into(),
        );
    };
    let loaded = match source.into_code() {
        Ok(code) => s.sandbox.clone().load_code(code).await,
        Err(e) => Err(e),
    };
    match loaded {
        Ok(loaded) => Json(LoadedBody {
            id: loaded.id,
            handlers: loaded.handlers,
        })
        .into_response(),
        Err(e) => {
            let body = ErrorBody {
                error: e.kind.as_str().into(),
                error_description: e.message.clone(),
                load_error: Some(e),
            };
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

fn call(body: InvokeBody) -> Call {
    Call {
        tenant: body.tenant,
        quota: body.quota,
        module: body.module,
        trigger: body.trigger,
        input: body.input.into_bytes(),
        limits: body.limits,
        now: wire_now(body.now_ms),
        flow_timeout_ms: body.flow_timeout_ms,
    }
}

async fn invoke(
    State(s): State<Served>,
    body: Result<Json<InvokeBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()),
    };
    if !s.sandbox.is_loaded(&body.module) {
        return error(
            StatusCode::NOT_FOUND,
            MODULE_NOT_LOADED,
            format!("module {} is not loaded here", body.module),
        );
    }
    Json(s.sandbox.clone().call(call(body)).await).into_response()
}

/// How long a node keeps answering (with `/readyz` failing) after it was told to stop.
pub const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves `sandbox` on `listener` until `shutdown` resolves. Readiness flips
/// to false first, so a load balancer stops sending work while in-flight
/// calls finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Arc<dyn Sandbox>,
    metrics: Option<MetricsRender>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ready = Arc::new(AtomicBool::new(true));
    let flag = ready.clone();
    axum::serve(listener, router(sandbox, ready, metrics))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Readiness fails first; keep serving for the grace period so callers
            // move away, then finish in-flight calls and stop.
            flag.store(false, Ordering::Release);
            tokio::time::sleep(DRAIN_GRACE).await;
        })
        .await
}
