//! JavaScript in the sandbox: the QuickJS engine guest, pre-initialised per
//! deployed source with wasmtime-wizer.
//!
//! A tenant's source is compiled once, inside the engine guest, and the
//! resulting heap is snapshotted into a new module. That module is cached
//! like any other (by its own hash, in memory and on disk), so a call only
//! instantiates the snapshot and runs the handler. The mapping from
//! (engine, kind, source) to snapshot id is cached too, so a restart does not
//! re-snapshot.

use crate::admission::CoreHold;
use crate::call::{INIT_EXPORT, armed_store, bind_memory, call_init, classify};
use crate::host::capability::CallContext;
use crate::host::{Clock, HostState};
use crate::registry::Registry;
use crate::validate::ValidationError;
use rulebox_runtime_api::{Limits, Modules};
use rulebox_runtime_api::{ModuleId, Trigger};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::{Engine, Instance, Module, Store, Val};
use wasmtime_wizer::{ModuleContext, SnapshotVal, ValType, Wizer};

/// The engine guest, built from `runtime/js-engine` by this crate's build script.
pub const ENGINE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js_engine.wasm"));

/// Auth0 allows 100 kB of code per Action.
pub const MAX_SOURCE_BYTES: usize = 100 * 1024;

pub use rulebox_runtime_api::JsKind;

#[derive(Serialize)]
struct InitInput<'a> {
    kind: &'static str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<&'a str>,
    /// The installed packages' files; absent without dependencies, so a script
    /// saved before dependencies existed keeps its snapshot key.
    #[serde(skip_serializing_if = "modules_empty")]
    modules: &'a std::collections::BTreeMap<String, String>,
}

fn modules_empty(m: &&std::collections::BTreeMap<String, String>) -> bool {
    m.is_empty()
}

/// The initialiser's input for `source` with no packages.
pub(crate) fn init_input(kind: &JsKind, source: &str) -> Vec<u8> {
    init_input_with(kind, source, &Modules::default())
}

/// The initialiser's input for `source` and the packages installed for it.
pub(crate) fn init_input_with(kind: &JsKind, source: &str, modules: &Modules) -> Vec<u8> {
    let (k, script) = match kind {
        JsKind::Action => ("action", None),
        JsKind::Rule => ("rule", None),
        JsKind::CustomDb { script } => ("custom-db", Some(script.as_str())),
        JsKind::Flow => ("flow", None),
    };
    serde_json::to_vec(&InitInput {
        kind: k,
        source,
        script,
        modules,
    })
    .unwrap_or_default()
}

/// What pre-initialisation may use: compiling a large source is real work,
/// but a top-level `while(true)` must still end.
fn deploy_limits() -> Limits {
    Limits {
        fuel: 2_000_000_000,
        timeout_ms: 10_000,
        memory_bytes: 64 << 20,
        max_output_bytes: 64 << 10,
        max_log_bytes: 16 << 10,
        ..Limits::default()
    }
}

/// The engine guest instrumented for snapshotting, compiled once per process.
struct Instrumented {
    cx: ModuleContext<'static>,
    module: Module,
}

pub(crate) struct JsLoader {
    engine_id: ModuleId,
    instrumented: OnceLock<Result<Arc<Instrumented>, String>>,
    snapshots: moka::sync::Cache<[u8; 32], Snapshot>,
    index_dir: Option<PathBuf>,
}

/// A source's snapshot and the handlers its script exports: the engine
/// guest exports every handler, so the snapshot's own manifest cannot say.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) id: ModuleId,
    pub(crate) handlers: Arc<[Trigger]>,
}

impl Snapshot {
    /// The index file's text: the id, then the trigger ids on one line.
    fn to_index(&self) -> String {
        let ids: Vec<&str> = self.handlers.iter().map(|t| t.id()).collect();
        format!("{}\n{}\n", self.id, ids.join(","))
    }

    fn from_index(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let id = lines.next()?.trim().parse().ok()?;
        let handlers = lines
            .next()?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(Trigger::from_id)
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            id,
            handlers: handlers.into(),
        })
    }
}

#[derive(Deserialize)]
struct InitReport {
    #[serde(default)]
    error: Option<ScriptError>,
    /// The handlers the script exports (trigger ids).
    #[serde(default)]
    triggers: Vec<String>,
}

#[derive(Deserialize)]
struct ScriptError {
    message: String,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    column: Option<u32>,
}

impl JsLoader {
    pub(crate) fn new(index_dir: Option<PathBuf>) -> Self {
        if let Some(d) = &index_dir {
            let _ = std::fs::create_dir_all(d);
        }
        Self {
            engine_id: ModuleId::of(ENGINE_WASM),
            instrumented: OnceLock::new(),
            snapshots: moka::sync::Cache::new(10_000),
            index_dir,
        }
    }

    fn key(&self, input: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        // v2: index entries also name the script's handlers.
        h.update(b"rulebox-js-snapshot-v2\0");
        h.update(self.engine_id.as_bytes());
        h.update(input);
        h.finalize().into()
    }

