//! One call: fresh store, limits armed, handler run, result classified.

use crate::admission::{CoreHold, CpuScheduler, Level};
use crate::host::{HostState, MemoryLimiter, build_wasi};
use crate::logs::LogBuffer;
use crate::outcome::{DeadlineExceeded, HostTrap, MemoryLimitExceeded, finish_output, micros};
use crate::registry::Compiled;
use crate::runtime::Invocation;
use crate::steps::Steps;
use rulebox_runtime_api::Limits;
use rulebox_runtime_api::{Outcome, OutcomeKind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Extern, Store, StoreContextMut, Trap, UpdateDeadline};
use wasmtime_wasi::I32Exit;

/// Fuel above which a call counts as long-running (about a millisecond of
/// guest code here): the module's next call starts behind short calls.
const HEAVY_FUEL: u64 = 3_000_000;

/// CPU time this thread has used. Preemption is decided on CPU time, not
/// wall time: a short call that the OS merely descheduled must not be
/// mistaken for a long one.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Runs at every epoch tick while the call executes: enforces the current
/// step's deadline by the real clock and, once this call has used a slice of
/// CPU since its first tick, yields the core to waiting fresh calls (see
/// `admission::scheduler`). Only a call whose core hold has a scheduler is
/// ever preempted.
fn on_epoch()
-> impl FnMut(StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> + Send + Sync + 'static
{
    let mut slice_start: Option<Duration> = None;
    move |mut ctx| {
        let state = ctx.data_mut();
        let deadline = state.steps.deadline;
        if Instant::now() >= deadline {
            return Err(wasmtime::Error::new(DeadlineExceeded));
        }
        let Some(scheduler) = state.core.scheduler() else {
            return Ok(UpdateDeadline::Continue(1));
        };
        let cpu = thread_cpu_time();
        let started = *slice_start.get_or_insert(cpu);
        if cpu.saturating_sub(started) >= scheduler.slice && scheduler.fresh_waiting() {
            if state.core.yield_to_fresh(deadline).is_err() {
                return Err(wasmtime::Error::new(DeadlineExceeded));
            }
            slice_start = Some(thread_cpu_time());
        }
        Ok(UpdateDeadline::Continue(1))
    }
}

/// A fresh store with every limit armed: memory/table limiter, fuel, and the
/// epoch callback enforcing `deadline` (and CPU fencing when `core` has a
/// scheduler). The first step's deadline is `deadline` too; see [`flow_deadline`].
pub(crate) fn armed_store(
    engine: &Engine,
    input: Vec<u8>,
    limits: &Limits,
    clock: crate::host::Clock,
    random_seed: Option<u64>,
    core: CoreHold,
    deadline: Instant,
) -> wasmtime::Result<Store<HostState>> {
    let state = HostState {
        wasi: build_wasi(clock, random_seed),
        limiter: MemoryLimiter {
            memory_limit: limits.memory_bytes,
            table_elements: limits.table_elements,
            instances: limits.instances as usize,
            tables: limits.tables as usize,
            memories: limits.memories as usize,
            peak_memory: 0,
            exceeded: false,
        },
        memory: None,
        core,
        input,
        output: None,
        max_output: usize::try_from(limits.max_output_bytes).unwrap_or(usize::MAX),
        logs: LogBuffer::new(usize::try_from(limits.max_log_bytes).unwrap_or(usize::MAX)),
        outbound: crate::host::http::OutboundState::new(limits.outbound.clone(), deadline),
        steps: Steps::new(limits, Instant::now(), deadline),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_fuel(limits.fuel)?;
    // Note: wasmtime 48 does not flush the guest's fuel counter at an epoch
    // callback (only at calls, returns and fuel checks), so for a timed-out
    // call `fuel_used` is a lower bound. docs/abi.md says so.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(on_epoch());
    Ok(store)
}

/// Makes the instance's memory reachable from host functions.
pub(crate) fn bind_memory(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    export: &wasmtime::ModuleExport,
) -> wasmtime::Result<()> {
    let memory = instance
        .get_module_export(&mut *store, export)
        .and_then(Extern::into_memory)
        .ok_or_else(|| abi("export `memory` is not a memory"))?;
    store.data_mut().memory = Some(memory);
    Ok(())
}

/// Calls a `() -> ()` export by name (initialisers).
pub(crate) fn call_init(
    store: &mut Store<HostState>,
    instance: &wasmtime::Instance,
    name: &str,
) -> wasmtime::Result<()> {
    let f = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| abi(format!("module has no `{name}` export")))?;
    f.typed::<(), ()>(&*store)?.call(&mut *store, ())
}

fn abi(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::AbiViolation(msg.into()))
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
        let event = std::mem::replace(&mut store.data_mut().input, init_input.to_vec());
        call_init(store, &instance, crate::js::INIT_EXPORT)?;
        store.data_mut().input = event;
        store.data_mut().output = None;
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

pub(crate) fn classify(err: &wasmtime::Error, limit_hit: bool) -> (OutcomeKind, String) {
    if limit_hit || err.downcast_ref::<MemoryLimitExceeded>().is_some() {
        let msg = err
            .downcast_ref::<MemoryLimitExceeded>()
            .map_or_else(|| format!("{err:#}"), ToString::to_string);
        return (OutcomeKind::MemoryLimit, msg);
    }
    if let Some(d) = err.downcast_ref::<DeadlineExceeded>() {
        return (OutcomeKind::Timeout, d.to_string());
    }
    match err.downcast_ref::<HostTrap>() {
        Some(HostTrap::AbiViolation(msg)) => return (OutcomeKind::AbiViolation, msg.clone()),
        Some(HostTrap::CapabilityDenied(msg)) => {
            return (OutcomeKind::CapabilityDenied, msg.clone());
        }
        None => {}
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => (OutcomeKind::FuelExhausted, "fuel budget exhausted".into()),
            Trap::Interrupt => (
                OutcomeKind::Timeout,
                "wall-clock timeout: the call ran past its deadline".into(),
            ),
            Trap::StackOverflow => (OutcomeKind::StackOverflow, "call stack exhausted".into()),
            other => (OutcomeKind::Trap, other.to_string()),
        };
    }
    (OutcomeKind::Trap, format!("{err:#}"))
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
    let store = armed_store(
        engine,
        inv.input.to_vec(),
        limits,
        inv.clock,
        inv.random_seed,
        CoreHold::holding((core == Core::Scheduled).then(|| scheduler.clone()), level),
        deadline,
    );
    let mut store = match store {
        Ok(mut s) => {
            s.data_mut().steps = Steps::new(limits, start, call_deadline);
            s
        }
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
        Ok(0) => finish_output(state.output.as_deref()),
        Ok(code) => {
            let (kind, message) = reported_failure(code, state.logs.last_error());
            (kind, None, Some(message))
        }
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => finish_output(state.output.as_deref()),
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
    let most = limits
        .timeout()
        .saturating_mul(crate::steps::MAX_STEPS as u32);
    start + flow.map_or(limits.timeout(), |f| f.min(most))
}

/// Maps a non-zero handler return code (docs/abi.md) to its outcome.
fn reported_failure(code: i32, last_error: Option<&str>) -> (OutcomeKind, String) {
    use rulebox_abi::handler_codes as c;
    let kind = match code {
        c::NEVER_SETTLES => OutcomeKind::Timeout,
        c::PROTOCOL_VIOLATION => OutcomeKind::AbiViolation,
        c::STACK_OVERFLOW => OutcomeKind::StackOverflow,
        c::OUT_OF_MEMORY => OutcomeKind::MemoryLimit,
        _ => OutcomeKind::Trap,
    };
    let message = match (code, last_error) {
        (c::FAILED..=c::OUT_OF_MEMORY, Some(m)) => m.to_owned(),
        (_, Some(m)) => format!("handler returned {code}: {m}"),
        (_, None) => format!("handler returned {code}"),
    };
    (kind, message)
}
