//! One call: fresh store, limits armed, handler run, result classified.
//!
//! Below `runtime` (which admits a call and records it) and `js` (which
//! snapshots through the same store arming), above the registry it takes
//! the compiled module from and the host capabilities it arms.

mod classify;
mod epoch;
mod store;

pub(crate) use classify::classify;
pub(crate) use store::{armed_store, bind_memory, call_init};

use crate::admission::{CoreHold, CpuScheduler, Level};
use crate::host::capability::CallContext;
use crate::host::steps::MAX_STEPS;
use crate::host::{Clock, HostState};
use crate::outcome::{DeadlineExceeded, finish_output, micros};
use crate::registry::Compiled;
use classify::reported_failure;
use rulebox_abi::Trigger;
use rulebox_runtime_api::{Limits, ModuleId, Outcome, OutcomeKind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use store::abi;
use wasmtime::{Engine, Extern, Store, Trap};
use wasmtime_wasi::I32Exit;

/// Export a pre-initialisable module initialises in (wizer's default name):
/// what the `js` snapshotter runs, and a cold start runs inside the call.
pub(crate) const INIT_EXPORT: &str = "wizer-initialize";

/// Fuel above which a call counts as long-running (about a millisecond of
/// guest code here): the module's next call starts behind short calls.
const HEAVY_FUEL: u64 = 3_000_000;

/// One call's request.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub module: &'a ModuleId,
    pub trigger: Trigger,
    /// The event JSON.
    pub input: &'a [u8],
    pub limits: &'a Limits,
    pub clock: Clock,
    /// Seed for the guest's random numbers; `None` draws from the OS.
    pub random_seed: Option<u64>,
    /// The whole call's budget when it runs several steps (a flow); `limits`
    /// then bound each step. `None`: the call is bounded by `limits.timeout_ms`.
    pub flow_timeout: Option<std::time::Duration>,
    /// Benchmarks only: run the JavaScript engine's initialiser with this
    /// input inside the call (a cold start without a snapshot).
    #[doc(hidden)]
    pub pre_init: Option<&'a [u8]>,
}

impl<'a> Invocation<'a> {
    pub fn new(
        module: &'a ModuleId,
        trigger: Trigger,
        input: &'a [u8],
        limits: &'a Limits,
    ) -> Self {
        Self {
            module,
            trigger,
            input,
            limits,
            clock: Clock::System,
            random_seed: None,
            flow_timeout: None,
            pre_init: None,
        }
    }
}

/// Instantiates and runs the handler; `Ok` carries its return code.
fn run(
    store: &mut Store<HostState>,
    compiled: &Compiled,
    inv: &Invocation<'_>,
) -> wasmtime::Result<i32> {
    let trigger = inv.trigger;
    let instance = compiled.pre.instantiate(&mut *store)?;
    bind_memory(store, &instance, &compiled.memory)?;
    if let Some(init_input) = inv.pre_init {
        // Cold start (benchmarks): run the snapshot initialiser inside the call.
        let event = store.data_mut().io.replace_input(init_input.to_vec());
        call_init(store, &instance, INIT_EXPORT)?;
        store.data_mut().io.replace_input(event);
        store.data_mut().io.clear_output();
    }
    if let Some(init) = &compiled.initialize {
        let f = instance
            .get_module_export(&mut *store, init)
            .and_then(Extern::into_func)
            .ok_or_else(|| abi("export `_initialize` is not a function"))?;
        f.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
    }
    let handler = compiled
        .handler(trigger)
        .and_then(|e| instance.get_module_export(&mut *store, e))
        .and_then(Extern::into_func)
        .ok_or_else(|| abi(format!("module has no `{}` handler", trigger.export_name())))?;
    handler.typed::<(), i32>(&*store)?.call(&mut *store, ())
}

/// How a call gets its core.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Core {
    /// Queue for one with the scheduler, which may preempt the call later.
    Scheduled,
    /// The caller already took one (`CpuScheduler::try_acquire_fresh`) and
    /// runs the call on its own thread: no preemption, which would wait.
    Taken,
}

pub(crate) fn invoke(
    engine: &Engine,
    scheduler: &Arc<CpuScheduler>,
    compiled: &Compiled,
    inv: &Invocation<'_>,
    start: Instant,
    core: Core,
) -> Outcome {
    let limits = inv.limits;
    let deadline = start + limits.timeout();
    let call_deadline = flow_deadline(start, limits, inv.flow_timeout);
    let level = if core == Core::Taken || !compiled.heavy.load(Ordering::Relaxed) {
        Level::Fresh
    } else {
        Level::Preempted
    };
    if core == Core::Scheduled && !scheduler.acquire(level, deadline, || engine.increment_epoch()) {
        return Outcome::refused(
            OutcomeKind::Timeout,
            "no core became free within the call's timeout".into(),
            micros(start),
        );
    }
    let call = CallContext {
        limits,
        input: inv.input,
        clock: inv.clock,
        random_seed: inv.random_seed,
        started: start,
        deadline,
        call_deadline,
    };
    let hold = CoreHold::holding((core == Core::Scheduled).then(|| scheduler.clone()), level);
    let mut store = match armed_store(engine, &call, hold) {
        Ok(s) => s,
        Err(e) => {
            scheduler.release(level);
            return Outcome::refused(OutcomeKind::Trap, format!("{e:#}"), micros(start));
        }
    };

    let result = run(&mut store, compiled, inv);

    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    // Fuel, not wall time, says whether the module is heavy: it does not
    // depend on how busy the machine was.
    let heavy = store.data().steps.max_fuel_used(fuel_used) >= HEAVY_FUEL
        || result.as_ref().is_err_and(|e| {
            matches!(e.downcast_ref::<Trap>(), Some(Trap::OutOfFuel))
                || e.downcast_ref::<DeadlineExceeded>().is_some()
        });
    compiled.heavy.store(heavy, Ordering::Relaxed);
    let held = store.data().core.held();
    // Tearing the instance down (resetting up to the memory cap of pages) is
    // CPU work too: it happens while the core is still ours.
    let state = store.into_data();
    if let Some(level) = held {
        scheduler.release(level);
    }
    let limit_hit = state.limiter.exceeded;
    let (kind, output, error) = match result {
        Ok(0) => finish_output(state.io.output()),
        Ok(code) => {
            let (kind, message) = reported_failure(code, state.logs.last_error());
            (kind, None, Some(message))
        }
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => finish_output(state.io.output()),
            Some(I32Exit(code)) => (
                OutcomeKind::Trap,
                None,
                Some(format!("guest exited with code {code}")),
            ),
            None => {
                let (kind, msg) = classify(&e, limit_hit);
                (kind, None, Some(msg))
            }
        },
    };
    let (logs, logs_truncated) = state.logs.finish();
    Outcome {
        kind,
        output,
        error,
        logs,
        logs_truncated,
        fuel_used,
        peak_memory_bytes: state.limiter.peak_memory,
        duration_us: micros(state.steps.started),
        steps: state.steps.finished,
    }
}

/// When a call of several steps must have ended: its flow budget, never more
/// than every step running to its own timeout. A single-step call ends with
/// its one step.
pub(crate) fn flow_deadline(start: Instant, limits: &Limits, flow: Option<Duration>) -> Instant {
    let most = limits.timeout().saturating_mul(MAX_STEPS as u32);
    start + flow.map_or(limits.timeout(), |f| f.min(most))
}
