//! The public face of the sandbox, and the top of the runtime's layers:
//! it loads modules (plain or JavaScript), admits each call (limits clamped,
//! input size, a sandbox slot) and hands it to `call`.

use crate::admission::{CpuScheduler, Gate};
use crate::artifacts::ArtifactCache;
use crate::call::{self, Invocation};
use crate::config::RuntimeConfig;
use crate::engine::{self, AllocatorKind, EpochTicker};
use crate::host::{self, Clock};
use crate::js::{JsKind, JsLoader};
use crate::outcome::micros;
use crate::registry::Registry;
use crate::validate::{Manifest, ValidationError};
use rulebox_abi::Trigger;
use rulebox_runtime_api::{Limits, TenantPolicy};
use rulebox_runtime_api::{ModuleId, Modules};
use rulebox_runtime_api::{Outcome, OutcomeKind};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::Engine;

/// Failures to start the runtime itself (never per-call failures).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("could not create the wasmtime engine: {0}")]
    Engine(String),
    #[error("could not open the artifact cache at {path}: {source}")]
    ArtifactCache {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the epoch ticker: {0}")]
    Ticker(std::io::Error),
}

pub struct Runtime {
    engine: Engine,
    allocator: AllocatorKind,
    registry: Registry,
    gate: Gate,
    js: JsLoader,
    scheduler: Arc<CpuScheduler>,
    config: RuntimeConfig,
    // Dropped last: stops the ticker thread with the runtime.
    _ticker: EpochTicker,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let (engine, allocator) =
            engine::build(&config).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let linker = host::linker(&engine).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let disk = match &config.artifact_dir {
            Some(dir) => Some(ArtifactCache::open(dir, &engine).map_err(|source| {
                RuntimeError::ArtifactCache {
                    path: dir.clone(),
                    source,
                }
            })?),
            None => None,
        };
        let js = JsLoader::new(config.artifact_dir.as_ref().map(|d| d.join("js-index")));
        let registry = Registry::new(
            engine.clone(),
            linker,
            config.module_cache_bytes,
            disk,
            config.max_module_bytes,
            config.max_memory_bytes,
        );
        let ticker =
            EpochTicker::start(engine.clone(), config.epoch_tick).map_err(RuntimeError::Ticker)?;
        tracing::info!(
            ?allocator,
            slots = config.pool_slots,
            "sandbox runtime ready"
        );
        Ok(Self {
            engine,
            allocator,
            registry,
            gate: Gate::new(config.max_concurrent),
            js,
            scheduler: Arc::new(CpuScheduler::new(config.cpu_slots, config.cpu_slice)),
            config,
            _ticker: ticker,
        })
    }

    pub fn allocator(&self) -> AllocatorKind {
        self.allocator
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The limits a tenant with `policy` gets on this platform.
    pub fn limits_for(&self, policy: &TenantPolicy) -> Limits {
        Limits::resolve(&self.config.defaults, policy, &self.config.ceiling())
    }

    /// Validates and compiles a module; its id is the SHA-256 of `bytes`.
    pub fn load(&self, bytes: &[u8]) -> Result<ModuleId, ValidationError> {
        self.registry.load(bytes).map(|(id, _)| id)
    }

    /// [`Runtime::load`], with the triggers the module exports handlers for.
    pub fn load_handlers(&self, bytes: &[u8]) -> Result<(ModuleId, Vec<Trigger>), ValidationError> {
        let (id, compiled) = self.registry.load(bytes)?;
        Ok((id, compiled.manifest.handlers.clone()))
    }

    /// Validates a JavaScript source and pre-initialises the engine with it;
    /// the returned id names the snapshot module, invoked like any module.
    /// Syntax errors come back with their line and column.
    pub fn load_js(&self, kind: &JsKind, source: &str) -> Result<ModuleId, ValidationError> {
        self.load_js_with(kind, source, &Modules::default())
            .map(|(id, _)| id)
    }

    /// [`Runtime::load_js`], with the triggers the script exports handlers for.
    pub fn load_js_handlers(
        &self,
        kind: &JsKind,
        source: &str,
    ) -> Result<(ModuleId, Vec<Trigger>), ValidationError> {
        self.load_js_with(kind, source, &Modules::default())
    }

    /// [`Runtime::load_js`] for a script with the npm packages installed for it
    /// (its `require` resolves over `modules`), with the triggers it exports
    /// handlers for. The packages' top-level code runs in the snapshot.
    pub fn load_js_with(
        &self,
        kind: &JsKind,
        source: &str,
        modules: &Modules,
    ) -> Result<(ModuleId, Vec<Trigger>), ValidationError> {
        let snap = self
            .js
            .load(&self.engine, &self.registry, kind, source, modules)?;
        Ok((snap.id, snap.handlers.to_vec()))
    }

    /// Benchmarks only: runs `source` on the bare engine guest, compiling it
    /// inside the call as a runtime without snapshots would.
    #[doc(hidden)]
    pub fn invoke_js_cold(
        &self,
        kind: &JsKind,
        source: &str,
        trigger: Trigger,
        input: &[u8],
        limits: &Limits,
    ) -> Outcome {
        let start = Instant::now();
        let id = match self.js.engine_module(&self.registry) {
            Ok(id) => id,
            Err(e) => return Outcome::refused(e.kind(), e.to_string(), micros(start)),
        };
        let init = crate::js::init_input(kind, source);
        let mut inv = Invocation::new(&id, trigger, input, limits);
        inv.pre_init = Some(&init);
        self.invoke(&inv)
    }

    pub fn manifest(&self, id: &ModuleId) -> Option<Manifest> {
        self.registry.get(id).map(|c| c.manifest.clone())
    }

    pub fn is_loaded(&self, id: &ModuleId) -> bool {
        self.registry.get(id).is_some()
    }

    /// Runs one handler. Never fails: every way a call can end is an [`Outcome`].
    pub fn invoke(&self, inv: &Invocation<'_>) -> Outcome {
        let start = Instant::now();
        let _span =
            tracing::debug_span!("invoke", module = %inv.module, trigger = inv.trigger.id())
                .entered();
        let (limits, compiled) = match self.admit(inv, start) {
            Ok(admitted) => admitted,
            Err(refused) => return *refused,
        };
        let Some(_permit) = self.gate.acquire(start + limits.timeout()) else {
            return Outcome::refused(
                OutcomeKind::Timeout,
                "no sandbox slot became free within the call's timeout".into(),
                micros(start),
            );
        };
        let inv = Invocation {
            limits: &limits,
            ..inv.clone()
        };
        self.run(&compiled, &inv, start, call::Core::Scheduled)
    }

    /// Runs the call on the caller's thread, now, if it is sure to be short;
    /// `None` (nothing ran) otherwise. Sure to be short: the module's last
    /// call was light, the call may reach nothing on the network (so only its
    /// fuel bounds it), and a sandbox slot and a core are free without
    /// waiting. An async caller saves the hand-off to a blocking thread and
    /// back; a module that turns heavy runs on blocking threads from its next
    /// call, where the scheduler can preempt it.
    pub fn invoke_now(&self, inv: &Invocation<'_>) -> Option<Outcome> {
        let start = Instant::now();
        let (limits, compiled) = self.admit(inv, start).ok()?;
        if !limits.outbound.allow_hosts.is_empty()
            || inv.pre_init.is_some()
            || compiled.heavy.load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        let _permit = self.gate.try_acquire()?;
        if !self.scheduler.try_acquire_fresh() {
            return None;
        }
        let _span =
            tracing::debug_span!("invoke", module = %inv.module, trigger = inv.trigger.id())
                .entered();
        let inv = Invocation {
            limits: &limits,
            ..inv.clone()
        };
        Some(self.run(&compiled, &inv, start, call::Core::Taken))
    }

    /// The checks every call passes before it may run: its limits clamped to
    /// this runtime's ceiling, or the outcome that refuses it.
    fn admit(
        &self,
        inv: &Invocation<'_>,
        start: Instant,
    ) -> Result<(Limits, Arc<crate::registry::Compiled>), Box<Outcome>> {
        let limits = inv.limits.clamp_to(&self.config.ceiling());
        if inv.input.len() as u64 > limits.max_input_bytes {
            return Err(Box::new(Outcome::refused(
                OutcomeKind::InputTooLarge,
                format!(
                    "input of {} bytes exceeds the {}-byte input limit",
                    inv.input.len(),
                    limits.max_input_bytes
                ),
                micros(start),
            )));
        }
        let Some(compiled) = self.registry.get(inv.module) else {
            return Err(Box::new(Outcome::refused(
                OutcomeKind::InvalidModule,
                format!("module {} is not loaded", inv.module),
                micros(start),
            )));
        };
        if compiled.handler(inv.trigger).is_none() {
            let e = ValidationError::NoSuchHandler(inv.trigger.id());
            return Err(Box::new(Outcome::refused(
                e.kind(),
                e.to_string(),
                micros(start),
            )));
        }
        Ok((limits, compiled))
    }

    fn run(
        &self,
        compiled: &crate::registry::Compiled,
        inv: &Invocation<'_>,
        start: Instant,
        core: call::Core,
    ) -> Outcome {
        let outcome = call::invoke(&self.engine, &self.scheduler, compiled, inv, start, core);
        tracing::debug!(outcome = %outcome.kind, fuel = outcome.fuel_used, us = outcome.duration_us, "invoked");
        record_call(inv.trigger, &outcome);
        outcome
    }

    /// Loads then invokes: the local `rulebox run` loop. A module refused at
    /// validation becomes the outcome of its kind.
    pub fn run_module(
        &self,
        bytes: &[u8],
        trigger: Trigger,
        input: &[u8],
        limits: &Limits,
        clock: Clock,
    ) -> Outcome {
        let start = Instant::now();
        match self.load(bytes) {
            Ok(id) => {
                let mut inv = Invocation::new(&id, trigger, input, limits);
                inv.clock = clock;
                self.invoke(&inv)
            }
            Err(e) => Outcome::refused(e.kind(), e.to_string(), micros(start)),
        }
    }
}

/// Per-call metrics of this runtime (Prometheus names; see `docs/operations.md`).
fn record_call(trigger: Trigger, o: &Outcome) {
    let trigger = trigger.id();
    metrics::counter!("rulebox_runtime_invocations_total", "trigger" => trigger, "outcome" => o.kind.as_str())
        .increment(1);
    metrics::histogram!("rulebox_runtime_invocation_duration_seconds", "trigger" => trigger)
        .record(o.duration_us as f64 / 1e6);
    metrics::histogram!("rulebox_runtime_invocation_fuel", "trigger" => trigger)
        .record(o.fuel_used as f64);
    metrics::histogram!("rulebox_runtime_invocation_peak_memory_bytes", "trigger" => trigger)
        .record(o.peak_memory_bytes as f64);
}

impl From<ValidationError> for rulebox_runtime_api::LoadError {
    fn from(e: ValidationError) -> Self {
        let (line, column) = match &e {
            ValidationError::Script { line, column, .. } => (*line, *column),
            _ => (None, None),
        };
        Self {
            kind: e.kind(),
            message: e.to_string(),
            line,
            column,
        }
    }
}
