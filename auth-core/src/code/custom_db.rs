//! Custom-database scripts run in the sandbox (the opt-in cache of `getUser`
//! answers they fill is `caches::get_user`).
//!
//! `getUser` asks a tenant's legacy store whether a user exists (Auth0 calls it before a
//! signup or a password change). Every call is a round trip to that store through the
//! tenant's code, so a connection may set `options.get_user_cache_ttl` (seconds, at most an
//! hour) to have this node remember answers — "not found" included — for that long. Without
//! it nothing is cached: the legacy store may be changing under us, and only its owner knows
//! how stale an answer may be.

use crate::app::AppState;
use crate::caches::get_user::MAX_GET_USER_TTL;
use crate::code::pipeline::{Scope, Subject, call_sandbox, record_load_failure, record_outcome};
use crate::error::ApiError;
use crate::store::Connection;
use crate::tenant::TenantCtx;
use rulebox_runtime_api::{JsKind, Trigger};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// `options.customScripts.<name>` when the connection uses a custom database.
pub fn script<'a>(conn: &'a Connection, name: &str) -> Option<&'a str> {
    let enabled = conn
        .options
        .get("enabledDatabaseCustomization")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !enabled {
        return None;
    }
    conn.options
        .get("customScripts")
        .and_then(|s| s.get(name))
        .and_then(Value::as_str)
}

/// How long this connection's `getUser` answers may be reused; zero when it did not opt in.
pub fn get_user_ttl(conn: &Connection) -> Duration {
    conn.options
        .get("get_user_cache_ttl")
        .and_then(Value::as_u64)
        .map_or(Duration::ZERO, |s| {
            Duration::from_secs(s).min(MAX_GET_USER_TTL)
        })
}

/// What a custom-database script answered: `callback(error)` or
/// `callback(null, profile)`, read once here for every script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptAnswer {
    pub error: Option<ScriptError>,
    /// The profile, when the script gave an object.
    pub profile: Option<Value>,
}

/// The error a script called back with (`new WrongUsernameOrPasswordError(...)`,
/// `new ValidationError('user_exists', ...)`, or any `Error`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptError {
    /// Its `type` (`WrongUsernameOrPasswordError`, ...).
    pub kind: Option<String>,
    /// Its `code` (`user_exists`, ...).
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ScriptAnswer {
    pub fn parse(result: &Value) -> Self {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            error: result
                .get("error")
                .filter(|e| !e.is_null())
                .map(|e| ScriptError {
                    kind: text(e, "type"),
                    code: text(e, "code"),
                    message: text(e, "message"),
                }),
            profile: result.get("profile").filter(|p| p.is_object()).cloned(),
        }
    }
}

/// Runs the connection's script `name` (`login`, `get_user`, ...) with `args` and the
/// connection's `configuration`; the script's answer. A sandbox failure is the login's
/// error, with the configuration's secret values redacted.
pub async fn run_script(
    app: &Arc<AppState>,
    t: &TenantCtx,
    conn: &Connection,
    name: &str,
    source: &str,
    args: Value,
) -> Result<ScriptAnswer, ApiError> {
    let kind = JsKind::CustomDb {
        script: if name == "get_user" {
            "getUser".into()
        } else {
            name.to_owned()
        },
    };
    let configuration = conn
        .options
        .get("configuration")
        .cloned()
        .unwrap_or(json!({}));
    // The connection's configuration holds its secrets: never echoed in logs or errors.
    let empty = serde_json::Map::new();
    let scope = Scope::new(app, t, None, None);
    let who = Subject {
        kind: "custom_db",
        id: &conn.id,
        name,
        secrets: configuration.as_object().unwrap_or(&empty),
    };
    let loaded = crate::code::loader::load_js(&app.sandbox, kind, source.to_owned()).await;
    let module = match loaded {
        Ok(module) => module,
        Err(e) => {
            // Logged for the tenant; to the login a server fault, not a refusal of
            // its credentials (brute-force protection must not count it).
            let error = format!("is invalid: {e}");
            let _ = record_load_failure(&scope, error, Trigger::CustomDb, who).await;
            return Err(ApiError::server_error(format!(
                "the connection's {name} script could not be loaded"
            )));
        }
    };
    let input = serde_json::to_vec(&json!({"args": args, "configuration": configuration}))?;
    // Each script gets the tenant's whole budget, whatever the login around it used.
    let limits = scope.limits.clone();
    let outcome = call_sandbox(&scope, module, Trigger::CustomDb, input, limits).await;
    let outcome = record_outcome(&scope, outcome, Trigger::CustomDb, who).await?;
    let result = outcome.output.and_then(|o| o.result).unwrap_or(Value::Null);
    Ok(ScriptAnswer::parse(&result))
}

/// The legacy store's profile of `email`, `None` if it has no such user (or the connection
/// has no `getUser` script). Cached per node when the connection opted in.
pub async fn get_user(
    app: &Arc<AppState>,
    t: &TenantCtx,
    conn: &Connection,
    email: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(source) = script(conn, "get_user") else {
        return Ok(None);
    };
    let ttl = get_user_ttl(conn);
    let key = (
        t.id().to_owned(),
        conn.name.clone(),
        email.to_ascii_lowercase(),
    );
    if !ttl.is_zero()
        && let Some(answer) = app.get_user_cache.lookup(&key)
    {
        metrics::counter!("rulebox_get_user_cache_total", "result" => "hit").increment(1);
        return Ok(answer);
    }
    let result = run_script(app, t, conn, "get_user", source, json!([email])).await?;
    if let Some(err) = result.error {
        let message = err
            .message
            .as_deref()
            .unwrap_or("the getUser script failed");
        return Err(ApiError::access_denied(message));
    }
    let answer = result.profile;
    if !ttl.is_zero() {
        metrics::counter!("rulebox_get_user_cache_total", "result" => "miss").increment(1);
        app.get_user_cache.remember(key, ttl, answer.clone());
    }
    Ok(answer)
}

/// Drops what this node remembers of a connection's users (its scripts or options changed).
pub fn forget_connection(app: &AppState, tenant: &str, connection: &str) {
    app.get_user_cache.forget_connection(tenant, connection);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(options: Value) -> Connection {
        serde_json::from_value(json!({
            "id": "con_1", "name": "legacy", "strategy": "auth0", "options": options,
            "enabled_clients": [], "realms": ["legacy"]
        }))
        .expect("connection")
    }

    #[test]
    fn the_cache_is_opt_in_and_bounded() {
        assert_eq!(get_user_ttl(&conn(json!({}))), Duration::ZERO);
        assert_eq!(
            get_user_ttl(&conn(json!({"get_user_cache_ttl": 30}))),
            Duration::from_secs(30)
        );
        assert_eq!(
            get_user_ttl(&conn(json!({"get_user_cache_ttl": 999_999}))),
            MAX_GET_USER_TTL
        );
    }

    #[test]
    fn scripts_count_only_with_database_customization_enabled() {
        let scripts =
            json!({"customScripts": {"get_user": "function getUser(e, cb) { cb(null); }"}});
        assert_eq!(script(&conn(scripts.clone()), "get_user"), None);
        let mut on = scripts;
        on["enabledDatabaseCustomization"] = json!(true);
        assert!(script(&conn(on), "get_user").is_some());
    }
}
