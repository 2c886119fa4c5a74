//! Calls of several steps: a flow of handlers run one after another in one
//! instance (the Actions bound to a trigger), each under its own budgets.
//!
//! Instantiating, converting the event and resetting the memory dominate a
//! short JavaScript call; a flow pays them once instead of once per Action.
//! What the tenant is promised per Action still holds per step: the guest
//! ends a step with `step_end`, which files that step's result and re-arms
//! fuel, deadline, output, log and outbound budgets for the next one. The
//! whole call stays bounded by its own deadline and by [`MAX_STEPS`].
//!
//! This is the step boundary itself, so it lives in `host` (the `step_end`
//! import) and not with the call: host functions must not import `call`.

use super::HostState;
use crate::logs::LogBuffer;
use crate::outcome::{HostTrap, finish_output, micros};
use rulebox_runtime_api::{Limits, Outcome, OutcomeKind};
use std::time::{Duration, Instant};
use wasmtime::Caller;

/// Steps one call may end: re-arming fuel must not become a way to run forever.
pub(crate) const MAX_STEPS: usize = rulebox_runtime_api::MAX_FLOW_ACTIONS;

/// The budgets of the step under way and the results of those already ended.
pub(crate) struct Steps {
    pub(crate) finished: Vec<Outcome>,
    /// When the current step started (the first one: when the call did).
    pub(crate) started: Instant,
    /// The current step's deadline: its own timeout, cut to the call's.
    pub(crate) deadline: Instant,
    pub(crate) call_deadline: Instant,
    fuel: u64,
    timeout: Duration,
    max_log_bytes: usize,
}

impl Steps {
    pub(crate) fn new(limits: &Limits, started: Instant, call_deadline: Instant) -> Self {
        Self {
            finished: Vec::new(),
            started,
            deadline: (started + limits.timeout()).min(call_deadline),
            call_deadline,
            fuel: limits.fuel,
            timeout: limits.timeout(),
            max_log_bytes: usize::try_from(limits.max_log_bytes).unwrap_or(usize::MAX),
        }
    }

    /// The most fuel any one step used, `last` being the step still open.
    pub(crate) fn max_fuel_used(&self, last: u64) -> u64 {
        self.finished
            .iter()
            .map(|s| s.fuel_used)
            .fold(last, u64::max)
    }
}

/// The `step_end` import: files the current step and starts the next.
pub(crate) fn end_step(mut caller: Caller<'_, HostState>) -> wasmtime::Result<i32> {
    let remaining = caller.get_fuel()?;
    let now = Instant::now();
    let state = caller.data_mut();
    if state.steps.finished.len() >= MAX_STEPS {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(format!(
            "a call may end at most {MAX_STEPS} steps"
        ))));
    }
    // A step's output is checked when it ends, so every filed step is `ok`
    // and a malformed one ends the call where it happened.
    let (kind, output, error) = finish_output(state.output.as_deref());
    if kind != OutcomeKind::Ok {
        return Err(wasmtime::Error::new(HostTrap::AbiViolation(
            error.unwrap_or_default(),
        )));
    }
    state.output = None;
    let logs = std::mem::replace(&mut state.logs, LogBuffer::new(state.steps.max_log_bytes));
    let (logs, logs_truncated) = logs.finish();
    let steps = &mut state.steps;
    steps.finished.push(Outcome {
        kind,
        output,
        error,
        logs,
        logs_truncated,
        fuel_used: steps.fuel.saturating_sub(remaining),
        peak_memory_bytes: state.limiter.peak_memory,
        duration_us: micros(steps.started),
        steps: Vec::new(),
    });
    steps.started = now;
    steps.deadline = (now + steps.timeout).min(steps.call_deadline);
    state.outbound.deadline = steps.deadline;
    state.outbound.requests = 0;
    let fuel = steps.fuel;
    caller.set_fuel(fuel)?;
    Ok(0)
}
