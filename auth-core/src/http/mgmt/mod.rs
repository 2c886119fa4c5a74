//! Management API v2 (the subset tenants and the Auth0 SDKs use):
//! authorized by tenant-signed access tokens carrying scopes.
//!
//! Each resource is one file with its handlers, request bodies, validators and
//! a `router()` of its routes; [`routes`] merges them under the layers every
//! route shares. Beside them: `caller` (the verified caller and its scopes),
//! `body` (body limit and JSON body checks), `paging` (Auth0's list paging),
//! `action_code` (compiling and checking tenant code) and `forget_config`
//! (the config-cache layer). Errors are `crate::http::errors::MgmtError`.
//! See docs/architecture.md, "Management API".

mod action_code;
mod body;
mod caller;
mod forget_config;
mod paging;

use crate::app::AppState;
use axum::Router;
use std::sync::Arc;

/// Declares each resource module and merges their routers: adding a resource
/// is its file and one line in the list below.
macro_rules! resources {
    ($($resource:ident),* $(,)?) => {
        $(mod $resource;)*

        /// Every resource's routes, before the shared layers.
        fn resource_routes() -> Router<Arc<AppState>> {
            Router::new()$(.merge($resource::router()))*
        }
    };
}

resources! {
    clients,
    client_grants,
    connections,
    users,
    actions,
    action_versions,
    triggers,
    rules,
    rules_configs,
    logs,
    logs_tail,
    keys,
    tenant_settings,
    audit,
}

pub fn routes(app: Arc<AppState>) -> Router<Arc<AppState>> {
    resource_routes()
        // axum's default 2 MiB would refuse modules the runtime accepts (16 MiB).
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            forget_config::forget_config_after_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app,
            audit::record_changes,
        ))
}
