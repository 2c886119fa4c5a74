//! What callers of the sandbox see: module ids, limits, outcomes, and the
//! [`Sandbox`] trait.
//!
//! This crate has no wasmtime in it on purpose: auth-core depends on it and
//! nothing else of the runtime, so the login service cannot reach past the
//! proxy into the engine (data flows auth-core → proxy → runtime).

mod limits;
mod module_id;
mod outcome;
mod sandbox;

pub use limits::{Limits, Outbound, Quota, TenantPolicy};
pub use module_id::{ModuleId, ParseModuleIdError};
pub use outcome::{LogLine, Outcome, OutcomeKind};
pub use rulebox_abi::{Command, LogLevel, Output, Trigger};
pub use sandbox::{
    Call, Code, JsKind, LoadError, Loaded, MAX_FLOW_ACTIONS, Modules, Pending, Sandbox,
};

/// Renders the process's metrics in the Prometheus text format; services
/// mount it at `GET /metrics`. (The recorder is installed once per process by
/// the binary; libraries only emit through the `metrics` facade.)
pub type MetricsRender = std::sync::Arc<dyn Fn() -> String + Send + Sync>;
