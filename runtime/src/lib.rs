//! The rulebox sandbox.
//!
//! One [`Runtime`] per process owns one wasmtime [`wasmtime::Engine`] (pooling
//! allocator, fuel, epoch deadlines), the compiled-module registry and its
//! on-disk artifact cache. Every [`Runtime::invoke`] gets a fresh store, runs one
//! handler under the caller's [`Limits`], and always returns an [`Outcome`]:
//! hostile guests are outcomes, never host errors.
//!
//! The runtime knows guest modules, bytes and limits; it does not know what a
//! login, a tenant or OAuth is. Callers (auth-core via the proxy, or the CLI)
//! translate their world into an event JSON and back.

// Layers, top to bottom (each imports only from below; see docs/architecture.md):
// runtime → js → call → registry → host → outcome, admission.
// engine, config, artifacts and validate are leaves the layers share.
mod admission;
mod artifacts;
#[doc(hidden)]
pub mod baseline;
mod call;
mod config;
mod engine;
mod host;
mod js;
mod outcome;
mod registry;
mod runtime;
mod sandbox;
mod validate;

pub use call::Invocation;
pub use config::RuntimeConfig;
pub use engine::AllocatorKind;
pub use host::Clock as WallClock;
pub use js::{
    CUSTOM_DB_SCRIPTS, ENGINE_WASM as JS_ENGINE_WASM, JsKind,
    MAX_SOURCE_BYTES as MAX_JS_SOURCE_BYTES, detect_kind,
};
pub use rulebox_abi::{Command, LogLevel, Output, Trigger};
pub use rulebox_runtime_api::{
    Call, Code, Limits, LoadError, LogLine, ModuleId, Outcome, OutcomeKind, ParseModuleIdError,
    Sandbox, TenantPolicy,
};
pub use runtime::{Runtime, RuntimeError};
pub use validate::{Manifest, ValidationError};
