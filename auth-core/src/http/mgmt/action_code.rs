//! Upload-time checks of an Action's code: it compiles in the sandbox, and
//! it has a handler for every trigger it says it supports. What is refused
//! here answers 400 and never reaches a login.

use crate::app::AppState;
use crate::error::ApiError;

use crate::code::loader;
use crate::store::{Action, TriggerRef};
use base64::Engine;
use rulebox_runtime_api::{Code, JsKind, LoadError, Loaded, ModuleId, OutcomeKind, Trigger};
use serde_json::Value;
use std::sync::Arc;

type Res<T> = Result<T, ApiError>;

/// A load error as one line, with the place of a syntax error.
pub(crate) fn describe(e: &LoadError) -> String {
    match (e.line, e.column) {
        (Some(l), Some(c)) if !e.message.contains("(line ") => {
            format!("{} (line {l}, column {c})", e.message)
        }
        _ => e.message.clone(),
    }
}

/// The `module` field of a body: a wasm Action's bytes, base64.
pub(crate) fn decode_module(v: &Value) -> Res<Option<Vec<u8>>> {
    match v.get("module").and_then(Value::as_str) {
        None => Ok(None),
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("`module` is not base64: {e}"))),
    }
}

/// The `supported_triggers` of a body, if it has them.
pub(crate) fn body_triggers(v: &Value) -> Res<Option<Vec<TriggerRef>>> {
    v.get("supported_triggers")
        .filter(|t| !t.is_null())
        .map(|t| {
            serde_json::from_value(t.clone()).map_err(|_| {
                ApiError::bad_request(
                    "Payload validation error: 'supported_triggers' must be a list of {\"id\", \"version\"} objects",
                )
            })
        })
        .transpose()
}

/// Compiles an Action's code (JS) or module (wasm) in the sandbox and checks
/// it against `triggers`; answers the compiled code's id.
pub(crate) async fn validate(
    app: &Arc<AppState>,
    runtime: &str,
    code: &str,
    module: Option<&[u8]>,
    triggers: &[TriggerRef],
) -> Res<ModuleId> {
    let wanted = runnable(triggers)?;
    let wasm = crate::store::is_wasm(runtime);
    let owned = if wasm {
        Code::Wasm(
            module
                .ok_or_else(|| ApiError::bad_request("a wasm Action needs a base64 `module`"))?
                .to_vec(),
        )
    } else {
        Code::js(JsKind::Action, code.to_owned())
    };
    let loaded = loader::load(&app.sandbox, owned).await;
    let Loaded { id, handlers } = loaded.map_err(|e| {
        // No runtime node to ask is not the code's fault: a retry may pass.
        if e.kind == OutcomeKind::Unavailable {
            ApiError::unavailable(format!("The code could not be checked now: {}", e.message))
        } else {
            ApiError::bad_request(format!("Action code is invalid: {}", describe(&e)))
        }
    })?;
    // A sandbox that cannot tell (an older runtime node) leaves the check to
    // the login, which fails closed.
    let Some(handlers) = handlers else {
        tracing::warn!(module = %id, "the sandbox did not say what the code handles; its triggers were not checked");
        return Ok(id);
    };
    if let Some(missing) = wanted.iter().find(|t| !handlers.contains(t)) {
        return Err(ApiError::bad_request(format!(
            "Action code is invalid: the Action supports the `{}` trigger but {}",
            missing.id(),
            if wasm {
                format!("the module has no `{}` export", missing.export_name())
            } else {
                format!(
                    "its code does not export `{}`",
                    missing.js_export_name().unwrap_or_default()
                )
            }
        )));
    }
    Ok(id)
}

/// The Action's draft, its module (a wasm draft's) and the id of its code
/// once checked: what a deploy versions and a test runs.
pub(crate) async fn checked_draft(
    app: &Arc<AppState>,
    tenant: &str,
    id: &str,
) -> Res<(Action, Option<Vec<u8>>, ModuleId)> {
    let action = app.store.get_action(tenant, id).await?;
    let module = app.store.action_module(tenant, id).await?;
    let checked = validate(
        app,
        &action.runtime,
        &action.code,
        module.as_deref(),
        &action.supported_triggers,
    )
    .await?;
    Ok((action, module, checked))
}

/// The triggers `refs` name, refusing ones this server never runs (an
/// Action bound to such a trigger would be accepted and silently never run):
/// an Action may list exactly the declaration's bindable triggers, which
/// `GET /actions/triggers` lists too.
fn runnable(refs: &[TriggerRef]) -> Res<Vec<Trigger>> {
    refs.iter()
        .map(|r| {
            Trigger::from_id(&r.id)
                .filter(|t| t.info().bindable)
                .ok_or_else(|| {
                    let known: Vec<&str> = Trigger::bindable().map(Trigger::id).collect();
                    ApiError::bad_request(format!(
                        "Payload validation error: trigger `{}` is not one this server runs ({})",
                        r.id,
                        known.join(", ")
                    ))
                })
        })
        .collect()
}