    fn index_path(&self, key: &[u8; 32]) -> Option<PathBuf> {
        self.index_dir.as_ref().map(|d| d.join(hex::encode(key)))
    }

    /// The snapshot module for `source`, creating it on first use.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        registry: &Registry,
        kind: &JsKind,
        source: &str,
        modules: &Modules,
    ) -> Result<Snapshot, ValidationError> {
        check_size(kind, source)?;
        let input = init_input_with(kind, source, modules);
        let key = self.key(&input);
        // Logins load their rules and scripts by source: a memory hit does no more.
        if let Some(snap) = self.snapshots.get(&key)
            && registry.get(&snap.id).is_some()
        {
            return Ok(snap);
        }
        if let Some(snap) = self.indexed(&key)
            && registry.get(&snap.id).is_some()
        {
            self.snapshots.insert(key, snap.clone());
            return Ok(snap);
        }
        let _span = tracing::info_span!("js_snapshot", bytes = source.len()).entered();
        let started = Instant::now();
        let (wasm, handlers) = self.snapshot(engine, registry, &input)?;
        let (id, _) = registry.load(&wasm)?;
        tracing::info!(%id, ms = started.elapsed().as_millis() as u64, "javascript snapshot ready");
        let snap = Snapshot {
            id,
            handlers: handlers.into(),
        };
        if let Some(path) = self.index_path(&key) {
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, snap.to_index())
                .and_then(|()| std::fs::rename(&tmp, &path))
                .is_err()
            {
                tracing::warn!(%id, "could not record the javascript snapshot index");
            }
        }
        self.snapshots.insert(key, snap.clone());
        Ok(snap)
    }

    fn indexed(&self, key: &[u8; 32]) -> Option<Snapshot> {
        Snapshot::from_index(&std::fs::read_to_string(self.index_path(key)?).ok()?)
    }

    fn instrumented(&self, engine: &Engine) -> Result<Arc<Instrumented>, ValidationError> {
        self.instrumented
            .get_or_init(|| {
                let (cx, wasm) = Wizer::new()
                    .instrument(ENGINE_WASM)
                    .map_err(|e| format!("{e:#}"))?;
                let module = Module::new(engine, &wasm).map_err(|e| format!("{e:#}"))?;
                Ok(Arc::new(Instrumented { cx, module }))
            })
            .clone()
            .map_err(|e| ValidationError::Malformed(format!("javascript engine: {e}")))
    }

    /// Runs the initialiser with `input` and snapshots the heap.
    fn snapshot(
        &self,
        engine: &Engine,
        registry: &Registry,
        input: &[u8],
    ) -> Result<(Vec<u8>, Vec<Trigger>), ValidationError> {
        let inst = self.instrumented(engine)?;
        let limits = deploy_limits();
        let started = Instant::now();
        let deadline = started + limits.timeout();
        let failed = |e: wasmtime::Error| {
            let (kind, msg) = classify(&e, false);
            ValidationError::Script {
                message: format!("the script's top-level code did not finish ({kind}): {msg}"),
                line: None,
                column: None,
            }
        };
        let call = CallContext {
            limits: &limits,
            input,
            clock: Clock::System,
            random_seed: Some(0),
            started,
            deadline,
            call_deadline: deadline,
        };
        let mut store = armed_store(engine, &call, CoreHold::none()).map_err(failed)?;
        let instance = registry
            .linker()
            .instantiate(&mut store, &inst.module)
            .map_err(failed)?;
        let memory = inst
            .module
            .get_export_index(rulebox_abi::exports::MEMORY)
            .ok_or(ValidationError::MissingExport(rulebox_abi::exports::MEMORY))?;
        bind_memory(&mut store, &instance, &memory).map_err(failed)?;
        call_init(&mut store, &instance, INIT_EXPORT).map_err(failed)?;

        let report = store
            .data()
            .io
            .output()
            .and_then(|o| serde_json::from_slice::<rulebox_abi::Output>(o).ok())
            .and_then(|o| o.result)
            .and_then(|r| serde_json::from_value::<InitReport>(r).ok());
        let handlers = match report {
            Some(InitReport { error: Some(e), .. }) => {
                return Err(ValidationError::Script {
                    message: e.message,
                    line: e.line,
                    column: e.column,
                });
            }
            Some(InitReport {
                error: None,
                triggers,
            }) => triggers
                .iter()
                .filter_map(|t| Trigger::from_id(t))
                .collect::<Vec<_>>(),
            None => {
                let detail = store
                    .data()
                    .logs
                    .last_error()
                    .unwrap_or("no report")
                    .to_owned();
                return Err(ValidationError::Script {
                    message: format!("the javascript engine could not load the script: {detail}"),
                    line: None,
                    column: None,
                });
            }
        };
        let mut state = SnapshotState {
            store: &mut store,
            instance,
        };
        let wasm = block_on(Wizer::new().snapshot(&inst.cx, &mut state))
            .map_err(|e| ValidationError::Malformed(format!("snapshot failed: {e:#}")))?;
        Ok((wasm, handlers))
    }

    /// The engine guest itself, for cold (un-snapshotted) benchmark runs.
    pub(crate) fn engine_module(&self, registry: &Registry) -> Result<ModuleId, ValidationError> {
        registry.load(ENGINE_WASM).map(|(id, _)| id)
    }
}

