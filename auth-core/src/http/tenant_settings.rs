//! `GET/PATCH /api/v2/tenants/settings`: the tenant's settings as the
//! Management API shows them, plus `sandbox_limits` — what the platform
//! lets this tenant's code use (fuel, timeout, memory, concurrency, rate,
//! outbound allow-list), applied to its next call without a restart.

use super::mgmt::{Caller, store_err};
use crate::app::AppState;
use crate::error::ApiError;
use crate::tenancy::TenantCtx;
use axum::extract::State;
use axum::{Extension, Json};
use rulebox_runtime_api::TenantPolicy;
use serde_json::{Value, json};
use std::sync::Arc;

fn settings_json(tenant: &crate::store::Tenant) -> Value {
    json!({
        "friendly_name": tenant.friendly_name,
        "signing_alg": tenant.signing_alg,
        "sandbox_limits": tenant.limits,
    })
}

pub async fn get_settings(
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Result<Json<Value>, ApiError> {
    c.require("read:tenant_settings")?;
    Ok(Json(settings_json(&t.tenant)))
}

/// Replaces `sandbox_limits` (validated: unknown keys and wrong types are a
/// 400 naming them). The signing algorithm changes through key rotation, not here.
pub async fn patch_settings(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    c.require("update:tenant_settings")?;
    let Some(body) = body.as_object() else {
        return Err(ApiError::bad_request(
            "Payload validation error: expected an object",
        ));
    };
    if let Some(other) = body.keys().find(|k| k.as_str() != "sandbox_limits") {
        return Err(ApiError::bad_request(format!(
            "Payload validation error: '{other}' is not a setting rulebox supports"
        )));
    }
    let limits = body.get("sandbox_limits").cloned();
    if let Some(l) = &limits {
        serde_json::from_value::<TenantPolicy>(l.clone()).map_err(|e| {
            ApiError::bad_request(format!("Payload validation error: sandbox_limits: {e}"))
        })?;
    }
    let tenant = app
        .store
        .update_tenant_settings(t.id(), None, limits)
        .await
        .map_err(store_err)?;
    Ok(Json(settings_json(&tenant)))
}
