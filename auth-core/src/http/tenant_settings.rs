//! `GET/PATCH /api/v2/tenants/settings`: the tenant's settings as the
//! Management API shows them, plus `sandbox_limits` — what the platform
//! lets this tenant's code use (fuel, timeout, memory, concurrency, rate,
//! outbound allow-list), applied to its next call without a restart.
//!
//! A tenant may change only its outbound settings here, and only by host
//! name: the fencing (fuel, memory, time, concurrency, rate) and any
//! IP-literal allow-list entry (the one way to reach an internal address)
//! belong to the platform operator (`rulebox tenants limits set`), or a
//! tenant could lift its own fence.

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

/// Tenant-settable keys of `sandbox_limits`.
const TENANT_KEYS: [&str; 4] = [
    "allow_hosts",
    "max_outbound_requests",
    "outbound_timeout_ms",
    "max_response_bytes",
];

fn is_ip_literal(entry: &str) -> bool {
    let e = entry.trim();
    let host = match e.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')) => h,
        _ => e,
    };
    host.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok()
}

/// Merges the tenant-settable keys of `sandbox_limits` into the stored limits
/// (validated: unknown keys, operator-only keys, IP literals and wrong types
/// are a 400 naming them).
pub async fn patch_settings(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    c.require("update:tenant_settings")?;
    let invalid = |m: String| ApiError::bad_request(format!("Payload validation error: {m}"));
    let Some(body) = body.as_object() else {
        return Err(invalid("expected an object".into()));
    };
    if let Some(other) = body.keys().find(|k| k.as_str() != "sandbox_limits") {
        return Err(invalid(format!(
            "'{other}' is not a setting rulebox supports"
        )));
    }
    let Some(changes) = body.get("sandbox_limits").and_then(Value::as_object) else {
        return Err(invalid("sandbox_limits must be an object".into()));
    };
    if let Some(k) = changes.keys().find(|k| !TENANT_KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "sandbox_limits.{k} is set by the platform operator (rulebox tenants limits set)"
        )));
    }
    if let Some(hosts) = changes.get("allow_hosts").and_then(Value::as_array)
        && let Some(ip) = hosts
            .iter()
            .filter_map(Value::as_str)
            .find(|h| is_ip_literal(h))
    {
        return Err(invalid(format!(
            "allow_hosts entry {ip:?} is an IP address; addresses are allow-listed by the platform operator"
        )));
    }
    let mut limits = t.tenant.limits.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        limits.insert(k.clone(), v.clone());
    }
    let limits = Value::Object(limits);
    serde_json::from_value::<TenantPolicy>(limits.clone())
        .map_err(|e| invalid(format!("sandbox_limits: {e}")))?;
    let tenant = app
        .store
        .update_tenant_settings(t.id(), None, Some(limits))
        .await
        .map_err(store_err)?;
    Ok(Json(settings_json(&tenant)))
}

#[cfg(test)]
mod tests {
    use super::is_ip_literal;

    #[test]
    fn ip_literals_are_recognised_in_every_form() {
        for e in [
            "127.0.0.1",
            "10.0.0.5:8080",
            "::1",
            "[::1]:443",
            "169.254.169.254",
        ] {
            assert!(is_ip_literal(e), "{e}");
        }
        for e in ["api.example.com", "*.example.com", "api.example.com:8443"] {
            assert!(!is_ip_literal(e), "{e}");
        }
    }
}
