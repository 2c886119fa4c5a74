//! Loading tenant code into the sandbox. Every load goes through here; the
//! sandbox itself runs the work (milliseconds to seconds of compiling or
//! snapshotting) off the async workers.

use rulebox_runtime_api::{Code, JsKind, LoadError, Loaded, ModuleId, Sandbox};
use std::sync::Arc;

/// Loads `code` and says which triggers it answers.
pub async fn load(sandbox: &Arc<dyn Sandbox>, code: Code) -> Result<Loaded, LoadError> {
    sandbox.clone().load_code(code).await
}

/// Loads a JavaScript source of `kind`; its module id.
pub async fn load_js(
    sandbox: &Arc<dyn Sandbox>,
    kind: JsKind,
    source: String,
) -> Result<ModuleId, LoadError> {
    load(sandbox, Code::js(kind, source)).await.map(|l| l.id)
}

/// Loads a wasm module; its module id.
pub async fn load_module(
    sandbox: &Arc<dyn Sandbox>,
    bytes: Vec<u8>,
) -> Result<ModuleId, LoadError> {
    load(sandbox, Code::Wasm(bytes)).await.map(|l| l.id)
}
