//! A layer over every Management API route: a write drops this node's cached
//! copy of the tenant's configuration.

use crate::app::AppState;
use crate::tenant::TenantCtx;
use axum::Extension;
use axum::extract::State;
use std::sync::Arc;

/// Every management write drops this node's cached copy of the tenant's
/// configuration, so the next login here sees the change (other nodes see
/// it within `config_cache::CONFIG_TTL`). Doing it here rather than in each
/// handler means a new write endpoint cannot forget to.
pub(super) async fn forget_config_after_writes(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let response = next.run(req).await;
    if writes {
        app.forget_tenant_config(t.id());
    }
    response
}
