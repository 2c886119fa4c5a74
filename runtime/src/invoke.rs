//! One call: fresh store, limits armed, handler run, result classified.

use crate::host::{HostState, HostTrap, MemoryLimitExceeded, MemoryLimiter, build_wasi};
use crate::limits::Limits;
use crate::logs::LogBuffer;
use crate::outcome::{Outcome, OutcomeKind};
use crate::registry::Compiled;
use crate::runtime::Invocation;
use rulebox_abi::Output;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Extern, Store, Trap};
use wasmtime_wasi::I32Exit;

pub(crate) fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Epoch ticks that cover `timeout`: rounded up, plus one because the tick
/// in progress when the call starts is already partly spent.
fn deadline_ticks(timeout: Duration, tick: Duration) -> u64 {
    let tick_ns = tick.as_nanos().max(1);
    let ticks = timeout.as_nanos().div_ceil(tick_ns);
    u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1)
}

fn new_store(engine: &Engine, inv: &Invocation<'_>, limits: &Limits) -> Store<HostState> {
    let state = HostState {
        wasi: build_wasi(inv.clock, inv.random_seed),
        limiter: MemoryLimiter {
            memory_limit: limits.memory_bytes,
            table_elements: limits.table_elements,
            instances: limits.instances as usize,
            tables: limits.tables as usize,
            memories: limits.memories as usize,
            peak_memory: 0,
        },
        memory: None,
        input: inv.input.to_vec(),
        output: None,
        max_output: usize::try_from(limits.max_output_bytes).unwrap_or(usize::MAX),
        logs: LogBuffer::new(usize::try_from(limits.max_log_bytes).unwrap_or(usize::MAX)),
    };
    Store::new(engine, state)
}

fn abi(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::AbiViolation(msg.into()))
}

/// Instantiates and runs the handler; `Ok` carries its return code.
fn run(store: &mut Store<HostState>, compiled: &Compiled, trigger: rulebox_abi::Trigger) -> wasmtime::Result<i32> {
    let instance = compiled.pre.instantiate(&mut *store)?;
    let memory = instance
        .get_module_export(&mut *store, &compiled.memory)
        .and_then(Extern::into_memory)
        .ok_or_else(|| abi("export `memory` is not a memory"))?;
    store.data_mut().memory = Some(memory);
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

fn classify(err: &wasmtime::Error, limit_hit: bool) -> (OutcomeKind, String) {
    if limit_hit || err.downcast_ref::<MemoryLimitExceeded>().is_some() {
        let msg = err
            .downcast_ref::<MemoryLimitExceeded>()
            .map_or_else(|| format!("{err:#}"), ToString::to_string);
        return (OutcomeKind::MemoryLimit, msg);
    }
    if let Some(HostTrap::AbiViolation(msg)) = err.downcast_ref::<HostTrap>() {
        return (OutcomeKind::AbiViolation, msg.clone());
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => (OutcomeKind::FuelExhausted, "fuel budget exhausted".into()),
            Trap::Interrupt => (
                OutcomeKind::Timeout,
                "wall-clock timeout: the call ran past its deadline".into(),
            ),
            Trap::StackOverflow => (OutcomeKind::StackOverflow, "call stack exhausted".into()),
            other => (OutcomeKind::Trap, format!("wasm trap: {other}")),
        };
    }
    (OutcomeKind::Trap, format!("{err:#}"))
}

pub(crate) fn invoke(
    engine: &Engine,
    epoch_tick: Duration,
    compiled: &Compiled,
    inv: &Invocation<'_>,
    start: Instant,
) -> Outcome {
    let limits = inv.limits;
    let mut store = new_store(engine, inv, limits);
    store.limiter(|s| &mut s.limiter);
    if let Err(e) = store.set_fuel(limits.fuel) {
        return Outcome::refused(OutcomeKind::Trap, format!("{e:#}"), micros(start));
    }
    let remaining = limits.timeout().saturating_sub(start.elapsed());
    store.set_epoch_deadline(deadline_ticks(remaining, epoch_tick));
    // Note: wasmtime 48 does not flush the guest's fuel counter at an epoch
    // interrupt (only at calls, returns and fuel checks), so for a timed-out
    // call `fuel_used` is a lower bound. docs/abi.md says so.
    store.epoch_deadline_trap();

    let result = run(&mut store, compiled, inv.trigger);

    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let state = store.into_data();
    let limit_hit = state.limiter.peak_memory > limits.memory_bytes;
    let (kind, output, error) = match result {
        Ok(0) => finish_output(state.output.as_deref()),
        Ok(code) => {
            let detail = state
                .logs
                .last_error()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            (OutcomeKind::Trap, None, Some(format!("handler returned {code}{detail}")))
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
        duration_us: micros(start),
    }
}

fn finish_output(raw: Option<&[u8]>) -> (OutcomeKind, Option<Output>, Option<String>) {
    match raw {
        None => (
            OutcomeKind::AbiViolation,
            None,
            Some("handler returned without writing output".into()),
        ),
        Some(bytes) => match serde_json::from_slice::<Output>(bytes) {
            Ok(out) => (OutcomeKind::Ok, Some(out), None),
            Err(e) => (
                OutcomeKind::AbiViolation,
                None,
                Some(format!("malformed output: {e}")),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_covers_the_timeout() {
        let ms = Duration::from_millis;
        assert_eq!(deadline_ticks(ms(10), ms(1)), 11);
        assert_eq!(deadline_ticks(ms(10), ms(3)), 5);
        assert_eq!(deadline_ticks(Duration::ZERO, ms(1)), 1);
    }
}
