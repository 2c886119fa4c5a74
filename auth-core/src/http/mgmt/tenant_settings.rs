//! `GET/PATCH /api/v2/tenants/settings`: the tenant's settings as the
//! Management API shows them (`signing_alg`, the default algorithm of its
//! tokens, may be changed here), plus `sandbox_limits` — what the platform
//! lets this tenant's code use (fuel, timeout, memory, concurrency, rate,
//! outbound allow-list), applied to its next call without a restart.
//!
//! A tenant may change only its outbound settings here, and only by host
//! name: the fencing (fuel, memory, time, concurrency, rate) and any
//! IP-literal allow-list entry (the one way to reach an internal address)
//! belong to the platform operator (`rulebox tenants limits set`), or a
//! tenant could lift its own fence.

use super::caller::Caller;
use crate::app::AppState;
use crate::crypto::keys::Alg;
use crate::error::ApiError;
use crate::http::errors::MgmtError;
use crate::tenant::TenantCtx;
use axum::routing::get;
use axum::{Extension, Json, Router};
use rulebox_runtime_api::TenantPolicy;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new().route(
        "/api/v2/tenants/settings",
        get(get_settings).patch(patch_settings),
    )
}

fn settings_json(tenant: &crate::store::Tenant) -> Value {
    json!({
        "friendly_name": tenant.friendly_name,
        "signing_alg": tenant.signing_alg,
        "sandbox_limits": tenant.limits,
    })
}

async fn get_settings(
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Result<Json<Value>, MgmtError> {
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

/// Changes the tenant's default signing algorithm (`signing_alg`, RS256 or
/// ES256) and/or merges the tenant-settable keys of `sandbox_limits` into the
/// stored limits (validated: unknown keys, operator-only keys, IP literals and
/// wrong types are a 400 naming them).
async fn patch_settings(
    c: Caller,
    Json(body): Json<Value>,
) -> Result<Json<Value>, MgmtError> {
    let (app, t) = c.require("update:tenant_settings")?;
    let invalid = |m: String| {
        MgmtError::from(ApiError::bad_request(format!(
            "Payload validation error: {m}"
        )))
    };
    let Some(body) = body.as_object() else {
        return Err(invalid("expected an object".into()));
    };
    if let Some(other) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "sandbox_limits" | "signing_alg"))
    {
        return Err(invalid(format!(
            "'{other}' is not a setting rulebox supports"
        )));
    }
    let alg = match body.get("signing_alg") {
        None => None,
        Some(v) => {
            let text = v
                .as_str()
                .ok_or_else(|| invalid("signing_alg must be a string".into()))?;
            let alg: Alg = text
                .parse()
                .map_err(|_| invalid(format!("signing_alg must be RS256 or ES256 (got {text})")))?;
            Some(alg)
        }
    };
    let limits = match body.get("sandbox_limits") {
        None => None,
        Some(changes) => Some(merged_limits(t, changes).map_err(invalid)?),
    };
    if let Some(alg) = alg {
        // The new default key is in the JWKS before the first token it signs;
        // the old one stays there, so tokens already issued still verify.
        app.keys_with(&t.tenant, alg).await?;
    }
    let tenant = app
        .store
        .update_tenant_settings(t.id(), alg.map(|a| a.as_str()), limits)
        .await?;
    Ok(Json(settings_json(&tenant)))
}

/// The stored limits with the tenant's `changes` applied; what is wrong, if anything.
fn merged_limits(t: &TenantCtx, changes: &Value) -> Result<Value, String> {
    let Some(changes) = changes.as_object() else {
        return Err("sandbox_limits must be an object".into());
    };
    if let Some(k) = changes.keys().find(|k| !TENANT_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "sandbox_limits.{k} is set by the platform operator (rulebox tenants limits set)"
        ));
    }
    if let Some(hosts) = changes.get("allow_hosts").and_then(Value::as_array)
        && let Some(ip) = hosts
            .iter()
            .filter_map(Value::as_str)
            .find(|h| is_ip_literal(h))
    {
        return Err(format!(
            "allow_hosts entry {ip:?} is an IP address; addresses are allow-listed by the platform operator"
        ));
    }
    let mut limits = t.tenant.limits.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        limits.insert(k.clone(), v.clone());
    }
    let limits = Value::Object(limits);
    serde_json::from_value::<TenantPolicy>(limits.clone())
        .map_err(|e| format!("sandbox_limits: {e}"))?;
    Ok(limits)
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