/// Each source is held to Auth0's size limit; a flow's to its Action count too.
fn check_size(kind: &JsKind, source: &str) -> Result<(), ValidationError> {
    let too_large = |size: usize| {
        (size > MAX_SOURCE_BYTES).then_some(ValidationError::TooLarge {
            size,
            max: MAX_SOURCE_BYTES,
        })
    };
    if *kind != JsKind::Flow {
        return too_large(source.len()).map_or(Ok(()), Err);
    }
    let sources: Vec<String> = serde_json::from_str(source).map_err(|e| {
        ValidationError::Malformed(format!("a flow is a JSON array of sources: {e}"))
    })?;
    if sources.is_empty() || sources.len() > rulebox_runtime_api::MAX_FLOW_ACTIONS {
        return Err(ValidationError::Malformed(format!(
            "a flow holds 1 to {} Actions, not {}",
            rulebox_runtime_api::MAX_FLOW_ACTIONS,
            sources.len()
        )));
    }
    sources
        .iter()
        .find_map(|s| too_large(s.len()))
        .map_or(Ok(()), Err)
}

struct SnapshotState<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
}

impl wasmtime_wizer::InstanceState for SnapshotState<'_> {
    fn global_get(
        &mut self,
        name: &str,
        _hint: ValType,
    ) -> impl Future<Output = SnapshotVal> + Send {
        let v = self
            .instance
            .get_global(&mut *self.store, name)
            .map(|g| g.get(&mut *self.store));
        async move {
            match v {
                Some(Val::I32(x)) => SnapshotVal::I32(x),
                Some(Val::I64(x)) => SnapshotVal::I64(x),
                Some(Val::F32(x)) => SnapshotVal::F32(x),
                Some(Val::F64(x)) => SnapshotVal::F64(x),
                Some(Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
                // The engine guest has only numeric globals; wizer exported them.
                _ => SnapshotVal::I32(0),
            }
        }
    }

    fn memory_contents(
        &mut self,
        name: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) -> impl Future<Output = ()> + Send {
        if let Some(m) = self.instance.get_memory(&mut *self.store, name) {
            contents(m.data(&*self.store));
        } else {
            contents(&[]);
        }
        async {}
    }
}

/// Drives a future whose every await point is already ready (wizer's
/// snapshot over in-memory state); no executor needed.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::sleep(Duration::from_micros(10));
    }
}

/// Auth0's custom-database script names.
pub const CUSTOM_DB_SCRIPTS: [&str; 7] = [
    "login",
    "getUser",
    "create",
    "verify",
    "changePassword",
    "delete",
    "changeEmail",
];

/// Tells the three source shapes apart, for callers that were not told:
/// a lone `function (user, context, callback)` is a legacy Rule, a lone
/// function named like a custom-database script is that script, anything
/// else is an Action module. Loading still validates the guess.
pub fn detect_kind(source: &str) -> JsKind {
    let code = strip_leading_comments(source);
    let Some(rest) = code.strip_prefix("function") else {
        return JsKind::Action;
    };
    let (name, rest) = rest.split_once('(').unwrap_or(("", rest));
    let name = name.trim();
    let params: Vec<&str> = rest
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    if let Some(script) = CUSTOM_DB_SCRIPTS.iter().find(|s| **s == name) {
        return JsKind::CustomDb {
            script: (*script).to_owned(),
        };
    }
    // Auth0 names the delete script's function `remove` in its templates.
    if name == "remove" {
        return JsKind::CustomDb {
            script: "delete".into(),
        };
    }
    if params.len() == 3 || params.contains(&"context") {
        return JsKind::Rule;
    }
    JsKind::Action
}

fn strip_leading_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("//") {
            s = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_shapes() {
        assert_eq!(
            detect_kind("exports.onExecutePostLogin = async () => {};"),
            JsKind::Action
        );
        assert_eq!(
            detect_kind(
                "// a rule\nfunction (user, context, callback) { callback(null, user, context); }"
            ),
            JsKind::Rule
        );
        assert_eq!(
            detect_kind("/* x */ function myRule(u, c, cb) {}"),
            JsKind::Rule
        );
        assert_eq!(
            detect_kind("function login(email, password, callback) {}"),
            JsKind::CustomDb {
                script: "login".into()
            }
        );
        assert_eq!(
            detect_kind("function remove(id, callback) {}"),
            JsKind::CustomDb {
                script: "delete".into()
            }
        );
    }
}
