//! Loading tenant code into the sandbox, off the async workers: compiling a
//! module or snapshotting a script takes milliseconds to seconds of CPU, and
//! the `Sandbox` trait's loads are synchronous. Every load goes through here.

use crate::error::ApiError;
use rulebox_runtime_api::{Code, JsKind, LoadError, Loaded, ModuleId, Sandbox};
use std::sync::Arc;

/// Code to load, owned so the load can move to a blocking thread.
#[derive(Debug, Clone)]
pub enum OwnedCode {
    Wasm(Vec<u8>),
    Js(JsKind, String),
}

/// Loads `code` and says which triggers it answers. The outer error is the
/// server's (the blocking task died); the inner one is the code's.
pub async fn load(
    sandbox: &Arc<dyn Sandbox>,
    code: OwnedCode,
) -> Result<Result<Loaded, LoadError>, ApiError> {
    let sandbox = sandbox.clone();
    Ok(tokio::task::spawn_blocking(move || match &code {
        OwnedCode::Wasm(bytes) => sandbox.load_code(Code::Wasm(bytes)),
        OwnedCode::Js(kind, source) => sandbox.load_code(Code::Js(kind, source)),
    })
    .await?)
}

/// Loads a JavaScript source of `kind`; its module id.
pub async fn load_js(
    sandbox: &Arc<dyn Sandbox>,
    kind: JsKind,
    source: String,
) -> Result<Result<ModuleId, LoadError>, ApiError> {
    let sandbox = sandbox.clone();
    Ok(tokio::task::spawn_blocking(move || sandbox.load_js(&kind, &source)).await?)
}

/// Loads a wasm module; its module id.
pub async fn load_module(
    sandbox: &Arc<dyn Sandbox>,
    bytes: Vec<u8>,
) -> Result<Result<ModuleId, LoadError>, ApiError> {
    let sandbox = sandbox.clone();
    Ok(tokio::task::spawn_blocking(move || sandbox.load_module(&bytes)).await?)
}
