//! The one interface tenant code is reached through.

use crate::{Limits, ModuleId, Outcome, OutcomeKind, Quota, Trigger};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// The shape of a JavaScript source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JsKind {
    /// `exports.onExecutePostLogin = async (event, api) => {...}` and friends.
    Action,
    /// Legacy rule: `function (user, context, callback) {...}`.
    Rule,
    /// One custom-database script, e.g. `function login(email, password, callback) {...}`.
    CustomDb { script: String },
    /// The Actions bound to one trigger, compiled into one snapshot so a login
    /// runs them all in one instance: the source is the JSON array of their
    /// sources in binding order. Its handler takes `{"event", "steps":
    /// [{"index", "entry", "secrets"}]}` and ends each step with `step_end`,
    /// so the outcome carries one result per Action (`Outcome::steps`).
    Flow,
}

/// Code to load: a module's bytes, or a JavaScript source of some kind.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Wasm(&'a [u8]),
    Js(&'a JsKind, &'a str),
}

/// What loading code answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub id: ModuleId,
    /// The triggers the code answers: a module's handler exports, or the
    /// handlers a JavaScript source exports (the engine guest itself exports
    /// every one). `None`: the sandbox cannot tell (an older runtime node).
    pub handlers: Option<Vec<Trigger>>,
}

/// Most Actions one flow snapshot holds.
pub const MAX_FLOW_ACTIONS: usize = 32;

/// Why code was refused before it could run (upload-time validation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    /// The outcome a call of this code would report (`invalid_module`,
    /// `abi_violation`, `capability_denied`, `memory_limit`).
    pub kind: OutcomeKind,
    pub message: String,
    /// Where a JavaScript syntax error is, 1-based.
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// One call.
#[derive(Debug, Clone)]
pub struct InvokeRequest<'a> {
    /// Whose code this is: the proxy routes by it (a tenant's modules stay
    /// warm on few nodes) and counts it against the tenant's quota.
    pub tenant: &'a str,
    pub quota: Quota,
    pub module: &'a ModuleId,
    pub trigger: Trigger,
    /// The event JSON.
    pub input: &'a [u8],
    pub limits: &'a Limits,
    /// Fixes the guest's clock (replays, tests); `None` is the real clock.
    pub now: Option<SystemTime>,
    /// For a call of several steps (a [`JsKind::Flow`]): the wall-clock budget
    /// of the whole call, while `limits` (fuel, `timeout_ms`, output and log
    /// budgets) apply to each step. `None`: the call's budget is
    /// `limits.timeout_ms`.
    pub flow_timeout_ms: Option<u64>,
}

/// Validates, compiles and runs tenant code. Implemented by the runtime
/// in-process and by the proxy in front of a pool of runtimes.
///
/// Calls are synchronous and CPU-bound; async callers run them on a
/// blocking thread.
pub trait Sandbox: Send + Sync + 'static {
    /// Validates and compiles a WebAssembly module; its id is the SHA-256 of `bytes`.
    fn load_module(&self, bytes: &[u8]) -> Result<ModuleId, LoadError>;
    /// Validates a JavaScript source and pre-initialises the engine with it.
    fn load_js(&self, kind: &JsKind, source: &str) -> Result<ModuleId, LoadError>;
    /// Whether `module` can be invoked without loading it again.
    fn is_loaded(&self, module: &ModuleId) -> bool;
    /// Loads code as [`Sandbox::load_module`] and [`Sandbox::load_js`] do,
    /// and says which triggers it answers; uploads compare them with the
    /// triggers the code says it supports. This default cannot tell.
    fn load_code(&self, code: Code<'_>) -> Result<Loaded, LoadError> {
        let id = match code {
            Code::Wasm(bytes) => self.load_module(bytes)?,
            Code::Js(kind, source) => self.load_js(kind, source)?,
        };
        Ok(Loaded { id, handlers: None })
    }
    /// Runs one handler; every way it can end is an [`Outcome`].
    fn invoke(&self, request: InvokeRequest<'_>) -> Outcome;
    /// Runs the call on the caller's thread right away if the implementation
    /// can tell it is short (in-process, a module known to be light, no
    /// network capability, a core free); `None` means nothing ran. Async
    /// callers try this before handing the call to a blocking thread.
    fn invoke_now(&self, _request: InvokeRequest<'_>) -> Option<Outcome> {
        None
    }
    /// The same call for async callers, when the implementation waits on the
    /// network rather than a CPU (the proxy): it saves a blocking-thread hop.
    /// `None` means "call [`Sandbox::invoke`] on a blocking thread".
    fn invoke_async<'a>(
        &'a self,
        _request: InvokeRequest<'a>,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>>> {
        None
    }
}
