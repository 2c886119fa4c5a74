//! The one interface tenant code is reached through.

use crate::{Limits, ModuleId, Outcome, OutcomeKind, Quota, Trigger};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

/// The files of the npm packages installed for a script, by path from the
/// script's root (`node_modules/lodash/lodash.js`): what its `require`
/// resolves over. Shared, because a tree can be megabytes.
pub type Modules = Arc<std::collections::BTreeMap<String, String>>;

/// Code to load: a module's bytes, or a JavaScript source of some kind with
/// the packages installed for it. Owned, so the sandbox can move it to
/// whichever thread it loads on.
#[derive(Debug, Clone)]
pub enum Code {
    Wasm(Vec<u8>),
    Js {
        kind: JsKind,
        source: String,
        /// Empty for code without dependencies.
        modules: Modules,
    },
}

impl Code {
    /// A JavaScript source without dependencies.
    pub fn js(kind: JsKind, source: String) -> Self {
        Code::Js {
            kind,
            source,
            modules: Modules::default(),
        }
    }
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

/// One call, owned: the sandbox moves it to whichever thread runs it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Whose code this is: the proxy routes by it (a tenant's modules stay
    /// warm on few nodes) and counts it against the tenant's quota.
    pub tenant: String,
    pub quota: Quota,
    pub module: ModuleId,
    pub trigger: Trigger,
    /// The event JSON.
    pub input: Vec<u8>,
    pub limits: Limits,
    /// Fixes the guest's clock (replays, tests); `None` is the real clock.
    pub now: Option<SystemTime>,
    /// For a call of several steps (a [`JsKind::Flow`]): the wall-clock budget
    /// of the whole call, while `limits` (fuel, `timeout_ms`, output and log
    /// budgets) apply to each step. `None`: the call's budget is
    /// `limits.timeout_ms`.
    pub flow_timeout_ms: Option<u64>,
}

/// What a sandbox answers later: a load or a call under way.
pub type Pending<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Validates, compiles and runs tenant code. Implemented by the runtime
/// in-process, by the proxy in front of a pool of runtimes, and by a client
/// of a remote proxy or node.
///
/// Both operations are async and each implementation picks where the work
/// runs: the runtime runs a call it knows to be short on the caller's thread
/// and anything else (every load: compiling a module or snapshotting a script
/// takes milliseconds to seconds) on a blocking thread; the proxy and the
/// remote client wait on the network on the caller's task. Callers just
/// `.await`; they never choose a thread, so no caller can block an async
/// worker with a long call or pay a thread hop for a short one.
pub trait Sandbox: Send + Sync + 'static {
    /// Validates and compiles code, and says which triggers it answers
    /// (uploads compare them with the triggers the code says it supports).
    /// A module's id is the SHA-256 of its bytes.
    fn load_code(self: Arc<Self>, code: Code) -> Pending<Result<Loaded, LoadError>>;
    /// Whether `module` can be invoked without loading it again.
    fn is_loaded(&self, module: &ModuleId) -> bool;
    /// Runs one handler; every way it can end is an [`Outcome`].
    fn call(self: Arc<Self>, call: Call) -> Pending<Outcome>;
}
